// nonce-missing, nonce-mismatch, nonce-replay (OIDC Core 1.0 §3.1.2.1, §3.1.3.7, §3.2.2.1,
// §15.5.2).
#include <algorithm>
#include <map>

#include "analyzers/rules/rule_support.h"

namespace authscope {

void run_nonce_rules(const RuleInput& in, FindingSink& out) {
  const auto& A = in.log.authorizes;
  const auto& R = in.log.redirects;
  const auto& T = in.log.token_requests;
  const KnownApps& known = in.pack.known;

  // nonce-missing. OIDC Core §3.2.2.1 (implicit): "nonce REQUIRED"; §3.3.2.11 (hybrid) the
  // same when an ID token comes from the authorization endpoint. For response_type=code it is
  // OPTIONAL (§3.1.2.1), so a code-only request is not judged.
  std::map<std::string, std::vector<size_t>> by_nonce;
  for (size_t i = 0; i < A.size(); ++i) {
    if (in.links.logical_authorize[i] != static_cast<int64_t>(i)) continue;
    const AuthorizeEvent& a = A[i];
    if (a.nonce && !a.nonce->empty()) {
      by_nonce[*a.nonce].push_back(i);
      continue;
    }
    if (!has_word(a.scope, "openid") || !has_word(a.response_type, "id_token")) continue;
    nlohmann::ordered_json ev;
    ev["client_id"] = a.client_id;
    ev["tenant"] = a.authority;
    ev["response_type"] = a.response_type;
    out.add("nonce-missing",
            client_phrase(known, a.client_id, a.tool) + " asked " + tenant_phrase(a.authority) +
                " for an ID token (response_type=" + a.response_type +
                ") with no nonce: a stolen ID token can be replayed into its session. Send a fresh random "
                "nonce bound to the session and check the ID token's nonce claim.",
            in.links.authorize_flows.count(static_cast<int64_t>(i))
                ? in.links.authorize_flows.at(static_cast<int64_t>(i))
                : std::vector<int64_t>{a.flow},
            std::move(ev));
  }

  // nonce-replay (1): one nonce in more than one authorization request. §15.5.2: the nonce is
  // "a value used to associate a Client session with an ID Token, and to mitigate replay
  // attacks"; reusing it across requests removes that association.
  for (const auto& [nonce, idx] : by_nonce) {
    if (idx.size() < 2) continue;
    std::vector<int64_t> flows;
    std::vector<std::string> clients;
    for (size_t i : idx) {
      flows.push_back(A[i].flow);
      if (std::find(clients.begin(), clients.end(), A[i].client_id) == clients.end()) clients.push_back(A[i].client_id);
    }
    for (size_t j = 0; j < A.size(); ++j) {  // the repeats of each logical request count too
      const int64_t l = in.links.logical_authorize[j];
      if (l != static_cast<int64_t>(j) && std::find(idx.begin(), idx.end(), static_cast<size_t>(l)) != idx.end()) {
        flows.push_back(A[j].flow);
      }
    }
    nlohmann::ordered_json ev;
    ev["nonce"] = nonce;
    ev["requests"] = idx.size();
    ev["client_ids"] = clients;
    const AuthorizeEvent& first = A[idx.front()];
    out.add("nonce-replay",
            "one nonce was sent in " + std::to_string(idx.size()) + " different authorization requests by " +
                client_phrase(known, first.client_id, first.tool) +
                ": an ID token issued for one of them is accepted by the others. Generate a new random nonce "
                "for every authorization request.",
            std::move(flows), std::move(ev));
  }

  // nonce-replay (2): one ID token presented to the client more than once.
  std::map<TokenId, std::vector<int64_t>> presented;
  for (const auto& r : R) {
    if (r.id_token_presented && r.id_token != kNoToken) presented[r.id_token].push_back(r.flow);
  }
  for (const auto& [tok, flows] : presented) {
    if (flows.size() < 2) continue;
    const TokenFacts& t = in.log.tokens.at(tok);
    nlohmann::ordered_json ev;
    ev["client_id"] = t.client_id.empty() ? t.audience : t.client_id;
    ev["presentations"] = flows.size();
    if (!t.nonce.empty()) ev["nonce"] = t.nonce;
    out.add("nonce-replay",
            "one ID token" + (t.user.empty() ? std::string() : " for " + t.user) + " was presented " +
                std::to_string(flows.size()) + " times to the redirect URI" +
                ": a replayed ID token signs someone in again. The client must accept each nonce once and "
                "discard it after validating the ID token (OIDC Core §3.1.3.7).",
            flows, std::move(ev));
  }

  // nonce-mismatch. §3.1.3.7 rule 11: "If a nonce value was sent in the Authentication Request,
  // a nonce Claim MUST be present and its value checked to verify that it is the same value as
  // the one that was sent in the Authentication Request."
  auto check = [&](int64_t logical, TokenId id_token, int64_t flow) {
    if (logical < 0 || id_token == kNoToken) return;
    const AuthorizeEvent& a = A[static_cast<size_t>(logical)];
    if (!a.nonce || a.nonce->empty()) return;
    const TokenFacts& t = in.log.tokens.at(id_token);
    if (!t.jwt || t.nonce == *a.nonce) return;
    nlohmann::ordered_json ev;
    ev["client_id"] = a.client_id;
    ev["request_nonce"] = *a.nonce;
    ev["id_token_nonce"] = t.nonce.empty() ? nlohmann::ordered_json(nullptr) : nlohmann::ordered_json(t.nonce);
    out.add("nonce-mismatch",
            "the ID token " + (t.user.empty() ? std::string() : "for " + t.user + " ") + "that " +
                client_phrase(known, a.client_id, a.tool) + " received " +
                (t.nonce.empty() ? std::string("has no nonce claim") : std::string("carries another nonce")) +
                " although its authorization request (flow " + std::to_string(a.flow) +
                ") sent one: the token belongs to another sign-in (replay or mix-up). Reject it.",
            {a.flow, flow}, std::move(ev));
  };
  for (size_t i = 0; i < R.size(); ++i) {
    if (in.links.redirect_canonical[i] != static_cast<int64_t>(i) || !in.links.redirect_relevant[i]) continue;
    check(in.links.redirect_authorize[i], R[i].id_token, R[i].flow);
  }
  for (size_t i = 0; i < T.size(); ++i) check(in.links.token_authorize[i], T[i].id_token, T[i].flow);
}

}  // namespace authscope
