// Session playbooks (mitmproxy's Playbook style): feed events to a Session wired to a recording
// fake SessionIo and assert the exact commands it issues. No sockets, no loop, no clock waits.
#include <catch2/catch.hpp>

#include <string>
#include <vector>

#include "proxy/proxy_errors.h"
#include "proxy/session.h"

using namespace authscope;

namespace {

// Records every command as one readable line; bytes written are also kept per side.
struct FakeIo final : SessionIo {
  std::vector<std::string> commands;
  std::string to_client, to_upstream;
  std::vector<Flow> flows;
  bool closed = false;
  std::string connected_to;
  // Fault switch (STYLE.md K.38): the next connect() fails with this status.
  bool fail_next_connect = false;
  bool connect_requested = false;

  void write(Side side, std::string_view bytes) override {
    (side == Side::kClient ? to_client : to_upstream).append(bytes);
    commands.push_back(std::string("write ") + to_string(side));
  }
  void connect(const std::string& host, uint16_t port) override {
    connected_to = host + ":" + std::to_string(port);
    connect_requested = true;
    commands.push_back("connect " + connected_to);
  }
  void close_upstream() override { commands.push_back("close_upstream"); }
  void shutdown(Side side) override { commands.push_back(std::string("shutdown ") + to_string(side)); }
  void close() override {
    closed = true;
    commands.push_back("close");
  }
  void record(Flow&& flow) override {
    flows.push_back(std::move(flow));
    commands.push_back("record");
  }
  void read_start(Side side) override { commands.push_back(std::string("read_start ") + to_string(side)); }
  void read_stop(Side side) override { commands.push_back(std::string("read_stop ") + to_string(side)); }
  void arm_timer(TimerKind kind, int ms) override {
    commands.push_back(std::string("arm ") + to_string(kind) + " " + std::to_string(ms));
  }
  void disarm_timer() override { commands.push_back("disarm"); }

  bool has(const std::string& command) const {
    for (const auto& c : commands)
      if (c == command) return true;
    return false;
  }
  void clear() { commands.clear(); }
};

struct Playbook {
  SessionConfig config;
  FakeIo io;
  std::unique_ptr<Session> session;

  explicit Playbook(SessionConfig c = {}) : config(std::move(c)) {
    config.listen_host = "127.0.0.1";
    if (config.listen_port == 0) config.listen_port = 8080;
    session = std::make_unique<Session>(config, io, 7, "127.0.0.1:50000");
    session->start();
  }
  // Delivers what the shell would deliver after an event: the outcome of a requested connect.
  void settle() {
    if (!io.connect_requested) return;
    io.connect_requested = false;
    if (io.fail_next_connect) {
      io.fail_next_connect = false;
      session->on_upstream_connected(Status::Io("upstream connect failed example.com:80: connection refused"));
    } else {
      session->on_upstream_connected(Status::Ok());
    }
  }
  void client(std::string_view bytes) {
    session->on_client_bytes(bytes.data(), bytes.size());
    settle();
  }
  void upstream(std::string_view bytes) {
    session->on_upstream_bytes(bytes.data(), bytes.size());
    settle();
  }
};

// Client bytes without settling a connect (to observe the ConnectingUpstream state).
void feed(Playbook& p, std::string_view bytes) { p.session->on_client_bytes(bytes.data(), bytes.size()); }

bool contains(const std::string& hay, std::string_view needle) { return hay.find(needle) != std::string::npos; }

}  // namespace

TEST_CASE("session: fresh connection reads the client under the request-head limit", "[unit][session]") {
  Playbook p;
  REQUIRE(p.io.commands == std::vector<std::string>{"read_start client", "arm request-head 30000"});
  REQUIRE(p.session->state() == Session::State::kReadingRequest);
}

