// SARIF 2.1.0 (OASIS), the format CI code-scanning dashboards ingest.
//
// Locations: a finding points at flows, not at source lines. Consumers such as GitHub code
// scanning insist on a physicalLocation, so each result names the capture (the store or HAR
// file) as the artifact and uses the flow id as the line number; the flow itself is also given as
// a logicalLocation ("flow 12", kind "resource") for consumers that show those.
#include <cstdint>

#include "report/report.h"
#include "report/text_escape.h"

namespace authscope {

namespace {

const char* sarif_level(Severity s) {
  switch (s) {
    case Severity::kCritical:
    case Severity::kHigh: return "error";
    case Severity::kMedium: return "warning";
    case Severity::kLow:
    case Severity::kInfo: return "note";
  }
  return "note";
}

// FNV-1a: a stable fingerprint so a dashboard recognises the same finding across runs.
std::string fingerprint(const Finding& f) {
  uint64_t h = 1469598103934665603ULL;
  auto mix = [&](std::string_view s) {
    for (unsigned char c : s) {
      h ^= c;
      h *= 1099511628211ULL;
    }
    h ^= 0xff;
    h *= 1099511628211ULL;
  };
  mix(f.rule);
  mix(f.message);
  char buf[17];
  std::snprintf(buf, sizeof buf, "%016llx", static_cast<unsigned long long>(h));
  return buf;
}

std::string artifact_uri(const std::string& source) {
  if (source.empty()) return "flows.db";
  auto slash = source.find_last_of('/');
  return slash == std::string::npos ? source : source.substr(slash + 1);
}

}  // namespace

std::string render_sarif(const ReportData& data) {
  using json = nlohmann::ordered_json;
  json driver;
  driver["name"] = "authscope";
  driver["informationUri"] = "https://github.com/authscope/authscope";
  {
    std::string version = data.generated_by;
    auto space = version.find(' ');
    driver["version"] = space == std::string::npos ? std::string("0.1.0") : version.substr(space + 1);
  }

  // Rule metadata: every rule of the pack, plus any rule id a finding names that the pack lacks.
  std::map<std::string, RuleMeta> rules = data.rules;
  for (const auto& f : data.findings) {
    if (!rules.count(f.rule)) rules[f.rule] = RuleMeta{f.title, "", f.severity, true, {}};
  }
  std::map<std::string, size_t> rule_index;
  json rule_array = json::array();
  for (const auto& [id, meta] : rules) {
    rule_index[id] = rule_array.size();
    json r;
    r["id"] = id;
    r["name"] = id;
    r["shortDescription"] = {{"text", meta.title.empty() ? id : meta.title}};
    r["fullDescription"] = {{"text", meta.description.empty() ? meta.title : meta.description}};
    r["defaultConfiguration"] = {{"level", sarif_level(meta.severity)}, {"enabled", meta.enabled}};
    std::string help = meta.description.empty() ? meta.title : meta.description;
    if (!meta.references.empty()) {
      help += "\nReferences:";
      for (const auto& ref : meta.references) help += "\n- " + ref;
      r["helpUri"] = meta.references.front();
    }
    r["help"] = {{"text", help}};
    r["properties"] = {{"tags", json::array({"security", "oauth", "entra-id"})},
                       {"problem.severity", to_string(meta.severity)}};
    rule_array.push_back(std::move(r));
  }
  driver["rules"] = std::move(rule_array);

  const std::string uri = artifact_uri(data.source);
  json results = json::array();
  for (const auto& f : data.findings) {
    json r;
    r["ruleId"] = f.rule;
    r["ruleIndex"] = rule_index[f.rule];
    r["level"] = sarif_level(f.severity);
    r["message"] = {{"text", f.message}};
    json locations = json::array();
    for (int64_t flow : f.flows) {
      json loc;
      loc["physicalLocation"] = {{"artifactLocation", {{"uri", uri}}},
                                 {"region", {{"startLine", flow > 0 ? flow : 1}}}};
      loc["logicalLocations"] = json::array({{{"name", "flow " + std::to_string(flow)},
                                              {"fullyQualifiedName", uri + "#flow-" + std::to_string(flow)},
                                              {"kind", "resource"}}});
      locations.push_back(std::move(loc));
    }
    if (locations.empty()) {
      locations.push_back({{"physicalLocation", {{"artifactLocation", {{"uri", uri}}}}}});
    }
    r["locations"] = std::move(locations);
    r["partialFingerprints"] = {{"authscopeFinding/v1", fingerprint(f)}};
    r["properties"] = {{"severity", to_string(f.severity)}, {"evidence", f.evidence}};
    results.push_back(std::move(r));
  }

  json run;
  run["tool"] = {{"driver", std::move(driver)}};
  run["artifacts"] = json::array({{{"location", {{"uri", uri}}}, {"description", {{"text", "authscope capture"}}}}});
  run["results"] = std::move(results);
  run["properties"] = {{"flows", data.flow_count}};

  json doc;
  doc["$schema"] = "https://json.schemastore.org/sarif-2.1.0.json";
  doc["version"] = "2.1.0";
  doc["runs"] = json::array({std::move(run)});
  return doc.dump(2, ' ', false, json::error_handler_t::replace) + "\n";
}

}  // namespace authscope
