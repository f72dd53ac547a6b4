// HttpParser: framing, splits, pipelining, responses, every strictness rule of issue 7, limits.
#include <catch2/catch.hpp>

#include <stdexcept>
#include <string>
#include <vector>

#include "proxy/http/errors.h"
#include "proxy/http/http_parser.h"

using namespace authscope;
using namespace authscope::http;
using Outcome = HttpParser::Outcome;

namespace {

struct Msg {
  MessageHead head;
  std::string body;
  Headers trailers;
  bool complete = false;
};

struct RecordingSink : HttpParser::Sink {
  std::vector<Msg> msgs;
  HttpParser* parser = nullptr;
  bool pause_on_head = false;
  bool throw_on_body = false;
  void on_head(MessageHead& head) override {
    msgs.push_back(Msg{head, "", {}, false});
    if (pause_on_head && parser != nullptr) parser->pause();
  }
  void on_body(std::string_view data) override {
    if (throw_on_body) throw std::runtime_error("sink failure");
    msgs.back().body.append(data);
  }
  void on_trailers(Headers& t) override { msgs.back().trailers = t; }
  void on_message_complete() override { msgs.back().complete = true; }
};

struct Run {
  std::vector<Msg> msgs;
  Outcome end = Outcome::kOk;
  std::string_view error;
  std::string detail;
  int status = 0;
  std::string after_upgrade;  // bytes handed to the tunnel
  size_t message_done = 0;    // kMessageDone outcomes seen
};

// Feeds `input` cut at `cuts` (ascending offsets), re-feeding the unread rest after each
// kMessageDone exactly as a session does. `finish` sends EOF at the end.
Run run(HttpParser::Kind kind, std::string_view input, const std::vector<size_t>& cuts, bool finish = false,
        std::string_view response_to = "GET", ProxyLimits limits = {}) {
  RecordingSink sink;
  HttpParser p(kind, limits, sink);
  sink.parser = &p;
  if (kind == HttpParser::Kind::kResponse) p.expect_response_to(response_to);
  Run out;
  std::vector<std::string_view> pieces;
  size_t prev = 0;
  for (size_t c : cuts) {
    pieces.push_back(input.substr(prev, c - prev));
    prev = c;
  }
  pieces.push_back(input.substr(prev));
  for (size_t i = 0; i < pieces.size(); ++i) {
    std::string_view piece = pieces[i];
    for (int guard = 0; guard < 100000; ++guard) {
      auto r = p.feed(piece);
      if (r.outcome == Outcome::kMessageDone) {
        ++out.message_done;
        piece.remove_prefix(r.consumed);
        if (piece.empty()) break;
        continue;
      }
      if (r.outcome == Outcome::kOk) {
        REQUIRE(r.consumed == piece.size());
        break;
      }
      if (r.outcome == Outcome::kUpgrade) {
        out.end = Outcome::kUpgrade;
        out.after_upgrade = std::string(piece.substr(r.consumed));
        for (size_t j = i + 1; j < pieces.size(); ++j) out.after_upgrade += pieces[j];
        out.msgs = sink.msgs;
        return out;
      }
      if (r.outcome == Outcome::kPaused) {
        piece.remove_prefix(r.consumed);
        continue;
      }
      out.end = Outcome::kError;
      out.error = r.error;
      out.detail = r.detail;
      out.status = r.http_status;
      out.msgs = sink.msgs;
      REQUIRE(p.done());
      return out;
    }
  }
  if (finish) {
    auto r = p.finish();
    if (r.outcome == Outcome::kMessageDone) ++out.message_done;
    if (r.outcome == Outcome::kError) {
      out.end = Outcome::kError;
      out.error = r.error;
      out.detail = r.detail;
      out.status = r.http_status;
    }
  }
  out.msgs = sink.msgs;
  return out;
}

Run run_whole(HttpParser::Kind kind, std::string_view input, bool finish = false, std::string_view response_to = "GET",
              ProxyLimits limits = {}) {
  return run(kind, input, {}, finish, response_to, limits);
}
Run req(std::string_view input, ProxyLimits limits = {}) {
  return run(HttpParser::Kind::kRequest, input, {}, false, "GET", limits);
}

// A comparable rendering of everything the sink saw.
std::string render(const Run& r) {
  std::string s;
  for (const auto& m : r.msgs) {
    s += m.head.method + "|" + m.head.target + "|" + std::to_string(m.head.status) + "|" + m.head.reason + "|" +
         m.head.version + "|" + to_string(m.head.framing) + "|" + std::to_string(m.head.content_length) + "|" +
         (m.head.keep_alive ? "ka" : "close") + "|" + (m.head.upgrade ? "up" : "") + "\n";
    for (const auto& f : m.head.headers.fields()) s += "  " + f.name + ": " + f.value + "\n";
    s += "  body[" + m.body + "]";
    for (const auto& f : m.trailers.fields()) s += " trailer " + f.name + ": " + f.value;
    s += m.complete ? " complete\n" : " partial\n";
  }
  s += "end=" + std::to_string(static_cast<int>(r.end)) + " " + std::string(r.error) + " " + r.detail + " rest[" +
       r.after_upgrade + "]";
  return s;
}

const std::string kTwoRequests =
    "POST /token?x=1 HTTP/1.1\r\n"
    "Host: login.microsoftonline.com\r\n"
    "Content-Type: application/x-www-form-urlencoded\r\n"
    "Transfer-Encoding: chunked\r\n"
    "\r\n"
    "5;ext=1\r\nhello\r\n"
    "6\r\n world\r\n"
    "0\r\n"
    "X-Trailer: t1\r\n"
    "\r\n"
    "GET /next HTTP/1.1\r\n"
    "Host: graph.microsoft.com\r\n"
    "Content-Length: 3\r\n"
    "X-Spaces:   padded value   \r\n"
    "\r\n"
    "abc";

}  // namespace