TEST_CASE("session: plain absolute-form GET is forwarded in origin-form and recorded", "[unit][session]") {
  Playbook p;
  p.io.clear();
  feed(p, "GET http://example.com/a?b=1 HTTP/1.1\r\nHost: example.com\r\nX-Case: Kept\r\n\r\n");
  REQUIRE(p.session->state() == Session::State::kConnectingUpstream);
  REQUIRE(p.io.has("connect example.com:80"));
  REQUIRE(p.io.has("arm upstream-connect 10000"));
  REQUIRE(p.io.to_upstream.empty());  // nothing goes upstream before the connection exists

  p.io.clear();
  p.settle();
  REQUIRE(p.session->state() == Session::State::kForwarding);
  REQUIRE(p.io.to_upstream.rfind("GET /a?b=1 HTTP/1.1\r\n", 0) == 0);
  REQUIRE(contains(p.io.to_upstream, "X-Case: Kept\r\n"));
  REQUIRE(contains(p.io.to_upstream, "example.com"));
  REQUIRE(p.io.has("read_start upstream"));

  p.upstream("HTTP/1.1 200 OK\r\nContent-Length: 5\r\nServer: up\r\n\r\nhello");
  REQUIRE(contains(p.io.to_client, "HTTP/1.1 200 OK\r\n"));
  REQUIRE(contains(p.io.to_client, "\r\n\r\nhello"));
  REQUIRE(p.io.flows.size() == 1);
  const Flow& f = p.io.flows[0];
  CHECK(f.kind == FlowKind::kHttp);
  CHECK(f.scheme == "http");
  CHECK(f.host == "example.com");
  CHECK(f.port == 80);
  CHECK(f.connection_id == 7);
  CHECK(f.client_addr == "127.0.0.1:50000");
  CHECK(f.request.method == "GET");
  CHECK(f.request.target == "http://example.com/a?b=1");
  CHECK(f.request.headers.fields().at(1).name == "X-Case");  // original order and case
  CHECK_FALSE(f.request.body.present());                      // absent, not empty
  REQUIRE(f.response.has_value());
  CHECK(f.response->status == 200);
  CHECK(f.response->body.data == std::optional<std::string>("hello"));
  CHECK(f.response->headers.has("server"));
  CHECK_FALSE(f.error.has_value());
  CHECK(f.times.start_us > 0);
  CHECK(f.times.request_end_us >= f.times.start_us);
  CHECK(f.times.response_start_us >= f.times.request_end_us);
  CHECK(f.times.end_us >= f.times.response_start_us);
  // Keep-alive: back to reading the next request, first under the upstream idle limit.
  REQUIRE(p.session->state() == Session::State::kReadingRequest);
  REQUIRE(p.io.has("arm upstream-idle 5000"));
  REQUIRE_FALSE(p.io.closed);
}

TEST_CASE("session: an idle connection closes its upstream first, then itself", "[unit][session]") {
  Playbook p;
  p.client("GET http://example.com/a HTTP/1.1\r\nHost: example.com\r\n\r\n");
  p.upstream("HTTP/1.1 200 OK\r\nContent-Length: 0\r\n\r\n");
  REQUIRE(p.io.flows.size() == 1);
  REQUIRE(p.io.has("arm upstream-idle 5000"));
  p.io.clear();
  p.session->on_timer(TimerKind::kUpstreamIdle);
  // Only the upstream goes; the client waits out the rest of the keep-alive limit.
  REQUIRE(p.io.commands == std::vector<std::string>{"close_upstream", "arm keep-alive-idle 55000"});
  REQUIRE_FALSE(p.io.closed);
  // The next request connects again and is answered as usual.
  p.client("GET http://example.com/b HTTP/1.1\r\nHost: example.com\r\n\r\n");
  REQUIRE(p.io.has("connect example.com:80"));
  p.upstream("HTTP/1.1 204 No Content\r\n\r\n");
  REQUIRE(p.io.flows.size() == 2);
  CHECK(p.io.flows[1].response->status == 204);
  CHECK(p.io.flows[1].request.target == "http://example.com/b");
  // The upstream is open again, so once more its limit comes first.
  REQUIRE(p.io.has("arm upstream-idle 5000"));
  p.io.clear();
  p.session->on_timer(TimerKind::kUpstreamIdle);
  p.session->on_timer(TimerKind::kKeepAliveIdle);
  REQUIRE(p.io.closed);
}

TEST_CASE("session: a failed connect answers 502 with the reason and records the error", "[unit][session]") {
  Playbook p;
  p.io.fail_next_connect = true;
  p.client("GET http://example.com/ HTTP/1.1\r\nHost: example.com\r\n\r\n");
  REQUIRE(contains(p.io.to_client, "HTTP/1.1 502 "));
  REQUIRE(contains(p.io.to_client, "connection refused"));
  REQUIRE(p.io.flows.size() == 1);
  REQUIRE(p.io.flows[0].error.has_value());
  CHECK(contains(*p.io.flows[0].error, kErrUpstreamConnect));
  CHECK(p.io.flows[0].host == "example.com");
  CHECK(p.io.commands.back() == "close");
  CHECK(p.session->closed());
}

