// libFuzzer: the token decoder and everything that reads untrusted token text (issue 7 item 9).
// Input: one token candidate. Invariants checked (a violation traps):
//   - decode_token never crashes; a decoded JWS's signing input is a prefix of the input;
//   - interpretation and time rendering accept any claims;
//   - verification against a real key never reports a forged input as verified unless the input
//     is the RFC 7515 A.2 token itself;
//   - redaction is idempotent, keeps claims and fingerprint, and never keeps the signature;
//   - redact_secrets/find_tokens on a flow carrying the input in every credential slot are
//     idempotent and do not crash.
#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>

#include "analyzers/jwks.h"
#include "analyzers/jwt.h"
#include "analyzers/known_apps.h"
#include "analyzers/redact.h"
#include "analyzers/token_discovery.h"
#include "analyzers/token_info.h"

using namespace authscope;

#define FUZZ_CHECK(cond) \
  do {                   \
    if (!(cond)) __builtin_trap(); \
  } while (0)

namespace {

const JwksIndex& rfc7515_a2_keys() {
  static const JwksIndex index = [] {
    JwksIndex k;
    k.add_jwks(nlohmann::json::parse(R"({"keys":[{"kty":"RSA","e":"AQAB","n":")"
                                     "ofgWCuLjybRlzo0tZWJjNiuSfb4p4fAkd_wWJcyQoTbji9k0l8W26mPddxHmfHQp-Vaw-4qPCJrcS2mJPMEz"
                                     "P1Pt0Bm4d4QlL-yRT-SFd2lZS-pCgNMsD1W_YpRPEwOWvG6b32690r2jZ47soMZo9wGzjb_7OMg0LOL-bSf6"
                                     "3kpaSHSXndS5z5rexMdbBYUsLA9e-KXBdQOS-UTo7WTBEMa2R2CapHg665xsmtdVMTBQY4uDZlxvb3qCo5Zw"
                                     "Kh9kG4LT6_I5IhlJH7aGhyxXFvUK-DWNmoudF8NAco9_h9iaGNj8q2ethFkMLs91kzk2PAcDTW9gb54h4FRW"
                                     "yuXpoQ" R"("}]})"));
    return k;
  }();
  return index;
}

std::string serialize(const Flow& f) {
  std::string out = f.request.target;
  for (const auto& h : f.request.headers.fields()) out += h.name + ":" + h.value + "\n";
  out += f.request.body.data.value_or("");
  if (f.response) {
    for (const auto& h : f.response->headers.fields()) out += h.name + ":" + h.value + "\n";
    out += f.response->body.data.value_or("");
  }
  return out;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  std::string_view input(reinterpret_cast<const char*>(data), size);
  auto decoded = decode_token(input);
  if (decoded.ok()) {
    const DecodedToken& d = decoded.value();
    if (d.format == TokenFormat::kJws) {
      FUZZ_CHECK(input.substr(0, d.signing_input.size()) == d.signing_input);
      TokenInfo info = interpret(d, builtin_known_apps());
      if (info.exp) (void)format_time_utc(*info.exp);
      if (info.iat && info.exp) (void)format_duration(*info.exp - *info.iat);
      SignatureStatus st = rfc7515_a2_keys().verify(d);
      (void)to_string(st);
    }
    std::string red = redact_token(input);
    FUZZ_CHECK(redact_token(red) == red);
    FUZZ_CHECK(is_redacted(red));
    auto again = decode_token(red);
    if (d.format == TokenFormat::kJws && !d.redacted) {
      FUZZ_CHECK(again.ok());
      FUZZ_CHECK(again->redacted);
      FUZZ_CHECK(again->fingerprint == d.fingerprint);
      if (d.signature.size() >= 8) FUZZ_CHECK(red.find(input.substr(d.signing_input.size() + 1)) == std::string::npos);
    }
  }

  // The same bytes in every credential slot of a flow.
  std::string text(input.substr(0, 4096));
  Flow flow;
  flow.scheme = "https";
  flow.host = "login.microsoftonline.com";
  flow.request.method = "POST";
  flow.request.target = "/common/oauth2/v2.0/token?code=" + text + "#id_token=" + text;
  flow.request.headers.add("Authorization", "Bearer " + text);
  flow.request.headers.add("x-ms-authorization-auxiliary", "Bearer " + text + ", Bearer " + text);
  flow.request.headers.add("Cookie", "ESTSAUTH=" + text);
  flow.request.headers.add("Content-Type", "application/x-www-form-urlencoded");
  flow.request.body.data = "code_verifier=" + text + "&refresh_token=" + text + "&" + text;
  Response resp;
  resp.status = 200;
  resp.headers.add("Content-Type", "application/json");
  resp.headers.add("Location", "https://app/cb?code=" + text);
  resp.body.data = std::string(input.substr(0, 8192));
  flow.response = resp;
  (void)find_tokens(flow);
  redact_secrets(flow);
  std::string once = serialize(flow);
  redact_secrets(flow);
  FUZZ_CHECK(serialize(flow) == once);
  (void)find_tokens(flow);
  return 0;
}
