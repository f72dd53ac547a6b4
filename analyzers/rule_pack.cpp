#include "analyzers/rule_pack.h"

#include <unistd.h>

#include <algorithm>
#include <filesystem>
#include <fstream>
#include <set>

#include "analyzers/analysis.h"
#include "analyzers/http_text.h"
#include "analyzers/rule_pack_json.h"

namespace authscope {
namespace {

namespace fs = std::filesystem;

struct BuiltinDefault {
  const char* id;
  Severity severity;
  const char* title;
};

// Compiled defaults: a sparse pack (or none) still names and grades every contract rule.
// rules/authscope.json repeats these with descriptions and references.
const std::vector<BuiltinDefault>& builtin_defaults() {
  static const std::vector<BuiltinDefault> v = {
      {"pkce-missing", Severity::kHigh, "Authorization code flow without PKCE"},
      {"pkce-plain", Severity::kMedium, "PKCE with the plain method"},
      {"pkce-mismatch", Severity::kHigh, "PKCE code_verifier does not match the code_challenge"},
      {"aux-header-missing", Severity::kHigh,
       "Cross-tenant Azure Resource Manager call without x-ms-authorization-auxiliary"},
      {"aux-header-invalid", Severity::kHigh, "Malformed or unusable x-ms-authorization-auxiliary header"},
      {"scope-overbroad", Severity::kHigh, "Over-broad scopes or app roles"},
      {"nonce-replay", Severity::kHigh, "OpenID Connect nonce or ID token replayed"},
      {"nonce-missing", Severity::kMedium, "OpenID Connect ID token request without a nonce"},
      {"nonce-mismatch", Severity::kHigh, "ID token nonce differs from the authorization request"},
      {"state-missing", Severity::kMedium, "Authorization request without state"},
      {"state-mismatch", Severity::kHigh, "Authorization response state differs from the request"},
      {"implicit-grant", Severity::kMedium, "Implicit grant"},
      {"ropc-grant", Severity::kHigh, "Resource owner password credentials grant"},
      {"token-in-url", Severity::kHigh, "Credential in a URL"},
      {"token-expired", Severity::kMedium, "Expired bearer token sent"},
      {"token-audience-mismatch", Severity::kMedium, "Bearer token sent to a host its audience does not name"},
      {"cleartext-credentials", Severity::kCritical, "Credentials sent over plain HTTP"},
  };
  return v;
}

RulePack compiled_defaults() {
  RulePack pack;
  for (const auto& d : builtin_defaults()) {
    RuleSettings r;
    r.id = d.id;
    r.severity = d.severity;
    r.title = d.title;
    pack.rules[r.id] = r;
  }
  return pack;
}

Status check_engine_version(const nlohmann::json& doc, const std::string& file) {
  auto it = doc.find("required_engine_version");
  if (it == doc.end()) return Status::Invalid(file + ": /required_engine_version: missing (required)");
  if (!it->is_number_integer() || it->get<int64_t>() < 1) {
    return Status::Invalid(file + ": /required_engine_version: expected a positive integer");
  }
  if (it->get<int64_t>() > kRuleEngineVersion) {
    return Status::Invalid(file + ": /required_engine_version: this pack needs rule engine version " +
                           std::to_string(it->get<int64_t>()) + ", authscope has " +
                           std::to_string(kRuleEngineVersion) + "; upgrade authscope");
  }
  return Status::Ok();
}

Status apply_rule_settings(const nlohmann::json& arr, const std::string& where, const std::string& file,
                           RulePack& pack, std::set<std::string>& configured) {
  if (!arr.is_array()) return Status::Invalid(where + ": expected an array of rule objects");
  for (size_t i = 0; i < arr.size(); ++i) {
    const std::string w = where + "/" + std::to_string(i);
    const auto& j = arr[i];
    if (!j.is_object()) return Status::Invalid(w + ": expected an object");
    if (auto s = pack_json::check_keys(j, w, {"id", "enabled", "severity", "title", "description", "references"});
        !s.ok()) {
      return s;
    }
    std::string id;
    if (auto s = pack_json::get_string(j, "id", w, id, true); !s.ok()) return s;
    auto it = pack.rules.find(id);
    if (it == pack.rules.end() || !it->second.builtin) {
      std::string known;
      for (const auto& rid : builtin_rule_ids()) known += (known.empty() ? "" : ", ") + rid;
      return Status::Invalid(w + "/id: unknown rule id \"" + id + "\" (built-in rules: " + known +
                             "; custom rules go in custom_rules or custom/*.json)");
    }
    if (!configured.insert(id).second) {
      return Status::Invalid(w + "/id: rule \"" + id + "\" is configured twice");
    }
    RuleSettings& r = it->second;
    if (auto s = pack_json::get_bool(j, "enabled", w, r.enabled); !s.ok()) return s;
    if (auto s = pack_json::get_severity(j, "severity", w, r.severity, false); !s.ok()) return s;
    if (auto s = pack_json::get_string(j, "title", w, r.title, false); !s.ok()) return s;
    if (r.title.empty()) return Status::Invalid(w + "/title: must not be empty");
    if (auto s = pack_json::get_string(j, "description", w, r.description, false); !s.ok()) return s;
    if (auto s = pack_json::get_string_list(j, "references", w, r.references); !s.ok()) return s;
    r.source = file;
  }
  return Status::Ok();
}

Status apply_parameters(const nlohmann::json& p, const std::string& where, RulePack& pack) {
  if (!p.is_object()) return Status::Invalid(where + ": expected an object");
  if (auto s = pack_json::check_keys(p, where, {"clock_skew_seconds", "exempt_first_party_delegated",
                                                "exempt_loopback_cleartext", "max_flows_per_finding"});
      !s.ok()) {
    return s;
  }
  auto& prm = pack.params;
  if (auto s = pack_json::get_int(p, "clock_skew_seconds", where, prm.clock_skew_seconds, 0, 86400); !s.ok()) return s;
  if (auto s = pack_json::get_bool(p, "exempt_first_party_delegated", where, prm.exempt_first_party_delegated); !s.ok()) return s;
  if (auto s = pack_json::get_bool(p, "exempt_loopback_cleartext", where, prm.exempt_loopback_cleartext); !s.ok()) return s;
  int64_t max_flows = static_cast<int64_t>(prm.max_flows_per_finding);
  if (auto s = pack_json::get_int(p, "max_flows_per_finding", where, max_flows, 1, 100000); !s.ok()) return s;
  prm.max_flows_per_finding = static_cast<size_t>(max_flows);
  return Status::Ok();
}

Status parse_tier_severity(const nlohmann::json& arr, const std::string& where,
                           std::array<std::optional<Severity>, 3>& out) {
  if (!arr.is_array() || arr.size() != 3) {
    return Status::Invalid(where + ": expected an array of 3 severities (tier 0, 1, 2; null = do not report)");
  }
  std::array<std::optional<Severity>, 3> v;
  for (size_t i = 0; i < 3; ++i) {
    if (arr[i].is_null()) continue;
    Severity s;
    if (auto st = pack_json::severity_value(arr[i], where + "/" + std::to_string(i), s); !st.ok()) return st;
    v[i] = s;
  }
  out = v;
  return Status::Ok();
}

Status apply_lists(const nlohmann::json& l, const std::string& where, RulePack& pack) {
  if (!l.is_object()) return Status::Invalid(where + ": expected an object");
  if (auto s = pack_json::check_keys(l, where, {"broad_permissions", "broad_permission_resources",
                                                "tier_severity", "preauthorized_delegated_scopes"});
      !s.ok()) {
    return s;
  }
  if (auto s = pack_json::get_string_list(l, "broad_permission_resources", where, pack.broad_permission_resources);
      !s.ok()) {
    return s;
  }
  for (auto& r : pack.broad_permission_resources) r = ascii_lower(r);
  if (auto it = l.find("preauthorized_delegated_scopes"); it != l.end()) {
    const std::string w = where + "/preauthorized_delegated_scopes";
    if (!it->is_object()) return Status::Invalid(w + ": expected an object of client id -> [scopes]");
    for (auto c = it->begin(); c != it->end(); ++c) {
      std::vector<std::string> scopes;
      if (auto s = pack_json::get_string_list(*it, c.key().c_str(), w, scopes); !s.ok()) return s;
      if (!c->is_array()) return Status::Invalid(w + "/" + c.key() + ": expected an array of strings");
      for (auto& sc : scopes) sc = ascii_lower(sc);
      pack.preauthorized_delegated_scopes[ascii_lower(c.key())] = std::move(scopes);
    }
  }
  if (auto it = l.find("tier_severity"); it != l.end()) {
    const std::string w = where + "/tier_severity";
    if (!it->is_object()) return Status::Invalid(w + ": expected an object");
    if (auto s = pack_json::check_keys(*it, w, {"application", "delegated"}); !s.ok()) return s;
    if (auto a = it->find("application"); a != it->end()) {
      if (auto s = parse_tier_severity(*a, w + "/application", pack.tier_severity_application); !s.ok()) return s;
    }
    if (auto d = it->find("delegated"); d != it->end()) {
      if (auto s = parse_tier_severity(*d, w + "/delegated", pack.tier_severity_delegated); !s.ok()) return s;
    }
  }
  if (auto it = l.find("broad_permissions"); it != l.end()) {
    const std::string w = where + "/broad_permissions";
    if (!it->is_array()) return Status::Invalid(w + ": expected an array");
    for (size_t i = 0; i < it->size(); ++i) {
      const std::string wi = w + "/" + std::to_string(i);
      const auto& e = (*it)[i];
      if (!e.is_object()) return Status::Invalid(wi + ": expected an object");
      if (auto s = pack_json::check_keys(e, wi, {"name", "tier", "types", "why"}); !s.ok()) return s;
      BroadPermission bp;
      if (auto s = pack_json::get_string(e, "name", wi, bp.name, true); !s.ok()) return s;
      if (bp.name.empty()) return Status::Invalid(wi + "/name: must not be empty");
      int64_t tier = -1;
      if (e.find("tier") == e.end()) return Status::Invalid(wi + "/tier: missing (required)");
      if (auto s = pack_json::get_int(e, "tier", wi, tier, 0, 2); !s.ok()) return s;
      bp.tier = static_cast<int>(tier);
      std::vector<std::string> types = {"application"};
      if (auto s = pack_json::get_string_list(e, "types", wi, types); !s.ok()) return s;
      bp.application = bp.delegated = false;
      for (size_t t = 0; t < types.size(); ++t) {
        if (types[t] == "application") bp.application = true;
        else if (types[t] == "delegated") bp.delegated = true;
        else return Status::Invalid(wi + "/types/" + std::to_string(t) + ": expected application or delegated");
      }
      if (auto s = pack_json::get_string(e, "why", wi, bp.why, false); !s.ok()) return s;
      const std::string key = ascii_lower(bp.name);
      if (pack.broad_permissions.count(key)) return Status::Invalid(wi + "/name: \"" + bp.name + "\" listed twice");
      pack.broad_permissions[key] = std::move(bp);
    }
  }
  return Status::Ok();
}

Status add_custom_rules(const nlohmann::json& arr, const std::string& where, const std::string& file,
                        RulePack& pack) {
  if (!arr.is_array()) return Status::Invalid(where + ": expected an array of custom rules");
  for (size_t i = 0; i < arr.size(); ++i) {
    const std::string w = where + "/" + std::to_string(i);
    auto r = parse_custom_rule(arr[i], w, builtin_rule_ids());
    if (!r.ok()) return r.status();
    CustomRule rule = std::move(r).value();
    if (pack.rules.count(rule.id)) {
      return Status::Invalid(w + "/id: rule \"" + rule.id + "\" is defined twice");
    }
    rule.source = file;
    RuleSettings s;
    s.id = rule.id;
    s.enabled = rule.enabled;
    s.severity = rule.severity;
    s.title = rule.title;
    s.description = rule.description;
    s.references = rule.references;
    s.builtin = false;
    s.source = file;
    pack.rules[s.id] = s;
    pack.custom_rules.push_back(std::move(rule));
  }
  return Status::Ok();
}

Status apply_pack_file(const std::string& file, const nlohmann::json& doc, RulePack& pack,
                       std::set<std::string>& configured) {
  if (!doc.is_object()) return Status::Invalid(file + ": /: expected a JSON object");
  const std::string w = file + ": ";
  if (auto s = pack_json::check_keys(doc, file + ": ", {"required_engine_version", "description", "rules",
                                                        "parameters", "lists", "custom_rules"});
      !s.ok()) {
    return s;
  }
  if (auto s = check_engine_version(doc, file); !s.ok()) return s;
  if (auto it = doc.find("description"); it != doc.end() && !it->is_string()) {
    return Status::Invalid(w + "/description: expected a string");
  }
  if (auto it = doc.find("rules"); it != doc.end()) {
    if (auto s = apply_rule_settings(*it, w + "/rules", file, pack, configured); !s.ok()) return s;
  }
  if (auto it = doc.find("parameters"); it != doc.end()) {
    if (auto s = apply_parameters(*it, w + "/parameters", pack); !s.ok()) return s;
  }
  if (auto it = doc.find("lists"); it != doc.end()) {
    if (auto s = apply_lists(*it, w + "/lists", pack); !s.ok()) return s;
  }
  if (auto it = doc.find("custom_rules"); it != doc.end()) {
    if (auto s = add_custom_rules(*it, w + "/custom_rules", file, pack); !s.ok()) return s;
  }
  return Status::Ok();
}

Status apply_custom_file(const std::string& file, const nlohmann::json& doc, RulePack& pack) {
  if (!doc.is_object()) return Status::Invalid(file + ": /: expected a JSON object");
  if (auto s = pack_json::check_keys(doc, file + ": ", {"required_engine_version", "description", "rules"});
      !s.ok()) {
    return s;
  }
  if (auto s = check_engine_version(doc, file); !s.ok()) return s;
  auto it = doc.find("rules");
  if (it == doc.end()) return Status::Invalid(file + ": /rules: missing (required)");
  return add_custom_rules(*it, file + ": /rules", file, pack);
}

// A rules file is configuration: a few KiB, nested a handful of levels. The caps keep a wrong
// file (a capture dropped into rules/ by mistake, 16 MiB of '[') from costing gigabytes: the
// size is checked while reading, the depth before parsing.
constexpr size_t kMaxRulesFileBytes = 16 * 1024 * 1024;
constexpr int kMaxRulesJsonDepth = 32;

Result<nlohmann::json> read_json_file(const fs::path& path, const std::string& shown) {
  std::ifstream in(path, std::ios::binary);
  if (!in) return Status::Io(shown + ": cannot read");
  std::string text;
  char buf[64 * 1024];
  while (in.read(buf, sizeof buf) || in.gcount() > 0) {
    text.append(buf, static_cast<size_t>(in.gcount()));
    if (text.size() > kMaxRulesFileBytes) return Status::Limit(shown + ": larger than 16 MiB");
  }
  if (in.bad()) return Status::Io(shown + ": cannot read");
  if (json_depth_exceeds(text, kMaxRulesJsonDepth)) {
    return Status::Limit(shown + ": JSON nested deeper than " + std::to_string(kMaxRulesJsonDepth) + " levels");
  }
  try {
    return nlohmann::json::parse(text);
  } catch (const nlohmann::json::parse_error& e) {
    return Status::Parse(shown + ": invalid JSON at byte " + std::to_string(e.byte));
  } catch (const nlohmann::json::exception& e) {
    // Not every parse failure is a parse_error: a number too large for a double ("1e999") is
    // out_of_range.406, which used to escape and abort the process (found by fuzz_rule_pack).
    std::string what = e.what();
    if (auto close = what.find("] "); close != std::string::npos) what = what.substr(close + 2);
    return Status::Parse(shown + ": invalid JSON: " + what);
  }
}

// *.json directly in `dir`, sorted by name so load order (and "configured twice" errors) is
// deterministic.
std::vector<fs::path> json_files(const fs::path& dir) {
  std::vector<fs::path> out;
  std::error_code ec;
  if (!fs::is_directory(dir, ec)) return out;
  for (fs::directory_iterator it(dir, ec), end; !ec && it != end; it.increment(ec)) {
    if (it->is_regular_file(ec) && it->path().extension() == ".json") out.push_back(it->path());
  }
  std::sort(out.begin(), out.end());
  return out;
}

}  // namespace

const std::vector<std::string>& builtin_rule_ids() {
  static const std::vector<std::string> ids = [] {
    std::vector<std::string> v;
    for (const auto& d : builtin_defaults()) v.push_back(d.id);
    return v;
  }();
  return ids;
}

const RuleSettings* RulePack::rule(std::string_view id) const {
  auto it = rules.find(std::string(id));
  return it == rules.end() ? nullptr : &it->second;
}

bool RulePack::enabled(std::string_view id) const {
  const RuleSettings* r = rule(id);
  return r && r->enabled;
}

const BroadPermission* RulePack::broad_permission(std::string_view name) const {
  auto it = broad_permissions.find(ascii_lower(name));
  return it == broad_permissions.end() ? nullptr : &it->second;
}

Result<std::shared_ptr<const RulePack>> rule_pack_from_documents(
    const std::vector<std::pair<std::string, nlohmann::json>>& pack_files,
    const std::vector<std::pair<std::string, nlohmann::json>>& custom_files, KnownApps known) {
  auto pack = std::make_shared<RulePack>(compiled_defaults());
  pack->known = std::move(known);
  std::set<std::string> configured;
  for (const auto& [name, doc] : pack_files) {
    if (auto s = apply_pack_file(name, doc, *pack, configured); !s.ok()) return s;
    pack->files.push_back(name);
  }
  for (const auto& [name, doc] : custom_files) {
    if (auto s = apply_custom_file(name, doc, *pack); !s.ok()) return s;
    pack->files.push_back(name);
  }
  return std::shared_ptr<const RulePack>(std::move(pack));
}

std::shared_ptr<const RulePack> default_rule_pack() {
  auto pack = std::make_shared<RulePack>(compiled_defaults());
  pack->known = builtin_known_apps();
  return pack;
}

Result<std::shared_ptr<const RulePack>> load_rule_pack(const std::string& dir) {
  std::error_code ec;
  const fs::path root(dir);
  if (!fs::is_directory(root, ec)) return Status::NotFound(dir + ": not a rules directory");
  auto shown = [&](const fs::path& p) { return (root / p.lexically_relative(root)).string(); };

  std::vector<std::pair<std::string, nlohmann::json>> packs, customs;
  std::optional<KnownApps> known;
  for (const auto& path : json_files(root)) {
    auto doc = read_json_file(path, shown(path));
    if (!doc.ok()) return doc.status();
    if (path.filename() == "known-apps.json") {
      auto k = load_known_apps(*doc);
      if (!k.ok()) return Status::Invalid(shown(path) + ": " + k.status().message());
      known = std::move(k).value();
      continue;
    }
    packs.emplace_back(shown(path), std::move(doc).value());
  }
  for (const auto& path : json_files(root / "custom")) {
    auto doc = read_json_file(path, shown(path));
    if (!doc.ok()) return doc.status();
    customs.emplace_back(shown(path), std::move(doc).value());
  }
  if (!known) {
    // A sparse pack (only custom rules, say) still needs the platform facts: the installed
    // known-apps.json, else the copy compiled into the binary.
    const fs::path installed = fs::path(default_rules_dir()) / "known-apps.json";
    if (fs::exists(installed, ec) && fs::absolute(installed.parent_path(), ec) != fs::absolute(root, ec)) {
      auto k = load_known_apps_file(installed.string());
      known = k.ok() ? std::move(k).value() : builtin_known_apps();
    } else {
      known = builtin_known_apps();
    }
  }
  return rule_pack_from_documents(packs, customs, std::move(*known));
}

std::string default_rules_dir() {
  std::error_code ec;
#ifdef AUTHSCOPE_RULES_DIR
  if (fs::is_directory(AUTHSCOPE_RULES_DIR, ec)) return AUTHSCOPE_RULES_DIR;
#endif
  // Installed layout: <prefix>/bin/authscope next to <prefix>/rules; build layout:
  // build/authscope next to ../rules.
  const fs::path exe = fs::read_symlink("/proc/self/exe", ec);
  if (!ec) {
    for (const fs::path& candidate : {exe.parent_path() / ".." / "rules", exe.parent_path() / "rules"}) {
      if (fs::is_directory(candidate, ec)) return candidate.lexically_normal().string();
    }
  }
  return "rules";
}

}  // namespace authscope
