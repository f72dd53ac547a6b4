// `authscope decode` and `authscope tokens` run in-process through run_cli, against tokens
// minted here and a real SQLite store in a temporary directory.
#include <catch2/catch.hpp>

#include <unistd.h>

#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <sstream>

#include <sqlite3.h>

#include "analyzers/analysis.h"
#include "analyzers/flow_annotator.h"
#include "analyzers/redact.h"
#include "cli/cli.h"
#include "cli/store_annotator.h"
#include "storage/flow_store.h"
#include "old_schema_support.h"
#include "tokens_test_support.h"

using namespace authscope;
using namespace authscope::testing;

namespace {

struct CliResult {
  int code;
  std::string out, err;
};

CliResult run(std::vector<std::string> args) {
  args.insert(args.begin(), "authscope");
  std::vector<char*> argv;
  for (auto& a : args) argv.push_back(a.data());
  std::ostringstream out, err;
  int code = run_cli(static_cast<int>(argv.size()), argv.data(), out, err);
  return {code, out.str(), err.str()};
}

struct TempDir {
  std::filesystem::path path;
  TempDir() {
    std::string tmpl = (std::filesystem::temp_directory_path() / "authscope-tokens-XXXXXX").string();
    REQUIRE(mkdtemp(tmpl.data()) != nullptr);
    path = tmpl;
    setenv("AUTHSCOPE_HOME", path.c_str(), 1);
  }
  ~TempDir() {
    std::error_code ec;
    std::filesystem::remove_all(path, ec);
  }
};

}  // namespace

TEST_CASE("decode: readable breakdown, verification with --jwks, JSON, and refusals", "[unit][tokens]") {
  TempDir dir;
  SigningKey key("RS256", "kid-1");
  std::string token = key.mint(arm_user_claims_v1());
  std::string jwks = (dir.path / "jwks.json").string();
  std::ofstream(jwks) << key.jwks().dump();

  auto text = run({"decode", token, "--jwks", jwks, "--now", std::to_string(kIat + 600)});
  INFO(text.err);
  REQUIRE(text.code == 0);
  CHECK(text.out.find("signature: verified (key kid-1)") != std::string::npos);
  CHECK(text.out.find("2024-06-01T11:14:53Z (in 64 min)") != std::string::npos);  // exp
  CHECK(text.out.find("Microsoft Azure CLI") != std::string::npos);
  CHECK(text.out.find("Azure Resource Manager") != std::string::npos);
  CHECK(text.out.find("ada@contoso.example") != std::string::npos);
  CHECK(text.out.find("expires in 64 min") != std::string::npos);

  auto unsigned_check = run({"decode", "Bearer " + token, "--now", std::to_string(kIat + 7200)});
  REQUIRE(unsigned_check.code == 0);
  CHECK(unsigned_check.out.find("unverified (no keys") != std::string::npos);
  CHECK(unsigned_check.out.find("expired 45 min ago") != std::string::npos);

  auto tampered_claims = arm_user_claims_v1();
  tampered_claims["upn"] = "mallory@contoso.example";
  std::string tampered = token.substr(0, token.find('.') + 1) + base64url_encode(tampered_claims.dump()) +
                         token.substr(token.rfind('.'));
  auto json = run({"decode", tampered, "--jwks", jwks, "--json", "--now", std::to_string(kIat)});
  REQUIRE(json.code == 0);
  auto doc = nlohmann::json::parse(json.out);
  CHECK(doc["signature"]["status"] == "bad-signature");
  CHECK(doc["claims"]["upn"] == "mallory@contoso.example");
  CHECK(doc["info"]["client_name"] == "Microsoft Azure CLI");
  CHECK(doc["info"]["exp"]["utc"] == "2024-06-01T11:14:53Z");

  auto bad = run({"decode", "eyJhbGciOiJSUzI1NiJ9.@@@.AAAA"});
  CHECK(bad.code == kExitFailure);
  CHECK(bad.err.find("segment 2 is not base64url") != std::string::npos);
  CHECK(std::count(bad.err.begin(), bad.err.end(), '\n') == 1);
  auto opaque = run({"decode", "0.AXoA-refresh-token-value"});
  CHECK(opaque.code == kExitFailure);
  CHECK(opaque.err.find("not a JWT") != std::string::npos);
  auto nokeys = run({"decode", token, "--jwks", (dir.path / "missing.json").string()});
  CHECK(nokeys.code == kExitFailure);
}

