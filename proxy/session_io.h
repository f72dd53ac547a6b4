// SessionIo: the only way a sans-io Session acts on the world (mitmproxy's commands; ninja's
// DiskInterface). The libuv shell (uv_connection.cpp) implements it; tests implement a recording
// fake. Every call is a request: results come back to the Session as events
// (Session::on_upstream_connected, on_client_bytes, on_timer, ...), never re-entrantly from
// inside the call itself. Implementations must not call back into the Session synchronously.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>

#include "model/flow.h"

namespace authscope {

// Sides are named by role (STYLE.md M.40): the proxy client, and the server we connect to.
enum class Side { kClient, kUpstream };
const char* to_string(Side side);

// Which wait a timer is guarding; each has its own limit (ProxyLimits) and outcome.
enum class TimerKind {
  kNone,
  kRequestHead,     // first byte of a request head seen, head not complete: 408
  kBodyIdle,        // between reads of a request body: close, flow error
  kKeepAliveIdle,   // waiting for the next request on an idle connection: close silently
  kUpstreamIdle,    // idle client connection: close only its upstream, keep waiting
  kUpstreamConnect, // DNS + TCP connect: 504
  kTlsHandshake,    // upstream or client TLS handshake: 504 / close
  kUpstreamResponse,  // request sent whole, upstream silent: 504 / close
};
const char* to_string(TimerKind kind);

class SessionIo {
 public:
  virtual ~SessionIo() = default;
  // Queues bytes for `side` (copied; the caller's buffer may be reused at once).
  virtual void write(Side side, std::string_view bytes) = 0;
  // Resolves `host` (or its --resolve override) and connects; the outcome arrives as
  // Session::on_upstream_connected(Status). Any previous upstream is closed first.
  virtual void connect(const std::string& host, uint16_t port) = 0;
  // Closes the upstream connection only (the client connection stays). No event follows.
  virtual void close_upstream() = 0;
  // Half-close: FIN towards `side` once its queued writes have drained.
  virtual void shutdown(Side side) = 0;
  // Ends the session: queued writes towards the client are flushed (bounded by a short linger),
  // then every handle is closed. Idempotent. No event is delivered after it.
  virtual void close() = 0;
  // Hands a finished (or failed) exchange to the flow sink.
  virtual void record(Flow&& flow) = 0;
  // Whether the Session wants bytes from `side`. The shell may additionally pause a side on its
  // own for backpressure (write queue of the other side above the high watermark).
  virtual void read_start(Side side) = 0;
  virtual void read_stop(Side side) = 0;
  // One timer per session: arming replaces any armed timer. Expiry → Session::on_timer(kind).
  virtual void arm_timer(TimerKind kind, int ms) = 0;
  virtual void disarm_timer() = 0;
};

}  // namespace authscope
