// KnownApps: the facts about Microsoft's identity platform that classification and token
// interpretation read (first-party client ids, resources and their audiences, hosts by role and
// cloud). Data, not code: it is loaded from rules/known-apps.json (the rule pack loader calls
// load_known_apps on that file), and the same file is compiled into the binary as the fallback
// (builtin_known_apps), so `authscope decode` works with no rules directory at hand.
//
// rules/known-apps.json format (unknown keys are errors):
//   { "kind": "known-apps", "version": 1,
//     "clients":   { "<app id>": "<name>", ... },
//     "resources": [ { "app_id": "...", "name": "...", "audiences": ["https://x/", "https://*.y"],
//                      "note": "..." } ],
//     "hosts":     [ { "host": "login.microsoftonline.com" | "suffix": ".b2clogin.com",
//                      "role": "login|arm|graph|aad-graph|keyvault|storage|portal",
//                      "cloud": "public|usgov|china|germany" } ],
//     "consumer_tenant_id": "...", "graph_nonce_note": "...", "sources": [...] }
#pragma once

#include <map>
#include <string>
#include <string_view>
#include <vector>

#include <nlohmann/json.hpp>

#include "model/status.h"

namespace authscope {

struct KnownResource {
  std::string app_id;                  // lower-case GUID
  std::string name;
  std::vector<std::string> audiences;  // as Entra writes them; "*" matches one or more labels
  std::string note;
};

struct KnownHost {
  std::string host;    // exact host (lower-case), or empty when `suffix` is used
  std::string suffix;  // ".b2clogin.com": any host ending with it
  std::string role;    // "login", "arm", "graph", "aad-graph", ...
  std::string cloud;   // "public", "usgov", "china", "germany"
};

struct KnownApps {
  std::map<std::string, std::string> clients;  // lower-case app id -> display name
  std::vector<KnownResource> resources;
  std::vector<KnownHost> hosts;
  std::string consumer_tenant_id;  // the MSA consumer tenant (9188040d-...)
  std::string graph_nonce_note;

  // Display name of a first-party client id (case-insensitive), or nullptr.
  const std::string* client_name(std::string_view app_id) const;
  // The resource an `aud` value names: by app id, by URI (trailing slash ignored), by wildcard
  // URI, or by "api://<app id>". nullptr when unknown.
  const KnownResource* resource_for_audience(std::string_view aud) const;
  const KnownResource* resource_by_app_id(std::string_view app_id) const;
  // The entry for a host (exact match first, then suffixes), or nullptr.
  const KnownHost* host(std::string_view host) const;
  std::string host_role(std::string_view host) const;   // "" when unknown
  std::string host_cloud(std::string_view host) const;  // "" when unknown
  // Every host with `role` (e.g. all ARM hosts), exact entries only.
  std::vector<std::string> hosts_with_role(std::string_view role) const;
  // True when `aud` names the resource served at `host` (ARM aliases and app ids count).
  bool audience_matches_host(std::string_view aud, std::string_view host) const;
};

// Validates and loads the JSON above. Errors name the JSON path ("/hosts/3/role: expected a
// string").
Result<KnownApps> load_known_apps(const nlohmann::json& doc);
// Reads and loads a file (e.g. <rules dir>/known-apps.json).
Result<KnownApps> load_known_apps_file(const std::string& path);
// rules/known-apps.json as compiled into the binary (parsed once; never fails at run time: the
// build checks the file).
const KnownApps& builtin_known_apps();
inline const KnownApps& builtin_known_apps_for_tests() { return builtin_known_apps(); }

}  // namespace authscope