TEST_CASE("tokens: every token in a store with who, what, for whom, until when, and signature", "[unit][tokens]") {
  TempDir dir;
  SigningKey key("RS256", "entra-1");
  std::string at = key.mint(arm_user_claims_v1());
  std::string graph = key.mint(graph_app_claims_v2(), {{"nonce", "hdr-nonce"}});
  auto fill = [&](const std::string& path, bool redact) {
    SqliteStoreOptions options;
    if (redact) options.before_write = [](Flow& f) { redact_secrets(f); };
    auto store = open_sqlite_store(path, options);
    REQUIRE(store.ok());
    Flow keys = make_flow("GET", "https://login.microsoftonline.com/common/discovery/v2.0/keys");
    set_response(keys, 200, {{"Content-Type", "application/json"}}, key.jwks().dump());
    keys.id = 0;
    store.value()->enqueue(keys);
    Flow token = make_form_post("https://login.microsoftonline.com/common/oauth2/token",
                                "grant_type=refresh_token&refresh_token=0.AXoA-rt-value");
    set_response(token, 200, {{"Content-Type", "application/json"}},
                 nlohmann::json{{"access_token", at}, {"refresh_token", "0.AXoA-rt-value-2"}}.dump());
    token.id = 0;
    store.value()->enqueue(token);
    Flow arm = make_flow("GET", "https://management.azure.com/subscriptions?api-version=1",
                         {{"Authorization", "Bearer " + at}});
    arm.id = 0;
    arm.times.start_us = (kIat + 7200) * int64_t{1000000};
    store.value()->enqueue(arm);
    Flow g = make_flow("GET", "https://graph.microsoft.com/v1.0/users", {{"Authorization", "Bearer " + graph}});
    g.id = 0;
    store.value()->enqueue(g);
    REQUIRE(store.value()->flush().ok());
  };
  std::string raw_db = (dir.path / "raw.db").string();
  std::string db = (dir.path / "flows.db").string();
  fill(raw_db, false);
  fill(db, true);

  auto raw = run({"tokens", "--db", raw_db, "--json"});
  INFO(raw.err);
  REQUIRE(raw.code == 0);
  auto raw_rows = nlohmann::json::parse(raw.out);
  REQUIRE(raw_rows.size() == 5);
  CHECK(raw_rows[1]["signature"] == "verified");   // key from the captured JWKS response
  CHECK(raw_rows[3]["signature"] == "verified");
  CHECK(raw_rows[4]["signature"] == "not-verifiable");  // Graph header nonce
  CHECK(raw_rows[0]["redacted"] == false);

  auto json = run({"tokens", "--db", db, "--json"});
  INFO(json.err);
  REQUIRE(json.code == 0);
  auto rows = nlohmann::json::parse(json.out);
  REQUIRE(rows.size() == 5);
  CHECK(rows[0]["location"] == "request.form.refresh_token");
  CHECK(rows[0]["format"] == "opaque");
  CHECK(rows[0]["redacted"] == true);
  CHECK(rows[1]["location"] == "response.json.access_token");
  CHECK(rows[1]["signature"] == "redacted");  // stored redacted: signature gone, claims kept
  CHECK(rows[1]["client_name"] == "Microsoft Azure CLI");
  CHECK(rows[1]["tenant"] == kTenant);
  CHECK(rows[1]["scopes"] == nlohmann::json::array({"user_impersonation"}));
  CHECK(rows[3]["location"] == "request.header.Authorization");
  CHECK(rows[3]["flow"] == 3);
  CHECK(rows[3]["expiry"] == "2024-06-01T11:14:53Z (expired 45 min before the request)");
  CHECK(rows[4]["audience_name"] == "Microsoft Graph");
  CHECK(rows[4]["idtyp"] == "app");

  auto text = run({"tokens", "--db", db});
  REQUIRE(text.code == 0);
  CHECK(text.out.find("5 tokens in " + db + "; 1 signing key captured") != std::string::npos);
  CHECK(text.out.find("expired 45 min before the request") != std::string::npos);
  // No raw secret reached the store.
  CHECK(text.out.find(at.substr(at.rfind('.') + 1)) == std::string::npos);

  auto missing = run({"tokens", "--db", (dir.path / "nope.db").string()});
  CHECK(missing.code == kExitFailure);
}

