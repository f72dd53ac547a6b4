// Finding: what an analyzer concluded, in the shape of the contract's findings JSON.
// Evidence is JSON because rules attach structured facts (lists of scopes, tenants, flow ids);
// nlohmann_json is header-only, so `model` still links nothing.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

namespace authscope {

enum class Severity { kInfo = 0, kLow = 1, kMedium = 2, kHigh = 3, kCritical = 4 };
const char* to_string(Severity s);
std::optional<Severity> severity_from_string(std::string_view s);

struct Finding {
  std::string rule;            // stable rule id, e.g. "pkce-missing"
  Severity severity = Severity::kInfo;
  std::string title;           // the rule's title
  std::string message;         // this occurrence, in words a user can act on
  std::vector<int64_t> flows;  // flow ids, ascending
  nlohmann::ordered_json evidence = nlohmann::ordered_json::object();
};

// The contract's order: rule id, then first flow id, then message (so reports are byte-stable).
bool finding_less(const Finding& a, const Finding& b);
nlohmann::ordered_json to_json(const Finding& f);
// Inverse of to_json; returns nullopt when a field is missing or of the wrong type.
std::optional<Finding> finding_from_json(const nlohmann::ordered_json& j);

}  // namespace authscope
