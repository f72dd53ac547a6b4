// Session: the sans-io state machine of one client connection (mitmproxy's layers, STYLE.md B).
//
// It receives events (on_client_bytes, on_upstream_bytes, on_upstream_connected, on_eof,
// on_read_error, on_timer, on_server_shutdown, on_abort) and acts only through SessionIo. It
// never touches a socket, a clock other than now_us() for flow timestamps, or libuv.
//
//   ReadingRequest ──absolute-form http──> ConnectingUpstream ──> Forwarding ──> ReadingRequest
//        │                                                          (keep-alive, next request)
//        └─CONNECT host:port── decide on the CONNECT host, before any TLS state (STYLE.md B.7)
//              ├─ not intercepted: ConnectingUpstream ──> "200" ──> Tunnel (bytes only)
//              └─ intercepted:     ConnectingUpstream ──> UpstreamTls (verify the upstream
//                                  certificate FIRST, STYLE.md B.8) ──> "200" ──> ClientTls
//                                  (minted leaf) ──> ReadingRequest over TLS ──> Forwarding ...
//        In both branches the client's first bytes are screened before they reach the tunnel
//        or the TLS engine: a ClientHello whose SNI names another host than the CONNECT host
//        is refused with a fatal unrecognized_name alert and a flow error (kErrSniMismatch)
//        when intercepting; through a tunnel it is refused only when the SNI names an
//        intercepted host (otherwise the tunnel would carry that host's traffic uncaptured).
//   any state ──error / EOF / timeout / shutdown──> Closed (io.close(): the shell flushes and
//   closes every handle)
//
// Inside a TLS tunnel, a request that finds the upstream gone (keep-alive closed by the
// server) goes ReadingRequest → ConnectingUpstream → UpstreamTls → Forwarding again, reusing
// the verified host. An upstream failure before the client got a response head is answered
// with 502 (504 for timeouts); an intercepted CONNECT whose upstream fails verification is
// answered 502 with the reason, so the client never completes a handshake with a forged
// certificate standing in for an untrusted upstream.
//
// Each exchange becomes a Flow handed to SessionIo::record() when it completes or fails;
// a tunnel becomes one FlowKind::kTunnel flow when it ends.
//
// Memory: unparsed client bytes are kept only while the parser is paused (pipelining, upstream
// connect), and the client is not read meanwhile, so buffers stay within one read; bodies
// stream through and only the first body_capture_limit bytes are kept for the flow.
#pragma once

#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <string_view>

#include "model/flow.h"
#include "model/status.h"
#include "proxy/http/host_glob.h"
#include "proxy/http/http_parser.h"
#include "proxy/http/serialize.h"
#include "proxy/session_config.h"
#include "proxy/session_io.h"

namespace authscope {

class TlsEngine;

// Half-close bookkeeping per side (mitmproxy's ConnectionState).
enum ConnectionState : uint8_t {
  kConnClosed = 0,
  kCanRead = 1,
  kCanWrite = 2,
  kConnOpen = kCanRead | kCanWrite,
};

class Session {
 public:
  enum class State {
    kReadingRequest,      // waiting for, or reading, a request head (plain or inside TLS)
    kConnectingUpstream,  // DNS + TCP connect for a CONNECT or a request
    kUpstreamTls,         // TLS handshake with the upstream, verifying its certificate
    kClientTls,           // "200" sent; TLS handshake with the client (minted leaf)
    kForwarding,          // a request is going upstream and/or its response is coming back
    kTunnel,              // byte tunnel (not intercepted, or after 101 Switching Protocols)
    kClosed,
  };
  static const char* to_string(State state);

  Session(const SessionConfig& config, SessionIo& io, uint64_t connection_id, std::string client_addr);
  ~Session();
  Session(const Session&) = delete;
  Session& operator=(const Session&) = delete;

  void start();
  void on_client_bytes(const char* data, size_t len);
  void on_upstream_bytes(const char* data, size_t len);
  void on_upstream_connected(const Status& status);
  void on_eof(Side side);
  void on_read_error(Side side, std::string_view what);
  void on_timer(TimerKind kind);
  // The server stops: finish the exchange in flight, then close (idle connections close now).
  void on_server_shutdown();
  // Ends at once (grace period over): records what is in flight with `reason`, then io.close().
  void on_abort(std::string_view reason);

  State state() const { return state_; }
  bool closed() const { return state_ == State::kClosed; }
  bool intercepting() const { return intercept_; }
  uint8_t client_state() const { return client_state_; }
  uint8_t upstream_state() const { return upstream_state_; }

 private:
  // What the upstream connection being established is for.
  enum class Pending { kNone, kConnect, kRequest };

  struct RequestSink final : http::HttpParser::Sink {
    Session* s;
    explicit RequestSink(Session* session) : s(session) {}
    void on_head(http::MessageHead& head) override { s->on_request_head(head); }
    void on_body(std::string_view data) override { s->on_request_body(data); }
    void on_message_complete() override { s->on_request_complete(); }
  };
  struct ResponseSink final : http::HttpParser::Sink {
    Session* s;
    explicit ResponseSink(Session* session) : s(session) {}
    void on_head(http::MessageHead& head) override { s->on_response_head(head); }
    void on_body(std::string_view data) override { s->on_response_body(data); }
    void on_message_complete() override { s->on_response_complete(); }
  };

