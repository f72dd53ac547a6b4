// authscope show ID [--db F] [--json]: one flow in full: request and response with headers and
// bodies (gzip/deflate decoded, binary summarised), the flow's class, and every token decoded
// beside the headers it came in. Class and tokens come from the records the store kept (decoded
// and verified at capture, before redaction); flows without records are recomputed (signatures
// checked against JWKS captured in the same store).
#include <charconv>
#include <ostream>

#include <fmt/format.h>

#include "analyzers/classify.h"
#include "analyzers/jwks.h"
#include "analyzers/known_apps.h"
#include "cli/body_view.h"
#include "cli/cli.h"
#include "cli/cli_support.h"
#include "cli/flow_format.h"
#include "cli/store_annotator.h"
#include "cli/token_view.h"

namespace authscope {

namespace {

constexpr size_t kMaxBodyShown = 64 * 1024;  // more is cut with a note (`--json` has it all)

void print_headers(std::ostream& out, const Headers& headers) {
  for (const auto& f : headers.fields()) out << "  " << f.name << ": " << f.value << "\n";
}

void print_body(std::ostream& out, const Body& body, const Headers& headers) {
  cli::BodyView v = cli::view_body(body, headers);
  if (!v.present) return;
  out << "\n";
  if (v.decoded) out << fmt::format("  [{} body decoded: {} bytes on the wire]\n", v.encoding, body.data->size());
  if (v.text.size() > kMaxBodyShown) {
    out << v.text.substr(0, kMaxBodyShown) << fmt::format("\n  [... {} more bytes; --json has the whole body]",
                                                          v.text.size() - kMaxBodyShown);
  } else {
    out << v.text;
  }
  if (!v.text.empty() && v.text.back() != '\n') out << "\n";
  if (!v.note.empty()) out << "  [" << v.note << "]\n";
}

void print_tokens(std::ostream& out, const std::vector<cli::TokenView>& tokens, const std::string& side) {
  for (const auto& t : tokens) {
    if (t.location.rfind(side, 0) != 0) continue;
    out << fmt::format("  token {} ({}{}):\n", t.location, t.kind, t.scheme.empty() ? "" : ", " + t.scheme);
    if (!t.error.empty()) out << "    not decodable: " << t.error << "\n";
    for (const auto& line : t.lines) out << "    " << line << "\n";
  }
}

void print_flow_text(std::ostream& out, const Flow& flow, const FlowClass& cls,
                     const std::vector<cli::TokenView>& tokens) {
  out << fmt::format("flow {}  {}  {}\n", flow.id, cli::format_iso8601_utc(flow.times.start_us),
                     cli::human_duration(flow.duration_us()));
  std::string klass = cls.kind;
  if (!cls.grant.empty()) klass += " " + cls.grant;
  if (!cls.endpoint_version.empty()) klass += " " + cls.endpoint_version;
  if (!cls.authority.empty()) klass += " authority " + cls.authority;
  if (!cls.subscription.empty()) klass += " subscription " + cls.subscription;
  if (cls.arm_write) klass += " (write)";
  out << fmt::format("  client {}  connection {}  class: {}\n", flow.client_addr, flow.connection_id, klass);
  if (flow.tls) {
    const TlsInfo& t = *flow.tls;
    out << fmt::format("  tls: sni {} client {} {} alpn {}; upstream {} {} verify {}\n", t.sni, t.client_version,
                       t.client_cipher, t.alpn.empty() ? "-" : t.alpn, t.upstream_version, t.upstream_cipher,
                       t.upstream_verify.empty() ? "-" : t.upstream_verify);
    if (!t.upstream_cert_subject.empty()) {
      out << fmt::format("  upstream certificate: {} (issuer {})\n", t.upstream_cert_subject, t.upstream_cert_issuer);
    }
    if (!t.client_alert.empty()) out << "  client TLS alert: " << t.client_alert << "\n";
  }
  if (flow.error) out << "  error: " << *flow.error << "\n";
  if (flow.kind == FlowKind::kTunnel) {
    out << fmt::format("\ntunnel {}: {} from client, {} from upstream (not decrypted)\n", cli::flow_location(flow),
                       cli::human_bytes(flow.bytes_from_client), cli::human_bytes(flow.bytes_from_upstream));
    return;
  }
  out << fmt::format("\n> {} {} {}\n", flow.request.method, flow.request.target, flow.request.version);
  print_headers(out, flow.request.headers);
  print_tokens(out, tokens, "request");
  print_body(out, flow.request.body, flow.request.headers);
  if (!flow.response) {
    out << "\n< (no response)\n";
    return;
  }
  const Response& r = *flow.response;
  out << fmt::format("\n< {} {} {}\n", r.version, r.status, r.reason);
  print_headers(out, r.headers);
  print_tokens(out, tokens, "response");
  print_body(out, r.body, r.headers);
}

}  // namespace

int cmd_show(CommandContext& ctx) {
  auto app = cli::make_app("show");
  std::string id_text, db, rules;
  bool json = false;
  app->add_option("ID", id_text, "flow id (as `authscope flows` lists it)")->required();
  app->add_option("--db", db, "capture store (default $AUTHSCOPE_HOME/flows.db)");
  app->add_flag("--json", json, "the flow and its decoded tokens as JSON");
  app->add_option("--rules", rules, "rule pack directory whose known-apps.json names clients and resources");
  if (auto code = cli::parse_args(*app, ctx)) return *code;

  int64_t id = 0;
  auto [ptr, ec] = std::from_chars(id_text.data(), id_text.data() + id_text.size(), id);
  if (ec != std::errc() || ptr != id_text.data() + id_text.size() || id <= 0) {
    return cli::usage_error(ctx, "show", fmt::format("'{}' is not a flow id (a positive number)", id_text));
  }
  std::string path = cli::db_path_or_default(db);
  auto known = cli::known_apps_for(rules);
  if (!known.ok()) return cli::failure(ctx, "show", known.status().message());
  auto store = cli::open_store_for_reading_annotated(path, known.value());
  if (!store.ok()) return cli::failure(ctx, "show", store.status().message());
  auto loaded = store.value()->load(id);
  if (!loaded.ok()) return cli::failure(ctx, "show", loaded.status().message());
  if (!loaded.value()) return cli::failure(ctx, "show", fmt::format("no flow {} in {}", id, path));
  const Flow& flow = *loaded.value();

  const KnownApps& apps = known.value();
  std::vector<cli::TokenView> tokens;
  FlowClass cls;
  if (flow.annotations) {
    // What the store kept: classified, decoded and verified at capture time (before redaction).
    tokens = cli::view_token_records(flow, flow.annotations->tokens, apps);
    cls = flow_class_from_stored(flow.annotations->flow_class, flow.annotations->class_detail);
  } else {
    // No records (a store the annotate hook never saw): recompute, with keys only from JWKS
    // documents captured in this store (never fetched). Only discovery documents and key sets
    // are loaded (summaries carry no bodies), in id order so a jwks_uri named by an
    // openid-configuration is known before its fetch.
    JwksIndex keys;
    auto summaries = store.value()->list();
    if (!summaries.ok()) return cli::failure(ctx, "show", summaries.status().message());
    for (const FlowSummary& s : summaries.value()) {
      if (s.kind != FlowKind::kHttp || s.status != 200) continue;
      bool discovery = s.target.find("openid-configuration") != std::string::npos ||
                       s.target.find("keys") != std::string::npos || s.target.find("jwks") != std::string::npos;
      if (!discovery) continue;
      auto f = store.value()->load(s.id);
      if (f.ok() && f.value()) keys.add_from_flow(*f.value());
    }
    tokens = cli::view_tokens(flow, apps, keys);
    cls = classify(flow, apps);
  }

  if (json) {
    nlohmann::ordered_json j = cli::flow_to_json(flow);
    j["class"] = {{"kind", cls.kind}, {"grant", cls.grant}, {"endpoint_version", cls.endpoint_version},
                  {"authority", cls.authority}, {"arm_write", cls.arm_write}, {"subscription", cls.subscription}};
    j["tokens"] = nlohmann::ordered_json::array();
    for (const auto& t : tokens) j["tokens"].push_back(t.json);
    ctx.out << j.dump(2) << "\n";
    return kExitOk;
  }
  print_flow_text(ctx.out, flow, cls, tokens);
  return kExitOk;
}

}  // namespace authscope
