// authscope tokens [--db F] [--json]: every token in a capture store with the flow and location
// it was seen at, its kind, who it names, which app asked, tenant, audience, scopes/roles, expiry
// (relative to that flow's request) and a truthful signature status (keys: every JWKS captured in
// the same store). Two streaming passes (keys, then tokens), so memory stays flat.
#include <ostream>
#include <string>

#include <fmt/format.h>

#include "analyzers/jwks.h"
#include "analyzers/jwt.h"
#include "analyzers/known_apps.h"
#include "analyzers/token_discovery.h"
#include "analyzers/token_info.h"
#include "cli/cli.h"
#include "cli/cli_support.h"

namespace authscope {
namespace {

constexpr const char* kCommand = "tokens";

struct TokenRow {
  int64_t flow = 0;
  std::string location, kind, scheme, format, signature, fingerprint;
  std::string error;
  bool redacted = false;
  bool secret = false;
  TokenInfo info;
  std::string expiry;  // relative to the flow's request
};

std::string join(const std::vector<std::string>& v) {
  std::string s;
  for (const auto& x : v) s += (s.empty() ? "" : " ") + x;
  return s;
}

TokenRow make_row(const Flow& flow, const FoundToken& found, const KnownApps& apps, const JwksIndex& keys) {
  TokenRow row;
  row.flow = flow.id;
  row.location = found.location;
  row.kind = found.kind;
  row.scheme = found.scheme;
  row.redacted = found.redacted;
  row.secret = is_secret_kind(found.kind);
  if (row.secret) {
    row.format = "secret";  // passwords, client secrets, verifiers: never decoded or shown
    return row;
  }
  auto decoded = decode_token(found.raw);
  if (!decoded.ok()) {
    row.format = "malformed";
    row.error = decoded.status().message();
    return row;
  }
  const DecodedToken& d = decoded.value();
  row.fingerprint = d.fingerprint;
  row.format = d.format == TokenFormat::kJws ? "jws" : d.format == TokenFormat::kJwe ? "jwe" : "opaque";
  if (d.format != TokenFormat::kOpaque) row.signature = to_string(keys.verify(d));
  if (d.format == TokenFormat::kJws) {
    row.info = interpret(d, apps);
    if (row.info.exp) {
      row.expiry = format_time_utc(*row.info.exp) + " (" +
                   expiry_phrase(*row.info.exp, flow.times.start_us / 1000000, false) + ")";
    }
  }
  return row;
}

nlohmann::ordered_json row_json(const TokenRow& r) {
  nlohmann::ordered_json j;
  j["flow"] = r.flow;
  j["location"] = r.location;
  j["kind"] = r.kind;
  j["scheme"] = r.scheme;
  j["format"] = r.format;
  j["redacted"] = r.redacted;
  if (!r.error.empty()) j["error"] = r.error;
  if (!r.fingerprint.empty()) j["fingerprint"] = r.fingerprint;
  if (!r.signature.empty()) j["signature"] = r.signature;
  if (r.format == "jws") {
    j["version"] = r.info.version;
    j["subject"] = r.info.subject;
    j["user"] = r.info.user;
    j["client_id"] = r.info.client_id;
    j["client_name"] = r.info.client_name;
    j["tenant"] = r.info.tenant;
    j["audience"] = r.info.audience;
    j["audience_name"] = r.info.audience_name;
    j["scopes"] = r.info.scopes;
    j["roles"] = r.info.roles;
    j["idtyp"] = r.info.idtyp;
    if (r.info.exp) {
      j["exp"] = *r.info.exp;
      j["exp_utc"] = format_time_utc(*r.info.exp);
    }
    if (!r.expiry.empty()) j["expiry"] = r.expiry;
  }
  return j;
}

void print_row(std::ostream& out, const TokenRow& r) {
  std::string status = r.format == "secret"    ? (r.redacted ? "secret, redacted" : "secret, not shown")
                       : r.format == "malformed" ? "malformed: " + r.error
                       : r.format == "opaque"    ? "opaque" + std::string(r.redacted ? ", redacted" : "") + " " + r.fingerprint
                       : r.format == "jwe"       ? "encrypted (JWE), " + r.signature
                                                 : r.signature;
  out << fmt::format("{:>6}  {:<52} {:<18} {}\n", r.flow, r.location, r.kind, status);
  if (r.format != "jws") return;
  const TokenInfo& i = r.info;
  std::string who = !i.user.empty() ? i.user : i.subject;
  if (!i.idtyp.empty()) who += " (" + i.idtyp + ")";
  if (!who.empty()) out << "        subject:  " << who << "\n";
  if (!i.client_id.empty()) {
    out << "        client:   " << i.client_id << (i.client_name.empty() ? "" : " (" + i.client_name + ")") << "\n";
  }
  if (!i.tenant.empty()) out << "        tenant:   " << i.tenant << (i.version.empty() ? "" : "  (" + i.version + " token)") << "\n";
  if (!i.audience.empty()) {
    out << "        audience: " << i.audience << (i.audience_name.empty() ? "" : " (" + i.audience_name + ")") << "\n";
  }
  if (!i.scopes.empty()) out << "        scopes:   " << join(i.scopes) << "\n";
  if (!i.roles.empty()) out << "        roles:    " << join(i.roles) << "\n";
  if (!r.expiry.empty()) out << "        expires:  " << r.expiry << "\n";
}

}  // namespace

int cmd_tokens(CommandContext& ctx) {
  auto app = cli::make_app(kCommand);
  std::string db;
  bool json = false;
  app->add_option("--db", db, "capture store (default $AUTHSCOPE_HOME/flows.db)");
  app->add_flag("--json", json, "a JSON array, one object per token");
  if (auto code = cli::parse_args(*app, ctx)) return *code;

  std::string path = cli::db_path_or_default(db);
  auto store = cli::open_store_for_reading(path);
  if (!store.ok()) return cli::failure(ctx, kCommand, store.status().message());

  // Pass 1: every signing key the store saw (JWKS responses, jwks_uri of OpenID configurations).
  JwksIndex keys;
  Status st = store.value()->for_each([&](const Flow& flow) {
    keys.add_from_flow(flow);
    return true;
  });
  if (!st.ok()) return cli::failure(ctx, kCommand, st.message());

  // Pass 2: the tokens, printed as they are found.
  const KnownApps& apps = builtin_known_apps();
  size_t count = 0;
  if (json) ctx.out << "[";
  if (!json) ctx.out << fmt::format("{:>6}  {:<52} {:<18} {}\n", "FLOW", "LOCATION", "KIND", "SIGNATURE");
  st = store.value()->for_each([&](const Flow& flow) {
    for (const FoundToken& found : find_tokens(flow)) {
      TokenRow row = make_row(flow, found, apps, keys);
      if (json) {
        ctx.out << (count == 0 ? "\n" : ",\n") << row_json(row).dump(2);
      } else {
        print_row(ctx.out, row);
      }
      ++count;
    }
    return static_cast<bool>(ctx.out);
  });
  if (json) ctx.out << (count == 0 ? "]\n" : "\n]\n");
  if (!st.ok()) return cli::failure(ctx, kCommand, st.message());
  if (!json) {
    ctx.out << fmt::format("{} token{} in {}; {} signing key{} captured\n", count, count == 1 ? "" : "s", path,
                           keys.size(), keys.size() == 1 ? "" : "s");
  }
  return kExitOk;
}

}  // namespace authscope
