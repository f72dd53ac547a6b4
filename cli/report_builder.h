// Fills the report renderers' ReportData from a store: one streaming pass over the flows feeds an
// Analysis (findings and reconstructed exchanges), the flow rows, and the decoded tokens.
#pragma once

#include <memory>
#include <string>

#include "analyzers/analysis.h"
#include "model/status.h"
#include "report/report_data.h"
#include "storage/flow_store.h"

namespace authscope::cli {

struct ReportBuildOptions {
  std::string source;             // shown in the report (the store's path)
  bool include_tokens = true;     // decode tokens (html, markdown); skipped for json/sarif/junit
  size_t max_flow_rows = 100000;  // rows kept in memory; flow_count is always the total
  size_t max_token_rows = 500;
};

Result<ReportData> build_report_data(FlowStore& store, std::shared_ptr<const RulePack> pack,
                                     const ReportBuildOptions& options);

}  // namespace authscope::cli
