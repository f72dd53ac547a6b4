// RulePack: the data half of the rule engine (STYLE.md H.31). Rule logic is C++ registered by id;
// everything a user may tune lives in rules/*.json and is loaded here:
//
//   <dir>/*.json          pack files: {"required_engine_version": 1, "description": "...",
//                           "rules": [{id, enabled, severity, title, description, references}],
//                           "parameters": {...}, "lists": {...}, "custom_rules": [...]}
//   <dir>/known-apps.json known clients/resources/hosts (analyzers/known_apps.h, "tokens" owns it);
//                         when the directory has none, the installed rules/known-apps.json or the
//                         compiled-in copy is used
//   <dir>/custom/*.json   custom rule files: {"required_engine_version": 1, "rules": [...]}
//                         (analyzers/custom_rules.h)
//
// Built-in rules not mentioned by any pack file keep their compiled defaults (id, title,
// severity), so a pack may be sparse. Unknown keys, unknown rule ids, duplicate ids, wrong types
// and bad severities are errors naming the file and the JSON pointer
// ("rules/custom/x.json: /rules/0/severity: expected one of critical|high|medium|low|info");
// a failed load returns no pack at all (nothing runs half-configured).
#pragma once

#include <array>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include <nlohmann/json.hpp>

#include "analyzers/custom_rules.h"
#include "analyzers/known_apps.h"
#include "model/finding.h"
#include "model/status.h"

namespace authscope {

// The engine version packs declare with required_engine_version (Falco's scheme: a pack that
// needs a newer engine is refused instead of half-understood).
inline constexpr int kRuleEngineVersion = 1;

struct RuleSettings {
  std::string id;
  bool enabled = true;
  Severity severity = Severity::kMedium;
  std::string title;
  std::string description;
  std::vector<std::string> references;
  bool builtin = true;   // false for declarative custom rules
  std::string source;    // file that last configured it ("" = compiled default)
};

// One privileged permission of the broad list (lists.broad_permissions).
struct BroadPermission {
  std::string name;          // as Microsoft Graph spells it, e.g. "Directory.ReadWrite.All"
  int tier = 0;              // 0 (path to Global Admin), 1 (write / sensitive read), 2 (read)
  bool application = true;   // judged when granted as an app role (roles claim)
  bool delegated = false;    // judged when requested or granted as a delegated scope (scp)
  std::string why;
};

struct RuleParameters {
  int64_t clock_skew_seconds = 0;           // token-expired / aux expiry tolerance
  bool exempt_first_party_delegated = true;  // scope-overbroad: honour preauthorized_delegated_scopes
  bool exempt_loopback_cleartext = true;     // cleartext-credentials: RFC 8252 loopback
  size_t max_flows_per_finding = 100;        // a finding lists at most this many flow ids
};

struct RulePack {
  int required_engine_version = kRuleEngineVersion;
  std::vector<std::string> files;                // files loaded, in load order
  std::map<std::string, RuleSettings> rules;     // built-in and custom, by id
  RuleParameters params;
  // lists.broad_permissions keyed by lower-cased name (Graph permission names are case-insensitive
  // in scope strings).
  std::map<std::string, BroadPermission> broad_permissions;
  std::vector<std::string> broad_permission_resources;  // resource app ids the list applies to
  // First-party client id (lower case) -> delegated scopes Microsoft pre-authorized for it
  // (lists.preauthorized_delegated_scopes): present in every token the client gets, so not
  // reported for that client. Keys of the inner set are lower-cased scope names.
  std::map<std::string, std::vector<std::string>> preauthorized_delegated_scopes;
  // tier -> severity of a finding, per permission type; nullopt = do not report that tier.
  std::array<std::optional<Severity>, 3> tier_severity_application{
      Severity::kCritical, Severity::kMedium, Severity::kLow};
  std::array<std::optional<Severity>, 3> tier_severity_delegated{Severity::kHigh, Severity::kLow,
                                                                 Severity::kInfo};
  KnownApps known;
  std::vector<CustomRule> custom_rules;

  const RuleSettings* rule(std::string_view id) const;
  bool enabled(std::string_view id) const;
  const BroadPermission* broad_permission(std::string_view name) const;
};

// The ids of the contract's built-in rules, in contract order.
const std::vector<std::string>& builtin_rule_ids();

// A pack from documents already parsed (name, JSON) — what load_rule_pack does after reading
// files; used by tests. `known` is used as the KnownApps.
Result<std::shared_ptr<const RulePack>> rule_pack_from_documents(
    const std::vector<std::pair<std::string, nlohmann::json>>& pack_files,
    const std::vector<std::pair<std::string, nlohmann::json>>& custom_files, KnownApps known);

// Compiled defaults only (every built-in rule enabled, no broad list, builtin_known_apps()).
std::shared_ptr<const RulePack> default_rule_pack();

}  // namespace authscope
