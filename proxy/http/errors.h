// Error identities of the HTTP/1.1 layer. They are stored verbatim in Flow::error and shown to
// users (reports, `authscope flows`), so each one reads as a sentence fragment; the parser adds a
// detail ("...: duplicate Content-Length") in FeedResult::detail. Compare them by value.
#pragma once

#include <string_view>

namespace authscope::http {

// 400: the request (or response) framing is malformed (RFC 9112 §2.2, §5, §6, §7).
inline constexpr std::string_view kErrBadRequest = "bad request framing";
// 400: the message could be read two ways (RFC 9112 §6.3: CL+TE, duplicate CL, TE other than a
// single final "chunked", TE in HTTP/1.0). Refused instead of forwarded: request smuggling.
inline constexpr std::string_view kErrSmuggling = "ambiguous message length (possible request smuggling)";
// 400: bytes no HTTP/1.1 message may contain in its head: bare CR or LF, NUL, obs-fold.
inline constexpr std::string_view kErrBadLineEnding = "bad line ending, control byte or folded line";
// 400: RFC 9112 §3.2 "A server MUST respond with a 400 ... to any HTTP/1.1 request message that
// lacks a Host header field and to any request message that contains more than one Host header field".
inline constexpr std::string_view kErrBadHost = "missing or duplicate Host header";
// 400: a bad chunk-size line (sign, 0x, overflow, junk) or missing CRLF after chunk data.
inline constexpr std::string_view kErrBadChunk = "bad chunked encoding";
// 400: a chunk-size line (with extensions) longer than ProxyLimits::max_chunk_line.
inline constexpr std::string_view kErrChunkLineTooLong = "chunk-size line too long";
// 414: request line longer than ProxyLimits::max_request_line.
inline constexpr std::string_view kErrUriTooLong = "request line too long";
// 431: header section larger than ProxyLimits::max_header_bytes (also bounds trailers).
inline constexpr std::string_view kErrHeaderTooLarge = "header section too large";
// 431: more than ProxyLimits::max_header_fields fields (also bounds trailers).
inline constexpr std::string_view kErrTooManyHeaders = "too many header fields";
// 400: a request target authscope cannot forward (non-http scheme, bad authority, userinfo in CONNECT).
inline constexpr std::string_view kErrBadTarget = "bad request target";
// 502: the upstream's response could not be parsed.
inline constexpr std::string_view kErrBadResponse = "malformed upstream response";
// 502: the upstream closed before a complete response.
inline constexpr std::string_view kErrIncompleteResponse = "upstream closed before the response was complete";
// 505: a version other than HTTP/1.0 or HTTP/1.1 in HTTP/1 syntax.
inline constexpr std::string_view kErrBadVersion = "unsupported HTTP version";
// 400/502: an internal inconsistency between the framing checks and llhttp (fails closed).
inline constexpr std::string_view kErrInternal = "internal HTTP framing error";
// 400: the client closed in the middle of a request.
inline constexpr std::string_view kErrIncompleteRequest = "client closed before the request was complete";

}  // namespace authscope::http
