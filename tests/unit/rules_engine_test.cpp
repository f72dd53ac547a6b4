// Engine properties: the contract's findings JSON, redacted-vs-raw and live-vs-batch
// equivalence, determinism, and analysis of 100,000 flows.
#include <catch2/catch.hpp>

#include <chrono>
#include <ctime>
#include <fstream>

#include "analyzers/findings_json.h"
#include "analyzers/redact.h"
#include "flow_builders.h"

using namespace authscope;
using namespace authscope::test;

namespace {

const std::string kChallenge = "E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM";
const std::string kRedirect = "https://app.contoso.example/cb";

// One flow set that fires most rules: PKCE mismatch, state/nonce problems, aux problems,
// expired and misdirected tokens, ROPC, token in URL, cleartext, over-broad app roles.
std::vector<Flow> mixed_corpus() {
  std::vector<Flow> v;
  int64_t id = 1;
  const std::string code = "0.AXcA-code-mixed";
  v.push_back(make_authorize(id++, {{"client_id", kThirdPartyApp}, {"response_type", "code"}, {"redirect_uri", kRedirect},
                                    {"scope", "openid https://graph.microsoft.com/Directory.ReadWrite.All"},
                                    {"state", "s1"}, {"nonce", "n1"}, {"code_challenge", kChallenge},
                                    {"code_challenge_method", "S256"}},
                             "organizations", kRedirect + "?code=" + code + "&state=s1"));
  v.push_back(make_redirect_request(id++, "app.contoso.example", "/cb?code=" + code + "&state=s1"));
  const std::string idt = make_jwt(id_token_claims(kTenantA, kThirdPartyApp, "n-wrong"));
  const std::string at = make_jwt(graph_claims(kTenantA, kThirdPartyApp, "Directory.ReadWrite.All User.Read"));
  v.push_back(make_token_request(id++, {{"client_id", kThirdPartyApp}, {"grant_type", "authorization_code"}, {"code", code},
                                        {"redirect_uri", kRedirect}, {"code_verifier", "wrong-verifier-0123456789-0123456789-abcdef"}},
                                 token_response(at, idt)));
  v.push_back(make_authorize(id++, {{"client_id", kThirdPartyApp}, {"response_type", "code"}, {"redirect_uri", kRedirect},
                                    {"scope", "openid"}, {"nonce", "n1"}}));
  const std::string a = make_jwt(arm_claims(kTenantA, kAzureCli, kT0 + 40));
  const std::string b = make_jwt(arm_claims(kTenantB));
  v.push_back(make_token_request(id++, {{"client_id", kAzureCli}, {"grant_type", "refresh_token"}, {"refresh_token", "0.AAA-rt-1"},
                                        {"scope", "https://management.azure.com//.default"}},
                                 token_response(b), kTenantB));
  v.push_back(make_arm_call(id++, "PUT", "/subscriptions/aaaa/resourceGroups/rg/providers/Microsoft.Network/networkInterfaces/n?api-version=1",
                            a, 403, laf_cross_tenant_body(kTenantA, "bbbb")));
  v.push_back(make_arm_call(id++, "PUT", "/subscriptions/aaaa/resourceGroups/rg?api-version=1", a, 201, "{}",
                            "Bearer " + a + ";Bearer " + b));
  v.push_back(make_arm_call(id++, "GET", "/v1.0/me", at, 200, "{}", std::nullopt, "python-requests/2.31.0", kArm));
  v.push_back(make_token_request(id++, {{"client_id", kThirdPartyApp}, {"grant_type", "password"}, {"username", "ada@contoso.example"},
                                        {"password", "P@ss"}, {"client_secret", "shh-secret"}},
                                 token_response(make_jwt(graph_app_claims(kTenantA, kThirdPartyApp, {"Mail.Send"}))), kTenantA));
  Flow url = make_flow(id++, "GET", "api.contoso.example", "/x?access_token=" + at);
  set_response(url, 200, "{}", "application/json");
  v.push_back(url);
  Flow clear = make_flow(id++, "POST", "api.contoso.example", "/token", "http");
  set_form_body(clear, {{"client_id", "x"}, {"client_secret", "plain-secret"}, {"grant_type", "client_credentials"}});
  set_response(clear, 200, token_response(at).dump(), "application/json");
  v.push_back(clear);
  v.push_back(make_arm_call(120, "GET", "/subscriptions?api-version=1", a, 401));
  return v;
}

}  // namespace

