#include "analyzers/token_info.h"

#include <cmath>
#include <cstdio>

#include "analyzers/classify.h"
#include "analyzers/http_text.h"

namespace authscope {
namespace {

constexpr int64_t kMinRenderable = -62135596800LL;  // 0001-01-01T00:00:00Z
constexpr int64_t kMaxRenderable = 253402300799LL;  // 9999-12-31T23:59:59Z
constexpr int64_t kClampSeconds = int64_t{1} << 62;

std::string claim_string(const nlohmann::json& claims, const char* name) {
  auto v = json_string(claims, name);
  return v ? *v : std::string();
}

// RFC 7519 §2 NumericDate: "A JSON numeric value representing the number of seconds from
// 1970-01-01T00:00:00Z UTC ... ignoring leap seconds". Non-integer values are allowed; values
// out of any sane range are clamped (and later rendered as out of range), never UB.
std::optional<int64_t> numeric_date(const nlohmann::json& claims, const char* name) {
  auto it = claims.find(name);
  if (it == claims.end()) return std::nullopt;
  if (it->is_number_integer()) {
    if (it->is_number_unsigned()) {
      uint64_t u = it->get<uint64_t>();
      return u > static_cast<uint64_t>(kClampSeconds) ? kClampSeconds : static_cast<int64_t>(u);
    }
    int64_t v = it->get<int64_t>();
    return std::max(-kClampSeconds, std::min(kClampSeconds, v));
  }
  if (it->is_number_float()) {
    double d = it->get<double>();
    if (std::isnan(d)) return std::nullopt;
    if (d >= static_cast<double>(kClampSeconds)) return kClampSeconds;
    if (d <= -static_cast<double>(kClampSeconds)) return -kClampSeconds;
    return static_cast<int64_t>(std::floor(d));
  }
  return std::nullopt;
}

std::vector<std::string> string_or_array(const nlohmann::json& claims, const char* name) {
  std::vector<std::string> out;
  auto it = claims.find(name);
  if (it == claims.end()) return out;
  if (it->is_string()) {
    out.push_back(it->get<std::string>());
  } else if (it->is_array()) {
    for (const auto& v : *it) {
      if (v.is_string() && out.size() < 1024) out.push_back(v.get<std::string>());
    }
  }
  return out;
}

std::vector<std::string> split_spaces(std::string_view s) {
  std::vector<std::string> out;
  size_t pos = 0;
  while (pos < s.size() && out.size() < 1024) {
    size_t sp = s.find(' ', pos);
    if (sp == std::string_view::npos) sp = s.size();
    if (sp > pos) out.emplace_back(s.substr(pos, sp - pos));
    pos = sp + 1;
  }
  return out;
}

// Tenant GUID in an issuer "https://sts.windows.net/{tid}/" or ".../{tid}/v2.0".
std::string tenant_from_issuer(std::string_view iss) {
  UrlParts parts = split_url(iss);
  auto segs = path_segments(parts.path);
  if (!segs.empty() && is_guid(segs[0])) return ascii_lower(segs[0]);
  return {};
}

// Howard Hinnant's days_from_civil inverse (public domain algorithm): proleptic Gregorian.
void civil_from_days(int64_t z, int64_t* y, unsigned* m, unsigned* d) {
  z += 719468;
  const int64_t era = (z >= 0 ? z : z - 146096) / 146097;
  const unsigned doe = static_cast<unsigned>(z - era * 146097);
  const unsigned yoe = (doe - doe / 1460 + doe / 36524 - doe / 146096) / 365;
  const int64_t yy = static_cast<int64_t>(yoe) + era * 400;
  const unsigned doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
  const unsigned mp = (5 * doy + 2) / 153;
  *d = doy - (153 * mp + 2) / 5 + 1;
  *m = mp < 10 ? mp + 3 : mp - 9;
  *y = yy + (*m <= 2);
}

}  // namespace

std::string format_time_utc(int64_t seconds) {
  if (seconds < kMinRenderable || seconds > kMaxRenderable) {
    return std::to_string(seconds) + " (out of range)";
  }
  int64_t days = seconds / 86400;
  int64_t rem = seconds % 86400;
  if (rem < 0) {
    rem += 86400;
    --days;
  }
  int64_t y;
  unsigned m, d;
  civil_from_days(days, &y, &m, &d);
  char buf[32];
  std::snprintf(buf, sizeof buf, "%04lld-%02u-%02uT%02lld:%02lld:%02lldZ", static_cast<long long>(y), m, d,
                static_cast<long long>(rem / 3600), static_cast<long long>(rem / 60 % 60),
                static_cast<long long>(rem % 60));
  return buf;
}

std::string format_duration(int64_t seconds) {
  uint64_t s = seconds < 0 ? 0 - static_cast<uint64_t>(seconds) : static_cast<uint64_t>(seconds);
  if (s < 120) return std::to_string(s) + " s";
  uint64_t min = s / 60;
  if (min < 120) return std::to_string(min) + " min";
  uint64_t h = min / 60;
  if (h < 48) return std::to_string(h) + " h";
  uint64_t days = h / 24;
  if (days < 30 && h % 24 != 0) return std::to_string(days) + " d " + std::to_string(h % 24) + " h";
  return std::to_string(days) + " d";
}

std::string relative_phrase(int64_t t, int64_t reference, bool reference_is_now) {
  // Subtract in unsigned space: both are clamped to 2^62, so the difference fits in int64.
  int64_t delta = t - reference;
  if (reference_is_now) {
    if (delta == 0) return "now";
    return delta > 0 ? "in " + format_duration(delta) : format_duration(delta) + " ago";
  }
  if (delta == 0) return "at the request";
  return format_duration(delta) + (delta > 0 ? " after the request" : " before the request");
}

std::string expiry_phrase(int64_t exp, int64_t reference, bool reference_is_now) {
  bool expired = exp <= reference;  // RFC 7519 §4.1.4: "on or after" exp it MUST NOT be accepted
  return (expired ? "expired " : "expires ") + relative_phrase(exp, reference, reference_is_now);
}

TokenInfo interpret(const DecodedToken& token, const KnownApps& apps) {
  TokenInfo info;
  const nlohmann::json& c = token.claims;
  if (!c.is_object()) return info;
  info.issuer = claim_string(c, "iss");
  std::string ver = claim_string(c, "ver");
  if (ver == "1.0" || istarts_with(info.issuer, "https://sts.windows.net/")) {
    info.version = "v1";
  } else if (ver == "2.0" || iends_with(info.issuer, "/v2.0") || iends_with(info.issuer, "/v2.0/")) {
    info.version = "v2";
  }
  info.tenant = ascii_lower(claim_string(c, "tid"));
  if (info.tenant.empty()) info.tenant = tenant_from_issuer(info.issuer);
  info.oid = claim_string(c, "oid");
  info.sub = claim_string(c, "sub");
  info.subject = !info.oid.empty() ? info.oid : info.sub;
  for (const char* name : {"upn", "preferred_username", "unique_name", "email"}) {
    info.user = claim_string(c, name);
    if (!info.user.empty()) break;
  }
  info.client_id = claim_string(c, "azp");
  if (info.client_id.empty()) info.client_id = claim_string(c, "appid");
  if (const std::string* name = apps.client_name(info.client_id)) info.client_name = *name;
  info.audiences = string_or_array(c, "aud");
  if (!info.audiences.empty()) info.audience = info.audiences.front();
  if (const KnownResource* res = apps.resource_for_audience(info.audience)) {
    info.audience_name = res->name;
    info.resource_app_id = res->app_id;
  } else if (!info.audience.empty() && ascii_lower(info.audience) == ascii_lower(info.client_id)) {
    info.audience_name = "(the client itself)";
  }
  info.scopes = split_spaces(claim_string(c, "scp"));
  info.roles = string_or_array(c, "roles");
  info.wids = string_or_array(c, "wids");
  info.amr = string_or_array(c, "amr");
  info.acr = claim_string(c, "acr");
  info.idtyp = claim_string(c, "idtyp");
  if (info.idtyp.empty()) {
    // Entra-reference token_formats.scp_vs_roles: scp only in user tokens; roles without scp
    // means application permissions (client credentials).
    if (info.scopes.empty() && !info.roles.empty()) {
      info.idtyp = "app";
      info.idtyp_inferred = true;
    } else if (!info.scopes.empty()) {
      info.idtyp = "user";
      info.idtyp_inferred = true;
    }
  }
  info.iat = numeric_date(c, "iat");
  info.nbf = numeric_date(c, "nbf");
  info.exp = numeric_date(c, "exp");
  info.nonce = claim_string(c, "nonce");
  info.header_nonce = token.header.is_object() && token.header.contains("nonce");
  info.appidacr = claim_string(c, "appidacr");
  if (info.appidacr.empty()) info.appidacr = claim_string(c, "azpacr");
  info.uti = claim_string(c, "uti");
  if (!info.scopes.empty() || !info.roles.empty()) {
    info.token_use = "access_token";
  } else if (token.format == TokenFormat::kJws &&
             (!info.nonce.empty() || (!c.contains("appid") && !c.contains("azp") && c.contains("aud")))) {
    // OIDC Core §2: an ID token's aud is the client; Entra ID tokens carry neither appid nor azp.
    info.token_use = "id_token";
  }
  return info;
}

}  // namespace authscope
