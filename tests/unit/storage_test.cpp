// SQLite FlowStore: round-trips, ids, file modes, migrations, streaming, findings, the writer
// thread (concurrency, hooks, failures and the queue bound).
#include <sqlite3.h>
#include <sys/stat.h>

#include <atomic>
#include <chrono>
#include <catch2/catch.hpp>
#include <set>
#include <thread>

#include "storage/flow_store.h"
#include "old_schema_support.h"
#include "storage_test_support.h"

using namespace authscope;
using authscope::testing::make_rich_flow;
using authscope::testing::make_simple_flow;
using authscope::testing::same_body;
using authscope::testing::same_headers;
using authscope::testing::TempDir;

namespace {

std::unique_ptr<FlowStore> open_store(const std::string& path, SqliteStoreOptions options = {}) {
  auto store = open_sqlite_store(path, std::move(options));
  INFO(store.status().ToString());
  REQUIRE(store.ok());
  return std::move(store).value();
}

// Runs SQL on a plain connection (to build old schemas, hold locks, inspect the file).
struct RawDb {
  sqlite3* db = nullptr;
  explicit RawDb(const std::string& path) { REQUIRE(sqlite3_open(path.c_str(), &db) == SQLITE_OK); }
  ~RawDb() { sqlite3_close(db); }
  int exec(const char* sql) { return sqlite3_exec(db, sql, nullptr, nullptr, nullptr); }
  std::string text(const char* sql) {
    sqlite3_stmt* s = nullptr;
    REQUIRE(sqlite3_prepare_v2(db, sql, -1, &s, nullptr) == SQLITE_OK);
    std::string out;
    if (sqlite3_step(s) == SQLITE_ROW && sqlite3_column_text(s, 0)) {
      out = reinterpret_cast<const char*>(sqlite3_column_text(s, 0));
    }
    sqlite3_finalize(s);
    return out;
  }
};

mode_t file_mode(const std::string& path) {
  struct stat st {};
  REQUIRE(::stat(path.c_str(), &st) == 0);
  return st.st_mode & 0777;
}

void require_same_flow(const Flow& a, const Flow& b) {
  CHECK(a.id == b.id);
  CHECK(a.kind == b.kind);
  CHECK(a.client_addr == b.client_addr);
  CHECK(a.connection_id == b.connection_id);
  CHECK(a.scheme == b.scheme);
  CHECK(a.host == b.host);
  CHECK(a.port == b.port);
  CHECK(a.times.start_us == b.times.start_us);
  CHECK(a.times.request_end_us == b.times.request_end_us);
  CHECK(a.times.response_start_us == b.times.response_start_us);
  CHECK(a.times.end_us == b.times.end_us);
  REQUIRE(a.tls.has_value() == b.tls.has_value());
  if (a.tls) {
    CHECK(a.tls->sni == b.tls->sni);
    CHECK(a.tls->client_version == b.tls->client_version);
    CHECK(a.tls->client_cipher == b.tls->client_cipher);
    CHECK(a.tls->alpn == b.tls->alpn);
    CHECK(a.tls->upstream_version == b.tls->upstream_version);
    CHECK(a.tls->upstream_cipher == b.tls->upstream_cipher);
    CHECK(a.tls->upstream_cert_subject == b.tls->upstream_cert_subject);
    CHECK(a.tls->upstream_cert_issuer == b.tls->upstream_cert_issuer);
    CHECK(a.tls->upstream_verify == b.tls->upstream_verify);
    CHECK(a.tls->client_alert == b.tls->client_alert);
  }
  CHECK(a.request.method == b.request.method);
  CHECK(a.request.target == b.request.target);
  CHECK(a.request.version == b.request.version);
  CHECK(same_headers(a.request.headers, b.request.headers));
  CHECK(same_body(a.request.body, b.request.body));
  REQUIRE(a.response.has_value() == b.response.has_value());
  if (a.response) {
    CHECK(a.response->status == b.response->status);
    CHECK(a.response->reason == b.response->reason);
    CHECK(a.response->version == b.response->version);
    CHECK(same_headers(a.response->headers, b.response->headers));
    CHECK(same_body(a.response->body, b.response->body));
  }
  CHECK(a.error == b.error);
  CHECK(a.bytes_from_client == b.bytes_from_client);
  CHECK(a.bytes_from_upstream == b.bytes_from_upstream);
}

// The version-1 schema exactly as the first release wrote it (flows, headers, bodies; no
// findings table), to prove the 1 → 2 migration.
constexpr const char* kSchemaV1 = R"sql(
CREATE TABLE flows (id INTEGER PRIMARY KEY, kind TEXT NOT NULL, client_addr TEXT NOT NULL DEFAULT '',
  connection_id INTEGER NOT NULL DEFAULT 0, scheme TEXT NOT NULL DEFAULT '', host TEXT NOT NULL DEFAULT '',
  port INTEGER NOT NULL DEFAULT 0, start_us INTEGER NOT NULL DEFAULT 0, request_end_us INTEGER NOT NULL DEFAULT 0,
  response_start_us INTEGER NOT NULL DEFAULT 0, end_us INTEGER NOT NULL DEFAULT 0, method TEXT NOT NULL DEFAULT '',
  target TEXT NOT NULL DEFAULT '', request_version TEXT NOT NULL DEFAULT '', response_status INTEGER,
  response_reason TEXT, response_version TEXT, error TEXT, bytes_from_client INTEGER NOT NULL DEFAULT 0,
  bytes_from_upstream INTEGER NOT NULL DEFAULT 0, tls TEXT);
CREATE TABLE headers (flow_id INTEGER NOT NULL REFERENCES flows(id) ON DELETE CASCADE, side INTEGER NOT NULL,
  idx INTEGER NOT NULL, name TEXT NOT NULL, value TEXT NOT NULL);
CREATE UNIQUE INDEX headers_by_flow ON headers(flow_id, side, idx);
CREATE TABLE bodies (flow_id INTEGER NOT NULL REFERENCES flows(id) ON DELETE CASCADE, side INTEGER NOT NULL,
  data BLOB, truncated INTEGER NOT NULL DEFAULT 0, wire_size INTEGER NOT NULL DEFAULT 0,
  PRIMARY KEY (flow_id, side));
INSERT INTO flows (id, kind, scheme, host, port, method, target, request_version, response_status,
  response_reason, response_version) VALUES (7, 'http', 'https', 'management.azure.com', 443, 'GET',
  '/subscriptions?api-version=2022-12-01', 'HTTP/1.1', 200, 'OK', 'HTTP/1.1');
INSERT INTO headers VALUES (7, 0, 0, 'Host', 'management.azure.com');
INSERT INTO headers VALUES (7, 1, 0, 'Content-Type', 'application/json');
INSERT INTO bodies VALUES (7, 1, X'7b7d', 0, 2);
PRAGMA user_version = 1;
)sql";

}  // namespace

