// Tokens found in a flow, decoded and interpreted for `show` (text beside the headers, and JSON).
// Normally from the records the store kept (model/flow_annotations.h: decoded and verified at
// capture time, before redaction); for flows without records, recomputed from the flow.
// Decoding is passive: nothing is fetched; signatures are checked only against JWKS documents
// captured in the same store.
#pragma once

#include <iosfwd>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "analyzers/jwks.h"
#include "analyzers/known_apps.h"
#include "model/flow.h"
#include "model/flow_annotations.h"

namespace authscope::cli {

struct TokenView {
  std::string location, kind, scheme;
  bool decoded = false;
  std::string error;                      // why it could not be decoded
  std::vector<std::string> lines;         // readable summary lines
  nlohmann::ordered_json json;            // header, claims, interpretation
};

// Views of stored token records of `flow` (interpreted with `apps`).
std::vector<TokenView> view_token_records(const Flow& flow, const std::vector<TokenRecord>& records,
                                          const KnownApps& apps);
// Recomputes the records from the flow (checking signatures against `keys`), then views them.
std::vector<TokenView> view_tokens(const Flow& flow, const KnownApps& apps, const JwksIndex& keys);

}  // namespace authscope::cli
