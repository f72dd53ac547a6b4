// Authorization-code family: pkce-*, state-*, nonce-*, implicit-grant, over realistic Entra
// sign-ins (v2 and v1 endpoints, MSAL-shaped parameters), each with traffic that fires the rule
// and nearby traffic that must not.
#include <catch2/catch.hpp>

#include "analyzers/redact.h"
#include "flow_builders.h"

using namespace authscope;
using namespace authscope::test;

namespace {

// RFC 7636 Appendix B.
const std::string kVerifier = "dBjftJeZ4CVP-mB92K27uhbUJU1p1r_wW1gFWFOEjXk";
const std::string kChallenge = "E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM";
const std::string kApp = kThirdPartyApp;
const std::string kRedirect = "https://app.contoso.example/auth/callback";

struct SignIn {
  std::string state = "st-8f2a1c";
  std::optional<std::string> nonce = std::string("n-5d9e");
  std::optional<std::string> challenge = kChallenge;
  std::optional<std::string> method = std::string("S256");
  std::string verifier = kVerifier;
  bool send_verifier = true;
  std::string redirect_state;  // "" = echo state
  std::string id_token_nonce;  // "" = echo nonce
  std::string response_type = "code";
  std::string client = kApp;
  std::string code = "0.AXcAv4j5cvGGr0GRqy180BHbR-code-1";
};

// authorize -> login POST answered 302 -> browser delivers code to the app -> redemption -> Graph.
std::vector<Flow> sign_in(const SignIn& s, int64_t base = 1) {
  Params p = {{"client_id", s.client},
              {"response_type", s.response_type},
              {"redirect_uri", kRedirect},
              {"scope", "openid profile offline_access https://graph.microsoft.com/User.Read"},
              {"response_mode", "query"}};
  if (!s.state.empty()) p.push_back({"state", s.state});
  if (s.nonce) p.push_back({"nonce", *s.nonce});
  if (s.challenge) p.push_back({"code_challenge", *s.challenge});
  if (s.method) p.push_back({"code_challenge_method", *s.method});
  p.push_back({"client_info", "1"});
  std::vector<Flow> flows;
  flows.push_back(make_authorize(base, p));
  const std::string rstate = s.redirect_state.empty() ? s.state : s.redirect_state;
  const std::string q = "?code=" + url_encode(s.code) + (rstate.empty() ? "" : "&state=" + url_encode(rstate)) +
                        "&session_state=abc";
  Flow login = make_flow(base + 1, "POST", kLogin, "/common/login");
  set_form_body(login, {{"login", "ada@contoso.example"}, {"ctx", "rQQIARAA"}, {"flowToken", "AQAB"}});
  set_response(login, 302);
  login.response->headers.add("Location", kRedirect + q);
  flows.push_back(login);
  flows.push_back(make_redirect_request(base + 2, "app.contoso.example", "/auth/callback" + q));
  Params t = {{"client_id", s.client},
              {"grant_type", "authorization_code"},
              {"code", s.code},
              {"redirect_uri", kRedirect},
              {"scope", "openid profile offline_access https://graph.microsoft.com/User.Read"}};
  if (s.send_verifier) t.push_back({"code_verifier", s.verifier});
  const std::string at = make_jwt(graph_claims(kTenantA, s.client, "User.Read openid profile email"));
  const std::string idt = make_jwt(id_token_claims(
      kTenantA, s.client, s.id_token_nonce.empty() ? s.nonce.value_or("") : s.id_token_nonce));
  flows.push_back(make_token_request(base + 3, t, token_response(at, idt, "https://graph.microsoft.com/User.Read")));
  Flow me = make_flow(base + 4, "GET", kGraph, "/v1.0/me");
  me.request.headers.add("Authorization", "Bearer " + at);
  set_response(me, 200, R"({"displayName":"Ada"})", "application/json");
  flows.push_back(me);
  return flows;
}

}  // namespace

TEST_CASE("clean auth code + PKCE S256 + state + nonce sign-in and token use gives no findings", "[unit][rules]") {
  auto flows = sign_in(SignIn{});
  auto fs = run_rules(flows);
  INFO(dump_findings(fs));
  CHECK(fs.empty());
}

TEST_CASE("RFC 7636 appendix B: S256 of the verifier is the challenge", "[unit][rules][pkce]") {
  CHECK(verifier_s256(kVerifier).value_or("") == kChallenge);
  CHECK(base64url_encode(sha256_bytes(kVerifier)) == kChallenge);
}

