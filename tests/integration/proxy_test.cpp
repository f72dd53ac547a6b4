// Loopback integration tests of the capture proxy: the real proxy (libuv, llhttp, OpenSSL) in
// this process on its own loop, the testkit's fake Entra upstream (TLS with a test CA), and real
// curl subprocesses as clients. Every test asserts on the recorded flows and ends with
// uv_loop_close() == 0.
#include <catch2/catch.hpp>

#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <unistd.h>

#include <atomic>
#include <cstdio>
#include <fstream>
#include <thread>

#include "proxy/proxy_errors.h"
#include "proxy/tls/cert_authority.h"
#include "tests/integration/proxy_harness.h"
#include "tests/integration/proxy_world.h"
#include "tests/support/fake_entra_server.h"
#include "tests/support/process_helpers.h"
#include "tests/support/sanitizers.h"
#include "tests/support/test_pki.h"

using namespace authscope;
using namespace authscope::testkit;
using authscope::testing::ProxyHarness;
using namespace std::chrono_literals;

namespace {

bool contains(const std::string& hay, std::string_view needle) { return hay.find(needle) != std::string::npos; }

struct World : authscope::testing::ProxyWorld {
  World() : ProxyWorld("authscope-proxy-it", {"login.microsoftonline.com", "graph.microsoft.com", "management.azure.com"}) {}
};

// ASan keeps freed memory in quarantine (256 MiB by default) and maps shadow memory, so RSS
// says nothing about the proxy's buffering there: the RSS assertion runs in normal builds only
// (the streaming and capture-cap assertions run everywhere).
using authscope::testing::kAddressSanitizer;

#define SKIP_WITHOUT_CURL()                                         \
  do {                                                              \
    if (!have_executable("curl")) {                                 \
      WARN("curl is not installed: skipping this proxy test");      \
      return;                                                       \
    }                                                               \
  } while (0)

// A blocking loopback client with bounded reads, for what curl cannot do (pipelining, hang-ups).
class RawClient {
 public:
  explicit RawClient(uint16_t port) {
    fd_ = ::socket(AF_INET, SOCK_STREAM, 0);
    timeval tv{5, 0};
    setsockopt(fd_, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
    setsockopt(fd_, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof tv);
    sockaddr_in sa{};
    sa.sin_family = AF_INET;
    sa.sin_port = htons(port);
    sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    connected_ = ::connect(fd_, reinterpret_cast<sockaddr*>(&sa), sizeof sa) == 0;
  }
  ~RawClient() { close(); }
  bool connected() const { return connected_; }
  bool send(std::string_view bytes) {
    size_t off = 0;
    while (off < bytes.size()) {
      ssize_t n = ::send(fd_, bytes.data() + off, bytes.size() - off, MSG_NOSIGNAL);
      if (n <= 0) return false;
      off += static_cast<size_t>(n);
    }
    return true;
  }
  // Reads until `done(received)` is true, EOF, error or the deadline.
  std::string read_until(const std::function<bool(const std::string&)>& done, std::chrono::milliseconds limit = 10s) {
    std::string out;
    auto deadline = std::chrono::steady_clock::now() + limit;
    char buf[65536];
    while (std::chrono::steady_clock::now() < deadline && !done(out)) {
      ssize_t n = ::recv(fd_, buf, sizeof buf, 0);
      if (n <= 0) break;
      out.append(buf, static_cast<size_t>(n));
    }
    return out;
  }
  std::string read_all(std::chrono::milliseconds limit = 10s) {
    return read_until([](const std::string&) { return false; }, limit);
  }
  void close() {
    if (fd_ >= 0) ::close(fd_);
    fd_ = -1;
  }

 private:
  int fd_ = -1;
  bool connected_ = false;
};

size_t count_of(const std::string& hay, std::string_view needle) {
  size_t n = 0;
  for (size_t pos = hay.find(needle); pos != std::string::npos; pos = hay.find(needle, pos + needle.size())) ++n;
  return n;
}

// The fake server records a request after its response went out: wait (bounded) for it.
std::vector<RecordedRequest> wait_requests(const FakeEntraServer& server, size_t n) {
  for (int i = 0; i < 200; ++i) {
    auto seen = server.requests();
    if (seen.size() >= n) return seen;
    std::this_thread::sleep_for(10ms);
  }
  return server.requests();
}

size_t rss_kib() {
  std::ifstream status("/proc/self/status");
  std::string line;
  while (std::getline(status, line)) {
    if (line.rfind("VmRSS:", 0) == 0) return std::stoul(line.substr(6));
  }
  return 0;
}

}  // namespace

TEST_CASE("proxy: plain HTTP absolute-form is forwarded and recorded", "[integration][proxy]") {
  SKIP_WITHOUT_CURL();
  World w;
  w.start_upstreams();
  w.start_proxy();
  auto r = w.curl({"-H", "X-Test-Case: Plain", "http://plain.test/echo?x=1"});
  REQUIRE(r.exit_code == 0);
  REQUIRE(contains(r.out, "\"X-Test-Case\""));
  auto flows = w.proxy.wait_flows(1);
  REQUIRE(flows.size() == 1);
  const Flow& f = flows[0];
  CHECK(f.kind == FlowKind::kHttp);
  CHECK(f.scheme == "http");
  CHECK(f.host == "plain.test");
  CHECK(f.port == 80);
  CHECK(f.request.method == "GET");
  CHECK(f.request.headers.has("x-test-case"));
  REQUIRE(f.response.has_value());
  CHECK(f.response->status == 200);
  REQUIRE(f.response->body.present());
  CHECK(contains(*f.response->body.data, "X-Test-Case"));
  CHECK_FALSE(f.error.has_value());
  CHECK(f.times.end_us >= f.times.start_us);
  // The upstream saw origin-form and the URI's authority as Host.
  auto seen = w.plain_upstream->requests();
  REQUIRE(seen.size() == 1);
  CHECK(seen[0].target == "/echo?x=1");
  CHECK(w.proxy.stop() == 0);
}

TEST_CASE("proxy: HTTPS to an intercepted host is decrypted, verified upstream and recorded",
          "[integration][proxy]") {
  SKIP_WITHOUT_CURL();
  World w;
  w.start_upstreams();
  w.start_proxy();
  auto r = w.curl({"https://login.microsoftonline.com/common/v2.0/.well-known/openid-configuration"});
  INFO(r.err);
  REQUIRE(r.exit_code == 0);
  REQUIRE(contains(r.out, "authorization_endpoint"));
  auto flows = w.proxy.wait_flows(1);
  REQUIRE(flows.size() == 1);
  const Flow& f = flows[0];
  CHECK(f.scheme == "https");
  CHECK(f.host == "login.microsoftonline.com");
  CHECK(f.port == 443);
  CHECK(f.request.target == "/common/v2.0/.well-known/openid-configuration");
  REQUIRE(f.response.has_value());
  CHECK(f.response->status == 200);
  CHECK(contains(*f.response->body.data, "authorization_endpoint"));
  REQUIRE(f.tls.has_value());
  CHECK(f.tls->upstream_verify == "ok");
  CHECK(contains(f.tls->upstream_cert_issuer, "authscope test root CA"));
  CHECK(f.tls->sni == "login.microsoftonline.com");
  CHECK_FALSE(f.tls->client_version.empty());
  CHECK_FALSE(f.tls->upstream_version.empty());
  CHECK(w.proxy.stop() == 0);
}

TEST_CASE("proxy: HTTPS to other hosts is tunnelled, never decrypted", "[integration][proxy]") {
  SKIP_WITHOUT_CURL();
  World w;
  w.start_upstreams();
  w.start_proxy();
  // management.azure.com is not in this test's intercept list; curl verifies the real upstream.
  std::vector<std::string> args = {"--max-time", "25", "--noproxy", "", "-x", w.proxy.proxy_url(),
                                   "--cacert", w.pki.ca_cert, "https://management.azure.com/echo"};
  auto r = run_curl(args);
  INFO(r.err);
  REQUIRE(r.exit_code == 0);
  REQUIRE(contains(r.out, "\"path\""));
  auto flows = w.proxy.wait_flows(1);
  REQUIRE(flows.size() == 1);
  const Flow& f = flows[0];
  CHECK(f.kind == FlowKind::kTunnel);
  CHECK(f.host == "management.azure.com");
  CHECK(f.port == 443);
  CHECK(f.bytes_from_client > 100);
  CHECK(f.bytes_from_upstream > 100);
  CHECK_FALSE(f.response.has_value());
  CHECK_FALSE(f.request.body.present());
  CHECK_FALSE(f.tls.has_value());
  CHECK(f.duration_us() > 0);
  CHECK(w.proxy.stop() == 0);
}

TEST_CASE("proxy: several requests over one kept-alive intercepted tunnel reuse one upstream",
          "[integration][proxy]") {
  SKIP_WITHOUT_CURL();
  World w;
  w.start_upstreams();
  w.start_proxy();
  auto r = w.curl({"https://login.microsoftonline.com/echo?n=1", "https://login.microsoftonline.com/bytes/100",
                   "https://login.microsoftonline.com/echo?n=3"});
  INFO(r.err);
  REQUIRE(r.exit_code == 0);
  auto flows = w.proxy.wait_flows(3);
  REQUIRE(flows.size() == 3);
  CHECK(flows[0].connection_id == flows[1].connection_id);
  CHECK(flows[1].connection_id == flows[2].connection_id);
  CHECK(flows[0].request.target == "/echo?n=1");
  CHECK(flows[1].response->body.wire_size == 100);
  CHECK(flows[2].request.target == "/echo?n=3");
  auto seen = wait_requests(*w.tls_upstream, 3);
  REQUIRE(seen.size() == 3);
  CHECK(seen[0].connection == seen[2].connection);  // one upstream connection
  CHECK(w.proxy.stop() == 0);
}

TEST_CASE("proxy: chunked upload is streamed, re-framed and captured", "[integration][proxy]") {
  SKIP_WITHOUT_CURL();
  World w;
  w.start_upstreams();
  w.start_proxy();
  std::string body(100000, 'x');
  for (size_t i = 0; i < body.size(); i += 7) body[i] = static_cast<char>('a' + i % 26);
  REQUIRE(write_text_file(w.home.file("chunked.bin"), body).ok());
  auto r = w.curl({"-H", "Transfer-Encoding: chunked", "-H", "Content-Type: application/octet-stream",
                   "--data-binary", "@" + w.home.file("chunked.bin"), "https://login.microsoftonline.com/echo"});
  INFO(r.err);
  REQUIRE(r.exit_code == 0);
  REQUIRE(contains(r.out, "\"body_size\":100000"));
  auto flows = w.proxy.wait_flows(1);
  REQUIRE(flows.size() == 1);
  REQUIRE(flows[0].request.body.present());
  CHECK(*flows[0].request.body.data == body);
  CHECK(flows[0].request.body.wire_size == body.size());
  CHECK(flows[0].request.headers.has("Transfer-Encoding"));
  CHECK(w.proxy.stop() == 0);
}

TEST_CASE("proxy: 20 MiB bodies both ways stream with bounded memory and capped capture",
          "[integration][proxy]") {
  SKIP_WITHOUT_CURL();
  World w;
  w.start_upstreams();
  w.start_proxy();
  constexpr size_t k20MiB = 20u * 1024 * 1024;
  {
    std::ofstream out(w.home.file("big.bin"), std::ios::binary);
    std::string block(1 << 20, 'b');
    for (int i = 0; i < 20; ++i) out.write(block.data(), static_cast<std::streamsize>(block.size()));
  }
  const size_t baseline = rss_kib();
  std::atomic<bool> sampling{true};
  std::atomic<size_t> peak{baseline};
  std::thread sampler([&] {
    for (int i = 0; i < 6000 && sampling; ++i) {
      size_t now = rss_kib();
      if (now > peak) peak = now;
      std::this_thread::sleep_for(5ms);
    }
  });
  auto down = w.curl({"-o", "/dev/null", "-w", "%{size_download}", "https://login.microsoftonline.com/bytes/" +
                                                                     std::to_string(k20MiB)});
  auto up = w.curl({"-H", "Content-Type: application/octet-stream", "--data-binary", "@" + w.home.file("big.bin"),
                    "https://login.microsoftonline.com/upload"});
  sampling = false;
  sampler.join();
  INFO(down.err << up.err);
  REQUIRE(down.exit_code == 0);
  CHECK(down.out == std::to_string(k20MiB));
  REQUIRE(up.exit_code == 0);
  auto flows = w.proxy.wait_flows(2);
  REQUIRE(flows.size() == 2);
  const Flow& d = flows[0];
  REQUIRE(d.response.has_value());
  CHECK(d.response->body.wire_size == k20MiB);
  CHECK(d.response->body.truncated);
  CHECK(d.response->body.data->size() == ProxyLimits{}.body_capture_limit);
  const Flow& u = flows[1];
  CHECK(u.request.body.wire_size == k20MiB);
  CHECK(u.request.body.truncated);
  CHECK(u.request.body.data->size() == ProxyLimits{}.body_capture_limit);
  // Growth includes the two 4 MiB captures held by this test's sink and the fake server's
  // buffers; a proxy that buffered a whole body would add 20 MiB or more on its own.
  const size_t growth_mib = (peak - baseline) / 1024;
  INFO("RSS growth during 2 x 20 MiB: " << growth_mib << " MiB");
  if (kAddressSanitizer) {
    WARN("AddressSanitizer build: RSS includes its quarantine and shadow memory; RSS bound not checked");
  } else {
    CHECK(growth_mib < 40);
  }
  CHECK(w.proxy.stop() == 0);
}

TEST_CASE("proxy: an upstream with a wrong-name certificate gets 502 and a flow error", "[integration][proxy]") {
  SKIP_WITHOUT_CURL();
  World w;
  FakeEntraOptions wrong;
  wrong.cert_file = w.pki.wrong_cert;
  wrong.key_file = w.pki.wrong_key;
  auto upstream = FakeEntraServer::start(wrong);
  REQUIRE(upstream.ok());
  ProxyOptions o = w.options();
  o.resolves.push_back({"login.microsoftonline.com", 443, "127.0.0.1", upstream.value()->port()});
  w.start_proxy(o);
  auto r = w.curl({"-v", "https://login.microsoftonline.com/echo"});
  CHECK(r.exit_code != 0);
  CHECK(contains(r.err, "502"));
  auto flows = w.proxy.wait_flows(1);
  REQUIRE(flows.size() == 1);
  REQUIRE(flows[0].error.has_value());
  CHECK(contains(*flows[0].error, kErrUpstreamCert));
  CHECK(flows[0].host == "login.microsoftonline.com");
  REQUIRE(flows[0].tls.has_value());
  CHECK(flows[0].tls->upstream_verify != "ok");
  CHECK_FALSE(flows[0].response.has_value());
  CHECK(upstream.value()->requests().empty());  // nothing was sent to the impostor
  CHECK(w.proxy.stop() == 0);
}

TEST_CASE("proxy: an upstream that is not listening gets 502", "[integration][proxy]") {
  SKIP_WITHOUT_CURL();
  World w;
  // A port that was just free: bind, read it, close.
  int fd = ::socket(AF_INET, SOCK_STREAM, 0);
  sockaddr_in sa{};
  sa.sin_family = AF_INET;
  sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  REQUIRE(::bind(fd, reinterpret_cast<sockaddr*>(&sa), sizeof sa) == 0);
  socklen_t len = sizeof sa;
  getsockname(fd, reinterpret_cast<sockaddr*>(&sa), &len);
  uint16_t dead_port = ntohs(sa.sin_port);
  ::close(fd);
  ProxyOptions o = w.options();
  o.resolves.push_back({"dead.test", 80, "127.0.0.1", dead_port});
  o.resolves.push_back({"login.microsoftonline.com", 443, "127.0.0.1", dead_port});
  w.start_proxy(o);
  auto r = w.curl({"-s", "-o", "/dev/null", "-w", "%{http_code}", "http://dead.test/"});
  CHECK(r.out == "502");
  auto s = w.curl({"-v", "https://login.microsoftonline.com/"});
  CHECK(s.exit_code != 0);
  CHECK(contains(s.err, "502"));
  auto flows = w.proxy.wait_flows(2);
  REQUIRE(flows.size() == 2);
  for (const auto& f : flows) {
    REQUIRE(f.error.has_value());
    CHECK(contains(*f.error, kErrUpstreamConnect));
  }
  CHECK(w.proxy.stop() == 0);
}

TEST_CASE("proxy: a client that rejects the authscope certificate is explained", "[integration][proxy]") {
  SKIP_WITHOUT_CURL();
  World w;
  w.start_upstreams();
  w.start_proxy();
  // Trust only the test PKI, not the authscope CA: curl aborts the handshake with an alert.
  std::vector<std::string> args = {"--max-time", "25", "--noproxy", "", "-x", w.proxy.proxy_url(),
                                   "--cacert", w.pki.ca_cert, "https://login.microsoftonline.com/echo"};
  auto r = run_curl(args);
  CHECK(r.exit_code != 0);
  auto flows = w.proxy.wait_flows(1);
  REQUIRE(flows.size() == 1);
  REQUIRE(flows[0].error.has_value());
  INFO(*flows[0].error);
  CHECK(contains(*flows[0].error, "authscope"));
  CHECK(contains(*flows[0].error, "SSL_CERT_FILE"));
  CHECK(contains(*flows[0].error, "REQUESTS_CA_BUNDLE"));
  REQUIRE(flows[0].tls.has_value());
  CHECK_FALSE(flows[0].tls->client_alert.empty());
  CHECK(w.proxy.stop() == 0);
}

TEST_CASE("proxy: a client hanging up mid-body is recorded and the proxy keeps serving",
          "[integration][proxy]") {
  SKIP_WITHOUT_CURL();
  World w;
  w.start_upstreams();
  w.start_proxy();
  {
    RawClient c(w.proxy.port());
    REQUIRE(c.connected());
    REQUIRE(c.send("POST http://plain.test/upload HTTP/1.1\r\nHost: plain.test\r\nContent-Length: 100000\r\n\r\n"));
    REQUIRE(c.send(std::string(5000, 'z')));
    std::this_thread::sleep_for(100ms);
    c.close();
  }
  auto flows = w.proxy.wait_flows(1);
  REQUIRE(flows.size() == 1);
  REQUIRE(flows[0].error.has_value());
  CHECK(*flows[0].error == kErrClientClosedMidRequest);
  CHECK(flows[0].request.body.wire_size == 5000);
  auto r = w.curl({"http://plain.test/echo"});
  CHECK(r.exit_code == 0);
  CHECK(w.proxy.wait_flows(2).size() == 2);
  CHECK(w.proxy.stop() == 0);
}

TEST_CASE("proxy: malformed requests get 400, a flow error, and the connection closes", "[integration][proxy]") {
  World w;
  w.start_upstreams();
  w.start_proxy();
  RawClient c(w.proxy.port());
  REQUIRE(c.connected());
  // Content-Length with Transfer-Encoding (a smuggling shape), then a request that must never run.
  REQUIRE(c.send("POST http://plain.test/echo HTTP/1.1\r\nHost: plain.test\r\nContent-Length: 5\r\n"
                 "Transfer-Encoding: chunked\r\n\r\n0\r\n\r\nGET http://plain.test/echo HTTP/1.1\r\nHost: plain.test\r\n\r\n"));
  std::string reply = c.read_all(5s);
  CHECK(reply.rfind("HTTP/1.1 400 ", 0) == 0);
  CHECK(count_of(reply, "HTTP/1.1") == 1);
  auto flows = w.proxy.wait_flows(1);
  REQUIRE(flows.size() == 1);
  REQUIRE(flows[0].error.has_value());
  CHECK(w.plain_upstream->requests().empty());
  CHECK(w.proxy.stop() == 0);
}

TEST_CASE("proxy: a pipelined burst is answered in order, every request", "[integration][proxy]") {
  World w;
  w.start_upstreams();
  w.start_proxy();
  RawClient c(w.proxy.port());
  REQUIRE(c.connected());
  constexpr int kRequests = 1000;
  std::string burst;
  for (int i = 0; i < kRequests; ++i)
    burst += "GET http://plain.test/status/200?i=" + std::to_string(i) + " HTTP/1.1\r\nHost: plain.test\r\n\r\n";
  std::thread writer([&] { c.send(burst); });
  std::string replies =
      c.read_until([&](const std::string& got) { return count_of(got, "status 200\n") >= kRequests; }, 60s);
  writer.join();
  CHECK(count_of(replies, "HTTP/1.1 200 ") == kRequests);
  auto flows = w.proxy.wait_flows(kRequests, 20s);
  std::string second = flows.size() > 1 ? flows[1].request.target + " " + flows[1].error.value_or("ok") : "";
  INFO("second flow: " << second);
  std::string upstream_saw;
  for (const auto& rq : w.plain_upstream->requests()) {
    upstream_saw += std::to_string(rq.connection) + " " + rq.target + " [";
    for (const auto& h : rq.headers.fields()) upstream_saw += h.name + ": " + h.value + "; ";
    upstream_saw += "]\n";
  }
  INFO("upstream saw: " << upstream_saw);
  INFO("replies: " << replies.substr(0, 600));
  REQUIRE(flows.size() == kRequests);
  bool ordered = true;
  for (int i = 0; i < kRequests; ++i)
    ordered = ordered && flows[static_cast<size_t>(i)].request.target ==
                             "http://plain.test/status/200?i=" + std::to_string(i);
  CHECK(ordered);
  auto seen = w.plain_upstream->requests();
  REQUIRE(seen.size() == kRequests);
  CHECK(seen.front().connection == seen.back().connection);
  c.close();
  CHECK(w.proxy.stop() == 0);
}

TEST_CASE("proxy: a non-loopback listener needs proxy credentials", "[integration][proxy]") {
  uv_loop_t loop;
  uv_loop_init(&loop);
  ProxyOptions o;
  o.listen_addr = "0.0.0.0";
  o.listen_port = 0;
  auto refused = create_proxy_server(&loop, o, [](Flow&&) {});
  REQUIRE_FALSE(refused.ok());
  CHECK(contains(refused.status().message(), "--proxy-auth"));
  CHECK(uv_loop_close(&loop) == 0);
}

TEST_CASE("proxy: proxy-auth answers 407 without credentials and forwards with them", "[integration][proxy]") {
  SKIP_WITHOUT_CURL();
  World w;
  w.start_upstreams();
  ProxyOptions o = w.options();
  o.proxy_auth = "alice:s3cret";
  w.start_proxy(o);
  auto denied = w.curl({"-s", "-o", "/dev/null", "-w", "%{http_code}", "http://plain.test/echo"});
  CHECK(denied.out == "407");
  auto allowed = w.curl({"-U", "alice:s3cret", "http://plain.test/echo"});
  CHECK(allowed.exit_code == 0);
  CHECK_FALSE(contains(allowed.out, "Proxy-Authorization"));  // never forwarded
  auto flows = w.proxy.wait_flows(2);
  REQUIRE(flows.size() == 2);
  CHECK(contains(*flows[0].error, kErrProxyAuth));
  CHECK_FALSE(flows[1].error.has_value());
  CHECK(w.proxy.stop() == 0);
}

TEST_CASE("proxy: requests aimed at the proxy itself are refused", "[integration][proxy]") {
  World w;
  w.start_proxy();
  RawClient c(w.proxy.port());
  REQUIRE(c.connected());
  REQUIRE(c.send("CONNECT 127.0.0.1:" + std::to_string(w.proxy.port()) + " HTTP/1.1\r\n\r\n"));
  std::string reply = c.read_all(5s);
  CHECK(reply.rfind("HTTP/1.1 400 ", 0) == 0);
  auto flows = w.proxy.wait_flows(1);
  REQUIRE(flows.size() == 1);
  CHECK(contains(*flows[0].error, kErrLoop));
  CHECK(w.proxy.stop() == 0);
}

TEST_CASE("proxy: connections beyond max_connections are refused cleanly", "[integration][proxy]") {
  World w;
  w.start_upstreams();
  ProxyOptions o = w.options();
  o.limits.max_connections = 4;
  w.start_proxy(o);
  std::vector<std::unique_ptr<RawClient>> held;
  for (int i = 0; i < 4; ++i) {
    held.push_back(std::make_unique<RawClient>(w.proxy.port()));
    REQUIRE(held.back()->connected());
  }
  std::this_thread::sleep_for(100ms);
  RawClient extra(w.proxy.port());
  std::string reply = extra.read_all(5s);
  CHECK(reply.rfind("HTTP/1.1 503 ", 0) == 0);
  // The held connections still work.
  REQUIRE(held[0]->send("GET http://plain.test/echo HTTP/1.1\r\nHost: plain.test\r\n\r\n"));
  std::string ok = held[0]->read_until([](const std::string& s) { return contains(s, "}"); }, 5s);
  CHECK(ok.rfind("HTTP/1.1 200 ", 0) == 0);
  held.clear();
  CHECK(w.proxy.stop() == 0);
}

TEST_CASE("proxy: shutdown closes idle kept-alive connections and the loop closes cleanly",
          "[integration][proxy]") {
  World w;
  w.start_upstreams();
  ProxyOptions o = w.options();
  o.limits.shutdown_grace_ms = 500;
  w.start_proxy(o);
  RawClient idle(w.proxy.port());
  REQUIRE(idle.connected());
  REQUIRE(idle.send("GET http://plain.test/echo HTTP/1.1\r\nHost: plain.test\r\n\r\n"));
  idle.read_until([](const std::string& s) { return contains(s, "}"); }, 5s);
  RawClient tunnel(w.proxy.port());
  REQUIRE(tunnel.send("CONNECT management.azure.com:443 HTTP/1.1\r\n\r\n"));
  tunnel.read_until([](const std::string& s) { return contains(s, "\r\n\r\n"); }, 5s);
  auto t0 = std::chrono::steady_clock::now();
  CHECK(w.proxy.stop() == 0);
  CHECK(std::chrono::steady_clock::now() - t0 < 5s);
  // The tunnel was cut at the end of the grace period and still recorded.
  auto flows = w.proxy.flows();
  bool tunnel_recorded = false;
  for (const auto& f : flows) tunnel_recorded = tunnel_recorded || f.kind == FlowKind::kTunnel;
  CHECK(tunnel_recorded);
}

TEST_CASE("proxy: HEAD, 204, 304 and close-delimited responses through an intercepted tunnel",
          "[integration][proxy]") {
  SKIP_WITHOUT_CURL();
  World w;
  w.start_upstreams();
  w.start_proxy();
  const std::string base = "https://login.microsoftonline.com";
  auto r = w.curl({"-s", "-o", "/dev/null", "-w", "%{http_code} ",
                   "-I", base + "/bytes/1000"});
  CHECK(r.out == "200 ");
  auto s = w.curl({"-s", "-w", "%{http_code} %{size_download} ", "-o", "/dev/null", base + "/status/204", "-o",
                   "/dev/null", base + "/status/304", "-o", "/dev/null", base + "/close/5000", "-o", "/dev/null",
                   base + "/chunked/3000"});
  INFO(s.err);
  CHECK(s.out == "204 0 304 0 200 5000 200 3000 ");
  auto flows = w.proxy.wait_flows(5);
  REQUIRE(flows.size() == 5);
  CHECK(flows[0].request.method == "HEAD");
  CHECK_FALSE(flows[0].response->body.present());
  CHECK(flows[1].response->status == 204);
  CHECK(flows[2].response->status == 304);
  CHECK(flows[3].response->body.wire_size == 5000);
  CHECK_FALSE(flows[3].error.has_value());
  CHECK(flows[4].response->body.wire_size == 3000);
  // 204, 304 and the close-delimited body kept the client's tunnel: one client connection.
  CHECK(flows[1].connection_id == flows[4].connection_id);
  CHECK(w.proxy.stop() == 0);
}

TEST_CASE("proxy: websocket upgrade through the plain proxy becomes a byte tunnel", "[integration][proxy]") {
  World w;
  w.start_upstreams();
  w.start_proxy();
  RawClient c(w.proxy.port());
  REQUIRE(c.connected());
  REQUIRE(c.send("GET http://plain.test/ws HTTP/1.1\r\nHost: plain.test\r\nUpgrade: websocket\r\n"
                 "Connection: Upgrade\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n"
                 "Sec-WebSocket-Version: 13\r\n\r\n"));
  std::string head = c.read_until([](const std::string& got) { return contains(got, "\r\n\r\n"); }, 5s);
  REQUIRE(head.rfind("HTTP/1.1 101 ", 0) == 0);
  // A masked text frame "hi" (RFC 6455 §5.2); the fake echoes it unmasked.
  const unsigned char mask[4] = {1, 2, 3, 4};
  std::string frame = {'\x81', '\x82', char(mask[0]), char(mask[1]), char(mask[2]), char(mask[3]),
                       char('h' ^ mask[0]), char('i' ^ mask[1])};
  REQUIRE(c.send(frame));
  std::string echo = c.read_until([](const std::string& got) { return contains(got, "hi"); }, 5s);
  CHECK(contains(echo, "hi"));
  auto flows = w.proxy.wait_flows(1);
  REQUIRE(flows.size() >= 1);
  CHECK(flows[0].response->status == 101);
  c.close();
  CHECK(w.proxy.stop() == 0);
}

TEST_CASE("proxy: request-head timeout answers 408 and idle keep-alive connections close",
          "[integration][proxy]") {
  World w;
  w.start_upstreams();
  ProxyOptions o = w.options();
  o.limits.request_head_timeout_ms = 300;
  o.limits.keepalive_idle_timeout_ms = 300;
  w.start_proxy(o);
  RawClient slow(w.proxy.port());
  REQUIRE(slow.send("GET http://plain.test/echo HTTP/1.1\r\nHost: pla"));
  auto t0 = std::chrono::steady_clock::now();
  std::string reply = slow.read_all(5s);
  CHECK(reply.rfind("HTTP/1.1 408 ", 0) == 0);
  CHECK(std::chrono::steady_clock::now() - t0 < 3s);
  RawClient idle(w.proxy.port());
  REQUIRE(idle.send("GET http://plain.test/echo HTTP/1.1\r\nHost: plain.test\r\n\r\n"));
  std::string all = idle.read_all(5s);  // the response, then EOF once idle for 300 ms
  CHECK(all.rfind("HTTP/1.1 200 ", 0) == 0);
  CHECK(std::chrono::steady_clock::now() - t0 < 4s);
  auto flows = w.proxy.wait_flows(2);
  REQUIRE(flows.size() == 2);
  CHECK(contains(*flows[0].error, kErrRequestHeadTimeout));
  CHECK_FALSE(flows[1].error.has_value());
  CHECK(w.proxy.stop() == 0);
}
