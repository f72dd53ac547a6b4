#include <sys/stat.h>
#include <unistd.h>

#include "proxy/tls/cert_authority.h"
#include "proxy/tls/openssl_ptr.h"
#include "proxy/tls/session_cache.h"
#include "proxy/tls/tls_errors.h"

namespace authscope {
namespace {

// host:port entries kept for resumption towards upstreams (a handful of Entra/ARM hosts in
// practice; bounded anyway).
constexpr size_t kUpstreamSessionCacheCapacity = 256;

}  // namespace

Result<SSL_CTX*> make_upstream_context(const std::string& extra_ca_file) {
  OpenSslErrorScope errors;
  SslCtxPtr ctx(SSL_CTX_new(TLS_client_method()));
  if (!ctx) return Status::Tls("cannot create the upstream TLS context: " + openssl_error_text());
  SSL_CTX* c = ctx.get();
  if (SSL_CTX_set_min_proto_version(c, TLS1_2_VERSION) != 1) {
    return Status::Tls("cannot set TLS 1.2 minimum: " + openssl_error_text());
  }
  SSL_CTX_set_options(c, SSL_OP_NO_RENEGOTIATION | SSL_OP_NO_COMPRESSION);
  SSL_CTX_set_mode(c, SSL_MODE_RELEASE_BUFFERS);
  // Full chain verification, always: a forged certificate must never hide an untrusted
  // upstream (STYLE B.8). Hostname/IP checks are set per connection by TlsEngine::client.
  SSL_CTX_set_verify(c, SSL_VERIFY_PEER, nullptr);
  if (SSL_CTX_set_default_verify_paths(c) != 1) {
    return Status::Tls("cannot load the system trust store: " + openssl_error_text());
  }
  if (!extra_ca_file.empty()) {
    struct stat st{};
    if (::stat(extra_ca_file.c_str(), &st) != 0 || !S_ISREG(st.st_mode) || ::access(extra_ca_file.c_str(), R_OK) != 0) {
      return Status::Io("cannot read --upstream-ca file " + extra_ca_file);
    }
    if (SSL_CTX_load_verify_locations(c, extra_ca_file.c_str(), nullptr) != 1) {
      return Status::Parse("no usable certificate in --upstream-ca file " + extra_ca_file + ": " +
                           openssl_error_text());
    }
  }
  // RFC 7301 wire format: length-prefixed names. Only HTTP/1.1: llhttp parses nothing else.
  static const unsigned char kAlpn[] = {8, 'h', 't', 't', 'p', '/', '1', '.', '1'};
  if (SSL_CTX_set_alpn_protos(c, kAlpn, sizeof kAlpn) != 0) {  // 0 is success here
    return Status::Tls("cannot set ALPN: " + openssl_error_text());
  }
  if (!attach_session_cache(c, kUpstreamSessionCacheCapacity)) {
    return Status::Tls("cannot attach the TLS session cache");
  }
  return ctx.release();
}

}  // namespace authscope
