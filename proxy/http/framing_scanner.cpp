#include "proxy/http/framing_scanner.h"

#include <algorithm>
#include <array>
#include <limits>

#include "proxy/http/errors.h"

namespace authscope::http {
namespace {

// RFC 9110 §5.6.2: tchar = "!" / "#" / "$" / "%" / "&" / "'" / "*" / "+" / "-" / "." /
//                          "^" / "_" / "`" / "|" / "~" / DIGIT / ALPHA
constexpr std::array<bool, 256> make_tchar_table() {
  std::array<bool, 256> t{};
  for (int c = '0'; c <= '9'; ++c) t[c] = true;
  for (int c = 'a'; c <= 'z'; ++c) t[c] = true;
  for (int c = 'A'; c <= 'Z'; ++c) t[c] = true;
  for (char c : std::string_view("!#$%&'*+-.^_`|~")) t[static_cast<unsigned char>(c)] = true;
  return t;
}
constexpr std::array<bool, 256> kTchar = make_tchar_table();

int hex_value(unsigned char c) {
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  if (c >= 'A' && c <= 'F') return c - 'A' + 10;
  return -1;
}

// Field values: RFC 9110 §5.5 field-vchar = VCHAR / obs-text, plus SP and HTAB inside.
// "Field values containing CR, LF, or NUL characters are invalid and dangerous ... a recipient
// of CR, LF, or NUL within a field value MUST either reject the message or replace each of those
// characters with SP" — authscope rejects (and every other CTL too).
bool is_value_byte(unsigned char c) { return c == '\t' || (c >= 0x20 && c != 0x7f); }

constexpr std::string_view kBareLF = "bare LF without CR (RFC 9112 §2.2)";
constexpr std::string_view kBareCR = "bare CR not followed by LF (RFC 9112 §2.2)";
constexpr std::string_view kNul = "NUL byte";

}  // namespace

FramingScanner::Step FramingScanner::fail(size_t at, std::string_view error, std::string_view detail,
                                          int status) {
  state_ = State::kFailed;
  Step s;
  s.kind = Step::Kind::kError;
  s.consumed = at;
  s.error = error;
  s.detail = detail;
  s.status = status;
  return s;
}

void FramingScanner::start_body(Body body, uint64_t length) {
  switch (body) {
    case Body::kNone:
      state_ = State::kDone;
      break;
    case Body::kLength:
      remaining_ = length;
      state_ = length == 0 ? State::kDone : State::kBodyLength;
      break;
    case Body::kChunked:
      state_ = State::kChunkSizeBegin;
      break;
    case Body::kUntilClose:
      state_ = State::kBodyUntilClose;
      break;
  }
}

void FramingScanner::start_message() {
  state_ = State::kStartLineBegin;
  last_was_space_ = false;
  start_line_bytes_ = start_line_spaces_ = field_bytes_ = field_count_ = name_bytes_ = 0;
  remaining_ = chunk_size_ = 0;
  chunk_line_bytes_ = 0;
  in_trailers_ = false;
  trailer_bytes_ = trailer_count_ = 0;
}

// Counts one byte of a field line against the header (or trailer) section limit.
bool FramingScanner::count_field_byte() {
  size_t& bytes = in_trailers_ ? trailer_bytes_ : field_bytes_;
  return ++bytes <= limits_.max_header_bytes;
}

FramingScanner::Step FramingScanner::scan(const char* data, size_t len) {
  const bool request = role_ == Role::kRequest;
  const auto* p = reinterpret_cast<const unsigned char*>(data);
  Step more;
  more.kind = Step::Kind::kNeedMore;

  for (size_t i = 0; i < len; ++i) {
    const unsigned char c = p[i];
    switch (state_) {
      // ---- start line -------------------------------------------------------------------
      case State::kStartLineBegin:
      case State::kStartLine:
        if (++start_line_bytes_ > limits_.max_request_line) {
          return fail(i, request ? kErrUriTooLong : kErrBadResponse, "start line over the limit",
                      request ? 414 : 502);
        }
        if (c == '\r') {
          if (state_ == State::kStartLineBegin) {
            state_ = State::kLeadingLF;
            break;
          }
          state_ = State::kStartLineLF;
          break;
        }
        if (c == '\n') return fail(i, kErrBadLineEnding, kBareLF, 400);
        if (c == 0) return fail(i, kErrBadLineEnding, kNul, 400);
        if (state_ == State::kStartLineBegin && (c == ' ' || c == '\t')) {
          return fail(i, kErrBadRequest, "whitespace before the start line", 400);
        }
        if (c == ' ') {
          // RFC 9112 §3: request-line = method SP request-target SP HTTP-version. One space
          // each, no more: "GET  /" is read differently by lenient and strict peers. Checked as
          // the bytes arrive so the verdict does not depend on how the line was split.
          if (request && (++start_line_spaces_ > 2 || last_was_space_)) {
            return fail(i, kErrBadRequest, "request line is not 'method SP target SP version'", 400);
          }
          last_was_space_ = true;
          state_ = State::kStartLine;
          break;
        }
        last_was_space_ = false;
        if (c < 0x20 || c == 0x7f) {
          // The reason-phrase may hold HTAB (RFC 9112 §4); nothing else in a start line may.
          if (request || c != '\t') return fail(i, kErrBadLineEnding, "control byte in the start line", 400);
        }
        state_ = State::kStartLine;
        break;
      case State::kLeadingLF:
        if (c != '\n') return fail(i, kErrBadLineEnding, kBareCR, 400);
        if (++start_line_bytes_ > limits_.max_request_line) {
          return fail(i, request ? kErrUriTooLong : kErrBadResponse, "too many empty lines before the start line",
                      request ? 414 : 502);
        }
        state_ = State::kStartLineBegin;
        break;
      case State::kStartLineLF:
        if (c != '\n') return fail(i, kErrBadLineEnding, kBareCR, 400);
        if (request && (start_line_spaces_ != 2 || last_was_space_)) {
          return fail(i, kErrBadRequest, "request line is not 'method SP target SP version'", 400);
        }
        ++start_line_bytes_;
        state_ = State::kFieldLineBegin;
        break;

      // ---- field lines (header section, and the trailer section of a chunked body) ---------
      case State::kFieldLineBegin:
        if (!count_field_byte()) return fail(i, kErrHeaderTooLarge, "over the size limit", 431);
        if (c == '\r') {
          state_ = State::kHeadEndLF;
          break;
        }
        if (c == '\n') return fail(i, kErrBadLineEnding, kBareLF, 400);
        if (c == ' ' || c == '\t') {
          // RFC 9112 §5.2: "A server that receives an obs-fold in a request message that is not
          // within a message/http container MUST either reject the message by sending a 400 (Bad
          // Request) ... or replace each received obs-fold with one or more SP octets". And §2.2:
          // whitespace between the start-line and the first field MUST be rejected or skipped.
          return fail(i, kErrBadLineEnding,
                      (field_count_ == 0 && !in_trailers_) ? "whitespace after the start line"
                                                           : "obsolete line folding (obs-fold)",
                      400);
        }
        if (c == ':') return fail(i, kErrBadRequest, "empty field name", 400);
        if (!kTchar[c]) return fail(i, kErrBadRequest, c == 0 ? kNul : "invalid character in a field name", 400);
        {
          size_t& count = in_trailers_ ? trailer_count_ : field_count_;
          if (++count > limits_.max_header_fields) {
            return fail(i, kErrTooManyHeaders, "over the field count limit", 431);
          }
        }
        name_bytes_ = 1;
        state_ = State::kFieldName;
        break;
      case State::kFieldName:
        if (!count_field_byte()) return fail(i, kErrHeaderTooLarge, "over the size limit", 431);
        if (c == ':') {
          state_ = State::kFieldValue;
          break;
        }
        if (kTchar[c]) {
          ++name_bytes_;
          break;
        }
        // RFC 9112 §5.1: "No whitespace is allowed between the field name and colon. ... A server
        // MUST reject, with a response status code of 400 (Bad Request), any received request
        // message that contains whitespace between a header field name and colon."
        if (c == ' ' || c == '\t') return fail(i, kErrBadRequest, "whitespace before the colon", 400);
        if (c == '\r' || c == '\n') return fail(i, kErrBadRequest, "field line without a colon", 400);
        return fail(i, kErrBadRequest, c == 0 ? kNul : "invalid character in a field name", 400);
      case State::kFieldValue: {
        // The hot loop for large tokens: validate the run up to the next CR without leaving it.
        size_t j = i;
        size_t& bytes = in_trailers_ ? trailer_bytes_ : field_bytes_;
        while (j < len && is_value_byte(p[j])) ++j;
        bytes += j - i;
        if (bytes > limits_.max_header_bytes) return fail(j, kErrHeaderTooLarge, "over the size limit", 431);
        if (j == len) {
          i = len - 1;
          break;
        }
        i = j;
        const unsigned char v = p[j];
        if (!count_field_byte()) return fail(i, kErrHeaderTooLarge, "over the size limit", 431);
        if (v == '\r') {
          state_ = State::kFieldLineLF;
          break;
        }
        if (v == '\n') return fail(i, kErrBadLineEnding, kBareLF, 400);
        if (v == 0) return fail(i, kErrBadLineEnding, kNul, 400);
        return fail(i, kErrBadLineEnding, "control byte in a field value", 400);
      }
      case State::kFieldLineLF:
        if (!count_field_byte()) return fail(i, kErrHeaderTooLarge, "over the size limit", 431);
        if (c != '\n') return fail(i, kErrBadLineEnding, kBareCR, 400);
        state_ = State::kFieldLineBegin;
        break;
      case State::kHeadEndLF: {
        if (c != '\n') return fail(i, kErrBadLineEnding, kBareCR, 400);
        Step s;
        s.consumed = i + 1;
        if (in_trailers_) {
          state_ = State::kDone;
          s.kind = Step::Kind::kMessageEnd;
        } else {
          state_ = State::kHeadEnded;
          s.kind = Step::Kind::kHeadEnd;
        }
        return s;
      }
      case State::kHeadEnded:
        // The caller must call start_body() first: a broken invariant, failed closed.
        return fail(i, kErrInternal, "body framing not set", request ? 400 : 502);

      // ---- bodies ---------------------------------------------------------------------------
      case State::kBodyLength: {
        const uint64_t n = std::min<uint64_t>(remaining_, len - i);
        remaining_ -= n;
        i += static_cast<size_t>(n) - 1;
        if (remaining_ == 0) {
          state_ = State::kDone;
          Step s;
          s.kind = Step::Kind::kMessageEnd;
          s.consumed = i + 1;
          return s;
        }
        break;
      }
      case State::kBodyUntilClose:
        more.consumed = len;
        return more;

      // RFC 9112 §7.1: chunked-body = *chunk last-chunk trailer-section CRLF
      //   chunk = chunk-size [ chunk-ext ] CRLF chunk-data CRLF;  chunk-size = 1*HEXDIG
      case State::kChunkSizeBegin: {
        chunk_line_bytes_ = 1;
        const int v = hex_value(c);
        if (v < 0) {
          return fail(i, kErrBadChunk,
                      (c == '-' || c == '+') ? "sign in chunk size" : "chunk size is not hexadecimal", 400);
        }
        chunk_size_ = static_cast<uint64_t>(v);
        state_ = State::kChunkSize;
        break;
      }
      case State::kChunkSize: {
        if (++chunk_line_bytes_ > limits_.max_chunk_line) return fail(i, kErrChunkLineTooLong, "over the limit", 400);
        const int v = hex_value(c);
        if (v >= 0) {
          if (chunk_size_ > (std::numeric_limits<uint64_t>::max() >> 4)) {
            return fail(i, kErrBadChunk, "chunk size overflow", 400);
          }
          chunk_size_ = (chunk_size_ << 4) | static_cast<uint64_t>(v);
          break;
        }
        if (c == ';') {
          state_ = State::kChunkExt;
          break;
        }
        if (c == '\r') {
          state_ = State::kChunkSizeLF;
          break;
        }
        if (c == '\n') return fail(i, kErrBadChunk, kBareLF, 400);
        if (c == 'x' || c == 'X') return fail(i, kErrBadChunk, "'0x' prefix in chunk size", 400);
        return fail(i, kErrBadChunk, "junk after the chunk size", 400);
      }
      case State::kChunkExt:
        if (++chunk_line_bytes_ > limits_.max_chunk_line) return fail(i, kErrChunkLineTooLong, "over the limit", 400);
        if (c == '\r') {
          state_ = State::kChunkSizeLF;
          break;
        }
        if (c == '\n') return fail(i, kErrBadChunk, kBareLF, 400);
        if (!is_value_byte(c)) return fail(i, kErrBadChunk, "control byte in a chunk extension", 400);
        break;
      case State::kChunkSizeLF:
        if (c != '\n') return fail(i, kErrBadChunk, kBareCR, 400);
        if (chunk_size_ == 0) {
          // last-chunk: the trailer section follows, read with the field-line states.
          in_trailers_ = true;
          state_ = State::kFieldLineBegin;
        } else {
          remaining_ = chunk_size_;
          state_ = State::kChunkData;
        }
        break;
      case State::kChunkData: {
        const uint64_t n = std::min<uint64_t>(remaining_, len - i);
        remaining_ -= n;
        i += static_cast<size_t>(n) - 1;
        if (remaining_ == 0) state_ = State::kChunkDataCR;
        break;
      }
      case State::kChunkDataCR:
        if (c != '\r') return fail(i, kErrBadChunk, "missing CRLF after chunk data", 400);
        state_ = State::kChunkDataLF;
        break;
      case State::kChunkDataLF:
        if (c != '\n') return fail(i, kErrBadChunk, "missing CRLF after chunk data", 400);
        state_ = State::kChunkSizeBegin;
        break;

      case State::kDone:
        // The message ended; the caller must call start_message() before the next one.
        return fail(i, kErrInternal, "bytes after the end of a message", request ? 400 : 502);
      case State::kFailed:
        return fail(i, kErrInternal, "input after an error", request ? 400 : 502);
    }
  }
  more.consumed = len;
  return more;
}

}  // namespace authscope::http
