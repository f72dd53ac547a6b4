// Findings for people: the summary printed when `proxy`/`run` stop, and `analyze --format text`
// (grouped by severity, most severe first).
#pragma once

#include <cstddef>
#include <iosfwd>
#include <string>
#include <vector>

#include "model/finding.h"

namespace authscope::cli {

// "2 high, 1 medium" or "none".
std::string severity_counts(const std::vector<Finding>& findings);
// True when a finding is at or above `threshold`.
bool any_at_or_above(const std::vector<Finding>& findings, Severity threshold);

// The exit summary: a counts line and one line per finding (capped at `max_lines`, with a note
// pointing at `authscope analyze` for the rest).
void print_findings_summary(std::ostream& out, const std::vector<Finding>& findings, size_t flow_count,
                            size_t max_lines = 40);

// `analyze --format text`: every finding, grouped by severity, with message, flows and evidence.
void print_findings_text(std::ostream& out, const std::vector<Finding>& findings, size_t flow_count);

}  // namespace authscope::cli
