// Running the analyzers over a store: the rule pack chosen by --rules (or the installed one),
// flows streamed in id order through one Analysis (memory grows with exchanges, not bytes).
#pragma once

#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "analyzers/analysis.h"
#include "model/finding.h"
#include "model/status.h"
#include "storage/flow_store.h"

namespace authscope::cli {

// Loads the pack in `rules_dir`, or default_rules_dir() when empty.
Result<std::shared_ptr<const RulePack>> load_rules(const std::string& rules_dir);

struct StoreFindings {
  size_t flow_count = 0;
  std::vector<Finding> findings;
};

// Analyzes every flow with id >= min_id.
Result<StoreFindings> analyze_store(FlowStore& store, std::shared_ptr<const RulePack> pack, int64_t min_id = 0);

}  // namespace authscope::cli
