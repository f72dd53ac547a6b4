#include "analyzers/jwks.h"

#include <openssl/bn.h>
#include <openssl/core_names.h>
#include <openssl/ecdsa.h>
#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/param_build.h>
#include <openssl/rsa.h>

#include <memory>

#include "analyzers/http_text.h"

namespace authscope {
namespace {

struct PkeyFree {
  void operator()(EVP_PKEY* p) const { EVP_PKEY_free(p); }
};
using PkeyPtr = std::unique_ptr<EVP_PKEY, PkeyFree>;

struct MdCtxFree {
  void operator()(EVP_MD_CTX* p) const { EVP_MD_CTX_free(p); }
};

struct BnFree {
  void operator()(BIGNUM* p) const { BN_free(p); }
};
using BnPtr = std::unique_ptr<BIGNUM, BnFree>;

// Clears the OpenSSL error queue on scope exit so a failed check never leaves stale errors for
// the next, unrelated caller (STYLE.md §20).
struct ErrQueueGuard {
  ErrQueueGuard() { ERR_clear_error(); }
  ~ErrQueueGuard() { ERR_clear_error(); }
};

BnPtr bn_from_b64url(const nlohmann::json& jwk, const char* member) {
  auto text = json_string(jwk, member);
  if (!text) return nullptr;
  auto bytes = base64url_decode(*text);
  if (!bytes.ok() || bytes->empty()) return nullptr;
  return BnPtr(BN_bin2bn(reinterpret_cast<const unsigned char*>(bytes->data()),
                         static_cast<int>(bytes->size()), nullptr));
}

PkeyPtr pkey_from_params(const char* type, OSSL_PARAM_BLD* bld) {
  OSSL_PARAM* params = OSSL_PARAM_BLD_to_param(bld);
  if (params == nullptr) return nullptr;
  EVP_PKEY* pkey = nullptr;
  EVP_PKEY_CTX* ctx = EVP_PKEY_CTX_new_from_name(nullptr, type, nullptr);
  if (ctx != nullptr && EVP_PKEY_fromdata_init(ctx) > 0) {
    if (EVP_PKEY_fromdata(ctx, &pkey, EVP_PKEY_PUBLIC_KEY, params) <= 0) pkey = nullptr;
  }
  EVP_PKEY_CTX_free(ctx);
  OSSL_PARAM_free(params);
  return PkeyPtr(pkey);
}

// RFC 7518 §6.3.1: "n" modulus and "e" exponent, base64urlUInt-encoded.
PkeyPtr rsa_key(const nlohmann::json& jwk) {
  BnPtr n = bn_from_b64url(jwk, "n"), e = bn_from_b64url(jwk, "e");
  if (!n || !e || BN_num_bits(n.get()) < 1024 || BN_num_bits(n.get()) > 16384) return nullptr;
  OSSL_PARAM_BLD* bld = OSSL_PARAM_BLD_new();
  if (bld == nullptr) return nullptr;
  PkeyPtr key;
  if (OSSL_PARAM_BLD_push_BN(bld, OSSL_PKEY_PARAM_RSA_N, n.get()) &&
      OSSL_PARAM_BLD_push_BN(bld, OSSL_PKEY_PARAM_RSA_E, e.get())) {
    key = pkey_from_params("RSA", bld);
  }
  OSSL_PARAM_BLD_free(bld);
  return key;
}

// RFC 7518 §6.2.1: "crv", and "x"/"y" coordinates each exactly the field size.
PkeyPtr ec_key(const nlohmann::json& jwk, std::string* crv_out) {
  auto crv = json_string(jwk, "crv");
  auto x = json_string(jwk, "x"), y = json_string(jwk, "y");
  if (!crv || !x || !y) return nullptr;
  const char* group = nullptr;
  size_t field = 0;
  if (*crv == "P-256") {
    group = "prime256v1";
    field = 32;
  } else if (*crv == "P-384") {
    group = "secp384r1";
    field = 48;
  } else {
    return nullptr;
  }
  auto xb = base64url_decode(*x), yb = base64url_decode(*y);
  if (!xb.ok() || !yb.ok() || xb->size() != field || yb->size() != field) return nullptr;
  std::string point = "\x04" + *xb + *yb;  // SEC 1 uncompressed point
  OSSL_PARAM_BLD* bld = OSSL_PARAM_BLD_new();
  if (bld == nullptr) return nullptr;
  PkeyPtr key;
  if (OSSL_PARAM_BLD_push_utf8_string(bld, OSSL_PKEY_PARAM_GROUP_NAME, group, 0) &&
      OSSL_PARAM_BLD_push_octet_string(bld, OSSL_PKEY_PARAM_PUB_KEY, point.data(), point.size())) {
    key = pkey_from_params("EC", bld);
  }
  OSSL_PARAM_BLD_free(bld);
  *crv_out = *crv;
  return key;
}

struct AlgSpec {
  const char* kty;  // "RSA" or "EC"
  const EVP_MD* (*md)();
  bool pss;
  const char* crv;  // EC curve, else nullptr
  size_t ec_field;
};

std::optional<AlgSpec> alg_spec(std::string_view alg) {
  if (alg == "RS256") return AlgSpec{"RSA", EVP_sha256, false, nullptr, 0};
  if (alg == "RS384") return AlgSpec{"RSA", EVP_sha384, false, nullptr, 0};
  if (alg == "RS512") return AlgSpec{"RSA", EVP_sha512, false, nullptr, 0};
  if (alg == "PS256") return AlgSpec{"RSA", EVP_sha256, true, nullptr, 0};
  if (alg == "PS384") return AlgSpec{"RSA", EVP_sha384, true, nullptr, 0};
  if (alg == "PS512") return AlgSpec{"RSA", EVP_sha512, true, nullptr, 0};
  if (alg == "ES256") return AlgSpec{"EC", EVP_sha256, false, "P-256", 32};
  if (alg == "ES384") return AlgSpec{"EC", EVP_sha384, false, "P-384", 48};
  return std::nullopt;
}

// RFC 7518 §3.4: the JWS ECDSA signature is R || S, each the field size, big-endian; OpenSSL
// wants the DER ECDSA-Sig-Value. Empty string when the length is wrong.
std::string jose_ecdsa_to_der(std::string_view sig, size_t field) {
  if (sig.size() != 2 * field) return {};
  ECDSA_SIG* es = ECDSA_SIG_new();
  if (es == nullptr) return {};
  BIGNUM* r = BN_bin2bn(reinterpret_cast<const unsigned char*>(sig.data()), static_cast<int>(field), nullptr);
  BIGNUM* s = BN_bin2bn(reinterpret_cast<const unsigned char*>(sig.data() + field), static_cast<int>(field), nullptr);
  std::string der;
  if (r != nullptr && s != nullptr && ECDSA_SIG_set0(es, r, s) == 1) {
    r = s = nullptr;  // owned by es now
    unsigned char* out = nullptr;
    int len = i2d_ECDSA_SIG(es, &out);
    if (len > 0) der.assign(reinterpret_cast<char*>(out), static_cast<size_t>(len));
    OPENSSL_free(out);
  }
  BN_free(r);
  BN_free(s);
  ECDSA_SIG_free(es);
  return der;
}

}  // namespace

struct JwksIndex::Key {
  std::string kid;
  std::string kty;  // "RSA" / "EC"
  std::string crv;
  std::string alg;  // the JWK's "alg" when it names one (RFC 7517 §4.4), else ""
  PkeyPtr pkey;

