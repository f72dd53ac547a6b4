// Inline SVG drawings for the HTML report: sequence diagrams of OAuth exchanges and a flow
// timeline. Every text drawn comes from traffic and is escaped.
#pragma once

#include <string>
#include <vector>

#include "report/report_data.h"

namespace authscope {

std::string sequence_diagram_svg(const ExchangeDiagram& exchange);
// Bars on a time axis, one row per flow (at most `max_rows`), coloured by outcome.
std::string timeline_svg(const std::vector<FlowRow>& flows, size_t max_rows);

}  // namespace authscope
