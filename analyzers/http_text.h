// Small, allocation-light text helpers for reading HTTP messages the way OAuth endpoints do:
// percent-decoding, application/x-www-form-urlencoded pairs, query and fragment splitting, media
// type checks and bounded JSON parsing. No regex, no exceptions (every function is noexcept in
// practice: JSON is parsed with exceptions disabled), every input bounded.
#pragma once

#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include <nlohmann/json.hpp>

#include "model/flow.h"
#include "model/headers.h"
#include "model/status.h"

namespace authscope {

// Ordered name/value pairs, both percent-decoded. Repeats are kept in order.
using FormPairs = std::vector<std::pair<std::string, std::string>>;

inline constexpr size_t kMaxFormPairs = 1024;          // further pairs are ignored
inline constexpr size_t kMaxJsonBodyBytes = 8 * 1024 * 1024;
inline constexpr int kMaxJsonBodyDepth = 64;
inline constexpr size_t kMaxDecodedBodyBytes = 16 * 1024 * 1024;

std::string ascii_lower(std::string_view s);
bool istarts_with(std::string_view s, std::string_view prefix);  // ASCII case-insensitive
bool iends_with(std::string_view s, std::string_view suffix);
std::string_view trim(std::string_view s);  // spaces and tabs (RFC 9110 OWS)

// Percent-decoding. WHATWG/HTML: in application/x-www-form-urlencoded "+" is a space, in a
// URI path it is not. A malformed escape ("%zz", "%4") is kept literally, as browsers do.
std::string url_decode(std::string_view s, bool plus_is_space = true);
// Form/URI component encoding: unreserved characters (RFC 3986 §2.3) are kept, everything else
// is %XX (space as %20).
std::string url_encode(std::string_view s);

// "a=1&b=x%20y&c" -> {a,1},{b,"x y"},{c,""}. Empty segments are skipped.
FormPairs parse_form(std::string_view encoded);
// First value of `name` (exact, case-sensitive match, as OAuth parameter names are).
std::optional<std::string> form_value(const FormPairs& pairs, std::string_view name);
std::optional<std::string> form_value(std::string_view encoded, std::string_view name);
bool form_has(const FormPairs& pairs, std::string_view name);

// The parts of a URL or request target, still percent-encoded (decode with parse_form/url_decode).
// Works for absolute URLs ("https://h:1/p?q#f"), origin-form ("/p?q") and authority-form.
struct UrlParts {
  std::string scheme;     // lower-cased, "" for origin-form
  std::string host;       // lower-cased, brackets of IPv6 literals removed
  std::optional<uint16_t> port;
  std::string path;       // "" or starting with '/'
  std::string query;      // without '?'
  std::string fragment;   // without '#'
  bool has_query = false;
  bool has_fragment = false;
};
UrlParts split_url(std::string_view url_or_target);
// Path segments of "/a/b//c" -> {"a","b","c"} (percent-decoded, empty segments dropped).
std::vector<std::string> path_segments(std::string_view path);

// Media type of a Content-Type value, lower-cased, without parameters: "Application/JSON;
// charset=utf-8" -> "application/json".
std::string media_type(std::string_view content_type);
// True when the Content-Type's media type equals `mime` (case-insensitive), or for
// mime == "application/json" also any "+json" suffix type (RFC 6839).
bool content_type_is(const Headers& headers, std::string_view mime);

// The body text with Content-Encoding undone (gzip, deflate, identity; at most
// kMaxDecodedBodyBytes). nullopt when the body is absent; an error for an unknown encoding
// (e.g. "br") or corrupt data.
Result<std::string> decoded_body(const Body& body, const Headers& headers);
// Undoes one Content-Encoding value ("gzip", "x-gzip", "deflate", "identity", "").
Result<std::string> decode_content(std::string_view data, std::string_view encoding, size_t max_out);

// True when the text nests objects/arrays deeper than max_depth (strings are skipped): a cheap
// pre-check so a hostile body never drives a deep parse.
bool json_depth_exceeds(std::string_view text, int max_depth);
// Parses JSON with exceptions disabled, size and depth bounded; nullopt on any failure.
std::optional<nlohmann::json> parse_json(std::string_view text, size_t max_bytes = kMaxJsonBodyBytes,
                                         int max_depth = kMaxJsonBodyDepth);
// The text of a body that may be JSON: present, content-decoded, leading whitespace and line
// breaks skipped, starting with '{' or '['; nullopt otherwise. What json_body parses.
std::optional<std::string> json_body_text(const Body& body, const Headers& headers);
// The message body as JSON when it is present, decodable and parses (any Content-Type: token
// endpoints are sometimes mislabelled); nullopt otherwise.
std::optional<nlohmann::json> json_body(const Body& body, const Headers& headers);
// The body as form pairs when Content-Type is application/x-www-form-urlencoded.
std::optional<FormPairs> form_body(const Body& body, const Headers& headers);
// The string-valued members of a top-level JSON object, read without building a document, for
// texts with no backslash (so every '"' delimits a string). nullopt when the text has an escape
// or is not plainly one well-formed object: the caller then parses it. A repeated name keeps
// its last value, as parse_json does. The views point into `text`.
std::optional<std::vector<std::pair<std::string_view, std::string_view>>> unescaped_json_string_members(
    std::string_view text);
// String member of a JSON object, nullopt when missing or not a string.
std::optional<std::string> json_string(const nlohmann::json& obj, std::string_view key);

}  // namespace authscope
