// Internal to the fake server: the request/response shapes the route files exchange with the
// connection loop, and the shared state (codes, refresh tokens, ARM resources) they keep.
#pragma once

#include <atomic>
#include <list>
#include <map>
#include <mutex>
#include <optional>
#include <string>
#include <thread>
#include <vector>

#include <openssl/ssl.h>

#include "tests/support/fake_entra_server.h"

namespace authscope::testkit {

struct ServerRequest {
  uint64_t connection = 0;
  std::string method;   // HEAD is passed as is; routes treat it as GET
  std::string target, path, query, host, version;
  Headers headers;
  std::string body;
  // Query parameters, then form parameters when the body is application/x-www-form-urlencoded.
  std::string param(const std::string& key) const;
  std::string query_param(const std::string& key) const;
  std::string form_param(const std::string& key) const;
  bool has_param(const std::string& key) const;
};

struct ServerResponse {
  enum class Body { kFixed, kChunked, kUntilClose };
  int status = 200;
  std::string reason;  // empty: the standard phrase
  std::vector<HeaderField> headers;
  std::string body;
  Body framing = Body::kFixed;
  // Generated body of this many pattern bytes instead of `body` (byte i is 'a' + i % 26), so
  // /bytes/N can send gigabytes without holding them.
  std::optional<uint64_t> generated;
  size_t chunk_size = 4096;     // for kChunked
  bool close = false;           // close the connection after this response
  int delay_ms = 0;             // sleep before sending (interrupted by stop())
  // Fault switches for proxy error paths: write `raw` verbatim instead of a response and close;
  // or reset the connection (RST) without answering.
  std::optional<std::string> raw;
  bool reset = false;

  void header(std::string name, std::string value) { headers.push_back({std::move(name), std::move(value)}); }
};

ServerResponse json_response(int status, const nlohmann::json& body);
ServerResponse text_response(int status, std::string body, std::string content_type = "text/plain; charset=utf-8");
std::string reason_phrase(int status);
std::string json_text(const nlohmann::json& j);  // never throws on bad UTF-8
nlohmann::json parse_json_lenient(const std::string& text);  // null when not JSON

struct DeviceGrant {
  std::string client_id, scope, tenant_id;
};
struct RefreshGrant {
  std::string client_id, scope, resource, tenant_id, oid, upn;
  bool v2 = true;
};

struct FakeEntraServer::Impl {
  FakeEntraServer* owner = nullptr;
  const FakeEntraOptions* options = nullptr;
  const TokenSigner* signer = nullptr;
  int listen_fd = -1;
  SSL_CTX* ssl_ctx = nullptr;
  std::atomic<bool> stopping{false};
  std::thread acceptor;

  struct Connection {
    std::thread thread;
    std::atomic<int> fd{-1};
    std::atomic<bool> done{false};
  };
  mutable std::mutex mu;  // guards everything below
  std::list<std::unique_ptr<Connection>> connections;
  std::vector<RecordedRequest> recorded;
  std::map<std::string, IssuedCode> codes;
  std::vector<std::string> code_order;
  std::map<std::string, DeviceGrant> device_codes;
  std::map<std::string, RefreshGrant> refresh_tokens;
  std::map<std::string, nlohmann::json> arm_resources;  // lower-case id → resource JSON

  void accept_loop();
  void serve(Connection* conn, int fd, uint64_t number);
  void reap_finished(bool all);
  bool sleep_interruptible(int ms);
};

// Routes: each returns nullopt when the path is not theirs.
std::optional<ServerResponse> route_plumbing(FakeEntraServer::Impl& impl, const ServerRequest& req);
std::optional<ServerResponse> route_login(FakeEntraServer::Impl& impl, const ServerRequest& req);
std::optional<ServerResponse> route_arm(FakeEntraServer::Impl& impl, const ServerRequest& req);
std::optional<ServerResponse> route_graph(FakeEntraServer::Impl& impl, const ServerRequest& req);

// Tenant path segment → tenant id (common/organizations/consumers and domain names → home).
std::string resolve_tenant(const std::string& segment);
bool looks_like_guid(const std::string& s);
int64_t unix_now();

// Bearer token checks shared by ARM and Graph: verified with the server's key, unexpired.
struct BearerCheck {
  bool present = false;
  bool valid = false;
  std::string error_code;     // ARM-style code when !valid
  std::string error_message;
  nlohmann::json claims;
};
BearerCheck check_bearer(const FakeEntraServer::Impl& impl, const std::string* authorization);

}  // namespace authscope::testkit
