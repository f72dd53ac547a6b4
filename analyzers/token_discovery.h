// Token discovery: every credential-bearing value in a flow, with where it was and what it is.
// Locations are stable strings rules and reports can show:
//   request.header.Authorization                       Bearer / PoP / Basic
//   request.header.x-ms-authorization-auxiliary[0..]   each "Bearer|EncryptedBearer <token>"
//   request.form.<name>                                assertion, client_assertion, id_token_hint,
//                                                      refresh_token, code, device_code,
//                                                      subject_token, actor_token, client_secret,
//                                                      password, code_verifier
//   request.target.query.<name> / request.target.fragment.<name>
//   response.json.<name>                               access_token, id_token, refresh_token
//   response.header.Location.query.<name> / .fragment.<name>
//   response.form_post.<name>                          HTML form_post hidden inputs
// Redacted values (redact.h) are found too (raw holds the marker form; decode_token handles it).
#pragma once

#include <string>
#include <vector>

#include "model/flow.h"

namespace authscope {

struct FoundToken {
  std::string location;  // see above
  // access_token, id_token, refresh_token, authorization_code, device_code, client_assertion,
  // assertion, id_token_hint, subject_token, actor_token, aux_token, pop_token, client_secret,
  // password, code_verifier, basic_credentials
  std::string kind;
  std::string scheme;  // "Bearer", "PoP", "EncryptedBearer", "Basic" for header tokens, else ""
  std::string raw;     // the value as found (percent-decoded for form and URL values)
  bool redacted = false;
};

inline constexpr size_t kMaxTokensPerFlow = 64;

// In flow order: request headers, request target, request body, response headers, response body.
// Never throws; malformed bodies are skipped. At most kMaxTokensPerFlow results.
std::vector<FoundToken> find_tokens(const Flow& flow);

// True for kinds that are credentials but not tokens a person would "decode" (password,
// client_secret, code_verifier, basic_credentials).
bool is_secret_kind(const std::string& kind);

}  // namespace authscope
