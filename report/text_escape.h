// Escaping for the report formats. Everything in a report that came from traffic (messages,
// evidence, URLs, claims) is untrusted and goes through one of these.
#pragma once

#include <string>
#include <string_view>

namespace authscope {

// HTML text and attribute values (& < > " ').
std::string html_escape(std::string_view s);
// XML 1.0 text and attributes: escapes like HTML and drops characters XML 1.0 forbids
// (C0 controls other than TAB/LF/CR, U+FFFE/U+FFFF, invalid UTF-8 bytes become U+FFFD).
std::string xml_escape(std::string_view s);
// Markdown table cells and inline text: backslash-escapes markdown punctuation, turns newlines
// into spaces and '|' into '\|'.
std::string markdown_escape(std::string_view s);
// Text for inside a fenced code block: a run of backticks can never close the fence.
std::string markdown_code_fence(std::string_view body, std::string_view info = "");
// Valid UTF-8 only (invalid bytes become U+FFFD), so JSON output never throws.
std::string utf8_sanitize(std::string_view s);
// "2026-11-26T09:12:00Z" from microseconds since the epoch.
std::string iso8601_utc(int64_t us);

}  // namespace authscope
