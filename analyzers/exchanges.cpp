#include "analyzers/exchanges.h"

#include <algorithm>
#include <map>

#include "analyzers/jwt.h"
#include "analyzers/rule_pack.h"

namespace authscope {
namespace {

std::string logical_key(const AuthorizeEvent& a) {
  // Entra re-sends the same authorization request (sso_reload, a refreshed login page, a
  // retried redirect): the same client, state, nonce, challenge and redirect URI are one
  // request, not two uses of a nonce.
  auto o = [](const std::optional<std::string>& s) { return s ? "1" + *s : std::string("0"); };
  return a.client_id + '\x1f' + o(a.state) + '\x1f' + o(a.nonce) + '\x1f' + o(a.code_challenge) + '\x1f' +
         a.redirect_uri + '\x1f' + a.response_type;
}

}  // namespace

ExchangeLinks link_exchanges(const EventLog& log) {
  ExchangeLinks L;
  const auto& A = log.authorizes;
  const auto& R = log.redirects;
  const auto& T = log.token_requests;

  // Logical authorization requests.
  L.logical_authorize.resize(A.size());
  {
    std::unordered_map<std::string, int64_t> first;
    for (size_t i = 0; i < A.size(); ++i) {
      auto [it, inserted] = first.emplace(logical_key(A[i]), static_cast<int64_t>(i));
      L.logical_authorize[i] = it->second;
    }
  }
  std::unordered_map<std::string, std::vector<int64_t>> by_state, by_redirect_uri;
  for (size_t i = 0; i < A.size(); ++i) {
    if (L.logical_authorize[i] != static_cast<int64_t>(i)) continue;
    if (A[i].state) by_state[*A[i].state].push_back(static_cast<int64_t>(i));
    if (!A[i].redirect_uri.empty()) by_redirect_uri[A[i].redirect_uri].push_back(static_cast<int64_t>(i));
  }

  // Redirects: dedupe (Entra's Location and the browser's request to the redirect URI are one
  // response), then tie each to its authorization request.
  L.redirect_canonical.resize(R.size());
  L.redirect_authorize.assign(R.size(), -1);
  L.redirect_link.assign(R.size(), RedirectLink::kNone);
  L.redirect_relevant.assign(R.size(), true);
  std::unordered_map<std::string, int64_t> first_by_key;
  std::vector<bool> authorize_answered(A.size(), false);
  for (size_t i = 0; i < R.size(); ++i) {
    const RedirectEvent& r = R[i];
    std::string key;
    if (!r.code_fp.empty()) key = "c" + r.code_fp;
    else if (r.state) key = "s" + *r.state + '\x1f' + r.target + '\x1f' + r.error;
    int64_t canonical = static_cast<int64_t>(i);
    if (!key.empty()) {
      auto [it, inserted] = first_by_key.emplace(key, static_cast<int64_t>(i));
      canonical = it->second;
    }
    L.redirect_canonical[i] = canonical;
    if (canonical != static_cast<int64_t>(i)) {
      L.redirect_authorize[i] = L.redirect_authorize[canonical];
      L.redirect_link[i] = L.redirect_link[canonical];
      L.redirect_relevant[i] = L.redirect_relevant[canonical];
      continue;
    }
    int64_t a = -1;
    RedirectLink how = RedirectLink::kNone;
    if (r.authorize >= 0) {
      a = L.logical_authorize[static_cast<size_t>(r.authorize)];
      how = RedirectLink::kDirect;
    }
    if (a < 0 && r.state) {
      if (auto it = by_state.find(*r.state); it != by_state.end()) {
        for (auto idx = it->second.rbegin(); idx != it->second.rend(); ++idx) {
          if (A[static_cast<size_t>(*idx)].flow <= r.flow) {
            a = *idx;
            how = RedirectLink::kState;
            break;
          }
        }
      }
    }
    if (a < 0 && !r.target.empty()) {
      // RFC 6749 §4.1.2: the response goes to the redirect URI of the request. With no state
      // match, the request it answers is the latest one still waiting for that redirect URI.
      if (auto it = by_redirect_uri.find(r.target); it != by_redirect_uri.end()) {
        for (auto idx = it->second.rbegin(); idx != it->second.rend(); ++idx) {
          if (A[static_cast<size_t>(*idx)].flow <= r.flow && !authorize_answered[static_cast<size_t>(*idx)]) {
            a = *idx;
            how = RedirectLink::kRedirectUri;
            break;
          }
        }
      }
    }
    if (a >= 0) authorize_answered[static_cast<size_t>(a)] = true;
    L.redirect_authorize[i] = a;
    L.redirect_link[i] = how;
    // A request to an app with "?code=" or "?access_token=" but no state and no matching
    // authorization request is not evidence of an authorization response (RFC 6749 §4.1.2 and
    // §4.2.2 echo state whenever the request sent one; Entra's clients always send it).
    if (!r.from_location && a < 0 && !r.state) L.redirect_relevant[i] = false;
  }

  // Code redemptions: the code ties them to the redirect that delivered it.
  std::unordered_map<std::string, int64_t> redirect_by_code;
  for (size_t i = 0; i < R.size(); ++i) {
    if (!R[i].code_fp.empty()) redirect_by_code.emplace(R[i].code_fp, static_cast<int64_t>(i));
  }
  std::unordered_map<std::string, int64_t> authorize_by_s256;
  for (size_t i = 0; i < A.size(); ++i) {
    if (L.logical_authorize[i] != static_cast<int64_t>(i) || !A[i].code_challenge) continue;
    if (A[i].code_challenge_method.value_or("plain") == "S256") authorize_by_s256.emplace(*A[i].code_challenge, i);
  }
  L.token_redirect.assign(T.size(), -1);
  L.token_authorize.assign(T.size(), -1);
  for (size_t i = 0; i < T.size(); ++i) {
    const TokenRequestEvent& t = T[i];
    if (t.access_token != kNoToken) L.token_issuer.emplace(t.access_token, static_cast<int64_t>(i));
    if (t.id_token != kNoToken) L.token_issuer.emplace(t.id_token, static_cast<int64_t>(i));
    if (t.grant != "authorization_code") continue;
    if (!t.code_fp.empty()) {
      if (auto it = redirect_by_code.find(t.code_fp); it != redirect_by_code.end() && R[it->second].flow <= t.flow) {
        L.token_redirect[i] = it->second;
        L.token_authorize[i] = L.redirect_authorize[static_cast<size_t>(it->second)];
      }
    }
    if (L.token_authorize[i] < 0 && t.verifier_s256) {
      // No captured redirect (e.g. a loopback redirect URI outside the proxy): a verifier whose
      // S256 is a captured challenge identifies the request just as well.
      if (auto it = authorize_by_s256.find(*t.verifier_s256); it != authorize_by_s256.end()) {
        L.token_authorize[i] = it->second;
      }
    }
  }
  for (size_t i = 0; i < A.size(); ++i) L.authorize_flows[L.logical_authorize[i]].push_back(A[i].flow);
  for (size_t i = 0; i < R.size(); ++i) {
    if (L.redirect_relevant[i] && L.redirect_authorize[i] >= 0) L.authorize_flows[L.redirect_authorize[i]].push_back(R[i].flow);
  }
  for (size_t i = 0; i < T.size(); ++i) {
    if (L.token_authorize[i] >= 0) L.authorize_flows[L.token_authorize[i]].push_back(T[i].flow);
  }
  return L;
}

namespace {

std::string short_id(const std::string& id) { return id.size() > 8 ? id.substr(0, 8) + "…" : id; }

struct DiagramBuilder {
  Exchange ex;
  int participant(const std::string& name) {
    auto it = std::find(ex.participants.begin(), ex.participants.end(), name);
    if (it != ex.participants.end()) return static_cast<int>(it - ex.participants.begin());
    ex.participants.push_back(name);
    return static_cast<int>(ex.participants.size() - 1);
  }
  void step(int64_t flow, const std::string& from, const std::string& to, std::string label, bool error) {
    if (ex.steps.size() >= kMaxStepsPerExchange) return;
    ExchangeStep s;
    s.flow = flow;
    s.from = participant(from);
    s.to = participant(to);
    s.label = std::move(label);
    s.is_error = error;
    ex.steps.push_back(std::move(s));
  }
};

std::string client_label(const std::string& client_id, const KnownApps& known) {
  if (client_id.empty()) return "unknown client";
  if (const std::string* n = known.client_name(client_id)) return *n + " (" + short_id(client_id) + ")";
  return client_id;
}

std::string authorize_label(const AuthorizeEvent& a) {
  std::string l = "authorize " + (a.response_type.empty() ? std::string("?") : a.response_type);
  if (a.code_challenge) l += ", PKCE " + a.code_challenge_method.value_or("plain");
  if (a.state) l += ", state";
  if (a.nonce) l += ", nonce";
  return l;
}

std::string redirect_label(const RedirectEvent& r) {
  std::string l = r.from_location ? "302 " : "redirect ";
  if (!r.error.empty()) return l + "error=" + r.error;
  std::vector<std::string> parts;
  if (!r.code_fp.empty()) parts.push_back("code");
  if (r.id_token != kNoToken) parts.push_back("id_token");
  if (r.access_token != kNoToken) parts.push_back("access_token");
  if (r.state) parts.push_back("state");
  for (size_t i = 0; i < parts.size(); ++i) l += (i ? " + " : "") + parts[i];
  return l;
}

}  // namespace

std::vector<Exchange> build_exchanges(const EventLog& log, const ExchangeLinks& L, const KnownApps& known) {
  // One diagram per logical authorization request (with its redirects, redemptions and the
  // uses of the tokens they issued) and one per token request not started by a captured
  // authorization request (client credentials, refresh, device code, password).
  std::map<int64_t, std::vector<std::pair<int64_t, int>>> by_exchange;  // first flow -> (flow, event ref)
  // Event refs: kind * 2^28 + index, so steps sort by flow then by kind.
  enum Kind { kAuthorize = 0, kRedirect = 1, kToken = 2, kUse = 3 };
  auto ref = [](Kind k, size_t i) { return static_cast<int>(k) * (1 << 28) + static_cast<int>(i); };
  std::unordered_map<int64_t, int64_t> authorize_exchange;  // logical authorize -> exchange key
  std::unordered_map<int64_t, int64_t> token_exchange;      // token request -> exchange key
  for (size_t i = 0; i < log.authorizes.size(); ++i) {
    const int64_t logical = L.logical_authorize[i];
    int64_t key = log.authorizes[static_cast<size_t>(logical)].flow;
    authorize_exchange.emplace(logical, key);
    by_exchange[key].push_back({log.authorizes[i].flow, ref(kAuthorize, i)});
  }
  for (size_t i = 0; i < log.redirects.size(); ++i) {
    if (!L.redirect_relevant[i] || L.redirect_authorize[i] < 0) continue;
    by_exchange[authorize_exchange[L.redirect_authorize[i]]].push_back({log.redirects[i].flow, ref(kRedirect, i)});
  }
  for (size_t i = 0; i < log.token_requests.size(); ++i) {
    int64_t key = log.token_requests[i].flow;
    if (L.token_authorize[i] >= 0) key = authorize_exchange[L.token_authorize[i]];
    token_exchange[static_cast<int64_t>(i)] = key;
    by_exchange[key].push_back({log.token_requests[i].flow, ref(kToken, i)});
  }
  for (size_t i = 0; i < log.bearer_uses.size(); ++i) {
    auto it = L.token_issuer.find(log.bearer_uses[i].token);
    if (it == L.token_issuer.end()) continue;
    by_exchange[token_exchange[it->second]].push_back({log.bearer_uses[i].flow, ref(kUse, i)});
  }

  std::vector<Exchange> out;
  for (auto& [key, events] : by_exchange) {
    if (out.size() >= kMaxExchanges) break;
    std::sort(events.begin(), events.end());
    DiagramBuilder d;
    d.participant("Client");
    std::string client_id, tool, what, tenant;
    for (const auto& [flow, r] : events) {
      const Kind kind = static_cast<Kind>(r >> 28);
      const size_t i = static_cast<size_t>(r & ((1 << 28) - 1));
      switch (kind) {
        case kAuthorize: {
          const auto& a = log.authorizes[i];
          if (client_id.empty()) client_id = a.client_id;
          if (tool.empty()) tool = a.tool;
          if (tenant.empty()) tenant = a.authority;
          if (what.empty()) what = "authorization (" + a.response_type + ")";
          d.step(flow, "Client", a.host, authorize_label(a), false);
          break;
        }
        case kRedirect: {
          const auto& rd = log.redirects[i];
          if (rd.from_location) {
            d.step(flow, rd.host, "Client", redirect_label(rd), !rd.error.empty());
          } else {
            d.step(flow, "Client", rd.host, redirect_label(rd), !rd.error.empty());
          }
          break;
        }
        case kToken: {
          const auto& t = log.token_requests[i];
          if (client_id.empty()) client_id = t.client_id;
          if (tool.empty()) tool = t.tool;
          if (tenant.empty()) tenant = t.authority;
          if (what.empty()) what = t.grant;
          std::string label = "token " + t.grant;
          if (t.has_verifier) label += " + code_verifier";
          d.step(flow, "Client", t.host, label, false);
          std::string resp = t.status ? std::to_string(t.status) : std::string("no response");
          if (t.access_token != kNoToken) {
            const auto& tok = log.tokens.at(t.access_token);
            resp += " access_token";
            if (!tok.resource_name.empty()) resp += " (" + tok.resource_name + ")";
            else if (!tok.audience.empty()) resp += " (" + tok.audience + ")";
          }
          if (t.id_token != kNoToken) resp += " + id_token";
          d.step(flow, t.host, "Client", resp, t.status >= 400 || t.status == 0);
          break;
        }
        case kUse: {
          const auto& b = log.bearer_uses[i];
          std::string label = b.method + " " + (b.path.size() > 60 ? b.path.substr(0, 60) + "…" : b.path);
          if (b.has_aux) label += " + aux";
          d.step(flow, "Client", b.host, label, false);
          if (b.status) {
            std::string resp = std::to_string(b.status);
            if (!b.error_code.empty()) resp += " " + b.error_code;
            d.step(flow, b.host, "Client", resp, b.status >= 400);
          }
          break;
        }
      }
    }
    d.ex.client = tool.empty() ? client_label(client_id, known) : client_label(client_id, known) + " [" + tool + "]";
    d.ex.title = d.ex.client + ": " + (what.empty() ? std::string("exchange") : what) +
                 (tenant.empty() ? std::string() : " at " + tenant);
    out.push_back(std::move(d.ex));
  }
  return out;
}

std::vector<Exchange> reconstruct_exchanges(const std::vector<Flow>& flows, const RulePack& pack) {
  EventLog log;
  for (const auto& f : flows) extract_events(f, pack, log);
  return build_exchanges(log, link_exchanges(log), pack.known);
}

}  // namespace authscope
