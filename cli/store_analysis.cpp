#include "cli/store_analysis.h"

#include <fmt/format.h>

namespace authscope::cli {

Result<std::shared_ptr<const RulePack>> load_rules(const std::string& rules_dir) {
  std::string dir = rules_dir.empty() ? default_rules_dir() : rules_dir;
  auto pack = load_rule_pack(dir);
  if (!pack.ok()) return Status::Invalid(fmt::format("rule pack {}: {}", dir, pack.status().message()));
  return pack;
}

Result<StoreFindings> analyze_store(FlowStore& store, std::shared_ptr<const RulePack> pack, int64_t min_id) {
  Analysis analysis(std::move(pack));
  StoreFindings result;
  Status st = store.for_each([&](const Flow& flow) {
    if (flow.id >= min_id) {
      analysis.add(flow);
      ++result.flow_count;
    }
    return true;
  });
  if (!st.ok()) return st;
  result.findings = analysis.findings();
  return result;
}

}  // namespace authscope::cli