  bool verify(const AlgSpec& spec, std::string_view input, std::string_view signature) const {
    ErrQueueGuard guard;
    std::string der;
    if (std::string_view(spec.kty) == "EC") {
      der = jose_ecdsa_to_der(signature, spec.ec_field);
      if (der.empty()) return false;
      signature = der;
    }
    std::unique_ptr<EVP_MD_CTX, MdCtxFree> ctx(EVP_MD_CTX_new());
    if (!ctx) return false;
    EVP_PKEY_CTX* pctx = nullptr;
    if (EVP_DigestVerifyInit(ctx.get(), &pctx, spec.md(), nullptr, pkey.get()) <= 0) return false;
    if (spec.pss) {
      // RFC 7518 §3.5: "The size of the salt value is the same size as the hash function
      // output." MGF1 uses the same hash.
      if (EVP_PKEY_CTX_set_rsa_padding(pctx, RSA_PKCS1_PSS_PADDING) <= 0 ||
          EVP_PKEY_CTX_set_rsa_pss_saltlen(pctx, RSA_PSS_SALTLEN_DIGEST) <= 0 ||
          EVP_PKEY_CTX_set_rsa_mgf1_md(pctx, spec.md()) <= 0) {
        return false;
      }
    }
    return EVP_DigestVerify(ctx.get(), reinterpret_cast<const unsigned char*>(signature.data()), signature.size(),
                            reinterpret_cast<const unsigned char*>(input.data()), input.size()) == 1;
  }
};

JwksIndex::JwksIndex() = default;
JwksIndex::~JwksIndex() = default;
JwksIndex::JwksIndex(JwksIndex&&) noexcept = default;
JwksIndex& JwksIndex::operator=(JwksIndex&&) noexcept = default;

size_t JwksIndex::size() const { return keys_.size(); }

size_t JwksIndex::add_jwks(const nlohmann::json& jwks) {
  if (!jwks.is_object()) return 0;
  if (!jwks.contains("keys")) {
    if (!jwks.contains("kty")) return 0;
    nlohmann::json one = nlohmann::json::object();
    one["keys"] = nlohmann::json::array({jwks});
    return add_jwks(one);
  }
  const auto& keys = jwks["keys"];
  if (!keys.is_array()) return 0;
  size_t added = 0;
  for (const auto& jwk : keys) {
    if (!jwk.is_object() || keys_.size() >= 4096) continue;
    auto kty = json_string(jwk, "kty");
    if (!kty) continue;
    // RFC 7517 §4.2: a key whose "use" is not "sig" is not for verifying signatures.
    if (auto use = json_string(jwk, "use"); use && *use != "sig") continue;
    auto key = std::make_shared<Key>();
    key->kid = json_string(jwk, "kid").value_or("");
    key->alg = json_string(jwk, "alg").value_or("");
    key->kty = *kty;
    if (*kty == "RSA") {
      key->pkey = rsa_key(jwk);
    } else if (*kty == "EC") {
      key->pkey = ec_key(jwk, &key->crv);
    }
    if (!key->pkey) continue;
    // Same kid and same key material seen again (JWKS refetched): keep one copy.
    bool duplicate = false;
    for (const auto& k : keys_) {
      if (k->kid == key->kid && EVP_PKEY_eq(k->pkey.get(), key->pkey.get()) == 1) duplicate = true;
    }
    ERR_clear_error();
    if (duplicate) continue;
    keys_.push_back(std::move(key));
    ++added;
  }
  return added;
}

void JwksIndex::add_from_flow(const Flow& flow) {
  if (flow.kind != FlowKind::kHttp || !flow.response || flow.response->status != 200) return;
  UrlParts url = split_url(flow.request.target);
  std::string path = url.path;
  std::string full = flow.url();
  size_t q = full.find('?');
  std::string full_no_query = full.substr(0, q);
  // RFC 8414 / OpenID Connect Discovery 1.0 §4: the configuration is served at
  // {issuer}/.well-known/openid-configuration and names the key set in "jwks_uri".
  if (iends_with(path, "/.well-known/openid-configuration")) {
    auto doc = json_body(flow.response->body, flow.response->headers);
    if (doc) {
      if (auto uri = json_string(*doc, "jwks_uri"); uri && jwks_uris_.size() < 256) {
        jwks_uris_.insert(uri->substr(0, uri->find('?')));
      }
    }
    return;
  }
  bool jwks_path = iends_with(path, "/discovery/keys") || iends_with(path, "/discovery/v2.0/keys") ||
                   jwks_uris_.count(full_no_query) > 0;
  if (!jwks_path) return;
  auto doc = json_body(flow.response->body, flow.response->headers);
  if (doc) add_jwks(*doc);
}

SignatureStatus JwksIndex::verify(const DecodedToken& token) const {
  if (token.redacted) return SignatureStatus::kRedacted;
  if (token.format != TokenFormat::kJws) return SignatureStatus::kUnverified;
  std::string alg = token.alg();
  // RFC 7518 §3.6: "none" is an Unsecured JWS; nothing to verify and nothing to trust.
  if (alg == "none" || alg == "None" || alg == "NONE") return SignatureStatus::kAlgNone;
  // Microsoft Graph access tokens carry a "nonce" in the JOSE header: Graph hashes it before
  // checking the signature, so no third party can verify them (entra-reference GRAPH-NONCE).
  if (token.header.contains("nonce")) return SignatureStatus::kNotVerifiable;
  auto spec = alg_spec(alg);
  if (!spec) return SignatureStatus::kUnsupportedAlg;
  if (keys_.empty()) return SignatureStatus::kUnverified;

  std::string kid = token.kid();
  bool any_candidate = false;
  bool kid_known = false;  // a key with this kid exists, maybe not usable with this alg
  for (const auto& key : keys_) {
    if (!kid.empty() && key->kid != kid) continue;
    kid_known = !kid.empty();
    if (key->kty != spec->kty) continue;
    if (spec->crv != nullptr && key->crv != spec->crv) continue;
    if (!key->alg.empty() && key->alg != alg) continue;
    any_candidate = true;
    if (key->verify(*spec, token.signing_input, token.signature)) return SignatureStatus::kVerified;
  }
  // A kid naming a key of another type (an RSA kid with "alg":"ES256", say) is a token that no
  // published key can have produced: bad, not unknown.
  return (any_candidate || kid_known) ? SignatureStatus::kBadSignature : SignatureStatus::kUnknownKey;
}

}  // namespace authscope
