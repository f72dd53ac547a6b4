// CertAuthority: the authscope CA and the leaf certificates it mints per host.
//
// Leaves follow mitmproxy's dummy_cert: backdated ~2 days, short validity, random serial,
// CA:FALSE, EKU serverAuth, SAN = host (DNS or IP), subject and authority key identifiers
// (Python 3.13's strict verification needs both). One leaf key pair per process, so minting
// costs one signature; minted SSL_CTXs are cached per host in a bounded LRU.
//
// Keys are EC P-256 (CA and leaves): key generation is instant (an RSA 2048 CA takes ~100 ms
// and varies), an ECDSA signature is ~20x cheaper than an RSA 2048 one, so a cache miss costs
// microseconds, and every client authscope targets (curl, Python, Go/Terraform, Node, .NET,
// browsers) accepts ECDSA P-256 certificates with TLS 1.2 and 1.3.
//
// Threading: a CertAuthority is used from one thread (the event loop). Not copyable.
#pragma once

#include <cstddef>
#include <cstdint>
#include <list>
#include <memory>
#include <string>
#include <unordered_map>

#include <openssl/ssl.h>
#include <openssl/x509.h>

#include "model/status.h"
#include "proxy/tls/certificate_name.h"  // valid_certificate_name, check_certificate_name

namespace authscope {

struct CaFiles {
  std::string cert_path;  // ca.pem
  std::string key_path;   // ca.key (mode 0600)
};

// The contract's layout: <home>/ca.pem and <home>/ca.key.
CaFiles ca_files_in(const std::string& home_dir);

// Creates the CA in the given files when missing (key written with O_EXCL, mode 0600, under
// umask 077; the key's directory is created 0700 when missing), or checks the existing pair
// (both present, key not readable or writable by group or others, cert and key match). A key
// file with group/other permissions is refused with a message naming the fix. `regenerate`
// replaces both files (new key written to a temporary 0600 file, then renamed over).
// Called from start-up/CLI code (not the data path).
Status ensure_ca(const CaFiles& files, bool regenerate = false);

// Validity windows of minted leaves (mitmproxy's CERT_VALIDITY_OFFSET idea: clients with a
// slightly wrong clock still accept them).
inline constexpr long kLeafBackdateSeconds = 2L * 24 * 3600;
inline constexpr long kLeafValiditySeconds = 30L * 24 * 3600;  // never beyond the CA's notAfter
inline constexpr long kCaValiditySeconds = 10L * 365 * 24 * 3600;

struct LeafTemplate;  // cert_builder.h: the extensions every leaf shares, prepared once

class CertAuthority {
 public:
  // Loads ca.pem/ca.key (refusing a key with group/other permissions) and makes the process's
  // leaf key. `cache_capacity` bounds the per-host SSL_CTX cache (at least 1).
  static Result<std::unique_ptr<CertAuthority>> load(const CaFiles& files, size_t cache_capacity = 512);
  ~CertAuthority();
  CertAuthority(const CertAuthority&) = delete;
  CertAuthority& operator=(const CertAuthority&) = delete;

  // A server SSL_CTX presenting a leaf for `host` (cached; the CertAuthority keeps ownership:
  // the pointer stays valid until the entry is evicted or the CertAuthority is destroyed, and
  // an SSL made from it keeps its own reference, so live connections survive eviction).
  // Client-facing TLS is >= 1.2 and agrees only "http/1.1" in ALPN (no ALPN at all when the
  // client offers none or only h2). Refuses invalid names (check_certificate_name).
  Result<SSL_CTX*> server_context_for(const std::string& host);
  size_t cached() const { return lru_.size(); }
  size_t capacity() const { return capacity_; }
  uint64_t minted() const { return minted_; }  // certificates minted so far (cache misses)
  X509* ca_cert() const { return ca_cert_; }

 private:
  CertAuthority() = default;
  Result<SSL_CTX*> mint(const std::string& host);

  X509* ca_cert_ = nullptr;
  EVP_PKEY* ca_key_ = nullptr;
  EVP_PKEY* leaf_key_ = nullptr;
  size_t capacity_ = 512;
  uint64_t minted_ = 0;
  std::unique_ptr<LeafTemplate> leaf_template_;
  std::list<std::pair<std::string, SSL_CTX*>> lru_;  // most recent first
  std::unordered_map<std::string, std::list<std::pair<std::string, SSL_CTX*>>::iterator> index_;
};

// The client SSL_CTX for upstream connections: TLS >= 1.2, the system trust store plus
// `extra_ca_file` (if not empty; an unreadable or empty file is an error), full chain and
// hostname verification (there is no switch to disable it), ALPN "http/1.1", and a
// TlsSessionCache for resumption (see session_cache.h). The caller owns the context
// (SSL_CTX_free; engines made from it hold their own reference).
Result<SSL_CTX*> make_upstream_context(const std::string& extra_ca_file);

}  // namespace authscope
