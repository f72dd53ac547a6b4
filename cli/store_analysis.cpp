#include "cli/store_analysis.h"

#include <fmt/format.h>

#include "analyzers/auth_events.h"
#include "analyzers/rule_pack.h"

namespace authscope::cli {

Result<std::shared_ptr<const RulePack>> load_rules(const std::string& rules_dir) {
  std::string dir = rules_dir.empty() ? default_rules_dir() : rules_dir;
  auto pack = load_rule_pack(dir);
  if (!pack.ok()) return Status::Invalid(fmt::format("rule pack {}: {}", dir, pack.status().message()));
  return pack;
}

FlowReadOptions analysis_read_options(const RulePack& pack) {
  FlowReadOptions options;
  // The pack outlives the pass (the caller holds it while for_each_reading runs).
  options.choose_bodies = [&pack](const Flow& flow) {
    const BodyNeeds needs = bodies_read_by_extract_events(flow, pack);
    return BodyChoice{needs.request, needs.response};
  };
  options.tls = false;
  options.token_records = false;
  return options;
}

Result<StoreFindings> analyze_store(FlowStore& store, std::shared_ptr<const RulePack> pack, int64_t min_id,
                                    FlowReading reading) {
  if (!pack) pack = default_rule_pack();
  Analysis analysis(pack);
  StoreFindings result;
  auto visit = [&](const Flow& flow) {
    if (flow.id >= min_id) {
      analysis.add(flow);
      ++result.flow_count;
    }
    return true;
  };
  Status st = reading == FlowReading::kWholeFlows ? store.for_each(visit)
                                                  : store.for_each_reading(analysis_read_options(*pack), visit);
  if (!st.ok()) return st;
  result.findings = analysis.findings();
  return result;
}

}  // namespace authscope::cli
