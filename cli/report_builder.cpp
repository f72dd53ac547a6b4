#include "cli/report_builder.h"

#include <fmt/format.h>

#include "analyzers/auth_events.h"
#include "analyzers/classify.h"
#include "analyzers/exchanges.h"
#include "analyzers/jwks.h"
#include "analyzers/jwt.h"
#include "analyzers/rule_pack.h"
#include "analyzers/token_discovery.h"
#include "analyzers/token_info.h"
#include "cli/store_analysis.h"

#ifndef AUTHSCOPE_VERSION
#define AUTHSCOPE_VERSION "0.0.0"
#endif

namespace authscope::cli {

namespace {

std::string class_label(const FlowClass& c) {
  std::string label = c.kind;
  if (c.kind == "token" && !c.grant.empty()) label += ": " + c.grant;
  if (!c.endpoint_version.empty()) label += " " + c.endpoint_version;
  if (c.kind == "arm") label += c.arm_write ? " write" : " read";
  return label;
}

FlowRow flow_row(const Flow& f, const KnownApps& known) {
  FlowRow row;
  row.id = f.id;
  row.start_us = f.times.start_us;
  row.duration_us = f.duration_us();
  row.kind = to_string(f.kind);
  row.class_label = f.kind == FlowKind::kTunnel ? "tunnel" : class_label(classify(f, known));
  row.method = f.request.method;
  row.url = f.kind == FlowKind::kTunnel ? fmt::format("{}:{}", f.host, f.port) : f.url();
  row.status = f.response ? f.response->status : 0;
  row.error = f.error.value_or("");
  if (const std::string* ua = f.request.headers.find("User-Agent")) row.client = parse_user_agent(*ua).display;
  row.request_bytes = f.kind == FlowKind::kTunnel ? f.bytes_from_client : f.request.body.wire_size;
  row.response_bytes = f.kind == FlowKind::kTunnel ? f.bytes_from_upstream
                                                   : (f.response ? f.response->body.wire_size : 0);
  return row;
}

std::string readable_claim(const std::string& name, const nlohmann::json& value, int64_t request_time) {
  if ((name == "exp" || name == "iat" || name == "nbf" || name == "auth_time") && value.is_number_integer()) {
    int64_t t = value.get<int64_t>();
    std::string text = format_time_utc(t);
    if (name == "exp") text += " (" + expiry_phrase(t, request_time, false) + ")";
    return text;
  }
  return "";
}

void add_tokens(const Flow& flow, const KnownApps& known, const JwksIndex& keys, size_t max_rows,
                std::vector<TokenRow>& rows) {
  int64_t request_time = flow.times.start_us / 1'000'000;
  for (const FoundToken& found : find_tokens(flow)) {
    if (rows.size() >= max_rows) return;
    if (is_secret_kind(found.kind)) continue;  // passwords and secrets are never shown
    auto decoded = decode_token(found.raw);
    if (!decoded.ok() || decoded.value().format != TokenFormat::kJws) continue;
    const DecodedToken& d = decoded.value();
    TokenInfo info = interpret(d, known);
    TokenRow row;
    row.flow = flow.id;
    row.location = found.location;
    row.kind = found.kind;
    row.signature = to_string(keys.verify(d));
    std::string who = !info.user.empty() ? info.user : info.subject;
    std::string client = !info.client_name.empty() ? info.client_name : info.client_id;
    std::string audience = !info.audience_name.empty() ? info.audience_name : info.audience;
    row.summary = fmt::format("{} {} for {} via {}, tenant {}", info.version.empty() ? "token" : info.version + " token",
                              who.empty() ? "(no subject)" : who, audience.empty() ? "(no audience)" : audience,
                              client.empty() ? "(unknown client)" : client, info.tenant.empty() ? "?" : info.tenant);
    if (info.exp) row.summary += ", " + expiry_phrase(*info.exp, request_time, false);
    if (d.claims.is_object()) {
      for (const auto& [name, value] : d.claims.items()) {
        row.claims.push_back({name, value.dump(), readable_claim(name, value, request_time)});
      }
    }
    rows.push_back(std::move(row));
  }
}

}  // namespace

Result<ReportData> build_report_data(FlowStore& store, std::shared_ptr<const RulePack> pack,
                                     const ReportBuildOptions& options) {
  ReportData data;
  data.generated_by = std::string("authscope ") + AUTHSCOPE_VERSION;
  data.source = options.source;
  data.generated_at_us = now_us();
  const KnownApps& known = pack->known;
  Analysis analysis(pack);
  JwksIndex keys;
  // Token rows are collected (with the JWKS that verify them) until max_token_rows: until then
  // every body is read, after that only what the analyzers and the class labels read.
  auto collecting_tokens = [&] { return options.include_tokens && data.tokens.size() < options.max_token_rows; };
  FlowReadOptions reading = analysis_read_options(*pack);
  reading.choose_bodies = [&, analysis_bodies = reading.choose_bodies](const Flow& flow) {
    return collecting_tokens() ? BodyChoice{} : analysis_bodies(flow);
  };
  Status st = store.for_each_reading(reading, [&](const Flow& flow) {
    analysis.add(flow);
    ++data.flow_count;
    if (data.flows.size() < options.max_flow_rows) data.flows.push_back(flow_row(flow, known));
    if (collecting_tokens() && flow.kind == FlowKind::kHttp) {
      keys.add_from_flow(flow);
      add_tokens(flow, known, keys, options.max_token_rows, data.tokens);
    }
    return true;
  });
  if (!st.ok()) return st;
  data.findings = analysis.findings();
  for (const Exchange& e : analysis.exchanges()) {
    ExchangeDiagram d;
    d.title = e.title;
    d.participants = e.participants;
    for (const ExchangeStep& s : e.steps) d.steps.push_back({s.flow, s.from, s.to, s.label, s.is_error});
    data.exchanges.push_back(std::move(d));
  }
  for (const auto& [id, rule] : pack->rules) {
    data.rules[id] = RuleMeta{rule.title, rule.description, rule.severity, rule.enabled, rule.references};
  }
  return data;
}

}  // namespace authscope::cli
