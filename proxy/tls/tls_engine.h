// TlsEngine: one TLS side of one connection over two OpenSSL memory BIOs. Knows nothing of
// sockets or libuv (Node's TLSWrap ClearIn/ClearOut/EncOut; mitmproxy's tls_interact).
//
//   socket bytes --feed_ciphertext--> [rbio] SSL [wbio] --drain_ciphertext--> socket
//   app bytes    --write_plaintext--> SSL --read_plaintext--> app bytes
//
// After *every* call (handshake, read_plaintext and write_plaintext included, since reads can
// produce handshake, session-ticket or alert bytes) the owner drains the ciphertext and writes it
// out. The OpenSSL error queue is cleared before each SSL_* call and read right after it, so an
// error is always blamed on the connection that caused it.
//
// Typical driving loop (Session):
//   on socket bytes:  feed_ciphertext(b); if (!handshake_done()) r = handshake();
//                     then read_plaintext(...) until it stops returning kOk; drain_ciphertext.
//   to send:          write_plaintext(p, n); drain_ciphertext. kWantIo means "bytes kept inside"
//                     (before the handshake ends they go out when handshake() completes) - never
//                     resend them.
//   on socket EOF:    feed_eof(); the next read reports kClosed (after the handshake) or kFailed
//                     (EOF during the handshake).
//
// Threading: an engine is used by one thread at a time (the event loop). Not copyable.
// Failure: every call returns a TlsIo; after kFailed, error() holds a readable reason, further
// calls return kFailed, and drain_ciphertext still yields the alert OpenSSL queued for the peer
// (flush it before closing, STYLE E.19).
//
// An engine holds a reference on its SSL_CTX (SSL_new), so evicting or freeing the context
// while the connection lives is safe. A TlsEngine destroyed without a TLS failure keeps its
// session resumable even if no close_notify was exchanged.
#pragma once

#include <cstddef>
#include <cstdint>
#include <memory>
#include <string>

#include <openssl/ssl.h>

#include "model/status.h"

namespace authscope {

enum class TlsIo {
  kOk,      // the operation completed (see each method for what "completed" means)
  kWantIo,  // more ciphertext from the peer (or a drain) is needed; nothing was lost
  kClosed,  // the TLS stream ended: close_notify, or EOF after the handshake (see
            // close_notify_received())
  kFailed,  // fatal: error() says why; peer_alert() names the peer's alert if it sent one
};

const char* to_string(TlsIo io);

struct TlsPeerInfo {
  std::string version;        // "TLSv1.3"
  std::string cipher;         // "TLS_AES_256_GCM_SHA384"
  std::string alpn;           // "http/1.1" or "" when none was agreed
  std::string sni;            // client side: what we sent; server side: from the ClientHello
  std::string cert_subject;   // peer leaf certificate, one line, RFC 2253 ("CN=host,O=...")
  std::string cert_issuer;    //   (client side: the upstream's certificate; else empty)
  std::string verify_result;  // client side: "ok" or X509 verification error text; else ""
  bool resumed = false;       // the handshake resumed a cached session
};

class TlsEngine {
 public:
  // Client side towards an upstream `host` (a DNS name or an IP literal, as accepted by
  // valid_certificate_name): sets SNI (DNS names only, RFC 6066 forbids IP literals in
  // server_name) and hostname/IP verification; the context verifies the chain. If the context
  // came from make_upstream_context(), a cached session for host:port is offered for resumption
  // and new sessions are stored back (keyed by host:port).
  static Result<std::unique_ptr<TlsEngine>> client(SSL_CTX* ctx, const std::string& host,
                                                   uint16_t port = 443);
  // Server side towards a proxy client (ctx from CertAuthority::server_context_for).
  static Result<std::unique_ptr<TlsEngine>> server(SSL_CTX* ctx);
  ~TlsEngine();
  TlsEngine(const TlsEngine&) = delete;
  TlsEngine& operator=(const TlsEngine&) = delete;

  // Hands received socket bytes to OpenSSL (copied; never fails: the rbio is memory).
  void feed_ciphertext(const char* data, size_t len);
  // The socket reached EOF: further reads that run out of input fail instead of waiting.
  void feed_eof();

  // Advances the handshake. kOk once it is complete (then also flushes plaintext queued by an
  // earlier write_plaintext); kWantIo when more peer input is needed; kFailed with error().
  TlsIo handshake();
  bool handshake_done() const;

