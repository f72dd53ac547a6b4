// Options of the capture proxy (the contract's proxy options), already parsed and validated
// by the CLI. Limits are named constants with their defaults documented in the README.
#pragma once

#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>
#include <vector>

namespace authscope {

// The contract's default interception list.
inline const std::vector<std::string>& default_intercept_globs() {
  static const std::vector<std::string> kDefault = {
      "login.microsoftonline.com", "login.microsoft.com",        "login.windows.net",
      "sts.windows.net",           "management.azure.com",       "management.core.windows.net",
      "graph.microsoft.com"};
  return kDefault;
}

struct ResolveOverride {  // --resolve HOST:PORT=ADDR:PORT
  std::string host;
  uint16_t port = 0;
  std::string addr;
  uint16_t addr_port = 0;
};

struct ProxyLimits {
  size_t max_request_line = 16 * 1024;        // 414
  size_t max_header_bytes = 64 * 1024;        // 431
  size_t max_header_fields = 128;             // 431
  size_t max_chunk_line = 4 * 1024;           // 400
  size_t max_connections = 1024;              // beyond: refused
  size_t body_capture_limit = 4 * 1024 * 1024;  // recorded bytes per body; the wire is untouched
  int request_head_timeout_ms = 30'000;       // 408
  int body_idle_timeout_ms = 60'000;
  int keepalive_idle_timeout_ms = 60'000;
  // An idle client connection closes its upstream connection after this (the client stays):
  // a burst of requests reuses it, an idle connection holds one TLS state instead of two.
  int upstream_idle_timeout_ms = 5'000;
  int upstream_connect_timeout_ms = 10'000;   // 504
  int tls_handshake_timeout_ms = 10'000;      // 504
  // A request sent whole and its upstream silent this long (no byte of the response, or none
  // since the last one): 504 before the response has started, the connection closed after.
  // Long: ARM and Graph answer within seconds, but a hung upstream must not hold a client (and
  // a connection slot) forever.
  int upstream_response_timeout_ms = 300'000;
  int shutdown_grace_ms = 2'000;              // in-flight exchanges finish on SIGINT/SIGTERM
};

struct ProxyOptions {
  std::string listen_addr = "127.0.0.1";
  uint16_t listen_port = 8080;
  std::vector<std::string> intercept_globs = default_intercept_globs();
  std::vector<ResolveOverride> resolves;
  std::string upstream_ca_file;          // extra trust anchors (PEM), on top of the system store
  std::string ca_cert_file, ca_key_file; // the authscope CA that signs minted leaves
  std::optional<std::string> proxy_auth; // "user:pass": Basic Proxy-Authorization required
  ProxyLimits limits;
};

}  // namespace authscope
