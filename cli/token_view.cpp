#include "cli/token_view.h"

#include <fmt/format.h>

#include "analyzers/jwt.h"
#include "analyzers/token_discovery.h"
#include "analyzers/token_info.h"

namespace authscope::cli {

namespace {

std::string join(const std::vector<std::string>& v, const char* sep = " ") {
  std::string s;
  for (const auto& x : v) s += (s.empty() ? "" : sep) + x;
  return s;
}

// Never any character of a secret: a prefix of a password is a password hint.
std::string masked(const std::string& raw) { return fmt::format("({} chars, not shown)", raw.size()); }

}  // namespace

std::vector<TokenView> view_tokens(const Flow& flow, const KnownApps& apps, const JwksIndex& keys) {
  std::vector<TokenView> views;
  int64_t request_time = flow.times.start_us / 1'000'000;
  for (const FoundToken& found : find_tokens(flow)) {
    TokenView v;
    v.location = found.location;
    v.kind = found.kind;
    v.scheme = found.scheme;
    v.json["location"] = found.location;
    v.json["kind"] = found.kind;
    v.json["scheme"] = found.scheme;
    v.json["redacted"] = found.redacted;
    if (is_secret_kind(found.kind)) {
      // Passwords and client secrets are shown only as their shape, never decoded or echoed.
      v.lines.push_back(found.redacted ? "value redacted at rest" : "secret value " + masked(found.raw));
      views.push_back(std::move(v));
      continue;
    }
    auto decoded = decode_token(found.raw);
    if (!decoded.ok()) {
      v.error = decoded.status().message();
      v.json["error"] = v.error;
      views.push_back(std::move(v));
      continue;
    }
    const DecodedToken& d = decoded.value();
    if (d.format == TokenFormat::kOpaque) {
      v.lines.push_back(d.redacted ? fmt::format("opaque value, redacted (fingerprint {})", d.fingerprint)
                                   : fmt::format("opaque value (fingerprint {})", d.fingerprint));
      v.json["format"] = "opaque";
      v.json["fingerprint"] = d.fingerprint;
      views.push_back(std::move(v));
      continue;
    }
    v.decoded = true;
    TokenInfo info = interpret(d, apps);
    SignatureStatus sig = keys.verify(d);
    v.json["format"] = d.format == TokenFormat::kJws ? "jws" : "jwe";
    v.json["header"] = d.header;
    v.json["claims"] = d.claims;
    v.json["signature"] = to_string(sig);
    v.json["fingerprint"] = d.fingerprint;
    if (d.format == TokenFormat::kJwe) {
      v.lines.push_back(fmt::format("encrypted token (JWE, alg {}); contents not readable", d.alg()));
      views.push_back(std::move(v));
      continue;
    }
    std::string who = !info.user.empty() ? info.user : info.subject;
    if (!info.idtyp.empty()) who += fmt::format(" ({}{})", info.idtyp, info.idtyp_inferred ? ", inferred" : "");
    if (!who.empty()) v.lines.push_back("subject:   " + who);
    if (!info.client_id.empty()) {
      v.lines.push_back("client:    " + info.client_id + (info.client_name.empty() ? "" : " (" + info.client_name + ")"));
    }
    if (!info.tenant.empty()) v.lines.push_back("tenant:    " + info.tenant + (info.version.empty() ? "" : "  token " + info.version));
    if (!info.audience.empty()) {
      v.lines.push_back("audience:  " + info.audience + (info.audience_name.empty() ? "" : " (" + info.audience_name + ")"));
    }
    if (!info.scopes.empty()) v.lines.push_back("scopes:    " + join(info.scopes));
    if (!info.roles.empty()) v.lines.push_back("roles:     " + join(info.roles));
    if (info.iat) v.lines.push_back("issued:    " + format_time_utc(*info.iat));
    if (info.exp) {
      v.lines.push_back(fmt::format("expires:   {} ({})", format_time_utc(*info.exp),
                                    expiry_phrase(*info.exp, request_time, false)));
    }
    if (!info.nonce.empty()) v.lines.push_back("nonce:     " + info.nonce);
    v.lines.push_back(fmt::format("signature: {}{}", to_string(sig), d.redacted ? " (removed at rest)" : ""));
    v.json["info"] = {{"version", info.version},     {"tenant", info.tenant},   {"subject", info.subject},
                      {"user", info.user},           {"client_id", info.client_id},
                      {"client_name", info.client_name}, {"audience", info.audience},
                      {"audience_name", info.audience_name}, {"scopes", info.scopes},
                      {"roles", info.roles},         {"idtyp", info.idtyp}};
    if (info.exp) v.json["info"]["exp"] = format_time_utc(*info.exp);
    views.push_back(std::move(v));
  }
  return views;
}

}  // namespace authscope::cli
