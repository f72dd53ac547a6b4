// login.microsoftonline.com: discovery, authorize, token (v1 and v2), device code.
// Shapes follow what Entra sends (error bodies with AADSTS codes, v1 responses with string
// expires_in and resource, v2 with scope and client_info) so clients such as MSAL accept them.
#include <ctime>

#include "tests/support/entra_constants.h"
#include "tests/support/fake_entra_internal.h"
#include "tests/support/http_client.h"
#include "tests/support/http_wire.h"
#include "tests/support/token_signer.h"

namespace authscope::testkit {
namespace {

std::vector<std::string> split(const std::string& s, char sep) {
  std::vector<std::string> out;
  size_t pos = 0;
  while (pos <= s.size()) {
    size_t next = s.find(sep, pos);
    std::string part = s.substr(pos, next == std::string::npos ? s.npos : next - pos);
    if (!part.empty()) out.push_back(part);
    if (next == std::string::npos) break;
    pos = next + 1;
  }
  return out;
}

std::string join(const std::vector<std::string>& v, const char* sep = " ") {
  std::string out;
  for (const auto& s : v) {
    if (!out.empty()) out += sep;
    out += s;
  }
  return out;
}

std::string utc_timestamp() {
  std::time_t t = std::time(nullptr);
  std::tm tm{};
  gmtime_r(&t, &tm);
  char buf[32];
  std::strftime(buf, sizeof buf, "%Y-%m-%d %H:%M:%SZ", &tm);
  return buf;
}

// Entra's error body: error, error_description "AADSTSnnnn: …", error_codes, trace/correlation ids.
ServerResponse entra_error(int status, const std::string& error, int code, const std::string& text) {
  std::string trace = random_guid(), correlation = random_guid(), ts = utc_timestamp();
  nlohmann::json body = {
      {"error", error},
      {"error_description", "AADSTS" + std::to_string(code) + ": " + text + "\r\nTrace ID: " + trace +
                                "\r\nCorrelation ID: " + correlation + "\r\nTimestamp: " + ts},
      {"error_codes", {code}},
      {"timestamp", ts},
      {"trace_id", trace},
      {"correlation_id", correlation},
      {"error_uri", "https://login.microsoftonline.com/error?code=" + std::to_string(code)}};
  return json_response(status, body);
}

bool is_oidc_scope(const std::string& s) {
  return s == "openid" || s == "profile" || s == "email" || s == "offline_access";
}

bool is_arm(const std::string& resource) {
  std::string r = lower(resource);
  return r.rfind("https://management.azure.com", 0) == 0 || r.rfind("https://management.core.windows.net", 0) == 0 ||
         r == kArmAppId;
}

bool is_graph(const std::string& resource) {
  std::string r = lower(resource);
  return r.rfind("https://graph.microsoft.com", 0) == 0 || r == kGraphAppId;
}

// ARM audiences keep their trailing slash, Graph's has none (what real tokens carry).
std::string normalize_resource(std::string r) {
  if (is_arm(r) && r.find("://") != std::string::npos && r.back() != '/') r += '/';
  if (is_graph(r) && r.find("://") != std::string::npos)
    while (!r.empty() && r.back() == '/') r.pop_back();
  return r;
}

std::vector<std::string> default_scopes(const std::string& resource) {
  if (is_arm(resource)) return {"user_impersonation"};
  if (is_graph(resource)) return {"User.Read", "profile", "openid", "email"};
  return {"access_as_user"};
}

struct ScopeGrant {
  std::string resource;          // aud
  std::vector<std::string> scp;  // delegated permissions granted
  std::vector<std::string> oidc; // openid/profile/email/offline_access requested
  bool openid = false;
  bool offline = false;
  bool first_party = true;       // ARM/Graph accept v1 tokens; other APIs get v2
  std::string granted;           // the "scope" string of a v2 response
};

// v2 scopes: "https://management.azure.com//.default", "https://graph.microsoft.com/User.Read",
// "User.Read" (bare names are Graph's), "api://app/access". Entra issues a token for one resource
// per request; we take the first resource named.
ScopeGrant grant_for_scope(const std::string& scope) {
  ScopeGrant g;
  std::string prefix;
  for (const auto& s : split(scope, ' ')) {
    if (is_oidc_scope(s)) {
      g.oidc.push_back(s);
      if (s == "openid") g.openid = true;
      if (s == "offline_access") g.offline = true;
      continue;
    }
    std::string res, name;
    size_t slash = s.rfind('/');
    if (s.find("://") != std::string::npos && slash != std::string::npos && slash > s.find("://") + 2) {
      res = s.substr(0, slash);
      name = s.substr(slash + 1);
    } else {
      res = std::string(kGraphResource);
      name = s;
    }
    if (g.resource.empty()) {
      g.resource = normalize_resource(res);
      prefix = res;
    } else if (normalize_resource(res) != g.resource) {
      continue;
    }
    if (name == ".default") {
      for (const auto& d : default_scopes(g.resource))
        if (!is_oidc_scope(d)) g.scp.push_back(d);
    } else {
      g.scp.push_back(name);
    }
  }
  if (g.resource.empty()) {  // only OIDC scopes: Entra issues a Graph token for User.Read
    g.resource = std::string(kGraphResource);
    prefix = g.resource;
    g.scp = {"User.Read"};
  }
  g.first_party = is_arm(g.resource) || is_graph(g.resource);
  std::vector<std::string> granted;
  for (const auto& s : g.scp) granted.push_back(is_graph(g.resource) ? s : (prefix.empty() || prefix.back() == '/' ? prefix : prefix + "/") + s);
  for (const auto& s : g.oidc)
    if (s != "offline_access") granted.push_back(s);
  g.granted = join(granted);
  return g;
}

ScopeGrant grant_for_resource(const std::string& resource, const std::string& scope) {
  ScopeGrant g;
  g.resource = normalize_resource(resource.empty() ? std::string(kGraphResource) : resource);
  for (const auto& d : default_scopes(g.resource))
    if (!is_oidc_scope(d)) g.scp.push_back(d);
  for (const auto& s : split(scope, ' ')) {
    if (s == "openid") g.openid = true;
    if (s == "offline_access") g.offline = true;
  }
  g.first_party = is_arm(g.resource) || is_graph(g.resource);
  g.granted = join(g.scp);
  return g;
}

struct Subject {
  std::string tenant_id, client_id, oid, upn, name, nonce;
  bool app_only = false;
};

nlohmann::json access_claims(const FakeEntraOptions& o, const ScopeGrant& g, const Subject& who) {
  TokenSpec spec;
  spec.tenant_id = who.tenant_id;
  spec.client_id = who.client_id;
  spec.audience = g.resource;
  spec.oid = who.oid;
  spec.upn = who.upn;
  spec.name = who.name;
  spec.app_only = who.app_only;
  if (!who.app_only) spec.scopes = g.scp;
  if (who.app_only) {
    auto it = o.app_roles.find(who.client_id);
    if (it != o.app_roles.end()) spec.roles = it->second;
  }
  spec.lifetime_s = 3600 + 1200;  // Entra: "random 60-90 minutes"; a fixed 80 keeps tests simple
  return g.first_party ? v1_access_token_claims(spec) : v2_access_token_claims(spec);
}

// Microsoft Graph access tokens carry a "nonce" in the JWT header (reference: resources →
// Microsoft Graph), which makes them unverifiable by anyone but Graph. Ours carry one too so
// decoders meet that shape; our own signature still covers the header as sent.
std::string mint_access_token(const FakeEntraServer::Impl& impl, const ScopeGrant& g, const nlohmann::json& claims) {
  nlohmann::json extras = nlohmann::json::object();
  if (is_graph(g.resource)) extras["nonce"] = random_b64url(32);
  return impl.signer->mint_jwt(claims, extras);
}

std::string remember_refresh(FakeEntraServer::Impl& impl, const Subject& who, const std::string& scope,
                             const std::string& resource, bool v2) {
  // Entra refresh tokens are opaque and encrypted; ours are random and only meaningful here.
  std::string rt = "1.AQ" + random_b64url(96);
  std::lock_guard<std::mutex> lock(impl.mu);
  if (impl.refresh_tokens.size() > 100000) impl.refresh_tokens.clear();
  impl.refresh_tokens[rt] = RefreshGrant{who.client_id, scope, resource, who.tenant_id, who.oid, who.upn, v2};
  return rt;
}

// The token response body for one grant (v2 or v1 shape).
nlohmann::json token_body(FakeEntraServer::Impl& impl, const ServerRequest& req, const ScopeGrant& g,
                          const Subject& who, bool v2, bool issue_refresh, const std::string& request_scope,
                          const std::string& request_resource) {
  const int64_t now = unix_now();
  nlohmann::json claims = access_claims(*impl.options, g, who);
  int64_t expires_in = claims["exp"].get<int64_t>() - now;
  nlohmann::json body;
  body["token_type"] = "Bearer";
  if (v2) {
    body["scope"] = g.granted;
    body["expires_in"] = expires_in;
    body["ext_expires_in"] = expires_in;
  } else {
    body["scope"] = join(g.scp);
    body["expires_in"] = std::to_string(expires_in);
    body["ext_expires_in"] = std::to_string(expires_in);
    body["expires_on"] = std::to_string(now + expires_in);
    body["not_before"] = std::to_string(now);
    body["resource"] = request_resource.empty() ? g.resource : request_resource;
  }
  body["access_token"] = mint_access_token(impl, g, claims);
  if (issue_refresh) body["refresh_token"] = remember_refresh(impl, who, request_scope, request_resource, v2);
  if (g.openid && !who.app_only) {
    TokenSpec spec;
    spec.tenant_id = who.tenant_id;
    spec.client_id = who.client_id;
    spec.oid = who.oid;
    spec.upn = who.upn;
    spec.name = who.name;
    spec.nonce = who.nonce;
    body["id_token"] = impl.signer->mint_jwt(id_token_claims(spec, v2));
  }
  if (req.param("client_info") == "1" && !who.app_only) {
    std::string oid = who.oid.empty() ? std::string(kUserOid) : who.oid;
    body["client_info"] = b64url(json_text({{"uid", oid}, {"utid", who.tenant_id}}));
  }
  return body;
}

Subject user_subject(const std::string& tenant, const std::string& client) {
  Subject s;
  s.tenant_id = tenant;
  s.client_id = client;
  s.oid = std::string(kUserOid);
  s.upn = std::string(kUserUpn);
  s.name = std::string(kUserName);
  return s;
}

std::string append_params(const std::string& uri, char sep_kind,
                          const std::vector<std::pair<std::string, std::string>>& params) {
  std::string out = uri;
  if (sep_kind == '#') {
    out += '#';
  } else {
    out += uri.find('?') == std::string::npos ? '?' : '&';
  }
  return out + build_form(params);
}

ServerResponse redirect(const std::string& location) {
  ServerResponse r = text_response(302, "", "text/html; charset=utf-8");
  r.header("Location", location);
  r.header("Cache-Control", "no-store, no-cache");
  return r;
}

ServerResponse form_post(const std::string& redirect_uri, const std::vector<std::pair<std::string, std::string>>& params) {
  std::string html = "<html><head><title>Working...</title></head><body><form method=\"POST\" name=\"hiddenform\" action=\"" +
                     redirect_uri + "\">";
  for (const auto& [k, v] : params) html += "<input type=\"hidden\" name=\"" + k + "\" value=\"" + v + "\" />";
  html += "<noscript><p>Script is disabled. Click Submit to continue.</p><input type=\"submit\" value=\"Submit\" /></noscript></form>"
          "<script language=\"javascript\">document.forms[0].submit();</script></body></html>";
  return text_response(200, html, "text/html; charset=utf-8");
}

// GET /{tenant}/oauth2[/v2.0]/authorize: the user is always signed in and consents at once.
ServerResponse authorize(FakeEntraServer::Impl& impl, const ServerRequest& req, const std::string& tenant, bool v2) {
  std::string client_id = req.param("client_id");
  std::string redirect_uri = req.param("redirect_uri");
  std::string response_type = req.param("response_type");
  std::string state = req.param("state");
  if (client_id.empty())
    return entra_error(400, "invalid_request", 900144, "The request body must contain the following parameter: 'client_id'.");
  if (redirect_uri.empty()) redirect_uri = "https://login.microsoftonline.com/common/oauth2/nativeclient";
  if (response_type.empty())
    return entra_error(400, "invalid_request", 900144, "The request body must contain the following parameter: 'response_type'.");
  std::vector<std::string> types = split(response_type, ' ');
  bool want_code = false, want_token = false, want_id_token = false;
  for (const auto& t : types) {
    if (t == "code") want_code = true;
    else if (t == "token") want_token = true;
    else if (t == "id_token") want_id_token = true;
    else
      return redirect(append_params(redirect_uri, '?', {{"error", "unsupported_response_type"},
                                                        {"error_description", "AADSTS700054: response_type '" + t + "' is not supported."},
                                                        {"state", state}}));
  }
  std::string tid = resolve_tenant(tenant);
  std::string scope = req.param("scope");
  std::string nonce = req.param("nonce");
  std::string method = req.param("code_challenge_method");
  std::string challenge = req.param("code_challenge");
  // RFC 7636 §4.3: "code_challenge_method: OPTIONAL, defaults to "plain" if not present in the
  // request." Only S256 and plain exist.
  if (!challenge.empty() && !method.empty() && method != "S256" && method != "plain")
    return redirect(append_params(redirect_uri, '?', {{"error", "invalid_request"},
                                                      {"error_description", "AADSTS501491: Invalid code_challenge_method."},
                                                      {"state", state}}));

  std::vector<std::pair<std::string, std::string>> params;
  if (want_code) {
    std::string code = "1.AQ" + random_b64url(120);
    IssuedCode issued{client_id, redirect_uri, challenge, challenge.empty() ? "" : method, nonce,
                      scope,     req.param("resource"), tid, v2, false};
    {
      std::lock_guard<std::mutex> lock(impl.mu);
      if (impl.codes.size() > 100000) {
        impl.codes.clear();
        impl.code_order.clear();
      }
      impl.codes[code] = issued;
      impl.code_order.push_back(code);
    }
    params.push_back({"code", code});
  }
  Subject who = user_subject(tid, client_id);
  who.nonce = nonce;
  ScopeGrant g = v2 ? grant_for_scope(scope) : grant_for_resource(req.param("resource"), scope);
  if (want_token) {
    nlohmann::json claims = access_claims(*impl.options, g, who);
    params.push_back({"access_token", mint_access_token(impl, g, claims)});
    params.push_back({"token_type", "Bearer"});
    params.push_back({"expires_in", std::to_string(claims["exp"].get<int64_t>() - unix_now())});
    if (v2) params.push_back({"scope", g.granted});
  }
  if (want_id_token) {
    TokenSpec spec;
    spec.tenant_id = tid;
    spec.client_id = client_id;
    spec.nonce = nonce;
    params.push_back({"id_token", impl.signer->mint_jwt(id_token_claims(spec, v2))});
  }
  if (!state.empty()) params.push_back({"state", state});
  params.push_back({"session_state", random_guid()});

  std::string mode = req.param("response_mode");
  // OAuth 2.0 Multiple Response Type Encoding Practices §5: the default response mode of any
  // response type that includes a token is fragment; of "code" alone, query.
  if (mode.empty()) mode = (want_token || want_id_token) ? "fragment" : "query";
  if (mode == "form_post") return form_post(redirect_uri, params);
  return redirect(append_params(redirect_uri, mode == "fragment" ? '#' : '?', params));
}

ServerResponse token(FakeEntraServer::Impl& impl, const ServerRequest& req, const std::string& tenant, bool v2) {
  if (req.method != "POST")
    return entra_error(405, "invalid_request", 900561, "The endpoint only accepts POST requests. Received a " + req.method + " request.");
  std::string grant_type = req.form_param("grant_type");
  std::string client_id = req.form_param("client_id");
  std::string scope = req.form_param("scope");
  std::string resource = req.form_param("resource");
  std::string tid = resolve_tenant(tenant);
  if (grant_type.empty())
    return entra_error(400, "invalid_request", 900144, "The request body must contain the following parameter: 'grant_type'.");

  if (grant_type == "authorization_code") {
    std::string code = req.form_param("code");
    std::string verifier = req.form_param("code_verifier");
    IssuedCode issued;
    {
      std::lock_guard<std::mutex> lock(impl.mu);
      auto it = impl.codes.find(code);
      if (it == impl.codes.end())
        return entra_error(400, "invalid_grant", 70000, "Provided grant is invalid or malformed.");
      if (it->second.redeemed)
        return entra_error(400, "invalid_grant", 54005, "OAuth2 Authorization code was already redeemed, please retry with a new valid code or use an existing refresh token.");
      issued = it->second;
      it->second.redeemed = true;
    }
    if (!client_id.empty() && client_id != issued.client_id)
      return entra_error(400, "invalid_grant", 70000, "Provided grant is invalid or malformed.");
    std::string redirect_uri = req.form_param("redirect_uri");
    if (!redirect_uri.empty() && redirect_uri != issued.redirect_uri)
      return entra_error(400, "invalid_grant", 70000, "Provided grant is invalid or malformed.");
    if (!issued.code_challenge.empty()) {
      // RFC 7636 §4.6: "If the "code_challenge_method" from Section 4.3 was "S256", the received
      // "code_verifier" is hashed by SHA-256, base64url-encoded, and then compared to the
      // "code_challenge", i.e.: BASE64URL-ENCODE(SHA256(ASCII(code_verifier))) == code_challenge
      // If the "code_challenge_method" from Section 4.3 was "plain", they are compared directly"
      if (verifier.empty())
        return entra_error(400, "invalid_grant", 501481, "The Code_Verifier does not match the code_challenge supplied in the authorization request.");
      std::string computed = issued.code_challenge_method == "S256" ? pkce_s256(verifier) : verifier;
      if (computed != issued.code_challenge)
        return entra_error(400, "invalid_grant", 501481, "The Code_Verifier does not match the code_challenge supplied in the authorization request.");
    } else if (!verifier.empty()) {
      // RFC 9700 §2.1.1: the AS must reject a code_verifier when no code_challenge was sent
      // (PKCE downgrade).
      return entra_error(400, "invalid_grant", 501481, "The code_verifier was sent but no code_challenge was supplied in the authorization request.");
    }
    Subject who = user_subject(issued.tenant_id, issued.client_id);
    who.nonce = issued.nonce;
    std::string eff_scope = scope.empty() ? issued.scope : scope;
    std::string eff_resource = resource.empty() ? issued.resource : resource;
    ScopeGrant g = v2 ? grant_for_scope(eff_scope) : grant_for_resource(eff_resource, eff_scope);
    if (!v2) g.openid = true;  // v1 code redemption always returns an id_token
    return json_response(200, token_body(impl, req, g, who, v2, true, eff_scope, eff_resource));
  }

  if (grant_type == "refresh_token") {
    RefreshGrant rg;
    {
      std::lock_guard<std::mutex> lock(impl.mu);
      auto it = impl.refresh_tokens.find(req.form_param("refresh_token"));
      if (it == impl.refresh_tokens.end())
        return entra_error(400, "invalid_grant", 9002313, "Invalid request. Request is malformed or invalid.");
      rg = it->second;
    }
    Subject who = user_subject(tid, rg.client_id);
    who.oid = rg.oid;
    who.upn = rg.upn;
    // Refresh tokens are "not tied to resource or tenant": the path tenant decides the new token's.
    std::string eff_scope = scope.empty() ? rg.scope : scope;
    std::string eff_resource = resource.empty() ? rg.resource : resource;
    ScopeGrant g = v2 ? grant_for_scope(eff_scope) : grant_for_resource(eff_resource, eff_scope);
    return json_response(200, token_body(impl, req, g, who, v2, true, eff_scope, eff_resource));
  }

  if (grant_type == "client_credentials") {
    if (req.form_param("client_secret").empty() && req.form_param("client_assertion").empty())
      return entra_error(401, "invalid_client", 7000218, "The request body must contain the following parameter: 'client_assertion' or 'client_secret'.");
    if (v2 && (scope.size() < 9 || scope.substr(scope.size() - 9) != "/.default"))
      return entra_error(400, "invalid_scope", 1002012, "The provided value for scope " + scope + " is not valid. Client credential flows must have a scope value with /.default suffixed to the resource identifier (application ID URI).");
    Subject who;
    who.tenant_id = tid;
    who.client_id = client_id;
    who.oid = std::string(kAppOid);
    who.app_only = true;
    ScopeGrant g = v2 ? grant_for_scope(scope) : grant_for_resource(resource, "");
    g.openid = false;
    return json_response(200, token_body(impl, req, g, who, v2, false, scope, resource));
  }

  if (grant_type == "password") {
    std::string username = req.form_param("username");
    if (username.empty() || req.form_param("password").empty())
      return entra_error(400, "invalid_grant", 50126, "Error validating credentials due to invalid username or password.");
    Subject who = user_subject(tid, client_id);
    who.upn = username;
    ScopeGrant g = v2 ? grant_for_scope(scope) : grant_for_resource(resource, scope);
    return json_response(200, token_body(impl, req, g, who, v2, true, scope, resource));
  }

  if (grant_type == "urn:ietf:params:oauth:grant-type:device_code" || grant_type == "device_code") {
    DeviceGrant dg;
    {
      std::lock_guard<std::mutex> lock(impl.mu);
      auto it = impl.device_codes.find(req.form_param("device_code"));
      if (it == impl.device_codes.end())
        return entra_error(400, "expired_token", 70020, "The provided value for the input parameter 'device_code' is not valid.");
      dg = it->second;
      impl.device_codes.erase(it);  // the user "approved" at once; one redemption per code
    }
    Subject who = user_subject(dg.tenant_id, dg.client_id);
    std::string eff_scope = dg.scope.empty() ? scope : dg.scope;
    ScopeGrant g = v2 ? grant_for_scope(eff_scope) : grant_for_resource(resource, eff_scope);
    return json_response(200, token_body(impl, req, g, who, v2, true, eff_scope, resource));
  }

  if (grant_type == "urn:ietf:params:oauth:grant-type:jwt-bearer") {
    // On-Behalf-Of: the assertion is a user's token for the calling API.
    std::string assertion = req.form_param("assertion");
    auto claims = verify_rs256(assertion, impl.signer->jwks());
    if (!claims.ok())
      return entra_error(400, "invalid_grant", 50013, "Assertion failed signature validation.");
    if (req.form_param("requested_token_use") != "on_behalf_of")
      return entra_error(400, "invalid_request", 900144, "The request body must contain the following parameter: 'requested_token_use'.");
    Subject who = user_subject(claims->value("tid", tid), client_id);
    who.oid = claims->value("oid", std::string(kUserOid));
    who.upn = claims->value("upn", claims->value("preferred_username", std::string(kUserUpn)));
    ScopeGrant g = v2 ? grant_for_scope(scope) : grant_for_resource(resource, scope);
    return json_response(200, token_body(impl, req, g, who, v2, true, scope, resource));
  }

  return entra_error(400, "unsupported_grant_type", 70003, "The app requested an unsupported grant type '" + grant_type + "'.");
}

ServerResponse devicecode(FakeEntraServer::Impl& impl, const ServerRequest& req, const std::string& tenant) {
  if (req.method != "POST")
    return entra_error(405, "invalid_request", 900561, "The endpoint only accepts POST requests.");
  std::string client_id = req.form_param("client_id");
  if (client_id.empty())
    return entra_error(400, "invalid_request", 900144, "The request body must contain the following parameter: 'client_id'.");
  std::string device_code = "DAQABAAEAAAD" + random_b64url(96);
  std::string user_code = random_b64url(6).substr(0, 8);
  for (char& c : user_code) c = static_cast<char>(c >= 'a' && c <= 'z' ? c - 32 : (c == '-' || c == '_' ? 'X' : c));
  {
    std::lock_guard<std::mutex> lock(impl.mu);
    if (impl.device_codes.size() > 10000) impl.device_codes.clear();
    impl.device_codes[device_code] = DeviceGrant{client_id, req.form_param("scope"), resolve_tenant(tenant)};
  }
  return json_response(200, {{"user_code", user_code},
                             {"device_code", device_code},
                             {"verification_uri", "https://microsoft.com/devicelogin"},
                             {"expires_in", 900},
                             {"interval", 1},
                             {"message", "To sign in, use a web browser to open the page https://microsoft.com/devicelogin and enter the code " +
                                             user_code + " to authenticate."}});
}

nlohmann::json openid_configuration(const std::string& host, const std::string& tenant, bool v2) {
  std::string base = "https://" + (host.empty() ? std::string(kLoginHost) : host) + "/" + tenant;
  std::string tid = looks_like_guid(tenant) ? tenant : "{tenantid}";
  std::string oauth = base + (v2 ? "/oauth2/v2.0" : "/oauth2");
  nlohmann::json c = {
      {"token_endpoint", oauth + "/token"},
      {"token_endpoint_auth_methods_supported", {"client_secret_post", "private_key_jwt", "client_secret_basic"}},
      {"jwks_uri", base + (v2 ? "/discovery/v2.0/keys" : "/discovery/keys")},
      {"response_modes_supported", {"query", "fragment", "form_post"}},
      {"subject_types_supported", {"pairwise"}},
      {"id_token_signing_alg_values_supported", {"RS256"}},
      {"response_types_supported", {"code", "id_token", "code id_token", "id_token token"}},
      {"scopes_supported", {"openid", "profile", "email", "offline_access"}},
      {"issuer", v2 ? "https://login.microsoftonline.com/" + tid + "/v2.0" : "https://sts.windows.net/" + tid + "/"},
      {"request_uri_parameter_supported", false},
      {"userinfo_endpoint", "https://graph.microsoft.com/oidc/userinfo"},
      {"authorization_endpoint", oauth + "/authorize"},
      {"device_authorization_endpoint", oauth + "/devicecode"},
      {"http_logout_supported", true},
      {"frontchannel_logout_supported", true},
      {"end_session_endpoint", oauth + "/logout"},
      {"claims_supported", {"sub", "iss", "cloud_instance_name", "cloud_instance_host_name", "cloud_graph_host_name",
                            "msgraph_host", "aud", "exp", "iat", "auth_time", "acr", "nonce", "preferred_username",
                            "name", "tid", "ver", "at_hash", "c_hash", "email"}},
      {"kerberos_endpoint", base + "/kerberos"},
      {"tenant_region_scope", "EU"},
      {"cloud_instance_name", "microsoftonline.com"},
      {"cloud_graph_host_name", "graph.windows.net"},
      {"msgraph_host", "graph.microsoft.com"},
      {"rbac_url", "https://pas.windows.net"}};
  if (!v2) c["microsoft_multi_refresh_token"] = true;
  return c;
}

}  // namespace

bool looks_like_guid(const std::string& s) {
  if (s.size() != 36) return false;
  for (size_t i = 0; i < s.size(); ++i) {
    char c = s[i];
    if (i == 8 || i == 13 || i == 18 || i == 23) {
      if (c != '-') return false;
    } else if (!((c >= '0' && c <= '9') || (c >= 'a' && c <= 'f') || (c >= 'A' && c <= 'F'))) {
      return false;
    }
  }
  return true;
}

std::string resolve_tenant(const std::string& segment) {
  if (looks_like_guid(segment)) return lower(segment);
  return std::string(kHomeTenantId);  // common, organizations, consumers, contoso.example, …
}

std::optional<ServerResponse> route_login(FakeEntraServer::Impl& impl, const ServerRequest& req) {
  std::vector<std::string> seg = split(req.path, '/');
  if (seg.empty()) return std::nullopt;
  const std::string& tenant = seg[0];
  std::string rest;
  for (size_t i = 1; i < seg.size(); ++i) rest += (i > 1 ? "/" : "") + seg[i];

  if (rest == "v2.0/.well-known/openid-configuration") return json_response(200, openid_configuration(req.host, tenant, true));
  if (rest == ".well-known/openid-configuration") return json_response(200, openid_configuration(req.host, tenant, false));
  if (rest == "discovery/v2.0/keys" || rest == "discovery/keys") return json_response(200, impl.signer->jwks());
  if (rest == "discovery/instance") {
    std::string authz = req.query_param("authorization_endpoint");
    return json_response(200, {{"tenant_discovery_endpoint", "https://" + std::string(kLoginHost) + "/" + tenant +
                                                                 "/v2.0/.well-known/openid-configuration"},
                               {"api-version", "1.1"},
                               {"metadata", {{{"preferred_network", "login.microsoftonline.com"},
                                              {"preferred_cache", "login.windows.net"},
                                              {"aliases", {"login.microsoftonline.com", "login.windows.net",
                                                           "login.microsoft.com", "sts.windows.net"}}}}}});
  }
  if (seg.size() >= 2 && seg[1] == "userrealm") {
    std::string user = seg.size() >= 3 ? url_decode(seg[2]) : "";
    std::string domain = user.find('@') == std::string::npos ? "contoso.example" : user.substr(user.find('@') + 1);
    return json_response(200, {{"ver", "1.0"}, {"account_type", "Managed"}, {"domain_name", domain},
                               {"cloud_instance_name", "microsoftonline.com"},
                               {"cloud_audience_urn", "urn:federation:MicrosoftOnline"}});
  }
  if (rest == "oauth2/v2.0/authorize") return authorize(impl, req, tenant, true);
  if (rest == "oauth2/authorize") return authorize(impl, req, tenant, false);
  if (rest == "oauth2/v2.0/token") return token(impl, req, tenant, true);
  if (rest == "oauth2/token") return token(impl, req, tenant, false);
  if (rest == "oauth2/v2.0/devicecode" || rest == "oauth2/devicecode") return devicecode(impl, req, tenant);
  if (rest == "oauth2/v2.0/logout" || rest == "oauth2/logout") {
    std::string post = req.param("post_logout_redirect_uri");
    return post.empty() ? text_response(200, "signed out\n") : redirect(post);
  }
  return std::nullopt;
}

}  // namespace authscope::testkit
