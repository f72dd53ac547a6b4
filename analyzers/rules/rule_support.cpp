#include "analyzers/rules/rule_support.h"

#include <algorithm>

namespace authscope {

void FindingSink::add(std::string_view rule, std::string message, std::vector<int64_t> flows,
                      nlohmann::ordered_json evidence, std::optional<Severity> severity) {
  const RuleSettings* s = pack_.rule(rule);
  if (!s || !s->enabled) return;
  std::sort(flows.begin(), flows.end());
  flows.erase(std::unique(flows.begin(), flows.end()), flows.end());
  if (flows.size() > pack_.params.max_flows_per_finding) {
    evidence["flow_count"] = flows.size();
    flows.resize(pack_.params.max_flows_per_finding);
  }
  Finding f;
  f.rule = std::string(rule);
  f.severity = severity.value_or(s->severity);
  f.title = s->title;
  f.message = std::move(message);
  f.flows = std::move(flows);
  f.evidence = std::move(evidence);
  findings_.push_back(std::move(f));
}

std::string client_phrase(const KnownApps& known, const std::string& client_id, const std::string& tool) {
  std::string out;
  if (client_id.empty()) {
    out = "an unidentified client";
  } else if (const std::string* name = known.client_name(client_id)) {
    out = "client " + *name + " (" + client_id + ")";
  } else {
    out = "client " + client_id;
  }
  if (!tool.empty()) out += " [" + tool + "]";
  return out;
}

std::string resource_phrase(const TokenFacts& t) {
  if (!t.resource_name.empty()) return t.resource_name;
  if (!t.audience.empty()) return t.audience;
  return "an unknown resource";
}

std::string tenant_phrase(const std::string& tenant) {
  return tenant.empty() ? std::string("an unknown tenant") : "tenant " + tenant;
}

std::string join(const std::vector<std::string>& items, std::string_view sep) {
  std::string out;
  for (size_t i = 0; i < items.size(); ++i) {
    if (i) out += sep;
    out += items[i];
  }
  return out;
}

bool has_word(std::string_view s, std::string_view word) {
  size_t pos = 0;
  while (pos <= s.size()) {
    size_t end = s.find(' ', pos);
    if (end == std::string_view::npos) end = s.size();
    if (s.substr(pos, end - pos) == word) return true;
    pos = end + 1;
  }
  return false;
}

}  // namespace authscope
