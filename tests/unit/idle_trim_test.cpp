// IdleMemoryTrimmer: it trims once after activity stops, never while activity goes on, never
// with nothing to give back; its timer lives on a real libuv loop and closes cleanly.
#include "proxy/idle_trim.h"

#include <catch2/catch.hpp>

#include <uv.h>

namespace authscope {

TEST_CASE("the idle trimmer trims once after a burst, not during it", "[unit][proxy]") {
  uv_loop_t loop;
  REQUIRE(uv_loop_init(&loop) == 0);
  IdleMemoryTrimmer trimmer(&loop);

  for (int i = 0; i < 5; ++i) trimmer.end_period();  // quiet from the start: nothing to give back
  CHECK(trimmer.trims() == 0);
  for (int i = 0; i < 5; ++i) {  // steady load: never a quiet period
    trimmer.note_activity();
    trimmer.end_period();
  }
  CHECK(trimmer.trims() == 0);
  for (int i = 0; i < 5; ++i) trimmer.end_period();  // quiet again: exactly one trim
  CHECK(trimmer.trims() == 1);
  trimmer.note_activity();  // a short second burst: one more
  trimmer.end_period();
  trimmer.end_period();
  CHECK(trimmer.trims() == 2);
  REQUIRE(uv_loop_close(&loop) == 0);
}

TEST_CASE("the idle trimmer's timer runs on the loop without keeping it alive", "[unit][proxy]") {
  uv_loop_t loop;
  REQUIRE(uv_loop_init(&loop) == 0);
  IdleMemoryTrimmer trimmer(&loop, 5);
  trimmer.start();
  trimmer.note_activity();
  // The trimmer's timer is unref'd: a ref'd 1 ms timer keeps the loop running until the trim
  // happened (bounded: 2000 ticks), then stops; uv_run returning shows nothing else holds it.
  struct Hold { IdleMemoryTrimmer* trimmer; int ticks; } ctx{&trimmer, 0};
  uv_timer_t hold;
  uv_timer_init(&loop, &hold);
  hold.data = &ctx;
  uv_timer_start(&hold, [](uv_timer_t* t) {
    auto* c = static_cast<Hold*>(t->data);
    if (c->trimmer->trims() > 0 || ++c->ticks >= 2000) uv_timer_stop(t);
  }, 1, 1);
  uv_run(&loop, UV_RUN_DEFAULT);
  CHECK(trimmer.trims() == 1);  // an active period, then a quiet one
  bool closed = false;
  trimmer.close([&] { closed = true; });
  uv_close(reinterpret_cast<uv_handle_t*>(&hold), nullptr);
  uv_run(&loop, UV_RUN_DEFAULT);
  CHECK(closed);
  CHECK_FALSE(trimmer.closing());
  REQUIRE(uv_loop_close(&loop) == 0);  // every handle closed
}

TEST_CASE("an idle trimmer that never started closes at once", "[unit][proxy]") {
  uv_loop_t loop;
  REQUIRE(uv_loop_init(&loop) == 0);
  IdleMemoryTrimmer trimmer(&loop);
  bool closed = false;
  trimmer.close([&] { closed = true; });
  CHECK(closed);
  REQUIRE(uv_loop_close(&loop) == 0);
}

}  // namespace authscope