TEST_CASE("session: connect timeout answers 504", "[unit][session]") {
  Playbook p;
  feed(p, "GET http://example.com/ HTTP/1.1\r\nHost: example.com\r\n\r\n");
  REQUIRE(p.session->state() == Session::State::kConnectingUpstream);
  p.session->on_timer(TimerKind::kUpstreamConnect);
  REQUIRE(contains(p.io.to_client, "HTTP/1.1 504 "));
  REQUIRE(p.io.flows.size() == 1);
  CHECK(contains(*p.io.flows[0].error, kErrUpstreamConnectTimeout));
  CHECK(p.io.closed);
}

TEST_CASE("session: malformed request gets 400, a flow error and the connection closes", "[unit][session]") {
  Playbook p;
  p.client("GET http://example.com/ HTTP/1.1\r\nHost: example.com\r\nContent-Length: 1\r\nContent-Length: 2\r\n\r\n");
  REQUIRE(contains(p.io.to_client, "HTTP/1.1 400 "));
  REQUIRE(p.io.flows.size() == 1);
  REQUIRE(p.io.flows[0].error.has_value());
  CHECK(p.io.closed);
  CHECK_FALSE(p.io.has("connect example.com:80"));
}

TEST_CASE("session: origin-form request to the proxy is refused", "[unit][session]") {
  Playbook p;
  p.client("GET / HTTP/1.1\r\nHost: example.com\r\n\r\n");
  REQUIRE(contains(p.io.to_client, "HTTP/1.1 400 "));
  REQUIRE(p.io.flows.size() == 1);
  CHECK(contains(*p.io.flows[0].error, kErrBadTarget));
}

TEST_CASE("session: CONNECT to a non-intercepted host becomes a byte tunnel flow", "[unit][session]") {
  Playbook p;
  p.client("CONNECT example.org:443 HTTP/1.1\r\nHost: example.org:443\r\n\r\n");
  REQUIRE(p.io.connected_to == "example.org:443");
  REQUIRE(p.session->state() == Session::State::kTunnel);
  REQUIRE_FALSE(p.session->intercepting());
  REQUIRE(p.io.to_client == "HTTP/1.1 200 Connection Established\r\n\r\n");
  p.io.to_client.clear();
  p.client("\x16\x03\x01 client hello bytes");
  REQUIRE(p.io.to_upstream == "\x16\x03\x01 client hello bytes");
  p.upstream("server bytes!");
  REQUIRE(p.io.to_client == "server bytes!");
  // Half-close passes through; the flow is recorded once both directions ended.
  p.session->on_eof(Side::kClient);
  REQUIRE(p.io.has("shutdown upstream"));
  REQUIRE(p.io.flows.empty());
  p.session->on_eof(Side::kUpstream);
  REQUIRE(p.io.has("shutdown client"));
  REQUIRE(p.io.flows.size() == 1);
  const Flow& f = p.io.flows[0];
  CHECK(f.kind == FlowKind::kTunnel);
  CHECK(f.host == "example.org");
  CHECK(f.port == 443);
  CHECK(f.bytes_from_client == 22);
  CHECK(f.bytes_from_upstream == 13);
  CHECK_FALSE(f.request.body.present());
  CHECK_FALSE(f.response.has_value());  // never decrypted, never content
  CHECK(p.io.closed);
}

TEST_CASE("session: bytes sent right behind the CONNECT reach the tunnel", "[unit][session]") {
  Playbook p;
  feed(p, "CONNECT example.org:443 HTTP/1.1\r\n\r\nEARLY");
  p.settle();
  REQUIRE(p.session->state() == Session::State::kTunnel);
  REQUIRE(p.io.to_upstream == "EARLY");
}

TEST_CASE("session: CONNECT refusals close the connection", "[unit][session]") {
  SECTION("bad port") {
    Playbook p;
    p.client("CONNECT example.org:0 HTTP/1.1\r\n\r\n");
    REQUIRE(contains(p.io.to_client, "HTTP/1.1 400 "));
    CHECK(contains(*p.io.flows.at(0).error, kErrBadConnect));
    CHECK(p.io.closed);
  }
  SECTION("userinfo") {
    Playbook p;
    p.client("CONNECT user@example.org:443 HTTP/1.1\r\n\r\n");
    REQUIRE(contains(p.io.to_client, "HTTP/1.1 400 "));
    CHECK(p.io.closed);
  }
  SECTION("aimed at the proxy's own listener") {
    Playbook p;
    p.client("CONNECT 127.0.0.1:8080 HTTP/1.1\r\n\r\n");
    REQUIRE(contains(p.io.to_client, "HTTP/1.1 400 "));
    CHECK(contains(*p.io.flows.at(0).error, kErrLoop));
    CHECK_FALSE(p.io.has("connect 127.0.0.1:8080"));
  }
  SECTION("absolute-form request aimed at the proxy") {
    Playbook p;
    p.client("GET http://localhost:8080/ HTTP/1.1\r\nHost: localhost:8080\r\n\r\n");
    REQUIRE(contains(p.io.to_client, "HTTP/1.1 400 "));
    CHECK(contains(*p.io.flows.at(0).error, kErrLoop));
  }
}

