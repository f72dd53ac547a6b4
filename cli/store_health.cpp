// StoreHealthWatch (see store_health.h).
#include "cli/store_health.h"

#include <algorithm>
#include <ostream>

namespace authscope::cli {

StoreHealthWatch::StoreHealthWatch(uv_loop_t* loop, const FlowStore& store, std::ostream& err, uint64_t period_ms)
    : loop_(loop), store_(store), err_(err), period_ms_(period_ms) {}

void StoreHealthWatch::start() {
  if (open_) return;
  uv_timer_init(loop_, &timer_);
  timer_.data = this;
  open_ = true;
  uv_timer_start(&timer_, [](uv_timer_t* t) { static_cast<StoreHealthWatch*>(t->data)->check(); }, period_ms_,
                 period_ms_);
  uv_unref(reinterpret_cast<uv_handle_t*>(&timer_));
}

void StoreHealthWatch::close() {
  if (!open_) return;
  open_ = false;
  uv_close(reinterpret_cast<uv_handle_t*>(&timer_), nullptr);
}

void StoreHealthWatch::check() {
  const Status status = store_.last_error();
  if (status.ok()) {
    if (!reported_.empty()) err_ << "authscope: the store is writing flows again\n" << std::flush;
    reported_.clear();
    quiet_periods_ = 0;
    return;
  }
  const std::string& problem = status.message();
  const bool started = reported_.empty();
  const int periods_per_repeat = static_cast<int>(kRepeatSeconds * 1000 / std::max<uint64_t>(period_ms_, 1));
  ++quiet_periods_;
  if (started || (problem != reported_ && quiet_periods_ >= periods_per_repeat)) {
    err_ << "authscope: warning: " << (started ? "" : "still: ") << problem << "\n" << std::flush;
    reported_ = problem;
    quiet_periods_ = 0;
  }
}

}  // namespace authscope::cli
