// The store's annotate hook as the CLI wires it (issue 3 item 6): one FlowAnnotator per open
// store, fed with the JWKS the store already holds, so flows are classified and their tokens
// decoded and verified on the writer thread before redaction strips signatures.
#pragma once

#include <memory>
#include <string>

#include "analyzers/flow_annotator.h"
#include "analyzers/known_apps.h"
#include "model/status.h"
#include "storage/flow_store.h"

namespace authscope::cli {

// The before_write hook of a redacting store: redact_secrets(), then mark the flow's token
// records with how their values are stored (analyzers/redact.h, mark_redaction_at_rest).
void redact_before_write(Flow& flow);

// Sets options.annotate to call `annotator` (shared: the store's writer thread uses it for as
// long as the store lives).
void install_annotator(SqliteStoreOptions& options, std::shared_ptr<FlowAnnotator> annotator);

// Feeds `annotator` every JWKS and OpenID configuration flow already in `store` (in id order,
// so a jwks_uri is known before its fetch), so tokens captured from now on verify against keys
// seen in earlier sessions. Call after opening and before enqueueing.
Status prime_annotator(FlowStore& store, FlowAnnotator& annotator);

// open_store_for_reading() plus the annotate hook: an older (or partly unannotated) store on a
// writable file is backfilled once, so later reads find stored records.
Result<std::unique_ptr<FlowStore>> open_store_for_reading_annotated(const std::string& path, const KnownApps& apps);

// The known-apps data of `rules_dir` (its known-apps.json, or what the rule pack falls back
// to), or the compiled-in copy when rules_dir is empty. For commands that need only the facts.
Result<KnownApps> known_apps_for(const std::string& rules_dir);

}  // namespace authscope::cli
