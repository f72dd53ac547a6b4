// UvConnection: the libuv shell of one client connection. It implements SessionIo for the
// sans-io Session it owns and turns libuv callbacks into Session events.
//
// Lifetime (STYLE.md C): every handle or request it starts (client tcp, timer, each upstream
// tcp, getaddrinfo) is counted in `live_handles_`; close() is idempotent, and the object is
// deleted only by the last close/cancel callback (via UvServer::on_connection_freed). After any
// call that may reach close() the code checks `closing_` before touching the Session again.
//
// Backpressure (STYLE.md D.14, h2o update_read_state): after queueing a write to side B, if
// B's libuv write queue exceeds kHighWatermark, reading from the other side stops; B's
// write_cb restarts it once the queue is below kLowWatermark. A side is read only when the
// Session wants it AND it is not throttled.
#pragma once

#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include <uv.h>

#include "proxy/session.h"
#include "proxy/session_io.h"

namespace authscope {

class UvServer;

inline constexpr size_t kHighWatermark = 256 * 1024;
inline constexpr size_t kLowWatermark = kHighWatermark / 2;
// After close(), queued writes towards the client (a 400/502 page) get this long to drain.
inline constexpr int kCloseLingerMs = 2000;
// Staged writes of one event go out early once this many bytes wait (bounds the staging).
inline constexpr size_t kStagedFlushBytes = 64 * 1024;

class UvConnection final : public SessionIo {
 public:
  UvConnection(UvServer& server, uint64_t connection_id);
  ~UvConnection() override;
  UvConnection(const UvConnection&) = delete;
  UvConnection& operator=(const UvConnection&) = delete;

  // Accepts from `listener` and starts the Session. On failure the connection closes itself.
  void accept_from(uv_stream_t* listener);
  // Closes at once with no response (connection limit reached).
  void refuse(uv_stream_t* listener);
  // Server shutdown: the Session finishes its current exchange, then closes.
  void on_server_shutdown();
  // Grace period over: close whatever is left.
  void force_close();

  // SessionIo
  void write(Side side, std::string_view bytes) override;
  void connect(const std::string& host, uint16_t port) override;
  void close_upstream() override;
  void shutdown(Side side) override;
  void close() override;
  void record(Flow&& flow) override;
  void read_start(Side side) override;
  void read_stop(Side side) override;
  void arm_timer(TimerKind kind, int ms) override;
  void disarm_timer() override;

  // Intrusive list of the server's connections.
  UvConnection* prev = nullptr;
  UvConnection* next = nullptr;

 private:
  struct Upstream;   // one upstream tcp handle; closed upstreams outlive their detachment
  struct WriteReq;
  struct DnsReq;

  uv_stream_t* stream(Side side);
  void apply_read_state(Side side);
  void on_read(Side side, ssize_t nread, const uv_buf_t* buf);
  void on_write_done(Side side, int status);
  void start_connect_attempt();
  void fail_connect(const Status& status);
  void finish_close();
  void handle_closed();
  void defer_error(Side side, int code);
  void defer_connect_error(Status status);
  void flush_deferred();
  void flush_staged(Side side);
  void write_now(Side side, std::string_view bytes);

  static void client_alloc_cb(uv_handle_t* handle, size_t suggested, uv_buf_t* buf);
  static void upstream_alloc_cb(uv_handle_t* handle, size_t suggested, uv_buf_t* buf);
  static void client_read_cb(uv_stream_t* stream, ssize_t nread, const uv_buf_t* buf);
  static void upstream_read_cb(uv_stream_t* stream, ssize_t nread, const uv_buf_t* buf);
  static void write_cb(uv_write_t* req, int status);
  static void shutdown_cb(uv_shutdown_t* req, int status);
  static void connect_cb(uv_connect_t* req, int status);
  static void getaddrinfo_cb(uv_getaddrinfo_t* req, int status, struct addrinfo* res);
  static void timer_cb(uv_timer_t* timer);
  static void close_cb(uv_handle_t* handle);
  static void upstream_close_cb(uv_handle_t* handle);

  UvServer& server_;
  uint64_t connection_id_;
  uv_tcp_t client_;
  uv_timer_t timer_;
  TimerKind timer_kind_ = TimerKind::kNone;
  Upstream* upstream_ = nullptr;  // the current upstream (null when none)
  DnsReq* dns_ = nullptr;         // the in-flight resolution (null when none)
  std::unique_ptr<Session> session_;

  // Connect attempt state: resolved addresses tried in order.
  std::string connect_host_;
  uint16_t connect_port_ = 0;
  std::vector<sockaddr_storage> addresses_;
  size_t next_address_ = 0;
  std::string last_connect_error_;

  // Failures found inside a SessionIo call, delivered after the current event returns.
  bool deferred_error_ = false;
  Side deferred_side_ = Side::kClient;
  std::string deferred_message_;
  bool has_deferred_connect_error_ = false;
  Status deferred_connect_error_;

  std::string staged_[2];  // writes of the current event, per side (see write())
  bool want_read_[2] = {false, false};
  bool throttled_[2] = {false, false};
  bool reading_[2] = {false, false};
  bool client_shut_ = false;
  bool client_eof_ = false;
  bool closing_ = false;
  bool handles_closed_ = false;
  int live_handles_ = 0;  // handles and requests whose callback has not run yet
};

}  // namespace authscope