TEST_CASE("a simple GET is parsed into a head and completes", "[unit][http]") {
  auto r = req("GET /a?b=c HTTP/1.1\r\nHost: example.com\r\nAccept: */*\r\n\r\n");
  REQUIRE(r.end == Outcome::kOk);
  REQUIRE(r.message_done == 1);
  REQUIRE(r.msgs.size() == 1);
  const auto& h = r.msgs[0].head;
  CHECK(h.method == "GET");
  CHECK(h.target == "/a?b=c");
  CHECK(h.version == "HTTP/1.1");
  CHECK(h.framing == Framing::kNone);
  CHECK(h.keep_alive);
  CHECK_FALSE(h.upgrade);
  REQUIRE(h.headers.size() == 2);
  CHECK(h.headers.fields()[0].name == "Host");
  CHECK(*h.headers.find("accept") == "*/*");
  CHECK(h.head_bytes > 0);
  CHECK(r.msgs[0].complete);
}

TEST_CASE("every split point and byte-by-byte feeding give the same result", "[unit][http]") {
  const auto whole = run_whole(HttpParser::Kind::kRequest, kTwoRequests);
  REQUIRE(whole.end == Outcome::kOk);
  REQUIRE(whole.msgs.size() == 2);
  CHECK(whole.msgs[0].body == "hello world");
  CHECK(whole.msgs[0].head.framing == Framing::kChunked);
  REQUIRE(whole.msgs[0].trailers.size() == 1);
  CHECK(*whole.msgs[0].trailers.find("X-Trailer") == "t1");
  CHECK(whole.msgs[1].body == "abc");
  CHECK(*whole.msgs[1].head.headers.find("X-Spaces") == "padded value");
  const std::string expected = render(whole);

  for (size_t cut = 1; cut < kTwoRequests.size(); ++cut) {
    INFO("cut at " << cut);
    REQUIRE(render(run(HttpParser::Kind::kRequest, kTwoRequests, {cut})) == expected);
  }
  for (size_t a = 1; a < kTwoRequests.size(); a += 7) {
    for (size_t b = a + 1; b < kTwoRequests.size(); b += 5) {
      INFO("cuts at " << a << "," << b);
      REQUIRE(render(run(HttpParser::Kind::kRequest, kTwoRequests, {a, b})) == expected);
    }
  }
  std::vector<size_t> every;
  for (size_t i = 1; i < kTwoRequests.size(); ++i) every.push_back(i);
  CHECK(render(run(HttpParser::Kind::kRequest, kTwoRequests, every)) == expected);
}

TEST_CASE("1000 pipelined requests come out one at a time, in order", "[unit][http]") {
  std::string input;
  for (int i = 0; i < 1000; ++i) {
    input += "GET /r" + std::to_string(i) + " HTTP/1.1\r\nHost: a\r\n";
    if (i % 3 == 0) input += "Content-Length: 2\r\n\r\nxy";
    else input += "\r\n";
  }
  RecordingSink sink;
  HttpParser p(HttpParser::Kind::kRequest, ProxyLimits{}, sink);
  std::string_view rest = input;
  size_t done = 0;
  while (!rest.empty()) {
    auto r = p.feed(rest);
    REQUIRE(r.outcome == Outcome::kMessageDone);  // pauses after every single message
    ++done;
    REQUIRE(sink.msgs.size() == done);             // nothing of the next one was read yet
    rest.remove_prefix(r.consumed);
  }
  REQUIRE(done == 1000);
  for (int i = 0; i < 1000; ++i) {
    REQUIRE(sink.msgs[i].head.target == "/r" + std::to_string(i));
    REQUIRE(sink.msgs[i].body == (i % 3 == 0 ? "xy" : ""));
  }
}

TEST_CASE("Content-Length bodies arrive across reads, the head is reported once", "[unit][http]") {
  std::string body(100000, 'b');
  std::string input = "PUT /x HTTP/1.1\r\nHost: a\r\nContent-Length: 100000\r\n\r\n" + body;
  auto r = run(HttpParser::Kind::kRequest, input, {10, 60, 1000, 50000});
  REQUIRE(r.end == Outcome::kOk);
  REQUIRE(r.msgs.size() == 1);
  CHECK(r.msgs[0].head.framing == Framing::kContentLength);
  CHECK(r.msgs[0].head.content_length == 100000);
  CHECK(r.msgs[0].body == body);
  CHECK(r.message_done == 1);
}

TEST_CASE("Content-Length: 0 and leading zeros are fine", "[unit][http]") {
  auto r = req("POST / HTTP/1.1\r\nHost: a\r\nContent-Length: 0\r\n\r\n");
  REQUIRE(r.message_done == 1);
  CHECK(r.msgs[0].head.framing == Framing::kContentLength);
  CHECK(r.msgs[0].body.empty());
  auto z = req("POST / HTTP/1.1\r\nHost: a\r\nContent-Length: 003\r\n\r\nabc");
  REQUIRE(z.message_done == 1);
  CHECK(z.msgs[0].body == "abc");
}

TEST_CASE("one empty line before a request is tolerated (RFC 9112 §2.2)", "[unit][http]") {
  auto r = req("GET / HTTP/1.1\r\nHost: a\r\nContent-Length: 1\r\n\r\nx\r\nGET /2 HTTP/1.1\r\nHost: a\r\n\r\n");
  REQUIRE(r.end == Outcome::kOk);
  REQUIRE(r.message_done == 2);
  CHECK(r.msgs[1].head.target == "/2");
}

