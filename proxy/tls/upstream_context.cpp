#include <dirent.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cstdlib>
#include <string>
#include <string_view>

#include <openssl/x509.h>

#include "proxy/tls/cert_authority.h"
#include "proxy/tls/openssl_ptr.h"
#include "proxy/tls/session_cache.h"
#include "proxy/tls/tls_errors.h"

namespace authscope {
namespace {

// host:port entries kept for resumption towards upstreams (a handful of Entra/ARM hosts in
// practice; bounded anyway).
constexpr size_t kUpstreamSessionCacheCapacity = 256;

// Whether `dir` holds certificates under their subject-hash names ("5ad8a5d6.0"), the layout
// OpenSSL's directory lookup reads (c_rehash / openssl rehash; Debian's ca-certificates keeps
// /etc/ssl/certs that way).
bool is_hashed_cert_dir(const std::string& dir) {
  DIR* d = ::opendir(dir.c_str());
  if (d == nullptr) return false;
  bool found = false;
  for (int guard = 0; guard < 100000 && !found; ++guard) {
    const dirent* e = ::readdir(d);
    if (e == nullptr) break;
    const std::string_view name(e->d_name);
    found = name.size() == 10 && name.substr(8) == ".0" &&
            name.substr(0, 8).find_first_not_of("0123456789abcdef") == std::string_view::npos;
  }
  ::closedir(d);
  return found;
}

// The system trust store, as SSL_CTX_set_default_verify_paths would use it (SSL_CERT_FILE and
// SSL_CERT_DIR honoured), but read lazily where possible: with a hashed certificate directory
// OpenSSL opens only the issuers a chain needs, when it needs them, instead of parsing the whole
// bundle (~140 certificates, ~300 KB resident for the proxy's lifetime) at start. Without one,
// the bundle file is loaded as usual.
bool load_system_trust(SSL_CTX* c) {
  const char* file_env = std::getenv(X509_get_default_cert_file_env());
  const char* dir_env = std::getenv(X509_get_default_cert_dir_env());
  const std::string dir = dir_env != nullptr ? dir_env : X509_get_default_cert_dir();
  if (file_env != nullptr || dir.find(':') != std::string::npos || !is_hashed_cert_dir(dir)) {
    return SSL_CTX_set_default_verify_paths(c) == 1;
  }
  return SSL_CTX_load_verify_dir(c, dir.c_str()) == 1;
}

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
  if (!load_system_trust(c)) {
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