TEST_CASE("the mixed corpus fires the rules it was built for", "[unit][rules][engine]") {
  auto fs = run_rules(mixed_corpus());
  INFO(dump_findings(fs));
  const std::set<std::string> expected = {"aux-header-invalid", "aux-header-missing", "cleartext-credentials", "nonce-mismatch",
                                          "nonce-replay", "pkce-mismatch", "pkce-missing", "ropc-grant", "scope-overbroad",
                                          "state-missing", "token-audience-mismatch", "token-expired", "token-in-url"};
  CHECK(rule_ids(fs) == expected);
  CHECK(std::is_sorted(fs.begin(), fs.end(), finding_less));
}

TEST_CASE("findings JSON has the contract's shape and key order", "[unit][rules][json]") {
  Finding f;
  f.rule = "pkce-missing";
  f.severity = Severity::kHigh;
  f.title = "Authorization code flow without PKCE";
  f.message = "client x started an authorization code flow with no code_challenge";
  f.flows = {3, 5};
  f.evidence["client_id"] = "x";
  Finding g = f;
  g.rule = "aux-header-missing";
  g.flows = {9};
  const auto doc = findings_document(42, {f, g});
  CHECK(doc.dump() ==
        R"({"version":1,"flows":42,"findings":[)"
        R"({"rule":"aux-header-missing","severity":"high","title":"Authorization code flow without PKCE","message":"client x started an authorization code flow with no code_challenge","flows":[9],"evidence":{"client_id":"x"}},)"
        R"({"rule":"pkce-missing","severity":"high","title":"Authorization code flow without PKCE","message":"client x started an authorization code flow with no code_challenge","flows":[3,5],"evidence":{"client_id":"x"}}]})");
  CHECK(findings_document(0, {}).dump() == R"({"version":1,"flows":0,"findings":[]})");

  // Every finding of the engine serializes with exactly these keys, in this order.
  auto fs = run_rules(mixed_corpus());
  auto d = findings_document(mixed_corpus().size(), fs);
  REQUIRE(d["findings"].size() == fs.size());
  for (const auto& j : d["findings"]) {
    std::vector<std::string> keys;
    for (auto it = j.begin(); it != j.end(); ++it) keys.push_back(it.key());
    CHECK(keys == std::vector<std::string>{"rule", "severity", "title", "message", "flows", "evidence"});
    CHECK(severity_from_string(j["severity"].get<std::string>()).has_value());
    CHECK(j["flows"].is_array());
    CHECK(j["evidence"].is_object());
    CHECK(!j["message"].get<std::string>().empty());
  }
}

TEST_CASE("redacted flows give the same findings as raw flows", "[unit][rules][redact]") {
  auto raw = mixed_corpus();
  auto redacted = raw;
  for (auto& f : redacted) redact_secrets(f);
  // Redaction really happened (no raw verifier, password or secret remains).
  for (const auto& f : redacted) {
    const std::string all = f.request.target + (f.request.body.data ? *f.request.body.data : "");
    CHECK(all.find("wrong-verifier-0123456789") == std::string::npos);
    CHECK(all.find("P@ss") == std::string::npos);
    CHECK(all.find("shh-secret") == std::string::npos);
  }
  const auto a = run_rules(raw);
  const auto b = run_rules(redacted);
  CHECK(!a.empty());
  CHECK(dump_findings(a) == dump_findings(b));
}

TEST_CASE("live findings after each add equal a fresh analysis of the same flows", "[unit][rules][live]") {
  auto flows = mixed_corpus();
  Analysis live(repo_pack());
  std::vector<Flow> prefix;
  for (const auto& f : flows) {
    live.add(f);
    prefix.push_back(f);
    CHECK(dump_findings(live.findings()) == dump_findings(run_rules(prefix)));
    CHECK(live.flows_seen() == prefix.size());
  }
  // Deterministic: twice the same input, byte-identical output.
  CHECK(findings_document(flows.size(), run_rules(flows)).dump() == findings_document(flows.size(), run_rules(flows)).dump());
}

