// The rule pack: loading rules/, loader errors that name the file and the JSON path (and load
// nothing), custom rules dropped into a directory, enable switches and severity overrides.
#include <catch2/catch.hpp>

#include <stdlib.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>

#include "analyzers/rule_pack.h"
#include "flow_builders.h"

using namespace authscope;
using namespace authscope::test;
namespace fs = std::filesystem;

namespace {

// A temporary rules directory, removed at the end of the test.
struct TempRules {
  fs::path dir;
  TempRules() {
    std::string tmpl = (fs::temp_directory_path() / "authscope-rules-XXXXXX").string();
    char* d = mkdtemp(tmpl.data());
    if (!d) throw std::runtime_error("mkdtemp failed");
    dir = d;
  }
  ~TempRules() {
    std::error_code ec;
    fs::remove_all(dir, ec);
  }
  void write(const std::string& rel, const std::string& text) const {
    fs::create_directories((dir / rel).parent_path());
    std::ofstream(dir / rel) << text;
  }
  std::string str() const { return dir.string(); }
};

std::string load_error(const TempRules& t) {
  auto r = load_rule_pack(t.str());
  return r.ok() ? std::string("(loaded)") : r.status().message();
}

}  // namespace

TEST_CASE("the repository's rules/ loads with every built-in rule", "[unit][rules][pack]") {
  auto pack = repo_pack();
  for (const auto& id : builtin_rule_ids()) {
    const RuleSettings* r = pack->rule(id);
    REQUIRE(r != nullptr);
    CHECK(r->enabled);
    CHECK(!r->title.empty());
    CHECK(!r->description.empty());
    CHECK(!r->references.empty());
    CHECK(r->source.find("authscope.json") != std::string::npos);
  }
  CHECK(builtin_rule_ids().size() == 17);
  CHECK(pack->broad_permission("directory.readwrite.all") != nullptr);
  CHECK(pack->broad_permission("Directory.ReadWrite.All")->tier == 0);
  CHECK(pack->broad_permission("User.Read.All")->tier == 2);
  CHECK(pack->known.client_name(kAzureCli) != nullptr);
  // The shipped example custom rule loads, disabled.
  REQUIRE(pack->rule("example-graph-mail-send") != nullptr);
  CHECK_FALSE(pack->enabled("example-graph-mail-send"));
  CHECK(default_rules_dir() == std::string(AUTHSCOPE_SOURCE_DIR) + "/rules");
}

TEST_CASE("rule pack loader errors name the file and the JSON path", "[unit][rules][pack]") {
  struct Case {
    const char* file;
    const char* text;
    const char* expected;  // suffix after "<dir>/"
  };
  const Case cases[] = {
      {"custom/x.json",
       R"({"required_engine_version":1,"rules":[{"id":"my-rule","severity":"severe","title":"t","message":"m","match":{"host":"x"}}]})",
       "custom/x.json: /rules/0/severity: expected one of critical|high|medium|low|info"},
      {"pack.json", R"({"required_engine_version":1,"rules":[{"id":"pkce-missin"}]})",
       "pack.json: /rules/0/id: unknown rule id \"pkce-missin\""},
      {"pack.json", R"({"required_engine_version":1,"rules":[{"id":"pkce-missing","enabled":"no"}]})",
       "pack.json: /rules/0/enabled: expected true or false, got string"},
      {"pack.json", R"({"required_engine_version":1,"colour":"red"})", "pack.json: /colour: unknown key"},
      {"pack.json", R"({"rules":[]})", "pack.json: /required_engine_version: missing (required)"},
      {"pack.json", R"({"required_engine_version":2})",
       "pack.json: /required_engine_version: this pack needs rule engine version 2"},
      {"pack.json", R"({"required_engine_version":1,"rules":[{"id":"pkce-missing"},{"id":"pkce-missing"}]})",
       "pack.json: /rules/1/id: rule \"pkce-missing\" is configured twice"},
      {"pack.json", R"({"required_engine_version":1,"parameters":{"clock_skew_seconds":"5"}})",
       "pack.json: /parameters/clock_skew_seconds: expected an integer, got string"},
      {"pack.json", R"({"required_engine_version":1,"lists":{"broad_permissions":[{"name":"X.All","tier":3}]}})",
       "pack.json: /lists/broad_permissions/0/tier: expected an integer from 0 to 2"},
      {"pack.json", R"({"required_engine_version":1, "rules": [)", "pack.json: invalid JSON at byte"},
      {"custom/y.json",
       R"({"required_engine_version":1,"rules":[{"id":"nonce-replay","severity":"low","title":"t","message":"m","match":{"host":"x"}}]})",
       "custom/y.json: /rules/0/id: \"nonce-replay\" is a built-in rule id"},
      {"custom/y.json",
       R"({"required_engine_version":1,"rules":[{"id":"c1","severity":"low","title":"t","message":"{who}","match":{"host":"x"}}]})",
       "custom/y.json: /rules/0/message: unknown placeholder {who}"},
      {"custom/y.json",
       R"({"required_engine_version":1,"rules":[{"id":"c1","severity":"low","title":"t","message":"m","match":{"verb":"GET"}}]})",
       "custom/y.json: /rules/0/match/verb: unknown key"},
      {"custom/y.json",
       R"({"required_engine_version":1,"rules":[{"id":"c1","severity":"low","title":"t","message":"m","match":{"claims":[{"claim":"scp"}]}}]})",
       "custom/y.json: /rules/0/match/claims/0: expected one of present, equals, contains"},
      {"custom/y.json",
       R"({"required_engine_version":1,"rules":[{"id":"c1","severity":"low","title":"t","message":"m","match":{"status":"403"}}]})",
       "custom/y.json: /rules/0/match/status: expected an HTTP status (100-599)"},
  };
  for (const auto& c : cases) {
    TempRules t;
    t.write(c.file, c.text);
    const std::string err = load_error(t);
    INFO(c.file << " " << c.text);
    CHECK(err.rfind(t.str() + "/" + c.expected, 0) == 0);
  }
}

