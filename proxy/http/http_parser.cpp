#include "proxy/http/http_parser.h"

#include <llhttp.h>

#include <new>
#include <string>

#include "proxy/http/authority.h"
#include "proxy/http/errors.h"
#include "proxy/http/framing_scanner.h"

namespace authscope::http {

const char* to_string(Framing framing) {
  switch (framing) {
    case Framing::kNone: return "none";
    case Framing::kContentLength: return "content-length";
    case Framing::kChunked: return "chunked";
    case Framing::kUntilClose: return "until-close";
  }
  return "?";
}

std::string HttpParser::FeedResult::message() const {
  std::string out(error);
  if (!detail.empty()) {
    out += ": ";
    out += detail;
  }
  return out;
}

namespace {

bool has_token(std::string_view list, std::string_view token) {
  // A comma-separated list of tokens (RFC 9110 §5.6.1), compared case-insensitively.
  size_t pos = 0;
  while (pos <= list.size()) {
    size_t comma = list.find(',', pos);
    if (comma == std::string_view::npos) comma = list.size();
    std::string_view item = list.substr(pos, comma - pos);
    while (!item.empty() && (item.front() == ' ' || item.front() == '\t')) item.remove_prefix(1);
    while (!item.empty() && (item.back() == ' ' || item.back() == '\t')) item.remove_suffix(1);
    if (iequals(item, token)) return true;
    pos = comma + 1;
  }
  return false;
}

// RFC 9112 §9.3: HTTP/1.1 persists unless "close" is a connection option; HTTP/1.0 only with
// "keep-alive". (llhttp_should_keep_alive() also asks whether the body ends at EOF, which it
// cannot know yet for a HEAD response inside on_headers_complete; the framing decided here does.)
bool connection_persists(const llhttp_t& p) {
  if (p.flags & F_CONNECTION_CLOSE) return false;
  if (p.http_major == 1 && p.http_minor == 1) return true;
  return (p.flags & F_CONNECTION_KEEP_ALIVE) != 0;
}

void trim_trailing_ows(std::string& s) {
  while (!s.empty() && (s.back() == ' ' || s.back() == '\t')) s.pop_back();
}

}  // namespace

// Everything llhttp touches lives here, so the public header stays free of llhttp.h.
struct HttpParser::Impl {
  Impl(Kind k, const ProxyLimits& l, Sink& s)
      : kind(k),
        limits(l),
        sink(s),
        scanner(k == Kind::kRequest ? FramingScanner::Role::kRequest : FramingScanner::Role::kResponse, l) {
    llhttp_init(&parser, k == Kind::kRequest ? HTTP_REQUEST : HTTP_RESPONSE, &settings());
    // Node's ContainerOf recovers the wrapper from the embedded parser; llhttp's documented
    // `data` pointer does the same job without offsetof on a non-standard-layout type.
    parser.data = this;
    field.reserve(64);
    value.reserve(256);
  }

  static const llhttp_settings_t& settings();
  static Impl& self(llhttp_t* p) { return *static_cast<Impl*>(p->data); }
  template <int (Impl::*M)()>
  static int cb(llhttp_t* p) noexcept;
  template <int (Impl::*M)(const char*, size_t)>
  static int data_cb(llhttp_t* p, const char* at, size_t len) noexcept;

  // ---- callbacks (return llhttp codes; never throw: see the trampolines) -----------------
  int on_message_begin();
  int on_url(const char* at, size_t len) { head.target.append(at, len); return 0; }
  int on_status(const char* at, size_t len) { head.reason.append(at, len); return 0; }
  int on_header_field(const char* at, size_t len) { field.append(at, len); return 0; }
  int on_header_value(const char* at, size_t len) { value.append(at, len); return 0; }
  int on_header_value_complete();
  int on_headers_complete();
  int on_body(const char* at, size_t len);
  int on_message_complete();

