#include "proxy/tls/tls_errors.h"

#include <openssl/bio.h>
#include <openssl/err.h>

namespace authscope {

void clear_openssl_errors() {
  if (ERR_peek_error() != 0) ERR_clear_error();
}

OpenSslErrorScope::OpenSslErrorScope() { clear_openssl_errors(); }
OpenSslErrorScope::~OpenSslErrorScope() { clear_openssl_errors(); }

std::string openssl_error_text(const char* fallback) {
  unsigned long code = ERR_peek_error();
  if (code == 0) return fallback;
  if (const char* reason = ERR_reason_error_string(code)) return reason;
  char buf[256];
  ERR_error_string_n(code, buf, sizeof buf);
  return buf;
}

std::string x509_name_line(const X509_NAME* name) {
  if (name == nullptr) return {};
  BIO* bio = BIO_new(BIO_s_mem());
  if (bio == nullptr) return {};
  // XN_FLAG_RFC2253 without the multi-byte escaping, so UTF-8 names stay readable.
  X509_NAME_print_ex(bio, name, 0, XN_FLAG_RFC2253 & ~ASN1_STRFLGS_ESC_MSB);
  char* data = nullptr;
  long len = BIO_get_mem_data(bio, &data);
  std::string out(data != nullptr && len > 0 ? std::string(data, static_cast<size_t>(len)) : std::string());
  BIO_free(bio);
  return out;
}

}  // namespace authscope
