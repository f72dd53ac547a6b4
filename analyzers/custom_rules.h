// Declarative custom rules: checks a user adds by dropping a JSON file into <rules>/custom/ (or a
// "custom_rules" array in a pack file), without recompiling.
//
//   {
//     "required_engine_version": 1,
//     "rules": [{
//       "id": "graph-mail-send",                  // [a-z0-9][a-z0-9._-]*, not a built-in id
//       "severity": "high",                       // critical|high|medium|low|info
//       "title": "App sends mail through Graph",
//       "description": "...",                     // optional
//       "references": ["https://..."],            // optional
//       "enabled": true,                          // optional
//       "message": "{client} called {method} {host}{path} with {claim:scp}",
//       "match": {                                // every given condition must hold
//         "class": "graph" | ["arm", "graph"],    // analyzers/classify.h kinds
//         "host": "*.microsoft.com" | [...],      // glob (* and ?), case-insensitive
//         "method": "POST" | [...],
//         "path": "/v1.0/users/*/sendMail" | [...],  // glob over the path (no query)
//         "path_prefix": "/v1.0/" | [...],
//         "status": 403 | [401, 403],             // response status
//         "headers": [{"name": "x-ms-authorization-auxiliary", "present": false},
//                     {"name": "User-Agent", "contains": "Terraform"}],   // request headers
//         "claims":  [{"claim": "appid", "equals": "04b07795-..."},
//                     {"claim": "scp", "contains": "Mail.Send"}]  // one token in the flow must
//       }                                                         // satisfy every claim test
//     }]
//   }
//
// Message placeholders: {client} (client id of the token, or "unknown client"), {tool} (from the
// User-Agent), {host}, {method}, {path}, {status}, {flow}, {tenant}, {audience}, {claim:NAME}.
// An unknown placeholder is a load error. `contains` on a claim: an array claim holds the value
// as an element, a string claim holds it as one of its space-separated words (scp).
#pragma once

#include <optional>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "model/finding.h"
#include "model/flow.h"
#include "model/status.h"

namespace authscope {

struct CustomHeaderMatch {
  std::string name;
  std::optional<bool> present;
  std::optional<std::string> equals;    // exact value
  std::optional<std::string> contains;  // substring, case-insensitive
};

struct CustomClaimMatch {
  std::string claim;
  std::optional<bool> present;
  std::optional<std::string> equals;
  std::optional<std::string> contains;
};

struct CustomRule {
  std::string id;
  bool enabled = true;
  Severity severity = Severity::kMedium;
  std::string title;
  std::string description;
  std::vector<std::string> references;
  std::string message;  // template
  std::string source;   // file it came from

  std::vector<std::string> classes, hosts, methods, paths, path_prefixes;
  std::vector<int> statuses;
  std::vector<CustomHeaderMatch> headers;
  std::vector<CustomClaimMatch> claims;
};

// Parses one custom rule object; `where` is "file: /rules/3" for error messages. `reserved_ids`
// are ids a custom rule may not take (the built-in ones).
Result<CustomRule> parse_custom_rule(const nlohmann::json& j, const std::string& where,
                                     const std::vector<std::string>& reserved_ids);

// What a custom rule sees of one flow (filled once per flow by the engine).
struct CustomRuleInput {
  const Flow* flow = nullptr;
  std::string flow_class;  // classify() kind
  std::string tool;        // client tool from the User-Agent
  std::vector<const nlohmann::json*> token_claims;  // decoded claims of tokens in the flow
};

// When the rule matches: the rendered message and the claims of the token that matched (if any
// claim condition was given).
struct CustomRuleHit {
  std::string message;
  nlohmann::ordered_json evidence = nlohmann::ordered_json::object();
};
std::optional<CustomRuleHit> match_custom_rule(const CustomRule& rule, const CustomRuleInput& in);

// Glob with '*' (any run, including empty) and '?' (one character); ASCII case-insensitive when
// `fold_case`. Bounded: O(|pattern| * |text|).
bool glob_match(std::string_view pattern, std::string_view text, bool fold_case = true);

}  // namespace authscope
