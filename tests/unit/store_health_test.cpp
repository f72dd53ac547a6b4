// StoreHealthWatch over a real SQLite store whose writes fail while another connection holds
// the file's write lock.
#include <catch2/catch.hpp>

#include <sqlite3.h>
#include <uv.h>

#include <chrono>
#include <sstream>
#include <thread>

#include "cli/store_health.h"
#include "storage_test_support.h"

using namespace authscope;
using authscope::testing::make_simple_flow;
using authscope::testing::TempDir;

namespace {

size_t count_of(const std::string& text, const std::string& what) {
  size_t n = 0;
  for (size_t at = text.find(what); at != std::string::npos; at = text.find(what, at + 1)) ++n;
  return n;
}

// Polls `done` every 20 ms for up to 5 s.
template <typename Pred>
bool eventually(Pred done) {
  for (int i = 0; i < 250; ++i) {
    if (done()) return true;
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
  }
  return done();
}

}  // namespace

TEST_CASE("store health: one line when flows stop being stored, repeats bounded, one when they are again",
          "[unit][cli]") {
  TempDir dir;
  const std::string path = dir.file("flows.db");
  SqliteStoreOptions options;
  options.busy_timeout_ms = 20;
  options.retry_interval_ms = 20;
  auto opened = open_sqlite_store(path, options);
  REQUIRE(opened.ok());
  FlowStore& store = *opened.value();

  uv_loop_t loop;
  uv_loop_init(&loop);
  std::ostringstream err;
  cli::StoreHealthWatch watch(&loop, store, err);

  watch.check();
  CHECK(err.str().empty());  // healthy: silent

  sqlite3* locker = nullptr;
  REQUIRE(sqlite3_open(path.c_str(), &locker) == SQLITE_OK);
  REQUIRE(sqlite3_exec(locker, "BEGIN EXCLUSIVE", nullptr, nullptr, nullptr) == SQLITE_OK);
  store.enqueue(make_simple_flow("management.azure.com", "/subscriptions", 200));
  REQUIRE(eventually([&] { return !store.last_error().ok(); }));

  watch.check();
  INFO(err.str());
  CHECK(count_of(err.str(), "authscope: warning: ") == 1);
  CHECK(err.str().find("database is locked") != std::string::npos);
  CHECK(err.str().find("cannot write flows") != std::string::npos);

  // The problem goes on and its text changes (more flows waiting): no line per check, one
  // "still:" line after kRepeatSeconds worth of checks.
  store.enqueue(make_simple_flow("management.azure.com", "/subscriptions/2", 200));
  REQUIRE(eventually([&] { return store.last_error().message().find("(2 waiting)") != std::string::npos; }));
  for (int i = 0; i < cli::StoreHealthWatch::kRepeatSeconds - 1; ++i) watch.check();
  CHECK(count_of(err.str(), "authscope: warning: ") == 1);
  watch.check();
  CHECK(count_of(err.str(), "authscope: warning: still: ") == 1);
  CHECK(err.str().find("(2 waiting)") != std::string::npos);

  REQUIRE(sqlite3_exec(locker, "COMMIT", nullptr, nullptr, nullptr) == SQLITE_OK);
  sqlite3_close(locker);
  REQUIRE(store.flush().ok());
  watch.check();
  CHECK(count_of(err.str(), "authscope: the store is writing flows again") == 1);
  watch.check();
  CHECK(count_of(err.str(), "authscope: the store is writing flows again") == 1);
  CHECK(*store.count() == 2);
  uv_loop_close(&loop);
}