TEST_CASE("store round-trips a rich flow exactly", "[unit][storage]") {
  TempDir dir;
  auto store = open_store(dir.file("flows.db"));
  Flow rich = make_rich_flow();
  // No body at all vs an empty one, on both sides of two other flows.
  Flow absent = make_simple_flow("management.azure.com", "/subscriptions", 204);
  absent.response->body.data.reset();
  absent.response->body.wire_size = 0;
  Flow empty = make_simple_flow("management.azure.com", "/x", 200);
  empty.request.body.data = std::string();
  empty.response->body.data = std::string();
  empty.response->body.wire_size = 0;
  Flow no_response = make_simple_flow("login.microsoft.com", "/common/discovery", 0);
  no_response.error = "upstream-connect-failed";
  Flow tunnel;
  tunnel.kind = FlowKind::kTunnel;
  tunnel.scheme = "tunnel";
  tunnel.host = "example.org";
  tunnel.port = 443;
  tunnel.bytes_from_client = 517;
  tunnel.bytes_from_upstream = 5000;
  // Truncated capture with no bytes kept still says so.
  Flow truncated_only = make_simple_flow("graph.microsoft.com", "/v1.0/me", 200);
  truncated_only.response->body = Body{std::nullopt, true, 99};

  std::vector<Flow> flows = {rich, absent, empty, no_response, tunnel, truncated_only};
  for (Flow& f : flows) f.id = store->enqueue(f);
  REQUIRE(store->flush().ok());
  REQUIRE(store->last_error().ok());

  for (const Flow& f : flows) {
    auto loaded = store->load(f.id);
    REQUIRE(loaded.ok());
    REQUIRE(loaded->has_value());
    require_same_flow(f, **loaded);
  }
  auto missing = store->load(999);
  REQUIRE(missing.ok());
  CHECK_FALSE(missing->has_value());

  // Distinctions the tables must keep, spelled out.
  CHECK_FALSE((*store->load(flows[1].id))->response->body.present());
  CHECK((*store->load(flows[2].id))->response->body.present());
  CHECK((*store->load(flows[2].id))->request.body.data == std::string());
  CHECK_FALSE((*store->load(flows[3].id))->response.has_value());
  CHECK((*store->load(flows[0].id))->response->body.data->size() == 17);

  // for_each gives the same flows as load (the merge join must not mix rows between flows).
  size_t i = 0;
  REQUIRE(store->for_each([&](const Flow& f) {
    REQUIRE(i < flows.size());
    require_same_flow(flows[i++], f);
    return true;
  }).ok());
  CHECK(i == flows.size());
}

