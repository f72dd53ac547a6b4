// The HTML report: one self-contained page (inline CSS and SVG, no script, no external asset) that
// a person can open offline and hand to an app's owners.
#include <algorithm>
#include <sstream>

#include "report/html_style.h"
#include "report/report.h"
#include "report/severity_counts.h"
#include "report/svg_diagrams.h"
#include "report/text_escape.h"

namespace authscope {

namespace {

std::string esc(std::string_view s) { return html_escape(utf8_sanitize(s)); }

std::string evidence_value(const nlohmann::ordered_json& v) {
  if (v.is_string()) return v.get<std::string>();
  return v.dump(-1, ' ', false, nlohmann::ordered_json::error_handler_t::replace);
}

void write_summary(std::ostringstream& h, const ReportData& data) {
  const auto counts = count_by_severity(data.findings);
  h << "<section class=\"summary\">\n";
  h << "<div class=\"count\"><div class=\"n\">" << data.flow_count << "</div>flows</div>\n";
  h << "<div class=\"count\"><div class=\"n\">" << data.findings.size() << "</div>findings</div>\n";
  for (Severity s : kSeveritiesDescending) {
    h << "<div class=\"count\"><div class=\"n\">" << counts[static_cast<size_t>(s)]
      << "</div><span class=\"badge sev-" << to_string(s) << "\">" << to_string(s) << "</span></div>\n";
  }
  h << "</section>\n";
}

void write_findings(std::ostringstream& h, const ReportData& data) {
  h << "<h2 id=\"findings\">Findings</h2>\n";
  if (data.findings.empty()) {
    h << "<p>No findings: every enabled rule stayed silent on this capture.</p>\n";
    return;
  }
  // Most severe first for a reader; within a severity, the stable contract order.
  std::vector<const Finding*> order;
  for (const auto& f : data.findings) order.push_back(&f);
  std::stable_sort(order.begin(), order.end(),
                   [](const Finding* a, const Finding* b) { return a->severity > b->severity; });
  for (const Finding* fp : order) {
    const Finding& f = *fp;
    const char* sev = to_string(f.severity);
    h << "<article class=\"finding " << sev << "\">\n<h3><span class=\"badge sev-" << sev << "\">" << sev
      << "</span> " << esc(f.title) << "<span class=\"rule\">" << esc(f.rule) << "</span></h3>\n";
    h << "<p>" << esc(f.message) << "</p>\n";
    if (auto it = data.rules.find(f.rule); it != data.rules.end() && !it->second.description.empty())
      h << "<p class=\"why\">" << esc(it->second.description) << "</p>\n";
    h << "<div class=\"flows\">Flows: ";
    for (int64_t id : f.flows) h << "<a href=\"#flow-" << id << "\">#" << id << "</a>";
    h << "</div>\n";
    if (f.evidence.is_object() && !f.evidence.empty()) {
      h << "<table class=\"evidence\"><tr><th>evidence</th><th>value</th></tr>\n";
      for (const auto& [k, v] : f.evidence.items())
        h << "<tr><td>" << esc(k) << "</td><td class=\"mono\">" << esc(evidence_value(v)) << "</td></tr>\n";
      h << "</table>\n";
    }
    h << "</article>\n";
  }
}

void write_exchanges(std::ostringstream& h, const ReportData& data) {
  if (data.exchanges.empty()) return;
  h << "<h2 id=\"exchanges\">Sign-ins and token exchanges</h2>\n";
  for (const auto& ex : data.exchanges) {
    h << "<div class=\"exchange\"><h3>" << esc(ex.title) << "</h3>\n" << sequence_diagram_svg(ex) << "</div>\n";
  }
}

void write_tokens(std::ostringstream& h, const ReportData& data) {
  if (data.tokens.empty()) return;
  h << "<h2 id=\"tokens\">Tokens</h2>\n";
  const size_t rows = std::min(data.tokens.size(), kHtmlMaxTokenRows);
  for (size_t i = 0; i < rows; ++i) {
    const auto& t = data.tokens[i];
    h << "<details><summary><a href=\"#flow-" << t.flow << "\">#" << t.flow << "</a> <b>" << esc(t.kind)
      << "</b> in <code>" << esc(t.location) << "</code> — " << esc(t.summary) << " <span class=\"note\">(signature: "
      << esc(t.signature) << ")</span></summary>\n";
    if (!t.claims.empty()) {
      h << "<table><tr><th>claim</th><th>value</th><th>meaning</th></tr>\n";
      for (const auto& c : t.claims)
        h << "<tr><td class=\"mono\">" << esc(c.name) << "</td><td class=\"mono\">" << esc(c.value) << "</td><td>"
          << esc(c.readable) << "</td></tr>\n";
      h << "</table>\n";
    }
    h << "</details>\n";
  }
  if (rows < data.tokens.size())
    h << "<p class=\"note\">Showing the first " << rows << " of " << data.tokens.size()
      << " tokens; `authscope tokens` lists them all.</p>\n";
}

void write_flows(std::ostringstream& h, const ReportData& data) {
  h << "<h2 id=\"timeline\">Timeline</h2>\n";
  if (data.flows.empty()) {
    h << "<p>No flows.</p>\n";
    return;
  }
  const size_t rows = std::min(data.flows.size(), kHtmlMaxFlowRows);
  h << "<div style=\"overflow-x:auto\">" << timeline_svg(data.flows, rows) << "</div>\n";
  h << "<h2 id=\"flows\">Flows</h2>\n";
  if (rows < data.flow_count)
    h << "<p class=\"note\">Showing " << rows << " of " << data.flow_count
      << " flows; `authscope flows` lists them all.</p>\n";
  h << "<table><tr><th>#</th><th>time (UTC)</th><th>class</th><th>method</th><th>URL</th><th>status</th>"
       "<th>client</th><th>ms</th></tr>\n";
  for (size_t i = 0; i < rows; ++i) {
    const auto& f = data.flows[i];
    const char* cls = !f.error.empty() || f.status >= 500 ? "status-fail" : f.status >= 400 ? "status-warn" : "status-ok";
    h << "<tr id=\"flow-" << f.id << "\"><td>" << f.id << "</td><td class=\"mono\">" << iso8601_utc(f.start_us)
      << "</td><td>" << esc(f.class_label) << "</td><td>" << esc(f.method) << "</td><td class=\"mono\">"
      << esc(f.url) << "</td><td class=\"" << cls << "\">";
    if (f.status) h << f.status;
    if (!f.error.empty()) h << (f.status ? " " : "") << esc(f.error);
    if (!f.status && f.error.empty()) h << "-";
    h << "</td><td>" << esc(f.client) << "</td><td>" << (f.duration_us / 1000) << "</td></tr>\n";
  }
  h << "</table>\n";
}

}  // namespace

std::string render_html(const ReportData& data) {
  std::ostringstream h;
  h << "<!DOCTYPE html>\n<html lang=\"en\"><head><meta charset=\"utf-8\">"
       "<meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">"
       "<title>authscope report</title><style>"
    << kReportCss << "</style></head>\n<body>\n<header><h1>authscope report</h1><div class=\"meta\">"
    << esc(data.generated_by);
  if (!data.source.empty()) h << " · source <code>" << esc(data.source) << "</code>";
  if (data.generated_at_us) h << " · generated " << iso8601_utc(data.generated_at_us);
  h << "</div></header>\n<main>\n";
  write_summary(h, data);
  write_findings(h, data);
  write_exchanges(h, data);
  write_tokens(h, data);
  write_flows(h, data);
  h << "</main>\n</body></html>\n";
  return h.str();
}

}  // namespace authscope
