// JUnit XML for CI systems: one test case per rule of the pack; each finding of a rule is a
// <failure> of that case, so a pipeline shows "12 rules, 2 failed" and the reason.
#include <map>
#include <sstream>

#include "report/report.h"
#include "report/text_escape.h"

namespace authscope {

std::string render_junit(const ReportData& data) {
  std::map<std::string, std::vector<const Finding*>> by_rule;
  for (const auto& [id, meta] : data.rules) by_rule[id];
  for (const auto& f : data.findings) by_rule[f.rule].push_back(&f);

  size_t failures = 0;
  for (const auto& [id, list] : by_rule) failures += list.empty() ? 0 : 1;

  std::ostringstream x;
  x << "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n";
  x << "<testsuites name=\"authscope\" tests=\"" << by_rule.size() << "\" failures=\"" << failures
    << "\" errors=\"0\">\n";
  x << "  <testsuite name=\"authscope\" tests=\"" << by_rule.size() << "\" failures=\"" << failures
    << "\" errors=\"0\" skipped=\"0\"";
  if (data.generated_at_us) x << " timestamp=\"" << xml_escape(iso8601_utc(data.generated_at_us)) << "\"";
  x << ">\n";
  x << "    <properties>\n      <property name=\"source\" value=\"" << xml_escape(data.source)
    << "\"/>\n      <property name=\"flows\" value=\"" << data.flow_count << "\"/>\n    </properties>\n";
  for (const auto& [id, list] : by_rule) {
    std::string title = id;
    if (auto it = data.rules.find(id); it != data.rules.end() && !it->second.title.empty()) title = it->second.title;
    x << "    <testcase classname=\"authscope.rules\" name=\"" << xml_escape(id) << "\"";
    if (list.empty()) {
      x << "/>\n";
      continue;
    }
    x << ">\n";
    // One <failure> element per finding: JUnit consumers show each message.
    for (const Finding* f : list) {
      std::string flows;
      for (size_t i = 0; i < f->flows.size(); ++i) flows += (i ? ", " : "") + std::to_string(f->flows[i]);
      x << "      <failure type=\"" << to_string(f->severity) << "\" message=\"" << xml_escape(f->message)
        << "\">" << xml_escape(title) << "\n" << xml_escape(f->message) << "\nflows: " << xml_escape(flows)
        << "\nevidence: "
        << xml_escape(f->evidence.dump(-1, ' ', false, nlohmann::ordered_json::error_handler_t::replace))
        << "</failure>\n";
    }
    x << "    </testcase>\n";
  }
  x << "  </testsuite>\n</testsuites>\n";
  return x.str();
}

}  // namespace authscope