  // Records a refusal found inside a callback; the callback then returns HPE_USER (data
  // callbacks) or -1, and feed() reports this instead of llhttp's generic code.
  int refuse(std::string_view error, std::string_view detail, int request_status) {
    if (!cb_failed) {
      cb_failed = true;
      cb_error = error;
      cb_detail = std::string(detail);
      cb_status = request_status;
    }
    return HPE_USER;
  }
  int headers_complete_checks();

  FeedResult error_result(std::string_view error, std::string_view detail, int request_status, size_t consumed);
  FeedResult fail(FeedResult r) {
    failed = true;
    sticky = r;
    sticky.consumed = 0;
    return r;
  }
  FeedResult map_llhttp_error(llhttp_errno_t e, size_t consumed);

  FeedResult feed(const char* data, size_t len);
  FeedResult finish();

  llhttp_t parser;
  Kind kind;
  ProxyLimits limits;
  Sink& sink;
  FramingScanner scanner;

  MessageHead head;
  Headers trailers;
  std::string field, value;  // the field line being read; fragments joined across reads
  size_t host_count = 0, cl_count = 0, te_count = 0;
  std::string upgrade_value;
  std::string host_value;

  bool in_message = false;
  bool headers_done = false;
  bool message_done = false;   // set by on_message_complete during the current execute
  bool upgrade = false;        // the current message switches protocols
  bool in_head_callback = false;
  bool pause_requested = false;
  bool paused = false;         // llhttp is in HPE_PAUSED and needs llhttp_resume()
  bool upgraded = false;       // kUpgrade returned: nothing more to parse
  bool failed = false;         // kError returned: sticky

  bool cb_failed = false;
  std::string_view cb_error;
  std::string cb_detail;
  int cb_status = 400;