// Regression (fuzz_rule_pack): nlohmann reports a number too large for a double as
// out_of_range.406, not parse_error; the loader caught only parse_error, so one "1e999" in any
// rules file aborted `authscope analyze` with an uncaught exception.
TEST_CASE("a number too large for a double is a load error, not an abort", "[unit][rules][pack]") {
  const std::pair<const char*, const char*> cases[] = {
      {"pack.json", R"({"required_engine_version":1,"parameters":{"clock_skew_seconds":1e999}})"},
      {"pack.json", R"({"required_engine_version":1e400})"},
      {"custom/x.json", R"({"required_engine_version":1,"rules":[{"id":"c1","severity":"low","title":"t",)"
                        R"("message":"m","match":{"status":-4107e548}}]})"},
      {"known-apps.json", R"({"kind":"known-apps","version":1e999})"},
  };
  for (const auto& [file, text] : cases) {
    TempRules t;
    t.write(file, text);
    INFO(file << " " << text);
    Result<std::shared_ptr<const RulePack>> r = Status::Invalid("not loaded");
    REQUIRE_NOTHROW(r = load_rule_pack(t.str()));
    REQUIRE_FALSE(r.ok());
    CHECK(r.status().message().rfind(t.str() + "/" + file + ": ", 0) == 0);
  }
  TempRules t;
  t.write("pack.json", R"({"required_engine_version":1,"parameters":{"clock_skew_seconds":1e999}})");
  CHECK(load_error(t) == t.str() + "/pack.json: invalid JSON: number overflow parsing '1e999'");
}

TEST_CASE("a rules file too large or too deeply nested is refused before it is parsed", "[unit][rules][pack]") {
  TempRules deep;
  deep.write("pack.json", R"({"required_engine_version":1,"description":")" + std::string(40, '[') +
                              R"(","x":)" + std::string(40, '[') + std::string(40, ']') + "}");
  CHECK(load_error(deep) == deep.str() + "/pack.json: JSON nested deeper than 32 levels");
  TempRules ok_depth;  // brackets inside strings do not count
  ok_depth.write("pack.json", R"({"required_engine_version":1,"description":")" + std::string(40, '[') + R"("})");
  CHECK(load_rule_pack(ok_depth.str()).ok());
  TempRules big;
  big.write("pack.json", R"({"required_engine_version":1,"description":")" + std::string(16 * 1024 * 1024, 'x') + R"("})");
  CHECK(load_error(big) == big.str() + "/pack.json: larger than 16 MiB");
}

TEST_CASE("a bad file anywhere loads nothing, and duplicate custom ids across files fail", "[unit][rules][pack]") {
  TempRules t;
  const char* rule = R"({"required_engine_version":1,"rules":[{"id":"dup","severity":"low","title":"t","message":"m","match":{"host":"x"}}]})";
  t.write("custom/a.json", rule);
  t.write("custom/b.json", rule);
  CHECK(load_error(t) == t.str() + "/custom/b.json: /rules/0/id: rule \"dup\" is defined twice");
  TempRules ok;
  ok.write("custom/a.json", rule);
  CHECK(load_rule_pack(ok.str()).ok());
  ok.write("pack.json", R"({"required_engine_version":1,"rules":[{"id":"pkce-missing","severity":"urgent"}]})");
  CHECK(!load_rule_pack(ok.str()).ok());
  CHECK(!load_rule_pack(ok.str() + "/does-not-exist").ok());
}

