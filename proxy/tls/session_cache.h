// TlsSessionCache: client-side TLS sessions kept per "host:port" so a reconnect to the same
// upstream resumes instead of paying a full handshake (issue 6: "TLS with ... session
// resumption"). Bounded LRU; holds one reference on each SSL_SESSION.
//
// make_upstream_context() attaches one cache to its SSL_CTX (freed with the context);
// TlsEngine::client() looks sessions up and OpenSSL's new-session callback stores them.
// Only sessions from completed, verified handshakes reach the cache (OpenSSL calls the
// new-session callback after the handshake succeeded). A resumed session skips certificate
// verification, which is why the key includes the host the certificate was checked against.
//
// Thread-safe (a mutex), though the proxy uses it from its one event loop.
#pragma once

#include <cstddef>
#include <list>
#include <mutex>
#include <string>
#include <unordered_map>

#include <openssl/ssl.h>

namespace authscope {

class TlsSessionCache {
 public:
  explicit TlsSessionCache(size_t capacity = 256) : capacity_(capacity ? capacity : 1) {}
  ~TlsSessionCache();
  TlsSessionCache(const TlsSessionCache&) = delete;
  TlsSessionCache& operator=(const TlsSessionCache&) = delete;

  // Stores `session` (takes a new reference) under `key`, replacing an older one; evicts the
  // least recently used entry beyond capacity. Non-resumable sessions are ignored.
  void put(const std::string& key, SSL_SESSION* session);
  // A new reference to the session for `key` (the caller frees it), or nullptr. Expired
  // sessions are dropped instead of returned.
  SSL_SESSION* get(const std::string& key);
  void erase(const std::string& key);
  size_t size() const;
  size_t capacity() const { return capacity_; }

 private:
  using Entry = std::pair<std::string, SSL_SESSION*>;
  mutable std::mutex mu_;
  size_t capacity_;
  std::list<Entry> lru_;  // most recent first
  std::unordered_map<std::string, std::list<Entry>::iterator> index_;
};

// Gives `ctx` its own cache (freed with the context) and OpenSSL's new-session callback, which
// stores each verified session under the key set with set_session_key(). False when `ctx`
// already has one.
bool attach_session_cache(SSL_CTX* ctx, size_t capacity = 256);
// The cache attached to a client context, or nullptr.
TlsSessionCache* session_cache_of(SSL_CTX* ctx);
// Names the cache slot of a client SSL ("host:port"); `key` must outlive `ssl` (TlsEngine
// keeps it as a member).
void set_session_key(SSL* ssl, const std::string* key);

}  // namespace authscope
