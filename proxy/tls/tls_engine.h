// TlsEngine: one TLS side of one connection over two OpenSSL memory BIOs. Knows nothing of
// sockets or libuv (Node's TLSWrap ClearIn/ClearOut/EncOut; mitmproxy's tls_interact).
//
//   socket bytes --feed_ciphertext--> [rbio] SSL [wbio] --drain_ciphertext--> socket
//   app bytes    --write_plaintext--> SSL --read_plaintext--> app bytes
//
// After *every* call (handshake, read_plaintext and write_plaintext included, since reads can
// produce handshake or alert bytes) the owner drains the ciphertext and writes it out.
// The OpenSSL error queue is cleared before each SSL_* call and read right after it, so an
// error is always blamed on the connection that caused it.
#pragma once

#include <cstddef>
#include <memory>
#include <string>

#include <openssl/ssl.h>

#include "model/status.h"

namespace authscope {

enum class TlsIo { kOk, kWantIo, kClosed, kFailed };

struct TlsPeerInfo {
  std::string version, cipher, alpn, sni;
  std::string cert_subject, cert_issuer;  // peer leaf certificate (upstream side)
  std::string verify_result;              // "ok" or X509 verification error text (upstream side)
};

class TlsEngine {
 public:
  // Client side towards an upstream: sets SNI and hostname verification for `host` (the
  // context verifies the chain). `host` must be a DNS name or an IP literal.
  static Result<std::unique_ptr<TlsEngine>> client(SSL_CTX* ctx, const std::string& host);
  // Server side towards a proxy client.
  static Result<std::unique_ptr<TlsEngine>> server(SSL_CTX* ctx);
  ~TlsEngine();
  TlsEngine(const TlsEngine&) = delete;
  TlsEngine& operator=(const TlsEngine&) = delete;

  void feed_ciphertext(const char* data, size_t len);
  // Advances the handshake. kOk once it is complete; kWantIo when more input is needed.
  TlsIo handshake();
  bool handshake_done() const;
  // Appends decrypted bytes to `out` (at most `max` bytes this call). kClosed on close_notify.
  TlsIo read_plaintext(std::string& out, size_t max = 64 * 1024);
  // Encrypts `len` bytes. Returns kOk once all are consumed (OpenSSL's partial-write retry state
  // is kept inside, so the same bytes are never passed twice).
  TlsIo write_plaintext(const char* data, size_t len);
  // Moves pending ciphertext (handshake records, application data, alerts) into `out`.
  size_t drain_ciphertext(std::string& out);
  size_t pending_ciphertext() const;
  // Queues close_notify (its bytes then come out of drain_ciphertext).
  void shutdown();

  const std::string& error() const { return error_; }  // last failure, readable
  // Alert received from the peer during the handshake ("unknown ca", "bad certificate", ...).
  const std::string& peer_alert() const { return peer_alert_; }
  TlsPeerInfo peer_info() const;
  SSL* ssl() { return ssl_; }

 private:
  explicit TlsEngine(SSL* ssl);
  TlsIo result_of(int ret, const char* what);
  static void info_callback(const SSL* ssl, int where, int ret);

  SSL* ssl_ = nullptr;
  BIO* rbio_ = nullptr;  // owned by ssl_
  BIO* wbio_ = nullptr;  // owned by ssl_
  std::string error_;
  std::string peer_alert_;
};

}  // namespace authscope
