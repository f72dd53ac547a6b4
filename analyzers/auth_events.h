// Stage one of the rule engine (STYLE.md H.30): extract normalized auth events from each flow.
//
// One flow yields at most a handful of small structs (an authorization request, a redirect, a
// code redemption / token response, a bearer use, flow-local hits) holding ids, fingerprints,
// claims the rules read and short strings — never bodies — so memory grows with exchanges, not
// with captured bytes. Tokens are decoded once per distinct token (TokenTable, keyed by the
// fingerprint that is identical for a raw token and its redacted form), so a token used 10,000
// times costs one decode. Extraction is pure: no clock, no I/O; "now" is the flow's start time.
#pragma once

#include <cstdint>
#include <deque>
#include <optional>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

#include <nlohmann/json.hpp>

#include "analyzers/known_apps.h"
#include "model/finding.h"
#include "model/flow.h"

namespace authscope {

struct RulePack;

// The client program behind a flow, from its User-Agent ("Terraform/1.9.5
// terraform-provider-azurerm/3.116.0" -> name "terraform-provider-azurerm", version "3.116.0",
// display "terraform-provider-azurerm/3.116.0 (Terraform/1.9.5)").
struct ClientTool {
  std::string name;
  std::string version;
  std::string display;  // "" when the flow had no User-Agent
};
ClientTool parse_user_agent(std::string_view user_agent);

using TokenId = int32_t;
inline constexpr TokenId kNoToken = -1;

// What the rules read from one distinct token (TokenInfo, trimmed).
struct TokenFacts {
  std::string fingerprint;
  bool jwt = false;        // a JWS whose claims decoded
  bool encrypted = false;  // JWE: claims unreadable
  std::string version;     // v1 / v2
  std::string tenant, client_id, client_name, audience, resource_app_id, resource_name;
  std::string subject, user, nonce, uti, idtyp, token_use;
  std::vector<std::string> scopes, roles;
  std::optional<int64_t> exp, iat;
  // Kept only when custom rules read claims, and then only the members they name (a whole
  // claims document per distinct token was ~90 MB over 36,000 tokens).
  std::optional<nlohmann::json> claims;
};

class TokenTable {
 public:
  // Decodes `raw` the first time its fingerprint is seen. Never throws; an undecodable token
  // still gets an id (jwt = false) so its uses can be counted. `keep_claims`: the claim names
  // to keep in TokenFacts::claims (nullptr: keep no claims document).
  TokenId intern(std::string_view raw, const KnownApps& known, const std::vector<std::string>* keep_claims);
  const TokenFacts& at(TokenId id) const { return tokens_[static_cast<size_t>(id)]; }
  size_t size() const { return tokens_.size(); }

