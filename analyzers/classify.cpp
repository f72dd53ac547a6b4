#include "analyzers/classify.h"

#include <algorithm>

#include "analyzers/http_text.h"

namespace authscope {
namespace {

bool seg_is(const std::string& seg, std::string_view want) { return iequals(seg, want); }

std::string authority_kind(const std::string& authority) {
  std::string a = ascii_lower(authority);
  if (a == "common" || a == "organizations" || a == "consumers") return a;
  if (is_guid(a)) return "tenant-id";
  if (a.find('.') != std::string::npos) return "domain";
  return a.empty() ? "" : "other";
}

// Login endpoints: /{tenant}[/{b2c policy}]/oauth2[/v2.0]/{endpoint}, discovery documents and
// key sets. Returns false when the path is none of them.
bool classify_login_path(const std::vector<std::string>& segs, FlowClass* fc) {
  const size_t n = segs.size();
  if (n == 0) return false;
  auto set_authority = [&](size_t index_of_first_non_tenant) {
    if (index_of_first_non_tenant >= 1) {
      fc->authority = segs[0];
      fc->authority_kind = authority_kind(segs[0]);
    }
  };
  // OpenID Connect Discovery 1.0 §4: {issuer}/.well-known/openid-configuration.
  if (n >= 2 && seg_is(segs[n - 2], ".well-known") && seg_is(segs[n - 1], "openid-configuration")) {
    fc->kind = "openid-configuration";
    fc->endpoint_version = std::any_of(segs.begin(), segs.end(), [](const std::string& s) { return s == "v2.0"; }) ? "v2" : "v1";
    set_authority(n - 2);
    return true;
  }
  for (size_t i = 0; i < n; ++i) {
    if (seg_is(segs[i], "discovery")) {
      if (i + 1 < n && seg_is(segs[i + 1], "instance")) {
        fc->kind = "instance-discovery";  // MSAL/ADAL instance discovery (/common/discovery/instance)
        set_authority(i);
        return true;
      }
      if (seg_is(segs[n - 1], "keys")) {
        fc->kind = "jwks";
        fc->endpoint_version = (i + 1 < n && segs[i + 1] == "v2.0") ? "v2" : "v1";
        set_authority(i);
        return true;
      }
    }
    if (seg_is(segs[i], "oauth2") && i + 1 < n) {
      size_t ep = i + 1;
      fc->endpoint_version = "v1";
      if (segs[ep] == "v2.0") {
        fc->endpoint_version = "v2";
        ++ep;
      }
      if (ep >= n) return false;
      const std::string& e = segs[ep];
      if (seg_is(e, "authorize")) fc->kind = "authorize";
      else if (seg_is(e, "token")) fc->kind = "token";
      else if (seg_is(e, "devicecode")) fc->kind = "device-code";
      else if (seg_is(e, "logout")) fc->kind = "logout";
      else return false;
      set_authority(i);
      return true;
    }
  }
  return false;
}

// ARM request URI: /subscriptions/{subscriptionId}/resourceGroups/{resourceGroupName}/providers/
// {resourceProviderNamespace}/{resourceType}/{resourceName}[/{childType}/{childName}]...
void classify_arm_path(const Flow& flow, const std::vector<std::string>& segs, FlowClass* fc) {
  const size_t n = segs.size();
  size_t last_providers = n;
  for (size_t i = 0; i < n; ++i) {
    if (seg_is(segs[i], "subscriptions") && i + 1 < n && fc->subscription.empty()) {
      fc->subscription = ascii_lower(segs[i + 1]);
    } else if (seg_is(segs[i], "resourceGroups") && i + 1 < n && fc->resource_group.empty()) {
      fc->resource_group = segs[i + 1];
    } else if (seg_is(segs[i], "providers") && i + 1 < n) {
      last_providers = i;
    }
  }
  const std::string method = flow.request.method;
  std::string last_segment = n ? ascii_lower(segs[n - 1]) : "";
  if (last_providers < n) {
    fc->resource_provider = segs[last_providers + 1];
    std::vector<std::string> types;
    size_t after = last_providers + 2;
    for (size_t i = after; i < n; i += 2) types.push_back(segs[i]);
    // A POST to .../{name}/{action} ends on an action, not a child type collection.
    bool ends_on_action = method == "POST" && (n - after) % 2 == 1 && types.size() > 1;
    if (ends_on_action) types.pop_back();
    for (size_t i = 0; i < types.size(); ++i) {
      if (i) fc->resource_type += "/";
      fc->resource_type += types[i];
    }
  }
  // RFC 9110 §9.2.1: GET, HEAD, OPTIONS are safe. ARM maps PUT/PATCH/DELETE to write/delete
  // actions; a POST is an action, which changes state except for the read-like ones below
  // (list*, ResourceGraph queries, name checks, validation).
  if (method == "PUT" || method == "PATCH" || method == "DELETE") {
    fc->arm_write = true;
  } else if (method == "POST") {
    bool read_like = last_segment.rfind("list", 0) == 0 || last_segment == "checknameavailability" ||
                     last_segment == "validate" ||
                     (iequals(fc->resource_provider, "Microsoft.ResourceGraph") && last_segment == "resources");
    fc->arm_write = !read_like;
  }
}

}  // namespace

bool is_guid(std::string_view s) {
  if (s.size() != 36) return false;
  for (size_t i = 0; i < 36; ++i) {
    char c = s[i];
    if (i == 8 || i == 13 || i == 18 || i == 23) {
      if (c != '-') return false;
    } else if (!((c >= '0' && c <= '9') || (c >= 'a' && c <= 'f') || (c >= 'A' && c <= 'F'))) {
      return false;
    }
  }
  return true;
}

std::string normalize_grant(std::string_view g) {
  if (g == "urn:ietf:params:oauth:grant-type:jwt-bearer") return "jwt-bearer";
  if (g == "urn:ietf:params:oauth:grant-type:device_code" || g == "device_code") return "device_code";
  if (g == "urn:ietf:params:oauth:grant-type:token-exchange") return "token-exchange";
  if (g == "urn:ietf:params:oauth:grant-type:saml2-bearer" || g == "urn:ietf:params:oauth:grant-type:saml1_1-bearer") {
    return "saml-bearer";
  }
  return std::string(g);
}

FlowClass classify(const Flow& flow, const KnownApps& apps) {
  FlowClass fc;
  if (flow.kind == FlowKind::kTunnel) {
    fc.kind = "tunnel";
    fc.host_role = apps.host_role(flow.host);
    fc.cloud = apps.host_cloud(flow.host);
    return fc;
  }
  std::string host = flow.host;
  UrlParts target = split_url(flow.request.target);
  if (host.empty()) host = target.host;
  if (host.empty()) {
    if (const std::string* h = flow.request.headers.find("Host")) host = split_url(*h).host;
  }
  if (const KnownHost* kh = apps.host(host)) {
    fc.host_role = kh->role;
    fc.cloud = kh->cloud;
  }
  auto segs = path_segments(target.path);
  if (target.has_query) {
    if (auto v = form_value(target.query, "api-version")) fc.api_version = *v;
  }

  if (fc.host_role == "arm") {
    fc.kind = "arm";
    classify_arm_path(flow, segs, &fc);
    return fc;
  }
  if (fc.host_role == "graph" || fc.host_role == "aad-graph") {
    fc.kind = "graph";
    return fc;
  }
  // OAuth/OIDC endpoint shapes are recognised on any host (AD FS, B2C, test servers), so rules
  // such as ropc-grant see them; the host role and cloud say whether it is Entra.
  if (!classify_login_path(segs, &fc)) return fc;
  if (fc.kind == "token") {
    // RFC 6749 §4.1.3 etc.: the token request carries "grant_type" in a form body.
    if (auto form = form_body(flow.request.body, flow.request.headers)) {
      if (auto g = form_value(*form, "grant_type")) {
        fc.grant = normalize_grant(*g);
        auto use = form_value(*form, "requested_token_use");
        fc.on_behalf_of = fc.grant == "jwt-bearer" && use && *use == "on_behalf_of";
      }
    }
  }
  return fc;
}

namespace {

// Every string member of FlowClass but kind, with its JSON name (the detail object's keys).
struct StringField {
  const char* name;
  std::string FlowClass::*member;
};
constexpr StringField kStringFields[] = {
    {"grant", &FlowClass::grant},
    {"endpoint_version", &FlowClass::endpoint_version},
    {"authority", &FlowClass::authority},
    {"authority_kind", &FlowClass::authority_kind},
    {"cloud", &FlowClass::cloud},
    {"host_role", &FlowClass::host_role},
    {"subscription", &FlowClass::subscription},
    {"resource_group", &FlowClass::resource_group},
    {"resource_provider", &FlowClass::resource_provider},
    {"resource_type", &FlowClass::resource_type},
    {"api_version", &FlowClass::api_version},
};

}  // namespace

std::string flow_class_label(const FlowClass& c) {
  if (c.kind == "token" && !c.grant.empty()) return "token:" + c.grant;
  if (c.kind == "arm") return c.arm_write ? "arm:write" : "arm:read";
  return c.kind;
}

// Appends `v` as a JSON string. Only called for ASCII (see flow_class_detail).
static void append_json_string(std::string& out, std::string_view v) {
  static constexpr char kHex[] = "0123456789abcdef";
  out += '"';
  for (char ch : v) {
    const auto u = static_cast<unsigned char>(ch);
    if (ch == '"' || ch == '\\') {
      out += '\\';
      out += ch;
    } else if (u < 0x20) {
      out += "\\u00";
      out += kHex[u >> 4];
      out += kHex[u & 0xf];
    } else {
      out += ch;
    }
  }
  out += '"';
}

static bool is_ascii(std::string_view v) {
  for (char ch : v) {
    if (static_cast<unsigned char>(ch) >= 0x80) return false;
  }
  return true;
}

std::string flow_class_detail(const FlowClass& c) {
  // Runs for every flow on the store's writer thread: written by hand (nlohmann::ordered_json
  // costs ~5 us here), except for non-ASCII values, which nlohmann checks and repairs.
  bool ascii = true;
  for (const StringField& f : kStringFields) ascii = ascii && is_ascii(c.*f.member);
  if (!ascii) {
    nlohmann::ordered_json j = nlohmann::ordered_json::object();
    for (const StringField& f : kStringFields) {
      if (!(c.*f.member).empty()) j[f.name] = c.*f.member;
    }
    if (c.on_behalf_of) j["on_behalf_of"] = true;
    if (c.arm_write) j["arm_write"] = true;
    // Request paths are client-chosen bytes: never throw on invalid UTF-8.
    return j.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace);
  }
  std::string out = "{";
  out.reserve(256);
  auto sep = [&out] {
    if (out.size() > 1) out += ',';
  };
  for (const StringField& f : kStringFields) {
    if ((c.*f.member).empty()) continue;
    sep();
    append_json_string(out, f.name);
    out += ':';
    append_json_string(out, c.*f.member);
  }
  if (c.on_behalf_of) {
    sep();
    out += "\"on_behalf_of\":true";
  }
  if (c.arm_write) {
    sep();
    out += "\"arm_write\":true";
  }
  out += '}';
  return out;
}

