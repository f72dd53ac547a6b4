#include "proxy/tls/tls_engine.h"

#include <algorithm>
#include <cctype>
#include <climits>

#include <openssl/buffer.h>
#include <openssl/err.h>
#include <openssl/x509v3.h>

#include "proxy/tls/certificate_name.h"
#include "proxy/tls/session_cache.h"
#include "proxy/tls/tls_errors.h"

namespace authscope {
namespace {

// RFC 8446 §5.1: "The record layer fragments information blocks into TLSPlaintext records
// carrying data in chunks of 2^14 bytes or less." One SSL_write per record keeps the check of
// the ciphertext limit between records.
constexpr size_t kMaxRecordPlaintext = 16 * 1024;

std::string lower(std::string text) {
  for (char& c : text) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return text;
}

// Alerts whose OpenSSL reason is SSL_AD_REASON_OFFSET + alert code are the "peer sent alert" ones.
bool is_received_alert_error(unsigned long code) {
  return code != 0 && ERR_GET_LIB(code) == ERR_LIB_SSL && ERR_GET_REASON(code) >= SSL_AD_REASON_OFFSET;
}

bool is_unexpected_eof(unsigned long code) {
  return code != 0 && ERR_GET_LIB(code) == ERR_LIB_SSL &&
         ERR_GET_REASON(code) == SSL_R_UNEXPECTED_EOF_WHILE_READING;
}

}  // namespace

const char* to_string(TlsIo io) {
  switch (io) {
    case TlsIo::kOk: return "ok";
    case TlsIo::kWantIo: return "want-io";
    case TlsIo::kClosed: return "closed";
    case TlsIo::kFailed: return "failed";
  }
  return "?";
}

TlsEngine::TlsEngine(SSL* ssl, bool is_server) : ssl_(ssl), is_server_(is_server) {}

TlsEngine::~TlsEngine() {
  if (ssl_ != nullptr) {
    SSL_set_app_data(ssl_, nullptr);
    // SSL_free invalidates the session (marks it not resumable, in our cache too) unless the
    // connection "was shut down properly". Connections that end without a TLS error (HTTP
    // peers often just close the socket) keep their session resumable; failed ones do not.
    if (!failed_) SSL_set_shutdown(ssl_, SSL_SENT_SHUTDOWN | SSL_RECEIVED_SHUTDOWN);
    SSL_free(ssl_);  // frees both BIOs
  }
}

namespace {

// Makes the SSL and its two memory BIOs; nullptr only on memory exhaustion.
SSL* new_ssl_with_memory_bios(SSL_CTX* ctx, BIO** rbio, BIO** wbio) {
  SSL* ssl = SSL_new(ctx);
  if (ssl == nullptr) return nullptr;
  BIO* in = BIO_new(BIO_s_mem());
  BIO* out = BIO_new(BIO_s_mem());
  if (in == nullptr || out == nullptr) {
    BIO_free(in);
    BIO_free(out);
    SSL_free(ssl);
    return nullptr;
  }
  // An empty memory BIO must mean "no bytes yet" (retry), not EOF: eof_return -1 makes
  // BIO_read return -1 with the retry flag set, which SSL maps to SSL_ERROR_WANT_READ.
  BIO_set_mem_eof_return(in, -1);
  BIO_set_mem_eof_return(out, -1);
  SSL_set_bio(ssl, in, out);  // ssl owns both from here
  *rbio = in;
  *wbio = out;
  return ssl;
}

}  // namespace

// The part of client() and server() that is the same: an SSL over two memory BIOs, tied back to
// its engine for the info callback, in the role the caller names.
Result<std::unique_ptr<TlsEngine>> TlsEngine::with_memory_bios(SSL_CTX* ctx, bool is_server) {
  BIO* rbio = nullptr;
  BIO* wbio = nullptr;
  SSL* ssl = new_ssl_with_memory_bios(ctx, &rbio, &wbio);
  if (ssl == nullptr) {
    return Status::Tls(std::string(is_server ? "TLS server" : "TLS client") +
                       ": cannot create SSL: " + openssl_error_text());
  }
  std::unique_ptr<TlsEngine> engine(new TlsEngine(ssl, is_server));
  engine->rbio_ = rbio;
  engine->wbio_ = wbio;
  SSL_set_app_data(ssl, engine.get());
  SSL_set_info_callback(ssl, &TlsEngine::info_callback);
  SSL_set_mode(ssl, SSL_MODE_RELEASE_BUFFERS | SSL_MODE_ENABLE_PARTIAL_WRITE |
                        SSL_MODE_ACCEPT_MOVING_WRITE_BUFFER);
  if (is_server) {
    SSL_set_accept_state(ssl);
  } else {
    SSL_set_connect_state(ssl);
  }
  return engine;
}

Result<std::unique_ptr<TlsEngine>> TlsEngine::client(SSL_CTX* ctx, const std::string& host, uint16_t port) {
  if (ctx == nullptr) return Status::Invalid("TLS client: no SSL_CTX");
  Status name = check_certificate_name(host);
  if (!name.ok()) return Status::Invalid("TLS client: " + name.message());
  OpenSslErrorScope errors;
  auto made = with_memory_bios(ctx, /*is_server=*/false);
  if (!made.ok()) return made.status();
  std::unique_ptr<TlsEngine> engine = std::move(made.value());
  SSL* ssl = engine->ssl_;

  const std::string canonical = certificate_host(host);
  if (is_ip_literal(host)) {
    // RFC 6066 §3: "Literal IPv4 and IPv6 addresses are not permitted in "HostName"." The
    // certificate must then carry the address as an iPAddress SAN (RFC 6125 §3.1.3.2).
    if (X509_VERIFY_PARAM_set1_ip_asc(SSL_get0_param(ssl), canonical.c_str()) != 1) {
      return Status::Tls("TLS client: cannot verify IP address " + host + ": " + openssl_error_text());
    }
  } else {
    if (SSL_set_tlsext_host_name(ssl, canonical.c_str()) != 1 || SSL_set1_host(ssl, canonical.c_str()) != 1) {
      return Status::Tls("TLS client: cannot set host name " + host + ": " + openssl_error_text());
    }
    // "*.example.com" matches one whole label only, never "f*.example.com" partial wildcards.
    SSL_set_hostflags(ssl, X509_CHECK_FLAG_NO_PARTIAL_WILDCARDS);
  }

  if (TlsSessionCache* cache = session_cache_of(ctx)) {
    engine->session_key_ = canonical + ":" + std::to_string(port);
    set_session_key(ssl, &engine->session_key_);
    if (SSL_SESSION* session = cache->get(engine->session_key_)) {
      SSL_set_session(ssl, session);  // takes its own reference
      SSL_SESSION_free(session);
    }
  }
  return engine;
}

Result<std::unique_ptr<TlsEngine>> TlsEngine::server(SSL_CTX* ctx) {
  if (ctx == nullptr) return Status::Invalid("TLS server: no SSL_CTX");
  OpenSslErrorScope errors;
  return with_memory_bios(ctx, /*is_server=*/true);
}

void TlsEngine::feed_ciphertext(const char* data, size_t len) {
  while (len > 0) {
    int chunk = static_cast<int>(std::min<size_t>(len, INT_MAX));
    int wrote = BIO_write(rbio_, data, chunk);
    if (wrote <= 0) return;  // memory BIO: only on allocation failure
    data += wrote;
    len -= static_cast<size_t>(wrote);
  }
}

void TlsEngine::feed_eof() {
  eof_ = true;
  BIO_set_mem_eof_return(rbio_, 0);  // an empty rbio now reads as EOF
}

bool TlsEngine::handshake_done() const { return established_ || (!failed_ && SSL_is_init_finished(ssl_) == 1); }

void TlsEngine::note_established() {
  if (!established_ && SSL_is_init_finished(ssl_) == 1) established_ = true;
}

TlsIo TlsEngine::handshake() {
  if (failed_) return TlsIo::kFailed;
  if (!handshake_done()) {
    OpenSslErrorScope errors;
    int ret = SSL_do_handshake(ssl_);
    TlsIo io = result_of(ret, "TLS handshake");
    if (io != TlsIo::kOk) return io;
    note_established();
  }
  TlsIo flushed = flush_queued_plaintext();
  return flushed == TlsIo::kFailed ? TlsIo::kFailed : TlsIo::kOk;
}

TlsIo TlsEngine::read_plaintext(std::string& out, size_t max) {
  if (failed_) return TlsIo::kFailed;
  OpenSslErrorScope errors;
  char buf[kMaxRecordPlaintext];
  size_t got = 0;
  while (got < max) {
    size_t n = 0;
    note_established();
    clear_openssl_errors();
    int ret = SSL_read_ex(ssl_, buf, std::min(sizeof buf, max - got), &n);
    if (ret == 1) {
      out.append(buf, n);
      got += n;
      continue;
    }
    return result_of(ret, handshake_done() ? "TLS read" : "TLS handshake");
  }
  return TlsIo::kOk;
}

TlsIo TlsEngine::write_some(const char* data, size_t len, size_t* used) {
  OpenSslErrorScope errors;
  while (*used < len) {
    // Between records only: a write OpenSSL asked us to retry must be retried as is.
    if (retry_len_ == 0 && pending_ciphertext() >= ciphertext_limit_) return TlsIo::kWantIo;
    size_t chunk = retry_len_ != 0 ? retry_len_ : std::min(len - *used, kMaxRecordPlaintext);
    size_t written = 0;
    note_established();
    clear_openssl_errors();
    int ret = SSL_write_ex(ssl_, data + *used, chunk, &written);
    if (ret == 1) {
      retry_len_ = 0;
      *used += written;
      continue;
    }
    TlsIo io = result_of(ret, "TLS write");
    // SSL_write(3): "the same arguments" must be passed on retry; ACCEPT_MOVING_WRITE_BUFFER
    // allows the same bytes at a new address (our queue may reallocate).
    if (io == TlsIo::kWantIo) retry_len_ = chunk;
    return io;
  }
  return TlsIo::kOk;
}

TlsIo TlsEngine::flush_queued_plaintext() {
  if (pending_plaintext() == 0) return TlsIo::kOk;
  if (failed_) return TlsIo::kFailed;
  if (!handshake_done()) return TlsIo::kWantIo;
  size_t used = 0;
  TlsIo io = write_some(queued_plain_.data() + queued_offset_, pending_plaintext(), &used);
  queued_offset_ += used;
  if (queued_offset_ == queued_plain_.size()) {
    queued_plain_.clear();
    queued_offset_ = 0;
    // Give back a large queue once it drained, so an idle connection stays small.
    if (queued_plain_.capacity() > 4 * kMaxRecordPlaintext) queued_plain_.shrink_to_fit();
  }
  return io;
}

TlsIo TlsEngine::write_plaintext(const char* data, size_t len) {
  if (failed_) return TlsIo::kFailed;
  if (shutdown_sent_ && len > 0) {
    set_failure("TLS write after close_notify was sent");
    return TlsIo::kFailed;
  }
  size_t used = 0;
  // Fast path: nothing queued, so encrypt straight from the caller's buffer.
  if (len > 0 && pending_plaintext() == 0 && handshake_done()) {
    TlsIo io = write_some(data, len, &used);
    if (io == TlsIo::kFailed || io == TlsIo::kClosed) return io;
  }
  if (used < len) {
    if (queued_offset_ > 0) {  // keep the queue compact before it grows
      queued_plain_.erase(0, queued_offset_);
      queued_offset_ = 0;
    }
    queued_plain_.append(data + used, len - used);
  }
  TlsIo io = flush_queued_plaintext();
  if (io == TlsIo::kOk && pending_plaintext() > 0) return TlsIo::kWantIo;
  return io;
}

size_t TlsEngine::drain_ciphertext(std::string& out) {
  size_t pending = BIO_ctrl_pending(wbio_);
  if (pending == 0) return 0;
  size_t old = out.size();
  out.resize(old + pending);
  int got = BIO_read(wbio_, out.data() + old, static_cast<int>(std::min<size_t>(pending, INT_MAX)));
  out.resize(old + static_cast<size_t>(std::max(got, 0)));
  return static_cast<size_t>(std::max(got, 0));
}

size_t TlsEngine::pending_ciphertext() const { return BIO_ctrl_pending(wbio_); }

namespace {

// A memory BIO keeps the capacity it once grew to (1-4 KB after ordinary requests); an empty
// one holding more than this is replaced by a fresh one.
constexpr size_t kIdleBioKeep = 256;

bool empty_but_large(BIO* bio) {
  if (BIO_ctrl_pending(bio) != 0) return false;
  BUF_MEM* mem = nullptr;
  BIO_get_mem_ptr(bio, &mem);
  return mem != nullptr && mem->max > kIdleBioKeep;
}

BIO* fresh_memory_bio() {
  BIO* bio = BIO_new(BIO_s_mem());
  if (bio != nullptr) BIO_set_mem_eof_return(bio, -1);  // as in new_ssl_with_memory_bios
  return bio;
}

}  // namespace

void TlsEngine::release_idle_memory() {
  if (failed_ || !queued_plain_.empty()) return;
  OpenSslErrorScope errors;
  SSL_free_buffers(ssl_);  // refuses (returns 0) while a record is partly read or written
  clear_openssl_errors();
  if (!eof_ && empty_but_large(rbio_)) {
    if (BIO* bio = fresh_memory_bio()) {
      SSL_set0_rbio(ssl_, bio);  // frees the old one
      rbio_ = bio;
    }
  }
  if (empty_but_large(wbio_)) {
    if (BIO* bio = fresh_memory_bio()) {
      SSL_set0_wbio(ssl_, bio);
      wbio_ = bio;
    }
  }
}

void TlsEngine::shutdown() {
  if (shutdown_sent_ || failed_) return;
  shutdown_sent_ = true;
  if (!handshake_done()) return;  // nothing to close cleanly; the caller just closes the socket
  flush_queued_plaintext();
  OpenSslErrorScope errors;
  // RFC 8446 §6.1: "Each party MUST send a "close_notify" alert before closing its write side
  // of the connection". Its bytes land in the wbio; we do not wait for the peer's reply.
  SSL_shutdown(ssl_);
}

void TlsEngine::set_failure(std::string text) {
  failed_ = true;
  error_ = std::move(text);
}

std::string TlsEngine::describe_failure(const char* what) const {
  unsigned long code = ERR_peek_error();
  if (!is_server_) {
    long verify = SSL_get_verify_result(ssl_);
    if (verify != X509_V_OK) {
      return std::string("certificate verify failed: ") + X509_verify_cert_error_string(verify);
    }
  }
  if (is_received_alert_error(code) && !peer_alert_.empty()) {
    return std::string(what) + " failed: peer sent alert \"" + peer_alert_ + "\"";
  }
  if (is_unexpected_eof(code)) {
    return std::string(what) + " failed: connection closed by peer during the handshake";
  }
  return std::string(what) + " failed: " + openssl_error_text();
}

TlsIo TlsEngine::result_of(int ret, const char* what) {
  if (ret > 0) return TlsIo::kOk;
  // SSL_get_error(3): "must be used in the same thread that performed the TLS/SSL I/O
  // operation, and no other OpenSSL function calls should appear in between".
  int err = SSL_get_error(ssl_, ret);
  switch (err) {
    case SSL_ERROR_WANT_READ:
    case SSL_ERROR_WANT_WRITE:
      return TlsIo::kWantIo;
    case SSL_ERROR_ZERO_RETURN:
      close_notify_received_ = true;
      return TlsIo::kClosed;
    case SSL_ERROR_SSL: {
      unsigned long code = ERR_peek_error();
      if (is_unexpected_eof(code) && handshake_done()) {
        // The socket ended after the handshake without close_notify: a truncation, reported
        // as the end of the stream (close_notify_received() stays false) rather than a failure.
        return TlsIo::kClosed;
      }
      set_failure(describe_failure(what));
      return TlsIo::kFailed;
    }
    case SSL_ERROR_SYSCALL:
      if (eof_) {
        if (handshake_done()) return TlsIo::kClosed;
        set_failure(std::string(what) + " failed: connection closed by peer during the handshake");
      } else {
        set_failure(std::string(what) + " failed: " + openssl_error_text("I/O error"));
      }
      return TlsIo::kFailed;
    default:
      set_failure(std::string(what) + " failed: unexpected SSL_get_error " + std::to_string(err));
      return TlsIo::kFailed;
  }
}

void TlsEngine::info_callback(const SSL* ssl, int where, int ret) {
  if ((where & SSL_CB_ALERT) == 0) return;
  auto* self = static_cast<TlsEngine*>(SSL_get_app_data(ssl));
  if (self == nullptr) return;
  // For SSL_CB_ALERT, `ret` carries the alert: level in the high byte, description in the low.
  if ((ret & 0xff) == SSL3_AD_CLOSE_NOTIFY) return;  // a clean close is not a rejection
  std::string desc = lower(SSL_alert_desc_string_long(ret));
  if (where & SSL_CB_READ) {
    self->peer_alert_ = std::move(desc);
  } else {
    self->local_alert_ = std::move(desc);
  }
}

TlsPeerInfo TlsEngine::peer_info() const {
  TlsPeerInfo info;
  const bool done = handshake_done();
  if (done) {
    info.version = SSL_get_version(ssl_);
    if (const char* cipher = SSL_get_cipher_name(ssl_)) info.cipher = cipher;
    const unsigned char* alpn = nullptr;
    unsigned int alpn_len = 0;
    SSL_get0_alpn_selected(ssl_, &alpn, &alpn_len);
    if (alpn != nullptr) info.alpn.assign(reinterpret_cast<const char*>(alpn), alpn_len);
    info.resumed = SSL_session_reused(ssl_) == 1;
  }
  if (const char* sni = SSL_get_servername(ssl_, TLSEXT_NAMETYPE_host_name)) info.sni = sni;
  if (!is_server_) {
    // On a failed verification OpenSSL has not promoted the leaf to the session's peer yet, but
    // the received chain (leaf first on the client side) is there: the 502 can name what the
    // upstream presented.
    const X509* leaf = SSL_get0_peer_certificate(ssl_);
    if (leaf == nullptr) {
      STACK_OF(X509)* chain = SSL_get_peer_cert_chain(ssl_);
      if (chain != nullptr && sk_X509_num(chain) > 0) leaf = sk_X509_value(chain, 0);
    }
    if (leaf != nullptr) {
      info.cert_subject = x509_name_line(X509_get_subject_name(leaf));
      info.cert_issuer = x509_name_line(X509_get_issuer_name(leaf));
    }
    long verify = SSL_get_verify_result(ssl_);
    if (verify != X509_V_OK) {
      info.verify_result = X509_verify_cert_error_string(verify);
    } else if (done) {
      info.verify_result = "ok";
    }
  }
  return info;
}

}  // namespace authscope
