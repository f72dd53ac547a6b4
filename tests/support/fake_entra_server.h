// FakeEntraServer: a loopback HTTP/1.1 server (TLS by default) that plays
// login.microsoftonline.com, management.azure.com and graph.microsoft.com, chosen by the Host
// header, plus plumbing endpoints on every host for proxy tests. Tests point a proxy at it with
// `--resolve login.microsoftonline.com:443=127.0.0.1:PORT --upstream-ca PKI/ca.pem`.
//
// Endpoints (tenant = any path segment; common/organizations/consumers resolve to kHomeTenantId):
//   login:  GET  /{tenant}/v2.0/.well-known/openid-configuration, /{tenant}/.well-known/openid-configuration
//           GET  /{tenant}/discovery/v2.0/keys, /{tenant}/discovery/keys, /common/discovery/instance
//           GET  /{tenant}/oauth2/v2.0/authorize, /{tenant}/oauth2/authorize   → 302 (code or implicit)
//           POST /{tenant}/oauth2/v2.0/token, /{tenant}/oauth2/token (v1, resource=)
//           POST /{tenant}/oauth2/v2.0/devicecode, /{tenant}/oauth2/devicecode
//   ARM:    GET/PUT/PATCH/POST/DELETE /subscriptions/{sub}/... (Bearer required; linked-subscription
//           checks answer 403 LinkedAuthorizationFailed as real ARM does)
//   Graph:  GET /v1.0/me
//   any:    /echo, /bytes/N, /chunked/N, /close/N, /status/N, /slow?ms=N, /upload, /ws, HEAD on any;
//           `Expect: 100-continue` is answered with 100 before the body is read.
//           Faults: /reset (TCP RST, no response), /hang?ms=N (no response, then close),
//           /malformed (an invalid response head), /truncate/N (Content-Length N, N/2 sent, close).
//   Generated bodies: byte i is 'a' + i % 26.
//
// Process-wide: start() sets SIGPIPE to SIG_IGN (OpenSSL writes with write(2)).
// Threading: one accept thread plus one thread per connection with blocking sockets (bounded by
// max_connections; extra connections get 503 and are closed). Reads time out after
// read_timeout_ms. stop() (also run by the destructor) closes the listener, shuts every open
// connection down and joins every thread; after it returns the server owns no thread.
// Public methods are thread-safe.
#pragma once

#include <atomic>
#include <cstdint>
#include <map>
#include <memory>
#include <mutex>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "model/headers.h"
#include "model/status.h"
#include "tests/support/token_signer.h"

namespace authscope::testkit {

// A subscription owned by another tenant than the caller's (ARM "linked" scope).
struct LinkedSubscription {
  std::string subscription_id;
  std::string tenant_id;      // the tenant that owns it
  // true: the caller's tenant may reach it but lacks a role on the linked scope; ARM answers
  // LinkedAuthorizationFailed "does not have permission to perform action(s) … on the linked
  // scope(s)" whatever auxiliary tokens are sent (NOT an auxiliary-header problem).
  bool missing_role = false;
};

// The default set: kLinkedSubscriptionId owned by kLinkedTenantId, and kNoRoleSubscriptionId
// (same tenant as home, missing_role).
std::vector<LinkedSubscription> default_linked_subscriptions();

struct FakeEntraOptions {
  std::string listen_host = "127.0.0.1";
  uint16_t port = 0;                 // 0: pick a free port (read it back with port())
  bool tls = true;                   // false: plain HTTP (for plain-http proxy tests)
  std::string cert_file;             // server certificate (PEM); required when tls
  std::string key_file;              // its key (PEM)
  int max_connections = 128;
  int read_timeout_ms = 15000;       // per read, on every connection
  size_t max_head_bytes = 256 * 1024;          // request line + headers (Entra tokens are large)
  size_t max_buffered_body = 32 * 1024 * 1024;  // bodies kept in memory (not /upload)
  std::vector<LinkedSubscription> linked_subscriptions = default_linked_subscriptions();
  bool arm_requires_token = true;    // ARM/Graph answer 401 without a valid Bearer token
  // Optional signing key (PEM) so tokens stay verifiable across restarts; empty = fresh key.
  std::string signing_key_pem;
  std::string signing_kid = "fake-entra-key-1";
  // App roles granted to a client in client-credentials tokens, by client id.
  std::map<std::string, std::vector<std::string>> app_roles;
  // requests() keeps at most this many entries, each with at most recorded_body_bytes of body
  // (long benchmark or soak runs set 0 so memory stays flat; requests_served() still counts).
  size_t max_recorded = 100000;
  size_t recorded_body_bytes = 64 * 1024;
};

// What the server saw, one entry per request. Recorded just before the response is written, so
// a client that holds its response always finds the request in requests().
struct RecordedRequest {
  uint64_t connection = 0;     // connection number (1, 2, …) so keep-alive reuse is visible
  std::string host;            // Host header without port, lower case
  std::string method;
  std::string target;          // as received
  std::string path;            // target without the query
  std::string query;           // after '?', without it
  Headers headers;
  uint64_t body_size = 0;
  std::string body_sha256;     // hex
  std::string body;            // first 64 KiB
  int status = 0;              // status sent
};

// What the authorize endpoint remembered about one issued code.
struct IssuedCode {
  std::string client_id;
  std::string redirect_uri;
  std::string code_challenge;
  std::string code_challenge_method;  // "" (= plain per RFC 7636 §4.3), "plain" or "S256"
  std::string nonce;
  std::string scope;
  std::string resource;               // v1 authorize
  std::string tenant_id;
  bool v2 = true;
  bool redeemed = false;
};

class FakeEntraServer {
 public:
  // Binds, starts the accept thread and returns a running server, or why it could not.
  static Result<std::unique_ptr<FakeEntraServer>> start(FakeEntraOptions options);
  ~FakeEntraServer();
  FakeEntraServer(const FakeEntraServer&) = delete;
  FakeEntraServer& operator=(const FakeEntraServer&) = delete;

  uint16_t port() const { return port_; }
  std::string address() const;     // "127.0.0.1:PORT"
  bool tls() const { return options_.tls; }
  void stop();                      // idempotent; joins every thread

  std::vector<RecordedRequest> requests() const;
  void clear_requests();
  size_t connections_accepted() const { return connections_accepted_.load(); }
  size_t requests_served() const { return requests_served_.load(); }  // recorded or not
  size_t live_threads() const;      // connection threads not yet joined, plus the acceptor

  // The key that signs every token the server issues; tests mint their own tokens with it (for
  // example an auxiliary token for another tenant) and verify with signer().jwks().
  const TokenSigner& signer() const { return *signer_; }
  std::vector<IssuedCode> issued_codes() const;

  struct Impl;  // connection handling and routes live in the .cpp files

 private:
  explicit FakeEntraServer(FakeEntraOptions options);
  FakeEntraOptions options_;
  uint16_t port_ = 0;
  std::unique_ptr<TokenSigner> signer_;
  std::unique_ptr<Impl> impl_;
  std::atomic<size_t> connections_accepted_{0};
  std::atomic<size_t> requests_served_{0};
};

}  // namespace authscope::testkit
