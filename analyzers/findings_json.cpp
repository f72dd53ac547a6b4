#include "analyzers/findings_json.h"

#include <algorithm>

namespace authscope {

nlohmann::ordered_json findings_document(size_t flows, const std::vector<Finding>& findings) {
  std::vector<const Finding*> sorted;
  sorted.reserve(findings.size());
  for (const auto& f : findings) sorted.push_back(&f);
  std::stable_sort(sorted.begin(), sorted.end(), [](const Finding* a, const Finding* b) { return finding_less(*a, *b); });
  nlohmann::ordered_json doc;
  doc["version"] = kFindingsJsonVersion;
  doc["flows"] = flows;
  doc["findings"] = nlohmann::ordered_json::array();
  for (const Finding* f : sorted) doc["findings"].push_back(to_json(*f));
  return doc;
}

}  // namespace authscope
