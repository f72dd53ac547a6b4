#include "cli/store_annotator.h"

#include "analyzers/redact.h"
#include "analyzers/rule_pack.h"
#include "cli/cli_support.h"
#include "cli/store_analysis.h"

namespace authscope::cli {

void redact_before_write(Flow& flow) {
  redact_secrets(flow);
  if (flow.annotations) mark_redaction_at_rest(*flow.annotations, flow);
}

void install_annotator(SqliteStoreOptions& options, std::shared_ptr<FlowAnnotator> annotator) {
  options.annotate = [annotator = std::move(annotator)](const Flow& flow) { return annotator->annotate(flow); };
}

Status prime_annotator(FlowStore& store, FlowAnnotator& annotator) {
  auto summaries = store.list();
  if (!summaries.ok()) return summaries.status();
  for (const FlowSummary& s : summaries.value()) {
    if (s.kind != FlowKind::kHttp || s.status != 200) continue;
    // The stored class names key sets and discovery documents; a jwks_uri on an unusual path
    // (or a row never annotated) is recognised by its target, as JwksIndex::add_from_flow does.
    bool candidate = s.flow_class == "jwks" || s.flow_class == "openid-configuration" ||
                     s.target.find("openid-configuration") != std::string::npos ||
                     s.target.find("keys") != std::string::npos || s.target.find("jwks") != std::string::npos;
    if (!candidate) continue;
    auto flow = store.load(s.id);
    if (!flow.ok()) return flow.status();
    if (flow.value()) annotator.observe(*flow.value());
  }
  return Status::Ok();
}

Result<std::unique_ptr<FlowStore>> open_store_for_reading_annotated(const std::string& path, const KnownApps& apps) {
  SqliteStoreOptions options;
  install_annotator(options, std::make_shared<FlowAnnotator>(apps));
  return open_store_for_reading(path, std::move(options));
}

Result<KnownApps> known_apps_for(const std::string& rules_dir) {
  if (rules_dir.empty()) return builtin_known_apps();
  auto pack = load_rules(rules_dir);
  if (!pack.ok()) return pack.status();
  return pack.value()->known;
}

}  // namespace authscope::cli