TEST_CASE("HTTP/1.0 and Connection: close are not keep-alive", "[unit][http]") {
  auto r = req("GET / HTTP/1.0\r\n\r\n");
  REQUIRE(r.message_done == 1);
  CHECK(r.msgs[0].head.version == "HTTP/1.0");
  CHECK_FALSE(r.msgs[0].head.keep_alive);
  auto c = req("GET / HTTP/1.1\r\nHost: a\r\nConnection: close\r\n\r\n");
  CHECK_FALSE(c.msgs[0].head.keep_alive);
  auto k = req("GET / HTTP/1.0\r\nConnection: keep-alive\r\n\r\n");
  CHECK(k.msgs[0].head.keep_alive);
}

TEST_CASE("Expect: 100-continue is flagged", "[unit][http]") {
  auto r = req("POST / HTTP/1.1\r\nHost: a\r\nExpect: 100-continue\r\nContent-Length: 2\r\n\r\nab");
  REQUIRE(r.message_done == 1);
  CHECK(r.msgs[0].head.expect_continue);
}

TEST_CASE("CONNECT ends in kUpgrade and leaves the TLS bytes unread", "[unit][http]") {
  const std::string input = "CONNECT login.microsoftonline.com:443 HTTP/1.1\r\nHost: login.microsoftonline.com:443\r\n\r\n\x16\x03\x01";
  for (size_t cut : {size_t{0}, size_t{5}, input.size() - 2}) {
    auto r = run(HttpParser::Kind::kRequest, input, cut ? std::vector<size_t>{cut} : std::vector<size_t>{});
    REQUIRE(r.end == Outcome::kUpgrade);
    REQUIRE(r.msgs.size() == 1);
    CHECK(r.msgs[0].head.method == "CONNECT");
    CHECK(r.msgs[0].head.target == "login.microsoftonline.com:443");
    CHECK(r.msgs[0].head.upgrade);
    CHECK(r.after_upgrade == "\x16\x03\x01");
  }
  // CONNECT from an HTTP/1.0 client without Host (Python's http.client did this) is fine.
  auto old = req("CONNECT a.example:443 HTTP/1.0\r\n\r\n");
  CHECK(old.end == Outcome::kUpgrade);
}

TEST_CASE("websocket upgrade is an upgrade, h2c is not", "[unit][http]") {
  auto ws = req("GET /ws HTTP/1.1\r\nHost: a\r\nConnection: Upgrade\r\nUpgrade: websocket\r\n\r\nFRAME");
  REQUIRE(ws.end == Outcome::kUpgrade);
  CHECK(ws.after_upgrade == "FRAME");
  auto h2c = req("GET / HTTP/1.1\r\nHost: a\r\nConnection: Upgrade, HTTP2-Settings\r\nUpgrade: h2c\r\n"
                 "HTTP2-Settings: AAMAAABkAARAAAAAAAIAAAAA\r\n\r\nGET /2 HTTP/1.1\r\nHost: a\r\n\r\n");
  REQUIRE(h2c.end == Outcome::kOk);
  REQUIRE(h2c.message_done == 2);
  CHECK_FALSE(h2c.msgs[0].head.upgrade);
  CHECK(h2c.msgs[1].head.target == "/2");
}

TEST_CASE("the sink can pause after the head and resume for the body", "[unit][http]") {
  RecordingSink sink;
  HttpParser p(HttpParser::Kind::kRequest, ProxyLimits{}, sink);
  sink.parser = &p;
  sink.pause_on_head = true;
  const std::string input = "POST / HTTP/1.1\r\nHost: a\r\nContent-Length: 4\r\n\r\nbody";
  auto r = p.feed(input);
  REQUIRE(r.outcome == Outcome::kPaused);
  CHECK(r.consumed == input.size() - 4);
  REQUIRE(sink.msgs.size() == 1);
  CHECK(sink.msgs[0].body.empty());
  p.resume();
  auto r2 = p.feed(std::string_view(input).substr(r.consumed));
  REQUIRE(r2.outcome == Outcome::kMessageDone);
  CHECK(sink.msgs[0].body == "body");
}

TEST_CASE("an exception in the sink becomes an error, not a crash", "[unit][http]") {
  RecordingSink sink;
  sink.throw_on_body = true;
  HttpParser p(HttpParser::Kind::kRequest, ProxyLimits{}, sink);
  auto r = p.feed(std::string_view("POST / HTTP/1.1\r\nHost: a\r\nContent-Length: 1\r\n\r\nx"));
  REQUIRE(r.outcome == Outcome::kError);
  CHECK(r.error == kErrInternal);
  CHECK(p.done());
}

TEST_CASE("errors are sticky, EOF inside a request is an error, between requests is not", "[unit][http]") {
  RecordingSink sink;
  HttpParser p(HttpParser::Kind::kRequest, ProxyLimits{}, sink);
  auto bad = p.feed(std::string_view("GET / HTTP/1.1\r\nHost: a\nX: y\r\n\r\n"));
  REQUIRE(bad.outcome == Outcome::kError);
  auto again = p.feed(std::string_view("GET / HTTP/1.1\r\nHost: a\r\n\r\n"));
  CHECK(again.outcome == Outcome::kError);
  CHECK(again.error == bad.error);
  CHECK(sink.msgs.empty());

  auto eof_mid = run(HttpParser::Kind::kRequest, "POST / HTTP/1.1\r\nHost: a\r\nContent-Length: 5\r\n\r\nab", {}, true);
  CHECK(eof_mid.end == Outcome::kError);
  CHECK(eof_mid.error == kErrIncompleteRequest);
  auto eof_clean = run(HttpParser::Kind::kRequest, "GET / HTTP/1.1\r\nHost: a\r\n\r\n", {}, true);
  CHECK(eof_clean.end == Outcome::kOk);
}