TEST_CASE("a custom rule dropped into a rules directory fires without recompiling", "[unit][rules][pack][custom]") {
  TempRules t;
  t.write("custom/arm-writes.json", R"JSON({
    "required_engine_version": 1,
    "rules": [{
      "id": "cli-token-arm-write",
      "severity": "low",
      "title": "ARM write with an Azure CLI token",
      "message": "{tool} wrote {method} {path} on {host} as {claim:upn} in {tenant} (status {status})",
      "match": {
        "class": ["arm"],
        "host": "management.*.com",
        "method": ["PUT", "PATCH"],
        "path": "/subscriptions/*/resourceGroups/*",
        "status": [200, 201],
        "headers": [{"name": "x-ms-authorization-auxiliary", "present": false},
                    {"name": "user-agent", "contains": "terraform"}],
        "claims": [{"claim": "appid", "equals": "04b07795-8ddb-461a-bbee-02f9e1bf7b46"},
                   {"claim": "scp", "contains": "user_impersonation"}]
      }
    }]
  })JSON");
  auto pack = load_rule_pack(t.str());
  REQUIRE(pack.ok());
  const std::string cli = make_jwt(arm_claims(kTenantA));
  const std::string other = make_jwt(arm_claims(kTenantA, kThirdPartyApp));
  const std::string rg = "/subscriptions/aaaa/resourceGroups/rg1?api-version=2021-04-01";
  auto fs = run_rules({make_arm_call(1, "PUT", rg, cli, 201), make_arm_call(2, "PUT", rg, other, 201),
                       make_arm_call(3, "GET", rg, cli, 200), make_arm_call(4, "PUT", rg, cli, 201, "{}", std::nullopt, "curl/8.0"),
                       make_arm_call(5, "PUT", rg, cli, 201)},
                      pack.value());
  auto m = of_rule(fs, "cli-token-arm-write");
  REQUIRE(m.size() == 1);
  CHECK(m[0]->severity == Severity::kLow);
  CHECK(m[0]->title == "ARM write with an Azure CLI token");
  CHECK(m[0]->flows == std::vector<int64_t>{1, 5});
  CHECK(m[0]->message == "terraform-provider-azurerm/3.116.0 (Terraform/1.9.5) wrote PUT /subscriptions/aaaa/resourceGroups/rg1 on "
                         "management.azure.com as ada@contoso.example in " + std::string(kTenantA) + " (status 201)");
  CHECK(m[0]->evidence["claims"]["appid"] == kAzureCli);
  // The sparse pack still runs the built-in rules with their compiled defaults.
  REQUIRE(pack.value()->rule("pkce-missing") != nullptr);
  CHECK(pack.value()->enabled("pkce-missing"));
}

TEST_CASE("disabled rules are silent and severity overrides apply", "[unit][rules][pack]") {
  std::vector<Flow> flows = {make_authorize(1, {{"client_id", kThirdPartyApp}, {"response_type", "code"},
                                                {"redirect_uri", "https://app.contoso.example/cb"}, {"scope", "openid"}})};
  auto base = run_rules(flows);
  CHECK(rule_ids(base) == std::set<std::string>{"pkce-missing", "state-missing"});
  CHECK(of_rule(base, "state-missing")[0]->severity == Severity::kMedium);

  TempRules t;
  t.write("pack.json", R"({"required_engine_version":1,"rules":[
      {"id":"pkce-missing","enabled":false},
      {"id":"state-missing","severity":"critical","title":"No state!"}]})");
  auto pack = load_rule_pack(t.str());
  REQUIRE(pack.ok());
  auto fs = run_rules(flows, pack.value());
  REQUIRE(rule_ids(fs) == std::set<std::string>{"state-missing"});
  CHECK(fs[0].severity == Severity::kCritical);
  CHECK(fs[0].title == "No state!");
}

TEST_CASE("glob matching", "[unit][rules][custom]") {
  CHECK(glob_match("*.microsoft.com", "graph.microsoft.com"));
  CHECK(glob_match("*.MICROSOFT.com", "graph.microsoft.com"));
  CHECK_FALSE(glob_match("*.microsoft.com", "microsoft.com"));
  CHECK(glob_match("/v1.0/*/sendMail", "/v1.0/users/abc/sendMail"));
  CHECK(glob_match("a?c", "abc"));
  CHECK_FALSE(glob_match("a?c", "ac"));
  CHECK(glob_match("*", ""));
  CHECK_FALSE(glob_match("/V1.0/*", "/v1.0/x", false));
}
