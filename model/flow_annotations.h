// FlowAnnotations: what authscope concluded about one flow, kept with it in the store so readers
// need not recompute it (issue 3 item 6): the flow's class and every token found in it, decoded.
//
// Computed by analyzers/flow_annotator.h from the *raw* flow on the store's writer thread, before
// secrets are redacted, so a signature status of "verified" survives redaction at rest. Always
// recomputable from a raw flow (the stored records are a cache of analysis, never the only copy
// of a fact); a flow that has none (older stores, stores written without the hook) is annotated
// by readers on the fly. Plain data: model/ depends on nothing.
#pragma once

#include <string>
#include <vector>

namespace authscope {

// One token (or credential) found in a flow. Never holds a signature or a secret value.
struct TokenRecord {
  std::string location;     // "request.header.Authorization", "response.json.access_token", ...
  std::string kind;         // "access_token", "refresh_token", "client_secret", ...
  std::string scheme;       // "Bearer", "PoP", "EncryptedBearer", "Basic", or ""
  std::string format;       // "jws", "jwe", "opaque", "secret" (never decoded), "malformed"
  std::string fingerprint;  // 16 hex of SHA-256 of the token text ("" for secrets, malformed)
  // "verified", "bad-signature", "unknown-key", "unsupported-alg", "alg-none", "not-verifiable",
  // "unverified", "redacted" (signature stripped before it could be checked); "" when not a
  // JWS/JWE.
  std::string signature;
  std::string header_json;  // JOSE header as compact JSON ("" unless jws/jwe)
  std::string claims_json;  // JWS claims as compact JSON ("" unless jws)
  std::string error;        // why a malformed token could not be decoded
  // The value is a redaction marker in the stored flow (set from the flow as stored: a token
  // verified before redaction has signature "verified" and redacted = true).
  bool redacted = false;

  bool operator==(const TokenRecord&) const = default;
};

struct FlowAnnotations {
  // Class label: "authorize", "token:authorization_code", "token" (no grant), "device-code",
  // "openid-configuration", "jwks", "instance-discovery", "logout", "arm:read", "arm:write",
  // "graph", "tunnel", "other".
  std::string flow_class;
  // The classification's details as a compact JSON object (grant, endpoint_version, authority,
  // cloud, subscription, resource_provider, resource_type, ...); "{}" when there are none.
  std::string class_detail = "{}";
  std::vector<TokenRecord> tokens;  // in discovery order (analyzers/token_discovery.h)

  bool operator==(const FlowAnnotations&) const = default;
};

}  // namespace authscope
