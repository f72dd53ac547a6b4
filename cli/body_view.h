// How a captured body is shown to a person: gzip/deflate bodies decoded (zlib), text shown as
// text, binary bodies summarised. Decoding is bounded: a decompression bomb stops at kMaxDecoded.
#pragma once

#include <cstddef>
#include <string>

#include "model/flow.h"

namespace authscope::cli {

inline constexpr size_t kMaxDecodedBody = 16 * 1024 * 1024;

struct BodyView {
  bool present = false;    // the message had a body
  std::string text;        // what to print (decoded when it was compressed)
  bool binary = false;     // text is a summary, not the content
  std::string encoding;    // Content-Encoding as sent ("gzip", "deflate", "" ...)
  bool decoded = false;    // text is the decompressed body
  std::string note;        // "truncated at capture limit", "gzip body could not be decoded: ..."
};

BodyView view_body(const Body& body, const Headers& headers);

// True when `s` is valid UTF-8 with no control characters other than tab, CR and LF.
bool is_printable_text(const std::string& s);

// Inflates gzip (RFC 1952) or zlib/raw deflate (RFC 1950/1951) data; nullopt-like empty result
// with `error` set when the data is not valid.
std::string inflate_body(const std::string& data, const std::string& encoding, std::string& error,
                         size_t max_out = kMaxDecodedBody);

}  // namespace authscope::cli
