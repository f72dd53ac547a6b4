// authscope tokens [--db F] [--rules DIR] [--json]: every token in a capture store with the flow
// and location it was seen at, its kind, who it names, which app asked, tenant, audience,
// scopes/roles, expiry (relative to that flow's request) and a truthful signature status.
//
// Reads the token records the store kept (model/flow_annotations.h), which were verified at
// capture time against every JWKS seen so far and before redaction stripped the signatures;
// no headers or bodies are loaded for them. Flows without records (a store the annotate hook
// never saw, on a read-only file) are recomputed: their keys come from every JWKS captured in the
// same store (one extra streaming pass, only when such flows exist). Names of clients and
// resources come from --rules DIR's known-apps.json (default: the compiled-in copy).
#include <limits>
#include <ostream>
#include <string>

#include <fmt/format.h>

#include "analyzers/flow_annotator.h"
#include "analyzers/jwks.h"
#include "analyzers/jwt.h"
#include "analyzers/known_apps.h"
#include "analyzers/token_discovery.h"
#include "analyzers/token_info.h"
#include "cli/cli.h"
#include "cli/cli_support.h"
#include "cli/store_annotator.h"

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

TokenRow make_row(int64_t flow_id, int64_t start_us, const TokenRecord& rec, const KnownApps& apps) {
  TokenRow row;
  row.flow = flow_id;
  row.location = rec.location;
  row.kind = rec.kind;
  row.scheme = rec.scheme;
  row.redacted = rec.redacted;
  row.format = rec.format;
  row.secret = rec.format == "secret";  // passwords, client secrets, verifiers: never decoded or shown
  row.error = rec.error;
  row.fingerprint = rec.fingerprint;
  row.signature = rec.signature;
  if (rec.format == "jws") {
    row.info = interpret(decoded_from_record(rec), apps);
    if (row.info.exp) {
      row.expiry = format_time_utc(*row.info.exp) + " (" + expiry_phrase(*row.info.exp, start_us / 1000000, false) + ")";
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
  std::string db, rules;
  bool json = false;
  app->add_option("--db", db, "capture store (default $AUTHSCOPE_HOME/flows.db)");
  app->add_option("--rules", rules, "rule pack directory whose known-apps.json names clients and resources");
  app->add_flag("--json", json, "a JSON array, one object per token");
  if (auto code = cli::parse_args(*app, ctx)) return *code;

  auto known = cli::known_apps_for(rules);
  if (!known.ok()) return cli::failure(ctx, kCommand, known.status().message());
  const KnownApps& apps = known.value();
  std::string path = cli::db_path_or_default(db);
  auto store = cli::open_store_for_reading_annotated(path, apps);
  if (!store.ok()) return cli::failure(ctx, kCommand, store.status().message());
  FlowStore& flows = *store.value();

  // Summaries (no bodies) give each flow's request time and say which flows have no records.
  auto summaries = flows.list();
  if (!summaries.ok()) return cli::failure(ctx, kCommand, summaries.status().message());
  const std::vector<FlowSummary>& rows = summaries.value();

  // Keys are needed only to recompute flows without records: every signing key the store saw.
  JwksIndex keys;
  bool keys_loaded = false;
  size_t signing_keys = 0;
  Status st;
  auto load_keys = [&]() -> Status {
    if (keys_loaded) return Status::Ok();
    keys_loaded = true;
    Status s = flows.for_each([&](const Flow& flow) {
      keys.add_from_flow(flow);
      return true;
    });
    signing_keys = keys.size();
    return s;
  };
  // Without that pass, the keys the records were verified with are counted from the stored
  // JWKS flows (a summary line only).
  for (const FlowSummary& s : rows) {
    if (s.kind == FlowKind::kHttp && s.flow_class.empty()) {
      if (st = load_keys(); !st.ok()) return cli::failure(ctx, kCommand, st.message());
      break;
    }
  }
  if (!keys_loaded) {
    for (const FlowSummary& s : rows) {
      bool candidate = s.flow_class == "jwks" || s.flow_class == "openid-configuration" ||
                       s.target.find("keys") != std::string::npos || s.target.find("jwks") != std::string::npos;
      if (s.kind != FlowKind::kHttp || s.status != 200 || !candidate) continue;
      auto f = flows.load(s.id);
      if (f.ok() && f.value()) keys.add_from_flow(*f.value());
    }
    signing_keys = keys.size();
  }

  size_t count = 0;
  if (json) ctx.out << "[";
  if (!json) ctx.out << fmt::format("{:>6}  {:<52} {:<18} {}\n", "FLOW", "LOCATION", "KIND", "SIGNATURE");
  auto emit = [&](int64_t flow_id, int64_t start_us, const std::vector<TokenRecord>& records) {
    for (const TokenRecord& rec : records) {
      TokenRow row = make_row(flow_id, start_us, rec, apps);
      if (json) {
        ctx.out << (count == 0 ? "\n" : ",\n") << row_json(row).dump(2);
      } else {
        print_row(ctx.out, row);
      }
      ++count;
    }
  };
  // Flows without records, in id order up to (not including) `limit`: recomputed from the flow.
  size_t next = 0;
  auto recompute_until = [&](int64_t limit) -> Status {
    for (; next < rows.size() && rows[next].id < limit; ++next) {
      const FlowSummary& s = rows[next];
      if (s.kind != FlowKind::kHttp || !s.flow_class.empty()) continue;
      auto f = flows.load(s.id);
      if (!f.ok()) return f.status();
      if (!f.value()) continue;
      emit(s.id, s.start_us, annotate_flow(*f.value(), apps, keys).tokens);
    }
    return Status::Ok();
  };
  Status inner;
  st = flows.for_each_annotations([&](int64_t id, const FlowAnnotations& a) {
    if (inner = recompute_until(id); !inner.ok()) return false;
    int64_t start_us = 0;
    if (next < rows.size() && rows[next].id == id) {
      start_us = rows[next++].start_us;
    } else if (!a.tokens.empty()) {
      // Committed after the summaries were listed: its request time comes from the row itself.
      auto f = flows.load(id);
      if (f.ok() && f.value()) start_us = f.value()->times.start_us;
    }
    emit(id, start_us, a.tokens);
    return static_cast<bool>(ctx.out);
  });
  if (st.ok()) st = inner;
  if (st.ok() && ctx.out) st = recompute_until(std::numeric_limits<int64_t>::max());
  if (json) ctx.out << (count == 0 ? "]\n" : "\n]\n");
  if (!st.ok()) return cli::failure(ctx, kCommand, st.message());
  if (!json) {
    ctx.out << fmt::format("{} token{} in {}; {} signing key{} captured\n", count, count == 1 ? "" : "s", path,
                           signing_keys, signing_keys == 1 ? "" : "s");
  }
  return kExitOk;
}

}  // namespace authscope
