// The contract's findings JSON: {"version": 1, "flows": N, "findings": [...]}, keys in that order.
#include "report/report.h"
#include "report/text_escape.h"

namespace authscope {

std::string render_json(const ReportData& data) {
  nlohmann::ordered_json doc;
  doc["version"] = 1;
  doc["flows"] = data.flow_count;
  doc["findings"] = nlohmann::ordered_json::array();
  for (const auto& f : data.findings) doc["findings"].push_back(to_json(f));
  // Traffic may hold invalid UTF-8; replace it rather than fail the whole report.
  return doc.dump(2, ' ', false, nlohmann::ordered_json::error_handler_t::replace) + "\n";
}

std::optional<ReportFormat> report_format_from_string(std::string_view name) {
  if (name == "json") return ReportFormat::kJson;
  if (name == "markdown" || name == "md") return ReportFormat::kMarkdown;
  if (name == "html") return ReportFormat::kHtml;
  if (name == "sarif") return ReportFormat::kSarif;
  if (name == "junit") return ReportFormat::kJunit;
  return std::nullopt;
}

const char* to_string(ReportFormat format) {
  switch (format) {
    case ReportFormat::kJson: return "json";
    case ReportFormat::kMarkdown: return "markdown";
    case ReportFormat::kHtml: return "html";
    case ReportFormat::kSarif: return "sarif";
    case ReportFormat::kJunit: return "junit";
  }
  return "json";
}

std::string render_report(const ReportData& data, ReportFormat format) {
  switch (format) {
    case ReportFormat::kJson: return render_json(data);
    case ReportFormat::kMarkdown: return render_markdown(data);
    case ReportFormat::kHtml: return render_html(data);
    case ReportFormat::kSarif: return render_sarif(data);
    case ReportFormat::kJunit: return render_junit(data);
  }
  return render_json(data);
}

}  // namespace authscope