namespace {

Flow keys_flow(const SigningKey& key) {
  Flow f = make_flow("GET", "https://login.microsoftonline.com/common/discovery/v2.0/keys");
  set_response(f, 200, {{"Content-Type", "application/json"}}, key.jwks().dump());
  f.id = 0;
  return f;
}

Flow arm_flow(const std::string& token) {
  Flow f = make_flow("GET", "https://management.azure.com/subscriptions?api-version=2022-12-01",
                     {{"Authorization", "Bearer " + token}});
  set_response(f, 200, {{"Content-Type", "application/json"}}, R"({"value":[]})");
  f.id = 0;
  return f;
}

// The store as `authscope proxy` opens it: annotate hook (primed with the store's JWKS), then
// redaction, both on the writer thread.
std::unique_ptr<FlowStore> open_capture_store(const std::string& path) {
  SqliteStoreOptions options;
  auto annotator = std::make_shared<FlowAnnotator>(builtin_known_apps());
  cli::install_annotator(options, annotator);
  options.before_write = cli::redact_before_write;
  auto store = open_sqlite_store(path, options);
  REQUIRE(store.ok());
  REQUIRE(cli::prime_annotator(*store.value(), *annotator).ok());
  return std::move(store).value();
}

const nlohmann::json* row_for(const nlohmann::json& rows, int64_t flow, const std::string& location) {
  for (const auto& r : rows) {
    if (r["flow"] == flow && r["location"] == location) return &r;
  }
  return nullptr;
}

std::string tamper(const std::string& token) {
  auto claims = arm_user_claims_v1();
  claims["upn"] = "mallory@contoso.example";
  return token.substr(0, token.find('.') + 1) + base64url_encode(claims.dump()) + token.substr(token.rfind('.'));
}

}  // namespace

TEST_CASE("tokens are verified at capture, before redaction, and read back from the store", "[unit][tokens]") {
  TempDir dir;
  SigningKey key("RS256", "entra-1");
  const std::string at = key.mint(arm_user_claims_v1());
  const std::string signature = at.substr(at.rfind('.') + 1);
  const std::string db = (dir.path / "flows.db").string();
  int64_t good = 0, bad = 0;
  {
    auto store = open_capture_store(db);
    store->enqueue(keys_flow(key));  // the JWKS passes first, as in a real sign-in
    good = store->enqueue(arm_flow(at));
    bad = store->enqueue(arm_flow(tamper(at)));
    REQUIRE(store->flush().ok());

    auto loaded = store->load(good);
    REQUIRE(loaded.ok());
    REQUIRE(loaded->has_value());
    const Flow& f = **loaded;
    // At rest: no signature in the stored header ...
    const std::string stored = *f.request.headers.find("Authorization");
    CHECK(stored.find(signature) == std::string::npos);
    CHECK(stored.find("authscope-redacted") != std::string::npos);
    // ... and yet the stored record says verified, because it was checked before redaction.
    REQUIRE(f.annotations.has_value());
    CHECK(f.annotations->flow_class == "arm:read");
    REQUIRE(f.annotations->tokens.size() == 1);
    CHECK(f.annotations->tokens[0].signature == "verified");
    CHECK(f.annotations->tokens[0].redacted);  // the value at rest is a marker
    CHECK(f.annotations->tokens[0].fingerprint == token_fingerprint(at));
    CHECK(f.annotations->tokens[0].claims_json.find(signature) == std::string::npos);
    auto tampered = store->load(bad);
    CHECK((*tampered)->annotations->tokens.at(0).signature == "bad-signature");
  }

  // `tokens` reads the stored records (recomputing from the redacted rows would say "redacted").
  auto json = run({"tokens", "--db", db, "--json"});
  INFO(json.err);
  REQUIRE(json.code == 0);
  auto rows = nlohmann::json::parse(json.out);
  REQUIRE(rows.size() == 2);
  const auto* good_row = row_for(rows, good, "request.header.Authorization");
  const auto* bad_row = row_for(rows, bad, "request.header.Authorization");
  REQUIRE(good_row);
  REQUIRE(bad_row);
  CHECK((*good_row)["signature"] == "verified");
  CHECK((*good_row)["redacted"] == true);  // as stored: the value at rest is a marker
  CHECK((*good_row)["client_name"] == "Microsoft Azure CLI");
  CHECK((*good_row)["expiry"].get<std::string>().rfind("2024-06-01T11:14:53Z (expires ", 0) == 0);
  CHECK((*bad_row)["signature"] == "bad-signature");
  CHECK((*bad_row)["user"] == "mallory@contoso.example");
  auto text = run({"tokens", "--db", db});
  REQUIRE(text.code == 0);
  CHECK(text.out.find("2 tokens in " + db + "; 1 signing key captured") != std::string::npos);

  // `show` too: the stored class and records.
  auto show = run({"show", std::to_string(good), "--db", db, "--json"});
  INFO(show.err);
  REQUIRE(show.code == 0);
  auto doc = nlohmann::json::parse(show.out);
  CHECK(doc["class"]["kind"] == "arm");
  CHECK(doc["tokens"].at(0)["signature"] == "verified");
  CHECK(doc["tokens"].at(0)["claims"]["upn"] == "ada@contoso.example");
  auto show_text = run({"show", std::to_string(good), "--db", db});
  CHECK(show_text.out.find("signature: verified (checked at capture; removed at rest)") != std::string::npos);
  CHECK(show_text.out.find(signature) == std::string::npos);

  // A later session verifies against the JWKS captured in an earlier one (primed at open).
  auto later_claims = arm_user_claims_v1();
  later_claims["uti"] = "second-session";
  const std::string later = key.mint(later_claims);
  int64_t id = 0;
  {
    auto store = open_capture_store(db);
    id = store->enqueue(arm_flow(later));
    REQUIRE(store->flush().ok());
    CHECK((*store->load(id))->annotations->tokens.at(0).signature == "verified");
  }
  auto again = run({"tokens", "--db", db, "--json"});
  REQUIRE(again.code == 0);
  const auto again_rows = nlohmann::json::parse(again.out);
  const auto* later_row = row_for(again_rows, id, "request.header.Authorization");
  REQUIRE(later_row);
  CHECK((*later_row)["signature"] == "verified");
}