// ---- strictness (issue 7 item 1): each refusal, table-driven ---------------------------------

namespace {
struct Bad {
  const char* name;
  std::string input;
  int status;
  std::string_view error;
};
}  // namespace

TEST_CASE("malformed and ambiguous requests are refused with the right status", "[unit][http]") {
  const std::string P = "POST / HTTP/1.1\r\nHost: a\r\n";
  const std::string C = P + "Transfer-Encoding: chunked\r\n\r\n";
  const std::vector<Bad> cases = {
      {"CL + TE", P + "Content-Length: 5\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n", 400, kErrSmuggling},
      {"TE + CL", P + "Transfer-Encoding: chunked\r\nContent-Length: 5\r\n\r\n0\r\n\r\n", 400, kErrSmuggling},
      {"duplicate CL, different", P + "Content-Length: 1\r\nContent-Length: 2\r\n\r\nxy", 400, kErrSmuggling},
      {"duplicate CL, identical", P + "Content-Length: 1\r\nContent-Length: 1\r\n\r\nx", 400, kErrSmuggling},
      {"CL list", P + "Content-Length: 1, 1\r\n\r\nx", 400, kErrSmuggling},
      {"empty CL", P + "Content-Length: \r\n\r\n", 400, kErrSmuggling},
      {"negative CL", P + "Content-Length: -1\r\n\r\n", 400, kErrSmuggling},
      {"plus CL", P + "Content-Length: +1\r\n\r\nx", 400, kErrSmuggling},
      {"hex CL", P + "Content-Length: 0x1\r\n\r\nx", 400, kErrSmuggling},
      {"CL overflow", P + "Content-Length: 99999999999999999999999\r\n\r\n", 400, kErrSmuggling},
      {"TE gzip, chunked", P + "Transfer-Encoding: gzip, chunked\r\n\r\n0\r\n\r\n", 400, kErrSmuggling},
      {"TE chunked, gzip", P + "Transfer-Encoding: chunked, gzip\r\n\r\n0\r\n\r\n", 400, kErrSmuggling},
      {"TE identity", P + "Transfer-Encoding: identity\r\n\r\n", 400, kErrSmuggling},
      {"TE chunked twice", P + "Transfer-Encoding: chunked\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n", 400,
       kErrSmuggling},
      {"TE chunked, chunked", P + "Transfer-Encoding: chunked, chunked\r\n\r\n0\r\n\r\n", 400, kErrSmuggling},
      {"TE in HTTP/1.0", "POST / HTTP/1.0\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n", 400, kErrSmuggling},
      {"chunk size 0x", C + "0x5\r\nhello\r\n0\r\n\r\n", 400, kErrBadChunk},
      {"chunk size negative", C + "-5\r\nhello\r\n0\r\n\r\n", 400, kErrBadChunk},
      {"chunk size plus", C + "+5\r\nhello\r\n0\r\n\r\n", 400, kErrBadChunk},
      {"chunk size overflow", C + "10000000000000000\r\nx\r\n0\r\n\r\n", 400, kErrBadChunk},
      {"chunk size junk", C + "5 junk\r\nhello\r\n0\r\n\r\n", 400, kErrBadChunk},
      {"chunk size space", C + "5 \r\nhello\r\n0\r\n\r\n", 400, kErrBadChunk},
      {"chunk size empty", C + "\r\nhello\r\n0\r\n\r\n", 400, kErrBadChunk},
      {"chunk size bare LF", C + "5\nhello\r\n0\r\n\r\n", 400, kErrBadChunk},
      {"no CRLF after chunk data", C + "5\r\nhelloXX0\r\n\r\n", 400, kErrBadChunk},
      {"LF only after chunk data", C + "5\r\nhello\n0\r\n\r\n", 400, kErrBadChunk},
      {"bare LF ending trailers", C + "5\r\nhello\r\n0\r\n\n", 400, kErrBadLineEnding},
      {"bare LF in a trailer", C + "0\r\nX: y\nZ: w\r\n\r\n", 400, kErrBadLineEnding},
      {"bare LF line ends", "GET / HTTP/1.1\nHost: a\n\n", 400, kErrBadLineEnding},
      {"bare LF after a field", "GET / HTTP/1.1\r\nHost: a\nX: b\r\n\r\n", 400, kErrBadLineEnding},
      {"bare LF ending the head", "GET / HTTP/1.1\r\nHost: a\r\n\n", 400, kErrBadLineEnding},
      {"bare CR in a value", "GET / HTTP/1.1\r\nHost: a\rX: b\r\n\r\n", 400, kErrBadLineEnding},
      {"bare CR in the request line", "GET /\r HTTP/1.1\r\nHost: a\r\n\r\n", 400, kErrBadLineEnding},
      {"NUL in a value", std::string("GET / HTTP/1.1\r\nHost: a\0b\r\n\r\n", 30), 400, kErrBadLineEnding},
      {"NUL in a name", std::string("GET / HTTP/1.1\r\nHo\0st: a\r\n\r\n", 29), 400, kErrBadRequest},
      {"NUL in the request line", std::string("GET /\0 HTTP/1.1\r\nHost: a\r\n\r\n", 29), 400, kErrBadLineEnding},
      {"control byte in a value", "GET / HTTP/1.1\r\nHost: a\r\nX: a\x01\r\n\r\n", 400, kErrBadLineEnding},
      {"DEL in a value", "GET / HTTP/1.1\r\nHost: a\r\nX: a\x7f\r\n\r\n", 400, kErrBadLineEnding},
      {"obs-fold (SP)", "GET / HTTP/1.1\r\nHost: a\r\nX: b\r\n c\r\n\r\n", 400, kErrBadLineEnding},
      {"obs-fold (HTAB)", "GET / HTTP/1.1\r\nHost: a\r\nX: b\r\n\tc\r\n\r\n", 400, kErrBadLineEnding},
      {"whitespace before first field", "GET / HTTP/1.1\r\n Host: a\r\n\r\n", 400, kErrBadLineEnding},
      {"space before colon", "GET / HTTP/1.1\r\nHost : a\r\n\r\n", 400, kErrBadRequest},
      {"tab before colon", "GET / HTTP/1.1\r\nHost\t: a\r\n\r\n", 400, kErrBadRequest},
      {"space in a name", "GET / HTTP/1.1\r\nHo st: a\r\n\r\n", 400, kErrBadRequest},
      {"empty name", "GET / HTTP/1.1\r\nHost: a\r\n: b\r\n\r\n", 400, kErrBadRequest},
      {"invalid name char", "GET / HTTP/1.1\r\nHost: a\r\nX(y): b\r\n\r\n", 400, kErrBadRequest},
      {"non-ASCII name", "GET / HTTP/1.1\r\nHost: a\r\nX\xc3\xa9: b\r\n\r\n", 400, kErrBadRequest},
      {"line without colon", "GET / HTTP/1.1\r\nHost: a\r\nNoColon\r\n\r\n", 400, kErrBadRequest},
      {"duplicate Host", "GET / HTTP/1.1\r\nHost: a\r\nHost: b\r\n\r\n", 400, kErrBadHost},
      {"duplicate Host, same", "GET / HTTP/1.1\r\nHost: a\r\nhost: a\r\n\r\n", 400, kErrBadHost},
      {"Host with userinfo", "GET / HTTP/1.1\r\nHost: user@a\r\n\r\n", 400, kErrBadHost},
      {"Host with a path", "GET / HTTP/1.1\r\nHost: a/b\r\n\r\n", 400, kErrBadHost},
      {"Host with a space", "GET / HTTP/1.1\r\nHost: a b\r\n\r\n", 400, kErrBadHost},
      {"Host with a bad port", "GET / HTTP/1.1\r\nHost: a:99999\r\n\r\n", 400, kErrBadHost},
      {"Host with a comma list", "GET / HTTP/1.1\r\nHost: a, b\r\n\r\n", 400, kErrBadHost},
      {"missing Host in HTTP/1.1", "GET / HTTP/1.1\r\nAccept: */*\r\n\r\n", 400, kErrBadHost},
      {"missing Host, OPTIONS *", "OPTIONS * HTTP/1.1\r\n\r\n", 400, kErrBadHost},
      {"two spaces in request line", "GET  / HTTP/1.1\r\nHost: a\r\n\r\n", 400, kErrBadRequest},
      {"trailing space in request line", "GET / HTTP/1.1 \r\nHost: a\r\n\r\n", 400, kErrBadRequest},
      {"tab in request line", "GET\t/ HTTP/1.1\r\nHost: a\r\n\r\n", 400, kErrBadLineEnding},
      {"space in target", "GET /a b HTTP/1.1\r\nHost: a\r\n\r\n", 400, kErrBadRequest},
      {"leading space", " GET / HTTP/1.1\r\nHost: a\r\n\r\n", 400, kErrBadRequest},
      {"HTTP/2.0 in HTTP/1 syntax", "GET / HTTP/2.0\r\nHost: a\r\n\r\n", 505, kErrBadVersion},
      {"HTTP/1.2 (llhttp: invalid version)", "GET / HTTP/1.2\r\nHost: a\r\n\r\n", 400, kErrBadRequest},
      {"target without a form", "GET foo HTTP/1.1\r\nHost: a\r\n\r\n", 400, kErrBadTarget},
      {"asterisk on GET", "GET * HTTP/1.1\r\nHost: a\r\n\r\n", 400, kErrBadTarget},
      {"CONNECT with origin-form", "CONNECT / HTTP/1.1\r\nHost: a\r\n\r\n", 400, kErrBadTarget},
      {"CONNECT with content", "CONNECT a:443 HTTP/1.1\r\nHost: a:443\r\nContent-Length: 3\r\n\r\nabc", 400,
       kErrBadRequest},
      {"websocket upgrade with content",
       "GET / HTTP/1.1\r\nHost: a\r\nConnection: upgrade\r\nUpgrade: websocket\r\nContent-Length: 2\r\n\r\nab", 400,
       kErrBadRequest},
      {"bad method", "G@T / HTTP/1.1\r\nHost: a\r\n\r\n", 400, kErrBadRequest},
  };
  for (const auto& c : cases) {
    INFO(c.name);
    auto whole = req(c.input);
    CHECK(whole.end == Outcome::kError);
    CHECK(whole.status == c.status);
    CHECK(whole.error == c.error);
    CHECK_FALSE(whole.detail.empty());
    // Same refusal when the bytes arrive one by one.
    std::vector<size_t> every;
    for (size_t i = 1; i < c.input.size(); ++i) every.push_back(i);
    auto split = run(HttpParser::Kind::kRequest, c.input, every);
    CHECK(split.end == Outcome::kError);
    CHECK(split.error == c.error);
    // A refused request never reaches the session as a complete message.
    for (const auto& m : whole.msgs) CHECK_FALSE(m.complete);
  }
}

