// Flow builders for analyzer tests (STYLE.md K.38, mitmproxy's tflow.py): realistic Entra and
// ARM traffic in a few lines. Tokens are JWS with Entra-shaped claims and a fake signature —
// the rules read claims, and decoding never implies trust.
#pragma once

#include <cstdint>
#include <map>
#include <optional>
#include <stdexcept>
#include <string>
#include <utility>
#include <vector>

#include <nlohmann/json.hpp>

#include "analyzers/http_text.h"
#include "analyzers/jwt.h"
#include "model/flow.h"

namespace authscope::test {

inline constexpr const char* kLogin = "login.microsoftonline.com";
inline constexpr const char* kArm = "management.azure.com";
inline constexpr const char* kGraph = "graph.microsoft.com";
inline constexpr const char* kTenantA = "72f988bf-86f1-41af-91ab-2d7cd011db47";
inline constexpr const char* kTenantB = "0b6a2c1e-3f4d-4e5a-9b8c-7d6e5f4a3b2c";
inline constexpr const char* kAzureCli = "04b07795-8ddb-461a-bbee-02f9e1bf7b46";
inline constexpr const char* kThirdPartyApp = "6a1c2d3e-4f50-4617-8293-a4b5c6d7e8f9";
inline constexpr const char* kArmAud = "https://management.azure.com/";
inline constexpr const char* kArmAppId = "797f4846-ba00-4fd7-ba43-dac1f8f63013";
inline constexpr const char* kGraphAppId = "00000003-0000-0000-c000-000000000000";
inline constexpr int64_t kT0 = 1767225600;  // 2026-01-01T00:00:00Z, seconds

// Flow id n starts at kT0 + n seconds (so "now" for rules is deterministic).
inline int64_t time_of(int64_t id) { return (kT0 + id) * 1000000; }

inline std::string make_jwt(const nlohmann::json& claims, const nlohmann::json& header_extra = nlohmann::json::object()) {
  nlohmann::json header = {{"typ", "JWT"}, {"alg", "RS256"}, {"kid", "test-key"}};
  for (auto it = header_extra.begin(); it != header_extra.end(); ++it) header[it.key()] = it.value();
  return base64url_encode(header.dump()) + "." + base64url_encode(claims.dump()) + "." +
         base64url_encode("not-a-real-signature-" + claims.dump().substr(0, 8));
}

// A v1 ARM access token (iss sts.windows.net, appid) for `tenant`.
inline nlohmann::json arm_claims(const std::string& tenant, const std::string& appid = kAzureCli,
                                 int64_t exp = kT0 + 3600, const std::string& aud = kArmAud) {
  return {{"aud", aud},
          {"iss", "https://sts.windows.net/" + tenant + "/"},
          {"iat", kT0 - 60},
          {"nbf", kT0 - 60},
          {"exp", exp},
          {"appid", appid},
          {"appidacr", "0"},
          {"tid", tenant},
          {"oid", "11111111-2222-3333-4444-555555555555"},
          {"upn", "ada@contoso.example"},
          {"scp", "user_impersonation"},
          {"ver", "1.0"},
          {"uti", "uti-" + tenant.substr(0, 8) + "-" + std::to_string(exp)}};
}

inline nlohmann::json graph_claims(const std::string& tenant, const std::string& appid, const std::string& scp,
                                   int64_t exp = kT0 + 3600) {
  return {{"aud", "https://graph.microsoft.com"},
          {"iss", "https://sts.windows.net/" + tenant + "/"},
          {"iat", kT0 - 60},
          {"exp", exp},
          {"appid", appid},
          {"tid", tenant},
          {"oid", "11111111-2222-3333-4444-555555555555"},
          {"upn", "ada@contoso.example"},
          {"scp", scp},
          {"ver", "1.0"}};
}

// An app-only Graph token (client credentials) with application permissions.
inline nlohmann::json graph_app_claims(const std::string& tenant, const std::string& appid,
                                       const std::vector<std::string>& roles) {
  return {{"aud", "https://graph.microsoft.com"},
          {"iss", "https://sts.windows.net/" + tenant + "/"},
          {"iat", kT0 - 60},
          {"exp", kT0 + 3600},
          {"appid", appid},
          {"appidacr", "1"},
          {"idtyp", "app"},
          {"tid", tenant},
          {"oid", "99999999-2222-3333-4444-555555555555"},
          {"roles", roles},
          {"ver", "1.0"}};
}

// A v2 ID token for `client` with `nonce` (empty: no nonce claim).
inline nlohmann::json id_token_claims(const std::string& tenant, const std::string& client, const std::string& nonce) {
  nlohmann::json c = {{"aud", client},
                      {"iss", "https://login.microsoftonline.com/" + tenant + "/v2.0"},
                      {"iat", kT0 - 10},
                      {"nbf", kT0 - 10},
                      {"exp", kT0 + 3600},
                      {"tid", tenant},
                      {"oid", "11111111-2222-3333-4444-555555555555"},
                      {"sub", "subject-1"},
                      {"preferred_username", "ada@contoso.example"},
                      {"ver", "2.0"}};
  if (!nonce.empty()) c["nonce"] = nonce;
  return c;
}

inline std::string form_encode(const std::vector<std::pair<std::string, std::string>>& params) {
  std::string out;
  for (const auto& [k, v] : params) {
    if (!out.empty()) out += '&';
    out += url_encode(k) + "=" + url_encode(v);
  }
  return out;
}

using Params = std::vector<std::pair<std::string, std::string>>;

inline Flow make_flow(int64_t id, const std::string& method, const std::string& host, const std::string& target,
                      const std::string& scheme = "https") {
  Flow f;
  f.id = id;
  f.kind = FlowKind::kHttp;
  f.client_addr = "127.0.0.1:50000";
  f.connection_id = static_cast<uint64_t>(id);
  f.scheme = scheme;
  f.host = host;
  f.port = scheme == "https" ? 443 : 80;
  f.times.start_us = time_of(id);
  f.times.request_end_us = f.times.start_us + 1000;
  f.times.response_start_us = f.times.start_us + 50000;
  f.times.end_us = f.times.start_us + 60000;
  f.request.method = method;
  f.request.target = target;
  f.request.version = "HTTP/1.1";
  f.request.headers.add("Host", host);
  return f;
}

inline void set_user_agent(Flow& f, const std::string& ua) { f.request.headers.set("User-Agent", ua); }

inline void set_form_body(Flow& f, const Params& params) {
  std::string body = form_encode(params);
  f.request.headers.set("Content-Type", "application/x-www-form-urlencoded");
  f.request.headers.set("Content-Length", std::to_string(body.size()));
  f.request.body.data = body;
  f.request.body.wire_size = body.size();
}

inline void set_response(Flow& f, int status, const std::string& body = "", const std::string& content_type = "") {
  Response r;
  r.status = status;
  r.reason = status == 200 ? "OK" : status == 302 ? "Found" : status == 403 ? "Forbidden" : "Status";
  r.version = "HTTP/1.1";
  if (!content_type.empty()) r.headers.add("Content-Type", content_type);
  if (!body.empty() || !content_type.empty()) {
    r.headers.add("Content-Length", std::to_string(body.size()));
    r.body.data = body;
    r.body.wire_size = body.size();
  }
  f.response = std::move(r);
}

// GET https://login.microsoftonline.com/{tenant}/oauth2/v2.0/authorize?<params>; with
// `location`, Entra answers 302 to it.
inline Flow make_authorize(int64_t id, const Params& params, const std::string& tenant = "organizations",
                           const std::optional<std::string>& location = std::nullopt, bool v1 = false) {
  Flow f = make_flow(id, "GET", kLogin,
                     "/" + tenant + (v1 ? "/oauth2/authorize?" : "/oauth2/v2.0/authorize?") + form_encode(params));
  set_user_agent(f, "Mozilla/5.0 (X11; Linux x86_64) Firefox/128.0");
  if (location) {
    set_response(f, 302);
    f.response->headers.add("Location", *location);
  } else {
    set_response(f, 200, "<html>sign in</html>", "text/html");
  }
  return f;
}

// The browser delivering the authorization response to a web app's redirect URI.
inline Flow make_redirect_request(int64_t id, const std::string& host, const std::string& path_and_query) {
  Flow f = make_flow(id, "GET", host, path_and_query);
  set_user_agent(f, "Mozilla/5.0 (X11; Linux x86_64) Firefox/128.0");
  set_response(f, 200, "ok", "text/plain");
  return f;
}

// POST https://login.microsoftonline.com/{tenant}/oauth2/v2.0/token with `params`; the response
// is `response_json` (status 200) or the given status.
inline Flow make_token_request(int64_t id, const Params& params, const nlohmann::json& response_json,
                               const std::string& tenant = "organizations", int status = 200,
                               const std::string& scheme = "https") {
  Flow f = make_flow(id, "POST", kLogin, "/" + tenant + "/oauth2/v2.0/token", scheme);
  set_user_agent(f, "python-requests/2.28.1");
  f.request.headers.add("x-client-SKU", "MSAL.Python");
  set_form_body(f, params);
  set_response(f, status, response_json.dump(), "application/json; charset=utf-8");
  return f;
}

inline nlohmann::json token_response(const std::string& access_token, const std::string& id_token = "",
                                     const std::string& scope = "") {
  nlohmann::json j = {{"token_type", "Bearer"}, {"expires_in", 3599}, {"access_token", access_token}};
  if (!id_token.empty()) j["id_token"] = id_token;
  if (!scope.empty()) j["scope"] = scope;
  j["refresh_token"] = "0.AAAA-opaque-refresh-token";
  return j;
}

// An ARM call with `Authorization: Bearer token` and optional auxiliary header.
inline Flow make_arm_call(int64_t id, const std::string& method, const std::string& path, const std::string& token,
                          int status = 200, const std::string& response_body = "{}",
                          const std::optional<std::string>& aux = std::nullopt,
                          const std::string& ua = "Terraform/1.9.5 terraform-provider-azurerm/3.116.0",
                          const std::string& host = kArm) {
  Flow f = make_flow(id, method, host, path);
  set_user_agent(f, ua);
  f.request.headers.add("Authorization", "Bearer " + token);
  if (aux) f.request.headers.add("x-ms-authorization-auxiliary", *aux);
  if (method == "PUT" || method == "PATCH" || method == "POST") {
    std::string body = R"({"location":"westeurope","properties":{}})";
    f.request.headers.add("Content-Type", "application/json");
    f.request.body.data = body;
  }
  set_response(f, status, response_body, "application/json; charset=utf-8");
  return f;
}

inline std::string laf_cross_tenant_body(const std::string& tenant, const std::string& linked_sub) {
  nlohmann::json j = {
      {"error",
       {{"code", "LinkedAuthorizationFailed"},
        {"message", "The client has permission to perform action 'Microsoft.Network/virtualNetworks/subnets/join/action' "
                    "on scope '/subscriptions/aaaa/resourceGroups/rg/providers/Microsoft.Network/networkInterfaces/nic1', "
                    "however the current tenant '" + tenant + "' is not authorized to access linked subscription '" +
                    linked_sub + "'."}}}};
  return j.dump();
}

inline std::string laf_missing_role_body() {
  nlohmann::json j = {
      {"error",
       {{"code", "LinkedAuthorizationFailed"},
        {"message", "The client 'ada@contoso.example' with object id '11111111-2222-3333-4444-555555555555' has "
                    "permission to perform action 'Microsoft.Compute/virtualMachines/write' on scope "
                    "'/subscriptions/aaaa/resourceGroups/rg/providers/Microsoft.Compute/virtualMachines/vm1'; however, "
                    "it does not have permission to perform action(s) "
                    "'Microsoft.Network/virtualNetworks/subnets/join/action' on the linked scope(s) "
                    "'/subscriptions/aaaa/resourceGroups/net/providers/Microsoft.Network/virtualNetworks/vnet/subnets/s1' "
                    "or the linked scope(s) are invalid."}}}};
  return j.dump();
}

}  // namespace authscope::test

