// Small encoders and parsers the HAR code needs: base64, UTF-8 checking, ISO 8601 times,
// URL splitting, form encoding and zlib (gzip/deflate) both ways. No exceptions.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

namespace authscope::har {

std::string base64_encode(std::string_view bytes);
// Standard alphabet, padding optional, whitespace ignored (Firefox wraps long lines).
std::optional<std::string> base64_decode(std::string_view text);

bool is_valid_utf8(std::string_view s);

// "2026-11-26T09:15:26.123Z" (milliseconds, UTC), from microseconds since the epoch.
std::string iso8601_from_us(int64_t us);
// RFC 3339 date-time: fraction of any length, "Z" or "+hh:mm"/"-hh:mm".
std::optional<int64_t> us_from_iso8601(std::string_view s);

struct UrlParts {
  std::string scheme;     // lower case
  std::string host;       // without brackets for IPv6
  uint16_t port = 0;      // explicit or the scheme's default
  std::string authority;  // host[:port] as written, without userinfo
  std::string path_and_query;  // "/a?b" (fragment dropped: it is never sent)
};
std::optional<UrlParts> parse_url(std::string_view url);

// application/x-www-form-urlencoded serialisation of one name or value (WHATWG URL spec).
std::string form_encode(std::string_view s);
// Percent-decoding for HAR queryString display ('+' left as is).
std::string percent_decode(std::string_view s);

enum class Coding { kGzip, kDeflate };
std::optional<Coding> coding_from_header(std::string_view content_encoding);
// Decodes at most `max_out` bytes (bodies are capped; a zip bomb must not be).
std::optional<std::string> decompress(std::string_view data, Coding coding, size_t max_out);
std::optional<std::string> compress(std::string_view data, Coding coding);

}  // namespace authscope::har
