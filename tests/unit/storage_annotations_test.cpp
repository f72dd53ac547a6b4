// Schema 3: each flow's class and token records (model/flow_annotations.h) stored with the flow
// in the writer's transaction; the annotate hook sees the raw flow before before_write; load(),
// for_each(), for_each_annotations() and list() return them; a version-2 store is migrated and
// backfilled through the hook. The hook here is a fake (storage never includes analyzers).
#include <sqlite3.h>

#include <atomic>
#include <catch2/catch.hpp>
#include <thread>

#include "storage/flow_store.h"
#include "storage_test_support.h"

using namespace authscope;
using authscope::testing::make_simple_flow;
using authscope::testing::TempDir;

namespace {

std::unique_ptr<FlowStore> open_store(const std::string& path, SqliteStoreOptions options = {}) {
  auto store = open_sqlite_store(path, std::move(options));
  INFO(store.status().ToString());
  REQUIRE(store.ok());
  return std::move(store).value();
}

struct Sql {
  sqlite3* db = nullptr;
  explicit Sql(const std::string& path) { REQUIRE(sqlite3_open(path.c_str(), &db) == SQLITE_OK); }
  ~Sql() { sqlite3_close(db); }
  int exec(const std::string& sql) { return sqlite3_exec(db, sql.c_str(), nullptr, nullptr, nullptr); }
  std::string text(const std::string& sql) {
    sqlite3_stmt* s = nullptr;
    REQUIRE(sqlite3_prepare_v2(db, sql.c_str(), -1, &s, nullptr) == SQLITE_OK);
    std::string out;
    if (sqlite3_step(s) == SQLITE_ROW && sqlite3_column_text(s, 0)) {
      out = reinterpret_cast<const char*>(sqlite3_column_text(s, 0));
    }
    sqlite3_finalize(s);
    return out;
  }
};

// A stand-in for analyzers/flow_annotator.h: class from the host, one record per Authorization
// header whose "signature" says what the hook saw (so tests can tell raw from redacted).
FlowAnnotations fake_annotate(const Flow& f) {
  FlowAnnotations a;
  a.flow_class = f.host == "management.azure.com" ? (f.request.method == "GET" ? "arm:read" : "arm:write") : "other";
  a.class_detail = R"({"host_role":")" + std::string(f.host == "management.azure.com" ? "arm" : "") + R"("})";
  for (const std::string& v : f.request.headers.all("Authorization")) {
    TokenRecord t;
    t.location = "request.header.Authorization";
    t.kind = "access_token";
    t.scheme = "Bearer";
    t.format = "jws";
    t.fingerprint = "fp-" + v.substr(v.find(' ') + 1);
    t.signature = v.find("[redacted]") != std::string::npos ? "redacted" : "verified";
    t.header_json = R"({"alg":"RS256"})";
    t.claims_json = R"({"tok":")" + v.substr(v.find(' ') + 1) + R"("})";
    a.tokens.push_back(t);
  }
  return a;
}

Flow with_bearer(const std::string& token, const std::string& method = "GET") {
  Flow f = make_simple_flow("management.azure.com", "/subscriptions?api-version=2022-12-01", 200);
  f.request.method = method;
  f.request.headers.add("Authorization", "Bearer " + token);
  return f;
}

// A version-2 store exactly as that schema was written (steps 0 → 1 → 2), holding flows with
// a raw and a redacted bearer token.
constexpr const char* kSchemaV2 = R"sql(
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
CREATE TABLE findings (id INTEGER PRIMARY KEY, rule TEXT NOT NULL, severity TEXT NOT NULL, title TEXT NOT NULL,
  message TEXT NOT NULL, flows TEXT NOT NULL, evidence TEXT NOT NULL);
CREATE INDEX flows_by_host ON flows(host, id);
INSERT INTO flows (id, kind, scheme, host, port, method, target, request_version, response_status,
  response_reason, response_version) VALUES (4, 'http', 'https', 'management.azure.com', 443, 'GET',
  '/subscriptions?api-version=2022-12-01', 'HTTP/1.1', 200, 'OK', 'HTTP/1.1');
INSERT INTO headers VALUES (4, 0, 0, 'Host', 'management.azure.com');
INSERT INTO headers VALUES (4, 0, 1, 'Authorization', 'Bearer [redacted]');
INSERT INTO flows (id, kind, scheme, host, port, method, target, request_version)
  VALUES (5, 'http', 'https', 'example.com', 443, 'POST', '/', 'HTTP/1.1');
INSERT INTO headers VALUES (5, 0, 0, 'Authorization', 'Bearer raw-token');
PRAGMA user_version = 2;
)sql";

}  // namespace