TEST_CASE("ids increase and survive reopening", "[unit][storage]") {
  TempDir dir;
  const std::string path = dir.file("flows.db");
  int64_t last = 0;
  {
    auto store = open_store(path);
    for (int i = 0; i < 3; ++i) {
      int64_t id = store->enqueue(make_simple_flow("a", "/", 200));
      CHECK(id > last);
      last = id;
    }
    CHECK(last == 3);
  }  // destructor flushes
  {
    auto store = open_store(path);
    REQUIRE(*store->count() == 3);
    int64_t id = store->enqueue(make_simple_flow("a", "/", 200));
    CHECK(id == last + 1);
    // A caller-chosen id pushes the counter past it.
    Flow chosen = make_simple_flow("b", "/", 200);
    chosen.id = 100;
    CHECK(store->enqueue(chosen) == 100);
    CHECK(store->enqueue(make_simple_flow("c", "/", 200)) == 101);
    REQUIRE(store->flush().ok());
    auto summaries = store->list();
    REQUIRE(summaries.ok());
    std::vector<int64_t> ids;
    for (const auto& s : *summaries) ids.push_back(s.id);
    CHECK(ids == std::vector<int64_t>{1, 2, 3, 4, 100, 101});
  }
}

TEST_CASE("the store file and its WAL companions are private (0600)", "[unit][storage]") {
  TempDir dir;
  const std::string path = dir.file("flows.db");
  auto store = open_store(path);
  store->enqueue(make_rich_flow());
  REQUIRE(store->flush().ok());
  CHECK(file_mode(path) == 0600);
  CHECK(file_mode(path + "-wal") == 0600);
  CHECK(file_mode(path + "-shm") == 0600);
  RawDb raw(path);
  CHECK(raw.text("PRAGMA journal_mode") == "wal");
}

TEST_CASE("an existing world-readable store is tightened to 0600", "[unit][storage]") {
  TempDir dir;
  const std::string path = dir.file("flows.db");
  { auto store = open_store(path); }
  REQUIRE(::chmod(path.c_str(), 0644) == 0);
  auto store = open_store(path);
  CHECK(file_mode(path) == 0600);
}

TEST_CASE("a version-1 store is migrated and keeps its flows", "[unit][storage]") {
  TempDir dir;
  const std::string path = dir.file("flows.db");
  {
    RawDb raw(path);
    REQUIRE(raw.exec(kSchemaV1) == SQLITE_OK);
  }
  auto store = open_store(path);
  {
    RawDb raw(path);
    CHECK(raw.text("PRAGMA user_version") == "4");
  }
  auto flow = store->load(7);
  REQUIRE(flow.ok());
  REQUIRE(flow->has_value());
  CHECK((*flow)->host == "management.azure.com");
  CHECK((*flow)->request.headers.fields().at(0).name == "Host");
  CHECK((*flow)->response->body.data == std::string("{}"));
  CHECK_FALSE((*flow)->request.body.present());
  // The new table works and ids continue after the migrated ones.
  Finding finding;
  finding.rule = "token-expired";
  finding.flows = {7};
  REQUIRE(store->replace_findings({finding}).ok());
  CHECK(store->load_findings()->size() == 1);
  CHECK(store->enqueue(make_simple_flow("a", "/", 200)) == 8);
}