  // One request/response exchange in flight.
  struct Exchange {
    Flow flow;
    bool active = false;
    bool head_sent_upstream = false;
    bool request_complete = false;
    bool response_head_sent = false;  // a final (non-1xx) head went to the client
    bool response_complete = false;
    bool client_keep_alive = true;
    bool close_after = false;         // the client connection closes after this response
    bool upgrade = false;             // websocket: tunnel after 101
    bool interim = false;             // reading a 1xx response
    std::string request_method;
    std::string client_version;
    http::BodyWriting request_body = http::BodyWriting::kNone;
    http::BodyWriting response_body = http::BodyWriting::kNone;
  };

  // Request side.
  void on_request_head(http::MessageHead& head);
  void on_request_body(std::string_view data);
  void on_request_complete();
  void handle_connect(http::MessageHead& head);
  void send_request_head();
  void pump_requests();
  bool can_feed_requests() const;
  void handle_client_plaintext(const char* data, size_t len);
  // Response side.
  void on_response_head(http::MessageHead& head);
  void on_response_body(std::string_view data);
  void on_response_complete();
  void pump_responses(const char* data, size_t len);
  void finish_exchange();
  void release_idle_memory();
  // The request is whole: wait at most upstream_response_timeout_ms for (more of) the response.
  void arm_response_timer();
  void arm_idle_timer();
  void drop_idle_upstream();
  // Upstream lifecycle.
  void connect_upstream(Pending why);
  void start_upstream_tls();
  void on_upstream_ready();
  void drive_upstream_tls();
  void drive_client_tls();
  void on_client_tls_failed();
  // The first client bytes after "200 Connection Established" (tunnel or intercepted): held
  // until a ClientHello can be judged, then refused (SNI mismatch) or passed on.
  void screen_client_hello(const char* data, size_t len);
  void pass_client_bytes(const char* data, size_t len);
  void refuse_client_hello(const std::string& sni);
  // Output.
  void send(Side side, std::string_view bytes);
  void flush_tls(Side side);
  // Records the exchange in flight (or a new one) with the error, answers `http_status` when
  // the client has no response head yet (0: no answer), and closes the session.
  void fail_exchange(std::string_view error, int http_status, std::string_view detail = {});
  void close_session();
  // Tunnel.
  void enter_tunnel();
  void finish_tunnel(std::string_view error = {});
  // Flows.
  Flow new_flow();
  void begin_exchange();
  bool aimed_at_self(std::string_view host, uint16_t port) const;
  bool proxy_auth_ok(const Headers& headers) const;

  const SessionConfig& config_;
  SessionIo& io_;
  std::unique_ptr<http::InterceptMatcher> own_matcher_;  // only without config_.intercept
  const http::InterceptMatcher* matcher_ = nullptr;
  uint64_t connection_id_;
  std::string client_addr_;
  State state_ = State::kReadingRequest;
  uint8_t client_state_ = kConnOpen;
  uint8_t upstream_state_ = kConnClosed;
  Pending pending_ = Pending::kNone;
  bool shutdown_requested_ = false;

  RequestSink request_sink_{this};
  ResponseSink response_sink_{this};
  std::unique_ptr<http::HttpParser> request_parser_;
  std::unique_ptr<http::HttpParser> response_parser_;  // per upstream connection; null without one
  std::string client_in_;       // client plaintext not yet consumed by the request parser
  size_t client_in_offset_ = 0;
  bool request_paused_ = false; // paused in on_head until the upstream is ready

  // CONNECT target (tunnel or intercepted host) and the current upstream.
  bool intercept_ = false;
  std::string connect_host_;
  uint16_t connect_port_ = 0;
  std::string upstream_host_;   // host the upstream connection is for ("" = none)
  uint16_t upstream_port_ = 0;
  bool upstream_tls_wanted_ = false;
  bool upstream_reusable_ = false;
  std::unique_ptr<TlsEngine> client_tls_;
  std::unique_ptr<TlsEngine> upstream_tls_;
  TlsInfo tls_info_;            // copied into every flow of an intercepted connection
  std::string connect_target_;  // CONNECT request-target as sent
  int64_t connect_start_us_ = 0;
  // True from the CONNECT's "200" until the first ClientHello (or non-TLS bytes) was judged.
  bool screening_hello_ = false;
  std::string hello_buf_;       // client bytes held while screening (<= kMaxClientHelloBytes)

  Exchange ex_;
  std::string upstream_host_header_;  // Host value for the pending request
  std::string pending_head_bytes_;    // serialized request head waiting for the upstream
  // Buffers reused across events (no per-request allocation churn, issue 6), shared by the
  // loop's sessions when the server provides them.
  std::unique_ptr<SessionScratch> own_scratch_;
  SessionScratch* scratch_ = nullptr;
  int64_t request_first_byte_us_ = 0;

  // Tunnel flow.
  uint64_t tunnel_from_client_ = 0;
  uint64_t tunnel_from_upstream_ = 0;
  int64_t tunnel_start_us_ = 0;
  bool tunnel_is_upgrade_ = false;
};

}  // namespace authscope
