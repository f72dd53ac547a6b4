// Session: see session.h for the state diagram. Everything here runs inside one event call;
// no function blocks, throws (on the data path) or touches a socket.
#include "proxy/session.h"

#include <algorithm>

#include <fmt/format.h>

#include "proxy/http/authority.h"
#include "proxy/http/errors.h"
#include "proxy/proxy_errors.h"
#include "proxy/tls/cert_authority.h"
#include "proxy/tls/client_hello.h"
#include "proxy/tls/tls_engine.h"

namespace authscope {

namespace {

constexpr std::string_view kConnectEstablished = "HTTP/1.1 200 Connection Established\r\n\r\n";
// A bound on loop iterations over one input buffer: every iteration consumes bytes or ends an
// exchange, so this is never reached by honest input; it only guards against a parser bug.
constexpr int kMaxPumpRounds = 1 << 20;
// Client buffer capacity an idle kept-alive connection may keep (small requests reuse it).
constexpr size_t kIdleBufferKeep = 8 * 1024;
// Pipelined bytes held while a response is pending; beyond this the client is not read.
constexpr size_t kPipelineHoldBytes = 64 * 1024;

void capture(Body& body, std::string_view data, size_t limit) {
  if (!body.data) body.data.emplace();
  body.wire_size += data.size();
  if (body.data->size() < limit) {
    size_t take = std::min(limit - body.data->size(), data.size());
    body.data->append(data.data(), take);
    if (take < data.size()) body.truncated = true;
  } else if (!data.empty()) {
    body.truncated = true;
  }
}

std::string join(std::string_view error, std::string_view detail) {
  if (detail.empty()) return std::string(error);
  return fmt::format("{}: {}", error, detail);
}

// A host name compared the way DNS compares it: case-insensitively, a final dot ignored.
bool same_host(std::string_view a, std::string_view b) {
  if (!a.empty() && a.back() == '.') a.remove_suffix(1);
  if (!b.empty() && b.back() == '.') b.remove_suffix(1);
  return iequals(a, b);
}

// A fatal TLS alert record: ContentType alert(21), legacy_record_version 0x0303 (RFC 8446
// §5.1), length 2, AlertLevel fatal(2), AlertDescription unrecognized_name(112). RFC 6066 §3:
// "If the server understood the ClientHello extension but does not recognize the server name,
// the server SHOULD take one of two actions: either abort the handshake by sending a fatal-level
// unrecognized_name(112) alert or continue the handshake."
constexpr std::string_view kUnrecognizedNameAlert("\x15\x03\x03\x00\x02\x02\x70", 7);

bool is_loopback_name(std::string_view host) {
  return iequals(host, "localhost") || host.rfind("127.", 0) == 0 || host == "::1" || host == "0.0.0.0" ||
         host == "::";
}

}  // namespace

const char* Session::to_string(State state) {
  switch (state) {
    case State::kReadingRequest: return "ReadingRequest";
    case State::kConnectingUpstream: return "ConnectingUpstream";
    case State::kUpstreamTls: return "UpstreamTls";
    case State::kClientTls: return "ClientTls";
    case State::kForwarding: return "Forwarding";
    case State::kTunnel: return "Tunnel";
    case State::kClosed: return "Closed";
  }
  return "?";
}

Session::Session(const SessionConfig& config, SessionIo& io, uint64_t connection_id, std::string client_addr)
    : config_(config),
      io_(io),
      connection_id_(connection_id),
      client_addr_(std::move(client_addr)) {
  if (config_.scratch != nullptr) {
    scratch_ = config_.scratch;
  } else {
    own_scratch_ = std::make_unique<SessionScratch>();
    scratch_ = own_scratch_.get();
  }
  if (config_.intercept != nullptr) {
    matcher_ = config_.intercept;
  } else {
    own_matcher_ = std::make_unique<http::InterceptMatcher>(config_.options.intercept_globs);
    matcher_ = own_matcher_.get();
  }
  request_parser_ = std::make_unique<http::HttpParser>(http::HttpParser::Kind::kRequest, config_.options.limits,
                                                       request_sink_);
  // The response parser belongs to an upstream connection: connect_upstream makes it.
}

Session::~Session() = default;

void Session::start() {
  io_.read_start(Side::kClient);
  // A fresh connection gets the request-head limit: a client that connects and sends nothing
  // (or trickles a head) must not hold a connection forever (slowloris).
  io_.arm_timer(TimerKind::kRequestHead, config_.options.limits.request_head_timeout_ms);
}

// ---- events --------------------------------------------------------------------------------

void Session::on_client_bytes(const char* data, size_t len) {
  if (closed()) return;
  if (screening_hello_) {
    screen_client_hello(data, len);
    return;
  }
  pass_client_bytes(data, len);
}

void Session::pass_client_bytes(const char* data, size_t len) {
  if (!client_tls_) {
    handle_client_plaintext(data, len);
    return;
  }
  client_tls_->feed_ciphertext(data, len);
  drive_client_tls();
}

void Session::on_upstream_bytes(const char* data, size_t len) {
  if (closed()) return;
  if (!upstream_tls_) {
    pump_responses(data, len);
    return;
  }
  TlsEngine* engine = upstream_tls_.get();
  engine->feed_ciphertext(data, len);
  if (state_ == State::kUpstreamTls) {
    drive_upstream_tls();
    if (closed() || state_ == State::kUpstreamTls || upstream_tls_.get() != engine) return;
  }
  for (int round = 0; round < kMaxPumpRounds; ++round) {
    scratch_->upstream_plain.clear();
    TlsIo r = engine->read_plaintext(scratch_->upstream_plain);
    flush_tls(Side::kUpstream);
    if (!scratch_->upstream_plain.empty()) {
      pump_responses(scratch_->upstream_plain.data(), scratch_->upstream_plain.size());
      if (closed() || upstream_tls_.get() != engine) return;
    }
    if (r == TlsIo::kOk) continue;
    if (r == TlsIo::kWantIo) return;
    if (r == TlsIo::kClosed) {
      on_eof(Side::kUpstream);
      return;
    }
    on_read_error(Side::kUpstream, engine->error());
    return;
  }
}

void Session::on_upstream_connected(const Status& status) {
  if (closed() || state_ != State::kConnectingUpstream) return;
  io_.disarm_timer();
  if (!status.ok()) {
    upstream_state_ = kConnClosed;
    const bool loop = status.message() == kErrLoop;
    fail_exchange(status.message(), loop ? 400 : 502);
    return;
  }
  upstream_state_ = kConnOpen;
  if (upstream_tls_wanted_) {
    start_upstream_tls();
  } else {
    on_upstream_ready();
  }
}

void Session::on_eof(Side side) {
  if (closed()) return;
  if (side == Side::kClient) {
    if (screening_hello_) {
      // A partial first flight and then EOF: no verdict possible; the held bytes go on as is.
      screening_hello_ = false;
      std::string held;
      held.swap(hello_buf_);
      if (!held.empty()) pass_client_bytes(held.data(), held.size());
      if (closed()) return;
    }
    client_state_ &= static_cast<uint8_t>(~kCanRead);
    switch (state_) {
      case State::kTunnel:
        // Half-close passes through: FIN to the upstream once its queued bytes are written.
        if (upstream_state_ & kCanWrite) {
          io_.shutdown(Side::kUpstream);
          upstream_state_ &= static_cast<uint8_t>(~kCanWrite);
        }
        if (!(upstream_state_ & kCanRead)) finish_tunnel();
        return;
      case State::kClientTls:
        client_tls_->feed_eof();
        on_client_tls_failed();
        return;
      case State::kReadingRequest:
        // Between requests, or part of a head and then nothing: no exchange to record.
        close_session();
        return;
      case State::kConnectingUpstream:
      case State::kUpstreamTls:
      case State::kForwarding:
        if (pending_ == Pending::kConnect) {
          fail_exchange(kErrClientClosedMidRequest, 0);
          return;
        }
        if (ex_.active && !ex_.request_complete) {
          fail_exchange(kErrClientClosedMidRequest, 0);
          return;
        }
        // The request is complete: the client only half-closed. Deliver the response, then close.
        return;
      case State::kClosed:
        return;
    }
    return;
  }

  upstream_state_ &= static_cast<uint8_t>(~kCanRead);
  switch (state_) {
    case State::kTunnel:
      if (client_state_ & kCanWrite) {
        io_.shutdown(Side::kClient);
        client_state_ &= static_cast<uint8_t>(~kCanWrite);
      }
      if (!(client_state_ & kCanRead)) finish_tunnel();
      return;
    case State::kUpstreamTls:
      fail_exchange(kErrUpstreamTls, 502, "upstream closed the connection during the handshake");
      return;
    case State::kConnectingUpstream:
      return;  // a stale upstream; the new connect is in flight
    case State::kForwarding:
      if (ex_.active && ex_.head_sent_upstream) {
        // RFC 9112 §6.3 rule 8: "Otherwise, this is a response message without a declared message
        // length, so the message body length is determined by the number of octets received prior
        // to the server closing the connection."
        auto r = response_parser_->finish();
        upstream_reusable_ = false;
        if (closed()) return;
        if (ex_.response_complete) {
          finish_exchange();
          return;
        }
        fail_exchange(kErrUpstreamClosed, ex_.response_head_sent ? 0 : 502, r.ok() ? "" : r.detail);
        return;
      }
      [[fallthrough]];
    default:
      // The idle kept-alive upstream went away: the next request reconnects.
      io_.close_upstream();
      upstream_state_ = kConnClosed;
      upstream_reusable_ = false;
      upstream_tls_.reset();
      return;
  }
}

void Session::on_read_error(Side side, std::string_view what) {
  if (closed()) return;
  if (side == Side::kClient) {
    client_state_ = kConnClosed;
    if (state_ == State::kClientTls) {
      on_client_tls_failed();
      return;
    }
    if (state_ == State::kTunnel) {
      finish_tunnel(join(kErrClientReset, what));
      return;
    }
    if (ex_.active) {
      fail_exchange(ex_.request_complete ? kErrClientClosedBeforeResponse : kErrClientClosedMidRequest, 0, what);
      return;
    }
    close_session();
    return;
  }
  upstream_state_ = kConnClosed;
  if (state_ == State::kTunnel) {
    finish_tunnel(join(kErrUpstreamReset, what));
    return;
  }
  if (state_ == State::kUpstreamTls) {
    fail_exchange(kErrUpstreamTls, 502, what);
    return;
  }
  if (ex_.active && (ex_.head_sent_upstream || pending_ != Pending::kNone)) {
    fail_exchange(kErrUpstreamReset, ex_.response_head_sent ? 0 : 502, what);
    return;
  }
  io_.close_upstream();
  upstream_reusable_ = false;
  upstream_tls_.reset();
}

void Session::on_timer(TimerKind kind) {
  if (closed()) return;
  const auto& limits = config_.options.limits;
  switch (kind) {
    case TimerKind::kRequestHead:
      if (!ex_.active && request_first_byte_us_ == 0) {
        close_session();  // connected and sent nothing: nobody to answer
        return;
      }
      if (!ex_.active) begin_exchange();
      fail_exchange(kErrRequestHeadTimeout, 408,
                    fmt::format("no complete head within {} ms", limits.request_head_timeout_ms));
      return;
    case TimerKind::kKeepAliveIdle:
      close_session();
      return;
    case TimerKind::kUpstreamIdle:
      if (ex_.active || state_ != State::kReadingRequest) return;
      drop_idle_upstream();
      release_idle_memory();
      io_.arm_timer(TimerKind::kKeepAliveIdle,
                    std::max(1, limits.keepalive_idle_timeout_ms - limits.upstream_idle_timeout_ms));
      return;
    case TimerKind::kBodyIdle:
      fail_exchange(kErrBodyIdleTimeout, 408, fmt::format("no body bytes for {} ms", limits.body_idle_timeout_ms));
      return;
    case TimerKind::kUpstreamConnect:
      fail_exchange(kErrUpstreamConnectTimeout, 504,
                    fmt::format("{}:{} after {} ms", upstream_host_, upstream_port_, limits.upstream_connect_timeout_ms));
      return;
    case TimerKind::kTlsHandshake:
      if (state_ == State::kClientTls) {
        fail_exchange(kErrClientTlsTimeout, 0);
        return;
      }
      fail_exchange(kErrUpstreamTlsTimeout, 504,
                    fmt::format("{}:{} after {} ms", upstream_host_, upstream_port_, limits.tls_handshake_timeout_ms));
      return;
    case TimerKind::kUpstreamResponse:
      if (!ex_.active || !ex_.head_sent_upstream) return;
      // Before the response head: the client gets a 504 with the reason. Mid-response the
      // client has a status line already: the connection closes (its framing says the body
      // was cut) and the flow records why.
      fail_exchange(kErrUpstreamResponseTimeout, 504,
                    fmt::format("{}:{} sent nothing for {} ms", upstream_host_, upstream_port_,
                                limits.upstream_response_timeout_ms));
      return;
    case TimerKind::kNone:
      return;
  }
}

void Session::arm_response_timer() {
  io_.arm_timer(TimerKind::kUpstreamResponse, config_.options.limits.upstream_response_timeout_ms);
}

void Session::on_server_shutdown() {
  if (closed()) return;
  shutdown_requested_ = true;
  const bool idle = (state_ == State::kReadingRequest || state_ == State::kClientTls) && !ex_.active &&
                    !request_parser_->in_message() && client_in_offset_ >= client_in_.size();
  if (idle) close_session();
}

void Session::on_abort(std::string_view reason) {
  if (closed()) return;
  if (state_ == State::kTunnel) {
    finish_tunnel(reason);
    return;
  }
  if (ex_.active) {
    fail_exchange(reason, 0);
    return;
  }
  close_session();
}

// ---- request side --------------------------------------------------------------------------

void Session::handle_client_plaintext(const char* data, size_t len) {
  if (state_ == State::kTunnel) {
    tunnel_from_client_ += len;
    send(Side::kUpstream, std::string_view(data, len));
    return;
  }
  if (client_in_offset_ >= client_in_.size()) {
    client_in_.clear();
    client_in_offset_ = 0;
  }
  if (!ex_.active && request_first_byte_us_ == 0 && state_ == State::kReadingRequest) {
    request_first_byte_us_ = now_us();
    io_.arm_timer(TimerKind::kRequestHead, config_.options.limits.request_head_timeout_ms);
  }
  client_in_.append(data, len);
  if (ex_.active && ex_.head_sent_upstream && !ex_.request_complete)
    io_.arm_timer(TimerKind::kBodyIdle, config_.options.limits.body_idle_timeout_ms);
  if (ex_.active && ex_.request_complete && !ex_.upgrade && client_in_.size() - client_in_offset_ > kPipelineHoldBytes) {
    io_.read_stop(Side::kClient);  // finish_exchange reads again
  }
  pump_requests();
}

bool Session::can_feed_requests() const {
  if (request_paused_) return false;
  if (state_ == State::kReadingRequest) return true;
  return state_ == State::kForwarding && ex_.active && ex_.head_sent_upstream && !ex_.request_complete;
}

void Session::pump_requests() {
  for (int round = 0; round < kMaxPumpRounds && !closed() && can_feed_requests(); ++round) {
    if (client_in_offset_ >= client_in_.size()) break;
    auto r = request_parser_->feed(client_in_.data() + client_in_offset_, client_in_.size() - client_in_offset_);
    client_in_offset_ += r.consumed;
    if (closed()) return;
    switch (r.outcome) {
      case http::HttpParser::Outcome::kOk:
        break;
      case http::HttpParser::Outcome::kPaused:
        request_paused_ = true;
        return;
      case http::HttpParser::Outcome::kMessageDone:
        continue;  // can_feed_requests() is false until the response is done
      case http::HttpParser::Outcome::kUpgrade:
        return;  // CONNECT / websocket: the rest belongs to the tunnel or TLS layer
      case http::HttpParser::Outcome::kError:
        if (!ex_.active) begin_exchange();
        fail_exchange(r.error, r.http_status ? r.http_status : 400, r.detail);
        return;
    }
  }
  if (client_in_offset_ >= client_in_.size()) {
    client_in_.clear();
    client_in_offset_ = 0;
  }
}

void Session::begin_exchange() {
  ex_ = Exchange{};
  ex_.active = true;
  ex_.flow = new_flow();
  ex_.flow.times.start_us = request_first_byte_us_ ? request_first_byte_us_ : now_us();
}

Flow Session::new_flow() {
  Flow f;
  f.kind = FlowKind::kHttp;
  f.client_addr = client_addr_;
  f.connection_id = connection_id_;
  if (intercept_) {
    f.scheme = "https";
    f.host = connect_host_;
    f.port = connect_port_;
    f.tls = tls_info_;
  } else {
    f.scheme = "http";
  }
  return f;
}

bool Session::proxy_auth_ok(const Headers& headers) const {
  if (!config_.options.proxy_auth) return true;
  const std::string* value = headers.find("Proxy-Authorization");
  if (value == nullptr) return false;
  // RFC 9110 §11.1: the auth-scheme is case-insensitive; the token68 is compared exactly.
  std::string_view v(*value);
  std::string_view expected(config_.expected_proxy_authorization);
  if (v.size() != expected.size() || v.size() < 6) return false;
  return iequals(v.substr(0, 6), expected.substr(0, 6)) && v.substr(6) == expected.substr(6);
}

bool Session::aimed_at_self(std::string_view host, uint16_t port) const {
  if (config_.listen_port == 0 || port != config_.listen_port) return false;
  if (iequals(host, config_.listen_host)) return true;
  return is_loopback_name(host) && is_loopback_name(config_.listen_host);
}

void Session::on_request_head(http::MessageHead& head) {
  if (closed()) return;
  begin_exchange();
  Flow& flow = ex_.flow;
  flow.request.method = head.method;
  flow.request.target = head.target;
  flow.request.version = head.version;
  flow.bytes_from_client = head.head_bytes;
  ex_.request_method = head.method;
  ex_.client_version = head.version;
  ex_.client_keep_alive = head.keep_alive;
  ex_.upgrade = head.upgrade;
  if (head.framing != http::Framing::kNone) flow.request.body.data.emplace();
  request_first_byte_us_ = 0;

  if (!intercept_ && !proxy_auth_ok(head.headers)) {
    flow.request.headers = std::move(head.headers);
    flow.request.headers.remove("Proxy-Authorization");
    fail_exchange(kErrProxyAuth, 407);
    request_parser_->pause();
    return;
  }
  if (head.method == "CONNECT") {
    handle_connect(head);
    return;
  }

  std::string host;
  uint16_t port = 0;
  std::string path;
  if (!intercept_) {
    // A forward proxy receives absolute-form (RFC 9112 §3.2.2: "When making a request to a proxy,
    // other than a CONNECT or server-wide OPTIONS request, a client MUST send the target URI in
    // absolute-form").
    auto uri = http::parse_absolute_uri(head.target);
    if (!uri.ok()) {
      flow.request.headers = std::move(head.headers);
      fail_exchange(kErrBadTarget, 400, uri.status().message());
      request_parser_->pause();
      return;
    }
    host = uri->authority.host;
    port = uri->authority.port;
    path = uri->path_and_query;
    upstream_host_header_ = uri->host_header();
    flow.host = host;
    flow.port = port;
    if (aimed_at_self(host, port)) {
      flow.request.headers = std::move(head.headers);
      fail_exchange(kErrLoop, 400);
      request_parser_->pause();
      return;
    }
  } else {
    // Inside an intercepted tunnel the target is the CONNECT host, whatever Host says; the
    // request keeps its own Host towards the upstream.
    if (head.target.empty() || (head.target[0] != '/' && head.target != "*")) {
      flow.request.headers = std::move(head.headers);
      fail_exchange(kErrBadTarget, 400, "origin-form expected inside a TLS tunnel");
      request_parser_->pause();
      return;
    }
    host = connect_host_;
    port = connect_port_;
    path = head.target;
    const std::string* h = head.headers.find("Host");
    upstream_host_header_ = h ? *h : (port == 443 ? host : fmt::format("{}:{}", host, port));
  }

  auto serialized = http::serialize_request_head(head, {path, upstream_host_header_, head.upgrade});
  pending_head_bytes_ = std::move(serialized.bytes);
  ex_.request_body = serialized.body;
  flow.request.headers = std::move(head.headers);
  flow.request.headers.remove("Proxy-Authorization");

  const bool reuse = upstream_reusable_ && (upstream_state_ & kCanWrite) && upstream_host_ == host &&
                     upstream_port_ == port && upstream_tls_wanted_ == intercept_;
  if (reuse) {
    send_request_head();
    return;
  }
  upstream_host_ = host;
  upstream_port_ = port;
  upstream_tls_wanted_ = intercept_;
  connect_upstream(Pending::kRequest);
  // Keep the body in the client buffer until the upstream is ready (the client is not read
  // meanwhile, so that buffer stays within one read).
  if (head.framing != http::Framing::kNone) request_parser_->pause();
}

void Session::send_request_head() {
  ex_.head_sent_upstream = true;
  state_ = State::kForwarding;
  response_parser_->expect_response_to(ex_.request_method);
  send(Side::kUpstream, pending_head_bytes_);
  pending_head_bytes_.clear();
  io_.read_start(Side::kUpstream);
  io_.read_start(Side::kClient);  // the rest of the body, or (held) pipelined requests
  if (!ex_.request_complete) {
    io_.arm_timer(TimerKind::kBodyIdle, config_.options.limits.body_idle_timeout_ms);
  } else {
    arm_response_timer();
  }
}

void Session::handle_connect(http::MessageHead& head) {
  Flow& flow = ex_.flow;
  flow.request.headers = std::move(head.headers);
  flow.request.headers.remove("Proxy-Authorization");
  flow.scheme = "https";
  if (client_tls_) {
    fail_exchange(kErrBadConnect, 400, "CONNECT inside a TLS tunnel");
    return;
  }
  // RFC 9110 §9.3.6: "A CONNECT request MUST send the authority form of request target".
  auto authority = http::parse_connect_authority(head.target);
  if (!authority.ok()) {
    fail_exchange(kErrBadConnect, 400, authority.status().message());
    return;
  }
  flow.host = authority->host;
  flow.port = authority->port;
  if (aimed_at_self(authority->host, authority->port)) {
    fail_exchange(kErrLoop, 400);
    return;
  }
  connect_target_ = head.target;
  connect_host_ = authority->host;
  connect_port_ = authority->port;
  connect_start_us_ = ex_.flow.times.start_us;
  // The intercept decision is made on the CONNECT host, before any TLS state exists (STYLE.md
  // B.7; issue 7 item 4: a ClientHello naming another host is never a way around capture).
  intercept_ = config_.ca != nullptr && config_.upstream_ctx != nullptr && matcher_->matches(connect_host_) &&
               valid_certificate_name(connect_host_);
  upstream_host_ = connect_host_;
  upstream_port_ = connect_port_;
  upstream_tls_wanted_ = intercept_;
  connect_upstream(Pending::kConnect);
}

void Session::on_request_body(std::string_view data) {
  if (closed() || !ex_.active) return;
  capture(ex_.flow.request.body, data, config_.options.limits.body_capture_limit);
  ex_.flow.bytes_from_client += data.size();
  if (ex_.request_body == http::BodyWriting::kChunked) {
    scratch_->chunk.clear();
    http::append_chunk(scratch_->chunk, data);
    send(Side::kUpstream, scratch_->chunk);
  } else {
    send(Side::kUpstream, data);
  }
}

void Session::on_request_complete() {
  if (closed() || !ex_.active) return;
  ex_.request_complete = true;
  ex_.flow.times.request_end_us = now_us();
  if (pending_ == Pending::kConnect) return;  // CONNECT has no body
  if (ex_.head_sent_upstream) {
    if (ex_.request_body == http::BodyWriting::kChunked) {
      scratch_->chunk.clear();
      http::append_last_chunk(scratch_->chunk);
      send(Side::kUpstream, scratch_->chunk);
    }
    arm_response_timer();
  }
  // The client stays readable while the response comes (stopping and restarting cost two
  // epoll_ctl calls per request, and a hang-up is seen at once). Pipelined requests wait in the
  // buffer, unparsed, and are answered strictly in order; beyond kPipelineHoldBytes of them
  // reading stops until this response is done (handle_client_plaintext).
}

// ---- response side -------------------------------------------------------------------------

void Session::pump_responses(const char* data, size_t len) {
  if (state_ == State::kTunnel) {
    tunnel_from_upstream_ += len;
    send(Side::kClient, std::string_view(data, len));
    return;
  }
  if (!ex_.active || !ex_.head_sent_upstream) {
    // Bytes from an idle upstream are not a response to anything: never reuse it.
    io_.close_upstream();
    upstream_state_ = kConnClosed;
    upstream_reusable_ = false;
    upstream_tls_.reset();
    return;
  }
  // Every byte of the response restarts the wait for the next one (once the request is whole:
  // until then the request body's idle timer runs).
  if (ex_.request_complete) arm_response_timer();
  size_t off = 0;
  for (int round = 0; round < kMaxPumpRounds && off < len && !closed(); ++round) {
    auto r = response_parser_->feed(data + off, len - off);
    off += r.consumed;
    if (closed()) return;
    switch (r.outcome) {
      case http::HttpParser::Outcome::kOk:
      case http::HttpParser::Outcome::kPaused:
        break;
      case http::HttpParser::Outcome::kMessageDone:
        if (!ex_.response_complete) continue;  // an interim 1xx: the final response follows
        if (off < len) upstream_reusable_ = false;  // bytes after the response: do not trust it
        finish_exchange();
        return;
      case http::HttpParser::Outcome::kUpgrade:
        // 101 Switching Protocols: both sides now speak the new protocol, byte for byte.
        ex_.response_complete = true;
        ex_.flow.times.end_us = now_us();
        io_.record(std::move(ex_.flow));
        ex_ = Exchange{};
        tunnel_is_upgrade_ = true;
        enter_tunnel();
        if (off < len && !closed()) {
          tunnel_from_upstream_ += len - off;
          send(Side::kClient, std::string_view(data + off, len - off));
        }
        return;
      case http::HttpParser::Outcome::kError:
        fail_exchange(kErrUpstreamBadResponse, ex_.response_head_sent ? 0 : 502, r.detail);
        return;
    }
    if (r.outcome == http::HttpParser::Outcome::kOk || r.outcome == http::HttpParser::Outcome::kPaused) break;
  }
}

void Session::on_response_head(http::MessageHead& head) {
  if (closed() || !ex_.active) return;
  ex_.flow.bytes_from_upstream += head.head_bytes;
  if (head.status >= 100 && head.status < 200 && head.status != 101) {
    // RFC 9110 §15.2: "A proxy MUST forward 1xx responses unless the proxy itself requested the
    // generation of the 1xx response."
    ex_.interim = true;
    auto interim = http::serialize_response_head(head, {ex_.request_method, ex_.client_version, true, false});
    send(Side::kClient, interim.bytes);
    return;
  }
  ex_.interim = false;
  Flow& flow = ex_.flow;
  if (flow.times.response_start_us == 0) flow.times.response_start_us = now_us();
  const bool websocket = head.status == 101 && ex_.upgrade;
  const bool keep_alive = ex_.client_keep_alive && !shutdown_requested_ && (client_state_ & kCanRead) &&
                          ex_.request_complete;
  auto serialized =
      http::serialize_response_head(head, {ex_.request_method, ex_.client_version, keep_alive, websocket});
  ex_.close_after = serialized.close_after || !keep_alive;
  ex_.response_body = serialized.body;
  if (!head.keep_alive || head.framing == http::Framing::kUntilClose) upstream_reusable_ = false;
  send(Side::kClient, serialized.bytes);
  ex_.response_head_sent = true;

  Response response;
  response.status = head.status;
  response.reason = std::move(head.reason);
  response.version = std::move(head.version);
  response.headers = std::move(head.headers);
  if (head.framing != http::Framing::kNone) response.body.data.emplace();
  flow.response = std::move(response);
}

void Session::on_response_body(std::string_view data) {
  if (closed() || !ex_.active || !ex_.flow.response) return;
  capture(ex_.flow.response->body, data, config_.options.limits.body_capture_limit);
  ex_.flow.bytes_from_upstream += data.size();
  switch (ex_.response_body) {
    case http::BodyWriting::kChunked:
      scratch_->chunk.clear();
      http::append_chunk(scratch_->chunk, data);
      send(Side::kClient, scratch_->chunk);
      break;
    case http::BodyWriting::kIdentity:
      send(Side::kClient, data);
      break;
    case http::BodyWriting::kNone:
      break;
  }
}

void Session::on_response_complete() {
  if (closed() || !ex_.active) return;
  if (ex_.interim) {
    ex_.interim = false;
    // The parser reads the final response with the same expectation (HEAD, CONNECT ...).
    response_parser_->expect_response_to(ex_.request_method);
    return;
  }
  if (ex_.response_body == http::BodyWriting::kChunked) {
    scratch_->chunk.clear();
    http::append_last_chunk(scratch_->chunk);
    send(Side::kClient, scratch_->chunk);
  }
  ex_.response_complete = true;
  ex_.flow.times.end_us = now_us();
}

// Waiting for the next request, in two stages: after upstream_idle_timeout_ms the connection
// counts as idle (its upstream closes, its buffers go: release_idle_memory), then it waits out
// the rest of the keep-alive limit. A busy keep-alive connection never pays for releasing.
void Session::arm_idle_timer() {
  const auto& limits = config_.options.limits;
  if (limits.upstream_idle_timeout_ms < limits.keepalive_idle_timeout_ms) {
    io_.arm_timer(TimerKind::kUpstreamIdle, limits.upstream_idle_timeout_ms);
  } else {
    io_.arm_timer(TimerKind::kKeepAliveIdle, limits.keepalive_idle_timeout_ms);
  }
}

// The client connection stays; the next request connects again (resuming the TLS session).
void Session::drop_idle_upstream() {
  if (upstream_state_ == kConnClosed) return;
  if (upstream_tls_) {
    upstream_tls_->shutdown();  // close_notify, RFC 8446 §6.1
    flush_tls(Side::kUpstream);
  }
  io_.close_upstream();
  upstream_state_ = kConnClosed;
  upstream_tls_.reset();
  response_parser_.reset();  // the next connect_upstream makes a fresh one
}

// Idle keep-alive connections are what a proxy left running all day holds most of: between
// exchanges each keeps only its parsers' and TLS engines' fixed state, no grown buffer.
void Session::release_idle_memory() {
  if (client_in_offset_ >= client_in_.size()) {
    std::string().swap(client_in_);
    client_in_offset_ = 0;
  }
  std::string().swap(pending_head_bytes_);
  request_parser_->release_idle_memory();
  if (response_parser_) response_parser_->release_idle_memory();
  if (client_tls_) client_tls_->release_idle_memory();
  if (upstream_tls_) upstream_tls_->release_idle_memory();
}

void Session::finish_exchange() {
  // An upgrade request the upstream declined (no 101) ended the request parser (kUpgrade), so
  // that connection cannot carry another request.
  const bool close_client = ex_.close_after || !ex_.request_complete || shutdown_requested_ ||
                            !(client_state_ & kCanRead) || ex_.upgrade;
  io_.record(std::move(ex_.flow));
  ex_ = Exchange{};
  if (!upstream_reusable_) {
    io_.close_upstream();
    upstream_state_ = kConnClosed;
    upstream_tls_.reset();
  }
  if (close_client) {
    close_session();
    return;
  }
  state_ = State::kReadingRequest;
  io_.read_start(Side::kClient);
  if (client_in_offset_ >= client_in_.size() && client_in_.capacity() > kIdleBufferKeep) {
    std::string().swap(client_in_);  // an idle connection keeps no large buffer
    client_in_offset_ = 0;
  }
  if (client_in_offset_ < client_in_.size()) {
    // A pipelined request is already waiting: it gets the request-head limit.
    request_first_byte_us_ = now_us();
    io_.arm_timer(TimerKind::kRequestHead, config_.options.limits.request_head_timeout_ms);
    pump_requests();
  } else {
    arm_idle_timer();
  }
}

// ---- upstream lifecycle --------------------------------------------------------------------

void Session::connect_upstream(Pending why) {
  pending_ = why;
  upstream_reusable_ = false;
  upstream_tls_.reset();
  upstream_state_ = kConnClosed;
  // A fresh parser per upstream connection: an old one may be mid-message or failed.
  response_parser_ = std::make_unique<http::HttpParser>(http::HttpParser::Kind::kResponse,
                                                        config_.options.limits, response_sink_);
  state_ = State::kConnectingUpstream;
  io_.read_stop(Side::kClient);
  io_.arm_timer(TimerKind::kUpstreamConnect, config_.options.limits.upstream_connect_timeout_ms);
  io_.connect(upstream_host_, upstream_port_);
}

void Session::start_upstream_tls() {
  auto engine = TlsEngine::client(config_.upstream_ctx, upstream_host_, upstream_port_);
  if (!engine.ok()) {
    fail_exchange(kErrUpstreamTls, 502, engine.status().message());
    return;
  }
  upstream_tls_ = std::move(engine.value());
  state_ = State::kUpstreamTls;
  io_.arm_timer(TimerKind::kTlsHandshake, config_.options.limits.tls_handshake_timeout_ms);
  io_.read_start(Side::kUpstream);
  drive_upstream_tls();
}

void Session::drive_upstream_tls() {
  TlsIo r = upstream_tls_->handshake();
  flush_tls(Side::kUpstream);
  if (closed()) return;
  if (r == TlsIo::kWantIo) return;
  TlsPeerInfo info = upstream_tls_->peer_info();
  tls_info_.upstream_verify = info.verify_result;
  tls_info_.upstream_cert_subject = info.cert_subject;
  tls_info_.upstream_cert_issuer = info.cert_issuer;
  if (r != TlsIo::kOk) {
    // STYLE.md B.8: an upstream that fails verification is a flow error and a 502, never a
    // forged certificate shown to the client.
    const bool cert = SSL_get_verify_result(upstream_tls_->ssl()) != X509_V_OK;
    if (ex_.active) ex_.flow.tls = tls_info_;
    fail_exchange(cert ? kErrUpstreamCert : kErrUpstreamTls, 502, upstream_tls_->error());
    return;
  }
  tls_info_.upstream_version = info.version;
  tls_info_.upstream_cipher = info.cipher;
  io_.disarm_timer();
  on_upstream_ready();
}

void Session::on_upstream_ready() {
  upstream_reusable_ = true;
  Pending why = pending_;
  pending_ = Pending::kNone;
  if (why == Pending::kRequest) {
    if (ex_.active) ex_.flow.tls = intercept_ ? std::optional<TlsInfo>(tls_info_) : std::nullopt;
    request_paused_ = false;
    send_request_head();
    pump_requests();
    return;
  }
  // CONNECT established.
  std::string leftover = client_in_.substr(client_in_offset_);
  client_in_.clear();
  client_in_offset_ = 0;
  if (!intercept_) {
    io_.write(Side::kClient, kConnectEstablished);
    tunnel_start_us_ = connect_start_us_;
    ex_ = Exchange{};
    // Screening a tunnel only matters when an SNI could name a host we would intercept.
    screening_hello_ = config_.ca != nullptr && config_.upstream_ctx != nullptr;
    enter_tunnel();
    if (!leftover.empty() && !closed()) on_client_bytes(leftover.data(), leftover.size());
    return;
  }
  auto ctx = config_.ca->server_context_for(connect_host_);
  if (!ctx.ok()) {
    fail_exchange(kErrMintFailed, 502, ctx.status().message());
    return;
  }
  auto engine = TlsEngine::server(ctx.value());
  if (!engine.ok()) {
    fail_exchange(kErrClientTls, 502, engine.status().message());
    return;
  }
  io_.write(Side::kClient, kConnectEstablished);
  client_tls_ = std::move(engine.value());
  state_ = State::kClientTls;
  // The inner HTTP/1.1 stream starts afresh (the CONNECT parser ended at kUpgrade).
  request_parser_ = std::make_unique<http::HttpParser>(http::HttpParser::Kind::kRequest,
                                                       config_.options.limits, request_sink_);
  io_.arm_timer(TimerKind::kTlsHandshake, config_.options.limits.tls_handshake_timeout_ms);
  io_.read_start(Side::kClient);
  io_.read_start(Side::kUpstream);
  screening_hello_ = true;
  if (!leftover.empty()) on_client_bytes(leftover.data(), leftover.size());
}

// issue 7 item 4: "The intercept decision is made on the CONNECT host: a ClientHello whose SNI
// names another host is refused or intercepted, never a way around capture." We refuse:
//  - intercepted CONNECT, SNI names another host: the client means a host we did not decide
//    on (and whose upstream we did not verify), so it gets an alert, never a forged leaf;
//  - tunnelled CONNECT, SNI names an intercepted host: the tunnel would carry that host's
//    traffic uncaptured (e.g. CONNECT to an alias of its address), so it is refused too.
// No SNI, or bytes that are not a ClientHello, pass on unchanged (OpenSSL or the tunnel
// decides). Held bytes are bounded by kMaxClientHelloBytes.
void Session::screen_client_hello(const char* data, size_t len) {
  hello_buf_.append(data, len);
  ClientHelloInfo info;
  ClientHelloPeek peek = peek_client_hello(hello_buf_.data(), hello_buf_.size(), &info);
  if (peek == ClientHelloPeek::kNeedMore && hello_buf_.size() < kMaxClientHelloBytes) return;
  screening_hello_ = false;
  std::string held;
  held.swap(hello_buf_);
  if (!intercept_ && (peek == ClientHelloPeek::kMalformed || peek == ClientHelloPeek::kNeedMore)) {
    // A tunnel must not become a way around capture through a ClientHello our parser cannot
    // read (a parser differential, or padding beyond the cap): fail closed. (Intercepted
    // connections need no such rule: OpenSSL judges the bytes and the leaf is the CONNECT host's.)
    if (client_state_ & kCanWrite) io_.write(Side::kClient, kUnrecognizedNameAlert);
    client_state_ &= static_cast<uint8_t>(~kCanWrite);
    finish_tunnel(join(kErrClientHelloUnscreened,
                       peek == ClientHelloPeek::kMalformed ? "malformed ClientHello"
                                                           : fmt::format("larger than {} bytes", kMaxClientHelloBytes)));
    return;
  }
  if (peek == ClientHelloPeek::kOk && !info.sni.empty() && !same_host(info.sni, connect_host_)) {
    // A tunnel only matters for an SNI we would have intercepted (and could intercept).
    const bool could_intercept = config_.ca != nullptr && config_.upstream_ctx != nullptr;
    const bool refuse = intercept_ || (could_intercept && matcher_->matches(info.sni));
    if (refuse) {
      refuse_client_hello(info.sni);
      return;
    }
  }
  pass_client_bytes(held.data(), held.size());
}

void Session::refuse_client_hello(const std::string& sni) {
  if (client_state_ & kCanWrite) io_.write(Side::kClient, kUnrecognizedNameAlert);
  client_state_ &= static_cast<uint8_t>(~kCanWrite);
  std::string detail = intercept_
                           ? fmt::format("ClientHello names {}, CONNECT was {}:{}", sni, connect_host_, connect_port_)
                           : fmt::format("ClientHello names intercepted host {} through a tunnel to {}:{}", sni,
                                         connect_host_, connect_port_);
  if (!intercept_) {
    finish_tunnel(join(kErrSniMismatch, detail));
    return;
  }
  tls_info_.sni = sni;
  if (!ex_.active) begin_exchange();
  ex_.flow.request.method = "CONNECT";
  ex_.flow.request.target = connect_target_;
  ex_.flow.request.version = "HTTP/1.1";
  ex_.flow.tls = tls_info_;
  fail_exchange(kErrSniMismatch, 0, detail);
}

void Session::drive_client_tls() {
  TlsEngine* engine = client_tls_.get();
  if (!engine->handshake_done()) {
    TlsIo r = engine->handshake();
    flush_tls(Side::kClient);
    if (closed()) return;
    if (r == TlsIo::kWantIo) return;
    if (r != TlsIo::kOk) {
      on_client_tls_failed();
      return;
    }
    TlsPeerInfo info = engine->peer_info();
    tls_info_.sni = info.sni;
    tls_info_.client_version = info.version;
    tls_info_.client_cipher = info.cipher;
    tls_info_.alpn = info.alpn;
    ex_ = Exchange{};  // the CONNECT itself is not an exchange to record
    state_ = State::kReadingRequest;
    arm_idle_timer();
  }
  for (int round = 0; round < kMaxPumpRounds; ++round) {
    scratch_->client_plain.clear();
    TlsIo r = engine->read_plaintext(scratch_->client_plain);
    flush_tls(Side::kClient);
    if (!scratch_->client_plain.empty()) {
      handle_client_plaintext(scratch_->client_plain.data(), scratch_->client_plain.size());
      if (closed()) return;
    }
    if (r == TlsIo::kOk) continue;
    if (r == TlsIo::kWantIo) return;
    if (r == TlsIo::kClosed) {
      on_eof(Side::kClient);
      return;
    }
    on_read_error(Side::kClient, engine->error());
    return;
  }
}

void Session::on_client_tls_failed() {
  const std::string& alert = client_tls_->peer_alert();
  tls_info_.client_alert = alert;
  std::string message;
  if (!alert.empty()) {
    message = fmt::format("{} (alert: {}): {}", kErrClientRejectedCert, alert, kTrustHint);
  } else if (!client_tls_->error().empty()) {
    message = fmt::format("{}: {}", kErrClientTls, client_tls_->error());
  } else {
    // Some clients hang up without an alert when they do not trust the certificate.
    message = fmt::format("{}: client closed the connection during the handshake (it may not trust the "
                          "authscope CA): {}", kErrClientTls, kTrustHint);
  }
  flush_tls(Side::kClient);
  if (!ex_.active) begin_exchange();
  ex_.flow.tls = tls_info_;
  client_state_ &= static_cast<uint8_t>(~kCanWrite);
  fail_exchange(message, 0);
}

// ---- output and failure --------------------------------------------------------------------

void Session::send(Side side, std::string_view bytes) {
  if (bytes.empty()) return;
  if (side == Side::kClient) {
    if (!(client_state_ & kCanWrite)) return;
    if (client_tls_) {
      if (client_tls_->write_plaintext(bytes.data(), bytes.size()) == TlsIo::kFailed) {
        flush_tls(Side::kClient);
        return;
      }
      flush_tls(Side::kClient);
      return;
    }
    io_.write(Side::kClient, bytes);
    return;
  }
  if (!(upstream_state_ & kCanWrite)) return;
  if (upstream_tls_) {
    upstream_tls_->write_plaintext(bytes.data(), bytes.size());
    flush_tls(Side::kUpstream);
    return;
  }
  io_.write(Side::kUpstream, bytes);
}

void Session::flush_tls(Side side) {
  TlsEngine* engine = side == Side::kClient ? client_tls_.get() : upstream_tls_.get();
  if (engine == nullptr) return;
  scratch_->cipher.clear();
  engine->drain_ciphertext(scratch_->cipher);
  if (!scratch_->cipher.empty()) io_.write(side, scratch_->cipher);
}

void Session::fail_exchange(std::string_view error, int http_status, std::string_view detail) {
  if (closed()) return;
  std::string message = join(error, detail);
  if (!ex_.active) begin_exchange();
  Flow& flow = ex_.flow;
  flow.error = message;
  flow.times.end_us = now_us();
  if (flow.host.empty() && !upstream_host_.empty()) {
    flow.host = upstream_host_;
    flow.port = upstream_port_;
  }
  if (http_status != 0 && !ex_.response_head_sent && (client_state_ & kCanWrite)) {
    send(Side::kClient, http::error_response(http_status, message, true));
  }
  io_.record(std::move(flow));
  ex_ = Exchange{};
  close_session();
}

void Session::close_session() {
  if (closed()) return;
  state_ = State::kClosed;
  if (client_tls_ && (client_state_ & kCanWrite) && client_tls_->handshake_done()) {
    client_tls_->shutdown();  // close_notify, flushed with the rest by the shell's linger
    flush_tls(Side::kClient);
  }
  io_.close();
}

// ---- tunnel --------------------------------------------------------------------------------

void Session::enter_tunnel() {
  state_ = State::kTunnel;
  if (tunnel_start_us_ == 0) tunnel_start_us_ = now_us();
  io_.disarm_timer();
  io_.read_start(Side::kClient);
  io_.read_start(Side::kUpstream);
  if (client_in_offset_ < client_in_.size()) {
    std::string rest = client_in_.substr(client_in_offset_);
    client_in_.clear();
    client_in_offset_ = 0;
    handle_client_plaintext(rest.data(), rest.size());
  }
}

void Session::finish_tunnel(std::string_view error) {
  if (closed()) return;
  if (!tunnel_is_upgrade_) {
    // A tunnel flow holds host, port, byte counts and duration, never content (issue 2).
    Flow flow;
    flow.kind = FlowKind::kTunnel;
    flow.client_addr = client_addr_;
    flow.connection_id = connection_id_;
    flow.scheme = "tunnel";
    flow.host = connect_host_;
    flow.port = connect_port_;
    flow.request.method = "CONNECT";
    flow.request.target = connect_target_;
    flow.request.version = "HTTP/1.1";
    flow.times.start_us = tunnel_start_us_;
    flow.times.end_us = now_us();
    flow.bytes_from_client = tunnel_from_client_;
    flow.bytes_from_upstream = tunnel_from_upstream_;
    if (!error.empty()) flow.error = std::string(error);
    io_.record(std::move(flow));
  }
  close_session();
}

}  // namespace authscope
