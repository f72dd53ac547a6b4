// token-expired, token-audience-mismatch: how bearer tokens are used (RFC 6750, RFC 7519).
#include <map>

#include "analyzers/rules/rule_support.h"
#include "analyzers/token_info.h"

namespace authscope {
namespace {

// Hosts whose resource authscope knows: a token for anything else sent there is misdirected.
bool resource_host_role(const std::string& role) {
  return role == "arm" || role == "graph" || role == "aad-graph" || role == "keyvault" || role == "storage";
}

}  // namespace

void run_token_use_rules(const RuleInput& in, FindingSink& out) {
  const KnownApps& known = in.pack.known;
  const int64_t skew = in.pack.params.clock_skew_seconds;
  struct Group {
    std::vector<int64_t> flows;
    size_t first = 0;  // bearer use index of the first flow
  };
  std::map<TokenId, Group> expired;
  std::map<std::pair<TokenId, std::string>, Group> misdirected;
  const auto& B = in.log.bearer_uses;
  for (size_t i = 0; i < B.size(); ++i) {
    const BearerUseEvent& b = B[i];
    const TokenFacts& t = in.log.tokens.at(b.token);
    if (!t.jwt) continue;
    // RFC 7519 §4.1.4: "The "exp" (expiration time) claim identifies the expiration time on or
    // after which the JWT MUST NOT be accepted for processing." "Now" is the request time.
    const int64_t now = b.time_us / 1000000;
    if (t.exp && b.time_us > 0 && now >= *t.exp + skew && t.token_use != "id_token") {
      auto [it, inserted] = expired.try_emplace(b.token, Group{{}, i});
      it->second.flows.push_back(b.flow);
    }
    // RFC 9700 §2.3: "The resource server MUST refuse access tokens not meant for it"; a token
    // sent to another host leaks to a party it was not issued for. Judged only when either side
    // is known: an unknown aud (an App ID URI such as api://contoso/app) names no host.
    if (t.audience.empty() || b.host_role == "login") continue;
    const bool aud_known = known.resource_for_audience(t.audience) != nullptr;
    if (!aud_known && !resource_host_role(b.host_role)) continue;
    bool matches = false;
    for (const auto& aud : {t.audience}) matches = matches || known.audience_matches_host(aud, b.host);
    if (matches) continue;
    auto [it, inserted] = misdirected.try_emplace({b.token, b.host}, Group{{}, i});
    it->second.flows.push_back(b.flow);
  }
  for (const auto& [tok, g] : expired) {
    const TokenFacts& t = in.log.tokens.at(tok);
    const BearerUseEvent& b = B[g.first];
    const int64_t now = b.time_us / 1000000;
    nlohmann::ordered_json ev;
    ev["client_id"] = t.client_id;
    if (!b.tool.empty()) ev["tool"] = b.tool;
    ev["tenant"] = t.tenant;
    ev["audience"] = t.audience;
    ev["exp"] = format_time_utc(*t.exp);
    ev["first_late_use"] = format_time_utc(now);
    ev["host"] = b.host;
    out.add("token-expired",
            client_phrase(known, t.client_id, b.tool) + " sent a token for " + resource_phrase(t) + " (" +
                tenant_phrase(t.tenant) + (t.user.empty() ? std::string() : ", " + t.user) + ") to " + b.host +
                " that " + expiry_phrase(*t.exp, now, false) + " (exp " + format_time_utc(*t.exp) +
                "). Refresh tokens before they expire: acquire a token for each call (MSAL's silent "
                "acquisition refreshes it) instead of caching one for the whole run.",
            g.flows, std::move(ev));
  }
  for (const auto& [key, g] : misdirected) {
    const TokenFacts& t = in.log.tokens.at(key.first);
    const BearerUseEvent& b = B[g.first];
    nlohmann::ordered_json ev;
    ev["client_id"] = t.client_id;
    if (!b.tool.empty()) ev["tool"] = b.tool;
    ev["tenant"] = t.tenant;
    ev["audience"] = t.audience;
    ev["host"] = key.second;
    if (!b.host_role.empty()) ev["host_role"] = b.host_role;
    out.add("token-audience-mismatch",
            client_phrase(known, t.client_id, b.tool) + " sent a token for " + resource_phrase(t) + " (aud " +
                t.audience + ", " + tenant_phrase(t.tenant) + ") to " + key.second +
                ", which that audience does not name: the host should refuse it, and it now holds a token it "
                "could replay against " + resource_phrase(t) + ". Request a token for " + key.second +
                "'s own resource (scope <resource>/.default) and send each token only to its audience.",
            g.flows, std::move(ev));
  }
}

}  // namespace authscope
