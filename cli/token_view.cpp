#include "cli/token_view.h"

#include <fmt/format.h>

#include "analyzers/flow_annotator.h"
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
std::string masked(size_t chars) { return fmt::format("({} chars, not shown)", chars); }

// The length of an unredacted secret's value (records never hold it): found again in the flow.
size_t secret_length(const Flow& flow, const TokenRecord& r, std::optional<std::vector<FoundToken>>& found) {
  if (!found) found = find_tokens(flow);
  for (const FoundToken& f : *found) {
    if (f.location == r.location && f.kind == r.kind) return f.raw.size();
  }
  return 0;
}

std::string signature_line(const TokenRecord& r) {
  if (!r.redacted) return "signature: " + r.signature;
  // Verified (or refuted) before redaction: the verdict stands although the bytes are gone.
  if (r.signature == to_string(SignatureStatus::kRedacted)) return "signature: redacted (removed at rest)";
  return fmt::format("signature: {} (checked at capture; removed at rest)", r.signature);
}

}  // namespace

std::vector<TokenView> view_token_records(const Flow& flow, const std::vector<TokenRecord>& records,
                                          const KnownApps& apps) {
  std::vector<TokenView> views;
  std::optional<std::vector<FoundToken>> found;  // only for unredacted secrets
  int64_t request_time = flow.times.start_us / 1'000'000;
  for (const TokenRecord& r : records) {
    TokenView v;
    v.location = r.location;
    v.kind = r.kind;
    v.scheme = r.scheme;
    v.json["location"] = r.location;
    v.json["kind"] = r.kind;
    v.json["scheme"] = r.scheme;
    v.json["redacted"] = r.redacted;
    if (r.format == "secret") {
      // Passwords and client secrets are shown only as their shape, never decoded or echoed.
      v.lines.push_back(r.redacted ? "value redacted at rest" : "secret value " + masked(secret_length(flow, r, found)));
      views.push_back(std::move(v));
      continue;
    }
    if (r.format == "malformed") {
      v.error = r.error;
      v.json["error"] = v.error;
      views.push_back(std::move(v));
      continue;
    }
    if (r.format == "opaque") {
      v.lines.push_back(r.redacted ? fmt::format("opaque value, redacted (fingerprint {})", r.fingerprint)
                                   : fmt::format("opaque value (fingerprint {})", r.fingerprint));
      v.json["format"] = "opaque";
      v.json["fingerprint"] = r.fingerprint;
      views.push_back(std::move(v));
      continue;
    }
    DecodedToken d = decoded_from_record(r);
    v.decoded = true;
    v.json["format"] = r.format;
    v.json["header"] = d.header;
    v.json["claims"] = d.claims;
    v.json["signature"] = r.signature;
    v.json["fingerprint"] = r.fingerprint;
    if (d.format == TokenFormat::kJwe) {
      v.lines.push_back(fmt::format("encrypted token (JWE, alg {}); contents not readable", d.alg()));
      views.push_back(std::move(v));
      continue;
    }
    TokenInfo info = interpret(d, apps);
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
    v.lines.push_back(signature_line(r));
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

std::vector<TokenView> view_tokens(const Flow& flow, const KnownApps& apps, const JwksIndex& keys) {
  std::vector<TokenRecord> records;
  for (const FoundToken& found : find_tokens(flow)) records.push_back(token_record(found, keys));
  return view_token_records(flow, records, apps);
}

}  // namespace authscope::cli
