// Token-use and transport rules: token-expired, token-audience-mismatch, scope-overbroad,
// token-in-url, cleartext-credentials, ropc-grant.
#include <catch2/catch.hpp>

#include "flow_builders.h"

using namespace authscope;
using namespace authscope::test;

TEST_CASE("token-expired compares exp with the request time, not the clock", "[unit][rules][expiry]") {
  const std::string t = make_jwt(arm_claims(kTenantA, kAzureCli, kT0 + 50));
  auto fs = run_rules({make_arm_call(10, "GET", "/subscriptions?api-version=2022-12-01", t),
                       make_arm_call(100, "GET", "/subscriptions?api-version=2022-12-01", t, 401,
                                     R"({"error":{"code":"ExpiredAuthenticationToken"}})"),
                       make_arm_call(200, "GET", "/subscriptions?api-version=2022-12-01", t, 401)});
  auto m = of_rule(fs, "token-expired");
  REQUIRE(m.size() == 1);
  CHECK(m[0]->flows == std::vector<int64_t>{100, 200});
  CHECK(m[0]->message.find("expired") != std::string::npos);
  CHECK(m[0]->message.find("before the request") != std::string::npos);
  CHECK(m[0]->evidence["exp"] == "2026-01-01T00:00:50Z");
  CHECK(rule_ids(fs) == std::set<std::string>{"token-expired"});
}

TEST_CASE("token-audience-mismatch, with ARM aliases and app ids naming their resource", "[unit][rules][audience]") {
  const std::string graph = make_jwt(graph_claims(kTenantA, kThirdPartyApp, "User.Read"));
  auto fs = run_rules({make_arm_call(1, "GET", "/subscriptions?api-version=2022-12-01", graph)});
  auto m = of_rule(fs, "token-audience-mismatch");
  REQUIRE(m.size() == 1);
  CHECK(m[0]->evidence["host"] == kArm);
  CHECK(m[0]->message.find("Microsoft Graph") != std::string::npos);

  // Aliases: ARM accepts both URIs, and the ARM app id as aud.
  const std::string alias = make_jwt(arm_claims(kTenantA, kAzureCli, kT0 + 3600, "https://management.core.windows.net/"));
  const std::string guid = make_jwt(arm_claims(kTenantA, kAzureCli, kT0 + 3600, test::kArmAppId));
  const std::string graph_guid = make_jwt(nlohmann::json{{"aud", test::kGraphAppId}, {"tid", kTenantA}, {"exp", kT0 + 3600},
                                                         {"scp", "User.Read"}, {"azp", kThirdPartyApp}, {"ver", "2.0"}});
  Flow me = make_flow(4, "GET", kGraph, "/v1.0/me");
  me.request.headers.add("Authorization", "Bearer " + graph_guid);
  set_response(me, 200, "{}", "application/json");
  // A custom API's token to its own host: its aud names no host authscope knows, so not judged.
  Flow api = make_flow(5, "GET", "api.contoso.example", "/orders");
  api.request.headers.add("Authorization",
                          "Bearer " + make_jwt(nlohmann::json{{"aud", "api://contoso-orders"}, {"tid", kTenantA},
                                                              {"exp", kT0 + 3600}, {"scp", "Orders.Read"}}));
  set_response(api, 200, "[]", "application/json");
  fs = run_rules({make_arm_call(2, "GET", "/subscriptions?api-version=2022-12-01", alias),
                  make_arm_call(3, "GET", "/subscriptions?api-version=2022-12-01", guid), me, api});
  INFO(dump_findings(fs));
  CHECK(fs.empty());
}

