// state-missing, state-mismatch (RFC 6749 §4.1.1, §4.1.2, §10.12).
#include "analyzers/rules/rule_support.h"

namespace authscope {

void run_state_rules(const RuleInput& in, FindingSink& out) {
  const auto& A = in.log.authorizes;
  const auto& R = in.log.redirects;
  const KnownApps& known = in.pack.known;
  for (size_t i = 0; i < A.size(); ++i) {
    if (in.links.logical_authorize[i] != static_cast<int64_t>(i)) continue;
    const AuthorizeEvent& a = A[i];
    if (a.state && !a.state->empty()) continue;
    // RFC 6749 §10.12: "The client MUST implement CSRF protection for its redirection URI ...
    // typically accomplished by requiring any request sent to the redirection URI endpoint to
    // include a value that binds the request to the user-agent's authenticated state (e.g., a
    // hash of the session cookie ...). The client SHOULD utilize the "state" request parameter".
    std::vector<int64_t> flows;
    for (size_t j = i; j < A.size(); ++j) {
      if (in.links.logical_authorize[j] == static_cast<int64_t>(i)) flows.push_back(A[j].flow);
    }
    nlohmann::ordered_json ev;
    ev["client_id"] = a.client_id;
    ev["tenant"] = a.authority;
    ev["response_type"] = a.response_type;
    out.add("state-missing",
            client_phrase(known, a.client_id, a.tool) + " sent an authorization request to " +
                tenant_phrase(a.authority) +
                " with no state: the response cannot be bound to the browser session that asked for it "
                "(login CSRF). Send an unguessable state tied to the session and check it on the redirect.",
            std::move(flows), std::move(ev));
  }
  for (size_t i = 0; i < R.size(); ++i) {
    if (in.links.redirect_canonical[i] != static_cast<int64_t>(i) || !in.links.redirect_relevant[i]) continue;
    const RedirectLink how = in.links.redirect_link[i];
    if (how != RedirectLink::kDirect && how != RedirectLink::kRedirectUri) continue;
    const AuthorizeEvent& a = A[static_cast<size_t>(in.links.redirect_authorize[i])];
    if (!a.state || a.state->empty()) continue;  // state-missing covers it
    const RedirectEvent& r = R[i];
    if (r.state && *r.state == *a.state) continue;
    // RFC 6749 §4.1.2: "state REQUIRED if the "state" parameter was present in the client
    // authorization request. The exact value received from the client."
    std::vector<int64_t> flows = {a.flow, r.flow};
    for (size_t j = i + 1; j < R.size(); ++j) {
      if (in.links.redirect_canonical[j] == static_cast<int64_t>(i)) flows.push_back(R[j].flow);
    }
    nlohmann::ordered_json ev;
    ev["client_id"] = a.client_id;
    ev["request_state"] = *a.state;
    ev["response_state"] = r.state ? nlohmann::ordered_json(*r.state) : nlohmann::ordered_json(nullptr);
    ev["redirect_uri"] = r.target;
    out.add("state-mismatch",
            "the authorization response to " + r.target + " for " + client_phrase(known, a.client_id, a.tool) +
                (r.state ? " carries a state that is not the one its request sent"
                         : " carries no state although its request sent one") +
                ": either a forged response (login CSRF) or a client mixing up parallel sign-ins. The client "
                "must reject it; check that it compares state before redeeming the code.",
            std::move(flows), std::move(ev));
  }
}

}  // namespace authscope