TEST_CASE("a read-only open upgrades an old writable file", "[unit][storage]") {
  TempDir dir;
  const std::string path = dir.file("flows.db");
  {
    RawDb raw(path);
    REQUIRE(raw.exec(kSchemaV1) == SQLITE_OK);
  }
  SqliteStoreOptions ro;
  ro.read_only = true;
  auto store = open_store(path, ro);
  CHECK(*store->count() == 1);
}

TEST_CASE("a store from a newer authscope is refused with a clear message", "[unit][storage]") {
  TempDir dir;
  const std::string path = dir.file("flows.db");
  {
    RawDb raw(path);
    REQUIRE(raw.exec("CREATE TABLE future(x); PRAGMA user_version = 7;") == SQLITE_OK);
  }
  for (bool read_only : {false, true}) {
    SqliteStoreOptions options;
    options.read_only = read_only;
    auto store = open_sqlite_store(path, options);
    REQUIRE_FALSE(store.ok());
    CHECK(store.status().message() == "flows.db was written by a newer authscope (schema 7, this build knows 4)");
  }
  RawDb raw(path);
  CHECK(raw.text("PRAGMA user_version") == "7");  // untouched
}

TEST_CASE("files that are not authscope stores are refused", "[unit][storage]") {
  TempDir dir;
  SECTION("another application's SQLite database") {
    const std::string path = dir.file("other.db");
    {
      RawDb raw(path);
      REQUIRE(raw.exec("CREATE TABLE notes(x);") == SQLITE_OK);
    }
    auto store = open_sqlite_store(path);
    REQUIRE_FALSE(store.ok());
    CHECK(store.status().message() == "other.db is a SQLite file but not an authscope store");
  }
  SECTION("not SQLite at all") {
    const std::string path = dir.file("notes.txt");
    FILE* f = std::fopen(path.c_str(), "w");
    REQUIRE(f);
    std::fputs("this is not a database, just some text that is long enough to fill a header page\n", f);
    std::fclose(f);
    auto store = open_sqlite_store(path);
    REQUIRE_FALSE(store.ok());
    CHECK(store.status().message().find("not a database") != std::string::npos);
  }
  SECTION("a missing file opened read-only is not created") {
    SqliteStoreOptions ro;
    ro.read_only = true;
    auto store = open_sqlite_store(dir.file("missing.db"), ro);
    REQUIRE_FALSE(store.ok());
    CHECK(store.status().code() == Status::Code::kNotFound);
    CHECK_FALSE(std::filesystem::exists(dir.file("missing.db")));
  }
}

TEST_CASE("read-only stores read but never write", "[unit][storage]") {
  TempDir dir;
  const std::string path = dir.file("flows.db");
  {
    auto store = open_store(path);
    store->enqueue(make_rich_flow());
  }
  SqliteStoreOptions ro;
  ro.read_only = true;
  auto store = open_store(path, ro);
  CHECK(*store->count() == 1);
  REQUIRE(store->load(1)->has_value());
  store->enqueue(make_simple_flow("a", "/", 200));
  CHECK_FALSE(store->flush().ok());
  CHECK(store->last_error().message().find("read-only") != std::string::npos);
  CHECK_FALSE(store->replace_findings({}).ok());
  CHECK(*store->count() == 1);
}

TEST_CASE("for_each streams in id order and stops early", "[unit][storage]") {
  TempDir dir;
  auto store = open_store(dir.file("flows.db"));
  for (int i = 0; i < 50; ++i) {
    Flow f = make_simple_flow("host" + std::to_string(i), "/" + std::to_string(i), 200);
    f.request.headers.add("X-Index", std::to_string(i));
    if (i % 3 == 0) f.response.reset();
    store->enqueue(std::move(f));
  }
  REQUIRE(store->flush().ok());
  std::vector<int64_t> seen;
  REQUIRE(store->for_each([&](const Flow& f) {
    seen.push_back(f.id);
    int i = static_cast<int>(f.id) - 1;
    CHECK(f.host == "host" + std::to_string(i));
    CHECK(*f.request.headers.find("x-index") == std::to_string(i));
    CHECK(f.response.has_value() == (i % 3 != 0));
    // A visitor may read the store again (the reader lock is recursive).
    auto again = store->load(f.id);
    CHECK((again.ok() && again->has_value() && (*again)->host == f.host));
    return true;
  }).ok());
  REQUIRE(seen.size() == 50);
  CHECK(std::is_sorted(seen.begin(), seen.end()));
  size_t visits = 0;
  REQUIRE(store->for_each([&](const Flow&) { return ++visits < 5; }).ok());
  CHECK(visits == 5);
}

