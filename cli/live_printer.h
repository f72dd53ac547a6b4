// LiveFlowPrinter: the `proxy` command's line per completed flow, fed from the store's
// after_commit hook (writer thread) so the event loop never formats or writes to a terminal.
#pragma once

#include <iosfwd>
#include <memory>
#include <mutex>
#include <set>
#include <string>
#include <vector>

#include "analyzers/analysis.h"
#include "model/flow.h"

namespace authscope::cli {

class LiveFlowPrinter {
 public:
  LiveFlowPrinter(std::ostream& out, std::shared_ptr<const RulePack> pack, std::string ca_cert,
                  std::string ca_bundle);

  // One committed batch (writer thread): analyze, then print one line per flow, marking the flows
  // that findings name, and a trust hint for clients that rejected the minted certificate.
  void on_commit(const std::vector<Flow>& flows);

  // Text of the hint for a client that refused the authscope certificate.
  static std::string trust_hint(const std::string& alert, const std::string& ca_cert, const std::string& ca_bundle);

 private:
  std::mutex mu_;
  std::ostream& out_;
  Analysis analysis_;
  std::string ca_cert_, ca_bundle_;
  std::set<std::string> hinted_hosts_;  // one hint per host: the fix is the same for every flow
};

}  // namespace authscope::cli
