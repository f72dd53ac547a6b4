#include "analyzers/known_apps.h"

#include <cstdio>
#include <fstream>
#include <sstream>

#include "analyzers/http_text.h"
#include "model/headers.h"

namespace authscope {

extern const std::string_view kBuiltinKnownAppsJson;  // known_apps_builtin.cpp (generated)

namespace {

std::string strip_trailing_slashes(std::string_view s) {
  while (!s.empty() && s.back() == '/') s.remove_suffix(1);
  return ascii_lower(s);
}

// Glob with '*' matching one or more characters other than '/' (enough for
// "https://*.vault.azure.net"); case-insensitive.
bool wildcard_match(std::string_view pattern, std::string_view text) {
  size_t star = pattern.find('*');
  if (star == std::string_view::npos) return iequals(pattern, text);
  std::string_view head = pattern.substr(0, star), tail = pattern.substr(star + 1);
  if (text.size() < head.size() + tail.size() + 1) return false;
  if (!istarts_with(text, head) || !iends_with(text, tail)) return false;
  std::string_view middle = text.substr(head.size(), text.size() - head.size() - tail.size());
  return middle.find('/') == std::string_view::npos && !middle.empty();
}

Status expect(bool ok, const std::string& path, const char* what) {
  if (ok) return Status::Ok();
  return Status::Invalid(path + ": expected " + what);
}

Result<std::vector<std::string>> string_list(const nlohmann::json& j, const std::string& path) {
  if (!j.is_array()) return Status::Invalid(path + ": expected an array of strings");
  std::vector<std::string> out;
  for (size_t i = 0; i < j.size(); ++i) {
    if (!j[i].is_string()) return Status::Invalid(path + "/" + std::to_string(i) + ": expected a string");
    out.push_back(j[i].get<std::string>());
  }
  return out;
}

}  // namespace

const std::string* KnownApps::client_name(std::string_view app_id) const {
  auto it = clients.find(ascii_lower(app_id));
  return it == clients.end() ? nullptr : &it->second;
}

const KnownResource* KnownApps::resource_by_app_id(std::string_view app_id) const {
  std::string id = ascii_lower(app_id);
  for (const auto& r : resources) {
    if (r.app_id == id) return &r;
  }
  return nullptr;
}

const KnownResource* KnownApps::resource_for_audience(std::string_view aud) const {
  if (aud.empty()) return nullptr;
  if (const auto* r = resource_by_app_id(aud)) return r;
  if (istarts_with(aud, "api://")) {
    if (const auto* r = resource_by_app_id(strip_trailing_slashes(aud.substr(6)))) return r;
  }
  std::string want = strip_trailing_slashes(aud);
  for (const auto& r : resources) {
    for (const auto& a : r.audiences) {
      std::string have = strip_trailing_slashes(a);
      if (have == want || wildcard_match(have, want)) return &r;
    }
  }
  return nullptr;
}

const KnownHost* KnownApps::host(std::string_view name) const {
  std::string h = ascii_lower(name);
  while (!h.empty() && h.back() == '.') h.pop_back();  // FQDN with a root dot
  for (const auto& e : hosts) {
    if (!e.host.empty() && e.host == h) return &e;
  }
  for (const auto& e : hosts) {
    if (!e.suffix.empty() && h.size() > e.suffix.size() && iends_with(h, e.suffix)) return &e;
  }
  return nullptr;
}

std::string KnownApps::host_role(std::string_view name) const {
  const KnownHost* e = host(name);
  return e ? e->role : std::string();
}

std::string KnownApps::host_cloud(std::string_view name) const {
  const KnownHost* e = host(name);
  return e ? e->cloud : std::string();
}

std::vector<std::string> KnownApps::hosts_with_role(std::string_view role) const {
  std::vector<std::string> out;
  for (const auto& e : hosts) {
    if (!e.host.empty() && e.role == role) out.push_back(e.host);
  }
  return out;
}

bool KnownApps::audience_matches_host(std::string_view aud, std::string_view host_name) const {
  std::string h = ascii_lower(host_name);
  // The audience URI's own host (https://graph.microsoft.com -> graph.microsoft.com).
  UrlParts parts = split_url(aud);
  if (!parts.host.empty() && parts.host == h) return true;
  const KnownResource* res = resource_for_audience(aud);
  if (res == nullptr) return false;
  // Any audience URI of the same resource whose host is this host, or the host's role matches
  // (ARM: https://management.core.windows.net/ names management.azure.com).
  for (const auto& a : res->audiences) {
    UrlParts ap = split_url(a);
    if (ap.host == h || (!ap.host.empty() && ap.host.find('*') != std::string::npos &&
                         wildcard_match(ap.host, h))) {
      return true;
    }
  }
  std::string role = host_role(h);
  if (role == "arm") return res->app_id == "797f4846-ba00-4fd7-ba43-dac1f8f63013";
  if (role == "graph") return res->app_id == "00000003-0000-0000-c000-000000000000";
  if (role == "aad-graph") return res->app_id == "00000002-0000-0000-c000-000000000000";
  return false;
}

Result<KnownApps> load_known_apps(const nlohmann::json& doc) {
  if (!doc.is_object()) return Status::Invalid("/: expected an object");
  KnownApps apps;
  for (auto it = doc.begin(); it != doc.end(); ++it) {
    const std::string& key = it.key();
    const nlohmann::json& v = it.value();
    const std::string path = "/" + key;
    if (key == "kind") {
      if (!v.is_string() || v.get<std::string>() != "known-apps") {
        return Status::Invalid(path + ": expected \"known-apps\"");
      }
    } else if (key == "version" || key == "required_engine_version") {
      if (!v.is_number_integer()) return Status::Invalid(path + ": expected an integer");
      if (v.get<int64_t>() > 1) return Status::Unsupported(path + ": version " + v.dump() + " is newer than this build (1)");
    } else if (key == "description" || key == "consumer_tenant_id" || key == "graph_nonce_note") {
      if (Status s = expect(v.is_string(), path, "a string"); !s.ok()) return s;
      if (key == "consumer_tenant_id") apps.consumer_tenant_id = ascii_lower(v.get<std::string>());
      if (key == "graph_nonce_note") apps.graph_nonce_note = v.get<std::string>();
    } else if (key == "sources") {
      auto list = string_list(v, path);
      if (!list.ok()) return list.status();
    } else if (key == "clients") {
      if (!v.is_object()) return Status::Invalid(path + ": expected an object of app id -> name");
      for (auto c = v.begin(); c != v.end(); ++c) {
        if (!c.value().is_string()) return Status::Invalid(path + "/" + c.key() + ": expected a string");
        apps.clients[ascii_lower(c.key())] = c.value().get<std::string>();
      }
    } else if (key == "resources") {
      if (!v.is_array()) return Status::Invalid(path + ": expected an array");
      for (size_t i = 0; i < v.size(); ++i) {
        const std::string rp = path + "/" + std::to_string(i);
        const auto& r = v[i];
        if (!r.is_object()) return Status::Invalid(rp + ": expected an object");
        KnownResource res;
        for (auto f = r.begin(); f != r.end(); ++f) {
          const std::string fp = rp + "/" + f.key();
          if (f.key() == "app_id" || f.key() == "name" || f.key() == "note") {
            if (!f.value().is_string()) return Status::Invalid(fp + ": expected a string");
            std::string s = f.value().get<std::string>();
            if (f.key() == "app_id") res.app_id = ascii_lower(s);
            else if (f.key() == "name") res.name = s;
            else res.note = s;
          } else if (f.key() == "audiences") {
            auto list = string_list(f.value(), fp);
            if (!list.ok()) return list.status();
            res.audiences = std::move(*list);
          } else {
            return Status::Invalid(fp + ": unknown key");
          }
        }
        if (res.app_id.empty()) return Status::Invalid(rp + "/app_id: missing");
        apps.resources.push_back(std::move(res));
      }
    } else if (key == "hosts") {
      if (!v.is_array()) return Status::Invalid(path + ": expected an array");
      for (size_t i = 0; i < v.size(); ++i) {
        const std::string hp = path + "/" + std::to_string(i);
        const auto& h = v[i];
        if (!h.is_object()) return Status::Invalid(hp + ": expected an object");
        KnownHost host;
        for (auto f = h.begin(); f != h.end(); ++f) {
          const std::string fp = hp + "/" + f.key();
          if (!f.value().is_string()) return Status::Invalid(fp + ": expected a string");
          std::string s = ascii_lower(f.value().get<std::string>());
          if (f.key() == "host") host.host = s;
          else if (f.key() == "suffix") host.suffix = s;
          else if (f.key() == "role") host.role = s;
          else if (f.key() == "cloud") host.cloud = s;
          else return Status::Invalid(fp + ": unknown key");
        }
        if (host.host.empty() == host.suffix.empty()) {
          return Status::Invalid(hp + ": expected exactly one of \"host\" or \"suffix\"");
        }
        if (host.role.empty()) return Status::Invalid(hp + "/role: missing");
        if (!host.suffix.empty() && host.suffix.front() != '.') host.suffix.insert(0, ".");
        apps.hosts.push_back(std::move(host));
      }
    } else {
      return Status::Invalid(path + ": unknown key");
    }
  }
  return apps;
}

Result<KnownApps> load_known_apps_file(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) return Status::Io(path + ": cannot open");
  std::ostringstream text;
  text << in.rdbuf();
  auto doc = parse_json(text.str(), 4 * 1024 * 1024, 16);
  if (!doc) return Status::Parse(path + ": not valid JSON");
  auto apps = load_known_apps(*doc);
  if (!apps.ok()) return Status::Invalid(path + ": " + apps.status().message());
  return apps;
}

const KnownApps& builtin_known_apps() {
  static const KnownApps apps = [] {
    auto doc = parse_json(kBuiltinKnownAppsJson, 4 * 1024 * 1024, 16);
    if (!doc) return KnownApps{};
    auto loaded = load_known_apps(*doc);
    return loaded.ok() ? std::move(loaded).value() : KnownApps{};
  }();
  return apps;
}

}  // namespace authscope
