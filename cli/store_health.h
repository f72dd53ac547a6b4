// StoreHealthWatch: says while the proxy runs that flows are not being stored.
//
// The store never blocks the loop: when writes fail (disk full, the file locked by another
// process for longer than the busy timeout) flows wait in memory and, past the queue bound, are
// dropped. FlowStore::last_error() says so; without this watch the user learned it only at exit,
// hours of capture later. Once a second it reads last_error() (one mutex) and prints one line
// when the state changes: the failure as soon as it starts, how it goes on at most every
// kRepeatSeconds while it lasts, and the recovery.
//
// One uv_timer, owned here, unref'd (it never keeps the loop alive); close() is its one close
// path and must run before the loop ends (CaptureSession::stop calls it).
#pragma once

#include <cstdint>
#include <iosfwd>
#include <string>

#include <uv.h>

#include "storage/flow_store.h"

namespace authscope::cli {

class StoreHealthWatch {
 public:
  static constexpr uint64_t kPeriodMs = 1000;
  static constexpr int kRepeatSeconds = 10;

  StoreHealthWatch(uv_loop_t* loop, const FlowStore& store, std::ostream& err, uint64_t period_ms = kPeriodMs);
  StoreHealthWatch(const StoreHealthWatch&) = delete;
  StoreHealthWatch& operator=(const StoreHealthWatch&) = delete;

  void start();
  void close();  // idempotent; the timer's memory must outlive the close callback (it is ours)

  // One look at the store, as the timer does (exposed for tests).
  void check();

 private:
  uv_loop_t* loop_;
  const FlowStore& store_;
  std::ostream& err_;
  uint64_t period_ms_;
  uv_timer_t timer_{};
  bool open_ = false;
  std::string reported_;    // the last problem printed, "" while the store is healthy
  int quiet_periods_ = 0;   // periods since the last line about an ongoing problem
};

}  // namespace authscope::cli
