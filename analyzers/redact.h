// Secrets at rest: rewrite a flow so the store and exports hold no usable credential, while
// keeping what the analyzers need (token headers and claims, S256 of code verifiers, token
// fingerprints). Analysis of a redacted flow gives the same findings as of the raw one.
//
// Marker formats (a ':' never occurs in base64url or JWT text, so a marker is unambiguous):
//   opaque secret   authscope-redacted:sha256=<fp>         fp = token_fingerprint(raw) (16 hex)
//   password        authscope-redacted:password            no fingerprint: passwords are low
//                                                          entropy, a hash would allow guessing
//   code_verifier   authscope-redacted:s256=<BASE64URL(SHA256(verifier))>   (RFC 7636 §4.2
//                   S256 transform, so pkce-mismatch still compares it with code_challenge)
//   JWS             <b64 header>.<b64 claims>.authscope-redacted:sha256=<fp of whole token>
//                   decode_token() yields header and claims, redacted = true, fingerprint = fp;
//                   JwksIndex::verify() says kRedacted.
//   JWE             <b64 protected header>....authscope-redacted:sha256=<fp>   (5 parts)
// In form bodies and URLs the marker is percent-encoded (':' -> %3A, '=' -> %3D) and decodes to
// the forms above. Cookie and Set-Cookie values become authscope-redacted:sha256=<fp>.
//
// Content-Length of a rewritten body is set to the new length (Body::wire_size keeps the size
// seen on the wire). A gzip/deflate body is decoded, redacted and stored identity-encoded (the
// Content-Encoding field is removed); a body in an encoding authscope cannot decode is replaced
// by a marker. Idempotent: markers are left alone, so redacting twice changes nothing. Cost is
// linear in the flow's size (one pass per header, one parse per body), no allocation beyond the
// rewritten values. Never throws.
#pragma once

#include <optional>
#include <string>
#include <string_view>

#include "model/flow.h"

namespace authscope {

inline constexpr std::string_view kRedactedPrefix = "authscope-redacted:";

// Replaces in place: JWT signatures (header and claims kept), Authorization and
// x-ms-authorization-auxiliary credentials, client secrets and assertions, passwords, refresh
// tokens, authorization codes, code_verifier values, session cookies (ESTSAUTH* and others),
// in headers, form and JSON bodies and URLs. Each value becomes a marker with a fingerprint.
void redact_secrets(Flow& flow);

// True when the value is (or, for a JWT, ends in) a redaction marker.
bool is_redacted(std::string_view value);
// Redacts one value: a JWS/JWE keeps its header (and claims) with a marker, anything else
// becomes the opaque marker. Markers are returned unchanged.
std::string redact_token(std::string_view value);
std::string secret_marker(std::string_view raw);  // authscope-redacted:sha256=<fp>
std::string verifier_marker(std::string_view verifier);  // authscope-redacted:s256=<S256>

// The fingerprint of an authorization code (or any secret): the same for the raw value and its
// marker. Equivalent to token_fingerprint().
std::string code_fingerprint(std::string_view value_or_marker);
// BASE64URL(SHA256(ASCII(code_verifier))) for a raw verifier, or the value carried by its
// marker; nullopt for a marker of another kind.
std::optional<std::string> verifier_s256(std::string_view value_or_marker);

}  // namespace authscope
