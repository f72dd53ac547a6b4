// UvServer: listener, connection bookkeeping and graceful shutdown (see uv_server.h).
#include "proxy/uv_server.h"

#include <cstring>

#include <fmt/format.h>

#include "proxy/tls/cert_authority.h"
#include "proxy/uv_connection.h"

namespace authscope {

UvServer::UvServer(uv_loop_t* loop, SessionConfig config, std::unique_ptr<CertAuthority> ca, FlowSink sink)
    : loop_(loop),
      config_(std::move(config)),
      ca_(std::move(ca)),
      sink_(std::move(sink)),
      read_buffer_(new char[kReadBufferSize]),
      trimmer_(loop) {
  config_.ca = ca_.get();
  config_.scratch = &scratch_;
  intercept_ = http::InterceptMatcher(config_.options.intercept_globs);
  config_.intercept = &intercept_;
}

UvServer::~UvServer() {
  // The loop must have closed every handle (shutdown() then running the loop) before this runs;
  // engines made from the upstream context hold their own references.
  if (config_.upstream_ctx != nullptr) SSL_CTX_free(config_.upstream_ctx);
}

Result<std::string> UvServer::listen() {
  if (listener_open_) return Status::Invalid("already listening");
  const std::string& addr = config_.options.listen_addr;
  const uint16_t port = config_.options.listen_port;
  sockaddr_storage ss{};
  if (uv_ip4_addr(addr.c_str(), port, reinterpret_cast<sockaddr_in*>(&ss)) != 0 &&
      uv_ip6_addr(addr.c_str(), port, reinterpret_cast<sockaddr_in6*>(&ss)) != 0) {
    return Status::Invalid(fmt::format("--listen: not an IP address: {}", addr));
  }
  uv_tcp_init(loop_, &listener_);
  listener_.data = this;
  listener_open_ = true;
  int rc = uv_tcp_bind(&listener_, reinterpret_cast<const sockaddr*>(&ss), 0);
  if (rc == 0) rc = uv_listen(reinterpret_cast<uv_stream_t*>(&listener_), 511, connection_cb);
  if (rc != 0) {
    listener_open_ = false;
    uv_close(reinterpret_cast<uv_handle_t*>(&listener_), nullptr);
    return Status::Io(fmt::format("cannot listen on {}:{}: {}", addr, port, uv_strerror(rc)));
  }
  int len = sizeof listen_sockaddr_;
  uv_tcp_getsockname(&listener_, reinterpret_cast<sockaddr*>(&listen_sockaddr_), &len);
  uint16_t bound = 0;
  if (listen_sockaddr_.ss_family == AF_INET)
    bound = ntohs(reinterpret_cast<sockaddr_in&>(listen_sockaddr_).sin_port);
  else if (listen_sockaddr_.ss_family == AF_INET6)
    bound = ntohs(reinterpret_cast<sockaddr_in6&>(listen_sockaddr_).sin6_port);
  config_.listen_host = addr;
  config_.listen_port = bound;
  trimmer_.start();
  if (addr.find(':') != std::string::npos) return fmt::format("[{}]:{}", addr, bound);
  return fmt::format("{}:{}", addr, bound);
}

void UvServer::connection_cb(uv_stream_t* listener, int status) {
  auto* self = static_cast<UvServer*>(listener->data);
  if (status < 0) return;  // e.g. EMFILE: libuv keeps listening; the next accept may succeed
  self->trimmer_.note_activity();
  auto* conn = new UvConnection(*self, self->next_connection_id_++);
  conn->next = self->head_;
  if (self->head_ != nullptr) self->head_->prev = conn;
  self->head_ = conn;
  ++self->connections_;
  // Beyond the limit: accept and close at once (with a best-effort 503), never crash and never
  // leave the connection in the kernel backlog (issue 7 item 2).
  if (self->shutting_down_ || self->connections_ > self->config_.options.limits.max_connections) {
    conn->refuse(listener);
    return;
  }
  conn->accept_from(listener);
}

void UvServer::on_connection_freed(UvConnection* conn) {
  if (conn->prev != nullptr) conn->prev->next = conn->next;
  if (conn->next != nullptr) conn->next->prev = conn->prev;
  if (head_ == conn) head_ = conn->next;
  --connections_;
  trimmer_.note_activity();
  delete conn;
  maybe_done();
}

void UvServer::shutdown(std::function<void()> done) {
  if (shutting_down_) return;
  shutting_down_ = true;
  shutdown_done_ = std::move(done);
  if (listener_open_) {
    listener_open_ = false;
    listener_closing_ = true;
    uv_close(reinterpret_cast<uv_handle_t*>(&listener_), listener_close_cb);
  }
  trimmer_.close([this] { maybe_done(); });
  // Idle connections close now; busy ones finish their exchange (the Session closes after it).
  for (UvConnection* c = head_; c != nullptr;) {
    UvConnection* next = c->next;
    c->on_server_shutdown();
    c = next;
  }
  uv_timer_init(loop_, &grace_timer_);
  grace_timer_.data = this;
  grace_timer_open_ = true;
  uv_timer_start(&grace_timer_, grace_timer_cb, static_cast<uint64_t>(config_.options.limits.shutdown_grace_ms), 0);
  maybe_done();
}

void UvServer::grace_timer_cb(uv_timer_t* timer) {
  auto* self = static_cast<UvServer*>(timer->data);
  for (UvConnection* c = self->head_; c != nullptr;) {
    UvConnection* next = c->next;
    c->force_close();
    c = next;
  }
  self->close_grace_timer();
}

void UvServer::close_grace_timer() {
  if (!grace_timer_open_) return;
  grace_timer_open_ = false;
  grace_timer_closing_ = true;
  uv_close(reinterpret_cast<uv_handle_t*>(&grace_timer_), [](uv_handle_t* h) {
    auto* self = static_cast<UvServer*>(h->data);
    self->grace_timer_closing_ = false;
    self->maybe_done();
  });
}

void UvServer::listener_close_cb(uv_handle_t* handle) {
  auto* self = static_cast<UvServer*>(handle->data);
  self->listener_closing_ = false;
  self->maybe_done();
}

void UvServer::maybe_done() {
  if (!shutting_down_) return;
  if (connections_ == 0) close_grace_timer();
  if (connections_ != 0 || listener_closing_ || grace_timer_open_ || grace_timer_closing_ ||
      trimmer_.closing())
    return;
  if (shutdown_done_) {
    auto done = std::move(shutdown_done_);
    shutdown_done_ = nullptr;
    done();
  }
}

}  // namespace authscope
