// RS256 (RFC 7518 §3.3: RSASSA-PKCS1-v1_5 using SHA-256) signing and verification with OpenSSL 3.
#include "tests/support/token_signer.h"

#include <openssl/bio.h>
#include <openssl/bn.h>
#include <openssl/core_names.h>
#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/param_build.h>
#include <openssl/pem.h>
#include <openssl/rand.h>

#include <array>
#include <cstdio>

namespace authscope::testkit {
namespace {

struct PkeyFree { void operator()(EVP_PKEY* p) const { EVP_PKEY_free(p); } };
struct MdCtxFree { void operator()(EVP_MD_CTX* p) const { EVP_MD_CTX_free(p); } };
struct BioFree { void operator()(BIO* p) const { BIO_free(p); } };
struct BnFree { void operator()(BIGNUM* p) const { BN_free(p); } };
using PkeyPtr = std::unique_ptr<EVP_PKEY, PkeyFree>;

std::string openssl_error(const char* what) {
  unsigned long e = ERR_get_error();
  char buf[256] = {0};
  if (e) ERR_error_string_n(e, buf, sizeof buf);
  ERR_clear_error();
  return std::string(what) + (e ? std::string(": ") + buf : std::string());
}

std::string bio_text(BIO* bio) {
  char* data = nullptr;
  long len = BIO_get_mem_data(bio, &data);
  return std::string(data, len > 0 ? static_cast<size_t>(len) : 0);
}

std::string bn_param(const EVP_PKEY* key, const char* name) {
  BIGNUM* bn = nullptr;
  if (!EVP_PKEY_get_bn_param(key, name, &bn)) return {};
  std::unique_ptr<BIGNUM, BnFree> owned(bn);
  std::string out(static_cast<size_t>(BN_num_bytes(bn)), '\0');
  BN_bn2bin(bn, reinterpret_cast<unsigned char*>(out.data()));
  return out;
}

Result<nlohmann::json> json_segment(std::string_view token, int index) {
  size_t start = 0;
  for (int i = 0; i < index; ++i) {
    size_t dot = token.find('.', start);
    if (dot == std::string_view::npos) return Status::Parse("token has too few segments");
    start = dot + 1;
  }
  size_t end = token.find('.', start);
  auto raw = b64url_decode(token.substr(start, end == std::string_view::npos ? token.npos : end - start));
  if (!raw.ok()) return raw.status();
  auto j = nlohmann::json::parse(*raw, nullptr, false);
  if (j.is_discarded() || !j.is_object()) return Status::Parse("token segment is not a JSON object");
  return j;
}

}  // namespace

struct TokenSigner::Key {
  PkeyPtr pkey;
};

TokenSigner::TokenSigner(TokenSigner&&) noexcept = default;
TokenSigner& TokenSigner::operator=(TokenSigner&&) noexcept = default;
TokenSigner::~TokenSigner() = default;

Result<TokenSigner> TokenSigner::generate(std::string kid) {
  EVP_PKEY* raw = EVP_PKEY_Q_keygen(nullptr, nullptr, "RSA", static_cast<size_t>(2048));
  if (!raw) return Status::Tls(openssl_error("RSA key generation failed"));
  TokenSigner s;
  s.key_ = std::make_unique<Key>();
  s.key_->pkey.reset(raw);
  if (kid.empty()) kid = b64url(sha256_raw(bn_param(raw, OSSL_PKEY_PARAM_RSA_N))).substr(0, 27);
  s.kid_ = std::move(kid);
  return s;
}

Result<TokenSigner> TokenSigner::from_private_key_pem(const std::string& pem, std::string kid) {
  std::unique_ptr<BIO, BioFree> bio(BIO_new_mem_buf(pem.data(), static_cast<int>(pem.size())));
  EVP_PKEY* raw = PEM_read_bio_PrivateKey(bio.get(), nullptr, nullptr, nullptr);
  if (!raw) return Status::Parse(openssl_error("cannot read the signing key PEM"));
  if (EVP_PKEY_get_base_id(raw) != EVP_PKEY_RSA) {
    EVP_PKEY_free(raw);
    return Status::Invalid("the signing key is not an RSA key");
  }
  TokenSigner s;
  s.key_ = std::make_unique<Key>();
  s.key_->pkey.reset(raw);
  if (kid.empty()) kid = b64url(sha256_raw(bn_param(raw, OSSL_PKEY_PARAM_RSA_N))).substr(0, 27);
  s.kid_ = std::move(kid);
  return s;
}

std::string TokenSigner::mint_jwt(const nlohmann::json& claims, const nlohmann::json& header_extras) const {
  nlohmann::json header = {{"typ", "JWT"}, {"alg", "RS256"}, {"kid", kid_}};
  if (header_extras.is_object()) {
    for (auto it = header_extras.begin(); it != header_extras.end(); ++it) header[it.key()] = it.value();
  }
  // RFC 7515 §5.1: the JWS Signing Input is ASCII(BASE64URL(UTF8(JWS Protected Header)) || '.' ||
  // BASE64URL(JWS Payload)).
  std::string input = b64url(header.dump()) + "." + b64url(claims.dump());
  std::unique_ptr<EVP_MD_CTX, MdCtxFree> ctx(EVP_MD_CTX_new());
  size_t sig_len = 0;
  std::string sig;
  if (EVP_DigestSignInit(ctx.get(), nullptr, EVP_sha256(), nullptr, key_->pkey.get()) == 1 &&
      EVP_DigestSign(ctx.get(), nullptr, &sig_len, reinterpret_cast<const unsigned char*>(input.data()),
                     input.size()) == 1) {
    sig.resize(sig_len);
    if (EVP_DigestSign(ctx.get(), reinterpret_cast<unsigned char*>(sig.data()), &sig_len,
                       reinterpret_cast<const unsigned char*>(input.data()), input.size()) != 1) {
      sig.clear();
    }
    sig.resize(sig_len);
  }
  ERR_clear_error();
  return input + "." + b64url(sig);
}

nlohmann::json TokenSigner::jwks() const {
  nlohmann::json key = {
      {"kty", "RSA"}, {"use", "sig"}, {"alg", "RS256"}, {"kid", kid_},
      {"n", b64url(bn_param(key_->pkey.get(), OSSL_PKEY_PARAM_RSA_N))},
      {"e", b64url(bn_param(key_->pkey.get(), OSSL_PKEY_PARAM_RSA_E))},
  };
  // Entra publishes x5t too; a thumbprint of the key stands in for the certificate's.
  key["x5t"] = kid_;
  return {{"keys", nlohmann::json::array({key})}};
}

std::string TokenSigner::private_key_pem() const {
  std::unique_ptr<BIO, BioFree> bio(BIO_new(BIO_s_mem()));
  PEM_write_bio_PrivateKey(bio.get(), key_->pkey.get(), nullptr, nullptr, 0, nullptr, nullptr);
  return bio_text(bio.get());
}

std::string TokenSigner::public_key_pem() const {
  std::unique_ptr<BIO, BioFree> bio(BIO_new(BIO_s_mem()));
  PEM_write_bio_PUBKEY(bio.get(), key_->pkey.get());
  return bio_text(bio.get());
}

Result<nlohmann::json> verify_rs256(std::string_view token, const nlohmann::json& jwks) {
  auto header = jwt_header_unverified(token);
  if (!header.ok()) return header.status();
  if (header->value("alg", "") != "RS256") return Status::Invalid("alg is not RS256");
  std::string kid = header->value("kid", "");
  if (!jwks.is_object() || !jwks.contains("keys") || !jwks["keys"].is_array())
    return Status::Invalid("JWKS has no keys array");
  const nlohmann::json* jwk = nullptr;
  for (const auto& k : jwks["keys"]) {
    if (k.is_object() && k.value("kid", "") == kid) jwk = &k;
  }
  if (!jwk) return Status::NotFound("no JWKS key with kid " + kid);
  auto n = b64url_decode(jwk->value("n", ""));
  auto e = b64url_decode(jwk->value("e", ""));
  if (!n.ok() || !e.ok()) return Status::Parse("JWKS key n/e is not base64url");

  std::unique_ptr<BIGNUM, BnFree> bn_n(BN_bin2bn(reinterpret_cast<const unsigned char*>(n->data()),
                                                 static_cast<int>(n->size()), nullptr));
  std::unique_ptr<BIGNUM, BnFree> bn_e(BN_bin2bn(reinterpret_cast<const unsigned char*>(e->data()),
                                                 static_cast<int>(e->size()), nullptr));
  OSSL_PARAM_BLD* bld = OSSL_PARAM_BLD_new();
  OSSL_PARAM_BLD_push_BN(bld, OSSL_PKEY_PARAM_RSA_N, bn_n.get());
  OSSL_PARAM_BLD_push_BN(bld, OSSL_PKEY_PARAM_RSA_E, bn_e.get());
  OSSL_PARAM* params = OSSL_PARAM_BLD_to_param(bld);
  EVP_PKEY_CTX* pctx = EVP_PKEY_CTX_new_from_name(nullptr, "RSA", nullptr);
  EVP_PKEY* raw = nullptr;
  if (pctx && EVP_PKEY_fromdata_init(pctx) == 1) EVP_PKEY_fromdata(pctx, &raw, EVP_PKEY_PUBLIC_KEY, params);
  EVP_PKEY_CTX_free(pctx);
  OSSL_PARAM_free(params);
  OSSL_PARAM_BLD_free(bld);
  if (!raw) return Status::Tls(openssl_error("cannot build the RSA public key"));
  PkeyPtr pkey(raw);

  size_t last_dot = token.rfind('.');
  if (last_dot == std::string_view::npos) return Status::Parse("not a JWS");
  std::string_view input = token.substr(0, last_dot);
  auto sig = b64url_decode(token.substr(last_dot + 1));
  if (!sig.ok()) return sig.status();
  std::unique_ptr<EVP_MD_CTX, MdCtxFree> ctx(EVP_MD_CTX_new());
  int ok = EVP_DigestVerifyInit(ctx.get(), nullptr, EVP_sha256(), nullptr, pkey.get()) == 1 &&
           EVP_DigestVerify(ctx.get(), reinterpret_cast<const unsigned char*>(sig->data()), sig->size(),
                            reinterpret_cast<const unsigned char*>(input.data()), input.size()) == 1;
  ERR_clear_error();
  if (!ok) return Status::Invalid("signature does not verify");
  return jwt_claims_unverified(token);
}

Result<nlohmann::json> jwt_claims_unverified(std::string_view token) { return json_segment(token, 1); }
Result<nlohmann::json> jwt_header_unverified(std::string_view token) { return json_segment(token, 0); }

std::string b64url(std::string_view bytes) {
  static constexpr char kAlphabet[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";
  std::string out;
  out.reserve((bytes.size() * 4 + 2) / 3);
  size_t i = 0;
  for (; i + 2 < bytes.size(); i += 3) {
    uint32_t v = (uint8_t(bytes[i]) << 16) | (uint8_t(bytes[i + 1]) << 8) | uint8_t(bytes[i + 2]);
    out += kAlphabet[(v >> 18) & 63];
    out += kAlphabet[(v >> 12) & 63];
    out += kAlphabet[(v >> 6) & 63];
    out += kAlphabet[v & 63];
  }
  if (i + 1 == bytes.size()) {
    uint32_t v = uint8_t(bytes[i]) << 16;
    out += kAlphabet[(v >> 18) & 63];
    out += kAlphabet[(v >> 12) & 63];
  } else if (i + 2 == bytes.size()) {
    uint32_t v = (uint8_t(bytes[i]) << 16) | (uint8_t(bytes[i + 1]) << 8);
    out += kAlphabet[(v >> 18) & 63];
    out += kAlphabet[(v >> 12) & 63];
    out += kAlphabet[(v >> 6) & 63];
  }
  return out;
}

Result<std::string> b64url_decode(std::string_view text) {
  auto value = [](char c) -> int {
    if (c >= 'A' && c <= 'Z') return c - 'A';
    if (c >= 'a' && c <= 'z') return c - 'a' + 26;
    if (c >= '0' && c <= '9') return c - '0' + 52;
    if (c == '-') return 62;
    if (c == '_') return 63;
    return -1;
  };
  while (!text.empty() && text.back() == '=') text.remove_suffix(1);  // tolerate padding
  if (text.size() % 4 == 1) return Status::Parse("base64url length is impossible");
  std::string out;
  uint32_t acc = 0;
  int bits = 0;
  for (char c : text) {
    int v = value(c);
    if (v < 0) return Status::Parse("not base64url");
    acc = (acc << 6) | static_cast<uint32_t>(v);
    bits += 6;
    if (bits >= 8) {
      bits -= 8;
      out += static_cast<char>((acc >> bits) & 0xff);
    }
  }
  return out;
}

std::string sha256_raw(std::string_view bytes) {
  std::array<unsigned char, 32> md{};
  unsigned int len = 0;
  EVP_Digest(bytes.data(), bytes.size(), md.data(), &len, EVP_sha256(), nullptr);
  return std::string(reinterpret_cast<const char*>(md.data()), len);
}

std::string sha256_hex_of(std::string_view bytes) {
  std::string raw = sha256_raw(bytes);
  std::string out;
  char buf[3];
  for (unsigned char c : raw) {
    std::snprintf(buf, sizeof buf, "%02x", c);
    out += buf;
  }
  return out;
}

std::string pkce_s256(std::string_view verifier) { return b64url(sha256_raw(verifier)); }

std::string random_b64url(size_t bytes) {
  std::string raw(bytes, '\0');
  RAND_bytes(reinterpret_cast<unsigned char*>(raw.data()), static_cast<int>(raw.size()));
  return b64url(raw);
}

std::string random_guid() {
  unsigned char b[16];
  RAND_bytes(b, sizeof b);
  b[6] = static_cast<unsigned char>((b[6] & 0x0f) | 0x40);  // RFC 4122 version 4
  b[8] = static_cast<unsigned char>((b[8] & 0x3f) | 0x80);  // variant 10
  char out[37];
  std::snprintf(out, sizeof out, "%02x%02x%02x%02x-%02x%02x-%02x%02x-%02x%02x-%02x%02x%02x%02x%02x%02x",
                b[0], b[1], b[2], b[3], b[4], b[5], b[6], b[7], b[8], b[9], b[10], b[11], b[12], b[13],
                b[14], b[15]);
  return out;
}

}  // namespace authscope::testkit