// --- Analysis helpers ----------------------------------------------------------------------------

#include <algorithm>
#include <memory>
#include <set>

#include "analyzers/analysis.h"
#include "analyzers/exchanges.h"
#include "analyzers/rule_pack.h"
#include "model/finding.h"

namespace authscope::test {

// The repository's rules/ directory (the pack users get).
inline std::shared_ptr<const RulePack> repo_pack() {
  static std::shared_ptr<const RulePack> pack = [] {
    auto r = load_rule_pack(std::string(AUTHSCOPE_SOURCE_DIR) + "/rules");
    if (!r.ok()) throw std::runtime_error("rules/ does not load: " + r.status().message());
    return r.value();
  }();
  return pack;
}

inline std::vector<Finding> run_rules(const std::vector<Flow>& flows,
                                      std::shared_ptr<const RulePack> pack = nullptr) {
  return analyze(flows, pack ? pack : repo_pack());
}

inline std::vector<const Finding*> of_rule(const std::vector<Finding>& fs, const std::string& rule) {
  std::vector<const Finding*> out;
  for (const auto& f : fs) {
    if (f.rule == rule) out.push_back(&f);
  }
  return out;
}

inline std::set<std::string> rule_ids(const std::vector<Finding>& fs) {
  std::set<std::string> out;
  for (const auto& f : fs) out.insert(f.rule);
  return out;
}

inline std::string dump_findings(const std::vector<Finding>& fs) {
  std::string out;
  for (const auto& f : fs) out += to_json(f).dump() + "\n";
  return out;
}

}  // namespace authscope::test
