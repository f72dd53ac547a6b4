#include "proxy/tls/session_cache.h"

#include <ctime>

#include <openssl/crypto.h>

namespace authscope {
namespace {

void free_attached_cache(void* /*parent*/, void* ptr, CRYPTO_EX_DATA* /*ad*/, int /*idx*/, long /*argl*/,
                         void* /*argp*/) {
  delete static_cast<TlsSessionCache*>(ptr);
}

bool expired(const SSL_SESSION* session) {
  // SSL_SESSION_get_time + timeout: OpenSSL refuses to resume past it anyway; dropping it here
  // avoids offering a ticket the server will ignore.
  long start = SSL_SESSION_get_time(session);
  long timeout = SSL_SESSION_get_timeout(session);
  return start + timeout < static_cast<long>(std::time(nullptr));
}

int session_cache_ctx_index() {
  static const int index = SSL_CTX_get_ex_new_index(0, nullptr, nullptr, nullptr, free_attached_cache);
  return index;
}

int session_key_ssl_index() {
  static const int index = SSL_get_ex_new_index(0, nullptr, nullptr, nullptr, nullptr);
  return index;
}

}  // namespace

TlsSessionCache::~TlsSessionCache() {
  for (auto& entry : lru_) SSL_SESSION_free(entry.second);
}

void TlsSessionCache::put(const std::string& key, SSL_SESSION* session) {
  if (session == nullptr || key.empty() || SSL_SESSION_is_resumable(session) != 1) return;
  std::lock_guard<std::mutex> lock(mu_);
  SSL_SESSION_up_ref(session);
  auto it = index_.find(key);
  if (it != index_.end()) {
    SSL_SESSION_free(it->second->second);
    it->second->second = session;
    lru_.splice(lru_.begin(), lru_, it->second);
    return;
  }
  lru_.emplace_front(key, session);
  index_[key] = lru_.begin();
  while (lru_.size() > capacity_) {
    SSL_SESSION_free(lru_.back().second);
    index_.erase(lru_.back().first);
    lru_.pop_back();
  }
}

SSL_SESSION* TlsSessionCache::get(const std::string& key) {
  std::lock_guard<std::mutex> lock(mu_);
  auto it = index_.find(key);
  if (it == index_.end()) return nullptr;
  SSL_SESSION* session = it->second->second;
  // RFC 8446 §C.4: "Clients SHOULD NOT reuse a ticket for multiple connections." A TLS 1.3
  // session is therefore handed out once (the caller gets our reference); servers send fresh
  // tickets on every connection, which put() stores again. TLS 1.2 sessions may be reused.
  bool single_use = SSL_SESSION_get_protocol_version(session) >= TLS1_3_VERSION;
  if (single_use || expired(session)) {
    lru_.erase(it->second);
    index_.erase(it);
    if (expired(session)) {
      SSL_SESSION_free(session);
      return nullptr;
    }
    return session;
  }
  lru_.splice(lru_.begin(), lru_, it->second);
  SSL_SESSION_up_ref(session);
  return session;
}

void TlsSessionCache::erase(const std::string& key) {
  std::lock_guard<std::mutex> lock(mu_);
  auto it = index_.find(key);
  if (it == index_.end()) return;
  SSL_SESSION_free(it->second->second);
  lru_.erase(it->second);
  index_.erase(it);
}

size_t TlsSessionCache::size() const {
  std::lock_guard<std::mutex> lock(mu_);
  return lru_.size();
}

TlsSessionCache* session_cache_of(SSL_CTX* ctx) {
  if (ctx == nullptr) return nullptr;
  return static_cast<TlsSessionCache*>(SSL_CTX_get_ex_data(ctx, session_cache_ctx_index()));
}

namespace {

// OpenSSL's new-session callback (called once a handshake completed, and for each TLS 1.3
// NewSessionTicket). Returning 0 tells OpenSSL we did not keep its reference (put() takes its own).
int on_new_client_session(SSL* ssl, SSL_SESSION* session) {
  auto* key = static_cast<const std::string*>(SSL_get_ex_data(ssl, session_key_ssl_index()));
  TlsSessionCache* cache = session_cache_of(SSL_get_SSL_CTX(ssl));
  if (key != nullptr && cache != nullptr && SSL_get_verify_result(ssl) == X509_V_OK) cache->put(*key, session);
  return 0;
}

}  // namespace

bool attach_session_cache(SSL_CTX* ctx, size_t capacity) {
  if (ctx == nullptr || session_cache_of(ctx) != nullptr) return false;
  auto* cache = new TlsSessionCache(capacity);
  if (SSL_CTX_set_ex_data(ctx, session_cache_ctx_index(), cache) != 1) {
    delete cache;
    return false;
  }
  // NO_INTERNAL_STORE: OpenSSL's client side has no lookup by host anyway; we keep our own.
  SSL_CTX_set_session_cache_mode(ctx, SSL_SESS_CACHE_CLIENT | SSL_SESS_CACHE_NO_INTERNAL_STORE);
  SSL_CTX_sess_set_new_cb(ctx, on_new_client_session);
  return true;
}

void set_session_key(SSL* ssl, const std::string* key) { SSL_set_ex_data(ssl, session_key_ssl_index(), const_cast<std::string*>(key)); }

}  // namespace authscope
