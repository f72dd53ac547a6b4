// Entra-shaped claim sets. Which claim belongs to which token version follows
// shared/reference/entra-reference.json "token_formats": v1 has appid/appidacr/unique_name/upn,
// v2 has azp/azpacr/preferred_username; app-only tokens have roles and idtyp "app", never scp.
#include <chrono>

#include "tests/support/entra_constants.h"
#include "tests/support/token_signer.h"

namespace authscope::testkit {
namespace {

std::string or_default(const std::string& v, std::string_view d) { return v.empty() ? std::string(d) : v; }

int64_t issued_at(const TokenSpec& s) {
  if (s.iat != 0) return s.iat;
  return std::chrono::duration_cast<std::chrono::seconds>(std::chrono::system_clock::now().time_since_epoch())
      .count();
}

std::string join(const std::vector<std::string>& v) {
  std::string out;
  for (const auto& s : v) {
    if (!out.empty()) out += ' ';
    out += s;
  }
  return out;
}

// sub is pairwise per app in Entra; a stable hash of (oid, client) keeps that property.
std::string pairwise_sub(const std::string& oid, const std::string& client) {
  return b64url(sha256_raw(oid + "|" + client)).substr(0, 43);
}

void common_times(nlohmann::json& c, const TokenSpec& s) {
  int64_t iat = issued_at(s);
  c["iat"] = iat;
  c["nbf"] = iat;
  c["exp"] = iat + s.lifetime_s;
}

}  // namespace

nlohmann::json v1_access_token_claims(const TokenSpec& s) {
  std::string tid = or_default(s.tenant_id, kHomeTenantId);
  std::string client = or_default(s.client_id, kAzureCliClientId);
  std::string oid = or_default(s.oid, s.app_only ? kAppOid : kUserOid);
  nlohmann::json c;
  c["aud"] = or_default(s.audience, kArmResource);
  c["iss"] = "https://sts.windows.net/" + tid + "/";
  common_times(c, s);
  c["aio"] = "E2ZgYDg" + random_b64url(12);
  c["appid"] = client;
  c["appidacr"] = s.app_only ? "1" : "0";
  if (s.app_only) {
    c["idp"] = "https://sts.windows.net/" + tid + "/";
    c["idtyp"] = "app";
  } else {
    c["acr"] = "1";
    c["amr"] = nlohmann::json::array({"pwd", "mfa"});
    c["name"] = or_default(s.name, kUserName);
    c["unique_name"] = or_default(s.upn, kUserUpn);
    c["upn"] = or_default(s.upn, kUserUpn);
    c["ipaddr"] = "127.0.0.1";
  }
  c["oid"] = oid;
  c["rh"] = "0.A" + random_b64url(18) + ".";
  if (!s.app_only && !s.scopes.empty()) c["scp"] = join(s.scopes);
  if (!s.roles.empty()) c["roles"] = s.roles;
  c["sub"] = pairwise_sub(oid, client);
  c["tid"] = tid;
  c["uti"] = random_b64url(16);
  c["ver"] = "1.0";
  return c;
}

nlohmann::json v2_access_token_claims(const TokenSpec& s) {
  std::string tid = or_default(s.tenant_id, kHomeTenantId);
  std::string client = or_default(s.client_id, kAzureCliClientId);
  std::string oid = or_default(s.oid, s.app_only ? kAppOid : kUserOid);
  nlohmann::json c;
  c["aud"] = or_default(s.audience, kArmResource);
  c["iss"] = "https://login.microsoftonline.com/" + tid + "/v2.0";
  common_times(c, s);
  c["aio"] = "E2ZgYDg" + random_b64url(12);
  c["azp"] = client;
  c["azpacr"] = s.app_only ? "1" : "0";
  if (s.app_only) {
    c["idtyp"] = "app";
  } else {
    c["name"] = or_default(s.name, kUserName);
    c["preferred_username"] = or_default(s.upn, kUserUpn);
  }
  c["oid"] = oid;
  c["rh"] = "0.A" + random_b64url(18) + ".";
  if (!s.app_only && !s.scopes.empty()) c["scp"] = join(s.scopes);
  if (!s.roles.empty()) c["roles"] = s.roles;
  c["sub"] = pairwise_sub(oid, client);
  c["tid"] = tid;
  c["uti"] = random_b64url(16);
  c["ver"] = "2.0";
  return c;
}

nlohmann::json id_token_claims(const TokenSpec& s, bool v2) {
  std::string tid = or_default(s.tenant_id, kHomeTenantId);
  std::string client = or_default(s.client_id, kAzureCliClientId);
  std::string oid = or_default(s.oid, kUserOid);
  nlohmann::json c;
  // OIDC Core §2: aud "MUST contain the OAuth 2.0 client_id of the Relying Party".
  c["aud"] = client;
  c["iss"] = v2 ? "https://login.microsoftonline.com/" + tid + "/v2.0" : "https://sts.windows.net/" + tid + "/";
  common_times(c, s);
  c["name"] = or_default(s.name, kUserName);
  // OIDC Core §3.1.2.1: "If present in the Authentication Request, Authorization Servers MUST
  // include a nonce Claim in the ID Token with the Claim Value being the nonce value sent".
  if (!s.nonce.empty()) c["nonce"] = s.nonce;
  c["oid"] = oid;
  if (v2) {
    c["preferred_username"] = or_default(s.upn, kUserUpn);
    c["rh"] = "0.A" + random_b64url(18) + ".";
  } else {
    c["amr"] = nlohmann::json::array({"pwd"});
    c["unique_name"] = or_default(s.upn, kUserUpn);
    c["upn"] = or_default(s.upn, kUserUpn);
  }
  c["sub"] = pairwise_sub(oid, client);
  c["tid"] = tid;
  c["uti"] = random_b64url(16);
  c["ver"] = v2 ? "2.0" : "1.0";
  return c;
}

}  // namespace authscope::testkit