FlowClass flow_class_from_stored(std::string_view label, std::string_view detail_json) {
  FlowClass c;
  std::string_view kind = label.substr(0, label.find(':'));
  c.kind = std::string(kind.empty() ? std::string_view("other") : kind);
  auto j = nlohmann::json::parse(detail_json.begin(), detail_json.end(), nullptr, false);
  if (j.is_object()) {
    for (const StringField& f : kStringFields) {
      if (auto v = json_string(j, f.name)) c.*f.member = *v;
    }
    auto flag = [&j](const char* name) {
      auto it = j.find(name);
      return it != j.end() && it->is_boolean() && it->get<bool>();
    };
    c.on_behalf_of = flag("on_behalf_of");
    c.arm_write = flag("arm_write");
  }
  if (c.kind == "token" && c.grant.empty() && label.size() > kind.size() + 1) {
    c.grant = std::string(label.substr(kind.size() + 1));
  }
  if (label == "arm:write") c.arm_write = true;
  return c;
}

bool operator==(const FlowClass& a, const FlowClass& b) {
  if (a.kind != b.kind || a.on_behalf_of != b.on_behalf_of || a.arm_write != b.arm_write) return false;
  for (const StringField& f : kStringFields) {
    if (a.*f.member != b.*f.member) return false;
  }
  return true;
}

}  // namespace authscope