TEST_CASE("list summarises flows without bodies", "[unit][storage]") {
  TempDir dir;
  auto store = open_store(dir.file("flows.db"));
  store->enqueue(make_rich_flow());
  store->enqueue(make_simple_flow("management.azure.com", "/subscriptions", 0));
  REQUIRE(store->flush().ok());
  auto list = store->list();
  REQUIRE(list.ok());
  REQUIRE(list->size() == 2);
  const FlowSummary& s = (*list)[0];
  CHECK(s.id == 1);
  CHECK(s.method == "POST");
  CHECK(s.host == "login.microsoftonline.com");
  CHECK(s.port == 443);
  CHECK(s.status == 200);
  CHECK(s.duration_us == 9998);
  CHECK(s.request_bytes == 1234);
  CHECK(s.response_bytes == 1048999);
  CHECK(s.error == std::optional<std::string>("upstream-reset"));
  CHECK((*list)[1].status == 0);
  CHECK_FALSE((*list)[1].error.has_value());
}

TEST_CASE("findings are replaced as a whole and load back", "[unit][storage]") {
  TempDir dir;
  auto store = open_store(dir.file("flows.db"));
  Finding a;
  a.rule = "pkce-missing";
  a.severity = Severity::kHigh;
  a.title = "Authorization code flow without PKCE";
  a.message = "client 1950a258 started an authorization code flow with no code_challenge";
  a.flows = {3, 5};
  a.evidence = {{"client_id", "1950a258"}, {"nested", {{"b", 1}, {"a", 2}}}};
  Finding b;
  b.rule = "ropc-grant";
  b.severity = Severity::kCritical;
  b.flows = {9};
  REQUIRE(store->replace_findings({a, b}).ok());
  auto loaded = store->load_findings();
  REQUIRE(loaded.ok());
  REQUIRE(loaded->size() == 2);
  CHECK(to_json((*loaded)[0]) == to_json(a));  // ordered_json: key order kept too
  CHECK(to_json((*loaded)[1]) == to_json(b));
  REQUIRE(store->replace_findings({b}).ok());
  REQUIRE(store->load_findings()->size() == 1);
  CHECK(store->load_findings()->at(0).rule == "ropc-grant");
  REQUIRE(store->replace_findings({}).ok());
  CHECK(store->load_findings()->empty());
}

TEST_CASE("concurrent enqueue from four threads, then flush", "[unit][storage]") {
  TempDir dir;
  SqliteStoreOptions options;
  options.commit_interval_ms = 20;
  options.batch_max_flows = 64;
  auto store = open_store(dir.file("flows.db"), options);
  constexpr int kThreads = 4, kPerThread = 1500;
  std::vector<std::vector<int64_t>> ids(kThreads);
  std::vector<std::thread> threads;
  for (int t = 0; t < kThreads; ++t) {
    threads.emplace_back([&, t] {
      for (int i = 0; i < kPerThread; ++i) {
        Flow f = make_simple_flow("t" + std::to_string(t), "/" + std::to_string(i), 200);
        ids[t].push_back(store->enqueue(std::move(f)));
      }
    });
  }
  for (auto& th : threads) th.join();
  REQUIRE(store->flush().ok());
  CHECK(*store->count() == kThreads * kPerThread);
  std::set<int64_t> unique;
  for (const auto& v : ids) {
    CHECK(std::is_sorted(v.begin(), v.end()));  // each thread sees its ids increase
    unique.insert(v.begin(), v.end());
  }
  CHECK(unique.size() == static_cast<size_t>(kThreads * kPerThread));
  // Each thread's flows landed under the ids it was given.
  auto f = store->load(ids[2][700]);
  REQUIRE(f->has_value());
  CHECK((*f)->host == "t2");
  CHECK((*f)->request.target == "/700");
}

