// Report renderers: one function per format, all pure functions of ReportData.
#pragma once

#include <optional>
#include <string>
#include <string_view>

#include "report/report_data.h"

namespace authscope {

enum class ReportFormat { kJson, kMarkdown, kHtml, kSarif, kJunit };

std::optional<ReportFormat> report_format_from_string(std::string_view name);
const char* to_string(ReportFormat format);

std::string render_json(const ReportData& data);      // the contract's findings JSON
std::string render_markdown(const ReportData& data);  // for pull requests and tickets
std::string render_html(const ReportData& data);      // one self-contained page
std::string render_sarif(const ReportData& data);     // SARIF 2.1.0
std::string render_junit(const ReportData& data);     // JUnit XML, one test case per rule

std::string render_report(const ReportData& data, ReportFormat format);

// At most this many flows are drawn in the HTML timeline and table; the page says when it cut.
inline constexpr size_t kHtmlMaxFlowRows = 5000;
inline constexpr size_t kHtmlMaxTokenRows = 500;

}  // namespace authscope
