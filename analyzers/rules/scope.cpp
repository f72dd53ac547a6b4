// scope-overbroad: requested or granted Microsoft Graph scopes and app roles on the pack's
// privileged list (rules/broad-permissions.json), graded by tier.
//
// Decision on first-party clients (entra-reference.json privileged_permissions_meta.first_party_note):
// the Azure CLI and Azure PowerShell are pre-authorized by Microsoft for broad delegated Graph
// scopes (Directory.AccessAsUser.All, Application.ReadWrite.All, ...) that appear in every token
// they get; the user cannot narrow them and a delegated token never exceeds the signed-in user's
// own rights. Reporting them would flag every `az login`, so exactly those scopes, for exactly
// those clients, are not reported (lists.preauthorized_delegated_scopes, switch
// parameters.exempt_first_party_delegated). Anything else a first-party client asks for (e.g.
// RoleManagement.ReadWrite.Directory from the Azure CLI, or any broad scope from another
// first-party app) is judged like any app. App roles (application permissions) are always judged.
#include <algorithm>
#include <map>
#include <set>

#include "analyzers/http_text.h"
#include "analyzers/rules/rule_support.h"

namespace authscope {
namespace {

struct Group {
  std::map<std::string, const BroadPermission*> permissions;  // by name as written in the pack
  std::set<std::string> tenants;
  std::set<std::string> tools;
  std::vector<int64_t> flows;
  bool requested = false, granted = false;
};

// key: client id, resource app id, "application" | "delegated"
using Key = std::tuple<std::string, std::string, std::string>;

class Collector {
 public:
  explicit Collector(const RulePack& pack) : pack_(pack) {}

  void add(const std::string& client_id, const std::string& resource, bool application,
           const std::vector<std::string>& names, const std::string& tenant, const std::string& tool,
           int64_t flow, bool granted) {
    if (!resource_listed(resource)) return;
    for (const auto& name : names) {
      if (!application && preauthorized(client_id, name)) continue;
      const BroadPermission* bp = pack_.broad_permission(name);
      if (!bp || (application ? !bp->application : !bp->delegated)) continue;
      auto& sev = application ? pack_.tier_severity_application : pack_.tier_severity_delegated;
      if (bp->tier < 0 || bp->tier > 2 || !sev[static_cast<size_t>(bp->tier)]) continue;
      Group& g = groups_[Key{client_id, resource, application ? "application" : "delegated"}];
      g.permissions[bp->name] = bp;
      if (!tenant.empty()) g.tenants.insert(tenant);
      if (!tool.empty()) g.tools.insert(tool);
      g.flows.push_back(flow);
      (granted ? g.granted : g.requested) = true;
    }
  }

  const std::map<Key, Group>& groups() const { return groups_; }

 private:
  bool resource_listed(const std::string& resource) const {
    const auto& list = pack_.broad_permission_resources;
    return list.empty() || std::find(list.begin(), list.end(), resource) != list.end();
  }
  bool preauthorized(const std::string& client_id, const std::string& scope) const {
    if (!pack_.params.exempt_first_party_delegated || client_id.empty()) return false;
    auto it = pack_.preauthorized_delegated_scopes.find(client_id);
    if (it == pack_.preauthorized_delegated_scopes.end()) return false;
    const std::string lower = ascii_lower(scope);
    return std::find(it->second.begin(), it->second.end(), lower) != it->second.end();
  }