TEST_CASE("session: pipelined requests are answered in order over one upstream", "[unit][session]") {
  Playbook p;
  p.client(
      "GET http://example.com/1 HTTP/1.1\r\nHost: example.com\r\n\r\n"
      "GET http://example.com/2 HTTP/1.1\r\nHost: example.com\r\n\r\n");
  // Only the first request goes upstream; the second waits in the buffer (a small backlog
  // does not keep the client from being read once the request went upstream).
  REQUIRE(p.io.to_upstream.find("GET /1 ") == 0);
  REQUIRE(p.io.to_upstream.find("GET /2 ") == std::string::npos);
  std::string last_client_read;
  for (const auto& c : p.io.commands) {
    if (c == "read_start client" || c == "read_stop client") last_client_read = c;
  }
  REQUIRE(last_client_read == "read_start client");
  p.io.to_upstream.clear();
  p.io.clear();
  p.upstream("HTTP/1.1 200 OK\r\nContent-Length: 3\r\n\r\none");
  REQUIRE(p.io.flows.size() == 1);
  // The second request reuses the kept-alive upstream: no new connect.
  REQUIRE(p.io.to_upstream.find("GET /2 ") == 0);
  REQUIRE_FALSE(p.io.has("connect example.com:80"));
  p.upstream("HTTP/1.1 200 OK\r\nContent-Length: 3\r\n\r\ntwo");
  REQUIRE(p.io.flows.size() == 2);
  CHECK(p.io.flows[0].request.target == "http://example.com/1");
  CHECK(p.io.flows[1].request.target == "http://example.com/2");
  CHECK(p.io.flows[1].response->body.data == std::optional<std::string>("two"));
  REQUIRE(p.io.to_client.find("one") < p.io.to_client.find("two"));
}

TEST_CASE("session: a large pipelined backlog stops reading the client until the response is done", "[unit][session]") {
  Playbook p;
  p.client("GET http://example.com/0 HTTP/1.1\r\nHost: example.com\r\n\r\n");
  REQUIRE(p.io.to_upstream.find("GET /0 ") == 0);
  std::string backlog;
  for (int i = 1; backlog.size() <= 64 * 1024; ++i) {
    backlog += "GET http://example.com/" + std::to_string(i) + " HTTP/1.1\r\nHost: example.com\r\n\r\n";
  }
  p.io.clear();
  p.client(backlog.substr(0, 1000));
  REQUIRE_FALSE(p.io.has("read_stop client"));
  p.client(backlog.substr(1000));
  REQUIRE(p.io.has("read_stop client"));  // bounded: the rest waits in the socket
  p.io.clear();
  p.upstream("HTTP/1.1 204 No Content\r\n\r\n");
  REQUIRE(p.io.flows.size() == 1);
  REQUIRE(p.io.has("read_start client"));
  // The next request of the backlog went upstream at once, in order.
  CHECK(p.io.to_upstream.find("GET /1 ") != std::string::npos);
}

TEST_CASE("session: a different host on the same client connection gets a new upstream", "[unit][session]") {
  Playbook p;
  p.client("GET http://a.example/ HTTP/1.1\r\nHost: a.example\r\n\r\n");
  p.upstream("HTTP/1.1 204 No Content\r\n\r\n");
  REQUIRE(p.io.flows.size() == 1);
  p.io.clear();
  p.client("GET http://b.example/ HTTP/1.1\r\nHost: b.example\r\n\r\n");
  REQUIRE(p.io.has("connect b.example:80"));
}

TEST_CASE("session: client hanging up mid-body records an incomplete flow", "[unit][session]") {
  Playbook p;
  p.client("POST http://example.com/upload HTTP/1.1\r\nHost: example.com\r\nContent-Length: 10\r\n\r\nabc");
  REQUIRE(p.session->state() == Session::State::kForwarding);
  REQUIRE(contains(p.io.to_upstream, "\r\n\r\nabc"));
  p.session->on_eof(Side::kClient);
  REQUIRE(p.io.flows.size() == 1);
  const Flow& f = p.io.flows[0];
  REQUIRE(f.error.has_value());
  CHECK(*f.error == kErrClientClosedMidRequest);
  CHECK(f.request.body.data == std::optional<std::string>("abc"));
  CHECK(f.times.request_end_us == 0);  // the request never completed
  CHECK(p.io.closed);
}

