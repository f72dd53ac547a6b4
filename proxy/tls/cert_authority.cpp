#include "proxy/tls/cert_authority.h"

#include <cstring>
#include <ctime>

#include "proxy/tls/ca_files.h"
#include "proxy/tls/cert_builder.h"
#include "proxy/tls/tls_errors.h"

namespace authscope {
namespace {

// Sessions per minted context: resumption for returning clients without letting one host's
// cache grow without bound (OpenSSL's default is 20480 per context).
constexpr long kServerSessionCacheSize = 256;

// ALPN (RFC 7301 §3.2): the server "selects one of the protocols advertised by the client" or,
// with no overlap, may proceed without ALPN. We speak HTTP/1.1 only (llhttp), so we agree to
// "http/1.1" when offered and otherwise stay silent (SSL_TLSEXT_ERR_NOACK), rather than failing
// the handshake: a client offering only h2 then falls back to HTTP/1.1 or closes.
int select_http11(SSL* /*ssl*/, const unsigned char** out, unsigned char* outlen, const unsigned char* in,
                  unsigned int inlen, void* /*arg*/) {
  static constexpr char kHttp11[] = "http/1.1";
  constexpr unsigned kHttp11Len = sizeof kHttp11 - 1;
  unsigned int pos = 0;
  while (pos < inlen) {
    unsigned int len = in[pos];
    if (len == 0 || pos + 1 + len > inlen) break;  // malformed list: OpenSSL validated it, be safe
    if (len == kHttp11Len && std::memcmp(in + pos + 1, kHttp11, kHttp11Len) == 0) {
      *out = in + pos + 1;
      *outlen = static_cast<unsigned char>(len);
      return SSL_TLSEXT_ERR_OK;
    }
    pos += 1 + len;
  }
  return SSL_TLSEXT_ERR_NOACK;
}

Status failure(const std::string& what) { return Status::Tls(what + ": " + openssl_error_text()); }

}  // namespace

Result<std::unique_ptr<CertAuthority>> CertAuthority::load(const CaFiles& files, size_t cache_capacity) {
  Result<LoadedCa> loaded = load_ca_files(files);
  if (!loaded.ok()) return loaded.status();
  Result<EvpPkeyPtr> leaf_key = generate_p256_leaf_key();
  if (!leaf_key.ok()) return leaf_key.status();
  Result<LeafTemplate> tmpl = make_leaf_template(loaded->cert.get(), leaf_key->get());
  if (!tmpl.ok()) return tmpl.status();

  std::unique_ptr<CertAuthority> ca(new CertAuthority());
  ca->ca_cert_ = loaded->cert.release();
  ca->ca_key_ = loaded->key.release();
  ca->leaf_key_ = leaf_key->release();
  ca->leaf_template_ = std::make_unique<LeafTemplate>(std::move(*tmpl));
  ca->capacity_ = cache_capacity == 0 ? 1 : cache_capacity;
  return ca;
}

CertAuthority::~CertAuthority() {
  for (auto& entry : lru_) SSL_CTX_free(entry.second);
  X509_free(ca_cert_);
  EVP_PKEY_free(ca_key_);
  EVP_PKEY_free(leaf_key_);
}

Result<SSL_CTX*> CertAuthority::server_context_for(const std::string& host) {
  Status name = check_certificate_name(host);
  if (!name.ok()) return name;
  const std::string key = certificate_host(host);
  auto it = index_.find(key);
  if (it != index_.end()) {
    lru_.splice(lru_.begin(), lru_, it->second);
    return lru_.front().second;
  }
  Result<SSL_CTX*> ctx = mint(key);
  if (!ctx.ok()) return ctx;
  lru_.emplace_front(key, *ctx);
  index_[key] = lru_.begin();
  while (lru_.size() > capacity_) {
    // SSL_CTX is reference counted: every SSL made from it holds a reference, so connections
    // still using an evicted context keep it alive until they end.
    SSL_CTX_free(lru_.back().second);
    index_.erase(lru_.back().first);
    lru_.pop_back();
  }
  return ctx;
}

Result<SSL_CTX*> CertAuthority::mint(const std::string& host) {
  Result<X509Ptr> leaf =
      build_leaf_certificate(host, *leaf_template_, ca_cert_, ca_key_, leaf_key_, std::time(nullptr));
  if (!leaf.ok()) return leaf.status();

  OpenSslErrorScope errors;
  SslCtxPtr ctx(SSL_CTX_new(TLS_server_method()));
  if (!ctx) return failure("cannot create a TLS server context");
  SSL_CTX* c = ctx.get();
  // Issue 7: "client-facing TLS >= 1.2".
  if (SSL_CTX_set_min_proto_version(c, TLS1_2_VERSION) != 1) return failure("cannot set TLS 1.2 minimum");
  SSL_CTX_set_options(c, SSL_OP_NO_RENEGOTIATION | SSL_OP_NO_COMPRESSION | SSL_OP_CIPHER_SERVER_PREFERENCE);
  SSL_CTX_set_mode(c, SSL_MODE_RELEASE_BUFFERS);
  if (SSL_CTX_use_certificate(c, leaf->get()) != 1 || SSL_CTX_use_PrivateKey(c, leaf_key_) != 1) {
    return failure("cannot install the leaf for " + host);
  }
  SSL_CTX_set_alpn_select_cb(c, select_http11, nullptr);
  // Resumption for returning clients: a server-side session cache (TLS 1.2 session ids) and
  // tickets (TLS 1.2 and 1.3; on by default). One TLS 1.3 ticket per handshake is enough for
  // a proxy client and saves a record per connection.
  static const unsigned char kSessionContext[] = "authscope";
  SSL_CTX_set_session_id_context(c, kSessionContext, sizeof kSessionContext - 1);
  SSL_CTX_set_session_cache_mode(c, SSL_SESS_CACHE_SERVER);
  SSL_CTX_sess_set_cache_size(c, kServerSessionCacheSize);
  SSL_CTX_set_num_tickets(c, 1);
  ++minted_;
  return ctx.release();
}

}  // namespace authscope
