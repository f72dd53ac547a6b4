// `authscope decode` and `authscope tokens` run in-process through run_cli, against tokens
// minted here and a real SQLite store in a temporary directory.
#include <catch2/catch.hpp>

#include <unistd.h>

#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <sstream>

#include "analyzers/redact.h"
#include "cli/cli.h"
#include "storage/flow_store.h"
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
