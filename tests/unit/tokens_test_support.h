// Test helpers for the token tests: a signing key (RSA or EC P-256) that mints real JWS with
// OpenSSL and publishes its JWK, Entra-shaped claims, and Flow builders. Header-only, test-only.
#pragma once

#include <openssl/bn.h>
#include <openssl/core_names.h>
#include <openssl/ecdsa.h>
#include <openssl/evp.h>
#include <openssl/rsa.h>

#include <memory>
#include <stdexcept>
#include <string>

#include <nlohmann/json.hpp>

#include "analyzers/http_text.h"
#include "analyzers/jwt.h"
#include "model/flow.h"

namespace authscope::testing {

class SigningKey {
 public:
  // alg: RS256, RS384, RS512, PS256, PS384, PS512, ES256, ES384.
  SigningKey(std::string alg, std::string kid) : alg_(std::move(alg)), kid_(std::move(kid)) {
    if (alg_[0] == 'E') {
      pkey_.reset(EVP_EC_gen(alg_ == "ES256" ? "P-256" : "P-384"));
    } else {
      pkey_.reset(EVP_RSA_gen(2048));
    }
    if (!pkey_) throw std::runtime_error("key generation failed");
  }

  const std::string& kid() const { return kid_; }
  const std::string& alg() const { return alg_; }

  nlohmann::json jwk() const {
    nlohmann::json j;
    j["kid"] = kid_;
    j["use"] = "sig";
    if (alg_[0] == 'E') {
      j["kty"] = "EC";
      j["crv"] = alg_ == "ES256" ? "P-256" : "P-384";
      size_t field = alg_ == "ES256" ? 32 : 48;
      BIGNUM *x = nullptr, *y = nullptr;
      EVP_PKEY_get_bn_param(pkey_.get(), OSSL_PKEY_PARAM_EC_PUB_X, &x);
      EVP_PKEY_get_bn_param(pkey_.get(), OSSL_PKEY_PARAM_EC_PUB_Y, &y);
      j["x"] = base64url_encode(bn_bytes(x, field));
      j["y"] = base64url_encode(bn_bytes(y, field));
      BN_free(x);
      BN_free(y);
    } else {
      j["kty"] = "RSA";
      BIGNUM *n = nullptr, *e = nullptr;
      EVP_PKEY_get_bn_param(pkey_.get(), OSSL_PKEY_PARAM_RSA_N, &n);
      EVP_PKEY_get_bn_param(pkey_.get(), OSSL_PKEY_PARAM_RSA_E, &e);
      j["n"] = base64url_encode(bn_bytes(n, 0));
      j["e"] = base64url_encode(bn_bytes(e, 0));
      BN_free(n);
      BN_free(e);
    }
    return j;
  }

  nlohmann::json jwks() const { return nlohmann::json{{"keys", nlohmann::json::array({jwk()})}}; }

  // Compact JWS over the given claims; `extra_header` members are merged into the header.
  std::string mint(const nlohmann::json& claims, const nlohmann::json& extra_header = nlohmann::json::object()) const {
    nlohmann::json header = {{"typ", "JWT"}, {"alg", alg_}, {"kid", kid_}};
    for (auto it = extra_header.begin(); it != extra_header.end(); ++it) header[it.key()] = it.value();
    std::string input = base64url_encode(header.dump()) + "." + base64url_encode(claims.dump());
    return input + "." + base64url_encode(sign(input));
  }

  std::string sign(const std::string& input) const {
    std::unique_ptr<EVP_MD_CTX, decltype(&EVP_MD_CTX_free)> ctx(EVP_MD_CTX_new(), EVP_MD_CTX_free);
    const EVP_MD* md = alg_.substr(2) == "256" ? EVP_sha256() : alg_.substr(2) == "384" ? EVP_sha384() : EVP_sha512();
    EVP_PKEY_CTX* pctx = nullptr;
    if (EVP_DigestSignInit(ctx.get(), &pctx, md, nullptr, pkey_.get()) <= 0) throw std::runtime_error("sign init");
    if (alg_[0] == 'P') {
      EVP_PKEY_CTX_set_rsa_padding(pctx, RSA_PKCS1_PSS_PADDING);
      EVP_PKEY_CTX_set_rsa_pss_saltlen(pctx, RSA_PSS_SALTLEN_DIGEST);
    }
    size_t len = 0;
    EVP_DigestSign(ctx.get(), nullptr, &len, reinterpret_cast<const unsigned char*>(input.data()), input.size());
    std::string sig(len, '\0');
    if (EVP_DigestSign(ctx.get(), reinterpret_cast<unsigned char*>(sig.data()), &len,
                       reinterpret_cast<const unsigned char*>(input.data()), input.size()) <= 0) {
      throw std::runtime_error("sign");
    }
    sig.resize(len);
    if (alg_[0] != 'E') return sig;
    // DER ECDSA-Sig-Value -> JOSE R || S (RFC 7518 §3.4).
    size_t field = alg_ == "ES256" ? 32 : 48;
    const unsigned char* p = reinterpret_cast<const unsigned char*>(sig.data());
    ECDSA_SIG* es = d2i_ECDSA_SIG(nullptr, &p, static_cast<long>(sig.size()));
    std::string out = bn_bytes(ECDSA_SIG_get0_r(es), field) + bn_bytes(ECDSA_SIG_get0_s(es), field);
    ECDSA_SIG_free(es);
    return out;
  }