TEST_CASE("session: a body arriving before the upstream connects is held, then streamed", "[unit][session]") {
  Playbook p;
  feed(p, "POST http://example.com/ HTTP/1.1\r\nHost: example.com\r\nContent-Length: 4\r\n\r\nbody");
  REQUIRE(p.session->state() == Session::State::kConnectingUpstream);
  REQUIRE(p.io.has("read_stop client"));
  REQUIRE(p.io.to_upstream.empty());
  p.settle();
  REQUIRE(contains(p.io.to_upstream, "Content-Length: 4\r\n"));
  REQUIRE(p.io.to_upstream.size() >= 4);
  REQUIRE(p.io.to_upstream.substr(p.io.to_upstream.size() - 4) == "body");
}

TEST_CASE("session: chunked upload is re-framed chunked and captured de-chunked", "[unit][session]") {
  Playbook p;
  p.client("POST http://example.com/up HTTP/1.1\r\nHost: example.com\r\nTransfer-Encoding: chunked\r\n\r\n");
  p.client("5\r\nhello\r\n");
  p.client("6\r\n world\r\n0\r\n\r\n");
  REQUIRE(contains(p.io.to_upstream, "Transfer-Encoding: chunked\r\n"));
  REQUIRE(contains(p.io.to_upstream, "5\r\nhello\r\n"));
  REQUIRE(contains(p.io.to_upstream, "0\r\n\r\n"));
  p.upstream("HTTP/1.1 200 OK\r\nContent-Length: 0\r\n\r\n");
  REQUIRE(p.io.flows.size() == 1);
  CHECK(p.io.flows[0].request.body.data == std::optional<std::string>("hello world"));
  CHECK(p.io.flows[0].request.body.wire_size == 11);
}

TEST_CASE("session: body capture is capped, the wire is not", "[unit][session]") {
  SessionConfig c;
  c.options.limits.body_capture_limit = 4;
  Playbook p(c);
  p.client("GET http://example.com/ HTTP/1.1\r\nHost: example.com\r\n\r\n");
  p.upstream("HTTP/1.1 200 OK\r\nContent-Length: 10\r\n\r\n0123456789");
  REQUIRE(contains(p.io.to_client, "0123456789"));
  REQUIRE(p.io.flows.size() == 1);
  CHECK(p.io.flows[0].response->body.data == std::optional<std::string>("0123"));
  CHECK(p.io.flows[0].response->body.truncated);
  CHECK(p.io.flows[0].response->body.wire_size == 10);
}

TEST_CASE("session: close-delimited response completes at upstream EOF", "[unit][session]") {
  Playbook p;
  p.client("GET http://example.com/ HTTP/1.1\r\nHost: example.com\r\n\r\n");
  p.upstream("HTTP/1.1 200 OK\r\n\r\npart1");
  p.upstream("part2");
  REQUIRE(p.io.flows.empty());
  p.session->on_eof(Side::kUpstream);
  REQUIRE(p.io.flows.size() == 1);
  CHECK_FALSE(p.io.flows[0].error.has_value());
  CHECK(p.io.flows[0].response->body.data == std::optional<std::string>("part1part2"));
  // An HTTP/1.1 client gets it chunked, so its connection survives; the upstream does not.
  CHECK(contains(p.io.to_client, "part1"));
  CHECK(p.io.has("close_upstream"));
}

TEST_CASE("session: upstream closing mid-response records the error", "[unit][session]") {
  Playbook p;
  p.client("GET http://example.com/ HTTP/1.1\r\nHost: example.com\r\n\r\n");
  p.upstream("HTTP/1.1 200 OK\r\nContent-Length: 100\r\n\r\nshort");
  p.session->on_eof(Side::kUpstream);
  REQUIRE(p.io.flows.size() == 1);
  REQUIRE(p.io.flows[0].error.has_value());
  CHECK(contains(*p.io.flows[0].error, kErrUpstreamClosed));
  CHECK(p.io.closed);
  CHECK_FALSE(contains(p.io.to_client, "502"));  // the head already went out
}

TEST_CASE("session: upstream closing before any response answers 502", "[unit][session]") {
  Playbook p;
  p.client("GET http://example.com/ HTTP/1.1\r\nHost: example.com\r\n\r\n");
  p.session->on_eof(Side::kUpstream);
  REQUIRE(contains(p.io.to_client, "HTTP/1.1 502 "));
  REQUIRE(p.io.flows.size() == 1);
}