TEST_CASE("nothing pipelined behind a refused request is processed", "[unit][http]") {
  auto r = req("GET / HTTP/1.1\r\nHost: a\r\nHost: b\r\n\r\nGET /second HTTP/1.1\r\nHost: a\r\n\r\n");
  REQUIRE(r.end == Outcome::kError);
  CHECK(r.msgs.empty());
}

TEST_CASE("legitimate requests close to the rules pass", "[unit][http]") {
  const std::vector<std::string> good = {
      "GET / HTTP/1.1\r\nHost: a\r\n\r\n",
      "GET http://a.example/x HTTP/1.1\r\nHost: a.example\r\n\r\n",
      "GET http://a.example/x HTTP/1.1\r\n\r\n",  // absolute-form: Host comes from the URI
      "GET / HTTP/1.0\r\n\r\n",                   // HTTP/1.0 needs no Host
      "GET / HTTP/1.1\r\nHost: \r\n\r\n",           // empty Host: a target without authority
      "GET / HTTP/1.1\r\nHost: [::1]:8080\r\n\r\n",
      "GET / HTTP/1.1\r\nHost: Login.MicrosoftOnline.com.\r\n\r\n",
      "OPTIONS * HTTP/1.1\r\nHost: a\r\n\r\n",
      "POST / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: Chunked\r\n\r\n0\r\n\r\n",
      "POST / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked\r\n\r\n00005\r\nhello\r\n0\r\n\r\n",
      "POST / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked\r\n\r\nA;name=\"v\"\r\n0123456789\r\n0\r\n\r\n",
      "GET / HTTP/1.1\r\nHost: a\r\nX-Empty:\r\nX-Tab:\tv\t\r\nX-Utf8: caf\xc3\xa9\r\n\r\n",
      "GET / HTTP/1.1\r\nHost: a\r\nCookie: a=b; c=d\r\nCookie: e=f\r\n\r\n",
      "GET /%7Euser?q=a%20b&x=%E2%82%AC HTTP/1.1\r\nHost: a\r\n\r\n",
  };
  for (const auto& g : good) {
    INFO(g);
    auto r = req(g);
    CHECK(r.end == Outcome::kOk);
    CHECK(r.message_done == 1);
  }
  auto e = req("GET / HTTP/1.1\r\nHost: a\r\nX-Empty:\r\n\r\n");
  REQUIRE(e.msgs.size() == 1);
  REQUIRE(e.msgs[0].head.headers.find("X-Empty") != nullptr);
  CHECK(e.msgs[0].head.headers.find("X-Empty")->empty());
}

