// How flows read on a terminal and in `--json`: the live line per completed flow, the `flows`
// table row, and the full JSON form shared by `flows --json` and `show --json`.
#pragma once

#include <cstdint>
#include <string>

#include <nlohmann/json.hpp>

#include "model/flow.h"
#include "storage/flow_store.h"

namespace authscope::cli {

std::string format_clock_utc(int64_t us);     // "09:41:07.123"
std::string format_iso8601_utc(int64_t us);   // "2026-11-26T09:41:07.123Z"
std::string human_bytes(uint64_t n);          // "512 B", "3.4 KiB", "20.0 MiB"
std::string human_duration(int64_t us);       // "840 us", "35 ms", "2.1 s"

// host[:port]path: what a person calls the URL without the scheme.
std::string flow_location(const Flow& flow);

// The live line: time, status, method, host+path, bytes, duration (tunnels: host:port and bytes
// each way; failures: the error). `marks` is appended (rule ids of findings that name the flow).
std::string live_flow_line(const Flow& flow, const std::string& marks = "");

// One `authscope flows` row (no bodies needed) and its header line.
std::string flows_table_header();
std::string flows_table_row(const FlowSummary& s);

// The full flow: every field, headers in wire order, bodies as text when they are UTF-8 (else
// base64 with "encoding": "base64"), absent bodies as null.
nlohmann::ordered_json flow_to_json(const Flow& flow);

}  // namespace authscope::cli