TEST_CASE("session: interim 100 Continue is forwarded and the final response recorded", "[unit][session]") {
  Playbook p;
  p.client("POST http://example.com/ HTTP/1.1\r\nHost: example.com\r\nExpect: 100-continue\r\nContent-Length: 2\r\n\r\n");
  p.upstream("HTTP/1.1 100 Continue\r\n\r\n");
  REQUIRE(contains(p.io.to_client, "HTTP/1.1 100 Continue\r\n"));
  p.client("hi");
  p.upstream("HTTP/1.1 201 Created\r\nContent-Length: 0\r\n\r\n");
  REQUIRE(p.io.flows.size() == 1);
  CHECK(p.io.flows[0].response->status == 201);
  CHECK(p.io.flows[0].request.body.data == std::optional<std::string>("hi"));
}

TEST_CASE("session: HEAD response carries no body", "[unit][session]") {
  Playbook p;
  p.client("HEAD http://example.com/ HTTP/1.1\r\nHost: example.com\r\n\r\n");
  p.upstream("HTTP/1.1 200 OK\r\nContent-Length: 1000\r\n\r\n");
  REQUIRE(p.io.flows.size() == 1);
  CHECK_FALSE(p.io.flows[0].response->body.present());
  CHECK(p.session->state() == Session::State::kReadingRequest);
}

TEST_CASE("session: Connection: close from the client closes after the response", "[unit][session]") {
  Playbook p;
  p.client("GET http://example.com/ HTTP/1.1\r\nHost: example.com\r\nConnection: close\r\n\r\n");
  p.upstream("HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok");
  REQUIRE(p.io.flows.size() == 1);
  CHECK(contains(p.io.to_client, "Connection: close"));
  CHECK(p.io.closed);
}

TEST_CASE("session: proxy authentication", "[unit][session]") {
  SessionConfig c;
  c.options.proxy_auth = "u:p";
  c.expected_proxy_authorization = "Basic dTpw";
  SECTION("missing credentials get 407 with Proxy-Authenticate") {
    Playbook p(c);
    p.client("GET http://example.com/ HTTP/1.1\r\nHost: example.com\r\n\r\n");
    REQUIRE(contains(p.io.to_client, "HTTP/1.1 407 "));
    REQUIRE(contains(p.io.to_client, "Proxy-Authenticate: Basic"));
    CHECK(contains(*p.io.flows.at(0).error, kErrProxyAuth));
    CHECK(p.io.closed);
  }
  SECTION("wrong credentials get 407") {
    Playbook p(c);
    p.client("CONNECT example.org:443 HTTP/1.1\r\nProxy-Authorization: Basic dTpx\r\n\r\n");
    REQUIRE(contains(p.io.to_client, "HTTP/1.1 407 "));
  }
  SECTION("right credentials pass and never reach the upstream or the flow") {
    Playbook p(c);
    p.client("GET http://example.com/ HTTP/1.1\r\nHost: example.com\r\nProxy-Authorization: basic dTpw\r\n\r\n");
    REQUIRE(p.io.has("connect example.com:80"));
    REQUIRE_FALSE(contains(p.io.to_upstream, "dTpw"));
    p.upstream("HTTP/1.1 200 OK\r\nContent-Length: 0\r\n\r\n");
    REQUIRE_FALSE(p.io.flows.at(0).request.headers.has("Proxy-Authorization"));
  }
}

TEST_CASE("session: request-head timeout answers 408, idle connections close silently", "[unit][session]") {
  SECTION("partial head") {
    Playbook p;
    p.client("GET http://example.com/ HTTP/1.1\r\nHost: exa");
    p.session->on_timer(TimerKind::kRequestHead);
    REQUIRE(contains(p.io.to_client, "HTTP/1.1 408 "));
    REQUIRE(p.io.flows.size() == 1);
    CHECK(contains(*p.io.flows[0].error, kErrRequestHeadTimeout));
  }
  SECTION("nothing sent") {
    Playbook p;
    p.session->on_timer(TimerKind::kRequestHead);
    REQUIRE(p.io.to_client.empty());
    REQUIRE(p.io.flows.empty());
    REQUIRE(p.io.closed);
  }
  SECTION("keep-alive idle") {
    Playbook p;
    p.client("GET http://example.com/ HTTP/1.1\r\nHost: example.com\r\n\r\n");
    p.upstream("HTTP/1.1 200 OK\r\nContent-Length: 0\r\n\r\n");
    p.session->on_timer(TimerKind::kKeepAliveIdle);
    REQUIRE(p.io.flows.size() == 1);
    REQUIRE(p.io.closed);
  }
}

