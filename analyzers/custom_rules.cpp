#include "analyzers/custom_rules.h"

#include <algorithm>
#include <set>

#include "analyzers/http_text.h"
#include "analyzers/rule_pack_json.h"

namespace authscope {
namespace {

const std::set<std::string>& placeholder_names() {
  static const std::set<std::string> names = {"client", "tool", "host",   "method",  "path",
                                              "status", "flow", "tenant", "audience"};
  return names;
}

// Checks a message template: every {name} is known ({claim:NAME} takes any claim name).
Status check_template(const std::string& tmpl, const std::string& where) {
  size_t pos = 0;
  while ((pos = tmpl.find('{', pos)) != std::string::npos) {
    size_t end = tmpl.find('}', pos);
    if (end == std::string::npos) return Status::Invalid(where + ": unterminated '{' in message");
    std::string name = tmpl.substr(pos + 1, end - pos - 1);
    bool ok = placeholder_names().count(name) > 0 || (name.rfind("claim:", 0) == 0 && name.size() > 6);
    if (!ok) {
      return Status::Invalid(where + ": unknown placeholder {" + name +
                             "} (known: client, tool, host, method, path, status, flow, tenant, "
                             "audience, claim:NAME)");
    }
    pos = end + 1;
  }
  return Status::Ok();
}

bool valid_id(const std::string& id) {
  if (id.empty() || id.size() > 64) return false;
  if (!((id[0] >= 'a' && id[0] <= 'z') || (id[0] >= '0' && id[0] <= '9'))) return false;
  return std::all_of(id.begin(), id.end(), [](char c) {
    return (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '-' || c == '_' || c == '.';
  });
}

Status parse_header_matches(const nlohmann::json& arr, const std::string& where,
                            std::vector<CustomHeaderMatch>& out) {
  if (!arr.is_array()) return Status::Invalid(where + ": expected an array");
  for (size_t i = 0; i < arr.size(); ++i) {
    const std::string w = where + "/" + std::to_string(i);
    const auto& h = arr[i];
    if (!h.is_object()) return Status::Invalid(w + ": expected an object");
    if (auto s = pack_json::check_keys(h, w, {"name", "present", "equals", "contains"}); !s.ok()) return s;
    CustomHeaderMatch m;
    if (auto s = pack_json::get_string(h, "name", w, m.name, true); !s.ok()) return s;
    if (m.name.empty()) return Status::Invalid(w + "/name: must not be empty");
    if (auto s = pack_json::get_opt_bool(h, "present", w, m.present); !s.ok()) return s;
    if (auto s = pack_json::get_opt_string(h, "equals", w, m.equals); !s.ok()) return s;
    if (auto s = pack_json::get_opt_string(h, "contains", w, m.contains); !s.ok()) return s;
    if (!m.present && !m.equals && !m.contains) {
      return Status::Invalid(w + ": expected one of present, equals, contains");
    }
    out.push_back(std::move(m));
  }
  return Status::Ok();
}

Status parse_claim_matches(const nlohmann::json& arr, const std::string& where,
                           std::vector<CustomClaimMatch>& out) {
  if (!arr.is_array()) return Status::Invalid(where + ": expected an array");
  for (size_t i = 0; i < arr.size(); ++i) {
    const std::string w = where + "/" + std::to_string(i);
    const auto& c = arr[i];
    if (!c.is_object()) return Status::Invalid(w + ": expected an object");
    if (auto s = pack_json::check_keys(c, w, {"claim", "present", "equals", "contains"}); !s.ok()) return s;
    CustomClaimMatch m;
    if (auto s = pack_json::get_string(c, "claim", w, m.claim, true); !s.ok()) return s;
    if (m.claim.empty()) return Status::Invalid(w + "/claim: must not be empty");
    if (auto s = pack_json::get_opt_bool(c, "present", w, m.present); !s.ok()) return s;
    if (auto s = pack_json::get_opt_string(c, "equals", w, m.equals); !s.ok()) return s;
    if (auto s = pack_json::get_opt_string(c, "contains", w, m.contains); !s.ok()) return s;
    if (!m.present && !m.equals && !m.contains) {
      return Status::Invalid(w + ": expected one of present, equals, contains");
    }
    out.push_back(std::move(m));
  }
  return Status::Ok();
}

Status parse_match(const nlohmann::json& m, const std::string& where, CustomRule& rule) {
  if (!m.is_object()) return Status::Invalid(where + ": expected an object");
  if (auto s = pack_json::check_keys(m, where, {"class", "host", "method", "path", "path_prefix",
                                                "status", "headers", "claims"});
      !s.ok()) {
    return s;
  }
  if (m.empty()) return Status::Invalid(where + ": expected at least one condition");
  if (auto s = pack_json::get_string_or_list(m, "class", where, rule.classes); !s.ok()) return s;
  if (auto s = pack_json::get_string_or_list(m, "host", where, rule.hosts); !s.ok()) return s;
  if (auto s = pack_json::get_string_or_list(m, "method", where, rule.methods); !s.ok()) return s;
  if (auto s = pack_json::get_string_or_list(m, "path", where, rule.paths); !s.ok()) return s;
  if (auto s = pack_json::get_string_or_list(m, "path_prefix", where, rule.path_prefixes); !s.ok()) return s;
  if (auto it = m.find("status"); it != m.end()) {
    auto add = [&](const nlohmann::json& v, const std::string& w) -> Status {
      if (!v.is_number_integer() || v.get<int64_t>() < 100 || v.get<int64_t>() > 599) {
        return Status::Invalid(w + ": expected an HTTP status (100-599)");
      }
      rule.statuses.push_back(v.get<int>());
      return Status::Ok();
    };
    if (it->is_array()) {
      for (size_t i = 0; i < it->size(); ++i) {
        if (auto s = add((*it)[i], where + "/status/" + std::to_string(i)); !s.ok()) return s;
      }
    } else if (auto s = add(*it, where + "/status"); !s.ok()) {
      return s;
    }
  }
  if (auto it = m.find("headers"); it != m.end()) {
    if (auto s = parse_header_matches(*it, where + "/headers", rule.headers); !s.ok()) return s;
  }
  if (auto it = m.find("claims"); it != m.end()) {
    if (auto s = parse_claim_matches(*it, where + "/claims", rule.claims); !s.ok()) return s;
  }
  return Status::Ok();
}

// The claim as text ("" when absent): strings as they are, arrays joined with spaces, other
// values as JSON.
std::string claim_text(const nlohmann::json& claims, const std::string& name) {
  auto it = claims.find(name);
  if (it == claims.end()) return "";
  if (it->is_string()) return it->get<std::string>();
  if (it->is_array()) {
    std::string out;
    for (const auto& v : *it) {
      if (!out.empty()) out += ' ';
      out += v.is_string() ? v.get<std::string>() : v.dump();
    }
    return out;
  }
  return it->dump();
}

bool claim_matches(const nlohmann::json& claims, const CustomClaimMatch& m) {
  auto it = claims.find(m.claim);
  const bool present = it != claims.end() && !it->is_null();
  if (m.present && *m.present != present) return false;
  if (m.equals) {
    if (!present) return false;
    if (it->is_string() ? it->get<std::string>() != *m.equals : it->dump() != *m.equals) return false;
  }
  if (m.contains) {
    if (!present) return false;
    bool found = false;
    if (it->is_array()) {
      for (const auto& v : *it) {
        if (v.is_string() && v.get<std::string>() == *m.contains) found = true;
      }
    } else if (it->is_string()) {
      // scp is "space-separated delegated scopes": match whole words, not substrings.
      const std::string s = it->get<std::string>();
      size_t pos = 0;
      while (pos <= s.size() && !found) {
        size_t end = s.find(' ', pos);
        if (end == std::string::npos) end = s.size();
        if (s.compare(pos, end - pos, *m.contains) == 0) found = true;
        pos = end + 1;
      }
    }
    if (!found) return false;
  }
  return true;
}

bool any_glob(const std::vector<std::string>& patterns, std::string_view text, bool fold) {
  return std::any_of(patterns.begin(), patterns.end(),
                     [&](const std::string& p) { return glob_match(p, text, fold); });
}

std::string render(const std::string& tmpl, const CustomRuleInput& in, const nlohmann::json* claims,
                   const std::string& path) {
  const Flow& f = *in.flow;
  std::string out;
  size_t pos = 0;
  while (pos < tmpl.size()) {
    size_t open = tmpl.find('{', pos);
    if (open == std::string::npos) {
      out.append(tmpl, pos, std::string::npos);
      break;
    }
    out.append(tmpl, pos, open - pos);
    size_t close = tmpl.find('}', open);
    if (close == std::string::npos) {  // cannot happen after check_template; keep text
      out.append(tmpl, open, std::string::npos);
      break;
    }
    const std::string name = tmpl.substr(open + 1, close - open - 1);
    std::string value;
    auto claim = [&](const std::string& c) { return claims ? claim_text(*claims, c) : std::string(); };
    if (name == "host") value = f.host;
    else if (name == "method") value = f.request.method;
    else if (name == "path") value = path;
    else if (name == "status") value = f.response ? std::to_string(f.response->status) : "no response";
    else if (name == "flow") value = std::to_string(f.id);
    else if (name == "tool") value = in.tool.empty() ? "unknown tool" : in.tool;
    else if (name == "client") {
      value = claim("azp");
      if (value.empty()) value = claim("appid");
      if (value.empty()) value = "unknown client";
    } else if (name == "tenant") value = claim("tid");
    else if (name == "audience") value = claim("aud");
    else if (name.rfind("claim:", 0) == 0) value = claim(name.substr(6));
    out += value;
    pos = close + 1;
  }
  return out;
}

}  // namespace

bool glob_match(std::string_view pattern, std::string_view text, bool fold_case) {
  auto eq = [&](char a, char b) {
    if (!fold_case) return a == b;
    auto l = [](char c) { return (c >= 'A' && c <= 'Z') ? static_cast<char>(c - 'A' + 'a') : c; };
    return l(a) == l(b);
  };
  // Iterative wildcard matching with one backtrack point: linear in practice, never recursive.
  size_t p = 0, t = 0, star = std::string_view::npos, mark = 0;
  while (t < text.size()) {
    if (p < pattern.size() && (pattern[p] == '?' || (pattern[p] != '*' && eq(pattern[p], text[t])))) {
      ++p;
      ++t;
    } else if (p < pattern.size() && pattern[p] == '*') {
      star = p++;
      mark = t;
    } else if (star != std::string_view::npos) {
      p = star + 1;
      t = ++mark;
    } else {
      return false;
    }
  }
  while (p < pattern.size() && pattern[p] == '*') ++p;
  return p == pattern.size();
}

Result<CustomRule> parse_custom_rule(const nlohmann::json& j, const std::string& where,
                                     const std::vector<std::string>& reserved_ids) {
  if (!j.is_object()) return Status::Invalid(where + ": expected an object");
  if (auto s = pack_json::check_keys(j, where, {"id", "enabled", "severity", "title", "description",
                                                "references", "message", "match"});
      !s.ok()) {
    return s;
  }
  CustomRule r;
  if (auto s = pack_json::get_string(j, "id", where, r.id, true); !s.ok()) return s;
  if (!valid_id(r.id)) {
    return Status::Invalid(where + "/id: expected lower-case letters, digits, '-', '_' or '.' (got \"" +
                           r.id + "\")");
  }
  if (std::find(reserved_ids.begin(), reserved_ids.end(), r.id) != reserved_ids.end()) {
    return Status::Invalid(where + "/id: \"" + r.id + "\" is a built-in rule id");
  }
  if (auto s = pack_json::get_severity(j, "severity", where, r.severity, true); !s.ok()) return s;
  if (auto s = pack_json::get_string(j, "title", where, r.title, true); !s.ok()) return s;
  if (auto s = pack_json::get_string(j, "description", where, r.description, false); !s.ok()) return s;
  if (auto s = pack_json::get_string_list(j, "references", where, r.references); !s.ok()) return s;
  if (auto s = pack_json::get_bool(j, "enabled", where, r.enabled); !s.ok()) return s;
  if (auto s = pack_json::get_string(j, "message", where, r.message, true); !s.ok()) return s;
  if (auto s = check_template(r.message, where + "/message"); !s.ok()) return s;
  auto m = j.find("match");
  if (m == j.end()) return Status::Invalid(where + "/match: missing (required)");
  if (auto s = parse_match(*m, where + "/match", r); !s.ok()) return s;
  return r;
}

std::optional<CustomRuleHit> match_custom_rule(const CustomRule& rule, const CustomRuleInput& in) {
  if (!in.flow) return std::nullopt;
  const Flow& f = *in.flow;
  if (!rule.classes.empty() &&
      std::find(rule.classes.begin(), rule.classes.end(), in.flow_class) == rule.classes.end()) {
    return std::nullopt;
  }
  if (!rule.hosts.empty() && !any_glob(rule.hosts, f.host, true)) return std::nullopt;
  if (!rule.methods.empty() &&
      std::none_of(rule.methods.begin(), rule.methods.end(),
                   [&](const std::string& m) { return iequals(m, f.request.method); })) {
    return std::nullopt;
  }
  const std::string path = split_url(f.path_and_query()).path;
  if (!rule.paths.empty() && !any_glob(rule.paths, path, false)) return std::nullopt;
  if (!rule.path_prefixes.empty() &&
      std::none_of(rule.path_prefixes.begin(), rule.path_prefixes.end(),
                   [&](const std::string& p) { return path.rfind(p, 0) == 0; })) {
    return std::nullopt;
  }
  if (!rule.statuses.empty()) {
    if (!f.response) return std::nullopt;
    if (std::find(rule.statuses.begin(), rule.statuses.end(), f.response->status) == rule.statuses.end()) {
      return std::nullopt;
    }
  }
  for (const auto& h : rule.headers) {
    const std::vector<std::string> values = f.request.headers.all(h.name);
    if (h.present && *h.present != !values.empty()) return std::nullopt;
    if (h.equals && std::find(values.begin(), values.end(), *h.equals) == values.end()) return std::nullopt;
    if (h.contains) {
      const std::string needle = ascii_lower(*h.contains);
      if (std::none_of(values.begin(), values.end(), [&](const std::string& v) {
            return ascii_lower(v).find(needle) != std::string::npos;
          })) {
        return std::nullopt;
      }
    }
  }
  const nlohmann::json* matched = nullptr;
  if (!rule.claims.empty()) {
    for (const nlohmann::json* claims : in.token_claims) {
      if (claims && std::all_of(rule.claims.begin(), rule.claims.end(),
                                [&](const CustomClaimMatch& m) { return claim_matches(*claims, m); })) {
        matched = claims;
        break;
      }
    }
    if (!matched) return std::nullopt;
  } else if (!in.token_claims.empty()) {
    matched = in.token_claims.front();  // for {client}/{tenant} placeholders
  }
  CustomRuleHit hit;
  hit.message = render(rule.message, in, matched, path);
  hit.evidence["host"] = f.host;
  hit.evidence["method"] = f.request.method;
  hit.evidence["path"] = path;
  if (f.response) hit.evidence["status"] = f.response->status;
  if (!in.tool.empty()) hit.evidence["tool"] = in.tool;
  if (matched && !rule.claims.empty()) {
    nlohmann::ordered_json c = nlohmann::ordered_json::object();
    for (const auto& m : rule.claims) c[m.claim] = claim_text(*matched, m.claim);
    hit.evidence["claims"] = std::move(c);
  }
  return hit;
}

}  // namespace authscope
