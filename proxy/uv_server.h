// UvServer: the ProxyServer implementation. Owns the listener, the shared SessionConfig (CA,
// upstream SSL_CTX) and every UvConnection. One loop, one thread.
#pragma once

#include <cstdint>
#include <functional>
#include <memory>
#include <string>

#include <uv.h>

#include "proxy/idle_trim.h"
#include "proxy/proxy_server.h"
#include "proxy/session_config.h"

namespace authscope {

class CertAuthority;
class UvConnection;

class UvServer final : public ProxyServer {
 public:
  UvServer(uv_loop_t* loop, SessionConfig config, std::unique_ptr<CertAuthority> ca, FlowSink sink);
  ~UvServer() override;

  Result<std::string> listen() override;
  void shutdown(std::function<void()> done) override;
  size_t open_connections() const override { return connections_; }

  uv_loop_t* loop() { return loop_; }
  const SessionConfig& config() const { return config_; }
  void deliver(Flow&& flow) {
    trimmer_.note_activity();
    if (sink_) sink_(std::move(flow));
  }
  // One read buffer for the whole loop: read callbacks consume it synchronously.
  char* read_buffer() { return read_buffer_.get(); }
  static constexpr size_t kReadBufferSize = 64 * 1024;
  // The bound listener address (for loop detection after DNS).
  const sockaddr_storage& listen_sockaddr() const { return listen_sockaddr_; }
  // Something freed or allocated a good deal (an upstream closed): lets the idle trim run.
  void note_activity() { trimmer_.note_activity(); }
  // Called from the last close callback of a connection; deletes it.
  void on_connection_freed(UvConnection* conn);

 private:
  static void connection_cb(uv_stream_t* listener, int status);
  static void listener_close_cb(uv_handle_t* handle);
  static void grace_timer_cb(uv_timer_t* timer);
  void close_grace_timer();
  void maybe_done();

  uv_loop_t* loop_;
  SessionConfig config_;
  std::unique_ptr<CertAuthority> ca_;
  FlowSink sink_;
  std::unique_ptr<char[]> read_buffer_;
  SessionScratch scratch_;
  http::InterceptMatcher intercept_;
  IdleMemoryTrimmer trimmer_;
  uv_tcp_t listener_;
  uv_timer_t grace_timer_;
  sockaddr_storage listen_sockaddr_{};
  bool listener_open_ = false;
  bool listener_closing_ = false;
  bool grace_timer_open_ = false;
  bool grace_timer_closing_ = false;
  bool shutting_down_ = false;
  std::function<void()> shutdown_done_;
  UvConnection* head_ = nullptr;  // intrusive list of live connections
  size_t connections_ = 0;
  uint64_t next_connection_id_ = 1;
};

}  // namespace authscope
