// CertAuthority: the authscope CA and the leaf certificates it mints per host.
//
// Leaves follow mitmproxy's dummy_cert: backdated ~2 days, short validity, random serial,
// CA:FALSE, EKU serverAuth, SAN = host (DNS or IP), subject and authority key identifiers
// (Python 3.13's strict verification needs both). One leaf key pair per process, so minting
// costs one signature; minted SSL_CTXs are cached per host in a bounded LRU.
#pragma once

#include <cstddef>
#include <list>
#include <memory>
#include <string>
#include <unordered_map>

#include <openssl/ssl.h>
#include <openssl/x509.h>

#include "model/status.h"

namespace authscope {

struct CaFiles {
  std::string cert_path;  // ca.pem
  std::string key_path;   // ca.key (mode 0600)
};

// Creates the CA in the given files when missing (key written with O_EXCL, mode 0600), or loads
// it. A key file readable by group or others is refused. `regenerate` replaces both files.
Status ensure_ca(const CaFiles& files, bool regenerate = false);

// True when `host` may appear in a certificate: a DNS name of at most 253 bytes made of
// letters, digits, '-' and '.', or an IP literal; never '*', NUL, CR, LF or spaces.
bool valid_certificate_name(const std::string& host);

class CertAuthority {
 public:
  static Result<std::unique_ptr<CertAuthority>> load(const CaFiles& files, size_t cache_capacity = 512);
  ~CertAuthority();

  // A server SSL_CTX presenting a leaf for `host` (cached; the CertAuthority keeps ownership).
  // Client-facing TLS is >= 1.2 and offers only "http/1.1" in ALPN.
  Result<SSL_CTX*> server_context_for(const std::string& host);
  size_t cached() const { return lru_.size(); }
  X509* ca_cert() const { return ca_cert_; }

 private:
  CertAuthority() = default;
  Result<SSL_CTX*> mint(const std::string& host);

  X509* ca_cert_ = nullptr;
  EVP_PKEY* ca_key_ = nullptr;
  EVP_PKEY* leaf_key_ = nullptr;
  size_t capacity_ = 512;
  std::list<std::pair<std::string, SSL_CTX*>> lru_;  // most recent first
  std::unordered_map<std::string, std::list<std::pair<std::string, SSL_CTX*>>::iterator> index_;
};

// The client SSL_CTX for upstream connections: TLS >= 1.2, the system trust store plus
// `extra_ca_file` (if not empty), full chain verification (there is no switch to disable it),
// ALPN "http/1.1", session resumption cache on.
Result<SSL_CTX*> make_upstream_context(const std::string& extra_ca_file);

}  // namespace authscope
