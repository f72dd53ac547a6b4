// OpenSSL error-queue hygiene and readable error text (Node's MarkPopErrorOnReturn, h2o's
// ERR_clear_error before each call): stale errors must never be blamed on another connection.
#pragma once

#include <string>

#include <openssl/x509.h>

namespace authscope {

// Clears the thread's OpenSSL error queue on construction and again on destruction, so a
// scope that calls SSL_* starts clean and leaves nothing behind for the next caller.
class OpenSslErrorScope {
 public:
  OpenSslErrorScope();
  ~OpenSslErrorScope();
  OpenSslErrorScope(const OpenSslErrorScope&) = delete;
  OpenSslErrorScope& operator=(const OpenSslErrorScope&) = delete;
};

// Empties the thread's OpenSSL error queue. Peeks first: the queue is nearly always empty, and
// ERR_clear_error walks all of its slots (a few hundred instructions, several times per record).
void clear_openssl_errors();

// The oldest error in the queue as readable text ("wrong version number"), without the
// library/function noise of ERR_error_string; `fallback` when the queue is empty. Pops nothing.
std::string openssl_error_text(const char* fallback = "unknown OpenSSL error");

// A certificate name on one line, RFC 2253 order ("CN=host,O=Org,C=US"); "" for nullptr.
std::string x509_name_line(const X509_NAME* name);

}  // namespace authscope