// ---- limits ---------------------------------------------------------------------------------

TEST_CASE("real Entra traffic fits the limits", "[unit][http]") {
  // An 8 KB authorize URL, a 12 KB Authorization header and three auxiliary tokens.
  std::string url = "/common/oauth2/v2.0/authorize?client_id=04b07795-8ddb-461a-bbee-02f9e1bf7b46&scope=";
  url += std::string(8 * 1024 - url.size(), 'a');
  std::string jwt = "eyJ0eXAiOiJKV1QiLCJhbGciOiJSUzI1NiJ9." + std::string(12 * 1024 - 100, 'B') + ".sig";
  std::string aux = "Bearer " + std::string(4000, 'C') + ", Bearer " + std::string(4000, 'D') + ", Bearer " +
                    std::string(4000, 'E');
  std::string input = "GET " + url + " HTTP/1.1\r\nHost: login.microsoftonline.com\r\nAuthorization: Bearer " + jwt +
                      "\r\nx-ms-authorization-auxiliary: " + aux + "\r\n\r\n";
  auto r = run(HttpParser::Kind::kRequest, input, {100, 5000, 9000, 20000});
  REQUIRE(r.end == Outcome::kOk);
  REQUIRE(r.msgs.size() == 1);
  CHECK(r.msgs[0].head.target == url);
  CHECK(*r.msgs[0].head.headers.find("authorization") == "Bearer " + jwt);
  CHECK(*r.msgs[0].head.headers.find("X-MS-Authorization-Auxiliary") == aux);
}

TEST_CASE("request line over 16 KiB is 414, at the limit it passes", "[unit][http]") {
  ProxyLimits limits;
  const std::string prefix = "GET /";
  const std::string suffix = " HTTP/1.1\r\n";
  // The limit counts the request line including its CRLF.
  std::string fits = prefix + std::string(limits.max_request_line - prefix.size() - suffix.size(), 'a') + suffix;
  REQUIRE(fits.size() == limits.max_request_line);
  auto ok = req(fits + "Host: a\r\n\r\n");
  CHECK(ok.end == Outcome::kOk);
  auto over = req(prefix + std::string(limits.max_request_line, 'a') + suffix + "Host: a\r\n\r\n");
  CHECK(over.end == Outcome::kError);
  CHECK(over.status == 414);
  CHECK(over.error == kErrUriTooLong);
  // Refused before the line even ends: the parser never buffers an unbounded line.
  RecordingSink sink;
  HttpParser p(HttpParser::Kind::kRequest, ProxyLimits{}, sink);
  std::string endless(4096, 'a');
  auto r = p.feed(std::string_view("GET /"));
  HttpParser::FeedResult last = r;
  for (int i = 0; i < 10 && last.outcome == Outcome::kOk; ++i) last = p.feed(endless);
  CHECK(last.outcome == Outcome::kError);
  CHECK(last.http_status == 414);
}

