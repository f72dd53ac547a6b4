// SessionConfig: what every Session of one ProxyServer shares, read-only, owned by the server.
#pragma once

#include <cstdint>
#include <string>

#include <openssl/ssl.h>

#include "proxy/http/host_glob.h"
#include "proxy/proxy_options.h"

namespace authscope {

class CertAuthority;

// Buffers used only for the duration of one event (decrypted bytes of one read, ciphertext to
// write, chunk framing). One set per loop is shared by all its sessions: events never nest
// across sessions, so idle connections hold none of this memory (issue 6: <= 40 KB each).
struct SessionScratch {
  std::string chunk;           // chunk framing
  std::string cipher;          // TLS ciphertext drained for a write
  std::string client_plain;    // decrypted client bytes of one read
  std::string upstream_plain;  // decrypted upstream bytes of one read
};

struct SessionConfig {
  ProxyOptions options;
  SSL_CTX* upstream_ctx = nullptr;  // client-side TLS towards upstreams (null: no https upstreams)
  CertAuthority* ca = nullptr;      // mints the leaves shown to clients (null: nothing intercepted)
  std::string listen_host;          // the bound listener, to refuse requests aimed at ourselves
  uint16_t listen_port = 0;
  // "Basic base64(user:pass)" when proxy_auth is set, precomputed once.
  std::string expected_proxy_authorization;
  // Loop-wide scratch buffers (null: each Session allocates its own, as unit tests do).
  SessionScratch* scratch = nullptr;
  // options.intercept_globs made into a matcher once (null: each Session makes its own, as unit
  // tests do). A copy per connection was ~1 KB of every idle connection and work per accept.
  const http::InterceptMatcher* intercept = nullptr;
};

}  // namespace authscope
