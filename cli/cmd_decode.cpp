// authscope decode [TOKEN|-] [--jwks FILE] [--rules DIR] [--json]: a readable breakdown of one
// token, like jwt.ms plus signature verification. Client and resource names come from --rules
// DIR's known-apps.json (as for analyze/report), else from the compiled-in copy. Offline and passive: keys come only from --jwks (never
// from the token's jku/x5u/kid); times are shown in UTC and relative to now.
// Input that is not a JWT (empty, malformed, or an opaque value) exits 1 with a one-line reason.
#include <iostream>
#include <string>

#include <fmt/format.h>

#include "analyzers/http_text.h"
#include "analyzers/jwks.h"
#include "analyzers/jwt.h"
#include "analyzers/known_apps.h"
#include "analyzers/token_info.h"
#include "cli/cli.h"
#include "cli/cli_support.h"
#include "cli/store_annotator.h"

namespace authscope {
namespace {

constexpr const char* kCommand = "decode";
// NumericDate claims rendered with readable times (RFC 7519 §4.1 plus OIDC auth_time).
constexpr const char* kTimeClaims[] = {"iat", "nbf", "exp", "auth_time"};

bool is_time_claim(const std::string& name) {
  for (const char* t : kTimeClaims) {
    if (name == t) return true;
  }
  return false;
}

// Accepts what people paste: the bare token, "Bearer <t>", "Authorization: Bearer <t>", with
// surrounding whitespace or quotes.
std::string clean_input(std::string_view in) {
  auto strip = [](std::string_view s) {
    while (!s.empty() && (s.front() == ' ' || s.front() == '\t' || s.front() == '\r' || s.front() == '\n' ||
                          s.front() == '"' || s.front() == '\'')) {
      s.remove_prefix(1);
    }
    while (!s.empty() && (s.back() == ' ' || s.back() == '\t' || s.back() == '\r' || s.back() == '\n' ||
                          s.back() == '"' || s.back() == '\'')) {
      s.remove_suffix(1);
    }
    return s;
  };
  std::string_view s = strip(in);
  if (istarts_with(s, "Authorization:")) s = strip(s.substr(14));
  for (std::string_view scheme : {"Bearer ", "PoP ", "EncryptedBearer "}) {
    if (istarts_with(s, scheme)) s = strip(s.substr(scheme.size()));
  }
  return std::string(s);
}

std::string describe_status(SignatureStatus st, bool have_keys, const DecodedToken& d) {
  switch (st) {
    case SignatureStatus::kVerified: return fmt::format("verified (key {})", d.kid().empty() ? "without kid" : d.kid());
    case SignatureStatus::kBadSignature: return "bad-signature: the signature does not match the key; do not trust this token";
    case SignatureStatus::kUnknownKey:
      return fmt::format("unknown-key: no key with kid {} in the JWKS given", d.kid().empty() ? "(none)" : d.kid());
    case SignatureStatus::kUnsupportedAlg: return fmt::format("unsupported-alg: {} cannot be verified by authscope", d.alg());
    case SignatureStatus::kAlgNone: return "alg-none: the token is unsigned; never accept it";
    case SignatureStatus::kNotVerifiable:
      return "not-verifiable: the header carries a nonce (Microsoft Graph token); only Graph can verify it";
    case SignatureStatus::kRedacted: return "redacted: the signature was removed at rest";
    case SignatureStatus::kUnverified:
      return have_keys ? "unverified" : "unverified (no keys: pass --jwks FILE with the issuer's JWKS)";
  }
  return "unverified";
}

nlohmann::ordered_json time_json(int64_t t, int64_t now) {
  return {{"value", t}, {"utc", format_time_utc(t)}, {"relative", relative_phrase(t, now, true)}};
}

nlohmann::ordered_json info_json(const TokenInfo& i, int64_t now) {
  nlohmann::ordered_json j;
  j["version"] = i.version;
  j["token_use"] = i.token_use;
  j["tenant"] = i.tenant;
  j["subject"] = i.subject;
  j["user"] = i.user;
  j["client_id"] = i.client_id;
  j["client_name"] = i.client_name;
  j["audience"] = i.audience;
  j["audience_name"] = i.audience_name;
  j["resource_app_id"] = i.resource_app_id;
  j["scopes"] = i.scopes;
  j["roles"] = i.roles;
  j["wids"] = i.wids;
  j["idtyp"] = i.idtyp;
  j["idtyp_inferred"] = i.idtyp_inferred;
  j["amr"] = i.amr;
  j["acr"] = i.acr;
  j["nonce"] = i.nonce;
  j["header_nonce"] = i.header_nonce;
  if (i.iat) j["iat"] = time_json(*i.iat, now);
  if (i.nbf) j["nbf"] = time_json(*i.nbf, now);
  if (i.exp) {
    j["exp"] = time_json(*i.exp, now);
    j["expiry"] = expiry_phrase(*i.exp, now, true);
  }
  if (i.iat && i.exp) j["lifetime"] = format_duration(*i.exp - *i.iat);
  return j;
}

std::string join(const std::vector<std::string>& v) {
  std::string s;
  for (const auto& x : v) s += (s.empty() ? "" : " ") + x;
  return s;
}

void print_text(std::ostream& out, const DecodedToken& d, const TokenInfo& i, const std::string& status,
                int64_t now, const KnownApps& apps) {
  if (d.format == TokenFormat::kJwe) {
    out << fmt::format("JWE (encrypted token), alg {}, enc {}: contents are encrypted for the resource and not "
                       "readable\n\nHeader\n{}\n",
                       d.alg(), json_string(d.header, "enc").value_or("?"), d.header.dump(2));
    return;
  }
  out << fmt::format("JWS (signed token), alg {}{}\n", d.alg(), d.kid().empty() ? "" : ", kid " + d.kid());
  out << "signature: " << status << "\n\n";
  out << "Header\n" << d.header.dump(2) << "\n\nClaims\n";
  size_t width = 0;
  for (auto it = d.claims.begin(); it != d.claims.end(); ++it) width = std::max(width, it.key().size());
  width = std::min<size_t>(width, 24);
  for (auto it = d.claims.begin(); it != d.claims.end(); ++it) {
    std::string value = it.value().dump();
    if (value.size() > 200) value = value.substr(0, 197) + "...";
    std::string note;
    if (is_time_claim(it.key()) && it.value().is_number()) {
      int64_t t = it.value().is_number_integer() ? it.value().get<int64_t>()
                                                 : static_cast<int64_t>(std::max(-4e18, std::min(4e18, it.value().get<double>())));
      note = format_time_utc(t) + " (" + relative_phrase(t, now, true) + ")";
    } else if ((it.key() == "appid" || it.key() == "azp") && it.value().is_string()) {
      if (const std::string* name = apps.client_name(it.value().get<std::string>())) note = *name;
    } else if (it.key() == "aud" && !i.audience_name.empty()) {
      note = i.audience_name;
    } else if (it.key() == "idtyp" || it.key() == "appidacr" || it.key() == "azpacr") {
      static const char* kAcr[] = {"public client", "client secret", "client certificate"};
      if (it.key() != "idtyp" && it.value().is_string() && it.value().get<std::string>().size() == 1 &&
          it.value().get<std::string>()[0] >= '0' && it.value().get<std::string>()[0] <= '2') {
        note = kAcr[it.value().get<std::string>()[0] - '0'];
      }
    }
    out << fmt::format("  {:<{}}  {}{}\n", it.key(), width, value, note.empty() ? "" : "   " + note);
  }

  out << "\nSummary\n";
  std::string kind = (i.version.empty() ? "" : i.version + " ") +
                     (i.token_use.empty() ? std::string("token") : i.token_use == "id_token" ? "ID token" : "access token");
  if (!i.idtyp.empty()) kind += fmt::format(" ({} token{})", i.idtyp, i.idtyp_inferred ? ", inferred" : "");
  out << "  token:     " << kind << "\n";
  std::string who = i.user.empty() ? i.subject : i.user + (i.subject.empty() ? "" : " (" + i.subject + ")");
  if (!who.empty()) out << "  subject:   " << who << "\n";
  if (!i.client_id.empty()) {
    out << "  client:    " << i.client_id << (i.client_name.empty() ? "" : " (" + i.client_name + ")") << "\n";
  }
  if (!i.tenant.empty()) out << "  tenant:    " << i.tenant << "\n";
  if (!i.audience.empty()) {
    out << "  audience:  " << i.audience << (i.audience_name.empty() ? "" : " (" + i.audience_name + ")") << "\n";
  }
  if (!i.scopes.empty()) out << "  scopes:    " << join(i.scopes) << "\n";
  if (!i.roles.empty()) out << "  roles:     " << join(i.roles) << "\n";
  if (!i.wids.empty()) out << "  wids:      " << join(i.wids) << "\n";
  if (!i.amr.empty()) out << "  amr:       " << join(i.amr) << "\n";
  if (i.exp) out << "  expiry:    " << format_time_utc(*i.exp) << " (" << expiry_phrase(*i.exp, now, true) << ")\n";
  if (i.iat && i.exp) out << "  lifetime:  " << format_duration(*i.exp - *i.iat) << "\n";
}

}  // namespace

int cmd_decode(CommandContext& ctx) {
  auto app = cli::make_app(kCommand);
  std::string token_arg = "-";
  std::string jwks_file, rules;
  bool json = false;
  int64_t now_override = 0;
  app->add_option("token", token_arg, "the token, or - (default) to read it from standard input");
  app->add_option("--jwks", jwks_file, "a JWKS file (e.g. saved from .../discovery/v2.0/keys) to verify with");
  app->add_option("--rules", rules, "rule pack directory whose known-apps.json names clients and resources");
  app->add_flag("--json", json, "machine-readable output");
  app->add_option("--now", now_override, "reference time for relative times (Unix seconds; default: now)")
      ->group("");  // hidden: for tests and reproducible output
  if (auto code = cli::parse_args(*app, ctx)) return *code;

  std::string input;
  if (token_arg == "-") {
    // Bounded read: a token is at most kMaxTokenBytes; a little more allows "Bearer " and spaces.
    std::string buf(kMaxTokenBytes + 1024, '\0');
    std::cin.read(buf.data(), static_cast<std::streamsize>(buf.size()));
    buf.resize(static_cast<size_t>(std::cin.gcount()));
    input = std::move(buf);
  } else {
    input = token_arg;
  }
  std::string raw = clean_input(input);
  auto decoded = decode_token(raw);
  if (!decoded.ok()) return cli::failure(ctx, kCommand, "not a token: " + decoded.status().message());
  const DecodedToken& d = decoded.value();
  if (d.format == TokenFormat::kOpaque) {
    return cli::failure(ctx, kCommand,
                        fmt::format("not a JWT: an opaque value (fingerprint {}){}; refresh tokens and codes cannot "
                                    "be decoded",
                                    d.fingerprint, d.redacted ? ", redacted" : ""));
  }

  JwksIndex keys;
  if (!jwks_file.empty()) {
    auto text = cli::read_file(jwks_file, 4 * 1024 * 1024);
    if (!text.ok()) return cli::failure(ctx, kCommand, text.status().message());
    auto doc = parse_json(text.value());
    if (!doc) return cli::failure(ctx, kCommand, jwks_file + ": not JSON");
    if (keys.add_jwks(*doc) == 0) return cli::failure(ctx, kCommand, jwks_file + ": no usable RSA or EC signing key");
  }

  auto known = cli::known_apps_for(rules);
  if (!known.ok()) return cli::failure(ctx, kCommand, known.status().message());
  const KnownApps& apps = known.value();
  const int64_t now = now_override != 0 ? now_override : now_us() / 1000000;
  TokenInfo info = interpret(d, apps);
  SignatureStatus status = keys.verify(d);

  if (json) {
    nlohmann::ordered_json j;
    j["format"] = d.format == TokenFormat::kJws ? "jws" : "jwe";
    j["header"] = d.header;
    j["claims"] = d.claims;
    j["signature"] = {{"status", to_string(status)}, {"detail", describe_status(status, !keys.empty(), d)}};
    j["fingerprint"] = d.fingerprint;
    j["redacted"] = d.redacted;
    if (d.format == TokenFormat::kJws) j["info"] = info_json(info, now);
    ctx.out << j.dump(2) << "\n";
    return kExitOk;
  }
  print_text(ctx.out, d, info, describe_status(status, !keys.empty(), d), now, apps);
  return kExitOk;
}

}  // namespace authscope
