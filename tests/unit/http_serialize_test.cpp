// Re-framing: exact bytes authscope writes upstream and to the client.
#include <catch2/catch.hpp>

#include <algorithm>
#include <string>
#include <vector>

#include "proxy/http/authority.h"
#include "proxy/http/http_parser.h"
#include "proxy/http/serialize.h"

using namespace authscope;
using namespace authscope::http;

namespace {
MessageHead request_head(std::string method, std::string target) {
  MessageHead h;
  h.method = std::move(method);
  h.target = std::move(target);
  h.version = "HTTP/1.1";
  return h;
}
}  // namespace

TEST_CASE("request head: origin-form, Host first, hop-by-hop gone, own framing", "[unit][http]") {
  MessageHead h = request_head("POST", "http://user:pw@login.example/token?x=1");
  h.headers.add("Host", "evil.example");
  h.headers.add("Proxy-Authorization", "Basic dTpw");
  h.headers.add("Proxy-Connection", "keep-alive");
  h.headers.add("Connection", "keep-alive, X-Hop");
  h.headers.add("X-Hop", "secret-to-this-hop");
  h.headers.add("Keep-Alive", "timeout=5");
  h.headers.add("TE", "trailers");
  h.headers.add("Trailer", "X-T");
  h.headers.add("Upgrade", "h2c");
  h.headers.add("Content-Type", "application/x-www-form-urlencoded");
  h.headers.add("Transfer-Encoding", "chunked");
  h.headers.add("authorization", "Bearer abc");
  h.framing = Framing::kChunked;
  auto out = serialize_request_head(h, UpstreamRequest{"/token?x=1", "login.example", false});
  CHECK(out.bytes ==
        "POST /token?x=1 HTTP/1.1\r\n"
        "Host: login.example\r\n"
        "Content-Type: application/x-www-form-urlencoded\r\n"
        "authorization: Bearer abc\r\n"
        "Transfer-Encoding: chunked\r\n"
        "\r\n");
  CHECK(out.body == BodyWriting::kChunked);
  CHECK_FALSE(out.close_after);
}

TEST_CASE("request head: Content-Length from the parsed framing, not the client's field", "[unit][http]") {
  MessageHead h = request_head("PUT", "/x");
  h.headers.add("Host", "a");
  h.headers.add("Content-Length", "0005");
  h.framing = Framing::kContentLength;
  h.content_length = 5;
  auto out = serialize_request_head(h, UpstreamRequest{"/x", "a", false});
  CHECK(out.bytes == "PUT /x HTTP/1.1\r\nHost: a\r\nContent-Length: 5\r\n\r\n");
  CHECK(out.body == BodyWriting::kIdentity);
  MessageHead g = request_head("GET", "/");
  g.headers.add("Host", "a");
  auto none = serialize_request_head(g, UpstreamRequest{"/", "a", false});
  CHECK(none.bytes == "GET / HTTP/1.1\r\nHost: a\r\n\r\n");
  CHECK(none.body == BodyWriting::kNone);
}

TEST_CASE("request head: websocket upgrade is kept when handing over to a tunnel", "[unit][http]") {
  MessageHead h = request_head("GET", "/ws");
  h.headers.add("Host", "a");
  h.headers.add("Connection", "Upgrade");
  h.headers.add("Upgrade", "websocket");
  h.headers.add("Sec-WebSocket-Key", "dGhlIHNhbXBsZSBub25jZQ==");
  auto out = serialize_request_head(h, UpstreamRequest{"/ws", "a", true});
  CHECK(out.bytes ==
        "GET /ws HTTP/1.1\r\nHost: a\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n"
        "Connection: Upgrade\r\nUpgrade: websocket\r\n\r\n");
}

TEST_CASE("strip_hop_by_hop removes Connection and what it names", "[unit][http]") {
  Headers h;
  h.add("connection", "close, X-A");
  h.add("X-A", "1");
  h.add("X-B", "2");
  h.add("Proxy-Authorization", "Basic x");
  h.add("Keep-Alive", "timeout=5");
  h.add("Upgrade", "h2c");
  h.add("Host", "kept");
  strip_hop_by_hop(h, false);
  REQUIRE(h.size() == 2);
  CHECK(h.fields()[0].name == "X-B");
  CHECK(h.fields()[1].name == "Host");
  Headers w;
  w.add("Connection", "upgrade");
  w.add("Upgrade", "websocket");
  strip_hop_by_hop(w, true);
  CHECK(*w.find("Upgrade") == "websocket");
  CHECK(*w.find("Connection") == "Upgrade");
}