TEST_CASE("before_write runs on the writer thread before storage, after_commit sees the batch",
          "[unit][storage]") {
  TempDir dir;
  std::atomic<std::thread::id> hook_thread{};
  std::mutex mu;
  std::vector<int64_t> committed;
  SqliteStoreOptions options;
  options.before_write = [&](Flow& f) {
    hook_thread = std::this_thread::get_id();
    f.request.headers.set("Authorization", "[redacted]");
  };
  options.after_commit = [&](const std::vector<Flow>& flows) {
    std::lock_guard<std::mutex> lock(mu);
    for (const Flow& f : flows) {
      CHECK(*f.request.headers.find("authorization") == "[redacted]");
      committed.push_back(f.id);
    }
  };
  auto store = open_store(dir.file("flows.db"), options);
  Flow f = make_simple_flow("management.azure.com", "/subscriptions", 200);
  f.request.headers.add("Authorization", "Bearer eyJhbGciOi.secret.sig");
  int64_t id = store->enqueue(f);
  store->enqueue(make_simple_flow("a", "/", 200));
  REQUIRE(store->flush().ok());
  CHECK(hook_thread.load() != std::thread::id());
  CHECK(hook_thread.load() != std::this_thread::get_id());
  auto loaded = store->load(id);
  REQUIRE(loaded->has_value());
  CHECK(*(*loaded)->request.headers.find("Authorization") == "[redacted]");
  CHECK((*loaded)->request.headers.count("authorization") == 1);
  std::lock_guard<std::mutex> lock(mu);
  CHECK(committed == std::vector<int64_t>{1, 2});
}

TEST_CASE("write failures keep flows queued, are reported, and recover", "[unit][storage]") {
  TempDir dir;
  const std::string path = dir.file("flows.db");
  SqliteStoreOptions options;
  options.busy_timeout_ms = 20;
  options.retry_interval_ms = 20;
  options.commit_interval_ms = 5;
  auto store = open_store(path, options);
  RawDb blocker(path);
  sqlite3_busy_timeout(blocker.db, 2000);
  REQUIRE(blocker.exec("BEGIN IMMEDIATE") == SQLITE_OK);  // another process holds the write lock

  for (int i = 0; i < 10; ++i) store->enqueue(make_simple_flow("a", "/" + std::to_string(i), 200));
  Status flushed = store->flush();
  REQUIRE_FALSE(flushed.ok());
  CHECK(flushed.message().find("locked") != std::string::npos);
  CHECK(flushed.message().find("10 waiting") != std::string::npos);
  CHECK_FALSE(store->last_error().ok());

  REQUIRE(blocker.exec("COMMIT") == SQLITE_OK);
  Status retried = store->flush();
  INFO(retried.ToString());
  // The writer may still report the attempt that was in flight when the lock went away.
  for (int attempt = 0; attempt < 20 && !retried.ok(); ++attempt) retried = store->flush();
  REQUIRE(retried.ok());
  CHECK(store->last_error().ok());
  CHECK(*store->count() == 10);
}

TEST_CASE("beyond the queue bound flows are dropped, counted and reported", "[unit][storage]") {
  TempDir dir;
  const std::string path = dir.file("flows.db");
  SqliteStoreOptions options;
  options.busy_timeout_ms = 10;
  options.retry_interval_ms = 10;
  options.commit_interval_ms = 1;
  options.batch_max_flows = 4;
  options.max_queued_flows = 6;
  auto store = open_store(path, options);
  RawDb blocker(path);
  sqlite3_busy_timeout(blocker.db, 2000);
  REQUIRE(blocker.exec("BEGIN IMMEDIATE") == SQLITE_OK);
  // The writer takes the first 4 into its batch (a batch counts until it commits); 6 wait.
  for (int i = 0; i < 4; ++i) store->enqueue(make_simple_flow("a", "/", 200));
  CHECK_FALSE(store->flush().ok());  // the first batch has been taken and has failed once
  std::vector<int64_t> ids;
  for (int i = 0; i < 9; ++i) ids.push_back(store->enqueue(make_simple_flow("b", "/", 200)));
  CHECK(std::is_sorted(ids.begin(), ids.end()));  // dropped flows still get ids
  REQUIRE(blocker.exec("COMMIT") == SQLITE_OK);
  Status s = store->flush();
  for (int attempt = 0; attempt < 20 && s.code() == Status::Code::kIo; ++attempt) s = store->flush();
  CHECK(s.code() == Status::Code::kLimit);
  CHECK(s.message() == "flows.db: 3 flows were not stored: write queue full (6 flows, 0 MiB)");
  CHECK(*store->count() == 4 + 6);
}

