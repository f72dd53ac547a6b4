// Flow classification: what each flow *is*, so analyzers and reports can rely on one answer.
// Data-driven: hosts and their roles/clouds come from KnownApps (rules/known-apps.json); paths
// follow the Entra endpoint shapes (entra-reference.json "paths"):
//   /{tenant}/oauth2/v2.0/authorize|token|devicecode|logout     (v2)
//   /{tenant}/oauth2/authorize|token|devicecode|logout           (v1)
//   /{tenant}[/v2.0]/.well-known/openid-configuration, /{tenant}/discovery[/v2.0]/keys,
//   /common/discovery/instance
// ARM: /subscriptions/{id}/resourceGroups/{rg}/providers/{Namespace}/{type}/{name}[/{type}/{name}]
#pragma once

#include <string>

#include "analyzers/known_apps.h"
#include "model/flow.h"

namespace authscope {

struct FlowClass {
  // "authorize", "token", "device-code", "openid-configuration", "jwks", "instance-discovery",
  // "logout", "arm", "graph", "tunnel", "other"
  std::string kind = "other";
  // token requests: "authorization_code", "refresh_token", "client_credentials", "password",
  // "device_code", "jwt-bearer" (on-behalf-of when requested_token_use=on_behalf_of),
  // "token-exchange", "saml-bearer" (SAML 2 and 1.1), or the raw grant_type when unknown.
  std::string grant;
  bool on_behalf_of = false;        // jwt-bearer with requested_token_use=on_behalf_of
  std::string endpoint_version;     // "v1" | "v2" | "" (login endpoints only)
  std::string authority;            // path's first segment: tenant id, domain, common, ...
  std::string authority_kind;       // "tenant-id", "domain", "common", "organizations",
                                    // "consumers", ""
  std::string cloud;                // "public", "usgov", "china", "germany", "" (unknown host)
  std::string host_role;            // KnownApps role of the host ("login", "arm", ...) or ""
  bool arm_write = false;           // ARM PUT/PATCH/DELETE/POST (POST .../read-like actions count)
  std::string subscription;         // ARM subscription id (lower-case)
  std::string resource_group;
  std::string resource_provider;    // "Microsoft.Compute"
  std::string resource_type;        // "virtualMachines" or "virtualNetworks/subnets"
  std::string api_version;          // ARM api-version query parameter
};

FlowClass classify(const Flow& flow, const KnownApps& apps);

// The stored form of a FlowClass (model/flow_annotations.h): the label ("token:authorization_code",
// "arm:write", "jwks", ...) and the non-empty details as a compact JSON object. Round-trips:
// flow_class_from_stored(flow_class_label(c), flow_class_detail(c)) == c.
std::string flow_class_label(const FlowClass& c);
std::string flow_class_detail(const FlowClass& c);
// Rebuilds a FlowClass from stored columns; unknown or malformed detail members are ignored.
FlowClass flow_class_from_stored(std::string_view label, std::string_view detail_json);
bool operator==(const FlowClass& a, const FlowClass& b);

// "0b1f..-..." GUID shape (8-4-4-4-12 hex).
bool is_guid(std::string_view s);
// grant_type value -> FlowClass::grant vocabulary ("urn:ietf:params:oauth:grant-type:jwt-bearer"
// -> "jwt-bearer"); unknown values are returned unchanged.
std::string normalize_grant(std::string_view grant_type);

}  // namespace authscope
