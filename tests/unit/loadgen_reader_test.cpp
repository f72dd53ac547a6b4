// The benchmark's response framing (bench/response_reader.h): loadgen counts a request as done
// only when this reader says the response is complete, so a wrong reader means wrong req/s.
#include <catch2/catch.hpp>

#include <string>

#include "bench/response_reader.h"

using authscope::bench::ResponseReader;
using Phase = ResponseReader::Phase;

namespace {
// Feeds the text one byte at a time, the worst case for a framing state machine.
void feed_bytewise(ResponseReader& r, const std::string& text) {
  for (char c : text) r.feed(&c, 1);
}
}  // namespace

TEST_CASE("loadgen reader: Content-Length body completes exactly at its last byte", "[unit]") {
  ResponseReader r;
  std::string head = "HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: 10\r\n\r\n";
  r.feed(head.data(), head.size());
  REQUIRE(r.phase == Phase::Body);
  REQUIRE(r.status == 200);
  r.feed("012345678", 9);
  CHECK(r.phase == Phase::Body);
  r.feed("9", 1);
  CHECK(r.phase == Phase::Done);
  CHECK_FALSE(r.close);
}

TEST_CASE("loadgen reader: chunked body, split anywhere, ends after the trailer", "[unit]") {
  ResponseReader r;
  feed_bytewise(r, "HTTP/1.1 201 Created\r\nTransfer-Encoding: chunked\r\nConnection: close\r\n\r\n"
                   "5\r\nhello\r\na;ext=1\r\n0123456789\r\n0\r\n");
  CHECK(r.phase == Phase::Trailer);
  feed_bytewise(r, "X-T: 1\r\n\r\n");
  CHECK(r.phase == Phase::Done);
  CHECK(r.status == 201);
  CHECK(r.close);
}

TEST_CASE("loadgen reader: header names are matched without regard to case", "[unit]") {
  ResponseReader r;
  feed_bytewise(r, "HTTP/1.1 404 Not Found\r\ncontent-LENGTH: 0\r\nCONNECTION: Close\r\n\r\n");
  CHECK(r.phase == Phase::Done);
  CHECK(r.status == 404);
  CHECK(r.close);
}

TEST_CASE("loadgen reader: malformed or unbounded responses are errors, not hangs", "[unit]") {
  SECTION("no framing (read-until-close is not part of the mix)") {
    ResponseReader r;
    feed_bytewise(r, "HTTP/1.1 200 OK\r\nServer: x\r\n\r\n");
    CHECK(r.phase == Phase::Bad);
  }
  SECTION("not HTTP") {
    ResponseReader r;
    feed_bytewise(r, "SSH-2.0-OpenSSH_9.2\r\n\r\n");
    CHECK(r.phase == Phase::Bad);
  }
  SECTION("head larger than the bound") {
    ResponseReader r;
    std::string big = "HTTP/1.1 200 OK\r\nX: " + std::string(authscope::bench::kMaxHeaderBytes, 'a');
    r.feed(big.data(), big.size());
    CHECK(r.phase == Phase::Bad);
  }
  SECTION("Content-Length above the body bound") {
    ResponseReader r;
    feed_bytewise(r, "HTTP/1.1 200 OK\r\nContent-Length: 99999999999\r\n\r\n");
    CHECK(r.phase == Phase::Bad);
  }
  SECTION("chunk size that is not hex") {
    ResponseReader r;
    feed_bytewise(r, "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\nzz\r\n");
    CHECK(r.phase == Phase::Bad);
  }
  SECTION("chunk data not followed by CRLF") {
    ResponseReader r;
    feed_bytewise(r, "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n2\r\nabXY");
    CHECK(r.phase == Phase::Bad);
  }
}

TEST_CASE("loadgen reader: reset makes it ready for the next response on a kept-alive connection", "[unit]") {
  ResponseReader r;
  feed_bytewise(r, "HTTP/1.1 200 OK\r\nContent-Length: 2\r\nConnection: close\r\n\r\nok");
  REQUIRE(r.phase == Phase::Done);
  r.reset();
  CHECK(r.phase == Phase::Head);
  CHECK_FALSE(r.close);
  feed_bytewise(r, "HTTP/1.1 200 OK\r\nContent-Length: 1\r\n\r\n!");
  CHECK(r.phase == Phase::Done);
  CHECK(r.status == 200);
}
