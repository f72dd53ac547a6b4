// Typed access to rule-pack JSON with errors that name the file and the JSON pointer
// ("rules/x.json: /rules/0/severity: expected one of critical|high|medium|low|info").
// Loader-only helpers (configuration code); they return Status, never throw.
#pragma once

#include <algorithm>
#include <initializer_list>
#include <optional>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "model/finding.h"
#include "model/status.h"

namespace authscope::pack_json {

inline const char* type_name(const nlohmann::json& v) { return v.type_name(); }

// Every key of `obj` must be in `allowed` (Falco: unknown keys fail loudly, a typo never
// silently disables a setting).
inline Status check_keys(const nlohmann::json& obj, const std::string& where,
                         std::initializer_list<const char*> allowed) {
  for (auto it = obj.begin(); it != obj.end(); ++it) {
    if (std::none_of(allowed.begin(), allowed.end(), [&](const char* k) { return it.key() == k; })) {
      std::string list;
      for (const char* k : allowed) list += (list.empty() ? "" : ", ") + std::string(k);
      return Status::Invalid(where + "/" + it.key() + ": unknown key (expected one of " + list + ")");
    }
  }
  return Status::Ok();
}

inline Status get_string(const nlohmann::json& obj, const char* key, const std::string& where,
                         std::string& out, bool required) {
  auto it = obj.find(key);
  if (it == obj.end()) {
    return required ? Status::Invalid(where + "/" + key + ": missing (required)") : Status::Ok();
  }
  if (!it->is_string()) {
    return Status::Invalid(where + "/" + key + ": expected a string, got " + type_name(*it));
  }
  out = it->get<std::string>();
  return Status::Ok();
}

inline Status get_opt_string(const nlohmann::json& obj, const char* key, const std::string& where,
                             std::optional<std::string>& out) {
  std::string v;
  if (obj.find(key) == obj.end()) return Status::Ok();
  if (auto s = get_string(obj, key, where, v, true); !s.ok()) return s;
  out = std::move(v);
  return Status::Ok();
}

inline Status get_bool(const nlohmann::json& obj, const char* key, const std::string& where, bool& out) {
  auto it = obj.find(key);
  if (it == obj.end()) return Status::Ok();
  if (!it->is_boolean()) {
    return Status::Invalid(where + "/" + key + ": expected true or false, got " + type_name(*it));
  }
  out = it->get<bool>();
  return Status::Ok();
}

inline Status get_opt_bool(const nlohmann::json& obj, const char* key, const std::string& where,
                           std::optional<bool>& out) {
  if (obj.find(key) == obj.end()) return Status::Ok();
  bool v = false;
  if (auto s = get_bool(obj, key, where, v); !s.ok()) return s;
  out = v;
  return Status::Ok();
}

inline Status get_int(const nlohmann::json& obj, const char* key, const std::string& where,
                      int64_t& out, int64_t min, int64_t max) {
  auto it = obj.find(key);
  if (it == obj.end()) return Status::Ok();
  if (!it->is_number_integer()) {
    return Status::Invalid(where + "/" + key + ": expected an integer, got " + type_name(*it));
  }
  const int64_t v = it->get<int64_t>();
  if (v < min || v > max) {
    return Status::Invalid(where + "/" + key + ": expected an integer from " + std::to_string(min) +
                           " to " + std::to_string(max));
  }
  out = v;
  return Status::Ok();
}

inline Status severity_value(const nlohmann::json& v, const std::string& where, Severity& out) {
  static const char* kExpected = ": expected one of critical|high|medium|low|info";
  if (!v.is_string()) return Status::Invalid(where + kExpected);
  auto sev = severity_from_string(v.get<std::string>());
  if (!sev) return Status::Invalid(where + kExpected);
  out = *sev;
  return Status::Ok();
}

inline Status get_severity(const nlohmann::json& obj, const char* key, const std::string& where,
                           Severity& out, bool required) {
  auto it = obj.find(key);
  if (it == obj.end()) {
    return required ? Status::Invalid(where + "/" + key + ": missing (required)") : Status::Ok();
  }
  return severity_value(*it, where + "/" + key, out);
}

inline Status get_string_list(const nlohmann::json& obj, const char* key, const std::string& where,
                              std::vector<std::string>& out) {
  auto it = obj.find(key);
  if (it == obj.end()) return Status::Ok();
  if (!it->is_array()) {
    return Status::Invalid(where + "/" + key + ": expected an array of strings, got " + type_name(*it));
  }
  std::vector<std::string> values;
  for (size_t i = 0; i < it->size(); ++i) {
    if (!(*it)[i].is_string()) {
      return Status::Invalid(where + "/" + key + "/" + std::to_string(i) + ": expected a string, got " +
                             type_name((*it)[i]));
    }
    values.push_back((*it)[i].get<std::string>());
  }
  out = std::move(values);
  return Status::Ok();
}

// A string or an array of strings (custom rule match fields).
inline Status get_string_or_list(const nlohmann::json& obj, const char* key, const std::string& where,
                                 std::vector<std::string>& out) {
  auto it = obj.find(key);
  if (it == obj.end()) return Status::Ok();
  if (it->is_string()) {
    out = {it->get<std::string>()};
    return Status::Ok();
  }
  if (!it->is_array() || it->empty()) {
    return Status::Invalid(where + "/" + key + ": expected a string or a non-empty array of strings");
  }
  return get_string_list(obj, key, where, out);
}

}  // namespace authscope::pack_json
