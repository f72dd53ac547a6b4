#include "analyzers/jwt.h"

#include <openssl/evp.h>

#include <array>

#include "analyzers/http_text.h"
#include "analyzers/redact.h"

namespace authscope {
namespace {

constexpr std::string_view kSha256MarkerPrefix = "authscope-redacted:sha256=";

// -1 for characters outside the base64url alphabet (RFC 4648 §5).
int b64url_value(unsigned char c) {
  if (c >= 'A' && c <= 'Z') return c - 'A';
  if (c >= 'a' && c <= 'z') return c - 'a' + 26;
  if (c >= '0' && c <= '9') return c - '0' + 52;
  if (c == '-') return 62;
  if (c == '_') return 63;
  return -1;
}

bool is_hex(std::string_view s) {
  for (char c : s) {
    if (!((c >= '0' && c <= '9') || (c >= 'a' && c <= 'f'))) return false;
  }
  return true;
}

// The fingerprint carried by a "...authscope-redacted:sha256=<hex>" value, if any.
std::optional<std::string> marker_fingerprint(std::string_view value) {
  size_t at = value.rfind(kSha256MarkerPrefix);
  if (at == std::string_view::npos) return std::nullopt;
  std::string_view hex = value.substr(at + kSha256MarkerPrefix.size());
  if (hex.size() != kFingerprintHexChars || !is_hex(hex)) return std::nullopt;
  return std::string(hex);
}

// True when the segment's first decoded byte is '{' (a JSON object header), the shape that
// distinguishes a JWT from opaque Entra tokens such as "0.AXoA..." refresh tokens and codes.
bool starts_like_json_object(std::string_view segment) {
  if (segment.size() < 2) return false;
  int a = b64url_value(static_cast<unsigned char>(segment[0]));
  int b = b64url_value(static_cast<unsigned char>(segment[1]));
  if (a < 0 || b < 0) return false;
  return ((a << 2) | (b >> 4)) == '{';
}

std::vector<std::string_view> split_dots(std::string_view raw) {
  std::vector<std::string_view> parts;
  size_t pos = 0;
  while (parts.size() < 8) {
    size_t dot = raw.find('.', pos);
    if (dot == std::string_view::npos) {
      parts.push_back(raw.substr(pos));
      break;
    }
    parts.push_back(raw.substr(pos, dot - pos));
    pos = dot + 1;
  }
  return parts;
}

size_t count_dots(std::string_view raw) {
  size_t n = 0;
  for (char c : raw) n += (c == '.');
  return n;
}

// Decodes one base64url JSON-object segment; `what` names it in errors ("header", "claims") and
// `is` agrees with it ("is", "are").
Result<nlohmann::json> decode_json_segment(std::string_view segment, int index, const char* what,
                                           const char* is) {
  if (segment.empty()) return Status::Parse("segment " + std::to_string(index) + " is empty");
  auto bytes = base64url_decode(segment);
  if (!bytes.ok()) return Status::Parse("segment " + std::to_string(index) + " is not base64url");
  if (json_depth_exceeds(*bytes, kMaxJsonDepth)) {
    return Status::Limit(std::string(what) + " JSON is nested deeper than " + std::to_string(kMaxJsonDepth));
  }
  auto json = parse_json(*bytes, kMaxTokenBytes, kMaxJsonDepth);
  if (!json) return Status::Parse(std::string(what) + " " + is + " not JSON");
  if (!json->is_object()) return Status::Parse(std::string(what) + " " + is + " not a JSON object");
  return std::move(*json);
}

}  // namespace

const char* to_string(SignatureStatus s) {
  switch (s) {
    case SignatureStatus::kUnverified: return "unverified";
    case SignatureStatus::kVerified: return "verified";
    case SignatureStatus::kBadSignature: return "bad-signature";
    case SignatureStatus::kUnknownKey: return "unknown-key";
    case SignatureStatus::kUnsupportedAlg: return "unsupported-alg";
    case SignatureStatus::kAlgNone: return "alg-none";
    case SignatureStatus::kNotVerifiable: return "not-verifiable";
    case SignatureStatus::kRedacted: return "redacted";
  }
  return "unverified";
}

std::string DecodedToken::alg() const {
  auto v = json_string(header, "alg");
  return v ? *v : std::string();
}

std::string DecodedToken::kid() const {
  auto v = json_string(header, "kid");
  return v ? *v : std::string();
}

Result<std::string> base64url_decode(std::string_view in) {
  // RFC 7515 §2: base64url "with all trailing '=' characters omitted"; a length of 1 mod 4 can
  // never come from encoding, and non-zero unused bits mean a non-canonical encoding.
  if (in.size() % 4 == 1) return Status::Parse("invalid base64url length");
  std::string out;
  out.reserve(in.size() * 3 / 4);
  uint32_t acc = 0;
  int bits = 0;
  for (unsigned char c : in) {
    int v = b64url_value(c);
    if (v < 0) return Status::Parse("invalid base64url character");
    acc = (acc << 6) | static_cast<uint32_t>(v);
    bits += 6;
    if (bits >= 8) {
      bits -= 8;
      out.push_back(static_cast<char>((acc >> bits) & 0xFF));
    }
  }
  if (bits > 0 && (acc & ((1u << bits) - 1)) != 0) return Status::Parse("non-canonical base64url");
  return out;
}

std::string base64url_encode(std::string_view bytes) {
  static constexpr char kAlphabet[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";
  std::string out;
  out.reserve((bytes.size() + 2) / 3 * 4);
  uint32_t acc = 0;
  int bits = 0;
  for (unsigned char c : bytes) {
    acc = (acc << 8) | c;
    bits += 8;
    while (bits >= 6) {
      bits -= 6;
      out.push_back(kAlphabet[(acc >> bits) & 63]);
    }
  }
  if (bits > 0) out.push_back(kAlphabet[(acc << (6 - bits)) & 63]);
  return out;
}

std::string sha256_bytes(std::string_view bytes) {
  // OpenSSL 3: an explicitly fetched EVP_MD skips the per-call implicit fetch (the provider
  // lookup costs far more than hashing a token). Fetched once, kept for the process.
  static EVP_MD* const sha256 = EVP_MD_fetch(nullptr, "SHA256", nullptr);
  std::array<unsigned char, 32> md{};
  unsigned int len = 0;
  EVP_Digest(bytes.data(), bytes.size(), md.data(), &len, sha256 != nullptr ? sha256 : EVP_sha256(), nullptr);
  return std::string(reinterpret_cast<const char*>(md.data()), 32);
}

std::string sha256_hex(std::string_view bytes) {
  static constexpr char kHex[] = "0123456789abcdef";
  std::string md = sha256_bytes(bytes);
  std::string out;
  out.reserve(64);
  for (unsigned char c : md) {
    out.push_back(kHex[c >> 4]);
    out.push_back(kHex[c & 15]);
  }
  return out;
}

std::string token_fingerprint(std::string_view raw_or_redacted) {
  if (auto fp = marker_fingerprint(raw_or_redacted)) return *fp;
  return sha256_hex(raw_or_redacted).substr(0, kFingerprintHexChars);
}

bool looks_like_jwt(std::string_view raw) {
  size_t dots = count_dots(raw);
  return (dots == 2 || dots == 4) && starts_like_json_object(raw);
}

Result<DecodedToken> decode_token(std::string_view raw) {
  if (raw.empty()) return Status::Parse("empty token");
  if (raw.size() > kMaxTokenBytes) {
    return Status::Limit("token is longer than " + std::to_string(kMaxTokenBytes) + " bytes");
  }
  for (unsigned char c : raw) {
    if (c <= 0x20 || c >= 0x7F) return Status::Parse("token contains whitespace, control or non-ASCII characters");
  }

  DecodedToken token;
  token.fingerprint = token_fingerprint(raw);

  if (!starts_like_json_object(raw)) {
    // Not a JWT: an opaque token (refresh token, code) or a redaction marker.
    token.format = TokenFormat::kOpaque;
    token.redacted = is_redacted(raw);
    return token;
  }

  std::vector<std::string_view> parts = split_dots(raw);
  if (parts.size() != 3 && parts.size() != 5) {
    return Status::Parse("a JWT has 3 (JWS) or 5 (JWE) segments, this has " +
                         (parts.size() >= 8 ? std::string("more than 7") : std::to_string(parts.size())));
  }

  auto header = decode_json_segment(parts[0], 1, "header", "is");
  if (!header.ok()) return header.status();
  token.header = std::move(*header);

  if (parts.size() == 5) {
    // RFC 7516 §7.1: BASE64URL(header).BASE64URL(encrypted key).BASE64URL(iv).
    //   BASE64URL(ciphertext).BASE64URL(tag). Recognised, never decrypted.
    token.format = TokenFormat::kJwe;
    if (!token.header.contains("enc")) return Status::Parse("JWE header has no \"enc\"");
    if (marker_fingerprint(parts[4]) && parts[1].empty() && parts[2].empty() && parts[3].empty()) {
      token.redacted = true;
      return token;
    }
    for (int i = 1; i < 5; ++i) {
      if (!base64url_decode(parts[i]).ok()) {
        return Status::Parse("segment " + std::to_string(i + 1) + " is not base64url");
      }
    }
    if (parts[3].empty()) return Status::Parse("segment 4 (ciphertext) is empty");
    return token;
  }

  token.format = TokenFormat::kJws;
  if (!token.header.contains("alg") || !token.header["alg"].is_string()) {
    return Status::Parse("header has no \"alg\" string");
  }
  auto claims = decode_json_segment(parts[1], 2, "claims", "are");
  if (!claims.ok()) return claims.status();
  token.claims = std::move(*claims);
  token.signing_input = std::string(raw.substr(0, parts[0].size() + 1 + parts[1].size()));

  if (marker_fingerprint(parts[2])) {
    token.redacted = true;  // signature removed at rest (redact.h)
    return token;
  }
  auto sig = base64url_decode(parts[2]);
  if (!sig.ok()) return Status::Parse("segment 3 is not base64url");
  token.signature = std::move(*sig);
  return token;
}

}  // namespace authscope