TEST_CASE("scope-overbroad: app roles by tier, client-credentials ARM token is not over-broad", "[unit][rules][scope]") {
  const std::string app = make_jwt(graph_app_claims(kTenantA, kThirdPartyApp, {"Directory.ReadWrite.All", "User.Read.All"}));
  auto cc = make_token_request(1, {{"client_id", kThirdPartyApp}, {"grant_type", "client_credentials"},
                                   {"client_secret", "s3cr3t"}, {"scope", "https://graph.microsoft.com/.default"}},
                               token_response(app), kTenantA);
  Flow use = make_flow(2, "GET", kGraph, "/v1.0/users");
  use.request.headers.add("Authorization", "Bearer " + app);
  set_response(use, 200, "{}", "application/json");
  auto fs = run_rules({cc, use});
  auto m = of_rule(fs, "scope-overbroad");
  REQUIRE(m.size() == 1);
  CHECK(m[0]->severity == Severity::kCritical);  // tier 0 application permission
  CHECK(m[0]->flows == std::vector<int64_t>{1, 2});
  CHECK(m[0]->evidence["type"] == "application");
  CHECK(m[0]->evidence["permissions"].size() == 2);
  CHECK(m[0]->message.find("Directory.ReadWrite.All (tier 0)") != std::string::npos);
  CHECK(m[0]->message.find(kTenantA) != std::string::npos);

  // Tier 2 alone -> low.
  const std::string reader = make_jwt(graph_app_claims(kTenantA, kThirdPartyApp, {"User.Read.All"}));
  fs = run_rules({make_token_request(1, {{"client_id", kThirdPartyApp}, {"grant_type", "client_credentials"},
                                         {"scope", "https://graph.microsoft.com/.default"}},
                                     token_response(reader), kTenantA)});
  REQUIRE(of_rule(fs, "scope-overbroad").size() == 1);
  CHECK(of_rule(fs, "scope-overbroad")[0]->severity == Severity::kLow);

  // Client credentials for ARM: user_impersonation / .default is not on the list.
  const std::string arm = make_jwt(arm_claims(kTenantA, kThirdPartyApp));
  fs = run_rules({make_token_request(1, {{"client_id", kThirdPartyApp}, {"grant_type", "client_credentials"},
                                         {"client_secret", "s3cr3t"}, {"scope", "https://management.azure.com/.default"}},
                                     token_response(arm), kTenantA),
                  make_arm_call(2, "GET", "/subscriptions?api-version=2022-12-01", arm)});
  INFO(dump_findings(fs));
  CHECK(fs.empty());
}

TEST_CASE("scope-overbroad: Azure CLI's pre-authorized Graph scopes are not reported, a third-party app's are",
          "[unit][rules][scope]") {
  const std::string scp =
      "Application.ReadWrite.All AppRoleAssignment.ReadWrite.All AuditLog.Read.All DelegatedPermissionGrant.ReadWrite.All "
      "Directory.AccessAsUser.All Group.ReadWrite.All User.Read.All User.ReadWrite.All";
  auto graph_call = [&](int64_t id, const std::string& client) {
    Flow f = make_flow(id, "GET", kGraph, "/v1.0/me");
    f.request.headers.add("Authorization", "Bearer " + make_jwt(graph_claims(kTenantA, client, scp)));
    set_user_agent(f, "python-requests/2.31.0");
    set_response(f, 200, "{}", "application/json");
    return f;
  };
  auto fs = run_rules({graph_call(1, kAzureCli)});
  INFO(dump_findings(fs));
  CHECK(fs.empty());

  fs = run_rules({graph_call(1, kThirdPartyApp)});
  auto m = of_rule(fs, "scope-overbroad");
  REQUIRE(m.size() == 1);
  CHECK(m[0]->severity == Severity::kHigh);  // tier 0 delegated
  CHECK(m[0]->evidence["type"] == "delegated");
  CHECK(m[0]->message.find("Directory.AccessAsUser.All") != std::string::npos);
  CHECK(m[0]->message.find("User.Read.All") == std::string::npos);  // tier 2 is application-only

  // Only the pre-authorized scopes of those clients are exempt: the Azure CLI asking for more, or
  // another first-party app (Teams Web Client) asking for tier-0 scopes, is reported.
  fs = run_rules({graph_call(1, kAzureCli + std::string(" ").substr(1))});
  CHECK(fs.empty());
  Flow more = make_flow(2, "GET", kGraph, "/v1.0/roleManagement/directory/roleAssignments");
  more.request.headers.add("Authorization", "Bearer " + make_jwt(graph_claims(kTenantA, kAzureCli,
                                                                              "Directory.AccessAsUser.All RoleManagement.ReadWrite.Directory")));
  set_response(more, 200, "{}", "application/json");
  fs = run_rules({more});
  REQUIRE(of_rule(fs, "scope-overbroad").size() == 1);
  CHECK(of_rule(fs, "scope-overbroad")[0]->message.find("RoleManagement.ReadWrite.Directory (tier 0)") != std::string::npos);
  CHECK(of_rule(fs, "scope-overbroad")[0]->message.find("Directory.AccessAsUser.All") == std::string::npos);
  fs = run_rules({graph_call(3, "5e3ce6c0-2b1f-4285-8d4b-75ee78787346")});
  CHECK(of_rule(fs, "scope-overbroad").size() == 1);

  // Microsoft Graph PowerShell requests user-chosen scopes: judged like any app.
  Params p = {{"client_id", "14d82eec-204b-4c2f-b7e8-296a70dab67e"}, {"response_type", "code"},
              {"redirect_uri", "http://localhost:51234"}, {"state", "s"}, {"code_challenge", "E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM"},
              {"code_challenge_method", "S256"},
              {"scope", "https://graph.microsoft.com/RoleManagement.ReadWrite.Directory openid offline_access"}};
  fs = run_rules({make_authorize(1, p)});
  m = of_rule(fs, "scope-overbroad");
  REQUIRE(m.size() == 1);
  CHECK(m[0]->message.find("requested") != std::string::npos);
  CHECK(m[0]->message.find("RoleManagement.ReadWrite.Directory") != std::string::npos);
}

