// IdleMemoryTrimmer (see idle_trim.h).
#include "proxy/idle_trim.h"

#include <malloc.h>

namespace authscope {

IdleMemoryTrimmer::IdleMemoryTrimmer(uv_loop_t* loop, uint64_t period_ms) : loop_(loop), period_ms_(period_ms) {}

void IdleMemoryTrimmer::start() {
  if (open_ || closing_) return;
  uv_timer_init(loop_, &timer_);
  timer_.data = this;
  open_ = true;
  uv_timer_start(&timer_, tick, period_ms_, period_ms_);
  uv_unref(reinterpret_cast<uv_handle_t*>(&timer_));
}

void IdleMemoryTrimmer::tick(uv_timer_t* timer) { static_cast<IdleMemoryTrimmer*>(timer->data)->end_period(); }

void IdleMemoryTrimmer::end_period() {
  if (activity_ != 0) {
    untrimmed_activity_ = true;
    activity_ = 0;
    return;
  }
  if (!untrimmed_activity_) return;
  untrimmed_activity_ = false;
  ++trims_;
#ifdef __GLIBC__
  malloc_trim(0);
#endif
}

void IdleMemoryTrimmer::close(std::function<void()> closed) {
  if (!open_) {
    if (closed && !closing_) closed();
    return;
  }
  open_ = false;
  closing_ = true;
  closed_ = std::move(closed);
  uv_close(reinterpret_cast<uv_handle_t*>(&timer_), [](uv_handle_t* handle) {
    auto* self = static_cast<IdleMemoryTrimmer*>(handle->data);
    self->closing_ = false;
    if (self->closed_) {
      auto done = std::move(self->closed_);
      self->closed_ = nullptr;
      done();
    }
  });
}

}  // namespace authscope