TEST_CASE("pkce-missing: authorization request without code_challenge", "[unit][rules][pkce]") {
  SignIn s;
  s.challenge.reset();
  s.method.reset();
  s.send_verifier = false;
  auto fs = run_rules(sign_in(s));
  auto m = of_rule(fs, "pkce-missing");
  REQUIRE(m.size() == 1);  // request and its redemption are one exchange, one finding
  CHECK(m[0]->severity == Severity::kHigh);
  CHECK(m[0]->flows == std::vector<int64_t>{1, 2, 3, 4});
  CHECK(m[0]->message.find(kApp) != std::string::npos);
  CHECK(m[0]->message.find("S256") != std::string::npos);
  CHECK(m[0]->evidence["client_id"] == kApp);
  CHECK(rule_ids(fs) == std::set<std::string>{"pkce-missing"});
}

TEST_CASE("pkce-missing: code redemption without code_verifier", "[unit][rules][pkce]") {
  SignIn s;
  s.send_verifier = false;
  auto fs = run_rules(sign_in(s));
  auto m = of_rule(fs, "pkce-missing");
  REQUIRE(m.size() == 1);
  CHECK(m[0]->flows == std::vector<int64_t>{4});
  CHECK(m[0]->evidence["challenge_sent"] == true);
}

TEST_CASE("pkce-missing does not fire on client credentials, refresh or device code", "[unit][rules][pkce]") {
  std::vector<Flow> flows;
  flows.push_back(make_token_request(1, {{"client_id", kApp}, {"grant_type", "client_credentials"},
                                         {"client_secret", "s3cr3t"}, {"scope", "https://management.azure.com/.default"}},
                                     token_response(make_jwt(arm_claims(kTenantA, kApp)))));
  flows.push_back(make_token_request(2, {{"client_id", kAzureCli}, {"grant_type", "refresh_token"},
                                         {"refresh_token", "0.AAA-rt"}, {"scope", "https://management.core.windows.net//.default"}},
                                     token_response(make_jwt(arm_claims(kTenantA)))));
  flows.push_back(make_token_request(3, {{"client_id", kAzureCli},
                                         {"grant_type", "urn:ietf:params:oauth:grant-type:device_code"},
                                         {"device_code", "DAQABAAEAAAD"}},
                                     token_response(make_jwt(arm_claims(kTenantA)))));
  auto fs = run_rules(flows);
  INFO(dump_findings(fs));
  CHECK(fs.empty());
}

TEST_CASE("pkce-plain: method plain, and a challenge with no method", "[unit][rules][pkce]") {
  SignIn plain;
  plain.method = std::string("plain");
  plain.challenge = kVerifier;  // plain: challenge == verifier, so no mismatch either
  auto fs = run_rules(sign_in(plain));
  REQUIRE(of_rule(fs, "pkce-plain").size() == 1);
  CHECK(of_rule(fs, "pkce-mismatch").empty());
  CHECK(of_rule(fs, "pkce-plain")[0]->message.find("code_challenge_method=plain") != std::string::npos);

  SignIn absent;
  absent.method.reset();
  absent.challenge = kVerifier;
  fs = run_rules(sign_in(absent));
  REQUIRE(of_rule(fs, "pkce-plain").size() == 1);
  CHECK(of_rule(fs, "pkce-plain")[0]->message.find("which means plain") != std::string::npos);
  CHECK(of_rule(fs, "pkce-mismatch").empty());
}

TEST_CASE("pkce-mismatch: verifier whose S256 is not the challenge", "[unit][rules][pkce]") {
  SignIn s;
  s.verifier = "another-verifier-from-a-parallel-login-0123456789abc";
  auto fs = run_rules(sign_in(s));
  auto m = of_rule(fs, "pkce-mismatch");
  REQUIRE(m.size() == 1);
  CHECK(m[0]->flows == std::vector<int64_t>{1, 2, 3, 4});
  CHECK(m[0]->evidence["code_challenge"] == kChallenge);
  CHECK(rule_ids(fs) == std::set<std::string>{"pkce-mismatch"});

  SignIn plain_bad;
  plain_bad.method = std::string("plain");
  plain_bad.challenge = kVerifier;
  plain_bad.verifier = kChallenge;  // S256 value sent where plain expects the verifier itself
  fs = run_rules(sign_in(plain_bad));
  CHECK(of_rule(fs, "pkce-mismatch").size() == 1);
}