TEST_CASE("header section over 64 KiB is 431", "[unit][http]") {
  std::string big = "GET / HTTP/1.1\r\nHost: a\r\n";
  for (int i = 0; i < 5; ++i) big += "X-Big-" + std::to_string(i) + ": " + std::string(14000, 'v') + "\r\n";
  big += "\r\n";
  auto r = req(big);
  CHECK(r.end == Outcome::kError);
  CHECK(r.status == 431);
  CHECK(r.error == kErrHeaderTooLarge);
  // One huge field alone (a 1 MB header) is refused too, without reading it all.
  auto huge = req("GET / HTTP/1.1\r\nHost: a\r\nX: " + std::string(1 << 20, 'v') + "\r\n\r\n");
  CHECK(huge.status == 431);
  ProxyLimits small;
  small.max_header_bytes = 100;
  auto s = req("GET / HTTP/1.1\r\nHost: a\r\nX: " + std::string(200, 'v') + "\r\n\r\n", small);
  CHECK(s.status == 431);
}

TEST_CASE("more than 128 fields is 431, exactly 128 pass", "[unit][http]") {
  auto with_fields = [](int n) {
    std::string s = "GET / HTTP/1.1\r\nHost: a\r\n";
    for (int i = 1; i < n; ++i) s += "X-" + std::to_string(i) + ": v\r\n";
    return s + "\r\n";
  };
  auto ok = req(with_fields(128));
  CHECK(ok.end == Outcome::kOk);
  REQUIRE(ok.msgs.size() == 1);
  CHECK(ok.msgs[0].head.headers.size() == 128);
  auto over = req(with_fields(129));
  CHECK(over.end == Outcome::kError);
  CHECK(over.status == 431);
  CHECK(over.error == kErrTooManyHeaders);
}

TEST_CASE("chunk-size line over 4 KiB is 400, trailers are bounded", "[unit][http]") {
  const std::string C = "POST / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked\r\n\r\n";
  auto long_ext = req(C + "5;" + std::string(5000, 'e') + "\r\nhello\r\n0\r\n\r\n");
  CHECK(long_ext.status == 400);
  CHECK(long_ext.error == kErrChunkLineTooLong);
  auto zeros = req(C + std::string(5000, '0') + "5\r\nhello\r\n0\r\n\r\n");
  CHECK(zeros.error == kErrChunkLineTooLong);
  auto fine_ext = req(C + "5;" + std::string(1000, 'e') + "\r\nhello\r\n0\r\n\r\n");
  CHECK(fine_ext.end == Outcome::kOk);

  std::string many_trailers = C + "0\r\n";
  for (int i = 0; i < 200; ++i) many_trailers += "T" + std::to_string(i) + ": v\r\n";
  auto t = req(many_trailers + "\r\n");
  CHECK(t.status == 431);
  CHECK(t.error == kErrTooManyHeaders);
  auto big = req(C + "0\r\nT: " + std::string(70 * 1024, 'v') + "\r\n\r\n");
  CHECK(big.status == 431);
  CHECK(big.error == kErrHeaderTooLarge);
}

// ---- responses ------------------------------------------------------------------------------

TEST_CASE("responses: Content-Length, chunked and keep-alive", "[unit][http]") {
  auto r = run_whole(HttpParser::Kind::kResponse,
                     "HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: 2\r\n\r\n{}"
                     "HTTP/1.1 302 Found\r\nLocation: https://x/\r\nTransfer-Encoding: chunked\r\n\r\n3\r\nabc\r\n0\r\n\r\n");
  REQUIRE(r.end == Outcome::kOk);
  REQUIRE(r.msgs.size() == 2);
  CHECK(r.msgs[0].head.status == 200);
  CHECK(r.msgs[0].head.reason == "OK");
  CHECK(r.msgs[0].body == "{}");
  CHECK(r.msgs[0].head.keep_alive);
  CHECK(r.msgs[1].head.status == 302);
  CHECK(r.msgs[1].head.framing == Framing::kChunked);
  CHECK(r.msgs[1].body == "abc");
}

TEST_CASE("responses to HEAD, and 204/304, have no body even with Content-Length", "[unit][http]") {
  auto head = run_whole(HttpParser::Kind::kResponse,
                        "HTTP/1.1 200 OK\r\nContent-Length: 1000\r\n\r\nHTTP/1.1 200 OK\r\nContent-Length: 1000\r\n\r\n",
                        false, "HEAD");
  REQUIRE(head.end == Outcome::kOk);
  REQUIRE(head.message_done == 2);
  CHECK(head.msgs[0].head.framing == Framing::kNone);
  CHECK(*head.msgs[0].head.headers.find("Content-Length") == "1000");
  CHECK(head.msgs[0].head.keep_alive);
  // A HEAD response without any length still leaves the connection reusable.
  auto bare = run_whole(HttpParser::Kind::kResponse, "HTTP/1.1 200 OK\r\n\r\n", false, "HEAD");
  REQUIRE(bare.message_done == 1);
  CHECK(bare.msgs[0].head.keep_alive);
  auto closing = run_whole(HttpParser::Kind::kResponse, "HTTP/1.1 200 OK\r\nConnection: close\r\n\r\n", false, "HEAD");
  CHECK_FALSE(closing.msgs[0].head.keep_alive);
  for (const char* status : {"204 No Content", "304 Not Modified"}) {
    INFO(status);
    auto r = run_whole(HttpParser::Kind::kResponse,
                       std::string("HTTP/1.1 ") + status + "\r\nContent-Length: 5\r\n\r\nHTTP/1.1 200 OK\r\nContent-Length: 0\r\n\r\n");
    REQUIRE(r.end == Outcome::kOk);
    REQUIRE(r.message_done == 2);
    CHECK(r.msgs[0].body.empty());
    CHECK(r.msgs[1].head.status == 200);
  }
}