  const RulePack& pack_;
  std::map<Key, Group> groups_;
};

// Scope parameter values: "https://graph.microsoft.com/Directory.ReadWrite.All offline_access".
void add_scope_string(Collector& c, const KnownApps& known, const std::string& client_id, const std::string& scope,
                      const std::string& tenant, const std::string& tool, int64_t flow, bool granted) {
  std::map<std::string, std::vector<std::string>> by_resource;
  size_t pos = 0;
  while (pos < scope.size()) {
    size_t end = scope.find(' ', pos);
    if (end == std::string::npos) end = scope.size();
    if (end > pos) {
      auto [resource, name] = split_scope(std::string_view(scope).substr(pos, end - pos), known);
      if (!resource.empty() && name != ".default") by_resource[resource].push_back(name);
    }
    pos = end + 1;
  }
  for (const auto& [resource, names] : by_resource) c.add(client_id, resource, false, names, tenant, tool, flow, granted);
}

void add_token(Collector& c, const TokenFacts& t, const std::string& tool, int64_t flow) {
  if (!t.jwt || t.token_use == "id_token") return;
  const std::string resource = t.resource_app_id.empty() ? ascii_lower(t.audience) : t.resource_app_id;
  if (!t.scopes.empty()) c.add(t.client_id, resource, false, t.scopes, t.tenant, tool, flow, true);
  // roles in a user token are the user's app roles; application permissions are the roles of an
  // app-only token (idtyp app, or roles and no scp).
  if (!t.roles.empty() && t.scopes.empty()) c.add(t.client_id, resource, true, t.roles, t.tenant, tool, flow, true);
}

}  // namespace

void run_scope_rules(const RuleInput& in, FindingSink& out) {
  if (!out.enabled("scope-overbroad") || in.pack.broad_permissions.empty()) return;
  const KnownApps& known = in.pack.known;
  Collector c(in.pack);
  for (size_t i = 0; i < in.log.authorizes.size(); ++i) {
    const auto& a = in.log.authorizes[i];
    if (in.links.logical_authorize[i] != static_cast<int64_t>(i)) continue;
    add_scope_string(c, known, a.client_id, a.scope, "", a.tool, a.flow, false);
  }
  for (const auto& t : in.log.token_requests) {
    if (t.grant != "client_credentials") add_scope_string(c, known, t.client_id, t.scope, "", t.tool, t.flow, false);
    bool readable_token = false;
    if (t.access_token != kNoToken) {
      const TokenFacts& at = in.log.tokens.at(t.access_token);
      readable_token = at.jwt;
      add_token(c, at, t.tool, t.flow);
    }
    // The response's "scope" (RFC 6749 §5.1) only when the token itself is unreadable (JWE or
    // opaque): v1 responses list bare names whose resource only the token names.
    if (t.grant != "client_credentials" && !t.granted_scope.empty() && !readable_token) {
      add_scope_string(c, known, t.client_id, t.granted_scope, "", t.tool, t.flow, true);
    }
  }
  for (const auto& b : in.log.bearer_uses) add_token(c, in.log.tokens.at(b.token), b.tool, b.flow);

  for (const auto& [key, g] : c.groups()) {
    const auto& [client_id, resource, type] = key;
    const bool application = type == "application";
    auto& sev_table = application ? in.pack.tier_severity_application : in.pack.tier_severity_delegated;
    int best_tier = 3;
    std::vector<std::string> names, named_tiers;
    nlohmann::ordered_json perms = nlohmann::ordered_json::array();
    for (const auto& [name, bp] : g.permissions) {
      best_tier = std::min(best_tier, bp->tier);
      names.push_back(name);
      named_tiers.push_back(name + " (tier " + std::to_string(bp->tier) + ")");
      nlohmann::ordered_json p;
      p["name"] = name;
      p["tier"] = bp->tier;
      p["why"] = bp->why;
      perms.push_back(std::move(p));
    }
    const KnownResource* res = known.resource_by_app_id(resource);
    const std::string resource_name = res ? res->name : resource;
    const std::string tool = g.tools.empty() ? std::string() : *g.tools.begin();
    const std::string tenants = g.tenants.empty() ? std::string()
                                                  : " in tenant " + join({g.tenants.begin(), g.tenants.end()});
    const std::string verb = g.granted ? (g.requested ? "requested and holds" : "holds") : "requested";
    std::string why;
    if (best_tier == 0) why = "tier 0 permissions are a path to Global Administrator (tenant takeover)";
    else if (best_tier == 1) why = "tier 1 permissions give write access or sensitive reads across the tenant";
    else why = "tier 2 permissions read the whole directory";
    nlohmann::ordered_json ev;
    ev["client_id"] = client_id;
    ev["resource"] = resource_name;
    ev["type"] = type;
    ev["permissions"] = std::move(perms);
    if (!g.tenants.empty()) ev["tenants"] = std::vector<std::string>(g.tenants.begin(), g.tenants.end());
    out.add("scope-overbroad",
            client_phrase(known, client_id, tool) + " " + verb + " " +
                (application ? "application permissions (app roles) " : "delegated scopes ") + join(named_tiers) +
                " for " + resource_name + tenants + ": " + why +
                ". Grant only the least-privileged permissions the app uses (e.g. a .Read or resource-specific "
                "permission) and remove the rest from the app registration's API permissions.",
            g.flows, std::move(ev), sev_table[static_cast<size_t>(best_tier)]);
  }
}

}  // namespace authscope
