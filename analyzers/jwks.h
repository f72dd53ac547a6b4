// JwksIndex: the signing keys authscope has seen (JWKS documents, RFC 7517), indexed by kid, and
// JWS signature verification against them (RFC 7515 §5.2, RFC 7518 §3).
//
// Passive by design (issue 7 item 6): keys come only from captured JWKS responses or a file the
// user names; a token's jku/x5u/kid never triggers a fetch or a file access. Verification never
// throws; any malformed key is skipped when added. Thread-compatible: const methods may be called
// concurrently once adding is done.
#pragma once

#include <cstddef>
#include <memory>
#include <set>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "analyzers/jwt.h"
#include "model/flow.h"

namespace authscope {

class JwksIndex {
 public:
  JwksIndex();
  ~JwksIndex();
  JwksIndex(JwksIndex&&) noexcept;
  JwksIndex& operator=(JwksIndex&&) noexcept;

  // Adds the keys of a JWKS ({"keys":[...]}) or of a single JWK. RSA (n, e) and EC P-256/P-384
  // (crv, x, y) keys are kept; others and malformed ones are skipped. Returns keys added.
  size_t add_jwks(const nlohmann::json& jwks);
  // Looks at one captured flow: a JSON response with a "keys" array from a JWKS path
  // (/discovery/keys, /discovery/v2.0/keys, or a jwks_uri seen earlier) is indexed; an OpenID
  // configuration response has its jwks_uri remembered (so a later fetch of it is recognised).
  void add_from_flow(const Flow& flow);

  // The signature status of a decoded token (order of checks: redacted, not a JWS, alg none,
  // Graph header nonce -> kNotVerifiable, unsupported alg, no keys at all -> kUnverified, no key
  // with the kid -> kUnknownKey, then the cryptographic check -> kVerified / kBadSignature).
  // Supported: RS256/384/512, PS256/384/512, ES256/384 (JOSE r||s converted to DER).
  SignatureStatus verify(const DecodedToken& token) const;

  size_t size() const;  // keys indexed
  bool empty() const { return size() == 0; }
  const std::set<std::string>& jwks_uris() const { return jwks_uris_; }

 private:
  struct Key;
  std::vector<std::shared_ptr<const Key>> keys_;
  std::set<std::string> jwks_uris_;  // from openid-configuration documents
};

}  // namespace authscope
