// ProxyServer: the libuv shell around the sans-io Session state machines.
//
// Owns the listening socket and every client Session. Runs entirely on the loop thread it was
// created on. Completed flows (and failed ones, with their error) are handed to the FlowSink on
// that thread; the sink must not block (the SQLite store's enqueue() does not).
#pragma once

#include <functional>
#include <memory>
#include <string>

#include <uv.h>

#include "model/flow.h"
#include "model/status.h"
#include "proxy/proxy_options.h"

namespace authscope {

using FlowSink = std::function<void(Flow&&)>;

class ProxyServer {
 public:
  virtual ~ProxyServer() = default;
  // Binds and starts accepting. Returns the bound "ADDR:PORT" (port 0 resolved).
  virtual Result<std::string> listen() = 0;
  // Stops accepting, lets in-flight exchanges finish for limits.shutdown_grace_ms, then closes
  // every connection and handle; `done` runs once everything is closed (the loop may then end).
  virtual void shutdown(std::function<void()> done) = 0;
  virtual size_t open_connections() const = 0;
};

// Loads the CA and upstream trust, validates options; errors are one-line Status messages.
Result<std::unique_ptr<ProxyServer>> create_proxy_server(uv_loop_t* loop, const ProxyOptions& options,
                                                         FlowSink sink);

}  // namespace authscope