TEST_CASE("a duplicate id is refused alone, the rest of the batch is stored", "[unit][storage]") {
  TempDir dir;
  auto store = open_store(dir.file("flows.db"));
  Flow a = make_simple_flow("a", "/", 200);
  a.id = 5;
  store->enqueue(a);
  REQUIRE(store->flush().ok());
  Flow dup = make_simple_flow("dup", "/", 200);
  dup.id = 5;
  store->enqueue(dup);
  store->enqueue(make_simple_flow("c", "/", 200));
  Status s = store->flush();
  CHECK(s.code() == Status::Code::kLimit);
  CHECK(s.message().find("flow 5 not stored") != std::string::npos);
  CHECK(*store->count() == 2);
  CHECK((*store->load(5))->host == "a");
}

TEST_CASE("a full disk never crashes: flows wait, the error is reported, reads keep working",
          "[unit][storage]") {
  TempDir dir;
  const std::string path = dir.file("flows.db");
  {
    auto store = open_store(path);
    store->enqueue(make_simple_flow("before", "/", 200));
  }
  SqliteStoreOptions options;
  options.max_db_bytes = 96 * 1024;  // SQLITE_FULL, the same path as ENOSPC, at ~96 KiB
  options.retry_interval_ms = 10;
  options.commit_interval_ms = 1;
  auto store = open_store(path, options);
  Flow big = make_rich_flow();
  big.response->body.data = std::string(256 * 1024, 'z');
  store->enqueue(big);
  Status flushed = store->flush();
  REQUIRE_FALSE(flushed.ok());
  CHECK(flushed.code() == Status::Code::kIo);
  CHECK(flushed.message().find("full") != std::string::npos);
  CHECK(store->last_error().message().find("cannot write flows (1 waiting)") != std::string::npos);
  // Small flows queued behind the failing batch wait too (a batch is retried whole, in order).
  store->enqueue(make_simple_flow("after", "/", 200));
  CHECK_FALSE(store->flush().ok());
  CHECK(*store->count() == 1);
  CHECK((*store->load(1))->host == "before");
  // Closing gives up after a few bounded attempts instead of hanging.
  const auto t0 = std::chrono::steady_clock::now();
  store.reset();
  CHECK(std::chrono::steady_clock::now() - t0 < std::chrono::seconds(5));
  // The flow that cannot fit was given up; the small one behind it was written on the way out.
  auto reopened = open_store(path);
  auto list = reopened->list();
  REQUIRE(list->size() == 2);
  CHECK(list->at(0).host == "before");
  CHECK(list->at(1).host == "after");
}

TEST_CASE("packed header fields keep order, case, repeats and any bytes", "[unit][storage]") {
  Headers in;
  in.add("Host", "management.azure.com");
  in.add("X-Dup", "one");
  in.add("x-dup", "two");
  in.add("X-Empty", "");
  in.add("", "a value with no name (HAR import)");
  in.add("12:34", "colons: 5:x and digits 10:");
  in.add(std::string("nul\0name", 8), std::string("\x00\xff\r\n", 4));
  std::string block;
  pack_header_fields(in, block);
  CHECK(block.substr(0, 29) == "4:Host20:management.azure.com");
  Headers out;
  REQUIRE(unpack_header_fields(block, out));
  CHECK(same_headers(in, out));

  std::string none;
  pack_header_fields(Headers(), none);
  CHECK(none.empty());
  Headers empty;
  CHECK(unpack_header_fields(none, empty));
  CHECK(empty.empty());
}

TEST_CASE("a damaged header block is refused, not misread", "[unit][storage]") {
  for (const char* bad : {"4:Host", "4:Host3:ab", "4Host2:ab", "04:Host2:ab", "+4:Host2:ab", "-4:Host2:ab", ":Host",
                          "4:Host2:ab1", "99999999999999999999999:x", "x:1:a"}) {
    Headers out;
    INFO(bad);
    CHECK_FALSE(unpack_header_fields(bad, out));
  }
  // A block cut anywhere but between two fields is damaged too (a block never ends mid-field).
  Headers in;
  in.add("Authorization", "Bearer eyJ0eXAiOiJKV1QifQ.e30.sig");
  in.add("Accept", "*/*");
  std::string block;
  pack_header_fields(in, block);
  const size_t first_field = std::string("13:Authorization33:Bearer eyJ0eXAiOiJKV1QifQ.e30.sig").size();
  for (size_t n = 1; n < block.size(); ++n) {
    Headers out;
    INFO(n);
    CHECK(unpack_header_fields(std::string_view(block).substr(0, n), out) == (n == first_field));
  }
}

