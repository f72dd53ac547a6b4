// TokenSigner: mints real RS256 JWS tokens (RFC 7515) with an RSA 2048 key, and publishes the
// public key as a JWKS (RFC 7517), so decoders can verify what the fake Entra server issues.
// Claims helpers build Entra-shaped access and ID tokens (v1 and v2; see
// shared/reference/entra-reference.json "token_formats" for which claims belong to which version).
#pragma once

#include <cstdint>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include <nlohmann/json.hpp>

#include "model/status.h"

namespace authscope::testkit {

class TokenSigner {
 public:
  // A fresh RSA 2048 key. An empty kid becomes the base64url SHA-256 thumbprint prefix.
  static Result<TokenSigner> generate(std::string kid = "");
  static Result<TokenSigner> from_private_key_pem(const std::string& pem, std::string kid);

  TokenSigner(TokenSigner&&) noexcept;
  TokenSigner& operator=(TokenSigner&&) noexcept;
  ~TokenSigner();

  const std::string& kid() const { return kid_; }
  // header = {"typ":"JWT","alg":"RS256","kid":kid} merged with header_extras (extras win, so a
  // test can set "alg":"none" or a foreign kid on purpose; the signature is RS256 regardless).
  std::string mint_jwt(const nlohmann::json& claims,
                       const nlohmann::json& header_extras = nlohmann::json::object()) const;
  // {"keys":[{"kty":"RSA","use":"sig","alg":"RS256","kid":…,"n":…,"e":…}]}
  nlohmann::json jwks() const;
  std::string private_key_pem() const;
  std::string public_key_pem() const;

 private:
  TokenSigner() = default;
  struct Key;
  std::unique_ptr<Key> key_;
  std::string kid_;
};

// Verifies an RS256 JWS against a JWKS (the key picked by kid). Returns the claims on success.
Result<nlohmann::json> verify_rs256(std::string_view token, const nlohmann::json& jwks);
// Decodes header and claims without verification (test assertions on what a server issued).
Result<nlohmann::json> jwt_claims_unverified(std::string_view token);
Result<nlohmann::json> jwt_header_unverified(std::string_view token);

std::string b64url(std::string_view bytes);
Result<std::string> b64url_decode(std::string_view text);
std::string sha256_raw(std::string_view bytes);
std::string sha256_hex_of(std::string_view bytes);
// RFC 7636 §4.2: code_challenge = BASE64URL-ENCODE(SHA256(ASCII(code_verifier)))
std::string pkce_s256(std::string_view verifier);
std::string random_b64url(size_t bytes);  // e.g. 32 bytes → a 43-char verifier
std::string random_guid();

// What a token says about who it is for. Times are seconds since the epoch; iat 0 = now.
struct TokenSpec {
  std::string tenant_id;   // tid; empty = kHomeTenantId
  std::string client_id;   // appid (v1) / azp (v2) / aud of ID tokens; empty = kAzureCliClientId
  std::string audience;    // aud of access tokens; empty = kArmResource
  std::string oid;         // empty = kUserOid (app_only: kAppOid)
  std::string upn;         // empty = kUserUpn (omitted when app_only)
  std::string name;        // empty = kUserName
  std::vector<std::string> scopes;  // scp (delegated)
  std::vector<std::string> roles;   // roles (app permissions or user app roles)
  bool app_only = false;            // client credentials: idtyp "app", no scp/upn
  std::string nonce;                // ID tokens: the authorize request's nonce, if any
  int64_t iat = 0;
  int64_t lifetime_s = 3600;
};

nlohmann::json v1_access_token_claims(const TokenSpec& spec);  // iss https://sts.windows.net/{tid}/
nlohmann::json v2_access_token_claims(const TokenSpec& spec);  // iss https://login.microsoftonline.com/{tid}/v2.0
nlohmann::json id_token_claims(const TokenSpec& spec, bool v2 = true);

}  // namespace authscope::testkit
