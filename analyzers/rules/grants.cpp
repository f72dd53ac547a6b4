// implicit-grant (RFC 9700 §2.1.2). ropc-grant is a flow-local hit (auth_events.cpp).
#include <set>

#include "analyzers/rules/rule_support.h"

namespace authscope {

void run_grant_rules(const RuleInput& in, FindingSink& out) {
  const auto& A = in.log.authorizes;
  const auto& R = in.log.redirects;
  const KnownApps& known = in.pack.known;
  std::set<int64_t> reported;
  // RFC 9700 §2.1.2: "Clients SHOULD NOT use the implicit grant (response type "token") or other
  // response types issuing access tokens in the authorization response"; an ID-token-only
  // response type (no code) is the OIDC implicit flow.
  for (size_t i = 0; i < A.size(); ++i) {
    if (in.links.logical_authorize[i] != static_cast<int64_t>(i)) continue;
    const AuthorizeEvent& a = A[i];
    const bool tokens = has_word(a.response_type, "token") || has_word(a.response_type, "id_token");
    if (!tokens || has_word(a.response_type, "code")) continue;
    reported.insert(static_cast<int64_t>(i));
    nlohmann::ordered_json ev;
    ev["client_id"] = a.client_id;
    ev["tenant"] = a.authority;
    ev["response_type"] = a.response_type;
    auto it = in.links.authorize_flows.find(static_cast<int64_t>(i));
    out.add("implicit-grant",
            client_phrase(known, a.client_id, a.tool) + " used the implicit grant (response_type=" +
                a.response_type + ") at " + tenant_phrase(a.authority) +
                ": tokens come back in the URL, exposed to browser history, referrers and scripts. Use the "
                "authorization code flow with PKCE (MSAL.js 2+ does) and turn off implicit grant in the app "
                "registration.",
            it == in.links.authorize_flows.end() ? std::vector<int64_t>{a.flow} : it->second, std::move(ev));
  }
  // Tokens in a URL whose request was not captured (or was not an implicit request).
  for (size_t i = 0; i < R.size(); ++i) {
    if (in.links.redirect_canonical[i] != static_cast<int64_t>(i) || !in.links.redirect_relevant[i]) continue;
    const RedirectEvent& r = R[i];
    const bool id_only = r.id_token_in_url && r.code_fp.empty();
    if (!r.access_token_in_url && !id_only) continue;
    if (in.links.redirect_authorize[i] >= 0 && reported.count(in.links.redirect_authorize[i])) continue;
    std::string client_id;
    if (r.access_token != kNoToken) client_id = in.log.tokens.at(r.access_token).client_id;
    if (in.links.redirect_authorize[i] >= 0) client_id = A[static_cast<size_t>(in.links.redirect_authorize[i])].client_id;
    std::vector<int64_t> flows = {r.flow};
    for (size_t j = i + 1; j < R.size(); ++j) {
      if (in.links.redirect_canonical[j] == static_cast<int64_t>(i)) flows.push_back(R[j].flow);
    }
    nlohmann::ordered_json ev;
    ev["client_id"] = client_id;
    ev["redirect_uri"] = r.target;
    ev["tokens"] = r.access_token_in_url ? "access_token" : "id_token";
    out.add("implicit-grant",
            std::string(r.access_token_in_url ? "an access token" : "an ID token") + " for " +
                client_phrase(known, client_id, "") + " was returned in the URL of the redirect to " + r.target +
                ": the implicit grant exposes tokens to browser history and referrers. Use the authorization "
                "code flow with PKCE.",
            std::move(flows), std::move(ev));
  }
}

}  // namespace authscope
