// pkce-missing, pkce-plain, pkce-mismatch (RFC 7636; RFC 9700 §2.1.1).
#include <set>

#include "analyzers/jwt.h"
#include "analyzers/rules/rule_support.h"

namespace authscope {
namespace {

std::vector<int64_t> flows_of(const RuleInput& in, int64_t logical) {
  auto it = in.links.authorize_flows.find(logical);
  return it == in.links.authorize_flows.end() ? std::vector<int64_t>{} : it->second;
}

}  // namespace

void run_pkce_rules(const RuleInput& in, FindingSink& out) {
  const auto& A = in.log.authorizes;
  const auto& T = in.log.token_requests;
  const KnownApps& known = in.pack.known;
  std::set<int64_t> missing_reported;  // logical authorize ids already reported as pkce-missing

  for (size_t i = 0; i < A.size(); ++i) {
    if (in.links.logical_authorize[i] != static_cast<int64_t>(i)) continue;
    const AuthorizeEvent& a = A[i];
    if (!has_word(a.response_type, "code")) continue;
    const std::string who = client_phrase(known, a.client_id, a.tool);
    if (!a.code_challenge || a.code_challenge->empty()) {
      // RFC 9700 §2.1.1: "Public clients MUST use PKCE"; for confidential clients "the use of
      // PKCE is RECOMMENDED". RFC 7636 §4.3: the client sends code_challenge with the
      // authorization request.
      nlohmann::ordered_json ev;
      ev["client_id"] = a.client_id;
      ev["tenant"] = a.authority;
      ev["response_type"] = a.response_type;
      if (!a.redirect_uri.empty()) ev["redirect_uri"] = a.redirect_uri;
      out.add("pkce-missing",
              who + " started an authorization code flow at " + tenant_phrase(a.authority) +
                  " with no code_challenge: an intercepted authorization code can be redeemed by whoever "
                  "holds it. Send code_challenge=BASE64URL(SHA256(code_verifier)) with "
                  "code_challenge_method=S256, and the code_verifier when redeeming the code (MSAL does this "
                  "by default).",
              flows_of(in, static_cast<int64_t>(i)), std::move(ev));
      missing_reported.insert(static_cast<int64_t>(i));
      continue;
    }
    const std::string method = a.code_challenge_method.value_or("");
    if (method.empty() || method == "plain") {
      // RFC 7636 §4.3: "code_challenge_method ... Defaults to "plain" if not present in the
      // request." §4.2: "If the client is capable of using "S256", it MUST use "S256"".
      nlohmann::ordered_json ev;
      ev["client_id"] = a.client_id;
      ev["tenant"] = a.authority;
      ev["code_challenge_method"] = method.empty() ? "(absent: plain)" : method;
      out.add("pkce-plain",
              who + " sent a PKCE code_challenge with " +
                  (method.empty() ? std::string("no code_challenge_method (which means plain)")
                                  : std::string("code_challenge_method=plain")) +
                  " at " + tenant_phrase(a.authority) +
                  ": the challenge is the verifier itself, so anyone who sees the authorization request can "
                  "redeem the code. Use code_challenge_method=S256.",
              flows_of(in, static_cast<int64_t>(i)), std::move(ev));
    }
  }

  for (size_t i = 0; i < T.size(); ++i) {
    const TokenRequestEvent& t = T[i];
    if (t.grant != "authorization_code") continue;
    const int64_t logical = in.links.token_authorize[i];
    const std::string who = client_phrase(known, t.client_id, t.tool);
    if (!t.has_verifier) {
      if (logical >= 0 && missing_reported.count(logical)) continue;  // same exchange, one finding
      nlohmann::ordered_json ev;
      ev["client_id"] = t.client_id;
      ev["tenant"] = t.authority;
      const bool challenged = logical >= 0 && A[static_cast<size_t>(logical)].code_challenge.has_value();
      ev["challenge_sent"] = challenged;
      out.add("pkce-missing",
              who + " redeemed an authorization code at " + tenant_phrase(t.authority) + " without a code_verifier" +
                  (challenged ? std::string(" although its authorization request sent a code_challenge (the "
                                            "token endpoint must refuse it)")
                              : std::string()) +
                  ". Send the code_verifier that matches the request's code_challenge (RFC 7636 §4.5).",
              {t.flow}, std::move(ev));
      continue;
    }
    if (logical < 0 || !t.verifier_s256) continue;
    const AuthorizeEvent& a = A[static_cast<size_t>(logical)];
    if (!a.code_challenge) continue;  // downgrade: pkce-missing on the request covers it
    // RFC 7636 §4.6: "If the "code_challenge_method" from Section 4.3 was "S256", the received
    // "code_verifier" is hashed by SHA-256, base64url-encoded, and then compared to the
    // "code_challenge", i.e.: BASE64URL-ENCODE(SHA256(ASCII(code_verifier))) == code_challenge.
    // If the "code_challenge_method" from Section 4.3 was "plain", they are compared directly".
    // Comparing S256 values covers both (plain: S256(verifier) == S256(challenge)) and works on
    // redacted flows, whose verifier survives only as its S256.
    const std::string method = a.code_challenge_method.value_or("plain");
    std::string expected;
    if (method == "S256") expected = *a.code_challenge;
    else if (method == "plain") expected = base64url_encode(sha256_bytes(*a.code_challenge));
    else continue;  // unknown method: nothing to compare
    if (*t.verifier_s256 == expected) continue;
    nlohmann::ordered_json ev;
    ev["client_id"] = t.client_id;
    ev["tenant"] = t.authority;
    ev["code_challenge_method"] = method;
    ev["code_challenge"] = *a.code_challenge;
    ev["verifier_s256"] = *t.verifier_s256;
    std::vector<int64_t> flows = flows_of(in, logical);
    flows.push_back(t.flow);
    out.add("pkce-mismatch",
            who + " redeemed a code from its authorization request (flow " + std::to_string(a.flow) +
                ") with a code_verifier whose " + (method == "S256" ? "S256 hash" : "value") +
                " is not that request's code_challenge: the redemption is either a bug (verifier from "
                "another sign-in, e.g. a shared cache across parallel logins) or someone else's code. Keep "
                "the verifier with the state of the request that sent its challenge.",
            std::move(flows), std::move(ev));
  }
}

}  // namespace authscope
