// Token decoding. Decoding never implies trust: the result carries the header and claims and a
// separate signature status. base64url is decoded strictly; errors are Status values with a
// reason a user can read ("segment 2 is not base64url"), never exceptions. Sizes and JSON depth
// are bounded. No network or file access ever happens here (jku/x5u/kid are data, not pointers).
#pragma once

#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include <nlohmann/json.hpp>

#include "model/status.h"

namespace authscope {

enum class TokenFormat { kJws, kJwe, kOpaque };

enum class SignatureStatus {
  kUnverified,      // not checked (no key set given)
  kVerified,
  kBadSignature,
  kUnknownKey,      // no key with this kid among the JWKS seen
  kUnsupportedAlg,
  kAlgNone,
  kNotVerifiable,   // e.g. Microsoft Graph access tokens (header nonce): only Graph can verify
  kRedacted,        // the signature was removed at rest
};
const char* to_string(SignatureStatus s);

struct DecodedToken {
  TokenFormat format = TokenFormat::kOpaque;
  nlohmann::json header = nlohmann::json::object();  // JWS/JWE protected header
  nlohmann::json claims = nlohmann::json::object();  // JWS payload
  std::string signing_input;                         // "b64header.b64payload"
  std::string signature;                             // raw signature bytes (empty if redacted)
  // token_fingerprint() of the original token text: the same for a raw token and its redacted
  // form (redact.h), so rules join tokens across redaction.
  std::string fingerprint;
  bool redacted = false;  // signature (JWS), content (JWE) or whole value (opaque) removed at rest

  std::string alg() const;  // header "alg" or ""
  std::string kid() const;  // header "kid" or ""
};

inline constexpr size_t kMaxTokenBytes = 64 * 1024;
inline constexpr int kMaxJsonDepth = 32;
inline constexpr size_t kFingerprintHexChars = 16;  // 64 bits of SHA-256: enough to join, not to guess

// Recognises a JWS (3 parts), a JWE (5 parts) or an opaque token, and the redacted forms of
// each (see redact.h). An input that looks like a JWT (starts with "eyJ" or has 2 or 4 dots) but
// is malformed is an error with the reason, e.g. "segment 2 is not base64url", "claims are not a
// JSON object", "token is longer than 65536 bytes", "JSON nested deeper than 32". Empty input,
// whitespace or control characters inside are errors too. An opaque token is any other string of
// printable ASCII.
Result<DecodedToken> decode_token(std::string_view raw);
// True when `raw` has the shape of a JWS or JWE compact serialization (cheap, no decoding).
bool looks_like_jwt(std::string_view raw);
// First kFingerprintHexChars hex digits of SHA-256(raw); for a redacted value (redact.h) the
// fingerprint recorded in its marker.
std::string token_fingerprint(std::string_view raw_or_redacted);

Result<std::string> base64url_decode(std::string_view in);  // strict: no padding, alphabet only
std::string base64url_encode(std::string_view bytes);
std::string sha256_hex(std::string_view bytes);
std::string sha256_bytes(std::string_view bytes);

}  // namespace authscope
