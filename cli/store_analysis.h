// Running the analyzers over a store: the rule pack chosen by --rules (or the installed one),
// flows streamed in id order through one Analysis (memory grows with exchanges, not bytes), read
// without the bodies the analyzers never look at.
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

// How analyze_store reads the flows.
enum class FlowReading {
  // Only the bodies the analyzers read (bodies_read_by_extract_events), no TLS details, no
  // stored token records: what `analyze` and `report` do.
  kWhatAnalysisReads,
  // Every flow whole: the reference the other mode is tested against.
  kWholeFlows,
};

// The store read options for an analysis pass (FlowReading::kWhatAnalysisReads).
FlowReadOptions analysis_read_options(const RulePack& pack);

// Analyzes every flow with id >= min_id.
Result<StoreFindings> analyze_store(FlowStore& store, std::shared_ptr<const RulePack> pack, int64_t min_id = 0,
                                    FlowReading reading = FlowReading::kWhatAnalysisReads);

}  // namespace authscope::cli
