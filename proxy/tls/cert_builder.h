// Building the CA and leaf certificates (X509 structures in memory; no files, no caching).
// RFC 5280 profile notes sit next to each extension in cert_builder.cpp.
#pragma once

#include <ctime>
#include <string>
#include <vector>

#include "model/status.h"
#include "proxy/tls/openssl_ptr.h"

namespace authscope {

// A fresh EC P-256 key (see cert_authority.h for why P-256).
Result<EvpPkeyPtr> generate_p256_key();
// The same, held as a legacy EC_KEY: the process-wide leaf key. OpenSSL 3.0 encodes a
// provider-held key into a certificate through its encoder and then decodes it back
// (X509_set_pubkey ~300 us of CPU); a legacy key takes the direct path (~6 us), which keeps a
// mint at about one signature plus the SSL_CTX.
Result<EvpPkeyPtr> generate_p256_leaf_key();

// The self-signed authscope CA: CN "authscope CA", basicConstraints critical CA:TRUE with
// pathLen 0, keyUsage critical keyCertSign|cRLSign, SKI and AKI, valid from now - 2 days for
// kCaValiditySeconds.
Result<X509Ptr> build_ca_certificate(EVP_PKEY* ca_key, std::time_t now);

// The extensions every leaf shares (basicConstraints CA:FALSE, keyUsage, EKU serverAuth, SKI of
// the process leaf key, AKI of the CA), prepared once so minting is one SAN plus one signature.
struct LeafTemplate {
  std::vector<X509ExtensionPtr> extensions;
};
Result<LeafTemplate> make_leaf_template(X509* ca_cert, EVP_PKEY* leaf_key);

// One leaf for `host` (already checked by check_certificate_name): random 128-bit serial,
// subject CN=host when it fits (<= 64 bytes), SAN DNS:host or IP:host (critical when the subject
// is empty), valid from now - kLeafBackdateSeconds to now + kLeafValiditySeconds but never
// outside the CA's own validity; signed by the CA with SHA-256.
Result<X509Ptr> build_leaf_certificate(const std::string& host, const LeafTemplate& tmpl, X509* ca_cert,
                                       EVP_PKEY* ca_key, EVP_PKEY* leaf_key, std::time_t now);

}  // namespace authscope
