#include "proxy/session_io.h"

namespace authscope {

const char* to_string(Side side) { return side == Side::kClient ? "client" : "upstream"; }

const char* to_string(TimerKind kind) {
  switch (kind) {
    case TimerKind::kNone: return "none";
    case TimerKind::kRequestHead: return "request-head";
    case TimerKind::kBodyIdle: return "body-idle";
    case TimerKind::kKeepAliveIdle: return "keep-alive-idle";
    case TimerKind::kUpstreamIdle: return "upstream-idle";
    case TimerKind::kUpstreamConnect: return "upstream-connect";
    case TimerKind::kTlsHandshake: return "tls-handshake";
    case TimerKind::kUpstreamResponse: return "upstream-response";
  }
  return "?";
}

}  // namespace authscope