  // Appends decrypted bytes to `out`, at most `max` bytes this call. Returns
  //   kOk      `max` bytes were appended and more may be buffered: call again;
  //   kWantIo  everything available was appended (maybe nothing): feed more ciphertext;
  //   kClosed  the stream ended (close_notify, or EOF after the handshake; bytes before it were
  //            appended);
  //   kFailed  error().
  // May also run the handshake (and produce ciphertext): drain afterwards.
  TlsIo read_plaintext(std::string& out, size_t max = 64 * 1024);

  // Encrypts `len` bytes. Bytes that cannot be encrypted yet (handshake not finished, or the
  // optional ciphertext limit reached) are copied into an internal queue, so the caller never
  // passes the same bytes twice. Returns kOk when nothing stays queued, kWantIo when bytes stay
  // queued: they go out by themselves when handshake() completes; with a ciphertext limit set,
  // drain and call write_plaintext(nullptr, 0) to continue. OpenSSL's retry rule (same buffer
  // and length after SSL_ERROR_WANT_*) is kept inside. kFailed/kClosed as for reads.
  TlsIo write_plaintext(const char* data, size_t len);
  size_t pending_plaintext() const { return queued_plain_.size() - queued_offset_; }

  // Moves pending ciphertext (handshake records, application data, alerts) into `out`
  // (appended). Returns the number of bytes moved.
  size_t drain_ciphertext(std::string& out);
  size_t pending_ciphertext() const;
  // Optional: write_plaintext stops encrypting (between records) while this much ciphertext
  // waits to be drained. Default: no limit, because the proxy drains after every call and
  // bounds memory with its own socket watermarks (STYLE D.14).
  void set_ciphertext_limit(size_t bytes) { ciphertext_limit_ = bytes; }
  size_t ciphertext_limit() const { return ciphertext_limit_; }

  // Gives back what an idle connection does not need: OpenSSL's record buffers (kept after a
  // read that ended on a handshake record, e.g. a TLS 1.3 NewSessionTicket: 16 KB) and memory
  // BIOs that grew for a large transfer. Does nothing while any byte is buffered. Cheap; call
  // it when the connection goes idle.
  void release_idle_memory();

  // Queues close_notify (its bytes then come out of drain_ciphertext). Idempotent.
  void shutdown();

  const std::string& error() const { return error_; }  // last failure, readable
  // Alert received from the peer ("unknown ca", "bad certificate", "handshake failure", ...);
  // close_notify is not recorded here. Empty when the peer sent none.
  const std::string& peer_alert() const { return peer_alert_; }
  // Alert we sent to the peer (e.g. "bad certificate" when the upstream failed verification).
  const std::string& local_alert() const { return local_alert_; }
  bool is_server() const { return is_server_; }
  // True once the peer's close_notify arrived. kClosed without it means the socket reached EOF
  // after the handshake without close_notify (a truncation the caller may want to record;
  // many HTTP servers close this way, so it is not a failure).
  bool close_notify_received() const { return close_notify_received_; }
  TlsPeerInfo peer_info() const;
  SSL* ssl() { return ssl_; }

 private:
  static Result<std::unique_ptr<TlsEngine>> with_memory_bios(SSL_CTX* ctx, bool is_server);
  TlsEngine(SSL* ssl, bool is_server);
  TlsIo result_of(int ret, const char* what);
  void note_established();
  TlsIo flush_queued_plaintext();
  TlsIo write_some(const char* data, size_t len, size_t* used);
  std::string describe_failure(const char* what) const;
  void set_failure(std::string text);
  static void info_callback(const SSL* ssl, int where, int ret);

  SSL* ssl_ = nullptr;
  BIO* rbio_ = nullptr;  // owned by ssl_
  BIO* wbio_ = nullptr;  // owned by ssl_
  bool is_server_ = false;
  bool failed_ = false;
  bool shutdown_sent_ = false;
  bool close_notify_received_ = false;
  bool established_ = false;  // the handshake completed once (SSL_is_init_finished turns false on a later fatal error)
  bool eof_ = false;
  std::string session_key_;  // "host:port" for client session resumption, else empty
  std::string queued_plain_;  // bytes accepted by write_plaintext but not yet given to SSL
  size_t queued_offset_ = 0;  // consumed prefix of queued_plain_
  size_t retry_len_ = 0;      // length of an SSL_write that asked to be retried (0: none)
  size_t ciphertext_limit_ = SIZE_MAX;
  std::string error_;
  std::string peer_alert_;
  std::string local_alert_;
};

}  // namespace authscope
