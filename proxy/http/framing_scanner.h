// FramingScanner: the byte-exact structure check that runs over every byte of a message *before*
// llhttp sees it. llhttp 8.1 (non-strict build, as Debian ships it) silently accepts things a
// proxy must refuse because the next hop may read them differently: bare LF, obs-fold,
// whitespace before the colon, empty field names, "GET  /" with two spaces, a bare LF after the
// last chunk, arbitrary bytes in place of the CRLF after chunk data. The scanner also enforces the
// size limits early, so nothing unbounded is ever accumulated.
//
// It walks one message: the head (start line + field lines), then the body as instructed by
// start_body() (which HttpParser calls from llhttp's on_headers_complete with llhttp's own framing
// decision), stopping at each boundary so HttpParser can hand llhttp exactly the bytes validated.
// Internal to proxy/http; HttpParser is the interface.
#pragma once

#include <cstddef>
#include <cstdint>
#include <string_view>

#include "proxy/proxy_options.h"

namespace authscope::http {

class FramingScanner {
 public:
  enum class Role { kRequest, kResponse };
  enum class Body { kNone, kLength, kChunked, kUntilClose };

  struct Step {
    enum class Kind {
      kNeedMore,    // all `consumed` bytes are fine; the boundary is further on
      kHeadEnd,     // `consumed` ends with the CRLF that ends the header section
      kMessageEnd,  // `consumed` ends with the last byte of the message
      kError,
    };
    Kind kind = Kind::kNeedMore;
    size_t consumed = 0;
    // kError: category (a kErr* identity), detail, HTTP status to answer (requests).
    std::string_view error;
    std::string_view detail;
    int status = 0;
  };

  FramingScanner(Role role, const ProxyLimits& limits) : role_(role), limits_(limits) {}

  // Validates bytes up to the next boundary (or the end of the input).
  Step scan(const char* data, size_t len);
  // After kHeadEnd: how the body is framed. kLength with 0 is the same as kNone.
  void start_body(Body body, uint64_t length);
  // Back to the start of a new message (after kMessageEnd, or after an upgrade is refused).
  void start_message();

  size_t head_bytes() const { return start_line_bytes_ + field_bytes_; }

 private:
  enum class State {
    // Head.
    kStartLineBegin,  // before the start line; empty CRLF lines allowed (RFC 9112 §2.2)
    kLeadingLF,
    kStartLine,
    kStartLineLF,
    kFieldLineBegin,  // also trailer lines (in_trailers_)
    kFieldName,
    kFieldValue,
    kFieldLineLF,
    kHeadEndLF,
    kHeadEnded,       // waiting for start_body()
    // Body.
    kBodyLength,
    kBodyUntilClose,
    kChunkSizeBegin,
    kChunkSize,
    kChunkExt,
    kChunkSizeLF,
    kChunkData,
    kChunkDataCR,
    kChunkDataLF,
    kDone,
    kFailed,
  };

  Step fail(size_t at, std::string_view error, std::string_view detail, int status);
  bool count_field_byte();

  Role role_;
  ProxyLimits limits_;
  State state_ = State::kStartLineBegin;
  size_t start_line_bytes_ = 0;  // includes empty lines before it
  size_t start_line_spaces_ = 0;
  bool last_was_space_ = false;
  size_t field_bytes_ = 0;       // header section (field lines and final CRLF)
  size_t field_count_ = 0;
  size_t name_bytes_ = 0;        // of the current field line
  uint64_t remaining_ = 0;       // body bytes left (kBodyLength, kChunkData)
  uint64_t chunk_size_ = 0;
  size_t chunk_line_bytes_ = 0;
  bool in_trailers_ = false;      // field-line states are reading the trailer section
  size_t trailer_bytes_ = 0;
  size_t trailer_count_ = 0;
};

}  // namespace authscope::http