TEST_CASE("response head: framing for 1.1 and 1.0 clients, keep-alive explicit", "[unit][http]") {
  MessageHead h;
  h.status = 200;
  h.reason = "OK";
  h.version = "HTTP/1.1";
  h.headers.add("Content-Type", "application/json");
  h.headers.add("Transfer-Encoding", "chunked");
  h.headers.add("Connection", "keep-alive");
  h.framing = Framing::kChunked;
  auto c11 = serialize_response_head(h, ClientResponse{"GET", "HTTP/1.1", true, false});
  CHECK(c11.bytes == "HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nTransfer-Encoding: chunked\r\n\r\n");
  CHECK(c11.body == BodyWriting::kChunked);
  CHECK_FALSE(c11.close_after);
  auto c10 = serialize_response_head(h, ClientResponse{"GET", "HTTP/1.0", true, false});
  CHECK(c10.bytes == "HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nConnection: close\r\n\r\n");
  CHECK(c10.body == BodyWriting::kIdentity);
  CHECK(c10.close_after);

  h.framing = Framing::kUntilClose;
  auto uc = serialize_response_head(h, ClientResponse{"GET", "HTTP/1.1", false, false});
  CHECK(uc.bytes ==
        "HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nTransfer-Encoding: chunked\r\nConnection: close\r\n\r\n");
  CHECK(uc.close_after);

  MessageHead l;
  l.status = 404;
  l.reason = "Not\r\nFound";  // never echoed raw
  l.framing = Framing::kContentLength;
  l.content_length = 3;
  l.headers.add("Content-Length", "3");
  auto lr = serialize_response_head(l, ClientResponse{"GET", "HTTP/1.0", true, false});
  CHECK(lr.bytes == "HTTP/1.1 404 Not  Found\r\nContent-Length: 3\r\nConnection: keep-alive\r\n\r\n");
  CHECK(lr.body == BodyWriting::kIdentity);
}

TEST_CASE("response head: HEAD and 304 keep Content-Length, 204 and 1xx have none", "[unit][http]") {
  MessageHead h;
  h.status = 200;
  h.reason = "OK";
  h.headers.add("Content-Length", "1234");
  h.framing = Framing::kNone;
  auto head = serialize_response_head(h, ClientResponse{"HEAD", "HTTP/1.1", true, false});
  CHECK(head.bytes == "HTTP/1.1 200 OK\r\nContent-Length: 1234\r\n\r\n");
  CHECK(head.body == BodyWriting::kNone);
  h.status = 304;
  h.reason = "Not Modified";
  CHECK(serialize_response_head(h, ClientResponse{"GET", "HTTP/1.1", true, false}).bytes ==
        "HTTP/1.1 304 Not Modified\r\nContent-Length: 1234\r\n\r\n");
  h.status = 204;
  h.reason = "";
  CHECK(serialize_response_head(h, ClientResponse{"GET", "HTTP/1.1", true, false}).bytes ==
        "HTTP/1.1 204 No Content\r\n\r\n");
  MessageHead c;
  c.status = 100;
  c.reason = "Continue";
  CHECK(serialize_response_head(c, ClientResponse{"POST", "HTTP/1.1", true, false}).bytes ==
        "HTTP/1.1 100 Continue\r\n\r\n");
  MessageHead none;
  none.status = 200;
  none.reason = "OK";
  none.framing = Framing::kNone;
  CHECK(serialize_response_head(none, ClientResponse{"GET", "HTTP/1.1", true, false}).bytes ==
        "HTTP/1.1 200 OK\r\nContent-Length: 0\r\n\r\n");
}

TEST_CASE("chunk encoder", "[unit][http]") {
  std::string out;
  append_chunk(out, "hello");
  append_chunk(out, "");
  append_chunk(out, std::string(300, 'x'));
  append_last_chunk(out);
  CHECK(out == "5\r\nhello\r\n12c\r\n" + std::string(300, 'x') + "\r\n0\r\n\r\n");
}