  FeedResult sticky;
  bool expect_head = false;     // responses: the request was HEAD
  bool expect_connect = false;  // responses: the request was CONNECT
};

// Trampolines: llhttp calls plain C functions; these recover the Impl and keep every exception
// (std::bad_alloc included) inside, as llhttp's C frames must never be unwound.
template <int (HttpParser::Impl::*M)()>
int HttpParser::Impl::cb(llhttp_t* p) noexcept {
  Impl& impl = self(p);
  try {
    return (impl.*M)();
  } catch (const std::bad_alloc&) {
    impl.refuse(kErrInternal, "out of memory", 500);
  } catch (...) {
    impl.refuse(kErrInternal, "exception in a parser callback", 500);
  }
  return -1;
}

template <int (HttpParser::Impl::*M)(const char*, size_t)>
int HttpParser::Impl::data_cb(llhttp_t* p, const char* at, size_t len) noexcept {
  Impl& impl = self(p);
  try {
    return (impl.*M)(at, len);
  } catch (const std::bad_alloc&) {
    impl.refuse(kErrInternal, "out of memory", 500);
  } catch (...) {
    impl.refuse(kErrInternal, "exception in a parser callback", 500);
  }
  return HPE_USER;
}

const llhttp_settings_t& HttpParser::Impl::settings() {
  static const llhttp_settings_t kSettings = [] {
    llhttp_settings_t s;
    llhttp_settings_init(&s);
    s.on_message_begin = cb<&Impl::on_message_begin>;
    s.on_url = data_cb<&Impl::on_url>;
    s.on_status = data_cb<&Impl::on_status>;
    s.on_header_field = data_cb<&Impl::on_header_field>;
    s.on_header_value = data_cb<&Impl::on_header_value>;
    s.on_header_value_complete = cb<&Impl::on_header_value_complete>;
    s.on_headers_complete = cb<&Impl::on_headers_complete>;
    s.on_body = data_cb<&Impl::on_body>;
    s.on_message_complete = cb<&Impl::on_message_complete>;
    return s;
  }();
  return kSettings;
}

int HttpParser::Impl::on_message_begin() {
  in_message = true;
  headers_done = false;
  message_done = false;
  upgrade = false;
  pause_requested = false;
  head = MessageHead{};
  trailers.clear();
  field.clear();
  value.clear();
  upgrade_value.clear();
  host_value.clear();
  host_count = cl_count = te_count = 0;
  return 0;
}

int HttpParser::Impl::on_header_value_complete() {
  // RFC 9110 §5.5: "a field value does not include leading or trailing whitespace"; llhttp drops
  // the leading OWS, the trailing OWS is dropped here.
  trim_trailing_ows(value);
  if (headers_done) {
    trailers.add(field, value);
  } else {
    if (iequals(field, "Host")) {
      ++host_count;
      host_value = value;
    } else if (iequals(field, "Content-Length")) {
      ++cl_count;
    } else if (iequals(field, "Transfer-Encoding")) {
      ++te_count;
      // RFC 9112 §6.3: "If a Transfer-Encoding header field is present in a request and the
      // chunked transfer coding is not the final encoding, the message body length cannot be
      // determined reliably; the server MUST respond with the 400 (Bad Request) status code and
      // then close the connection." authscope goes further and accepts only a lone "chunked":
      // any other coding would have to be forwarded as-is, and re-framing could not remove it.
      if (!iequals(value, "chunked")) {
        return refuse(kErrSmuggling, "Transfer-Encoding other than a single 'chunked'", 400);
      }
    } else if (iequals(field, "Upgrade")) {
      upgrade_value = value;
    } else if (iequals(field, "Expect")) {
      if (iequals(value, "100-continue")) head.expect_continue = true;
    }
    head.headers.add(field, value);  // copies: the accumulators keep their capacity
  }
  field.clear();
  value.clear();
  return 0;
}

// Checks llhttp 8.1 does not do on its own. Returns 0 or refuse(...).
int HttpParser::Impl::headers_complete_checks() {
  const bool request = kind == Kind::kRequest;
  const int major = parser.http_major, minor = parser.http_minor;
  if (major != 1 || minor > 1) {
    return refuse(kErrBadVersion, "only HTTP/1.0 and HTTP/1.1 are spoken here", 505);
  }
  // RFC 9112 §6.3 item 3: "If a message is received with both a Transfer-Encoding and a
  // Content-Length header field, the Transfer-Encoding overrides the Content-Length. Such a
  // message might indicate an attempt to perform request smuggling ... and ought to be handled
  // as an error." llhttp refuses this too (no lenient flag); checked again because it matters.
  if (te_count > 0 && cl_count > 0) return refuse(kErrSmuggling, "both Content-Length and Transfer-Encoding", 400);
  // Duplicate Content-Length, even with identical values: RFC 9110 §8.6 lets a recipient merge
  // identical values, but a peer that keeps the first and one that keeps the last (or one that
  // rejects) read different messages; refusing costs nothing, as no real client sends it twice.
  if (cl_count > 1) return refuse(kErrSmuggling, "duplicate Content-Length", 400);
  if (te_count > 1) return refuse(kErrSmuggling, "duplicate Transfer-Encoding", 400);
  // RFC 9112 §6.1: "A server or client that receives an HTTP/1.0 message containing a
  // Transfer-Encoding header field MUST treat the message as if the framing is faulty".
  if (te_count > 0 && minor == 0) return refuse(kErrSmuggling, "Transfer-Encoding in an HTTP/1.0 message", 400);
  if (!request) return 0;

  // RFC 9112 §3.2: "A server MUST respond with a 400 (Bad Request) status code to any HTTP/1.1
  // request message that lacks a Host header field and to any request message that contains
  // more than one Host header field line or a Host header field with an invalid field value."
  if (host_count > 1) return refuse(kErrBadHost, "duplicate Host", 400);
  const TargetForm form = classify_target(head.method, head.target);
  if (form == TargetForm::kInvalid) return refuse(kErrBadTarget, "request target of no known form", 400);
  if (host_count == 0 && minor == 1 && (form == TargetForm::kOrigin || form == TargetForm::kAsterisk)) {
    return refuse(kErrBadHost, "missing Host in an HTTP/1.1 request", 400);
  }
  // "... or a Host header field with an invalid field value": a Host that is not
  // host[:port] ("a@b", "a/b", "a b", "a:99999") names no origin; an empty one is allowed only
  // where the target has no authority of its own (RFC 9110 §7.2).
  if (host_count == 1 && !(host_value.empty() && form != TargetForm::kAuthority)) {
    if (!parse_host_header(host_value, 80).ok()) return refuse(kErrBadHost, "invalid Host value", 400);
  }
  if (parser.method == HTTP_CONNECT) {
    // RFC 9110 §9.3.6: "A CONNECT request message does not have content." A body here would be
    // read as tunnel bytes by one side and as content by another.
    if (te_count > 0 || parser.content_length > 0) return refuse(kErrBadRequest, "CONNECT with content", 400);
  }
  return 0;
}

int HttpParser::Impl::on_headers_complete() {
  headers_done = true;
  const bool request = kind == Kind::kRequest;
  if (request) head.method = llhttp_method_name(static_cast<llhttp_method_t>(parser.method));
  head.status = request ? 0 : parser.status_code;
  head.version = "HTTP/" + std::to_string(parser.http_major) + "." + std::to_string(parser.http_minor);
  if (headers_complete_checks() != 0) return -1;

  const bool chunked = (parser.flags & F_CHUNKED) != 0;
  const bool has_length = (parser.flags & F_CONTENT_LENGTH) != 0;
  int rc = 0;  // llhttp: 0 proceed, 1 no body, 2 no body + HPE_PAUSED_UPGRADE
  if (request) {
    head.framing = chunked ? Framing::kChunked : has_length ? Framing::kContentLength : Framing::kNone;
    if (parser.method == HTTP_CONNECT) {
      upgrade = true;
    } else if (parser.upgrade) {
      // llhttp flags any `Upgrade` + `Connection: upgrade` request. Only websocket is handed
      // over to a tunnel; h2c and the rest are stripped by the serializer and the request is
      // forwarded as plain HTTP/1.1 (RFC 9110 §7.8: the server may ignore Upgrade).
      if (has_token(upgrade_value, "websocket")) {
        if (head.framing != Framing::kNone && (chunked || parser.content_length > 0)) {
          refuse(kErrBadRequest, "upgrade request with content", 400);
          return -1;
        }
        upgrade = true;
      } else {
        parser.upgrade = 0;
      }
    }
  } else {
    const int status = parser.status_code;
    // RFC 9112 §6.3 items 1-2: "Any response to a HEAD request and any response with a 1xx
    // (Informational), 204 (No Content), or 304 (Not Modified) status code is always terminated
    // by the first empty line after the header fields ... Any 2xx (Successful) response to a
    // CONNECT request implies that the connection will become a tunnel immediately after the
    // empty line that concludes the header fields."
    if (expect_connect && status >= 200 && status < 300) {
      upgrade = true;
      head.framing = Framing::kNone;
      rc = 2;
    } else if (status == 101) {
      // RFC 9110 §15.2.2: after the 101 "the server will switch to the protocols defined by the
      // response's Upgrade header field immediately after the empty line". Forced with rc 2 even
      // when the Upgrade field is missing (llhttp would otherwise keep reading HTTP).
      upgrade = true;
      head.framing = Framing::kNone;
      rc = 2;
    } else if (expect_head || (status >= 100 && status < 200) || status == 204 || status == 304) {
      head.framing = Framing::kNone;
      rc = 1;
    } else {
      head.framing = chunked ? Framing::kChunked : has_length ? Framing::kContentLength : Framing::kUntilClose;
    }
  }
  head.content_length = head.framing == Framing::kContentLength ? parser.content_length : 0;
  head.upgrade = upgrade;
  head.keep_alive = head.framing != Framing::kUntilClose && connection_persists(parser);
  head.head_bytes = scanner.head_bytes();

  switch (head.framing) {
    case Framing::kNone: scanner.start_body(FramingScanner::Body::kNone, 0); break;
    case Framing::kContentLength: scanner.start_body(FramingScanner::Body::kLength, head.content_length); break;
    case Framing::kChunked: scanner.start_body(FramingScanner::Body::kChunked, 0); break;
    case Framing::kUntilClose: scanner.start_body(FramingScanner::Body::kUntilClose, 0); break;
  }

  in_head_callback = true;
  sink.on_head(head);
  in_head_callback = false;

  const bool has_body = head.framing == Framing::kChunked || head.framing == Framing::kUntilClose ||
                        (head.framing == Framing::kContentLength && head.content_length > 0);
  if (rc == 0 && pause_requested && has_body && !upgrade) {
    pause_requested = false;
    return HPE_PAUSED;
  }
  pause_requested = false;
  return rc;
}

int HttpParser::Impl::on_body(const char* at, size_t len) {
  sink.on_body(std::string_view(at, len));
  return 0;
}

int HttpParser::Impl::on_message_complete() {
  in_message = false;
  message_done = true;
  if (!trailers.empty()) sink.on_trailers(trailers);
  sink.on_message_complete();
  // An upgrade ends in HPE_PAUSED_UPGRADE by llhttp itself; pausing here would lose it.
  if (upgrade) return 0;
  return HPE_PAUSED;
}

HttpParser::FeedResult HttpParser::Impl::error_result(std::string_view error, std::string_view detail,
                                                      int request_status, size_t consumed) {
  FeedResult r;
  r.outcome = Outcome::kError;
  r.consumed = consumed;
  if (kind == Kind::kRequest) {
    r.error = error;
    r.detail = std::string(detail);
    r.http_status = request_status;
  } else {
    // Whatever was wrong with the upstream's response, the client gets a 502 naming it.
    r.error = kErrBadResponse;
    if (error != kErrBadResponse) {
      r.detail = std::string(error);
      if (!detail.empty()) r.detail += ": ";
    }
    r.detail += detail;
    r.http_status = 502;
  }
  return r;
}

HttpParser::FeedResult HttpParser::Impl::map_llhttp_error(llhttp_errno_t e, size_t consumed) {
  if (cb_failed) return error_result(cb_error, cb_detail, cb_status, consumed);
  const char* reason = llhttp_get_error_reason(&parser);
  std::string_view detail = reason != nullptr ? reason : llhttp_errno_name(e);
  switch (e) {
    case HPE_UNEXPECTED_CONTENT_LENGTH:
    case HPE_INVALID_CONTENT_LENGTH:
    case HPE_INVALID_TRANSFER_ENCODING:
      return error_result(kErrSmuggling, detail, 400, consumed);
    case HPE_INVALID_CHUNK_SIZE:
    case HPE_STRICT:
      return error_result(kErrBadChunk, detail, 400, consumed);
    case HPE_CR_EXPECTED:
    case HPE_LF_EXPECTED:
      return error_result(kErrBadLineEnding, detail, 400, consumed);
    case HPE_INVALID_URL:
      return error_result(kErrBadTarget, detail, 400, consumed);
    case HPE_INVALID_EOF_STATE:
      return error_result(kind == Kind::kRequest ? kErrIncompleteRequest : kErrIncompleteResponse, "", 400,
                          consumed);
    default:
      return error_result(kErrBadRequest, detail, 400, consumed);
  }
}

HttpParser::FeedResult HttpParser::Impl::feed(const char* data, size_t len) {
  if (failed) return sticky;
  FeedResult r;
  if (upgraded) {
    r.outcome = Outcome::kUpgrade;
    return r;
  }
  if (paused) {
    llhttp_resume(&parser);
    paused = false;
  }
  size_t pos = 0;
  while (pos < len) {
    // 1. The scanner validates the bytes up to the next boundary before llhttp sees them.
    const FramingScanner::Step step = scanner.scan(data + pos, len - pos);
    if (step.kind == FramingScanner::Step::Kind::kError) {
      return fail(error_result(step.error, step.detail, step.status, pos + step.consumed));
    }
    const size_t seg = step.consumed;
    // 2. llhttp parses exactly those bytes and drives the Sink.
    message_done = false;
    const llhttp_errno_t e = llhttp_execute(&parser, data + pos, seg);
    if (e == HPE_OK) {
      // llhttp pauses at every message end and at every head end that has no body, so reaching
      // a boundary without a pause means the two disagree: fail closed.
      if (step.kind == FramingScanner::Step::Kind::kMessageEnd ||
          (step.kind == FramingScanner::Step::Kind::kHeadEnd && !headers_done)) {
        return fail(error_result(kErrInternal, "framing checks and llhttp disagree", 400, pos + seg));
      }
      pos += seg;
      continue;
    }
    const size_t at = static_cast<size_t>(llhttp_get_error_pos(&parser) - (data + pos));
    if (e == HPE_PAUSED) {
      paused = true;
      r.consumed = pos + at;
      if (message_done) {
        if (at != seg) {
          return fail(error_result(kErrInternal, "message end differs between checks and llhttp", 400, pos + at));
        }
        scanner.start_message();
        r.outcome = Outcome::kMessageDone;
      } else {
        r.outcome = Outcome::kPaused;  // the sink asked to stop before the body
      }
      return r;
    }
    if (e == HPE_PAUSED_UPGRADE) {
      upgraded = true;
      r.outcome = Outcome::kUpgrade;
      r.consumed = pos + at;
      return r;
    }
    return fail(map_llhttp_error(e, pos + at));
  }
  r.outcome = Outcome::kOk;
  r.consumed = len;
  return r;
}

HttpParser::FeedResult HttpParser::Impl::finish() {
  if (failed) return sticky;
  FeedResult r;
  if (upgraded || !in_message) return r;  // EOF between messages is a clean close
  if (paused) {
    llhttp_resume(&parser);
    paused = false;
  }
  message_done = false;
  const llhttp_errno_t e = llhttp_finish(&parser);
  if (e == HPE_PAUSED && message_done) {  // a read-until-close body ended
    paused = true;
    scanner.start_message();
    r.outcome = Outcome::kMessageDone;
    return r;
  }
  if (e == HPE_OK && !in_message) return r;
  if (e == HPE_OK || e == HPE_INVALID_EOF_STATE) {
    return fail(error_result(kind == Kind::kRequest ? kErrIncompleteRequest : kErrIncompleteResponse, "", 400, 0));
  }
  return fail(map_llhttp_error(e, 0));
}

HttpParser::HttpParser(Kind kind, const ProxyLimits& limits, Sink& sink)
    : kind_(kind), impl_(std::make_unique<Impl>(kind, limits, sink)) {}
HttpParser::~HttpParser() = default;

HttpParser::FeedResult HttpParser::feed(const char* data, size_t len) { return impl_->feed(data, len); }
HttpParser::FeedResult HttpParser::finish() { return impl_->finish(); }

void HttpParser::expect_response_to(std::string_view request_method) {
  impl_->expect_head = iequals(request_method, "HEAD");
  impl_->expect_connect = iequals(request_method, "CONNECT");
}

void HttpParser::release_idle_memory() {
  if (impl_->in_message) return;
  for (std::string* buf : {&impl_->field, &impl_->value, &impl_->upgrade_value, &impl_->host_value}) {
    std::string().swap(*buf);
  }
  impl_->head = MessageHead{};
  impl_->trailers.clear();
}

void HttpParser::pause() {
  if (impl_->in_head_callback) impl_->pause_requested = true;
}

void HttpParser::resume() {
  if (impl_->paused) {
    llhttp_resume(&impl_->parser);
    impl_->paused = false;
  }
}

bool HttpParser::in_message() const { return impl_->in_message; }
bool HttpParser::done() const { return impl_->failed || impl_->upgraded; }

}  // namespace authscope::http
