#include "cli/findings_text.h"

#include <cctype>
#include <ostream>

#include <fmt/format.h>

namespace authscope::cli {

namespace {

constexpr Severity kSeverities[] = {Severity::kCritical, Severity::kHigh, Severity::kMedium, Severity::kLow,
                                    Severity::kInfo};

std::string flow_list(const std::vector<int64_t>& flows, size_t max = 12) {
  std::string s;
  for (size_t i = 0; i < flows.size() && i < max; ++i) s += (i ? ", " : "") + std::to_string(flows[i]);
  if (flows.size() > max) s += fmt::format(" and {} more", flows.size() - max);
  return s;
}

std::string upper(const char* s) {
  std::string u(s);
  for (char& c : u) c = static_cast<char>(std::toupper(static_cast<unsigned char>(c)));
  return u;
}

}  // namespace

std::string severity_counts(const std::vector<Finding>& findings) {
  std::string s;
  for (Severity sev : kSeverities) {
    size_t n = 0;
    for (const Finding& f : findings) n += f.severity == sev ? 1 : 0;
    if (n == 0) continue;
    s += fmt::format("{}{} {}", s.empty() ? "" : ", ", n, to_string(sev));
  }
  return s.empty() ? "none" : s;
}

bool any_at_or_above(const std::vector<Finding>& findings, Severity threshold) {
  for (const Finding& f : findings) {
    if (static_cast<int>(f.severity) >= static_cast<int>(threshold)) return true;
  }
  return false;
}

void print_findings_summary(std::ostream& out, const std::vector<Finding>& findings, size_t flow_count,
                            size_t max_lines) {
  out << fmt::format("authscope: {} flows analyzed, findings: {}\n", flow_count, severity_counts(findings));
  size_t printed = 0;
  for (Severity sev : kSeverities) {
    for (const Finding& f : findings) {
      if (f.severity != sev) continue;
      if (printed == max_lines) {
        out << fmt::format("  ... {} more (authscope analyze shows them all)\n", findings.size() - printed);
        return;
      }
      out << fmt::format("  {:<8} {:<24} {} (flows {})\n", upper(to_string(f.severity)), f.rule, f.message,
                         flow_list(f.flows));
      ++printed;
    }
  }
}

void print_findings_text(std::ostream& out, const std::vector<Finding>& findings, size_t flow_count) {
  out << fmt::format("{} flows analyzed, {} findings ({})\n", flow_count, findings.size(), severity_counts(findings));
  for (Severity sev : kSeverities) {
    bool header = false;
    for (const Finding& f : findings) {
      if (f.severity != sev) continue;
      if (!header) {
        out << "\n" << upper(to_string(sev)) << "\n";
        header = true;
      }
      out << fmt::format("  [{}] {}\n", f.rule, f.title);
      out << fmt::format("    {}\n", f.message);
      out << fmt::format("    flows: {}\n", flow_list(f.flows, 50));
      if (f.evidence.is_object() && !f.evidence.empty()) {
        for (const auto& [key, value] : f.evidence.items()) {
          std::string v = value.is_string() ? value.get<std::string>() : value.dump();
          if (v.size() > 200) v = v.substr(0, 197) + "...";
          out << fmt::format("    {}: {}\n", key, v);
        }
      }
    }
  }
}

}  // namespace authscope::cli
