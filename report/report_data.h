// ReportData: everything a findings report shows, already computed. The CLI fills it from the
// store and the analyzers; the renderers only format it. No clock, no I/O, no analyzer or storage
// dependency: the same data always renders to the same bytes.
#pragma once

#include <cstdint>
#include <map>
#include <string>
#include <vector>

#include "model/finding.h"

namespace authscope {

struct FlowRow {
  int64_t id = 0;
  int64_t start_us = 0;
  int64_t duration_us = 0;
  std::string kind;         // "http" | "tunnel"
  std::string class_label;  // "token: authorization_code v2", "arm write", "tunnel", ...
  std::string method;
  std::string url;
  int status = 0;           // 0: no response
  std::string error;
  std::string client;       // tool that sent it ("Terraform/1.9.5 azurerm/3.116.0") if known
  uint64_t request_bytes = 0, response_bytes = 0;
};

struct ClaimRow {
  std::string name;
  std::string value;     // JSON text of the claim value
  std::string readable;  // e.g. "2026-11-26 09:12:00 UTC (expires in 59 min)"; may be empty
};

struct TokenRow {
  int64_t flow = 0;
  std::string location;   // "request.header.Authorization"
  std::string kind;       // access_token, id_token, ...
  std::string signature;  // verified, bad-signature, unknown-key, redacted, ...
  std::string summary;    // one line: who/what/for whom/until when
  std::vector<ClaimRow> claims;
};

struct ExchangeDiagramStep {
  int64_t flow = 0;
  int from = 0;  // index into participants
  int to = 0;
  std::string label;
  bool is_error = false;
};

struct ExchangeDiagram {
  std::string title;
  std::vector<std::string> participants;
  std::vector<ExchangeDiagramStep> steps;
};

struct RuleMeta {
  std::string title;
  std::string description;
  Severity severity = Severity::kMedium;  // configured severity
  bool enabled = true;
  std::vector<std::string> references;
};

struct ReportData {
  std::string generated_by = "authscope";  // "authscope 0.1.0"
  std::string source;                      // the store or HAR the report was made from
  int64_t generated_at_us = 0;             // stamped by the caller; 0 = omit
  size_t flow_count = 0;
  std::vector<FlowRow> flows;              // may be capped by the caller; flow_count is the total
  std::vector<Finding> findings;           // sorted with finding_less
  std::vector<TokenRow> tokens;
  std::vector<ExchangeDiagram> exchanges;
  std::map<std::string, RuleMeta> rules;   // id -> metadata, every rule of the pack
};

}  // namespace authscope