 private:
  // A deque: growing never moves (or transiently doubles) the facts already interned.
  std::deque<TokenFacts> tokens_;
  std::unordered_map<std::string, TokenId> by_fingerprint_;
  // The last few raw tokens seen, compared byte for byte before any hashing: an ARM client sends
  // one bearer token on hundreds of consecutive calls, and its SHA-256 fingerprint costs more
  // than the comparison. Bounded (kRecent entries of one token each).
  static constexpr size_t kRecent = 8;
  std::pair<std::string, TokenId> recent_[kRecent];
  size_t recent_next_ = 0;
};

// GET /{tenant}/oauth2[/v2.0]/authorize (RFC 6749 §4.1.1, OIDC Core §3.1.2.1).
struct AuthorizeEvent {
  int64_t flow = 0;
  int64_t time_us = 0;
  std::string host, authority, endpoint_version, tool;
  std::string client_id, response_type, response_mode, scope, resource, redirect_uri;
  std::optional<std::string> state, nonce, code_challenge, code_challenge_method;
  int64_t direct_redirect = -1;  // index of the redirect carried by this flow's own Location
};

// An authorization response (RFC 6749 §4.1.2): the Location an Entra login host answered with,
// or the request that delivered it to the client (query, fragment or form_post body).
struct RedirectEvent {
  int64_t flow = 0;
  int64_t time_us = 0;
  bool from_location = false;  // Entra's Location header (else: request to the redirect URI)
  bool client_side_has_state_or_token = false;
  std::string host;            // host of the flow (login host, or the client app's host)
  std::string target;          // redirect URL without query/fragment, normalized
  std::optional<std::string> state;
  std::string code_fp;         // code_fingerprint() of the code, "" when none
  std::string error;           // error=... when the response is an error
  TokenId id_token = kNoToken;
  TokenId access_token = kNoToken;
  bool access_token_in_url = false;  // access_token in query or fragment (implicit)
  bool id_token_in_url = false;
  bool id_token_presented = false;  // delivered to the client (request to the redirect URI)
  int64_t authorize = -1;            // index of the authorize event whose response this is
};

// POST /{tenant}/oauth2[/v2.0]/token and its response (RFC 6749 §4.1.3, §5.1).
struct TokenRequestEvent {
  int64_t flow = 0;
  int64_t time_us = 0;
  std::string host, authority, endpoint_version, grant, client_id, tool, scope, resource;
  std::string code_fp;
  bool has_verifier = false;
  std::optional<std::string> verifier_s256;  // BASE64URL(SHA256(verifier)), also from a marker
  int status = 0;
  TokenId access_token = kNoToken, id_token = kNoToken;
  std::string granted_scope;  // "scope" of the token response
};

struct AuxToken {
  std::string scheme;  // "Bearer" / "EncryptedBearer" as sent
  TokenId token = kNoToken;
};

// ARM's 403 LinkedAuthorizationFailed, classified (entra-reference.json aux_header.errors).
struct LinkedAuthFailure {
  bool cross_tenant = false;          // "...current tenant 'T' is not authorized to access linked subscription 'S'"
  std::string current_tenant, linked_subscription;
  std::string message;  // ARM's message, truncated
};

// A request carrying Authorization: Bearer (RFC 6750 §2.1), with what the rules need of it.
struct BearerUseEvent {
  int64_t flow = 0;
  int64_t time_us = 0;
  std::string scheme, host, method, path, tool, host_role;
  TokenId token = kNoToken;
  bool arm = false, arm_write = false;
  std::string subscription;
  int status = 0;  // 0: no response
  std::string error_code;  // ARM error.code of the response, if any
  bool has_aux = false;
  std::vector<AuxToken> aux_tokens;
  std::string aux_format_problem;  // "" when the header follows "<scheme> <token>, ..."
  size_t aux_count = 0;
  std::optional<LinkedAuthFailure> laf;
};

// A conclusion that needs only one flow (token-in-url, cleartext-credentials, custom rules).
struct LocalHit {
  std::string rule;
  int64_t flow = 0;
  std::string message;  // hits with the same rule and message become one finding
  nlohmann::ordered_json evidence = nlohmann::ordered_json::object();
};

// Everything stage one has extracted so far, in flow order.
struct EventLog {
  TokenTable tokens;
  std::vector<AuthorizeEvent> authorizes;
  std::vector<RedirectEvent> redirects;
  std::vector<TokenRequestEvent> token_requests;
  std::vector<BearerUseEvent> bearer_uses;
  std::vector<LocalHit> local_hits;
  std::unordered_map<std::string, std::string> tool_by_connection;  // UA-less flows inherit
  size_t flows = 0;
  // The claim names the pack's custom rules read (custom_rule_claim_names), computed once for
  // the pack last seen.
  const RulePack* claim_names_pack = nullptr;
  std::optional<std::vector<std::string>> claim_names;
};

// What extract_token_request reads of a token response (RFC 6749 §5.1: "The parameters are
// included in the entity-body of the HTTP response using the "application/json" media type ...
// serializing each parameter at the highest structure level").
struct TokenResponseStrings {
  std::optional<std::string> access_token, id_token, scope;
  bool operator==(const TokenResponseStrings&) const = default;
};
// Exactly what json_body(body) -> is_object() -> json_string(name) gives for the three members
// (nullopt: json_body gives no object), without building a document: a strict hand-written
// reader for plain JSON, nlohmann's SAX parser for the rest.
std::optional<TokenResponseStrings> read_token_response(const Body& body, const Headers& headers);

// Appends what `flow` contributes. Never throws (malformed input is skipped).
void extract_events(const Flow& flow, const RulePack& pack, EventLog& log);

// Which message bodies extract_events (and classify(), for the token grant) reads of a flow,
// decided from the flow without its bodies (flows row and headers): what a store reader must
// load so that extract_events and classify over the body-less flow give exactly what they give
// for the whole flow. Keep it in step with
// extract_events: tests/unit/store_scale_test.cpp analyzes corpora both ways.
struct BodyNeeds {
  bool request = false;
  bool response = false;
};
BodyNeeds bodies_read_by_extract_events(const Flow& flow_without_bodies, const RulePack& pack);

// The claim names custom rules read (claims conditions, {claim:NAME}, and the claims behind
// {client}, {tenant}, {audience}); nullopt when no custom rule reads claims.
std::optional<std::vector<std::string>> custom_rule_claim_names(const RulePack& pack);

// Parses an x-ms-authorization-auxiliary value: "Bearer <t1>, EncryptedBearer <t2>" (the
// documented form: each token "<scheme> <token>", separated by ", "). Returns the problem in
// words, or "" when well-formed; `tokens` gets every token that could be read.
std::string parse_aux_header(std::string_view value, std::vector<std::pair<std::string, std::string>>& tokens);

// Reads ARM's error body; nullopt when it is not LinkedAuthorizationFailed.
std::optional<LinkedAuthFailure> parse_linked_authorization_failure(const nlohmann::json& body);

// The resource a scope string names: "https://graph.microsoft.com/User.Read" -> (Graph app id,
// "User.Read"); a bare "User.Read" -> Microsoft Graph (the v2 endpoint's default resource).
// OIDC scopes (openid, profile, email, offline_access) -> empty resource.
std::pair<std::string, std::string> split_scope(std::string_view scope, const KnownApps& known);

inline constexpr std::string_view kGraphAppId = "00000003-0000-0000-c000-000000000000";
inline constexpr std::string_view kArmAppId = "797f4846-ba00-4fd7-ba43-dac1f8f63013";

}  // namespace authscope