TEST_CASE("pkce-mismatch links the redemption by S256 when the redirect was not captured", "[unit][rules][pkce]") {
  SignIn s;
  auto flows = sign_in(s);
  flows.erase(flows.begin() + 1, flows.begin() + 3);  // drop login 302 and the browser redirect
  CHECK(run_rules(flows).empty());
}

TEST_CASE("state-missing and state-mismatch", "[unit][rules][state]") {
  SignIn none;
  none.state = "";
  auto fs = run_rules(sign_in(none));
  REQUIRE(of_rule(fs, "state-missing").size() == 1);
  CHECK(of_rule(fs, "state-missing")[0]->flows == std::vector<int64_t>{1});
  CHECK(of_rule(fs, "state-mismatch").empty());

  SignIn forged;
  forged.redirect_state = "st-attacker";
  fs = run_rules(sign_in(forged));
  auto m = of_rule(fs, "state-mismatch");
  REQUIRE(m.size() == 1);
  CHECK(m[0]->evidence["request_state"] == "st-8f2a1c");
  CHECK(m[0]->evidence["response_state"] == "st-attacker");
  CHECK(m[0]->flows == std::vector<int64_t>{1, 2, 3});
  CHECK(rule_ids(fs) == std::set<std::string>{"state-mismatch"});
}

TEST_CASE("state-mismatch on Entra's direct 302 (SSO) and silence when states match", "[unit][rules][state]") {
  Params p = {{"client_id", kApp}, {"response_type", "code"}, {"redirect_uri", kRedirect},
              {"scope", "openid"}, {"state", "abc"}, {"nonce", "n1"}, {"code_challenge", kChallenge},
              {"code_challenge_method", "S256"}, {"prompt", "none"}};
  auto fs = run_rules({make_authorize(1, p, "common", kRedirect + "?code=C1&state=abc")});
  CHECK(fs.empty());
  fs = run_rules({make_authorize(1, p, "common", kRedirect + "?code=C1&state=xyz")});
  CHECK(of_rule(fs, "state-mismatch").size() == 1);
  // An error response without state to a request that sent one is a mismatch too.
  fs = run_rules({make_authorize(1, p, "common", kRedirect + "?error=login_required")});
  CHECK(of_rule(fs, "state-mismatch").size() == 1);
}

TEST_CASE("nonce-missing: ID token requested from the authorization endpoint without nonce", "[unit][rules][nonce]") {
  Params p = {{"client_id", kApp}, {"response_type", "id_token"}, {"redirect_uri", kRedirect},
              {"scope", "openid profile"}, {"state", "s1"}, {"response_mode", "form_post"}};
  auto fs = run_rules({make_authorize(1, p)});
  CHECK(of_rule(fs, "nonce-missing").size() == 1);
  CHECK(of_rule(fs, "implicit-grant").size() == 1);

  // Code flow: nonce is OPTIONAL (OIDC Core 3.1.2.1).
  SignIn code_only;
  code_only.nonce.reset();
  fs = run_rules(sign_in(code_only));
  INFO(dump_findings(fs));
  CHECK(fs.empty());
}

TEST_CASE("nonce-mismatch: ID token nonce differs from the request", "[unit][rules][nonce]") {
  SignIn s;
  s.id_token_nonce = "n-other";
  auto fs = run_rules(sign_in(s));
  auto m = of_rule(fs, "nonce-mismatch");
  REQUIRE(m.size() == 1);
  CHECK(m[0]->flows == std::vector<int64_t>{1, 4});
  CHECK(m[0]->evidence["request_nonce"] == "n-5d9e");
  CHECK(m[0]->evidence["id_token_nonce"] == "n-other");
  CHECK(rule_ids(fs) == std::set<std::string>{"nonce-mismatch"});
}

TEST_CASE("nonce-replay: one nonce in two authorization requests, a reloaded request is not a replay",
          "[unit][rules][nonce]") {
  SignIn first;
  SignIn second;
  second.state = "st-second";
  second.code = "0.second-code";
  auto flows = sign_in(first, 1);
  for (auto& f : sign_in(second, 10)) flows.push_back(f);
  auto fs = run_rules(flows);
  auto m = of_rule(fs, "nonce-replay");
  REQUIRE(m.size() == 1);
  CHECK(m[0]->evidence["requests"] == 2);
  CHECK(m[0]->flows.front() == 1);
  CHECK(std::find(m[0]->flows.begin(), m[0]->flows.end(), 10) != m[0]->flows.end());

  // Entra's sso_reload re-sends the identical request: same state, nonce and challenge.
  auto reload = sign_in(first, 1);
  Flow again = reload[0];
  again.id = 20;
  again.request.target += "&sso_reload=true";
  std::vector<Flow> with_reload = {reload[0], again};
  for (size_t i = 1; i < reload.size(); ++i) {
    Flow f = reload[i];
    f.id += 20;
    with_reload.push_back(f);
  }
  fs = run_rules(with_reload);
  INFO(dump_findings(fs));
  CHECK(fs.empty());
}