TEST_CASE("tokens on a version-2 store: migrated, backfilled from the raw rows, honest about redaction",
          "[unit][tokens]") {
  TempDir dir;
  SigningKey key("RS256", "entra-1");
  const std::string at = key.mint(arm_user_claims_v1());
  const std::string db = (dir.path / "flows.db").string();
  {
    // Written the way version 2 wrote (redacted, no annotations), then taken back to schema 2.
    SqliteStoreOptions options;
    options.before_write = [](Flow& f) { redact_secrets(f); };
    auto store = open_sqlite_store(db, options);
    REQUIRE(store.ok());
    store.value()->enqueue(keys_flow(key));
    store.value()->enqueue(arm_flow(at));
    REQUIRE(store.value()->flush().ok());
  }
  sqlite3* raw = nullptr;
  REQUIRE(sqlite3_open(db.c_str(), &raw) == SQLITE_OK);
  auto query = [&](const char* sql) {
    sqlite3_stmt* s = nullptr;
    REQUIRE(sqlite3_prepare_v2(raw, sql, -1, &s, nullptr) == SQLITE_OK);
    std::string out;
    if (sqlite3_step(s) == SQLITE_ROW && sqlite3_column_text(s, 0)) out = reinterpret_cast<const char*>(sqlite3_column_text(s, 0));
    sqlite3_finalize(s);
    return out;
  };
  REQUIRE(authscope::testing::back_to_header_rows(raw) == "");
  REQUIRE(sqlite3_exec(raw,
                       "DROP INDEX flows_unannotated; DROP TABLE tokens; DROP TABLE token_docs; "
                       "ALTER TABLE flows DROP COLUMN class; ALTER TABLE flows DROP COLUMN class_detail; "
                       "PRAGMA user_version = 2;",
                       nullptr, nullptr, nullptr) == SQLITE_OK);
  CHECK(query("PRAGMA user_version") == "2");

  auto json = run({"tokens", "--db", db, "--json"});
  INFO(json.err);
  REQUIRE(json.code == 0);
  auto rows = nlohmann::json::parse(json.out);
  REQUIRE(rows.size() == 1);
  CHECK(rows[0]["flow"] == 2);
  CHECK(rows[0]["signature"] == "redacted");  // stripped before this version could check it
  CHECK(rows[0]["client_name"] == "Microsoft Azure CLI");
  CHECK(query("PRAGMA user_version") == "4");
  CHECK(query("SELECT count(*) FROM flows WHERE class IS NULL") == "0");
  CHECK(query("SELECT class FROM flows WHERE id = 1") == "jwks");
  CHECK(query("SELECT class FROM flows WHERE id = 2") == "arm:read");
  CHECK(query("SELECT signature FROM tokens WHERE flow_id = 2") == "redacted");
  sqlite3_close(raw);
}