TEST_CASE("100 Continue is a message of its own, then the final response", "[unit][http]") {
  const std::string input =
      "HTTP/1.1 100 Continue\r\n\r\nHTTP/1.1 103 Early Hints\r\nLink: </s.css>\r\n\r\n"
      "HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok";
  for (size_t cut = 1; cut < input.size(); cut += 3) {
    auto r = run(HttpParser::Kind::kResponse, input, {cut}, false, "POST");
    REQUIRE(r.end == Outcome::kOk);
    REQUIRE(r.msgs.size() == 3);
    CHECK(r.msgs[0].head.status == 100);
    CHECK(r.msgs[0].complete);
    CHECK(r.msgs[1].head.status == 103);
    CHECK(r.msgs[2].head.status == 200);
    CHECK(r.msgs[2].body == "ok");
  }
}

TEST_CASE("a read-until-close response ends at finish()", "[unit][http]") {
  auto r = run(HttpParser::Kind::kResponse, "HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\n\r\nhello, until close",
               {20, 50}, true);
  REQUIRE(r.end == Outcome::kOk);
  REQUIRE(r.msgs.size() == 1);
  CHECK(r.msgs[0].head.framing == Framing::kUntilClose);
  CHECK_FALSE(r.msgs[0].head.keep_alive);
  CHECK(r.msgs[0].body == "hello, until close");
  CHECK(r.msgs[0].complete);
  CHECK(r.message_done == 1);
  auto cut = run(HttpParser::Kind::kResponse, "HTTP/1.1 200 OK\r\nContent-Length: 10\r\n\r\nabc", {}, true);
  CHECK(cut.end == Outcome::kError);
  CHECK(cut.error == kErrBadResponse);
  CHECK(cut.status == 502);
}

TEST_CASE("101 and 2xx to CONNECT hand over the rest of the bytes", "[unit][http]") {
  auto ws = run_whole(HttpParser::Kind::kResponse,
                      "HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n\r\nWSDATA");
  REQUIRE(ws.end == Outcome::kUpgrade);
  CHECK(ws.after_upgrade == "WSDATA");
  CHECK(ws.msgs[0].head.upgrade);
  auto bare101 = run_whole(HttpParser::Kind::kResponse, "HTTP/1.1 101 Switching Protocols\r\n\r\nRAW");
  REQUIRE(bare101.end == Outcome::kUpgrade);
  CHECK(bare101.after_upgrade == "RAW");
  auto connect = run_whole(HttpParser::Kind::kResponse, "HTTP/1.1 200 Connection established\r\n\r\nTLS", false, "CONNECT");
  REQUIRE(connect.end == Outcome::kUpgrade);
  CHECK(connect.after_upgrade == "TLS");
  auto refused = run_whole(HttpParser::Kind::kResponse, "HTTP/1.1 403 Forbidden\r\nContent-Length: 1\r\n\r\nx", false,
                           "CONNECT");
  CHECK(refused.end == Outcome::kOk);
  CHECK(refused.msgs[0].body == "x");
}

TEST_CASE("malformed responses are 502 with a readable detail", "[unit][http]") {
  const std::vector<std::string> bad = {
      "HTTP/1.1 200 OK\r\nContent-Length: 1\r\nContent-Length: 2\r\n\r\nx",
      "HTTP/1.1 200 OK\r\nContent-Length: 1\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n",
      "HTTP/1.1 200 OK\nContent-Length: 0\n\n",
      "HTTP/1.1 200 OK\r\nX: a\r\n b\r\n\r\n",
      "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n5\r\nhelloXX0\r\n\r\n",
      "HTTP/1.1 200 OK\r\nTransfer-Encoding: gzip\r\n\r\nabc",
      "HTTP/1.0 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n",
      "HTTTP/1.1 200 OK\r\n\r\n",
      "HTTP/1.1 2000 OK\r\n\r\n",
  };
  for (const auto& b : bad) {
    INFO(b);
    auto r = run_whole(HttpParser::Kind::kResponse, b);
    CHECK(r.end == Outcome::kError);
    CHECK(r.status == 502);
    CHECK(r.error == kErrBadResponse);
    CHECK_FALSE(r.detail.empty());
  }
}

TEST_CASE("real-world response shapes pass", "[unit][http]") {
  const std::vector<std::string> good = {
      "HTTP/1.1 200 \r\nContent-Length: 0\r\n\r\n",    // empty reason phrase
      "HTTP/1.1 200 OK\tfine\r\nContent-Length: 0\r\n\r\n",
      "HTTP/1.1 302 Found\r\nSet-Cookie: a=1; path=/\r\nSet-Cookie: b=2; secure; HttpOnly\r\n"
      "Location: https://login.microsoftonline.com/common/reprocess?ctx=x\r\nContent-Length: 0\r\n\r\n",
      "HTTP/1.1 200 OK\r\nX-Empty:\r\nX-Obs: caf\xc3\xa9\r\nContent-Length: 0\r\n\r\n",
      "HTTP/1.0 200 OK\r\nContent-Length: 2\r\nConnection: keep-alive\r\n\r\nok",
  };
  for (const auto& g : good) {
    INFO(g);
    auto r = run_whole(HttpParser::Kind::kResponse, g);
    CHECK(r.end == Outcome::kOk);
    CHECK(r.message_done == 1);
  }
}

TEST_CASE("FeedResult::message joins identity and detail", "[unit][http]") {
  auto r = req("GET / HTTP/1.1\r\nHost: a\r\nHost: b\r\n\r\n");
  HttpParser::FeedResult f;
  f.error = kErrBadHost;
  f.detail = "duplicate Host";
  CHECK(f.message() == "missing or duplicate Host header: duplicate Host");
  CHECK(r.detail == "duplicate Host");
}
