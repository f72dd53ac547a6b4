// HttpParser: a sans-io HTTP/1.1 message reader over llhttp 8.1, one per direction per connection.
//
// Contract
// - The caller feeds bytes as they arrive; the parser calls the Sink synchronously from inside
//   feed()/finish() and never keeps a pointer into the caller's buffer after returning (header
//   fragments split across reads are joined in owned strings).
// - Strict by design (issue 7): no llhttp lenient flag is set, and the checks llhttp 8.1 does not
//   do (bare CR/LF, NUL, obs-fold, duplicate or empty Content-Length, Host rules, size limits) are
//   done here. Every refusal is an Outcome::kError with an HTTP status to answer (400/414/431 for
//   requests; the session answers 502 for a bad response) and an error identity from errors.h.
//   Errors are sticky: after kError the parser refuses all further input; the session closes.
// - The parser pauses after every complete message (Outcome::kMessageDone), so a session answers
//   pipelined requests strictly in order: it handles the message, then feeds the rest of the
//   buffer (data + consumed) again. Feeding after kMessageDone resumes implicitly.
// - CONNECT requests, requests with `Upgrade: websocket` + `Connection: upgrade`, 101 responses
//   and 2xx responses to CONNECT end with Outcome::kUpgrade: the bytes after `consumed` belong to
//   the tunnel or TLS layer and this parser reads nothing more (done() is true). `Upgrade: h2c`
//   is not an upgrade (authscope strips it; RFC 9110 §7.8 lets a server ignore Upgrade). If the
//   upstream answers a websocket request with anything but 101, the client connection cannot go
//   back to HTTP through this parser: close it after relaying that response.
// - How the checks are split: FramingScanner (framing_scanner.h) validates every byte of the
//   head, the chunk framing and the trailers before llhttp sees it; llhttp then parses exactly
//   those bytes; the header callbacks add the semantic rules (CL/TE/Host/version/target form).
// - Responses: call expect_response_to(request method) before each response (HEAD => no body,
//   CONNECT 2xx => upgrade). 1xx responses other than 101 are complete messages of their own: the
//   session forwards them and keeps reading the final response with the same expectation.
// - Read-until-close response bodies (Framing::kUntilClose) end at EOF: call finish().
// - No exception leaves the parser: callbacks catch everything (std::bad_alloc included) and
//   turn it into kError.
// Not thread-safe; one parser belongs to one session on one loop.
#pragma once

#include <cstddef>
#include <cstdint>
#include <memory>
#include <string>
#include <string_view>

#include "model/headers.h"
#include "proxy/proxy_options.h"

namespace authscope::http {

// How the body of a message is delimited on the wire (RFC 9112 §6.3).
enum class Framing {
  kNone,           // no body: GET without CL, HEAD response, 1xx/204/304, CL: 0
  kContentLength,  // exactly content_length bytes
  kChunked,        // Transfer-Encoding: chunked (the Sink receives de-chunked bytes)
  kUntilClose,     // responses only: the body ends when the upstream closes (finish())
};
const char* to_string(Framing framing);

// The start line and header section of one message, as received (original case and order).
struct MessageHead {
  // Requests.
  std::string method;   // "GET", "CONNECT", ...
  std::string target;   // request-target as sent (origin-, absolute-, authority- or asterisk-form)
  // Responses.
  int status = 0;
  std::string reason;
  // Both.
  std::string version;  // "HTTP/1.1" or "HTTP/1.0"
  Headers headers;      // trailing whitespace of values trimmed (RFC 9110 §5.5)
  bool keep_alive = false;      // llhttp_should_keep_alive(): version + Connection
  bool upgrade = false;         // this message switches protocols (see Outcome::kUpgrade)
  Framing framing = Framing::kNone;
  uint64_t content_length = 0;  // valid when framing == kContentLength
  bool expect_continue = false; // request carries `Expect: 100-continue`
  size_t head_bytes = 0;        // bytes of start line + fields counted against the limits
};

class HttpParser {
 public:
  enum class Kind { kRequest, kResponse };

  // Receives what the parser reads. Called synchronously from feed()/finish().
  struct Sink {
    virtual ~Sink() = default;
    // The head is complete. The sink may move fields out of `head`. It may call
    // HttpParser::pause() here to stop before the body (feed() then returns kPaused). The call
    // is ignored when the message has no body: it completes at once (kMessageDone/kUpgrade).
    virtual void on_head(MessageHead& head) = 0;
    // A span of body bytes (de-chunked). Valid only during the call.
    virtual void on_body(std::string_view data) = 0;
    // Trailer fields of a chunked message (bounded by the header limits). Default: dropped.
    virtual void on_trailers(Headers& /*trailers*/) {}
    // The message is complete; feed() returns kMessageDone or kUpgrade right after.
    virtual void on_message_complete() = 0;
  };

  enum class Outcome {
    kOk,           // every byte consumed; need more input
    kMessageDone,  // one message complete; bytes after `consumed` not read yet
    kPaused,       // the sink called pause() in on_head; bytes after `consumed` not read yet
    kUpgrade,      // message complete; bytes after `consumed` belong to the tunnel/TLS layer
    kError,        // refused: answer `http_status` (requests) and close
  };

  struct FeedResult {
    Outcome outcome = Outcome::kOk;
    size_t consumed = 0;         // bytes of this call's input that were read
    int http_status = 0;         // kError: 400, 414, 431 (requests); 502 for responses
    std::string_view error;      // kError: one of the kErr* identities in errors.h
    std::string detail;          // kError: what exactly, e.g. "duplicate Content-Length"

    bool ok() const { return outcome != Outcome::kError; }
    // "bad request framing: duplicate Content-Length" — what goes into Flow::error.
    std::string message() const;
  };

  HttpParser(Kind kind, const ProxyLimits& limits, Sink& sink);
  ~HttpParser();
  HttpParser(const HttpParser&) = delete;
  HttpParser& operator=(const HttpParser&) = delete;

  FeedResult feed(const char* data, size_t len);
  FeedResult feed(std::string_view data) { return feed(data.data(), data.size()); }
  // End of input from the peer. Completes a read-until-close response (kMessageDone); between
  // messages it returns kOk; inside any other message it returns kError (incomplete).
  FeedResult finish();

  // Responses only: the method of the request this response answers (RFC 9112 §6.3 rules 1-2:
  // HEAD responses and 2xx to CONNECT have no body). Call before feeding each response.
  void expect_response_to(std::string_view request_method);
  // Stop before the body; only honoured when called from Sink::on_head.
  // Between messages: frees the field buffers the last message grew (a 12 KB Authorization
  // value, say), so an idle keep-alive connection holds none. No-op inside a message.
  void release_idle_memory();
  void pause();
  // Explicit resume after kMessageDone or kPaused (feed() also resumes implicitly).
  void resume();
  // True between the first byte of a message and its completion.
  bool in_message() const;
  // True after kError or kUpgrade: nothing more may be fed.
  bool done() const;
  Kind kind() const { return kind_; }

 private:
  struct Impl;
  Kind kind_;
  std::unique_ptr<Impl> impl_;
};

}  // namespace authscope::http
