// EC_KEY is deprecated in OpenSSL 3 but is the only way to get the fast legacy encoding path
// for the leaf key (see generate_p256_leaf_key); confined to this file.
#define OPENSSL_SUPPRESS_DEPRECATED
#include "proxy/tls/cert_builder.h"

#include <openssl/bn.h>
#include <openssl/ec.h>
#include <openssl/rand.h>
#include <openssl/x509v3.h>

#include "proxy/tls/cert_authority.h"
#include "proxy/tls/certificate_name.h"
#include "proxy/tls/tls_errors.h"

namespace authscope {
namespace {

// RFC 5280 §4.1.2.2: "The serial number MUST be a positive integer ... Conforming CAs MUST NOT
// use serialNumber values longer than 20 octets." 128 random bits, top bit cleared (positive).
bool set_random_serial(X509* cert) {
  unsigned char bytes[16];
  if (RAND_bytes(bytes, sizeof bytes) != 1) return false;
  bytes[0] &= 0x7f;
  bytes[0] |= 0x01 << 6;  // never a short (leading-zero) serial
  BIGNUM* bn = BN_bin2bn(bytes, sizeof bytes, nullptr);
  if (bn == nullptr) return false;
  bool ok = BN_to_ASN1_INTEGER(bn, X509_get_serialNumber(cert)) != nullptr;
  BN_free(bn);
  return ok;
}

// One extension from OpenSSL's config syntax ("critical,CA:TRUE"), with issuer and subject
// set so "hash" and "keyid" can be computed.
X509ExtensionPtr make_extension(X509* issuer, X509* subject, int nid, const char* value) {
  X509V3_CTX ctx;
  X509V3_set_ctx(&ctx, issuer, subject, nullptr, nullptr, 0);
  return X509ExtensionPtr(X509V3_EXT_nconf_nid(nullptr, &ctx, nid, value));
}

bool add_extension(X509* cert, X509* issuer, int nid, const char* value) {
  X509ExtensionPtr ext = make_extension(issuer, cert, nid, value);
  return ext && X509_add_ext(cert, ext.get(), -1) == 1;
}

bool add_name_entry(X509_NAME* name, const char* field, const std::string& value) {
  return X509_NAME_add_entry_by_txt(name, field, MBSTRING_UTF8,
                                    reinterpret_cast<const unsigned char*>(value.data()),
                                    static_cast<int>(value.size()), -1, 0) == 1;
}

Status failure(const std::string& what) { return Status::Tls(what + ": " + openssl_error_text()); }

}  // namespace

Result<EvpPkeyPtr> generate_p256_key() {
  OpenSslErrorScope errors;
  EvpPkeyPtr key(EVP_EC_gen("P-256"));
  if (!key) return failure("cannot generate an EC P-256 key");
  return key;
}

Result<EvpPkeyPtr> generate_p256_leaf_key() {
  OpenSslErrorScope errors;
  EC_KEY* ec = EC_KEY_new_by_curve_name(NID_X9_62_prime256v1);
  if (ec == nullptr || EC_KEY_generate_key(ec) != 1) {
    EC_KEY_free(ec);
    return failure("cannot generate the EC P-256 leaf key");
  }
  EvpPkeyPtr key(EVP_PKEY_new());
  if (!key || EVP_PKEY_assign_EC_KEY(key.get(), ec) != 1) {
    EC_KEY_free(ec);
    return failure("cannot wrap the EC P-256 leaf key");
  }
  return key;
}

Result<X509Ptr> build_ca_certificate(EVP_PKEY* ca_key, std::time_t now) {
  OpenSslErrorScope errors;
  X509Ptr cert(X509_new());
  if (!cert) return failure("cannot allocate the CA certificate");
  X509* x = cert.get();
  X509_NAME* name = X509_get_subject_name(x);
  bool ok = X509_set_version(x, X509_VERSION_3) == 1 && set_random_serial(x) &&
            add_name_entry(name, "CN", "authscope CA") && add_name_entry(name, "O", "authscope") &&
            X509_set_issuer_name(x, name) == 1 &&
            X509_time_adj_ex(X509_getm_notBefore(x), 0, -kLeafBackdateSeconds, &now) != nullptr &&
            X509_time_adj_ex(X509_getm_notAfter(x), 0, kCaValiditySeconds, &now) != nullptr &&
            X509_set_pubkey(x, ca_key) == 1 &&
            // RFC 5280 §4.2.1.9: "Conforming CAs MUST include this extension in all CA
            // certificates ... and MUST mark the extension as critical". pathLen 0: it signs
            // leaves only.
            add_extension(x, x, NID_basic_constraints, "critical,CA:TRUE,pathlen:0") &&
            add_extension(x, x, NID_key_usage, "critical,keyCertSign,cRLSign") &&
            // §4.2.1.2: the SKI "MUST appear in all conforming CA certificates".
            add_extension(x, x, NID_subject_key_identifier, "hash") &&
            add_extension(x, x, NID_authority_key_identifier, "keyid:always") &&
            X509_sign(x, ca_key, EVP_sha256()) > 0;
  if (!ok) return failure("cannot build the CA certificate");
  return cert;
}

Result<LeafTemplate> make_leaf_template(X509* ca_cert, EVP_PKEY* leaf_key) {
  OpenSslErrorScope errors;
  // A scratch certificate carrying only the leaf public key, so "hash" computes its SKI once.
  X509Ptr scratch(X509_new());
  if (!scratch || X509_set_pubkey(scratch.get(), leaf_key) != 1) return failure("cannot prepare leaf template");
  // keyEncipherment only makes sense for RSA key transport (TLS 1.2 RSA kx); an EC key signs.
  const char* key_usage = EVP_PKEY_is_a(leaf_key, "RSA") ? "critical,digitalSignature,keyEncipherment"
                                                         : "critical,digitalSignature";
  struct Spec { int nid; const char* value; };
  const Spec specs[] = {
      {NID_basic_constraints, "critical,CA:FALSE"},
      {NID_key_usage, key_usage},
      {NID_ext_key_usage, "serverAuth"},
      {NID_subject_key_identifier, "hash"},
      // Python 3.13's VERIFY_X509_STRICT (and RFC 5280 §4.2.1.1) want the AKI on every
      // non-self-signed certificate.
      {NID_authority_key_identifier, "keyid:always"},
  };
  LeafTemplate tmpl;
  for (const Spec& spec : specs) {
    X509ExtensionPtr ext = make_extension(ca_cert, scratch.get(), spec.nid, spec.value);
    if (!ext) return failure("cannot prepare leaf extension " + std::string(OBJ_nid2sn(spec.nid)));
    tmpl.extensions.push_back(std::move(ext));
  }
  return tmpl;
}

Result<X509Ptr> build_leaf_certificate(const std::string& host, const LeafTemplate& tmpl, X509* ca_cert,
                                       EVP_PKEY* ca_key, EVP_PKEY* leaf_key, std::time_t now) {
  OpenSslErrorScope errors;
  const std::string name = certificate_host(host);
  const bool ip = is_ip_literal(host);
  X509Ptr cert(X509_new());
  if (!cert) return failure("cannot allocate a leaf certificate");
  X509* x = cert.get();
  if (X509_set_version(x, X509_VERSION_3) != 1 || !set_random_serial(x) ||
      X509_set_issuer_name(x, X509_get_subject_name(ca_cert)) != 1 || X509_set_pubkey(x, leaf_key) != 1) {
    return failure("cannot build the leaf for " + name);
  }
  // RFC 5280 ub-common-name is 64: longer names live only in the SAN.
  const bool has_cn = name.size() <= 64;
  if (has_cn && !add_name_entry(X509_get_subject_name(x), "CN", name)) return failure("cannot set the leaf CN");

  // Validity: backdated for clients with a slow clock, short-lived, and nested inside the CA's.
  if (X509_time_adj_ex(X509_getm_notBefore(x), 0, -kLeafBackdateSeconds, &now) == nullptr ||
      X509_time_adj_ex(X509_getm_notAfter(x), 0, kLeafValiditySeconds, &now) == nullptr) {
    return failure("cannot set the leaf validity");
  }
  if (ASN1_TIME_compare(X509_get0_notBefore(x), X509_get0_notBefore(ca_cert)) < 0 &&
      X509_set1_notBefore(x, X509_get0_notBefore(ca_cert)) != 1) {
    return failure("cannot set the leaf validity");
  }
  if (ASN1_TIME_compare(X509_get0_notAfter(x), X509_get0_notAfter(ca_cert)) > 0 &&
      X509_set1_notAfter(x, X509_get0_notAfter(ca_cert)) != 1) {
    return failure("cannot set the leaf validity");
  }

  for (const X509ExtensionPtr& ext : tmpl.extensions) {
    if (X509_add_ext(x, ext.get(), -1) != 1) return failure("cannot add a leaf extension");
  }
  // RFC 5280 §4.2.1.6: "If the subject field contains an empty sequence, then the issuing CA
  // MUST include a subjectAltName extension that is marked as critical."
  std::string san = std::string(has_cn ? "" : "critical,") + (ip ? "IP:" : "DNS:") + name;
  if (!add_extension(x, ca_cert, NID_subject_alt_name, san.c_str())) return failure("cannot set the leaf SAN");

  if (X509_sign(x, ca_key, EVP_sha256()) <= 0) return failure("cannot sign the leaf for " + name);
  return cert;
}

}  // namespace authscope