TEST_CASE("token-in-url: credentials in request URLs, codes are not", "[unit][rules][url]") {
  const std::string t = make_jwt(graph_claims(kTenantA, kThirdPartyApp, "User.Read"));
  Flow f = make_flow(1, "GET", "api.contoso.example", "/export?format=csv&access_token=" + t);
  set_response(f, 200, "a,b", "text/csv");
  Flow s = make_flow(2, "GET", kLogin, "/common/oauth2/v2.0/token?client_id=x&client_secret=hunter2&grant_type=client_credentials");
  set_response(s, 400, "{}", "application/json");
  auto fs = run_rules({f, s});
  auto m = of_rule(fs, "token-in-url");
  REQUIRE(m.size() == 2);
  CHECK(m[0]->evidence["parameters"] == nlohmann::ordered_json::array({"access_token"}));
  CHECK(m[1]->evidence["parameters"] == nlohmann::ordered_json::array({"client_secret"}));

  Flow code = make_redirect_request(3, "app.contoso.example", "/cb?code=0.AXcA-code&state=s");
  fs = run_rules({code});
  CHECK(of_rule(fs, "token-in-url").empty());
}

TEST_CASE("cleartext-credentials: tokens over http, loopback exempt", "[unit][rules][cleartext]") {
  const std::string t = make_jwt(graph_claims(kTenantA, kThirdPartyApp, "User.Read"));
  Flow f = make_flow(1, "GET", "api.contoso.example", "/orders", "http");
  f.request.headers.add("Authorization", "Bearer " + t);
  set_response(f, 200, "[]", "application/json");
  auto fs = run_rules({f});
  auto m = of_rule(fs, "cleartext-credentials");
  REQUIRE(m.size() == 1);
  CHECK(m[0]->severity == Severity::kCritical);
  CHECK(m[0]->message.find("api.contoso.example") != std::string::npos);

  auto tr = make_token_request(2, {{"client_id", kThirdPartyApp}, {"grant_type", "client_credentials"},
                                   {"client_secret", "s3cr3t"}, {"scope", "https://graph.microsoft.com/.default"}},
                               token_response(t), kTenantA, 200, "http");
  fs = run_rules({tr});
  REQUIRE(of_rule(fs, "cleartext-credentials").size() == 1);
  CHECK(of_rule(fs, "cleartext-credentials")[0]->evidence["kinds"].size() >= 2);

  Flow loop = make_flow(3, "GET", "localhost", "/?code=0.AXcA&state=s", "http");
  loop.port = 8400;
  set_response(loop, 200, "ok", "text/html");
  Flow local_api = make_flow(4, "GET", "127.0.0.1", "/api", "http");
  local_api.request.headers.add(
      "Authorization", "Bearer " + make_jwt(nlohmann::json{{"aud", "api://local-dev"}, {"tid", kTenantA}, {"exp", kT0 + 3600}}));
  set_response(local_api, 200, "{}", "application/json");
  fs = run_rules({loop, local_api});
  INFO(dump_findings(fs));
  CHECK(fs.empty());
}

TEST_CASE("ropc-grant: grant_type=password", "[unit][rules][ropc]") {
  const std::string t = make_jwt(arm_claims(kTenantA, "1950a258-227b-4e31-a9cf-717495945fc2"));
  auto fs = run_rules({make_token_request(1, {{"client_id", "1950a258-227b-4e31-a9cf-717495945fc2"},
                                              {"grant_type", "password"}, {"username", "ada@contoso.example"},
                                              {"password", "P@ssw0rd"}, {"scope", "https://management.azure.com//.default"}},
                                          token_response(t), kTenantA)});
  auto m = of_rule(fs, "ropc-grant");
  REQUIRE(m.size() == 1);
  CHECK(m[0]->message.find("Microsoft Azure PowerShell") != std::string::npos);
  CHECK(m[0]->evidence["username"] == "ada@contoso.example");
  CHECK(m[0]->message.find("P@ssw0rd") == std::string::npos);
  CHECK(rule_ids(fs) == std::set<std::string>{"ropc-grant"});
}