TEST_CASE("error responses name the reason", "[unit][http]") {
  const std::string body = "authscope: upstream certificate verify failed: hostname mismatch\n";
  CHECK(error_response(502, "upstream certificate verify failed: hostname mismatch", true) ==
        "HTTP/1.1 502 Bad Gateway\r\nContent-Type: text/plain; charset=utf-8\r\nCache-Control: no-store\r\n"
        "Content-Length: " + std::to_string(body.size()) + "\r\nConnection: close\r\n\r\n" + body);
  auto p = error_response(407, "proxy authentication required", false);
  CHECK(p.find("HTTP/1.1 407 Proxy Authentication Required\r\n") == 0);
  CHECK(p.find("Proxy-Authenticate: Basic realm=\"authscope\"\r\n") != std::string::npos);
  CHECK(p.find("Connection: close") == std::string::npos);
  auto inj = error_response(400, "bad\r\nSet-Cookie: x=y", true);
  CHECK(inj.find("\r\nSet-Cookie") == std::string::npos);
  CHECK(reason_phrase(431) == "Request Header Fields Too Large");
  CHECK(reason_phrase(414) == "URI Too Long");
  CHECK(reason_phrase(799) == "Unknown");
}

// ---- round trip: what authscope writes upstream passes its own strict parser ------------------

namespace {
struct Capture : HttpParser::Sink {
  std::vector<MessageHead> heads;
  std::vector<std::string> bodies;
  void on_head(MessageHead& h) override {
    heads.push_back(h);
    bodies.emplace_back();
  }
  void on_body(std::string_view d) override { bodies.back().append(d); }
  void on_message_complete() override {}
};

// Parses one request, re-frames it as the session does, and returns the bytes for upstream.
std::string reframe(std::string_view client_bytes, MessageHead& head_out, std::string& body_out) {
  Capture c;
  HttpParser p(HttpParser::Kind::kRequest, ProxyLimits{}, c);
  auto r = p.feed(client_bytes);
  REQUIRE(r.outcome == HttpParser::Outcome::kMessageDone);
  head_out = c.heads.at(0);
  body_out = c.bodies.at(0);
  std::string path = head_out.target, host = head_out.headers.find("Host") ? *head_out.headers.find("Host") : "";
  if (classify_target(head_out.method, head_out.target) == TargetForm::kAbsolute) {
    auto uri = parse_absolute_uri(head_out.target);
    REQUIRE(uri.ok());
    path = uri->path_and_query;
    host = uri->host_header();
  }
  auto s = serialize_request_head(head_out, UpstreamRequest{path, host, false});
  std::string out = s.bytes;
  if (s.body == BodyWriting::kChunked) {
    append_chunk(out, body_out.substr(0, 3));
    append_chunk(out, body_out.substr(std::min<size_t>(3, body_out.size())));
    append_last_chunk(out);
  } else if (s.body == BodyWriting::kIdentity) {
    out += body_out;
  }
  return out;
}
}  // namespace

TEST_CASE("re-framed requests parse again, strictly, to the same message", "[unit][http]") {
  const std::vector<std::string> inputs = {
      "POST http://user:pw@login.example:8080/token?x=1#f HTTP/1.1\r\nHost: other\r\nProxy-Connection: keep-alive\r\n"
      "Content-Length: 11\r\nContent-Type: application/x-www-form-urlencoded\r\n\r\ngrant=abc&x",
      "POST /upload HTTP/1.1\r\nHost: a.example\r\nTransfer-Encoding: chunked\r\nConnection: X-Gone\r\nX-Gone: 1\r\n\r\n"
      "4\r\nabcd\r\n3\r\nefg\r\n0\r\nT: v\r\n\r\n",
      "GET http://[::1]:9000 HTTP/1.0\r\nUser-Agent: old\r\n\r\n",
      "DELETE /x HTTP/1.1\r\nHost: a\r\nContent-Length: 0\r\n\r\n",
  };
  for (const auto& in : inputs) {
    INFO(in);
    MessageHead first, second;
    std::string body1, body2;
    const std::string upstream = reframe(in, first, body1);
    INFO(upstream);
    const std::string again = reframe(upstream, second, body2);
    CHECK(second.method == first.method);
    CHECK(second.version == "HTTP/1.1");
    CHECK(body2 == body1);
    CHECK(again == upstream);  // re-framing is idempotent
    CHECK(upstream.find("Proxy-") == std::string::npos);
    CHECK(upstream.find("X-Gone") == std::string::npos);
    CHECK(upstream.find("user:pw") == std::string::npos);
    CHECK(upstream.find('#') == std::string::npos);
  }
}
