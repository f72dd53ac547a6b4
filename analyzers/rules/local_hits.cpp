// Flow-local conclusions made at extraction (ropc-grant, token-in-url, cleartext-credentials,
// declarative custom rules): hits with the same rule and message become one finding.
#include <map>

#include "analyzers/rules/rule_support.h"

namespace authscope {

void run_local_hits(const RuleInput& in, FindingSink& out) {
  std::map<std::pair<std::string, std::string>, std::pair<std::vector<int64_t>, const LocalHit*>> groups;
  for (const auto& h : in.log.local_hits) {
    auto& g = groups[{h.rule, h.message}];
    g.first.push_back(h.flow);
    if (!g.second) g.second = &h;
  }
  for (const auto& [key, g] : groups) out.add(key.first, key.second, g.first, g.second->evidence);
}

}  // namespace authscope
