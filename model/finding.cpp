#include "model/finding.h"

#include <tuple>

namespace authscope {

const char* to_string(Severity s) {
  switch (s) {
    case Severity::kCritical: return "critical";
    case Severity::kHigh: return "high";
    case Severity::kMedium: return "medium";
    case Severity::kLow: return "low";
    case Severity::kInfo: return "info";
  }
  return "info";
}

std::optional<Severity> severity_from_string(std::string_view s) {
  if (s == "critical") return Severity::kCritical;
  if (s == "high") return Severity::kHigh;
  if (s == "medium") return Severity::kMedium;
  if (s == "low") return Severity::kLow;
  if (s == "info") return Severity::kInfo;
  return std::nullopt;
}

bool finding_less(const Finding& a, const Finding& b) {
  const int64_t fa = a.flows.empty() ? 0 : a.flows.front();
  const int64_t fb = b.flows.empty() ? 0 : b.flows.front();
  return std::tie(a.rule, fa, a.message) < std::tie(b.rule, fb, b.message);
}

nlohmann::ordered_json to_json(const Finding& f) {
  nlohmann::ordered_json j;
  j["rule"] = f.rule;
  j["severity"] = to_string(f.severity);
  j["title"] = f.title;
  j["message"] = f.message;
  j["flows"] = f.flows;
  j["evidence"] = f.evidence;
  return j;
}

std::optional<Finding> finding_from_json(const nlohmann::ordered_json& j) {
  if (!j.is_object()) return std::nullopt;
  auto str = [&](const char* k) -> const nlohmann::ordered_json* {
    auto it = j.find(k);
    return (it != j.end() && it->is_string()) ? &*it : nullptr;
  };
  const auto* rule = str("rule");
  const auto* sev = str("severity");
  const auto* title = str("title");
  const auto* msg = str("message");
  if (!rule || !sev || !title || !msg) return std::nullopt;
  auto severity = severity_from_string(sev->get<std::string>());
  if (!severity) return std::nullopt;
  Finding f;
  f.rule = rule->get<std::string>();
  f.severity = *severity;
  f.title = title->get<std::string>();
  f.message = msg->get<std::string>();
  if (auto it = j.find("flows"); it != j.end()) {
    if (!it->is_array()) return std::nullopt;
    for (const auto& id : *it) {
      if (!id.is_number_integer()) return std::nullopt;
      f.flows.push_back(id.get<int64_t>());
    }
  }
  if (auto it = j.find("evidence"); it != j.end()) f.evidence = *it;
  return f;
}

}  // namespace authscope