TEST_CASE("a version-3 store's header rows are packed into messages", "[unit][storage]") {
  TempDir dir;
  const std::string path = dir.file("flows.db");
  Flow rich = make_rich_flow();
  Flow headers_only = make_simple_flow("management.azure.com", "/subscriptions", 204);
  headers_only.response->body = Body{};
  Flow no_response = make_simple_flow("login.microsoftonline.com", "/common/discovery", 0);
  Flow bare = make_simple_flow("graph.microsoft.com", "/v1.0/me", 200);
  bare.request.headers.clear();  // a message with a body row but no fields
  std::vector<Flow> flows = {rich, headers_only, no_response, bare};
  {
    auto store = open_store(path);
    for (Flow& f : flows) f.id = store->enqueue(f);
    REQUIRE(store->flush().ok());
  }
  {
    RawDb raw(path);
    REQUIRE(testing::back_to_header_rows(raw.db) == "");
    REQUIRE(raw.exec("PRAGMA user_version = 3") == SQLITE_OK);
    CHECK(raw.text("SELECT count(*) FROM headers") == "12");
  }
  auto store = open_store(path);
  {
    RawDb raw(path);
    CHECK(raw.text("PRAGMA user_version") == "4");
    CHECK(raw.text("SELECT count(*) FROM sqlite_schema WHERE name IN ('headers', 'bodies')") == "0");
  }
  for (const Flow& f : flows) {
    auto loaded = store->load(f.id);
    REQUIRE(loaded.ok());
    REQUIRE(loaded->has_value());
    require_same_flow(f, **loaded);
  }
}

TEST_CASE("a flow whose stored header block is damaged reads as an error naming it", "[unit][storage]") {
  TempDir dir;
  const std::string path = dir.file("flows.db");
  auto store = open_store(path);
  const int64_t good = store->enqueue(make_simple_flow("a", "/", 200));
  const int64_t damaged = store->enqueue(make_simple_flow("b", "/", 200));
  REQUIRE(store->flush().ok());
  {
    RawDb raw(path);
    REQUIRE(raw.exec("UPDATE messages SET headers = CAST('4:Host99:b' AS BLOB) WHERE flow_id = 2 AND side = 0") ==
            SQLITE_OK);
  }
  CHECK(store->load(good).ok());
  auto loaded = store->load(damaged);
  REQUIRE_FALSE(loaded.ok());
  CHECK(loaded.status().message() == "flow 2: the stored header fields are damaged");
  size_t seen = 0;
  Status streamed = store->for_each([&](const Flow&) { return ++seen < 100; });
  CHECK(seen == 1);
  CHECK(streamed.message() == "flow 2: the stored header fields are damaged");
}

TEST_CASE("the writer gives its page cache back once idle", "[unit][storage]") {
  // sqlite3_memory_used() is this process's SQLite heap: the writer's cache is most of it after
  // a burst. With a long idle delay it stays; with a short one it goes within a second or two.
  for (int idle_ms : {60000, 100}) {
    TempDir dir;
    SqliteStoreOptions options;
    options.writer_cache_idle_ms = idle_ms;
    auto store = open_store(dir.file("flows.db"), options);
    const sqlite3_int64 before = sqlite3_memory_used();
    for (int i = 0; i < 3000; ++i) {
      Flow f = make_simple_flow("management.azure.com", "/subscriptions/" + std::to_string(i), 200);
      f.response->body.data = std::string(1500, static_cast<char>('a' + i % 26));
      store->enqueue(std::move(f));
    }
    REQUIRE(store->flush().ok());
    const sqlite3_int64 filled = sqlite3_memory_used();
    INFO("idle_ms " << idle_ms << " before " << before << " filled " << filled);
    REQUIRE(filled - before > 1'000'000);
    sqlite3_int64 now = filled;
    for (int waited = 0; waited < 2000 && now > before + 500'000; waited += 50) {
      std::this_thread::sleep_for(std::chrono::milliseconds(50));
      now = sqlite3_memory_used();
    }
    INFO("after " << now);
    if (idle_ms == 100) {
      CHECK(now < before + 500'000);
    } else {
      CHECK(now > before + 1'000'000);
    }
  }
}
