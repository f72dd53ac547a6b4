// aux-header-missing, aux-header-invalid: the x-ms-authorization-auxiliary header of Azure
// Resource Manager (ARM "Authenticate requests across tenants"; entra-reference.json aux_header).
//
// ARM documents: "The request runs under the identity of the primary token"; the auxiliary
// header carries "up to three auxiliary tokens" as "Bearer <auxiliary-token1>, EncryptedBearer
// <auxiliary-token2>, Bearer <auxiliary-token3>"; "all auxiliary tokens must be valid and
// unexpired". SDKs request auxiliary tokens with the same ARM scope as the primary token, for
// the other tenant.
#include <algorithm>
#include <map>
#include <set>

#include "analyzers/rules/rule_support.h"
#include "analyzers/token_info.h"

namespace authscope {
namespace {

struct Held {
  int64_t flow = 0;
  std::string tenant;
  TokenId token = kNoToken;
};

bool is_arm_token(const TokenFacts& t) { return t.jwt && t.resource_app_id == kArmAppId; }

// ARM tokens one client obtained or sent, in flow order, with the positions of each tenant's
// (so "latest per tenant up to flow F" is a binary search per tenant, not a scan of the client's
// whole history per bearer use: that scan was a tenth of `analyze` at 100,000 flows).
struct HeldTokens {
  std::vector<Held> in_flow_order;
  std::map<std::string, std::vector<size_t>> positions_by_tenant;
};

// ARM tokens each client obtained or sent.
std::map<std::string, HeldTokens> held_arm_tokens(const EventLog& log) {
  std::map<std::string, std::vector<Held>> held;
  auto add = [&](TokenId id, int64_t flow) {
    if (id == kNoToken) return;
    const TokenFacts& t = log.tokens.at(id);
    if (!is_arm_token(t) || t.tenant.empty()) return;
    held[t.client_id].push_back({flow, t.tenant, id});
  };
  for (const auto& t : log.token_requests) add(t.access_token, t.flow);
  for (const auto& b : log.bearer_uses) {
    add(b.token, b.flow);
    for (const auto& a : b.aux_tokens) add(a.token, b.flow);
  }
  std::map<std::string, HeldTokens> out;
  for (auto& [client, v] : held) {
    std::stable_sort(v.begin(), v.end(), [](const Held& a, const Held& b) { return a.flow < b.flow; });
    HeldTokens& h = out[client];
    for (size_t i = 0; i < v.size(); ++i) h.positions_by_tenant[v[i].tenant].push_back(i);
    h.in_flow_order = std::move(v);
  }
  return out;
}

// Tenants (other than `primary`) the client held ARM tokens for at or before `flow`, latest token
// per tenant.
std::map<std::string, Held> other_tenants(const std::map<std::string, HeldTokens>& held, const std::string& client,
                                          const std::string& primary, int64_t flow) {
  std::map<std::string, Held> out;
  auto it = held.find(client);
  if (it == held.end()) return out;
  const std::vector<Held>& v = it->second.in_flow_order;
  // Tokens at or before `flow` are the prefix [0, end); per tenant, the last of them wins.
  const size_t end = static_cast<size_t>(
      std::upper_bound(v.begin(), v.end(), flow, [](int64_t f, const Held& h) { return f < h.flow; }) - v.begin());
  for (const auto& [tenant, positions] : it->second.positions_by_tenant) {
    if (tenant == primary) continue;
    auto p = std::lower_bound(positions.begin(), positions.end(), end);
    if (p != positions.begin()) out[tenant] = v[*(p - 1)];
  }
  return out;
}

std::string how_to_send(const std::string& tenant_hint) {
  const std::string t = tenant_hint.empty() ? std::string("<linked tenant id>") : tenant_hint;
  return "Send it as `x-ms-authorization-auxiliary: Bearer <token>` (up to three tokens, separated by \", \"): "
         "Terraform azurerm/azapi: set the provider's auxiliary_tenant_ids = [\"" + t +
         "\"] (or ARM_AUXILIARY_TENANT_IDS); az: `az rest --headers \"x-ms-authorization-auxiliary=Bearer "
         "$(az account get-access-token --tenant " + t + " --query accessToken -o tsv)\"`; Azure SDKs: the ARM "
         "client's AuxiliaryTenants option.";
}

nlohmann::ordered_json held_json(const EventLog& log, const std::map<std::string, Held>& others) {
  nlohmann::ordered_json arr = nlohmann::ordered_json::array();
  for (const auto& [tenant, h] : others) {
    nlohmann::ordered_json e;
    e["tenant"] = tenant;
    e["flow"] = h.flow;
    const TokenFacts& t = log.tokens.at(h.token);
    if (t.exp) e["expires"] = format_time_utc(*t.exp);
    arr.push_back(std::move(e));
  }
  return arr;
}

std::string held_phrase(const EventLog& log, const std::map<std::string, Held>& others) {
  if (others.empty()) {
    return "The client obtained no ARM token for another tenant: first get one for the linked subscription's "
           "tenant (the identity must exist there, e.g. as a guest or a multi-tenant app's service principal).";
  }
  std::vector<std::string> parts;
  for (const auto& [tenant, h] : others) {
    const TokenFacts& t = log.tokens.at(h.token);
    parts.push_back("tenant " + tenant + " (flow " + std::to_string(h.flow) +
                    (t.exp ? ", expires " + format_time_utc(*t.exp) : std::string()) + ")");
  }
  return "The client already holds an ARM token for " + join(parts) + " but did not send it.";
}

void missing_rules(const RuleInput& in, FindingSink& out, const std::map<std::string, HeldTokens>& held) {
  struct Group {
    std::vector<int64_t> flows;
    nlohmann::ordered_json evidence;
    std::string message;
  };
  std::map<std::string, Group> groups;
  const KnownApps& known = in.pack.known;
  for (const auto& b : in.log.bearer_uses) {
    if (!b.arm || b.has_aux) continue;
    const TokenFacts& primary = in.log.tokens.at(b.token);
    // Phrased only for the first flow of a group (most ARM calls are in none).
    auto who = [&] { return client_phrase(known, primary.client_id, b.tool); };
    if (b.laf && b.laf->cross_tenant) {
      // Trigger 1: "the current tenant '{tenantId}' is not authorized to access linked
      // subscription '{subscriptionId}'" — fixed by an auxiliary token for that tenant.
      const std::string primary_tenant = primary.tenant.empty() ? b.laf->current_tenant : primary.tenant;
      auto others = other_tenants(held, primary.client_id, primary_tenant, b.flow);
      const std::string key = "1\x1f" + primary.client_id + '\x1f' + b.tool + '\x1f' + primary_tenant + '\x1f' +
                              b.laf->linked_subscription;
      Group& g = groups[key];
      g.flows.push_back(b.flow);
      if (!g.message.empty()) continue;
      g.evidence["client_id"] = primary.client_id;
      if (!b.tool.empty()) g.evidence["tool"] = b.tool;
      g.evidence["linked_subscription"] = b.laf->linked_subscription;
      g.evidence["primary_tenant"] = primary_tenant;
      if (!b.subscription.empty()) g.evidence["subscription"] = b.subscription;
      g.evidence["held_aux_tokens"] = held_json(in.log, others);
      g.evidence["arm_message"] = b.laf->message;
      g.message = "ARM answered LinkedAuthorizationFailed to " + b.method + " " + b.path + " from " + who() +
                  ": the primary token is for tenant " + primary_tenant +
                  ", which is not authorized to access linked subscription " + b.laf->linked_subscription +
                  ", and no x-ms-authorization-auxiliary header was sent. " + held_phrase(in.log, others) + " " +
                  how_to_send(others.size() == 1 ? others.begin()->first : std::string());
      continue;
    }
    // Trigger 2: a client holding ARM tokens for more than one tenant sends a write with only
    // one and it fails. A successful write needed no auxiliary token, and ARM's same-tenant RBAC
    // answers (AuthorizationFailed, LinkedAuthorizationFailed for a missing role on the linked
    // scope) are not fixed by one, so neither is reported.
    if (!b.arm_write) continue;
    if (b.status >= 200 && b.status < 400) continue;
    if (b.laf || b.error_code == "AuthorizationFailed") continue;
    if (!primary.jwt || primary.tenant.empty()) continue;
    auto others = other_tenants(held, primary.client_id, primary.tenant, b.flow);
    if (others.empty()) continue;
    const std::string key = "2\x1f" + primary.client_id + '\x1f' + b.tool + '\x1f' + primary.tenant + '\x1f' +
                            b.subscription;
    Group& g = groups[key];
    g.flows.push_back(b.flow);
    if (!g.message.empty()) continue;
    g.evidence["client_id"] = primary.client_id;
    if (!b.tool.empty()) g.evidence["tool"] = b.tool;
    g.evidence["primary_tenant"] = primary.tenant;
    if (!b.subscription.empty()) g.evidence["subscription"] = b.subscription;
    g.evidence["status"] = b.status;
    if (!b.error_code.empty()) g.evidence["error_code"] = b.error_code;
    g.evidence["held_aux_tokens"] = held_json(in.log, others);
    g.message = who() + " holds ARM tokens for more than one tenant but sent " + b.method + " " + b.path +
                " with only its tenant " + primary.tenant + " token and no x-ms-authorization-auxiliary header, and " +
                (b.status ? "ARM answered " + std::to_string(b.status) +
                                (b.error_code.empty() ? std::string() : " " + b.error_code)
                          : std::string("the write got no response")) +
                ". If the resource links to another tenant's subscription, ARM needs that tenant's token too. " +
                held_phrase(in.log, others) + " " +
                how_to_send(others.size() == 1 ? others.begin()->first : std::string());
  }
  for (auto& [key, g] : groups) out.add("aux-header-missing", g.message, g.flows, g.evidence);
}

void invalid_rules(const RuleInput& in, FindingSink& out) {
  std::map<std::string, std::pair<std::vector<int64_t>, nlohmann::ordered_json>> groups;
  std::map<std::string, std::string> messages;
  const KnownApps& known = in.pack.known;
  const int64_t skew = in.pack.params.clock_skew_seconds;
  for (const auto& b : in.log.bearer_uses) {
    if (!b.has_aux) continue;
    const TokenFacts& primary = in.log.tokens.at(b.token);
    const int64_t now = b.time_us / 1000000;
    std::vector<std::string> problems;
    if (!b.aux_format_problem.empty()) problems.push_back("is malformed: " + b.aux_format_problem);
    if (b.aux_count > 3) {
      problems.push_back("carries " + std::to_string(b.aux_count) + " tokens; ARM accepts at most three");
    }
    size_t readable = 0, same_tenant = 0;
    for (size_t i = 0; i < b.aux_tokens.size(); ++i) {
      const TokenFacts& t = in.log.tokens.at(b.aux_tokens[i].token);
      if (!t.jwt) continue;  // EncryptedBearer / opaque: only ARM can read it
      ++readable;
      const std::string n = "token " + std::to_string(i + 1);
      if (t.resource_app_id != kArmAppId) {
        problems.push_back(n + " is for " + resource_phrase(t) + " (aud " + t.audience +
                           "), not Azure Resource Manager: request it with the same ARM scope as the primary "
                           "token (https://management.azure.com//.default) for the other tenant");
      }
      if (t.exp && now > *t.exp + skew) {
        problems.push_back(n + " (tenant " + t.tenant + ") " + expiry_phrase(*t.exp, now, false) +
                           ": ARM answers 401 for an expired auxiliary token; refresh it with the primary");
      }
      if (primary.jwt && !primary.tenant.empty() && t.tenant == primary.tenant) ++same_tenant;
    }
    if (readable > 0 && same_tenant == readable && readable == b.aux_tokens.size()) {
      problems.push_back("carries only the primary token's tenant " + primary.tenant +
                         ": an auxiliary token must be for the other tenant (the linked subscription's)");
    }
    if (problems.empty()) continue;
    std::sort(problems.begin(), problems.end());
    const std::string key = primary.client_id + '\x1f' + b.tool + '\x1f' + b.host + '\x1f' + join(problems, "\x1e");
    auto& g = groups[key];
    g.first.push_back(b.flow);
    if (messages.count(key)) continue;
    g.second["client_id"] = primary.client_id;
    if (!b.tool.empty()) g.second["tool"] = b.tool;
    g.second["host"] = b.host;
    if (!primary.tenant.empty()) g.second["primary_tenant"] = primary.tenant;
    g.second["aux_tokens"] = b.aux_count;
    g.second["problems"] = problems;
    messages[key] = "the x-ms-authorization-auxiliary header that " +
                    client_phrase(known, primary.client_id, b.tool) + " sent to " + b.host + " " + join(problems, "; ") +
                    ". The documented form is `x-ms-authorization-auxiliary: Bearer <token1>, EncryptedBearer "
                    "<token2>, Bearer <token3>`: at most three unexpired ARM tokens for the other tenants.";
  }
  for (auto& [key, g] : groups) out.add("aux-header-invalid", messages[key], g.first, g.second);
}

}  // namespace

void run_aux_header_rules(const RuleInput& in, FindingSink& out) {
  if (out.enabled("aux-header-missing")) missing_rules(in, out, held_arm_tokens(in.log));
  if (out.enabled("aux-header-invalid")) invalid_rules(in, out);
}

}  // namespace authscope
