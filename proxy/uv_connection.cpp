// The libuv shell of one client connection: see uv_connection.h for the lifetime rules.
#include "proxy/uv_connection.h"

#include <cstring>

#include <fmt/format.h>

#include "proxy/proxy_errors.h"
#include "proxy/uv_server.h"

namespace authscope {

namespace {

Side other(Side side) { return side == Side::kClient ? Side::kUpstream : Side::kClient; }
int idx(Side side) { return side == Side::kClient ? 0 : 1; }

std::string sockaddr_text(const sockaddr* sa) {
  char ip[INET6_ADDRSTRLEN] = {0};
  if (sa->sa_family == AF_INET) {
    const auto* in = reinterpret_cast<const sockaddr_in*>(sa);
    uv_ip4_name(in, ip, sizeof ip);
    return fmt::format("{}:{}", ip, ntohs(in->sin_port));
  }
  if (sa->sa_family == AF_INET6) {
    const auto* in6 = reinterpret_cast<const sockaddr_in6*>(sa);
    uv_ip6_name(in6, ip, sizeof ip);
    return fmt::format("[{}]:{}", ip, ntohs(in6->sin6_port));
  }
  return "?";
}

uint16_t sockaddr_port(const sockaddr_storage& ss) {
  if (ss.ss_family == AF_INET) return ntohs(reinterpret_cast<const sockaddr_in&>(ss).sin_port);
  if (ss.ss_family == AF_INET6) return ntohs(reinterpret_cast<const sockaddr_in6&>(ss).sin6_port);
  return 0;
}

bool is_loopback_or_any(const sockaddr_storage& ss) {
  if (ss.ss_family == AF_INET) {
    uint32_t a = ntohl(reinterpret_cast<const sockaddr_in&>(ss).sin_addr.s_addr);
    return a == 0 || (a >> 24) == 127;
  }
  if (ss.ss_family == AF_INET6) {
    const auto& a = reinterpret_cast<const sockaddr_in6&>(ss).sin6_addr;
    return IN6_IS_ADDR_UNSPECIFIED(&a) || IN6_IS_ADDR_LOOPBACK(&a);
  }
  return false;
}

bool same_address(const sockaddr_storage& a, const sockaddr_storage& b) {
  if (a.ss_family != b.ss_family) return false;
  if (a.ss_family == AF_INET)
    return reinterpret_cast<const sockaddr_in&>(a).sin_addr.s_addr ==
           reinterpret_cast<const sockaddr_in&>(b).sin_addr.s_addr;
  if (a.ss_family == AF_INET6)
    return std::memcmp(&reinterpret_cast<const sockaddr_in6&>(a).sin6_addr,
                       &reinterpret_cast<const sockaddr_in6&>(b).sin6_addr, sizeof(in6_addr)) == 0;
  return false;
}

// Would connecting to `target` reach our own listener? (issue 7 item 4: no loops.)
bool targets_listener(const sockaddr_storage& target, const sockaddr_storage& listener) {
  if (sockaddr_port(target) != sockaddr_port(listener) || sockaddr_port(listener) == 0) return false;
  if (same_address(target, listener)) return true;
  // A listener on the unspecified address or on loopback is reachable through any local
  // loopback address; treating every loopback target with our port as ourselves is the
  // conservative reading.
  return is_loopback_or_any(listener) && is_loopback_or_any(target);
}

}  // namespace

// One upstream TCP connection. Detached (attached=false) when the Session moves on; it then
// only waits for its close callback, which frees it.
struct UvConnection::Upstream {
  uv_tcp_t tcp;
  uv_connect_t connect_req;
  UvConnection* owner = nullptr;
  bool attached = true;
  bool connected = false;
  bool shut = false;
  bool eof = false;
};

// A write request owns its bytes (STYLE.md C.11); freed in write_cb.
struct UvConnection::WriteReq {
  uv_write_t req;
  UvConnection* conn = nullptr;
  Upstream* upstream = nullptr;  // for upstream writes: which upstream it went to
  Side side = Side::kClient;
  std::string data;
};

struct UvConnection::DnsReq {
  uv_getaddrinfo_t req;
  UvConnection* conn = nullptr;
  bool cancelled = false;
};

UvConnection::UvConnection(UvServer& server, uint64_t connection_id)
    : server_(server), connection_id_(connection_id) {
  uv_tcp_init(server_.loop(), &client_);
  client_.data = this;
  uv_timer_init(server_.loop(), &timer_);
  timer_.data = this;
  live_handles_ = 2;
}

UvConnection::~UvConnection() = default;

uv_stream_t* UvConnection::stream(Side side) {
  if (side == Side::kClient) return handles_closed_ ? nullptr : reinterpret_cast<uv_stream_t*>(&client_);
  if (upstream_ == nullptr || !upstream_->connected) return nullptr;
  return reinterpret_cast<uv_stream_t*>(&upstream_->tcp);
}

void UvConnection::accept_from(uv_stream_t* listener) {
  if (uv_accept(listener, reinterpret_cast<uv_stream_t*>(&client_)) != 0) {
    closing_ = true;
    finish_close();
    return;
  }
  uv_tcp_nodelay(&client_, 1);
  sockaddr_storage peer{};
  int len = sizeof peer;
  std::string client_addr = "?";
  if (uv_tcp_getpeername(&client_, reinterpret_cast<sockaddr*>(&peer), &len) == 0)
    client_addr = sockaddr_text(reinterpret_cast<sockaddr*>(&peer));
  session_ = std::make_unique<Session>(server_.config(), *this, connection_id_, std::move(client_addr));
  session_->start();
  flush_deferred();
}

void UvConnection::refuse(uv_stream_t* listener) {
  closing_ = true;
  if (uv_accept(listener, reinterpret_cast<uv_stream_t*>(&client_)) != 0) {
    finish_close();
    return;
  }
  static constexpr std::string_view k503 =
      "HTTP/1.1 503 Service Unavailable\r\nConnection: close\r\nContent-Type: text/plain\r\n"
      "Content-Length: 39\r\n\r\nauthscope: too many client connections\n";
  uv_buf_t buf = uv_buf_init(const_cast<char*>(k503.data()), static_cast<unsigned>(k503.size()));
  uv_try_write(reinterpret_cast<uv_stream_t*>(&client_), &buf, 1);  // best effort, never blocks
  finish_close();
}

void UvConnection::on_server_shutdown() {
  if (closing_ || !session_) return;
  session_->on_server_shutdown();
  flush_deferred();
}

void UvConnection::force_close() {
  if (closing_) return;
  if (session_) session_->on_abort(kErrShutdown);
  close();
}

// ---- SessionIo -----------------------------------------------------------------------------

// Writes are staged and go out once the current event has been handled (flush_deferred), so
// what one event produces (a response head and its body, two TLS records) leaves in one
// syscall and one TCP segment instead of several: fewer wakeups for the peer too.
void UvConnection::write(Side side, std::string_view bytes) {
  if (bytes.empty() || deferred_error_) return;
  if (closing_ && side == Side::kUpstream) return;
  if (stream(side) == nullptr) return;
  if (side == Side::kUpstream ? upstream_->shut : client_shut_) return;
  std::string& staged = staged_[idx(side)];
  staged.append(bytes);
  if (staged.size() >= kStagedFlushBytes) flush_staged(side);
}

void UvConnection::flush_staged(Side side) {
  std::string& staged = staged_[idx(side)];
  if (staged.empty()) return;
  std::string bytes;
  bytes.swap(staged);  // an idle connection keeps no staging buffer
  write_now(side, bytes);
}

void UvConnection::write_now(Side side, std::string_view bytes) {
  if (bytes.empty() || deferred_error_) return;
  if (closing_ && side == Side::kUpstream) return;
  uv_stream_t* s = stream(side);
  if (s == nullptr) return;
  if (side == Side::kUpstream ? upstream_->shut : client_shut_) return;
  // Fast path: nothing queued, the socket takes the bytes now (no allocation, no callback).
  // uv_try_write refuses (UV_EAGAIN) while earlier writes are queued, so order is kept.
  uv_buf_t buf = uv_buf_init(const_cast<char*>(bytes.data()), static_cast<unsigned>(bytes.size()));
  int written = uv_try_write(s, &buf, 1);
  if (written < 0 && written != UV_EAGAIN) {
    defer_error(side, written);
    return;
  }
  if (written < 0) written = 0;
  if (static_cast<size_t>(written) == bytes.size()) return;
  auto* req = new WriteReq;
  req->conn = this;
  req->side = side;
  req->upstream = side == Side::kUpstream ? upstream_ : nullptr;
  req->data.assign(bytes.data() + written, bytes.size() - written);
  req->req.data = req;
  uv_buf_t rest = uv_buf_init(req->data.data(), static_cast<unsigned>(req->data.size()));
  int rc = uv_write(&req->req, s, &rest, 1, write_cb);
  if (rc < 0) {  // the callback will never run (STYLE.md C.13): handle it here
    delete req;
    defer_error(side, rc);
    return;
  }
  if (uv_stream_get_write_queue_size(s) > kHighWatermark && !throttled_[idx(other(side))]) {
    throttled_[idx(other(side))] = true;
    apply_read_state(other(side));
  }
}

void UvConnection::write_cb(uv_write_t* req, int status) {
  auto* w = static_cast<WriteReq*>(req->data);
  UvConnection* self = w->conn;
  Side side = w->side;
  bool current = side == Side::kClient || (w->upstream == self->upstream_ && w->upstream != nullptr);
  delete w;
  if (status == UV_ECANCELED) return;  // normal during close (STYLE.md C.11)
  if (!current) return;
  if (status < 0) {
    if (!self->closing_ && self->session_) {
      self->session_->on_read_error(side, uv_strerror(status));
      self->flush_deferred();
    } else if (self->closing_) {
      self->finish_close();
    }
    return;
  }
  self->on_write_done(side, status);
}

void UvConnection::on_write_done(Side side, int /*status*/) {
  uv_stream_t* s = stream(side);
  if (closing_) {
    // Lingering close: once the client's queue is empty the handles can go.
    if (side == Side::kClient && (s == nullptr || uv_stream_get_write_queue_size(s) == 0)) finish_close();
    return;
  }
  if (s != nullptr && uv_stream_get_write_queue_size(s) < kLowWatermark && throttled_[idx(other(side))]) {
    throttled_[idx(other(side))] = false;
    apply_read_state(other(side));
  }
}

void UvConnection::connect(const std::string& host, uint16_t port) {
  if (closing_) return;
  close_upstream();
  connect_host_ = host;
  connect_port_ = port;
  addresses_.clear();
  next_address_ = 0;
  std::string resolve_host = host;
  uint16_t resolve_port = port;
  for (const auto& r : server_.config().options.resolves) {
    if (iequals(r.host, host) && r.port == port) {
      resolve_host = r.addr;
      resolve_port = r.addr_port;
      break;
    }
  }
  connect_port_ = resolve_port;
  // Always resolve through uv_getaddrinfo (the thread pool; literals come back at once), so the
  // outcome reaches the Session as an event and never re-entrantly from inside connect().
  auto* dns = new DnsReq;
  dns->conn = this;
  dns->req.data = dns;
  addrinfo hints{};
  hints.ai_family = AF_UNSPEC;
  hints.ai_socktype = SOCK_STREAM;
  std::string service = std::to_string(resolve_port);
  int rc = uv_getaddrinfo(server_.loop(), &dns->req, getaddrinfo_cb, resolve_host.c_str(), service.c_str(), &hints);
  if (rc < 0) {
    delete dns;
    defer_connect_error(Status::Io(fmt::format("{} {}: {}", kErrUpstreamDns, host, uv_strerror(rc))));
    return;
  }
  dns_ = dns;
  ++live_handles_;
}

void UvConnection::getaddrinfo_cb(uv_getaddrinfo_t* req, int status, struct addrinfo* res) {
  auto* dns = static_cast<DnsReq*>(req->data);
  UvConnection* self = dns->conn;
  bool cancelled = dns->cancelled || self->dns_ != dns;
  if (self->dns_ == dns) self->dns_ = nullptr;
  delete dns;
  if (!cancelled && !self->closing_) {
    if (status < 0) {
      uv_freeaddrinfo(res);
      self->session_->on_upstream_connected(
          Status::Io(fmt::format("{} {}: {}", kErrUpstreamDns, self->connect_host_, uv_strerror(status))));
      self->flush_deferred();
    } else {
      for (addrinfo* ai = res; ai != nullptr && self->addresses_.size() < 8; ai = ai->ai_next) {
        if (ai->ai_family != AF_INET && ai->ai_family != AF_INET6) continue;
        sockaddr_storage ss{};
        std::memcpy(&ss, ai->ai_addr, ai->ai_addrlen);
        self->addresses_.push_back(ss);
      }
      uv_freeaddrinfo(res);
      self->start_connect_attempt();
    }
  } else {
    uv_freeaddrinfo(res);
  }
  self->handle_closed();
}

// Tries the next resolved address. Runs only from callbacks, so failures may call the Session.
void UvConnection::start_connect_attempt() {
  while (!closing_) {
    if (next_address_ >= addresses_.size()) {
      fail_connect(Status::Io(fmt::format("{} {}:{}: {}", kErrUpstreamConnect, connect_host_, connect_port_,
                                          last_connect_error_.empty() ? "no address" : last_connect_error_)));
      return;
    }
    const sockaddr_storage& addr = addresses_[next_address_++];
    if (targets_listener(addr, server_.listen_sockaddr())) {
      fail_connect(Status::Invalid(std::string(kErrLoop)));
      return;
    }
    auto* up = new Upstream;
    up->owner = this;
    uv_tcp_init(server_.loop(), &up->tcp);
    up->tcp.data = up;
    up->connect_req.data = up;
    ++live_handles_;
    upstream_ = up;
    throttled_[idx(Side::kClient)] = false;
    int rc = uv_tcp_connect(&up->connect_req, &up->tcp, reinterpret_cast<const sockaddr*>(&addr), connect_cb);
    if (rc == 0) return;
    last_connect_error_ = uv_strerror(rc);
    close_upstream();  // the connect callback will never run; try the next address
  }
}

void UvConnection::fail_connect(const Status& status) {
  close_upstream();
  session_->on_upstream_connected(status);
  flush_deferred();
}

void UvConnection::connect_cb(uv_connect_t* req, int status) {
  auto* up = static_cast<Upstream*>(req->data);
  UvConnection* self = up->owner;
  if (status == UV_ECANCELED || !up->attached || self->closing_) return;
  if (status < 0) {
    self->last_connect_error_ = uv_strerror(status);
    self->close_upstream();
    self->start_connect_attempt();
    return;
  }
  up->connected = true;
  uv_tcp_nodelay(&up->tcp, 1);
  self->last_connect_error_.clear();
  self->session_->on_upstream_connected(Status::Ok());
  self->flush_deferred();
}

void UvConnection::close_upstream() {
  flush_staged(Side::kUpstream);  // bytes written before the close belong to this upstream
  staged_[idx(Side::kUpstream)].clear();
  if (dns_ != nullptr) {
    dns_->cancelled = true;
    uv_cancel(reinterpret_cast<uv_req_t*>(&dns_->req));  // its callback still runs (UV_EAI_CANCELED)
    dns_ = nullptr;
  }
  if (upstream_ == nullptr) return;
  Upstream* up = upstream_;
  upstream_ = nullptr;
  server_.note_activity();
  up->attached = false;
  reading_[idx(Side::kUpstream)] = false;
  want_read_[idx(Side::kUpstream)] = false;
  if (throttled_[idx(Side::kClient)]) {
    throttled_[idx(Side::kClient)] = false;
    apply_read_state(Side::kClient);
  }
  uv_close(reinterpret_cast<uv_handle_t*>(&up->tcp), upstream_close_cb);
}

void UvConnection::shutdown(Side side) {
  if (closing_) return;
  flush_staged(side);  // the FIN follows every byte written before it
  uv_stream_t* s = stream(side);
  if (s == nullptr) return;
  if (side == Side::kClient) {
    if (client_shut_) return;
    client_shut_ = true;
  } else {
    if (upstream_->shut) return;
    upstream_->shut = true;
  }
  auto* req = new uv_shutdown_t;
  req->data = this;
  if (uv_shutdown(req, s, shutdown_cb) < 0) delete req;  // already closing: nothing to flush
}

void UvConnection::shutdown_cb(uv_shutdown_t* req, int /*status*/) { delete req; }

void UvConnection::close() {
  if (closing_) return;
  flush_staged(Side::kClient);  // the answer the Session just wrote (a 400, a 502) goes out first
  closing_ = true;
  uv_timer_stop(&timer_);
  timer_kind_ = TimerKind::kNone;
  if (reading_[0]) uv_read_stop(reinterpret_cast<uv_stream_t*>(&client_));
  reading_[0] = false;
  close_upstream();
  // Let an answer already queued for the client (400, 502, the response to a half-closed
  // client ...) reach it, bounded in time.
  if (uv_stream_get_write_queue_size(reinterpret_cast<uv_stream_t*>(&client_)) > 0) {
    uv_timer_start(&timer_, timer_cb, kCloseLingerMs, 0);
    return;
  }
  finish_close();
}

void UvConnection::finish_close() {
  if (handles_closed_) return;
  handles_closed_ = true;
  uv_close(reinterpret_cast<uv_handle_t*>(&client_), close_cb);
  uv_close(reinterpret_cast<uv_handle_t*>(&timer_), close_cb);
}

void UvConnection::close_cb(uv_handle_t* handle) {
  static_cast<UvConnection*>(handle->data)->handle_closed();
}

void UvConnection::upstream_close_cb(uv_handle_t* handle) {
  auto* up = static_cast<Upstream*>(handle->data);
  UvConnection* self = up->owner;
  delete up;
  self->handle_closed();
}

void UvConnection::handle_closed() {
  if (--live_handles_ == 0) server_.on_connection_freed(this);
}

void UvConnection::record(Flow&& flow) { server_.deliver(std::move(flow)); }

void UvConnection::read_start(Side side) {
  want_read_[idx(side)] = true;
  apply_read_state(side);
}

void UvConnection::read_stop(Side side) {
  want_read_[idx(side)] = false;
  apply_read_state(side);
}

void UvConnection::apply_read_state(Side side) {
  if (closing_) return;
  uv_stream_t* s = stream(side);
  if (s == nullptr) return;
  bool eof = side == Side::kClient ? client_eof_ : upstream_->eof;
  bool should = want_read_[idx(side)] && !throttled_[idx(side)] && !eof;
  if (should == reading_[idx(side)]) return;
  if (should) {
    int rc = side == Side::kClient ? uv_read_start(s, client_alloc_cb, client_read_cb)
                                   : uv_read_start(s, upstream_alloc_cb, upstream_read_cb);
    if (rc < 0) {
      defer_error(side, rc);
      return;
    }
  } else {
    uv_read_stop(s);
  }
  reading_[idx(side)] = should;
}

void UvConnection::arm_timer(TimerKind kind, int ms) {
  if (closing_) return;
  timer_kind_ = kind;
  uv_timer_start(&timer_, timer_cb, static_cast<uint64_t>(ms > 0 ? ms : 1), 0);
}

void UvConnection::disarm_timer() {
  if (closing_) return;
  timer_kind_ = TimerKind::kNone;
  uv_timer_stop(&timer_);
}

void UvConnection::timer_cb(uv_timer_t* timer) {
  auto* self = static_cast<UvConnection*>(timer->data);
  if (self->closing_) {  // the close linger expired
    self->finish_close();
    return;
  }
  TimerKind kind = self->timer_kind_;
  self->timer_kind_ = TimerKind::kNone;
  if (kind == TimerKind::kNone) return;
  self->session_->on_timer(kind);
  self->flush_deferred();
}

// ---- reading -------------------------------------------------------------------------------

void UvConnection::client_alloc_cb(uv_handle_t* handle, size_t /*suggested*/, uv_buf_t* buf) {
  // One loop-wide buffer: every read callback consumes it before returning.
  UvServer& server = static_cast<UvConnection*>(handle->data)->server_;
  *buf = uv_buf_init(server.read_buffer(), UvServer::kReadBufferSize);
}

void UvConnection::upstream_alloc_cb(uv_handle_t* handle, size_t /*suggested*/, uv_buf_t* buf) {
  UvServer& server = static_cast<Upstream*>(handle->data)->owner->server_;
  *buf = uv_buf_init(server.read_buffer(), UvServer::kReadBufferSize);
}

void UvConnection::client_read_cb(uv_stream_t* stream, ssize_t nread, const uv_buf_t* buf) {
  static_cast<UvConnection*>(stream->data)->on_read(Side::kClient, nread, buf);
}

void UvConnection::upstream_read_cb(uv_stream_t* stream, ssize_t nread, const uv_buf_t* buf) {
  auto* up = static_cast<Upstream*>(stream->data);
  if (!up->attached) return;
  up->owner->on_read(Side::kUpstream, nread, buf);
}

// uv_read_cb exactly as documented (libuv stream.rst; STYLE.md C.12): 0 is nothing, UV_EOF is
// a half-close, any other negative value ends the session.
void UvConnection::on_read(Side side, ssize_t nread, const uv_buf_t* buf) {
  if (closing_ || nread == 0) return;
  if (nread > 0) {
    if (side == Side::kClient)
      session_->on_client_bytes(buf->base, static_cast<size_t>(nread));
    else
      session_->on_upstream_bytes(buf->base, static_cast<size_t>(nread));
  } else if (nread == UV_EOF) {
    // libuv has stopped reading this stream already.
    reading_[idx(side)] = false;
    if (side == Side::kClient)
      client_eof_ = true;
    else
      upstream_->eof = true;
    session_->on_eof(side);
  } else {
    session_->on_read_error(side, uv_strerror(static_cast<int>(nread)));
  }
  flush_deferred();
}

// Errors found inside a SessionIo call are reported to the Session once that call's event
// has returned, never re-entrantly. flush_deferred() ends every event: it also sends the
// writes the event staged.
void UvConnection::defer_error(Side side, int code) {
  if (deferred_error_) return;
  deferred_error_ = true;
  deferred_side_ = side;
  deferred_message_ = uv_strerror(code);
}

void UvConnection::defer_connect_error(Status status) {
  deferred_connect_error_ = std::move(status);
  has_deferred_connect_error_ = true;
}

void UvConnection::flush_deferred() {
  for (int round = 0; round < 4 && !closing_; ++round) {
    flush_staged(Side::kClient);
    flush_staged(Side::kUpstream);
    if (deferred_error_) {
      deferred_error_ = false;
      session_->on_read_error(deferred_side_, deferred_message_);
      if (closing_) return;
      close();  // a socket we cannot write to ends the session whatever the Session decided
      return;
    }
    if (has_deferred_connect_error_) {
      has_deferred_connect_error_ = false;
      session_->on_upstream_connected(deferred_connect_error_);
      continue;
    }
    return;
  }
  if (!closing_) {  // the rounds ran out: what the last one wrote still goes out
    flush_staged(Side::kClient);
    flush_staged(Side::kUpstream);
  }
}

}  // namespace authscope