TEST_CASE("session: body idle timeout records the stalled upload", "[unit][session]") {
  Playbook p;
  p.client("POST http://example.com/ HTTP/1.1\r\nHost: example.com\r\nContent-Length: 10\r\n\r\n12");
  REQUIRE(p.io.has("arm body-idle 60000"));
  p.session->on_timer(TimerKind::kBodyIdle);
  REQUIRE(p.io.flows.size() == 1);
  CHECK(contains(*p.io.flows[0].error, kErrBodyIdleTimeout));
  CHECK(p.io.closed);
}

TEST_CASE("session: a silent upstream gets 504 after the response timeout, each response byte restarts the wait",
          "[unit][session]") {
  Playbook p;
  p.client("POST http://example.com/token HTTP/1.1\r\nHost: example.com\r\nContent-Length: 4\r\n\r\nab");
  // While the body comes, the body's idle timer runs; once it is whole, the response's.
  CHECK(p.io.has("arm body-idle 60000"));
  CHECK_FALSE(p.io.has("arm upstream-response 300000"));
  p.io.clear();
  p.client("cd");
  REQUIRE(p.io.has("arm upstream-response 300000"));

  SECTION("nothing answered: 504 with the reason, flow recorded, connection closed") {
    p.session->on_timer(TimerKind::kUpstreamResponse);
    CHECK(contains(p.io.to_client, "HTTP/1.1 504 "));
    CHECK(contains(p.io.to_client, kErrUpstreamResponseTimeout));
    REQUIRE(p.io.flows.size() == 1);
    CHECK(contains(*p.io.flows[0].error, kErrUpstreamResponseTimeout));
    CHECK(p.io.closed);
  }
  SECTION("stalled mid-body: no second status line, the connection closes, the flow says why") {
    p.io.clear();
    p.upstream("HTTP/1.1 200 OK\r\nContent-Length: 10\r\n\r\n12345");
    CHECK(p.io.has("arm upstream-response 300000"));
    p.io.clear();
    p.upstream("67");
    CHECK(p.io.has("arm upstream-response 300000"));  // restarted by the next bytes
    p.session->on_timer(TimerKind::kUpstreamResponse);
    CHECK_FALSE(contains(p.io.to_client, "504"));
    CHECK(contains(p.io.to_client, "HTTP/1.1 200 OK"));
    REQUIRE(p.io.flows.size() == 1);
    CHECK(contains(*p.io.flows[0].error, kErrUpstreamResponseTimeout));
    CHECK(p.io.closed);
  }
  SECTION("answered in time: the keep-alive timers take over, a late timer event changes nothing") {
    p.upstream("HTTP/1.1 200 OK\r\nContent-Length: 0\r\n\r\n");
    REQUIRE(p.io.flows.size() == 1);
    CHECK_FALSE(p.io.flows[0].error.has_value());
    p.session->on_timer(TimerKind::kUpstreamResponse);
    CHECK_FALSE(p.io.closed);
    CHECK(p.io.flows.size() == 1);
  }
}

TEST_CASE("session: server shutdown closes idle sessions and lets busy ones finish", "[unit][session]") {
  SECTION("idle") {
    Playbook p;
    p.session->on_server_shutdown();
    REQUIRE(p.io.closed);
  }
  SECTION("busy") {
    Playbook p;
    p.client("GET http://example.com/ HTTP/1.1\r\nHost: example.com\r\n\r\n");
    p.session->on_server_shutdown();
    REQUIRE_FALSE(p.io.closed);
    p.upstream("HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok");
    REQUIRE(p.io.flows.size() == 1);
    CHECK_FALSE(p.io.flows[0].error.has_value());
    CHECK(contains(p.io.to_client, "Connection: close"));
    REQUIRE(p.io.closed);
  }
  SECTION("abort records the exchange in flight") {
    Playbook p;
    p.client("GET http://example.com/ HTTP/1.1\r\nHost: example.com\r\n\r\n");
    p.session->on_abort(kErrShutdown);
    REQUIRE(p.io.flows.size() == 1);
    CHECK(*p.io.flows[0].error == kErrShutdown);
    REQUIRE(p.io.closed);
  }
}

