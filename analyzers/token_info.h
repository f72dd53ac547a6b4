// TokenInfo: what a decoded Entra token says, in the words a person debugging sign-in uses
// (who it names, which app asked, for which resource and tenant, what it allows, when it dies).
// Pure interpretation of claims: no clock (relative times take the reference time as an
// argument, normally the flow's request time), no I/O.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "analyzers/jwt.h"
#include "analyzers/known_apps.h"

namespace authscope {

struct TokenInfo {
  std::string version;   // "v1" (iss https://sts.windows.net/{tid}/ or ver "1.0"), "v2", or ""
  std::string issuer;    // iss
  std::string tenant;    // tid (or the GUID in a v1/v2 issuer when tid is missing)
  std::string subject;   // oid when present, else sub
  std::string oid, sub;
  std::string user;      // upn, else preferred_username, else unique_name, else email
  std::string client_id;    // azp (v2) or appid (v1)
  std::string client_name;  // from KnownApps, "" when not first-party/known
  std::vector<std::string> audiences;  // aud (string or array)
  std::string audience;                // first aud
  std::string audience_name;           // known resource name for aud, ""
  std::string resource_app_id;         // known resource app id for aud, ""
  std::vector<std::string> scopes;     // scp split on spaces
  std::vector<std::string> roles;
  std::vector<std::string> wids;
  std::vector<std::string> amr;
  std::string acr;
  std::string idtyp;     // "app" or "user": the claim, else inferred (roles and no scp -> app)
  bool idtyp_inferred = false;
  std::optional<int64_t> iat, nbf, exp;  // seconds since the epoch
  std::string nonce;          // claims nonce (ID tokens echo the authorization request's)
  bool header_nonce = false;  // Graph-style header nonce: only Microsoft Graph can verify
  std::string token_use;      // "id_token" (aud == client, nonce or no scp/roles with v2 id ver)
                              // "access_token" (scp/roles), or ""
  std::string appidacr;       // appidacr/azpacr: 0 public, 1 secret, 2 certificate
  std::string uti;
};

TokenInfo interpret(const DecodedToken& token, const KnownApps& apps);

// ISO-8601 UTC "2024-05-01T12:00:00Z". Safe for absurd values: anything before 0001-01-01 or
// after 9999-12-31 renders as "<n> (out of range)".
std::string format_time_utc(int64_t seconds);
// "45 s", "59 min", "3 h", "2 d 4 h", "400 d" (absolute value; coarse on purpose).
std::string format_duration(int64_t seconds);
// Phrases relative to a reference time. When `reference_is_now` is true: "expires in 59 min",
// "expired 3 h ago"; otherwise relative to the request: "expires 59 min after the request",
// "expired 3 h before the request".
std::string expiry_phrase(int64_t exp, int64_t reference, bool reference_is_now);
// Generic: "in 5 min" / "5 min ago" (now) or "5 min after the request" / "... before ...".
std::string relative_phrase(int64_t t, int64_t reference, bool reference_is_now);

}  // namespace authscope