TEST_CASE("tunnels and malformed traffic are ignored without errors", "[unit][rules][engine]") {
  Flow tunnel;
  tunnel.id = 1;
  tunnel.kind = FlowKind::kTunnel;
  tunnel.scheme = "tunnel";
  tunnel.host = "example.org";
  tunnel.port = 443;
  Flow junk = make_flow(2, "POST", kLogin, "/common/oauth2/v2.0/token");
  junk.request.headers.add("Content-Type", "application/x-www-form-urlencoded");
  junk.request.body.data = std::string("\xff\xfe%%%&&==grant_type=authorization_code&code");  // 43 bytes, no NUL
  set_response(junk, 200, "{not json", "application/json");
  Flow bad_bearer = make_arm_call(3, "GET", "/subscriptions", "eyJ.broken.token");
  Flow no_resp = make_arm_call(4, "PUT", "/subscriptions/x/resourceGroups/y", make_jwt(arm_claims(kTenantA)));
  no_resp.response.reset();
  auto fs = run_rules({tunnel, junk, bad_bearer, no_resp});
  for (const auto& f : fs) CHECK(f.rule == "pkce-missing");  // the redemption has no verifier
}

TEST_CASE("100,000 flows analyze in seconds with memory bounded by exchanges", "[unit][rules][scale]") {
  // A Terraform-like run: 1,000 token requests (5 tenants), 1,000 sign-ins, and ARM reads and
  // writes reusing the tokens: 100,000 flows.
  const size_t kFlows = 100000;
  std::vector<std::string> tokens;
  for (int i = 0; i < 50; ++i) {
    tokens.push_back(make_jwt(arm_claims(i % 5 == 0 ? kTenantA : kTenantB, kAzureCli, kT0 + 200000 + i)));
  }
  std::vector<Flow> flows;
  flows.reserve(kFlows);
  int64_t id = 1;
  while (flows.size() < kFlows) {
    const size_t n = flows.size();
    if (n % 100 == 0) {
      flows.push_back(make_token_request(id++, {{"client_id", kAzureCli}, {"grant_type", "refresh_token"},
                                                {"refresh_token", "0.rt"}, {"scope", "https://management.azure.com//.default"}},
                                         token_response(tokens[(n / 100) % tokens.size()])));
    } else if (n % 100 == 1) {
      flows.push_back(make_authorize(id++, {{"client_id", kThirdPartyApp}, {"response_type", "code"}, {"redirect_uri", kRedirect},
                                            {"scope", "openid"}, {"state", "s" + std::to_string(n)}, {"nonce", "n" + std::to_string(n)},
                                            {"code_challenge", kChallenge}, {"code_challenge_method", "S256"}},
                                     "organizations", kRedirect + "?code=c" + std::to_string(n) + "&state=s" + std::to_string(n)));
    } else {
      const bool write = n % 10 == 3;
      std::string body(400, 'x');
      flows.push_back(make_arm_call(id++, write ? "PUT" : "GET",
                                    "/subscriptions/aaaa/resourceGroups/rg" + std::to_string(n % 97) + "?api-version=2021-04-01",
                                    tokens[n % tokens.size()], write ? 201 : 200, "{\"id\":\"" + body + "\"}"));
    }
  }
  auto rss_kib = [] {
    std::ifstream in("/proc/self/status");
    std::string line;
    while (std::getline(in, line)) {
      if (line.rfind("VmRSS:", 0) == 0) return std::stol(line.substr(6));
    }
    return 0L;
  };
  const long rss_before = rss_kib();
  // CPU time of this process (the machine running the tests may be shared), and wall time.
  const std::clock_t cpu_start = std::clock();
  const auto start = std::chrono::steady_clock::now();
  Analysis a(repo_pack());
  for (const auto& f : flows) a.add(f);
  auto fs = a.findings();
  const double wall = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  const double secs = static_cast<double>(std::clock() - cpu_start) / CLOCKS_PER_SEC;
  WARN("analyzed " << flows.size() << " flows in " << secs << " s CPU (" << wall << " s wall), " << fs.size()
                   << " findings, " << a.exchanges().size() << " exchanges, RSS +" << (rss_kib() - rss_before) / 1024
                   << " MiB for the events (the flows themselves hold " << flows.size() * 2 / 1024 << "+ MiB of bodies and tokens)");
  CHECK(a.flows_seen() == kFlows);
  for (const auto& f : fs) CHECK(f.flows.size() <= 100);  // bounded per finding
#ifdef NDEBUG
  CHECK(secs < 5.0);
#else
  CHECK(secs < 60.0);  // unoptimized builds: the 5 s budget is checked in release builds
#endif
}