TEST_CASE("session: websocket upgrade becomes a byte tunnel after 101", "[unit][session]") {
  Playbook p;
  p.client(
      "GET http://example.com/ws HTTP/1.1\r\nHost: example.com\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
      "Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n\r\n");
  REQUIRE(contains(p.io.to_upstream, "Upgrade: websocket"));
  p.upstream("HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n\r\nFRAME1");
  REQUIRE(p.session->state() == Session::State::kTunnel);
  REQUIRE(p.io.flows.size() == 1);
  CHECK(p.io.flows[0].response->status == 101);
  REQUIRE(contains(p.io.to_client, "FRAME1"));
  p.io.to_upstream.clear();
  p.client("FRAME2");
  REQUIRE(p.io.to_upstream == "FRAME2");
}

TEST_CASE("session: client connection reset while waiting records the flow", "[unit][session]") {
  Playbook p;
  p.client("GET http://example.com/ HTTP/1.1\r\nHost: example.com\r\n\r\n");
  p.session->on_read_error(Side::kClient, "connection reset by peer");
  REQUIRE(p.io.flows.size() == 1);
  CHECK(contains(*p.io.flows[0].error, "connection reset by peer"));
  CHECK(p.io.closed);
}

TEST_CASE("session: events after close are ignored", "[unit][session]") {
  Playbook p;
  p.session->on_eof(Side::kClient);
  REQUIRE(p.io.closed);
  auto n = p.io.commands.size();
  p.session->on_client_bytes("GET", 3);
  p.session->on_timer(TimerKind::kKeepAliveIdle);
  p.session->on_upstream_connected(Status::Ok());
  REQUIRE(p.io.commands.size() == n);
}

TEST_CASE("session: pipelined requests with responses split across reads", "[unit][session]") {
  Playbook p;
  p.client(
      "GET http://plain.test/status/200?i=0 HTTP/1.1\r\nHost: plain.test\r\n\r\n"
      "GET http://plain.test/status/200?i=1 HTTP/1.1\r\nHost: plain.test\r\n\r\n");
  p.upstream("HTTP/1.1 200 OK\r\nContent-Type: text/plain; charset=utf-8\r\nContent-Length: 11\r\n\r\n");
  p.io.to_upstream.clear();
  p.upstream("status 200\n");
  REQUIRE(p.io.flows.size() == 1);
  INFO(p.io.to_upstream);
  REQUIRE(p.io.to_upstream.find("GET /status/200?i=1 ") == 0);
  p.upstream("HTTP/1.1 200 OK\r\nContent-Type: text/plain; charset=utf-8\r\nContent-Length: 11\r\n\r\n");
  p.upstream("status 200\n");
  REQUIRE(p.io.flows.size() == 2);
  CHECK_FALSE(p.io.flows[1].error.has_value());
}

TEST_CASE("session: a declined websocket upgrade is answered, then the connection closes", "[unit][session]") {
  Playbook p;
  p.client(
      "GET http://example.com/ws HTTP/1.1\r\nHost: example.com\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
      "Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n\r\n");
  p.upstream("HTTP/1.1 400 Bad Request\r\nContent-Length: 2\r\n\r\nno");
  REQUIRE(p.io.flows.size() == 1);
  CHECK(p.io.flows[0].response->status == 400);
  CHECK(contains(p.io.to_client, "\r\n\r\nno"));
  CHECK(p.io.closed);
}

TEST_CASE("session: a client that half-closes after its request still gets the response", "[unit][session]") {
  Playbook p;
  p.client("GET http://example.com/ HTTP/1.1\r\nHost: example.com\r\n\r\n");
  p.session->on_eof(Side::kClient);
  REQUIRE_FALSE(p.io.closed);
  p.upstream("HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok");
  REQUIRE(p.io.flows.size() == 1);
  CHECK_FALSE(p.io.flows[0].error.has_value());
  CHECK(contains(p.io.to_client, "\r\n\r\nok"));
  CHECK(p.io.closed);  // nothing more can come from that client
}

TEST_CASE("session: an idle kept-alive upstream that closes is replaced on the next request", "[unit][session]") {
  Playbook p;
  p.client("GET http://example.com/1 HTTP/1.1\r\nHost: example.com\r\n\r\n");
  p.upstream("HTTP/1.1 200 OK\r\nContent-Length: 0\r\n\r\n");
  p.session->on_eof(Side::kUpstream);
  REQUIRE(p.io.has("close_upstream"));
  REQUIRE_FALSE(p.io.closed);
  p.io.clear();
  p.client("GET http://example.com/2 HTTP/1.1\r\nHost: example.com\r\n\r\n");
  REQUIRE(p.io.has("connect example.com:80"));
  p.upstream("HTTP/1.1 200 OK\r\nContent-Length: 0\r\n\r\n");
  REQUIRE(p.io.flows.size() == 2);
}