TEST_CASE("nonce-replay: one ID token presented twice to the redirect URI", "[unit][rules][nonce]") {
  const std::string idt = make_jwt(id_token_claims(kTenantA, kApp, "n-77"));
  Params p = {{"client_id", kApp}, {"response_type", "code id_token"}, {"redirect_uri", kRedirect},
              {"scope", "openid"}, {"state", "s9"}, {"nonce", "n-77"}, {"response_mode", "form_post"},
              {"code_challenge", kChallenge}, {"code_challenge_method", "S256"}};
  auto post = [&](int64_t id) {
    Flow f = make_flow(id, "POST", "app.contoso.example", "/auth/callback");
    set_form_body(f, {{"code", "C-77"}, {"id_token", idt}, {"state", "s9"}});
    set_response(f, 302);
    return f;
  };
  auto fs = run_rules({make_authorize(1, p), post(2)});
  INFO(dump_findings(fs));
  CHECK(fs.empty());
  fs = run_rules({make_authorize(1, p), post(2), post(3)});
  auto m = of_rule(fs, "nonce-replay");
  REQUIRE(m.size() == 1);
  CHECK(m[0]->flows == std::vector<int64_t>{2, 3});
}

TEST_CASE("implicit-grant: token response types and tokens in the URL", "[unit][rules][implicit]") {
  Params p = {{"client_id", kApp}, {"response_type", "id_token token"}, {"redirect_uri", kRedirect},
              {"scope", "openid https://graph.microsoft.com/User.Read"}, {"state", "s"}, {"nonce", "n"}};
  const std::string at = make_jwt(graph_claims(kTenantA, kApp, "User.Read"));
  auto fs = run_rules({make_authorize(1, p, "common", kRedirect + "#access_token=" + at + "&state=s")});
  auto m = of_rule(fs, "implicit-grant");
  REQUIRE(m.size() == 1);
  CHECK(m[0]->evidence["response_type"] == "id_token token");
  CHECK(of_rule(fs, "token-in-url").empty());  // the fragment is the implicit grant's, reported once

  // A tokens-in-URL redirect whose request was not captured is still reported.
  Flow login = make_flow(1, "POST", kLogin, "/common/login");
  set_response(login, 302);
  login.response->headers.add("Location", kRedirect + "#access_token=" + at + "&state=s");
  fs = run_rules({login});
  CHECK(of_rule(fs, "implicit-grant").size() == 1);

  // Hybrid "code id_token" is not implicit.
  Params hybrid = p;
  hybrid[1].second = "code id_token";
  hybrid.push_back({"code_challenge", kChallenge});
  hybrid.push_back({"code_challenge_method", "S256"});
  fs = run_rules({make_authorize(1, hybrid)});
  CHECK(fs.empty());
}

TEST_CASE("v1 endpoint authorization request without PKCE is judged like v2", "[unit][rules][pkce]") {
  Params p = {{"client_id", kApp}, {"response_type", "code"}, {"redirect_uri", kRedirect},
              {"resource", "https://management.core.windows.net/"}, {"state", "s"}};
  auto fs = run_rules({make_authorize(1, p, kTenantA, std::nullopt, true)});
  REQUIRE(of_rule(fs, "pkce-missing").size() == 1);
  CHECK(of_rule(fs, "pkce-missing")[0]->evidence["tenant"] == kTenantA);
}

TEST_CASE("exchanges link authorize, redirect, redemption and token use", "[unit][rules][exchanges]") {
  Analysis a(repo_pack());
  for (const auto& f : sign_in(SignIn{})) a.add(f);
  auto ex = a.exchanges();
  REQUIRE(ex.size() == 1);
  std::vector<int64_t> flows;
  for (const auto& s : ex[0].steps) flows.push_back(s.flow);
  CHECK(flows == std::vector<int64_t>{1, 2, 3, 4, 4, 5, 5});
  CHECK(ex[0].participants.front() == "Client");
  CHECK(std::find(ex[0].participants.begin(), ex[0].participants.end(), std::string(kGraph)) !=
        ex[0].participants.end());
  CHECK(ex[0].steps[0].label.find("PKCE S256") != std::string::npos);
}
