// management.azure.com and graph.microsoft.com: bearer checks, resource reads and writes, and the
// two LinkedAuthorizationFailed answers (shared/reference/entra-reference.json "aux_header"):
//  * cross-tenant: the write references a subscription owned by another tenant and no auxiliary
//    token for that tenant was sent (fixed by x-ms-authorization-auxiliary);
//  * linked scope: the caller lacks a role on the linked scope (NOT an auxiliary-header problem).
#include <algorithm>

#include "tests/support/entra_constants.h"
#include "tests/support/fake_entra_internal.h"
#include "tests/support/http_wire.h"
#include "tests/support/token_signer.h"

namespace authscope::testkit {
namespace {

ServerResponse arm_error(int status, const std::string& code, const std::string& message) {
  ServerResponse r = json_response(status, {{"error", {{"code", code}, {"message", message}}}});
  if (status == 401)
    r.header("WWW-Authenticate", "Bearer authorization_uri=\"https://login.microsoftonline.com/common\", error=\"invalid_token\", error_description=\"" + message.substr(0, 120) + "\"");
  return r;
}

void add_arm_headers(ServerResponse& r, const ServerRequest& req) {
  const std::string* corr = req.headers.find("x-ms-correlation-request-id");
  std::string request_id = random_guid();
  r.header("x-ms-request-id", request_id);
  r.header("x-ms-correlation-request-id", corr ? *corr : request_id);
  r.header("x-ms-routing-request-id", "WESTEUROPE:20260101T000000Z:" + request_id);
  if (req.method == "GET" || req.method == "HEAD") r.header("x-ms-ratelimit-remaining-subscription-reads", "11999");
  else r.header("x-ms-ratelimit-remaining-subscription-writes", "1199");
}

bool is_arm_audience(const std::string& aud) {
  std::string a = lower(aud);
  return a == "https://management.azure.com/" || a == "https://management.azure.com" ||
         a == "https://management.core.windows.net/" || a == "https://management.core.windows.net" || a == kArmAppId;
}

bool is_graph_audience(const std::string& aud) {
  std::string a = lower(aud);
  return a == "https://graph.microsoft.com" || a == "https://graph.microsoft.com/" || a == kGraphAppId;
}

std::vector<std::string> split_path(const std::string& path) {
  std::vector<std::string> out;
  size_t pos = 0;
  while (pos < path.size()) {
    size_t next = path.find('/', pos);
    if (next == std::string::npos) next = path.size();
    if (next > pos) out.push_back(path.substr(pos, next - pos));
    pos = next + 1;
  }
  return out;
}

// "/subscriptions/S/resourceGroups/R/providers/Microsoft.Network/virtualNetworks/v/subnets/s"
// → "Microsoft.Network/virtualNetworks/subnets".
std::string resource_type(const std::string& id) {
  std::vector<std::string> seg = split_path(id);
  for (size_t i = 0; i < seg.size(); ++i) {
    if (lower(seg[i]) == "providers" && i + 1 < seg.size()) {
      std::string type = seg[i + 1];
      for (size_t j = i + 2; j < seg.size(); j += 2) type += "/" + seg[j];
      return type;
    }
  }
  if (seg.size() >= 3 && lower(seg[2]) == "resourcegroups") return "Microsoft.Resources/subscriptions/resourceGroups";
  return "Microsoft.Resources/subscriptions";
}

std::string action_for(const std::string& method, const std::string& id) {
  std::string verb = method == "DELETE" ? "delete" : (method == "POST" ? "action" : (method == "GET" || method == "HEAD") ? "read" : "write");
  return resource_type(id) + "/" + verb;
}

std::string linked_action_for(const std::string& linked_id) {
  std::string l = lower(linked_id);
  if (l.find("/subnets/") != std::string::npos) return "Microsoft.Network/virtualNetworks/subnets/join/action";
  if (l.find("/galleries/") != std::string::npos) return "Microsoft.Compute/galleries/images/versions/read";
  if (l.find("/ddosprotectionplans/") != std::string::npos) return "Microsoft.Network/ddosProtectionPlans/join/action";
  return resource_type(linked_id) + "/read";
}

// Finds "/subscriptions/{sub}/…" in a request body (any JSON string value) for a known linked
// subscription; returns the whole referenced id (up to the closing quote).
std::string find_linked_reference(const std::string& body, const std::string& sub) {
  std::string lb = lower(body);
  std::string needle = "/subscriptions/" + lower(sub);
  size_t at = lb.find(needle);
  if (at == std::string::npos) return {};
  size_t end = body.find('"', at);
  return body.substr(at, end == std::string::npos ? std::string::npos : end - at);
}

// x-ms-authorization-auxiliary: "Bearer <t1>, EncryptedBearer <t2>, Bearer <t3>" (at most 3).
std::vector<std::string> auxiliary_tokens(const std::string& header) {
  std::vector<std::string> out;
  size_t pos = 0;
  for (int i = 0; i < 16 && pos < header.size(); ++i) {
    size_t next = header.find_first_of(",;", pos);
    std::string item = header.substr(pos, next == std::string::npos ? std::string::npos : next - pos);
    while (!item.empty() && item.front() == ' ') item.erase(0, 1);
    while (!item.empty() && item.back() == ' ') item.pop_back();
    if (lower(item).rfind("bearer ", 0) == 0) out.push_back(item.substr(7));
    if (next == std::string::npos) break;
    pos = next + 1;
  }
  return out;
}

std::string caller_name(const nlohmann::json& claims) {
  if (claims.contains("upn") && claims["upn"].is_string()) return claims["upn"];
  if (claims.contains("appid") && claims["appid"].is_string()) return claims["appid"];
  if (claims.contains("azp") && claims["azp"].is_string()) return claims["azp"];
  return "unknown";
}

}  // namespace

BearerCheck check_bearer(const FakeEntraServer::Impl& impl, const std::string* authorization) {
  BearerCheck c;
  if (!authorization || authorization->empty()) {
    c.error_code = "AuthenticationFailed";
    c.error_message = "Authentication failed. The 'Authorization' header is missing.";
    return c;
  }
  c.present = true;
  if (lower(authorization->substr(0, 7)) != "bearer ") {
    c.error_code = "AuthenticationFailed";
    c.error_message = "Authentication failed. The 'Authorization' header is provided in an invalid format.";
    return c;
  }
  auto claims = verify_rs256(authorization->substr(7), impl.signer->jwks());
  if (!claims.ok()) {
    c.error_code = "InvalidAuthenticationToken";
    c.error_message = "The access token is invalid.";
    return c;
  }
  c.claims = claims.value();
  int64_t exp = c.claims.value("exp", int64_t{0});
  if (exp != 0 && exp < unix_now()) {
    c.error_code = "ExpiredAuthenticationToken";
    c.error_message = "The access token expiry UTC time '" + std::to_string(exp) +
                      "' is earlier than current UTC time '" + std::to_string(unix_now()) + "'.";
    return c;
  }
  c.valid = true;
  return c;
}

std::optional<ServerResponse> route_arm(FakeEntraServer::Impl& impl, const ServerRequest& req) {
  const FakeEntraOptions& o = *impl.options;
  std::vector<std::string> seg = split_path(req.path);
  if (seg.empty() || (lower(seg[0]) != "subscriptions" && lower(seg[0]) != "providers" && lower(seg[0]) != "tenants"))
    return std::nullopt;
  std::string api_version = req.query_param("api-version");
  if (api_version.empty()) {
    ServerResponse r = arm_error(400, "MissingApiVersionParameter",
                                 "The api-version query parameter (?api-version=) is required for all requests.");
    add_arm_headers(r, req);
    return r;
  }
  nlohmann::json claims;
  if (o.arm_requires_token) {
    BearerCheck bearer = check_bearer(impl, req.headers.find("Authorization"));
    if (!bearer.valid) {
      ServerResponse r = arm_error(401, bearer.error_code, bearer.error_message);
      add_arm_headers(r, req);
      return r;
    }
    claims = bearer.claims;
    std::string aud = claims.value("aud", "");
    if (!is_arm_audience(aud)) {
      ServerResponse r = arm_error(401, "InvalidAuthenticationToken",
                                   "The access token has been obtained for wrong audience or resource '" + aud +
                                       "'. It should exactly match with one of the allowed audiences "
                                       "'https://management.core.windows.net/','https://management.core.windows.net',"
                                       "'https://management.azure.com/','https://management.azure.com'.");
      add_arm_headers(r, req);
      return r;
    }
  }
  std::string tid = claims.value("tid", std::string(kHomeTenantId));
  std::string oid = claims.value("oid", std::string(kUserOid));
  std::string id = req.path;
  while (id.size() > 1 && id.back() == '/') id.pop_back();
  std::string path_sub = seg.size() >= 2 && lower(seg[0]) == "subscriptions" ? lower(seg[1]) : "";

  // The primary token must come from the tenant that owns the subscription in the path.
  for (const auto& linked : o.linked_subscriptions) {
    if (!path_sub.empty() && lower(linked.subscription_id) == path_sub && !linked.missing_role &&
        lower(linked.tenant_id) != lower(tid)) {
      ServerResponse r = arm_error(401, "InvalidAuthenticationTokenTenant",
                                   "The access token is from the wrong issuer 'https://sts.windows.net/" + tid +
                                       "/'. It must match the tenant 'https://sts.windows.net/" + linked.tenant_id +
                                       "/' associated with this subscription. Please use the authority (URL) "
                                       "'https://login.windows.net/" + linked.tenant_id + "' to get the token. Note, if the "
                                       "subscription is transferred to another tenant there is no impact to the services, "
                                       "but information about new tenant could take time to propagate (up to an hour). If "
                                       "you just transferred your subscription and see this error message, please try back later.");
      add_arm_headers(r, req);
      return r;
    }
  }

  bool write = req.method == "PUT" || req.method == "PATCH" || req.method == "POST";
  if (write) {
    for (const auto& linked : o.linked_subscriptions) {
      if (lower(linked.subscription_id) == path_sub) continue;
      std::string linked_id = find_linked_reference(req.body, linked.subscription_id);
      if (linked_id.empty()) continue;
      std::string action = action_for(req.method, id);
      if (linked.missing_role) {
        ServerResponse r = arm_error(
            403, "LinkedAuthorizationFailed",
            "The client '" + caller_name(claims) + "' with object id '" + oid + "' has permission to perform action '" +
                action + "' on scope '" + id + "'; however, it does not have permission to perform action(s) '" +
                linked_action_for(linked_id) + "' on the linked scope(s) '" + linked_id +
                "' or the linked scope(s) are invalid.");
        add_arm_headers(r, req);
        return r;
      }
      if (lower(linked.tenant_id) == lower(tid)) continue;
      bool authorized = false;
      if (const std::string* aux = req.headers.find("x-ms-authorization-auxiliary")) {
        for (const auto& token : auxiliary_tokens(*aux)) {
          std::string bearer = "Bearer " + token;
          BearerCheck c = check_bearer(impl, &bearer);
          if (!c.valid) {
            ServerResponse r = arm_error(401, c.error_code, c.error_message + " (auxiliary token)");
            add_arm_headers(r, req);
            return r;
          }
          if (lower(c.claims.value("tid", "")) == lower(linked.tenant_id) && is_arm_audience(c.claims.value("aud", "")))
            authorized = true;
        }
      }
      if (!authorized) {
        ServerResponse r = arm_error(
            403, "LinkedAuthorizationFailed",
            "The client '" + caller_name(claims) + "' with object id '" + oid + "' has permission to perform action '" +
                action + "' on scope '" + id + "'; however, the current tenant '" + tid +
                "' is not authorized to access linked subscription '" + linked.subscription_id + "'.");
        add_arm_headers(r, req);
        return r;
      }
    }
  }

  std::string key = lower(id);
  std::string name = seg.back();
  ServerResponse r;
  if (req.method == "GET" || req.method == "HEAD") {
    nlohmann::json body;
    {
      std::lock_guard<std::mutex> lock(impl.mu);
      auto it = impl.arm_resources.find(key);
      if (it != impl.arm_resources.end()) body = it->second;
    }
    if (body.is_null()) {
      if (seg.size() == 1 && lower(seg[0]) == "subscriptions") {
        body = {{"value", {{{"id", "/subscriptions/" + std::string(kHomeSubscriptionId)},
                            {"subscriptionId", kHomeSubscriptionId},
                            {"tenantId", tid},
                            {"displayName", "Contoso Test"},
                            {"state", "Enabled"}}}}};
      } else if (seg.size() == 2 && lower(seg[0]) == "subscriptions") {
        body = {{"id", id}, {"subscriptionId", seg[1]}, {"tenantId", tid}, {"displayName", "Contoso Test"}, {"state", "Enabled"}};
      } else if (seg.size() == 3 && lower(seg[2]) == "resourcegroups") {
        body = {{"value", nlohmann::json::array()}};
      } else {
        body = {{"id", id}, {"name", name}, {"type", resource_type(id)}, {"location", "westeurope"},
                {"properties", {{"provisioningState", "Succeeded"}}}};
      }
    }
    r = json_response(200, body);
  } else if (req.method == "PUT" || req.method == "PATCH") {
    nlohmann::json in = parse_json_lenient(req.body);
    if (!in.is_object()) in = nlohmann::json::object();
    bool existed;
    nlohmann::json stored;
    {
      std::lock_guard<std::mutex> lock(impl.mu);
      existed = impl.arm_resources.count(key) != 0;
      stored = existed ? impl.arm_resources[key] : nlohmann::json::object();
      if (req.method == "PUT") stored = in;
      else stored.update(in);
      stored["id"] = id;
      stored["name"] = name;
      stored["type"] = resource_type(id);
      if (!stored.contains("properties") || !stored["properties"].is_object()) stored["properties"] = nlohmann::json::object();
      stored["properties"]["provisioningState"] = "Succeeded";
      if (impl.arm_resources.size() < 100000) impl.arm_resources[key] = stored;
    }
    r = json_response(req.method == "PUT" && !existed ? 201 : 200, stored);
  } else if (req.method == "DELETE") {
    size_t erased;
    {
      std::lock_guard<std::mutex> lock(impl.mu);
      erased = impl.arm_resources.erase(key);
    }
    r = json_response(erased ? 200 : 204, nlohmann::json::object());
    if (!erased) r.body.clear();
  } else if (req.method == "POST") {
    r = json_response(200, {{"status", "Succeeded"}, {"action", name}});
  } else {
    r = arm_error(405, "MethodNotAllowed", "The requested method " + req.method + " is not allowed.");
  }
  add_arm_headers(r, req);
  return r;
}

std::optional<ServerResponse> route_graph(FakeEntraServer::Impl& impl, const ServerRequest& req) {
  if (req.path.rfind("/v1.0/", 0) != 0 && req.path.rfind("/beta/", 0) != 0) return std::nullopt;
  auto graph_error = [](int status, const std::string& code, const std::string& message) {
    return json_response(status, {{"error", {{"code", code}, {"message", message},
                                             {"innerError", {{"date", "2026-01-01T00:00:00"}, {"request-id", random_guid()}, {"client-request-id", random_guid()}}}}}});
  };
  nlohmann::json claims;
  if (impl.options->arm_requires_token) {
    BearerCheck bearer = check_bearer(impl, req.headers.find("Authorization"));
    if (!bearer.present) return graph_error(401, "InvalidAuthenticationToken", "Access token is empty.");
    if (!bearer.valid) return graph_error(401, "InvalidAuthenticationToken", "Access token validation failure.");
    if (!is_graph_audience(bearer.claims.value("aud", "")))
      return graph_error(401, "InvalidAuthenticationToken", "Access token validation failure. Invalid audience.");
    claims = bearer.claims;
  }
  std::string rest = req.path.substr(req.path.find('/', 1));
  if (rest == "/me" || rest == "/me/") {
    std::string upn = claims.value("upn", claims.value("preferred_username", std::string(kUserUpn)));
    std::string version = req.path.rfind("/beta/", 0) == 0 ? "beta" : "v1.0";
    return json_response(200, {{"@odata.context", "https://graph.microsoft.com/" + version + "/$metadata#users/$entity"},
                               {"businessPhones", nlohmann::json::array()},
                               {"displayName", claims.value("name", std::string(kUserName))},
                               {"givenName", "Alex"},
                               {"jobTitle", nullptr},
                               {"mail", upn},
                               {"mobilePhone", nullptr},
                               {"officeLocation", nullptr},
                               {"preferredLanguage", "en-US"},
                               {"surname", "Wilber"},
                               {"userPrincipalName", upn},
                               {"id", claims.value("oid", std::string(kUserOid))}});
  }
  return graph_error(404, "Request_ResourceNotFound", "Resource '" + rest + "' does not exist or one of its queried reference-property objects are not present.");
}

}  // namespace authscope::testkit
