// libFuzzer: HTTP/1.1 request and response framing (HttpParser + FramingScanner over llhttp).
//
// Input: byte 0 picks the mode (bit 0: response parser; bit 1: tiny limits; bits 2-3: the
// request method a response answers), byte 1 the size of the pieces for the second run, the
// rest is the wire. Besides "no crash, no sanitizer report", it checks that feeding the same bytes
// whole, in pieces and one byte at a time gives the same messages and the same verdict, and that
// every outcome obeys the parser's contract (consumed <= input, errors sticky, limits held).
#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>

#include <vector>

#include "proxy/http/authority.h"
#include "proxy/http/http_parser.h"
#include "proxy/http/serialize.h"

using namespace authscope;
using namespace authscope::http;

namespace {

#define FUZZ_CHECK(cond) \
  do {                   \
    if (!(cond)) __builtin_trap(); \
  } while (0)

struct Sink : HttpParser::Sink {
  std::string log;      // completed messages, rendered
  std::string current;  // head (and trailers) of the message being read
  std::string body;     // its body, joined: span boundaries depend on the reads
  size_t head_bytes_max = 0;
  std::vector<MessageHead> heads;    // every completed message, for the re-framing check
  std::vector<std::string> bodies;
  MessageHead last_head;
  void on_head(MessageHead& h) override {
    last_head = h;
    current = h.method + ' ' + h.target + ' ' + std::to_string(h.status) + ' ' + h.reason + ' ' + h.version + ' ' +
              to_string(h.framing) + ' ' + std::to_string(h.content_length) + (h.upgrade ? " up" : "") + '\n';
    for (const auto& f : h.headers.fields()) current += f.name + ':' + f.value + '\n';
    if (h.head_bytes > head_bytes_max) head_bytes_max = h.head_bytes;
    body.clear();
  }
  void on_body(std::string_view d) override { body.append(d); }
  void on_trailers(Headers& t) override {
    for (const auto& f : t.fields()) current += "T " + f.name + ':' + f.value + '\n';
  }
  void on_message_complete() override {
    heads.push_back(last_head);
    bodies.push_back(body);
    log += current + "body=" + std::to_string(body.size()) + ':' + body + "|done\n";
    current.clear();
    body.clear();
  }
};

struct Verdict {
  std::string log;
  bool error = false;
  bool upgrade = false;
  std::vector<MessageHead> heads;
  std::vector<std::string> bodies;
};

Verdict run(HttpParser::Kind kind, const ProxyLimits& limits, std::string_view method, std::string_view input,
            size_t piece) {
  Sink sink;
  HttpParser p(kind, limits, sink);
  if (kind == HttpParser::Kind::kResponse) p.expect_response_to(method);
  Verdict v;
  size_t pos = 0;
  while (pos < input.size()) {
    std::string_view chunk = input.substr(pos, piece);
    pos += chunk.size();
    for (int guard = 0; guard < 1'000'000; ++guard) {
      auto r = p.feed(chunk);
      FUZZ_CHECK(r.consumed <= chunk.size());
      if (r.outcome == HttpParser::Outcome::kOk) {
        FUZZ_CHECK(r.consumed == chunk.size());
        break;
      }
      if (r.outcome == HttpParser::Outcome::kMessageDone || r.outcome == HttpParser::Outcome::kPaused) {
        chunk.remove_prefix(r.consumed);
        if (chunk.empty()) break;
        continue;
      }
      if (r.outcome == HttpParser::Outcome::kUpgrade) {
        v.upgrade = true;
        v.log = sink.log;
        FUZZ_CHECK(p.done());
        return v;
      }
      // kError: sticky, with a status and an identity.
      FUZZ_CHECK(!r.error.empty());
      FUZZ_CHECK(r.http_status >= 400 && r.http_status < 600);
      FUZZ_CHECK(p.done());
      FUZZ_CHECK(p.feed(std::string_view("GET / HTTP/1.1\r\n\r\n")).outcome == HttpParser::Outcome::kError);
      v.error = true;
      v.log = sink.log;
      return v;
    }
  }
  v.heads = sink.heads;
  v.bodies = sink.bodies;
  auto f = p.finish();
  if (f.outcome == HttpParser::Outcome::kError) v.error = true;
  FUZZ_CHECK(sink.head_bytes_max <= limits.max_request_line + limits.max_header_bytes);
  v.log = sink.log;
  if (!v.error) v.log += sink.current + sink.body;  // a partial message must match too when nothing failed
  return v;
}

// Every request authscope accepted, once re-framed for the upstream, is accepted again by the
// same strict parser with the same method and body: authscope never forwards what it refuses.
void check_reframed(const MessageHead& head, const std::string& body) {
  if (head.upgrade) return;
  std::string path = head.target;
  std::string host = head.headers.find("Host") != nullptr ? *head.headers.find("Host") : std::string();
  if (classify_target(head.method, head.target) == TargetForm::kAbsolute) {
    auto uri = parse_absolute_uri(head.target);
    if (!uri.ok()) return;  // the session refuses it (non-http scheme, bad authority)
    path = uri->path_and_query;
    host = uri->host_header();
  }
  auto s = serialize_request_head(head, UpstreamRequest{path, host, false});
  std::string out = s.bytes;
  if (s.body == BodyWriting::kChunked) {
    append_chunk(out, body);
    append_last_chunk(out);
  } else if (s.body == BodyWriting::kIdentity) {
    out += body;
  }
  // Re-framing may add a Host and a framing field to a head that was at the limit.
  ProxyLimits roomy;
  roomy.max_header_bytes += 1024;
  roomy.max_header_fields += 2;
  Sink sink;
  HttpParser p(HttpParser::Kind::kRequest, roomy, sink);
  auto r = p.feed(out);
  FUZZ_CHECK(r.outcome == HttpParser::Outcome::kMessageDone);
  FUZZ_CHECK(r.consumed == out.size());
  FUZZ_CHECK(sink.heads.size() == 1);
  FUZZ_CHECK(sink.heads[0].method == head.method);
  FUZZ_CHECK(sink.bodies[0] == body);
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  if (size < 2) return 0;
  const uint8_t mode = data[0];
  const size_t piece = static_cast<size_t>(data[1] % 64) + 1;
  std::string_view input(reinterpret_cast<const char*>(data) + 2, size - 2);

  const auto kind = (mode & 1) ? HttpParser::Kind::kResponse : HttpParser::Kind::kRequest;
  ProxyLimits limits;
  if (mode & 2) {
    limits.max_request_line = 64;
    limits.max_header_bytes = 256;
    limits.max_header_fields = 8;
    limits.max_chunk_line = 16;
  }
  static constexpr std::string_view kMethods[] = {"GET", "HEAD", "CONNECT", "POST"};
  const std::string_view method = kMethods[(mode >> 2) & 3];

  const Verdict whole = run(kind, limits, method, input, input.size() + 1);
  const Verdict pieces = run(kind, limits, method, input, piece);
  FUZZ_CHECK(whole.error == pieces.error);
  FUZZ_CHECK(whole.upgrade == pieces.upgrade);
  FUZZ_CHECK(whole.log == pieces.log);
  if (kind == HttpParser::Kind::kRequest) {
    for (size_t i = 0; i < whole.heads.size(); ++i) check_reframed(whole.heads[i], whole.bodies[i]);
  }
  if (input.size() <= 2048) {
    const Verdict bytes = run(kind, limits, method, input, 1);
    FUZZ_CHECK(whole.error == bytes.error);
    FUZZ_CHECK(whole.log == bytes.log);
  }
  return 0;
}
