// Markdown for pull requests and tickets: a summary table, then each finding with its evidence.
#include <sstream>

#include "report/report.h"
#include "report/severity_counts.h"
#include "report/text_escape.h"

namespace authscope {

namespace {

std::string flow_list(const std::vector<int64_t>& flows) {
  std::string out;
  for (size_t i = 0; i < flows.size(); ++i) {
    if (i) out += ", ";
    out += "#" + std::to_string(flows[i]);
  }
  return out.empty() ? "-" : out;
}

}  // namespace

std::string render_markdown(const ReportData& data) {
  std::ostringstream md;
  md << "# authscope findings\n\n";
  if (!data.source.empty()) md << "Source: `" << markdown_escape(data.source) << "`  \n";
  md << "Flows analyzed: " << data.flow_count << "  \n";
  md << "Findings: " << data.findings.size() << "\n\n";

  const auto counts = count_by_severity(data.findings);
  md << "| severity | findings |\n|---|---|\n";
  for (Severity s : kSeveritiesDescending) md << "| " << to_string(s) << " | " << counts[static_cast<size_t>(s)] << " |\n";
  md << "\n";

  if (data.findings.empty()) {
    md << "No findings: every enabled rule stayed silent.\n";
    return md.str();
  }
  md << "| # | severity | rule | flows | message |\n|---|---|---|---|---|\n";
  for (size_t i = 0; i < data.findings.size(); ++i) {
    const auto& f = data.findings[i];
    md << "| " << i + 1 << " | " << to_string(f.severity) << " | `" << markdown_escape(f.rule) << "` | "
       << flow_list(f.flows) << " | " << markdown_escape(f.message) << " |\n";
  }
  md << "\n## Details\n";
  for (size_t i = 0; i < data.findings.size(); ++i) {
    const auto& f = data.findings[i];
    md << "\n### " << i + 1 << ". " << markdown_escape(f.title) << " (`" << markdown_escape(f.rule) << "`, "
       << to_string(f.severity) << ")\n\n";
    md << markdown_escape(f.message) << "\n\n";
    md << "Flows: " << flow_list(f.flows) << "\n\n";
    if (auto it = data.rules.find(f.rule); it != data.rules.end() && !it->second.description.empty())
      md << "> " << markdown_escape(it->second.description) << "\n\n";
    if (!f.evidence.empty())
      md << markdown_code_fence(f.evidence.dump(2, ' ', false, nlohmann::ordered_json::error_handler_t::replace),
                                "json");
  }
  return md.str();
}

}  // namespace authscope
