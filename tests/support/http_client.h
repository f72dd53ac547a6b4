// A small blocking HTTP/1.1 client for tests: plain or TLS (OpenSSL, verifying against a CA file
// and the host name), optionally through an HTTP proxy (absolute-form for http, CONNECT for
// https), with keep-alive. Every read is bounded by a timeout and every body by max_body.
// Not for production: it exists so tests need no curl for simple exchanges.
#pragma once

#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "model/headers.h"
#include "model/status.h"

namespace authscope::testkit {

struct ClientTarget {
  std::string host = "login.microsoftonline.com";  // Host header, SNI and name verified
  uint16_t port = 443;          // port in the URL (Host header and CONNECT authority)
  std::string connect_address = "127.0.0.1";       // where to connect when there is no proxy
  uint16_t connect_port = 0;    // 0: same as port
  bool tls = true;
  std::string ca_file;          // trust anchors; empty = no verification (only for odd tests)
  bool verify = true;           // check chain and host name
  std::string proxy;            // "127.0.0.1:PORT": go through this HTTP proxy
  int timeout_ms = 10000;       // per connect/read/write
  size_t max_body = 64 * 1024 * 1024;
};

struct ClientRequest {
  std::string method = "GET";
  std::string target = "/";     // origin-form
  std::vector<HeaderField> headers;  // Host and Content-Length are added when absent
  std::string body;
};

struct ClientResponse {
  int status = 0;
  std::string reason;
  Headers headers;
  std::string body;
  bool closed = false;          // server closed (or will close) the connection after it
};

class HttpClientConnection {
 public:
  static Result<std::unique_ptr<HttpClientConnection>> open(const ClientTarget& target);
  ~HttpClientConnection();
  // Sends one request and reads its response (1xx interim responses are skipped).
  Result<ClientResponse> exchange(const ClientRequest& request);
  // Raw access for protocol tests (WebSocket frames, pipelining, half-close).
  Status write_raw(const std::string& bytes);
  Result<std::string> read_some(size_t max = 16384);
  // Verification result and negotiated protocol details, for assertions.
  std::string peer_subject() const;
  std::string tls_version() const;

  struct Impl;

 private:
  HttpClientConnection() = default;
  std::unique_ptr<Impl> impl_;
};

// One request on a fresh connection.
Result<ClientResponse> http_exchange(const ClientTarget& target, const ClientRequest& request);

// Parses "a=b&c=d" (application/x-www-form-urlencoded) and builds it back.
std::vector<std::pair<std::string, std::string>> parse_form(const std::string& text);
std::string form_value(const std::string& text, const std::string& key);  // "" when absent
std::string url_encode(const std::string& text);
std::string url_decode(const std::string& text);
std::string build_form(const std::vector<std::pair<std::string, std::string>>& fields);

}  // namespace authscope::testkit
