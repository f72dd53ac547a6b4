#include "cli/live_printer.h"

#include <map>
#include <ostream>
#include <set>

#include <fmt/format.h>

#include "cli/flow_format.h"

namespace authscope::cli {

LiveFlowPrinter::LiveFlowPrinter(std::ostream& out, std::shared_ptr<const RulePack> pack, std::string ca_cert,
                                 std::string ca_bundle)
    : out_(out), analysis_(std::move(pack)), ca_cert_(std::move(ca_cert)), ca_bundle_(std::move(ca_bundle)) {}

std::string LiveFlowPrinter::trust_hint(const std::string& alert, const std::string& ca_cert,
                                        const std::string& ca_bundle) {
  return fmt::format(
      "  hint: the client refused authscope's certificate ({}): it does not trust {}.\n"
      "        curl: CURL_CA_BUNDLE={} (or --cacert); Python requests/az CLI: REQUESTS_CA_BUNDLE={};\n"
      "        Go/Terraform: SSL_CERT_FILE={}; Node: NODE_EXTRA_CA_CERTS={}  (`authscope env` prints them all)",
      alert.empty() ? "TLS alert" : alert, ca_cert, ca_bundle, ca_bundle, ca_bundle, ca_cert);
}

void LiveFlowPrinter::on_commit(const std::vector<Flow>& flows) {
  std::lock_guard<std::mutex> lock(mu_);
  for (const Flow& f : flows) analysis_.add(f);
  // One findings() per batch, not per flow: the cost stays proportional to batches.
  std::map<int64_t, std::set<std::string>> marks;
  if (!flows.empty()) {
    int64_t lo = flows.front().id, hi = flows.front().id;
    for (const Flow& f : flows) {
      lo = std::min(lo, f.id);
      hi = std::max(hi, f.id);
    }
    for (const Finding& finding : analysis_.findings()) {
      for (int64_t id : finding.flows) {
        if (id >= lo && id <= hi) marks[id].insert(fmt::format("{}({})", finding.rule, to_string(finding.severity)));
      }
    }
  }
  for (const Flow& f : flows) {
    std::string mark;
    if (auto it = marks.find(f.id); it != marks.end()) {
      for (const std::string& m : it->second) mark += (mark.empty() ? "" : " ") + m;
    }
    out_ << fmt::format("{:>5} ", f.id) << live_flow_line(f, mark) << "\n";
    if (f.tls && !f.tls->client_alert.empty() && hinted_hosts_.insert(f.host).second) {
      out_ << trust_hint(f.tls->client_alert, ca_cert_, ca_bundle_) << "\n";
    }
  }
  out_.flush();
}

}  // namespace authscope::cli