 private:
  static std::string bn_bytes(const BIGNUM* bn, size_t width) {
    size_t n = static_cast<size_t>(BN_num_bytes(bn));
    if (width == 0) width = n;
    std::string out(width, '\0');
    BN_bn2binpad(bn, reinterpret_cast<unsigned char*>(out.data()), static_cast<int>(width));
    return out;
  }

  std::string alg_, kid_;
  std::unique_ptr<EVP_PKEY, decltype(&EVP_PKEY_free)> pkey_{nullptr, EVP_PKEY_free};
};

inline constexpr const char* kTenant = "72f988bf-86f1-41af-91ab-2d7cd011db47";
inline constexpr const char* kOtherTenant = "0a1b2c3d-4e5f-4a6b-8c7d-9e0f1a2b3c4d";
inline constexpr const char* kAzureCli = "04b07795-8ddb-461a-bbee-02f9e1bf7b46";
inline constexpr const char* kArmAppId = "797f4846-ba00-4fd7-ba43-dac1f8f63013";
inline constexpr int64_t kIat = 1717236000;  // 2024-06-01T10:00:00Z

// A v1 ARM access token for a user via Azure CLI (the shape Entra issues).
inline nlohmann::json arm_user_claims_v1() {
  return {{"aud", "https://management.core.windows.net/"},
          {"iss", std::string("https://sts.windows.net/") + kTenant + "/"},
          {"iat", kIat}, {"nbf", kIat}, {"exp", kIat + 4493},
          {"acr", "1"}, {"amr", {"pwd", "mfa"}},
          {"appid", kAzureCli}, {"appidacr", "0"},
          {"idtyp", "user"},
          {"name", "Ada Lovelace"}, {"oid", "b0b1c2d3-0000-4000-8000-000000000001"},
          {"scp", "user_impersonation"}, {"sub", "sub-ada"},
          {"tid", kTenant}, {"unique_name", "ada@contoso.example"}, {"upn", "ada@contoso.example"},
          {"uti", "AbCdEf"}, {"ver", "1.0"}, {"wids", {"62e90394-69f5-4237-9190-012177145e10"}}};
}

// A v2 app-only Graph token (client credentials).
inline nlohmann::json graph_app_claims_v2() {
  return {{"aud", "00000003-0000-0000-c000-000000000000"},
          {"iss", std::string("https://login.microsoftonline.com/") + kTenant + "/v2.0"},
          {"iat", kIat}, {"nbf", kIat}, {"exp", kIat + 3599},
          {"azp", "11111111-2222-4333-8444-555555555555"}, {"azpacr", "1"},
          {"oid", "c0c1c2c3-0000-4000-8000-000000000002"},
          {"roles", {"User.Read.All", "Directory.ReadWrite.All"}},
          {"sub", "c0c1c2c3-0000-4000-8000-000000000002"}, {"tid", kTenant}, {"ver", "2.0"}};
}

// An HTTPS request flow to `url` ("https://host/path?query").
inline Flow make_flow(std::string method, const std::string& url, std::vector<HeaderField> headers = {},
                      std::optional<std::string> body = std::nullopt) {
  Flow f;
  f.id = 1;
  UrlParts parts = split_url(url);
  f.scheme = parts.scheme.empty() ? "https" : parts.scheme;
  f.host = parts.host;
  f.port = parts.port.value_or(f.scheme == "https" ? 443 : 80);
  f.request.method = std::move(method);
  f.request.target = parts.path.empty() ? "/" : parts.path;
  if (parts.has_query) f.request.target += "?" + parts.query;
  if (parts.has_fragment) f.request.target += "#" + parts.fragment;
  f.request.version = "HTTP/1.1";
  f.request.headers.add("Host", parts.host);
  for (auto& h : headers) f.request.headers.add(h.name, h.value);
  if (body) {
    f.request.body.data = *body;
    f.request.body.wire_size = body->size();
    f.request.headers.add("Content-Length", std::to_string(body->size()));
  }
  f.times.start_us = kIat * 1000000 + 60 * 1000000;
  f.times.end_us = f.times.start_us + 1000;
  return f;
}

inline Flow make_form_post(const std::string& url, const std::string& form) {
  return make_flow("POST", url, {{"Content-Type", "application/x-www-form-urlencoded"}}, form);
}

inline void set_response(Flow& f, int status, std::vector<HeaderField> headers, std::optional<std::string> body) {
  Response r;
  r.status = status;
  r.reason = status == 200 ? "OK" : status == 302 ? "Found" : "Status";
  r.version = "HTTP/1.1";
  for (auto& h : headers) r.headers.add(h.name, h.value);
  if (body) {
    r.body.data = *body;
    r.body.wire_size = body->size();
    r.headers.add("Content-Length", std::to_string(body->size()));
  }
  f.response = std::move(r);
}

}  // namespace authscope::testing