TEST_CASE("annotations are written with the flow and read back by load, for_each and list",
          "[unit][storage]") {
  TempDir dir;
  const std::string path = dir.file("flows.db");
  std::atomic<std::thread::id> hook_thread{};
  SqliteStoreOptions options;
  options.annotate = [&](const Flow& f) {
    hook_thread = std::this_thread::get_id();
    return fake_annotate(f);
  };
  // Redaction after annotation: the stored header is redacted, the stored record saw it raw.
  options.before_write = [](Flow& f) {
    if (f.request.headers.find("Authorization")) f.request.headers.set("Authorization", "Bearer [redacted]");
  };
  auto store = open_store(path, options);
  const int64_t a = store->enqueue(with_bearer("tok-A"));
  const int64_t b = store->enqueue(with_bearer("tok-A", "PUT"));  // same token again
  const int64_t c = store->enqueue(make_simple_flow("example.com", "/", 200));
  Flow preset = make_simple_flow("example.com", "/preset", 0);
  preset.annotations = FlowAnnotations{"graph", "{}", {}};  // arrives annotated: the hook leaves it
  const int64_t d = store->enqueue(preset);
  REQUIRE(store->flush().ok());
  CHECK(hook_thread.load() != std::thread::id());
  CHECK(hook_thread.load() != std::this_thread::get_id());

  auto loaded = store->load(a);
  REQUIRE(loaded.ok());
  REQUIRE(loaded->has_value());
  const Flow& fa = **loaded;
  CHECK(*fa.request.headers.find("Authorization") == "Bearer [redacted]");
  REQUIRE(fa.annotations.has_value());
  CHECK(fa.annotations->flow_class == "arm:read");
  CHECK(fa.annotations->class_detail == R"({"host_role":"arm"})");
  REQUIRE(fa.annotations->tokens.size() == 1);
  CHECK(fa.annotations->tokens[0].signature == "verified");  // decided before redaction
  CHECK(fa.annotations->tokens[0].claims_json == R"({"tok":"tok-A"})");
  CHECK(fa.annotations->tokens[0] == fake_annotate(with_bearer("tok-A")).tokens[0]);

  // One document per distinct token, one row per use.
  {
    Sql raw(path);
    CHECK(raw.text("SELECT count(*) FROM token_docs") == "1");
    CHECK(raw.text("SELECT count(*) FROM tokens") == "2");
    CHECK(raw.text("SELECT count(*) FROM tokens WHERE fingerprint = 'fp-tok-A'") == "2");
  }

  std::vector<std::pair<int64_t, FlowAnnotations>> seen;
  REQUIRE(store->for_each([&](const Flow& f) {
    REQUIRE(f.annotations.has_value());
    seen.emplace_back(f.id, *f.annotations);
    return true;
  }).ok());
  REQUIRE(seen.size() == 4);
  CHECK(seen[1].first == b);
  CHECK(seen[1].second.flow_class == "arm:write");
  CHECK(seen[1].second.tokens.size() == 1);
  CHECK(seen[2].first == c);
  CHECK(seen[2].second.tokens.empty());
  CHECK(seen[3].second.flow_class == "graph");

  std::vector<std::pair<int64_t, FlowAnnotations>> only;
  REQUIRE(store->for_each_annotations([&](int64_t id, const FlowAnnotations& an) {
    only.emplace_back(id, an);
    return true;
  }).ok());
  CHECK(only == seen);

  auto list = store->list();
  REQUIRE(list.ok());
  REQUIRE(list->size() == 4);
  CHECK(list.value()[0].flow_class == "arm:read");
  CHECK(list.value()[3].id == d);
  CHECK(list.value()[3].flow_class == "graph");
}

TEST_CASE("without the hook flows are stored unannotated and read back so", "[unit][storage]") {
  TempDir dir;
  auto store = open_store(dir.file("flows.db"));
  int64_t id = store->enqueue(with_bearer("t"));
  REQUIRE(store->flush().ok());
  auto loaded = store->load(id);
  REQUIRE(loaded->has_value());
  CHECK_FALSE((*loaded)->annotations.has_value());
  CHECK(store->list()->at(0).flow_class.empty());
  size_t n = 0;
  REQUIRE(store->for_each_annotations([&](int64_t, const FlowAnnotations&) { return ++n, true; }).ok());
  CHECK(n == 0);
}

TEST_CASE("a version-2 store migrates to 3 and is backfilled through the hook", "[unit][storage]") {
  TempDir dir;
  const std::string path = dir.file("flows.db");
  {
    Sql raw(path);
    REQUIRE(raw.exec(kSchemaV2) == SQLITE_OK);
  }
  std::vector<int64_t> annotated;
  SqliteStoreOptions options;
  SECTION("opened read-write") {}
  SECTION("opened read-only (a writable file is upgraded and backfilled)") { options.read_only = true; }
  options.annotate = [&](const Flow& f) {
    annotated.push_back(f.id);
    return fake_annotate(f);
  };
  auto store = open_store(path, options);
  CHECK(annotated == std::vector<int64_t>{4, 5});  // in id order, at open
  {
    Sql raw(path);
    CHECK(raw.text("PRAGMA user_version") == "4");
    CHECK(raw.text("SELECT count(*) FROM flows WHERE class IS NULL") == "0");
  }
  auto f4 = store->load(4);
  REQUIRE(f4->has_value());
  REQUIRE((*f4)->annotations.has_value());
  CHECK((*f4)->annotations->flow_class == "arm:read");
  // The old row held only a redacted token: the backfill says so honestly.
  CHECK((*f4)->annotations->tokens.at(0).signature == "redacted");
  auto f5 = store->load(5);
  CHECK((*f5)->annotations->tokens.at(0).signature == "verified");
  CHECK((*f5)->annotations->tokens.at(0).claims_json == R"({"tok":"raw-token"})");

  // Opening again finds nothing left to backfill.
  annotated.clear();
  store.reset();
  store = open_store(path, options);
  CHECK(annotated.empty());
  if (!options.read_only) CHECK(store->enqueue(with_bearer("new")) == 6);
}

TEST_CASE("a hook that throws leaves the flow stored, unannotated", "[unit][storage]") {
  TempDir dir;
  SqliteStoreOptions options;
  options.annotate = [](const Flow& f) -> FlowAnnotations {
    if (f.request.target == "/boom") throw std::runtime_error("boom");
    return fake_annotate(f);
  };
  auto store = open_store(dir.file("flows.db"), options);
  int64_t bad = store->enqueue(make_simple_flow("example.com", "/boom", 200));
  int64_t good = store->enqueue(make_simple_flow("example.com", "/ok", 200));
  REQUIRE(store->flush().ok());
  CHECK_FALSE((*store->load(bad))->annotations.has_value());
  CHECK((*store->load(good))->annotations->flow_class == "other");
}
