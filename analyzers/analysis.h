// The analyzers' front door: a rule pack plus flows in, sorted findings out.
//
// Analysis is a pure function of the flows and the pack: no clock, no I/O, no globals ("now" is
// always a flow timestamp). Flows are fed one at a time in id order; only the small normalized
// auth events extracted from them are kept (never bodies), so memory grows with exchanges, not
// with captured bytes. findings() may be called at any point (live, after each flow) and returns
// exactly what a fresh Analysis over the same flows would return.
#pragma once

#include <memory>
#include <string>
#include <vector>

#include "model/finding.h"
#include "model/flow.h"
#include "model/status.h"

namespace authscope {

struct RulePack;  // analyzers/rule_pack.h
struct Exchange;  // analyzers/exchanges.h

// Loads every *.json in `dir` as one pack; an error names the file and the JSON path, and
// nothing is half-loaded.
Result<std::shared_ptr<const RulePack>> load_rule_pack(const std::string& dir);
// The installed rules/ directory (AUTHSCOPE_RULES_DIR at build time, or next to the binary).
std::string default_rules_dir();

class Analysis {
 public:
  explicit Analysis(std::shared_ptr<const RulePack> pack);
  ~Analysis();
  Analysis(Analysis&&) noexcept;
  Analysis& operator=(Analysis&&) noexcept;

  void add(const Flow& flow);
  std::vector<Finding> findings() const;  // sorted with finding_less
  size_t flows_seen() const;
  // The reconstructed OAuth/OIDC exchanges so far (for sequence diagrams in reports).
  std::vector<Exchange> exchanges() const;
  const RulePack& pack() const;

 private:
  struct State;
  std::unique_ptr<State> state_;
};

std::vector<Finding> analyze(const std::vector<Flow>& flows, std::shared_ptr<const RulePack> pack);

}  // namespace authscope
