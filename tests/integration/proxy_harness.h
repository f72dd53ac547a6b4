// ProxyHarness: the real proxy (create_proxy_server + libuv) on its own loop and thread, with a
// FlowSink collecting flows, for loopback integration tests. stop() shuts the server down from
// the loop thread, joins it and returns uv_loop_close()'s result (0 = every handle closed).
#pragma once

#include <uv.h>

#include <chrono>
#include <condition_variable>
#include <functional>
#include <memory>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include "model/flow.h"
#include "proxy/proxy_server.h"

namespace authscope::testing {

class ProxyHarness {
 public:
  ProxyHarness() = default;
  ~ProxyHarness() {
    if (running_) stop();
  }

  Status start(const ProxyOptions& options) {
    uv_loop_init(&loop_);
    auto server = create_proxy_server(&loop_, options, [this](Flow&& flow) {
      std::lock_guard<std::mutex> lock(mu_);
      flows_.push_back(std::move(flow));
      cv_.notify_all();
    });
    if (!server.ok()) {
      uv_loop_close(&loop_);
      return server.status();
    }
    server_ = std::move(server.value());
    auto bound = server_->listen();
    if (!bound.ok()) {
      server_.reset();
      uv_run(&loop_, UV_RUN_NOWAIT);
      uv_loop_close(&loop_);
      return bound.status();
    }
    address_ = bound.value();
    port_ = static_cast<uint16_t>(std::stoi(address_.substr(address_.rfind(':') + 1)));
    uv_async_init(&loop_, &stop_async_, [](uv_async_t* a) {
      auto* self = static_cast<ProxyHarness*>(a->data);
      self->server_->shutdown([self] { uv_close(reinterpret_cast<uv_handle_t*>(&self->stop_async_), nullptr); });
    });
    stop_async_.data = this;
    running_ = true;
    thread_ = std::thread([this] { uv_run(&loop_, UV_RUN_DEFAULT); });
    return Status::Ok();
  }

  // Shuts down, joins the loop thread, returns uv_loop_close() (0 when no handle was left).
  int stop() {
    if (!running_) return -1;
    running_ = false;
    uv_async_send(&stop_async_);
    thread_.join();
    server_.reset();
    return uv_loop_close(&loop_);
  }

  const std::string& address() const { return address_; }
  uint16_t port() const { return port_; }
  std::string proxy_url() const { return "http://" + address_; }

  // Waits (bounded) until at least n flows were recorded; returns a copy of all of them.
  std::vector<Flow> wait_flows(size_t n, std::chrono::milliseconds timeout = std::chrono::seconds(10)) {
    std::unique_lock<std::mutex> lock(mu_);
    cv_.wait_for(lock, timeout, [&] { return flows_.size() >= n; });
    return flows_;
  }
  std::vector<Flow> flows() {
    std::lock_guard<std::mutex> lock(mu_);
    return flows_;
  }
  void clear_flows() {
    std::lock_guard<std::mutex> lock(mu_);
    flows_.clear();
  }

 private:
  uv_loop_t loop_{};
  uv_async_t stop_async_{};
  std::unique_ptr<ProxyServer> server_;
  std::thread thread_;
  bool running_ = false;
  std::string address_;
  uint16_t port_ = 0;
  std::mutex mu_;
  std::condition_variable cv_;
  std::vector<Flow> flows_;
};

}  // namespace authscope::testing
