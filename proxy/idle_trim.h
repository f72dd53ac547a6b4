// IdleMemoryTrimmer: hands memory back to the OS once a burst of work is over.
//
// glibc keeps freed heap memory mapped, in the loop's heap and in the store writer's arena.
// A burst of TLS handshakes is the usual cause: each holds about 24 KB of OpenSSL handshake
// buffers until it completes, so 500 clients connecting at once leave ~12 MB of freed holes
// that stay resident under the idle connections. Once per period, if there was activity
// before but none during the last period, malloc_trim(0) returns the free pages of every
// arena. Under steady load it never runs: trimming then would only buy page faults.
//
// One uv_timer, owned here, unref'd (it never keeps the loop alive); close() is its one close
// path and `closed` runs from the close callback.
#pragma once

#include <cstdint>
#include <functional>

#include <uv.h>

namespace authscope {

class IdleMemoryTrimmer {
 public:
  static constexpr uint64_t kPeriodMs = 1000;

  explicit IdleMemoryTrimmer(uv_loop_t* loop, uint64_t period_ms = kPeriodMs);
  IdleMemoryTrimmer(const IdleMemoryTrimmer&) = delete;
  IdleMemoryTrimmer& operator=(const IdleMemoryTrimmer&) = delete;

  void start();
  // Something happened that allocates (a connection, an exchange). Cheap: a counter.
  void note_activity() { ++activity_; }
  // Closes the timer; `closed` runs once it is closed (at once if it never started).
  void close(std::function<void()> closed);
  bool closing() const { return closing_; }
  // What the timer does at the end of each period (public so tests need no clock): trims
  // when this period was quiet and an earlier one was not.
  void end_period();
  uint64_t trims() const { return trims_; }

 private:
  static void tick(uv_timer_t* timer);

  uv_loop_t* loop_;
  uint64_t period_ms_;
  uv_timer_t timer_{};
  bool open_ = false;
  bool closing_ = false;
  uint64_t activity_ = 0;         // during the current period
  bool untrimmed_activity_ = false;  // activity since the last trim
  uint64_t trims_ = 0;
  std::function<void()> closed_;
};

}  // namespace authscope
