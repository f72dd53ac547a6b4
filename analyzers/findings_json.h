// The contract's findings JSON (CONTRACT.md "Findings JSON"): {"version": 1, "flows": N,
// "findings": [{rule, severity, title, message, flows, evidence}]}, keys in that order, findings
// sorted with finding_less, so `analyze --format json` and `report --format json` are byte-stable.
#pragma once

#include <cstddef>
#include <vector>

#include <nlohmann/json.hpp>

#include "model/finding.h"

namespace authscope {

inline constexpr int kFindingsJsonVersion = 1;

nlohmann::ordered_json findings_document(size_t flows, const std::vector<Finding>& findings);

}  // namespace authscope
