// How a Flow body appears in HAR and back: text when it is UTF-8, base64 otherwise; gzip and
// deflate bodies decoded for HAR readers and compressed again on import.
#pragma once

#include <optional>
#include <string>

#include <nlohmann/json.hpp>

#include "model/flow.h"
#include "model/headers.h"
#include "model/status.h"

namespace authscope::har {

// Decoded bodies are capped (a zip bomb in a capture must not exhaust memory on export).
inline constexpr size_t kMaxDecodedBody = size_t{64} << 20;

struct HarText {
  std::string text;
  bool base64 = false;
  bool decoded = false;  // text is the body with its Content-Encoding (gzip/deflate) undone
  size_t size = 0;       // bytes the text stands for (after decoding)
};

// For a present body: what to put in postData.text / content.text.
HarText body_to_har_text(const Body& body, const Headers& headers);

// The inverse: bytes as they were on the wire. `decoded` says the text had its
// Content-Encoding undone (true for browser exports and for our own `decoded` flag);
// compression is redone for gzip/deflate, and for codings we cannot redo (br, zstd, lists)
// the Content-Encoding field is renamed to X-Authscope-Decoded-Content-Encoding so that the
// headers never claim an encoding the stored bytes do not have.
Result<std::string> body_from_har_text(const std::string& text, bool base64, bool decoded, Headers& headers);

}  // namespace authscope::har
