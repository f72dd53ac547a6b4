// The rule engine's front door: stage one (extract_events) on add(), stage two (link the
// exchanges, run every rule family) on findings(). findings() is a function of the events
// alone, so calling it after any add() gives exactly what a fresh Analysis of the same flows
// gives; the result is cached until the next add().
#include "analyzers/analysis.h"

#include <algorithm>

#include "analyzers/auth_events.h"
#include "analyzers/exchanges.h"
#include "analyzers/rule_pack.h"
#include "analyzers/rules/rule_support.h"

namespace authscope {

struct Analysis::State {
  std::shared_ptr<const RulePack> pack;
  EventLog log;
  mutable bool dirty = true;
  mutable std::vector<Finding> cached;
};

Analysis::Analysis(std::shared_ptr<const RulePack> pack) : state_(std::make_unique<State>()) {
  state_->pack = pack ? std::move(pack) : default_rule_pack();
}
Analysis::~Analysis() = default;
Analysis::Analysis(Analysis&&) noexcept = default;
Analysis& Analysis::operator=(Analysis&&) noexcept = default;

void Analysis::add(const Flow& flow) {
  extract_events(flow, *state_->pack, state_->log);
  state_->dirty = true;
}

size_t Analysis::flows_seen() const { return state_->log.flows; }

const RulePack& Analysis::pack() const { return *state_->pack; }

std::vector<Finding> Analysis::findings() const {
  if (!state_->dirty) return state_->cached;
  const ExchangeLinks links = link_exchanges(state_->log);
  RuleInput in{*state_->pack, state_->log, links};
  FindingSink sink(*state_->pack);
  run_pkce_rules(in, sink);
  run_state_rules(in, sink);
  run_nonce_rules(in, sink);
  run_grant_rules(in, sink);
  run_scope_rules(in, sink);
  run_aux_header_rules(in, sink);
  run_token_use_rules(in, sink);
  run_local_hits(in, sink);
  std::vector<Finding> out = sink.take();
  std::sort(out.begin(), out.end(), finding_less);
  state_->cached = out;
  state_->dirty = false;
  return out;
}

std::vector<Exchange> Analysis::exchanges() const {
  return build_exchanges(state_->log, link_exchanges(state_->log), state_->pack->known);
}

std::vector<Finding> analyze(const std::vector<Flow>& flows, std::shared_ptr<const RulePack> pack) {
  Analysis a(std::move(pack));
  for (const auto& f : flows) a.add(f);
  return a.findings();
}

}  // namespace authscope