TEST_CASE("decode, tokens and show take known-apps names from --rules DIR", "[unit][tokens]") {
  TempDir dir;
  auto known = nlohmann::json::parse(std::ifstream(default_rules_dir() + "/known-apps.json"));
  known["clients"][kAzureCli] = "Contoso Custom CLI";
  std::filesystem::create_directories(dir.path / "rules");
  std::ofstream(dir.path / "rules" / "known-apps.json") << known.dump(2);
  const std::string rules = (dir.path / "rules").string();

  SigningKey key("RS256", "kid-1");
  const std::string token = key.mint(arm_user_claims_v1());
  auto builtin = run({"decode", token, "--now", std::to_string(kIat)});
  REQUIRE(builtin.code == 0);
  CHECK(builtin.out.find("Microsoft Azure CLI") != std::string::npos);
  auto custom = run({"decode", token, "--rules", rules, "--now", std::to_string(kIat)});
  INFO(custom.err);
  REQUIRE(custom.code == 0);
  CHECK(custom.out.find("Contoso Custom CLI") != std::string::npos);
  CHECK(custom.out.find("Microsoft Azure CLI") == std::string::npos);
  auto custom_json = run({"decode", token, "--rules", rules, "--json"});
  CHECK(nlohmann::json::parse(custom_json.out)["info"]["client_name"] == "Contoso Custom CLI");

  const std::string db = (dir.path / "flows.db").string();
  {
    auto store = open_capture_store(db);
    store->enqueue(arm_flow(token));
    REQUIRE(store->flush().ok());
  }
  auto tokens = run({"tokens", "--db", db, "--rules", rules, "--json"});
  REQUIRE(tokens.code == 0);
  CHECK(nlohmann::json::parse(tokens.out).at(0)["client_name"] == "Contoso Custom CLI");
  auto show = run({"show", "1", "--db", db, "--rules", rules});
  REQUIRE(show.code == 0);
  CHECK(show.out.find("Contoso Custom CLI") != std::string::npos);

  auto broken = run({"decode", token, "--rules", (dir.path / "nope").string()});
  CHECK(broken.code == kExitFailure);
  CHECK(broken.err.find("nope") != std::string::npos);
}

TEST_CASE("import runs the same hook: a HAR's tokens are verified, then redacted", "[unit][tokens]") {
  TempDir dir;
  SigningKey key("ES256", "ec-1");
  const std::string at = key.mint(arm_user_claims_v1());
  const std::string raw_db = (dir.path / "raw.db").string();
  {
    auto store = open_sqlite_store(raw_db);  // unredacted, no hook: like --keep-secrets elsewhere
    REQUIRE(store.ok());
    store.value()->enqueue(keys_flow(key));
    store.value()->enqueue(arm_flow(at));
    store.value()->enqueue(arm_flow(tamper(at)));
    REQUIRE(store.value()->flush().ok());
  }
  const std::string har = (dir.path / "capture.har").string();
  REQUIRE(run({"export", "--format", "har", "--db", raw_db, "-o", har}).code == 0);
  const std::string db = (dir.path / "imported.db").string();
  auto imported = run({"import", har, "--db", db});
  INFO(imported.err);
  REQUIRE(imported.code == 0);

  SqliteStoreOptions ro;
  ro.read_only = true;
  auto store = open_sqlite_store(db, ro);
  REQUIRE(store.ok());
  auto good = store.value()->load(2);
  REQUIRE(good->has_value());
  CHECK((*good)->request.headers.find("Authorization")->find(at.substr(at.rfind('.') + 1)) == std::string::npos);
  REQUIRE((*good)->annotations.has_value());
  CHECK((*good)->annotations->flow_class == "arm:read");
  CHECK((*good)->annotations->tokens.at(0).signature == "verified");
  CHECK((*good)->annotations->tokens.at(0).redacted);
  CHECK((*store.value()->load(3))->annotations->tokens.at(0).signature == "bad-signature");
  CHECK((*store.value()->load(1))->annotations->flow_class == "jwks");
}
