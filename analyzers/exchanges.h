// Exchange reconstruction: joins the auth events of stage one into OAuth/OIDC exchanges
//
//   authorization request --(own Location | state | redirect_uri)--> redirect (code, state, id_token)
//   redirect --(code fingerprint)--> code redemption --(response)--> tokens (ID token nonce)
//   tokens --(token fingerprint)--> bearer uses
//
// The links are what the cross-flow rules (pkce-mismatch, state-mismatch, nonce-mismatch) read,
// and the public Exchange view is what reports draw as sequence diagrams. Pure and deterministic:
// a function of the events in flow order.
#pragma once

#include <cstdint>
#include <memory>
#include <string>
#include <unordered_map>
#include <vector>

#include "analyzers/auth_events.h"
#include "model/flow.h"

namespace authscope {

struct RulePack;

// How a redirect was tied to the authorization request it answers.
enum class RedirectLink {
  kNone,         // unrelated to any captured authorization request
  kDirect,       // the Location of the authorization request's own response
  kState,        // its state equals the request's state
  kRedirectUri,  // no state match: the latest open request for the same client redirect URI
};

struct ExchangeLinks {
  std::vector<int64_t> logical_authorize;   // per authorize: index of its first identical request
  std::vector<int64_t> redirect_canonical;  // per redirect: first redirect with the same code/state
  std::vector<int64_t> redirect_authorize;  // per redirect: authorize index (logical) or -1
  std::vector<RedirectLink> redirect_link;
  std::vector<bool> redirect_relevant;      // false: a client-side "?code=" unrelated to OAuth
  std::vector<int64_t> token_redirect;      // per token request: redirect index or -1
  std::vector<int64_t> token_authorize;     // per token request: authorize index (logical) or -1
  std::unordered_map<TokenId, int64_t> token_issuer;  // token -> token request index that issued it
  // per logical authorize: flow ids of the request(s), its redirects and its code redemptions
  std::unordered_map<int64_t, std::vector<int64_t>> authorize_flows;
};

ExchangeLinks link_exchanges(const EventLog& log);

// --- Public view for reports --------------------------------------------------------------------

struct ExchangeStep {
  int64_t flow = 0;
  int from = 0;  // index into Exchange::participants
  int to = 0;
  std::string label;  // "authorize (code, PKCE S256, state, nonce)", "302 code + state", ...
  bool is_error = false;
};

struct Exchange {
  std::string title;  // "Microsoft Azure CLI (04b07795-…) authorization code at organizations"
  std::string client;  // display name of the client (tool or client id)
  std::vector<std::string> participants;  // "Client", then hosts in order of appearance
  std::vector<ExchangeStep> steps;        // ordered by flow id
};

inline constexpr size_t kMaxStepsPerExchange = 40;
inline constexpr size_t kMaxExchanges = 500;

std::vector<Exchange> build_exchanges(const EventLog& log, const ExchangeLinks& links, const KnownApps& known);

// Convenience: extract and link `flows` (in id order) and build the view.
std::vector<Exchange> reconstruct_exchanges(const std::vector<Flow>& flows, const RulePack& pack);

}  // namespace authscope
