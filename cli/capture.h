// CaptureSession: the capture proxy with its store and live output, as `proxy` and `run` use it.
//
// start() (on the loop thread, before uv_run): makes sure the CA and trust bundle exist, loads the
// rule pack (a broken pack fails now, not at exit), opens the store (secrets redacted on the
// writer thread unless keep_secrets), creates the proxy server, listens and writes the ready
// file. Completed flows go from the loop thread straight to FlowStore::enqueue (never blocks).
//
// Store health: whatever `quiet` says, a line on `warnings` as soon as flows are not being stored
// (and when they are again): cli/store_health.h.
//
// Live output: unless quiet, the store's after_commit hook (writer thread) feeds each committed
// batch to a live Analysis and prints one line per flow, marked with the rules whose findings name
// it, under a mutex. In quiet mode no hook is installed at all, so output costs the proxy nothing.
//
// stop() asks the server to drain and close; once the loop has ended, finish() flushes the store,
// analyzes (all flows, or only this session's) and replaces the stored findings.
#pragma once

#include <atomic>
#include <functional>
#include <iosfwd>
#include <memory>
#include <mutex>
#include <string>

#include <uv.h>

#include "cli/proxy_flags.h"
#include "cli/store_analysis.h"
#include "proxy/proxy_server.h"
#include "storage/flow_store.h"

namespace authscope::cli {

class LiveFlowPrinter;
class StoreHealthWatch;

class CaptureSession {
 public:
  // `live` receives the per-flow lines and hints (stdout for `proxy`, stderr for `run`),
  // `warnings` the store health lines (stderr).
  static Result<std::unique_ptr<CaptureSession>> start(uv_loop_t* loop, const CaptureOptions& options,
                                                       const HomePaths& paths, std::ostream& live,
                                                       std::ostream& warnings);
  ~CaptureSession();

  const std::string& bound_address() const { return bound_; }  // "127.0.0.1:8080"
  uint16_t bound_port() const { return bound_port_; }
  const std::string& db_path() const { return options_.db_path; }

  // Stops accepting and drains in-flight exchanges; `done` runs on the loop once every handle
  // of the proxy is closed. Idempotent.
  void stop(std::function<void()> done);

  // After the loop ended: flush, analyze, store the findings. When `session_only`, the returned
  // findings cover only the flows captured by this session (the stored ones cover the store).
  Result<StoreFindings> finish(bool session_only);

  size_t flows_captured() const { return flows_captured_.load(); }

 private:
  CaptureSession() = default;

  CaptureOptions options_;
  std::shared_ptr<const RulePack> pack_;
  std::shared_ptr<LiveFlowPrinter> printer_;
  std::unique_ptr<FlowStore> store_;
  std::unique_ptr<ProxyServer> server_;
  std::unique_ptr<StoreHealthWatch> health_;
  std::string bound_;
  uint16_t bound_port_ = 0;
  bool stopping_ = false;
  std::atomic<int64_t> first_id_{0};
  std::atomic<size_t> flows_captured_{0};
};

}  // namespace authscope::cli
