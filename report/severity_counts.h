// Findings counted by severity, most severe first (the summary line of every report).
#pragma once

#include <array>
#include <vector>

#include "model/finding.h"

namespace authscope {

inline constexpr std::array<Severity, 5> kSeveritiesDescending = {
    Severity::kCritical, Severity::kHigh, Severity::kMedium, Severity::kLow, Severity::kInfo};

inline std::array<size_t, 5> count_by_severity(const std::vector<Finding>& findings) {
  std::array<size_t, 5> counts{};  // indexed by static_cast<int>(Severity)
  for (const auto& f : findings) ++counts[static_cast<size_t>(f.severity)];
  return counts;
}

}  // namespace authscope
