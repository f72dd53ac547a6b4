// Shared vocabulary of the built-in rules (stage two of the engine): what a rule reads (the
// pack, the extracted events and their links) and how it reports (FindingSink applies the pack's
// enable switch, severity and title, and bounds the flow list).
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "analyzers/auth_events.h"
#include "analyzers/exchanges.h"
#include "analyzers/rule_pack.h"
#include "model/finding.h"

namespace authscope {

struct RuleInput {
  const RulePack& pack;
  const EventLog& log;
  const ExchangeLinks& links;
};

class FindingSink {
 public:
  explicit FindingSink(const RulePack& pack) : pack_(pack) {}
  bool enabled(std::string_view rule) const { return pack_.enabled(rule); }
  // Adds a finding of `rule` with the pack's severity and title (`severity` overrides the
  // pack's for rules whose severity is data-driven, e.g. scope-overbroad tiers). Flow ids are
  // sorted, de-duplicated and capped at max_flows_per_finding (evidence.flow_count then has the
  // total). No-op when the rule is disabled.
  void add(std::string_view rule, std::string message, std::vector<int64_t> flows,
           nlohmann::ordered_json evidence, std::optional<Severity> severity = std::nullopt);
  std::vector<Finding> take() { return std::move(findings_); }

 private:
  const RulePack& pack_;
  std::vector<Finding> findings_;
};

// "client Microsoft Azure CLI (04b07795-8ddb-461a-bbee-02f9e1bf7b46) [AZURECLI/2.61.0]"
std::string client_phrase(const KnownApps& known, const std::string& client_id, const std::string& tool);
// "Microsoft Graph" / the audience itself / "an unknown resource"
std::string resource_phrase(const TokenFacts& t);
// Tenant as written in messages ("tenant 72f988bf-…" or "an unknown tenant").
std::string tenant_phrase(const std::string& tenant);
std::string join(const std::vector<std::string>& items, std::string_view sep = ", ");
bool has_word(std::string_view space_separated, std::string_view word);

// The built-in rules, one function per rule family (analyzers/rules/*.cpp).
void run_pkce_rules(const RuleInput& in, FindingSink& out);
void run_state_rules(const RuleInput& in, FindingSink& out);
void run_nonce_rules(const RuleInput& in, FindingSink& out);
void run_grant_rules(const RuleInput& in, FindingSink& out);       // implicit-grant
void run_scope_rules(const RuleInput& in, FindingSink& out);       // scope-overbroad
void run_aux_header_rules(const RuleInput& in, FindingSink& out);  // aux-header-missing/-invalid
void run_token_use_rules(const RuleInput& in, FindingSink& out);   // token-expired, -audience-mismatch
void run_local_hits(const RuleInput& in, FindingSink& out);        // ropc, token-in-url, cleartext, custom

}  // namespace authscope
