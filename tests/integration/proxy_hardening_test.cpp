// Hardening of the capture proxy (issue 7 items 2-4), as loopback integration tests: the real
// proxy in this process on its own loop (ProxyHarness), the testkit's fake upstreams, curl or
// raw sockets / a raw OpenSSL client as the client. Each test asserts what the client saw AND
// what was recorded, and ends with uv_loop_close() == 0.
//
// Its own executable (not test_proxy_integration) so the memory test measures a process that
// has run nothing else heavy before it.
#include <catch2/catch.hpp>

#include <arpa/inet.h>
#include <dirent.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <unistd.h>

#include <openssl/err.h>
#include <openssl/ssl.h>

#include <atomic>
#include <fstream>
#include <functional>
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
  World() : ProxyWorld("authscope-hardening-it", {"login.microsoftonline.com", "graph.microsoft.com", "other.test"}) {}
};

// ASan keeps freed memory in quarantine (256 MiB by default) and maps shadow memory, so RSS
// says nothing about the proxy's buffering there: the memory test runs in normal builds only.
using authscope::testing::kAddressSanitizer;

#define SKIP_WITHOUT_CURL()                                           \
  do {                                                                \
    if (!have_executable("curl")) {                                   \
      WARN("curl is not installed: skipping this hardening test");    \
      return;                                                         \
    }                                                                 \
  } while (0)

int connect_loopback(uint16_t port) {
  int fd = ::socket(AF_INET, SOCK_STREAM, 0);
  if (fd < 0) return -1;
  timeval tv{5, 0};
  setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
  setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof tv);
  sockaddr_in sa{};
  sa.sin_family = AF_INET;
  sa.sin_port = htons(port);
  sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  if (::connect(fd, reinterpret_cast<sockaddr*>(&sa), sizeof sa) != 0) {
    ::close(fd);
    return -1;
  }
  return fd;
}

bool send_all(int fd, std::string_view bytes) {
  size_t off = 0;
  while (off < bytes.size()) {
    ssize_t n = ::send(fd, bytes.data() + off, bytes.size() - off, MSG_NOSIGNAL);
    if (n <= 0) return false;
    off += static_cast<size_t>(n);
  }
  return true;
}

// Reads until done(received), EOF, error (SO_RCVTIMEO) or the deadline.
std::string read_until(int fd, const std::function<bool(const std::string&)>& done,
                       std::chrono::milliseconds limit = 10s) {
  std::string out;
  auto deadline = std::chrono::steady_clock::now() + limit;
  char buf[16384];
  while (std::chrono::steady_clock::now() < deadline && !done(out)) {
    ssize_t n = ::recv(fd, buf, sizeof buf, 0);
    if (n <= 0) break;
    out.append(buf, static_cast<size_t>(n));
  }
  return out;
}
std::string read_all(int fd, std::chrono::milliseconds limit = 10s) {
  return read_until(fd, [](const std::string&) { return false; }, limit);
}
std::string read_head(int fd) {
  return read_until(fd, [](const std::string& s) { return contains(s, "\r\n\r\n"); });
}

// A closing file descriptor owner for the tests' raw sockets.
struct Fd {
  int fd = -1;
  explicit Fd(int f = -1) : fd(f) {}
  ~Fd() { if (fd >= 0) ::close(fd); }
  Fd(const Fd&) = delete;
  Fd& operator=(const Fd&) = delete;
};

// A TLS client on a connected socket (after CONNECT), with the SNI it is told to send.
struct TlsOutcome {
  bool ok = false;
  std::string error;  // OpenSSL's reason, e.g. "tlsv1 unrecognized name"
};
TlsOutcome tls_handshake(int fd, const std::string& sni, const std::string& ca_file) {
  TlsOutcome out;
  SSL_CTX* ctx = SSL_CTX_new(TLS_client_method());
  if (!ca_file.empty()) {
    SSL_CTX_load_verify_locations(ctx, ca_file.c_str(), nullptr);
    SSL_CTX_set_verify(ctx, SSL_VERIFY_PEER, nullptr);
  } else {
    SSL_CTX_set_verify(ctx, SSL_VERIFY_NONE, nullptr);
  }
  SSL* ssl = SSL_new(ctx);
  SSL_set_tlsext_host_name(ssl, sni.c_str());
  SSL_set_fd(ssl, fd);
  ERR_clear_error();
  int rc = SSL_connect(ssl);
  if (rc == 1) {
    out.ok = true;
  } else {
    unsigned long e = ERR_get_error();
    char buf[256] = {0};
    if (e != 0) ERR_error_string_n(e, buf, sizeof buf);
    out.error = e != 0 ? buf : "SSL_connect failed without an OpenSSL error (peer closed)";
  }
  SSL_free(ssl);
  SSL_CTX_free(ctx);
  return out;
}

// The bytes of a ClientHello naming `sni`, produced by OpenSSL on memory BIOs (no socket).
std::string client_hello_bytes(const std::string& sni) {
  SSL_CTX* ctx = SSL_CTX_new(TLS_client_method());
  SSL* ssl = SSL_new(ctx);
  BIO* rbio = BIO_new(BIO_s_mem());
  BIO* wbio = BIO_new(BIO_s_mem());
  SSL_set_bio(ssl, rbio, wbio);
  SSL_set_tlsext_host_name(ssl, sni.c_str());
  SSL_connect(ssl);  // wants to read: the ClientHello is in wbio
  std::string out;
  char buf[4096];
  for (int i = 0; i < 64; ++i) {
    int n = BIO_read(wbio, buf, sizeof buf);
    if (n <= 0) break;
    out.append(buf, static_cast<size_t>(n));
  }
  SSL_free(ssl);
  SSL_CTX_free(ctx);
  return out;
}

std::string connect_request(const std::string& target) {
  return "CONNECT " + target + " HTTP/1.1\r\nHost: " + target + "\r\n\r\n";
}

size_t status_kib(const char* field) {
  std::ifstream status("/proc/self/status");
  std::string line;
  const std::string prefix = std::string(field) + ":";
  while (std::getline(status, line)) {
    if (line.rfind(prefix, 0) == 0) return std::stoul(line.substr(prefix.size()));
  }
  return 0;
}

size_t open_fd_count() {
  size_t n = 0;
  DIR* d = ::opendir("/proc/self/fd");
  if (d == nullptr) return 0;
  while (dirent* e = ::readdir(d)) {
    if (e->d_name[0] != '.') ++n;
  }
  ::closedir(d);
  return n - 1;  // the directory stream itself
}

// A loopback listener that is never accept()ed. backlog 0 and a filler connection make the
// kernel drop further SYNs (accept queue full), so a connect to it hangs: a connect timeout.
struct SilentListener {
  int fd = -1;
  uint16_t port = 0;
  std::vector<int> fillers;
  explicit SilentListener(int backlog) {
    fd = ::socket(AF_INET, SOCK_STREAM, 0);
    sockaddr_in sa{};
    sa.sin_family = AF_INET;
    sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    REQUIRE(::bind(fd, reinterpret_cast<sockaddr*>(&sa), sizeof sa) == 0);
    REQUIRE(::listen(fd, backlog) == 0);
    socklen_t len = sizeof sa;
    getsockname(fd, reinterpret_cast<sockaddr*>(&sa), &len);
    port = ntohs(sa.sin_port);
  }
  // Fills the accept queue (non-blocking connects; the ones beyond the queue stay in SYN_SENT).
  void fill(int n) {
    for (int i = 0; i < n; ++i) {
      int c = ::socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK, 0);
      sockaddr_in sa{};
      sa.sin_family = AF_INET;
      sa.sin_port = htons(port);
      sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
      ::connect(c, reinterpret_cast<sockaddr*>(&sa), sizeof sa);
      fillers.push_back(c);
    }
    std::this_thread::sleep_for(100ms);
  }
  ~SilentListener() {
    for (int c : fillers) ::close(c);
    if (fd >= 0) ::close(fd);
  }
};

}  // namespace

// ---- 1. SNI versus the CONNECT host ------------------------------------------------------

TEST_CASE("hardening: a ClientHello whose SNI names another host than the CONNECT host is refused",
          "[integration][proxy][hardening]") {
  World w;
  w.start_upstreams();
  w.start_proxy();

  // Control: SNI = CONNECT host is intercepted (the minted leaf verifies against the authscope CA).
  {
    Fd fd(connect_loopback(w.proxy.port()));
    REQUIRE(fd.fd >= 0);
    REQUIRE(send_all(fd.fd, connect_request("login.microsoftonline.com:443")));
    REQUIRE(read_head(fd.fd).rfind("HTTP/1.1 200 ", 0) == 0);
    auto tls = tls_handshake(fd.fd, "login.microsoftonline.com", w.ca.cert_path);
    INFO(tls.error);
    CHECK(tls.ok);
  }
  // The comparison is the DNS one: case and a final dot do not matter.
  {
    Fd fd(connect_loopback(w.proxy.port()));
    REQUIRE(fd.fd >= 0);
    REQUIRE(send_all(fd.fd, connect_request("login.microsoftonline.com:443")));
    REQUIRE(read_head(fd.fd).rfind("HTTP/1.1 200 ", 0) == 0);
    auto tls = tls_handshake(fd.fd, "LOGIN.MicrosoftOnline.com.", w.ca.cert_path);
    INFO(tls.error);
    CHECK(tls.ok);
  }
  // CONNECT to an intercepted host, SNI naming another one: a fatal alert, never a certificate.
  {
    Fd fd(connect_loopback(w.proxy.port()));
    REQUIRE(fd.fd >= 0);
    REQUIRE(send_all(fd.fd, connect_request("login.microsoftonline.com:443")));
    REQUIRE(read_head(fd.fd).rfind("HTTP/1.1 200 ", 0) == 0);
    auto tls = tls_handshake(fd.fd, "evil.example.test", "");
    INFO(tls.error);
    CHECK_FALSE(tls.ok);
    CHECK(contains(tls.error, "unrecognized name"));
  }
  // The ClientHello sent in the same write as the CONNECT (no wait for the 200) is screened
  // too: exactly the 200, then the fatal unrecognized_name alert, then EOF.
  {
    Fd fd(connect_loopback(w.proxy.port()));
    REQUIRE(fd.fd >= 0);
    std::string hello = client_hello_bytes("graph.microsoft.com");
    REQUIRE(hello.size() > 5);
    REQUIRE(send_all(fd.fd, connect_request("login.microsoftonline.com:443") + hello));
    std::string reply = read_all(fd.fd, 5s);
    CHECK(reply == std::string("HTTP/1.1 200 Connection Established\r\n\r\n") +
                       std::string("\x15\x03\x03\x00\x02\x02\x70", 7));
  }
  auto flows = w.proxy.wait_flows(2, 5s);
  REQUIRE(flows.size() == 2);  // the controls' CONNECTs are not exchanges; the refusals are
  CHECK(flows[1].error.value_or("").find(kErrSniMismatch) == 0);
  CHECK(contains(flows[1].error.value_or(""), "graph.microsoft.com"));
  const Flow& f = flows[0];
  REQUIRE(f.error.has_value());
  CHECK(contains(*f.error, kErrSniMismatch));
  CHECK(contains(*f.error, "evil.example.test"));
  CHECK(f.host == "login.microsoftonline.com");
  CHECK(f.request.method == "CONNECT");
  REQUIRE(f.tls.has_value());
  CHECK(f.tls->sni == "evil.example.test");
  CHECK_FALSE(f.response.has_value());
  CHECK(w.tls_upstream->requests().empty());  // nothing reached the upstream
  CHECK(w.proxy.stop() == 0);
}

// The decision is on the CONNECT host: a CONNECT to a host that is not intercepted is a byte
// tunnel. If its ClientHello names an intercepted host (an alias of that host's address would
// carry its traffic uncaptured), the tunnel is refused with the same alert and a tunnel flow
// error; an SNI naming another non-intercepted host is tunnelled untouched.
TEST_CASE("hardening: SNI naming an intercepted host through a tunnel to another host is refused",
          "[integration][proxy][hardening]") {
  World w;
  w.start_upstreams();
  w.start_proxy();
  {
    Fd fd(connect_loopback(w.proxy.port()));
    REQUIRE(fd.fd >= 0);
    REQUIRE(send_all(fd.fd, connect_request("other.test:443")));
    REQUIRE(read_head(fd.fd).rfind("HTTP/1.1 200 ", 0) == 0);
    auto tls = tls_handshake(fd.fd, "login.microsoftonline.com", "");
    INFO(tls.error);
    CHECK_FALSE(tls.ok);
    CHECK(contains(tls.error, "unrecognized name"));
  }
  auto flows = w.proxy.wait_flows(1, 5s);
  REQUIRE(flows.size() == 1);
  CHECK(flows[0].kind == FlowKind::kTunnel);
  CHECK(flows[0].host == "other.test");
  REQUIRE(flows[0].error.has_value());
  CHECK(contains(*flows[0].error, kErrSniMismatch));
  CHECK(contains(*flows[0].error, "login.microsoftonline.com"));
  CHECK(flows[0].bytes_from_client == 0);  // the ClientHello never went through
  w.proxy.clear_flows();

  // SNI naming a host nobody intercepts: tunnelled byte for byte to the CONNECT host's upstream
  // (the fake server answers with its own certificate; the client does not verify here).
  {
    Fd fd(connect_loopback(w.proxy.port()));
    REQUIRE(fd.fd >= 0);
    REQUIRE(send_all(fd.fd, connect_request("other.test:443")));
    REQUIRE(read_head(fd.fd).rfind("HTTP/1.1 200 ", 0) == 0);
    auto tls = tls_handshake(fd.fd, "unrelated.example.test", "");
    INFO(tls.error);
    CHECK(tls.ok);
  }
  auto tunnelled = w.proxy.wait_flows(1, 5s);
  REQUIRE(tunnelled.size() == 1);
  CHECK(tunnelled[0].kind == FlowKind::kTunnel);
  CHECK(tunnelled[0].bytes_from_client > 0);
  CHECK(tunnelled[0].bytes_from_upstream > 0);
  CHECK(w.proxy.stop() == 0);
}

// ---- 2. memory is bounded by design ------------------------------------------------------

TEST_CASE("hardening: 105 MiB bodies each way stream with RSS growth well under 64 MiB",
          "[integration][proxy][hardening][memory]") {
  SKIP_WITHOUT_CURL();
  if (kAddressSanitizer) {
    WARN("AddressSanitizer build: RSS includes its quarantine and shadow memory; skipping");
    return;
  }
  World w;
  w.start_upstreams();
  w.start_proxy();
  constexpr size_t kSize = 105u * 1024 * 1024;
  const std::string file = w.home.file("big.bin");
  {
    std::ofstream out(file, std::ios::binary);
    std::string block(1 << 20, 'u');
    for (size_t i = 0; i < kSize / block.size(); ++i) out.write(block.data(), static_cast<std::streamsize>(block.size()));
  }
  const auto started = std::chrono::steady_clock::now();
  const size_t baseline = status_kib("VmRSS");
  const size_t hwm_before = status_kib("VmHWM");
  std::atomic<bool> sampling{true};
  std::atomic<size_t> peak{baseline};
  std::thread sampler([&] {
    for (int i = 0; i < 12000 && sampling; ++i) {  // bounded: 60 s at 5 ms
      size_t now = status_kib("VmRSS");
      if (now > peak) peak = now;
      std::this_thread::sleep_for(5ms);
    }
  });
  // Download through an intercepted TLS tunnel (decrypt, capture, re-encrypt).
  auto down = w.curl({"-o", "/dev/null", "-w", "%{size_download}",
                      "https://login.microsoftonline.com/bytes/" + std::to_string(kSize)});
  // Upload with Content-Length through the TLS tunnel.
  auto up_cl = w.curl({"-H", "Content-Type: application/octet-stream", "--data-binary", "@" + file,
                       "https://login.microsoftonline.com/upload"});
  // Upload chunked (curl -T streams the file; the proxy re-frames each chunk).
  auto up_chunked = w.curl({"-H", "Transfer-Encoding: chunked", "-T", file, "http://plain.test/upload"});
  sampling = false;
  sampler.join();
  const auto elapsed = std::chrono::steady_clock::now() - started;
  const size_t hwm_after = status_kib("VmHWM");

  INFO(down.err << up_cl.err << up_chunked.err);
  REQUIRE(down.exit_code == 0);
  CHECK(down.out == std::to_string(kSize));
  REQUIRE(up_cl.exit_code == 0);
  CHECK(contains(up_cl.out, "\"bytes\":" + std::to_string(kSize)));
  REQUIRE(up_chunked.exit_code == 0);
  CHECK(contains(up_chunked.out, "\"bytes\":" + std::to_string(kSize)));

  auto flows = w.proxy.wait_flows(3);
  REQUIRE(flows.size() == 3);
  REQUIRE(flows[0].response.has_value());
  CHECK(flows[0].response->body.wire_size == kSize);
  CHECK(flows[0].response->body.truncated);
  CHECK(flows[1].request.body.wire_size == kSize);
  CHECK(flows[1].request.headers.has("content-length"));
  CHECK(flows[2].request.body.wire_size == kSize);
  CHECK(flows[2].request.headers.has("transfer-encoding"));
  for (const auto& f : flows) {
    CHECK_FALSE(f.error.has_value());
    CHECK(f.bytes_from_client + f.bytes_from_upstream > kSize);
  }

  // The growth includes the three 4 MiB captures this test's sink holds, the fake upstream's
  // buffers (same process) and curl-independent TLS buffers; a proxy that buffered one body
  // would add 105 MiB by itself.
  const size_t growth_kib = peak - baseline;
  const size_t hwm_growth_kib = hwm_after > hwm_before ? hwm_after - baseline : 0;
  INFO("RSS baseline " << baseline / 1024 << " MiB, peak growth " << growth_kib / 1024 << " MiB, VmHWM growth "
                       << hwm_growth_kib / 1024 << " MiB, elapsed "
                       << std::chrono::duration_cast<std::chrono::milliseconds>(elapsed).count() << " ms");
  CHECK(growth_kib < 48 * 1024);
  CHECK(hwm_growth_kib < 48 * 1024);
  CHECK(elapsed < 60s);
  WARN("105 MiB x3: RSS peak growth " << growth_kib / 1024 << " MiB, VmHWM growth " << hwm_growth_kib / 1024
                                      << " MiB, " << std::chrono::duration_cast<std::chrono::milliseconds>(elapsed).count()
                                      << " ms");
  CHECK(w.proxy.stop() == 0);
}

// ---- 3. 2000 idle sockets, the connection limit, descriptors back to baseline ------------

TEST_CASE("hardening: 2000 idle sockets leave the proxy serving, refuse beyond 1024, and fds return",
          "[integration][proxy][hardening]") {
  constexpr size_t kIdle = 2000;
  const size_t limit = ProxyLimits{}.max_connections;
  REQUIRE(limit == 1024);
  // Our 2000 client ends + the proxy's accepted ends in the same process + slack.
  const rlim_t need = kIdle + limit + 512;
  rlimit rl{};
  getrlimit(RLIMIT_NOFILE, &rl);
  if (rl.rlim_cur < need) {
    rlimit raised = rl;
    raised.rlim_cur = std::min<rlim_t>(need, rl.rlim_max);
    setrlimit(RLIMIT_NOFILE, &raised);
    getrlimit(RLIMIT_NOFILE, &rl);
  }
  if (rl.rlim_cur < need) {
    WARN("RLIMIT_NOFILE cannot be raised to " << need << " (hard limit " << rl.rlim_max << "): skipping");
    return;
  }
  World w;
  w.start_upstreams();
  w.start_proxy();
  const size_t baseline = open_fd_count();

  std::vector<int> clients;
  clients.reserve(kIdle);
  for (size_t i = 0; i < kIdle; ++i) {
    int fd = connect_loopback(w.proxy.port());
    if (fd < 0) break;
    clients.push_back(fd);
  }
  REQUIRE(clients.size() == kIdle);
  for (int fd : clients) fcntl(fd, F_SETFL, fcntl(fd, F_GETFL) | O_NONBLOCK);

  // Those beyond the limit get a 503 and EOF; the others stay open, silent.
  std::vector<std::string> got(kIdle);
  std::vector<bool> ended(kIdle, false);
  size_t refused = 0;
  auto deadline = std::chrono::steady_clock::now() + 20s;
  char buf[1024];
  while (std::chrono::steady_clock::now() < deadline && refused < kIdle - limit) {
    for (size_t i = 0; i < kIdle; ++i) {
      if (ended[i]) continue;
      for (int reads = 0; reads < 8; ++reads) {
        ssize_t n = ::recv(clients[i], buf, sizeof buf, 0);
        if (n > 0) { got[i].append(buf, static_cast<size_t>(n)); continue; }
        if (n == 0 || (errno != EAGAIN && errno != EWOULDBLOCK)) { ended[i] = true; ++refused; }
        break;
      }
    }
    std::this_thread::sleep_for(20ms);
  }
  std::this_thread::sleep_for(300ms);  // nothing more is refused afterwards
  for (size_t i = 0; i < kIdle; ++i) {
    if (ended[i]) continue;
    ssize_t n = ::recv(clients[i], buf, sizeof buf, 0);
    if (n >= 0 || (errno != EAGAIN && errno != EWOULDBLOCK)) { ended[i] = true; ++refused; }
  }
  CHECK(refused == kIdle - limit);
  size_t with_503 = 0;
  int served = -1;
  for (size_t i = 0; i < kIdle; ++i) {
    if (ended[i] && got[i].rfind("HTTP/1.1 503 ", 0) == 0) ++with_503;
    if (!ended[i] && got[i].empty() && served < 0) served = clients[i];
  }
  CHECK(with_503 == kIdle - limit);

  // One of the held connections is served normally while all the others sit idle.
  REQUIRE(served >= 0);
  fcntl(served, F_SETFL, fcntl(served, F_GETFL) & ~O_NONBLOCK);
  REQUIRE(send_all(served, "GET http://plain.test/echo HTTP/1.1\r\nHost: plain.test\r\n\r\n"));
  std::string reply = read_until(served, [](const std::string& s) { return contains(s, "}"); }, 10s);
  CHECK(reply.rfind("HTTP/1.1 200 ", 0) == 0);
  auto flows = w.proxy.wait_flows(1, 5s);
  REQUIRE(flows.size() == 1);
  CHECK(flows[0].host == "plain.test");
  CHECK_FALSE(flows[0].error.has_value());

  for (int fd : clients) ::close(fd);
  clients.clear();
  size_t now = open_fd_count();
  for (int i = 0; i < 150 && now > baseline; ++i) {  // bounded: 15 s
    std::this_thread::sleep_for(100ms);
    now = open_fd_count();
  }
  INFO("fds: baseline " << baseline << ", after " << now);
  CHECK(now <= baseline);
  CHECK(w.proxy.stop() == 0);
}

// ---- 4. upstream connect and TLS handshake timeouts → 504 --------------------------------

namespace {
// Sends `request` on a fresh connection and expects a 504 naming `error`, answered once a 300 ms
// limit has passed (not at once, and well before the 5 s read bound).
void expect_504_after_limit(uint16_t proxy_port, const std::string& request, std::string_view error) {
  Fd fd(connect_loopback(proxy_port));
  REQUIRE(fd.fd >= 0);
  auto t0 = std::chrono::steady_clock::now();
  REQUIRE(send_all(fd.fd, request));
  std::string reply = read_all(fd.fd, 5s);
  auto took = std::chrono::steady_clock::now() - t0;
  INFO(reply);
  CHECK(reply.rfind("HTTP/1.1 504 ", 0) == 0);
  CHECK(contains(reply, error));
  CHECK(took >= 250ms);
  CHECK(took < 4s);
}
}  // namespace

TEST_CASE("hardening: upstream connect and TLS handshake timeouts answer 504 with the reason",
          "[integration][proxy][hardening]") {
  World w;
  SilentListener blackhole(0);   // accept queue of one, then full: SYNs are dropped
  blackhole.fill(2);
  SilentListener mute(16);       // completes TCP, never speaks TLS
  ProxyOptions o = w.options();
  o.limits.upstream_connect_timeout_ms = 300;
  o.limits.tls_handshake_timeout_ms = 300;
  o.resolves.push_back({"blackhole.test", 80, "127.0.0.1", blackhole.port});
  o.resolves.push_back({"login.microsoftonline.com", 443, "127.0.0.1", mute.port});
  w.start_proxy(o);

  expect_504_after_limit(w.proxy.port(), "GET http://blackhole.test/x HTTP/1.1\r\nHost: blackhole.test\r\n\r\n",
                         kErrUpstreamConnectTimeout);
  {
    Fd fd(connect_loopback(w.proxy.port()));
    REQUIRE(fd.fd >= 0);
    REQUIRE(send_all(fd.fd, connect_request("login.microsoftonline.com:443")));
    std::string reply = read_all(fd.fd, 5s);
    INFO(reply);
    CHECK(reply.rfind("HTTP/1.1 504 ", 0) == 0);  // never a 200 and a forged certificate
    CHECK(contains(reply, kErrUpstreamTlsTimeout));
  }
  auto flows = w.proxy.wait_flows(2, 5s);
  REQUIRE(flows.size() == 2);
  REQUIRE(flows[0].error.has_value());
  CHECK(contains(*flows[0].error, kErrUpstreamConnectTimeout));
  CHECK(flows[0].host == "blackhole.test");
  REQUIRE(flows[1].error.has_value());
  CHECK(contains(*flows[1].error, kErrUpstreamTlsTimeout));
  CHECK(flows[1].host == "login.microsoftonline.com");
  CHECK(w.proxy.stop() == 0);
}

TEST_CASE("hardening: an upstream that accepts the request and never answers gets a 504 after the response timeout",
          "[integration][proxy][hardening]") {
  World w;
  SilentListener mute(16);  // completes TCP, reads nothing, says nothing
  ProxyOptions o = w.options();
  o.limits.upstream_response_timeout_ms = 300;
  o.resolves.push_back({"hung.test", 80, "127.0.0.1", mute.port});
  w.start_proxy(o);

  expect_504_after_limit(w.proxy.port(), "GET http://hung.test/slow HTTP/1.1\r\nHost: hung.test\r\n\r\n",
                         kErrUpstreamResponseTimeout);
  auto flows = w.proxy.wait_flows(1, 5s);
  REQUIRE(flows.size() == 1);
  REQUIRE(flows[0].error.has_value());
  CHECK(contains(*flows[0].error, kErrUpstreamResponseTimeout));
  CHECK(flows[0].host == "hung.test");
  CHECK(w.proxy.stop() == 0);
}

// ---- 5. no loops through the proxy's own listener ----------------------------------------

TEST_CASE("hardening: requests and CONNECTs aimed at the proxy's own listener are refused",
          "[integration][proxy][hardening]") {
  World w;
  w.start_proxy();
  const std::string port = std::to_string(w.proxy.port());
  // 127.0.0.2 reaches no listener here (we bound 127.0.0.1); every loopback address with our
  // port is refused anyway, the conservative reading of "aimed at the proxy's own listener".
  const std::vector<std::string> requests = {
      "GET http://127.0.0.1:" + port + "/ HTTP/1.1\r\nHost: 127.0.0.1:" + port + "\r\n\r\n",
      "GET http://localhost:" + port + "/x HTTP/1.1\r\nHost: localhost:" + port + "\r\n\r\n",
      "GET http://127.0.0.2:" + port + "/x HTTP/1.1\r\nHost: 127.0.0.2:" + port + "\r\n\r\n",
      connect_request("127.0.0.1:" + port),
      connect_request("localhost:" + port),
  };
  for (const auto& request : requests) {
    Fd fd(connect_loopback(w.proxy.port()));
    REQUIRE(fd.fd >= 0);
    REQUIRE(send_all(fd.fd, request));
    std::string reply = read_all(fd.fd, 5s);  // the proxy answers and closes
    INFO(request << "→ " << reply);
    CHECK(reply.rfind("HTTP/1.1 400 ", 0) == 0);
  }
  auto flows = w.proxy.wait_flows(requests.size(), 5s);
  REQUIRE(flows.size() == requests.size());
  for (const auto& f : flows) {
    REQUIRE(f.error.has_value());
    CHECK(contains(*f.error, kErrLoop));
  }
  CHECK(w.proxy.stop() == 0);
}

TEST_CASE("hardening: a --resolve alias of the proxy's own listener is refused after resolution",
          "[integration][proxy][hardening]") {
  World w;
  w.start_upstreams();
  ProxyHarness probe;  // learn a port, then give the real proxy that port
  ProxyOptions o = w.options();
  REQUIRE(probe.start(o).ok());
  const uint16_t port = probe.port();
  REQUIRE(probe.stop() == 0);
  o.listen_port = port;
  o.resolves.push_back({"alias.test", 80, "127.0.0.1", port});
  o.resolves.push_back({"graph.microsoft.com", 443, "127.0.0.1", port});
  o.resolves.erase(o.resolves.begin() + 1);  // the default graph.microsoft.com → upstream entry
  w.start_proxy(o);
  for (const std::string& request :
       {std::string("GET http://alias.test/ HTTP/1.1\r\nHost: alias.test\r\n\r\n"),
        connect_request("graph.microsoft.com:443")}) {
    Fd fd(connect_loopback(w.proxy.port()));
    REQUIRE(fd.fd >= 0);
    REQUIRE(send_all(fd.fd, request));
    std::string reply = read_all(fd.fd, 5s);
    INFO(request << "→ " << reply);
    CHECK(reply.rfind("HTTP/1.1 400 ", 0) == 0);
  }
  auto flows = w.proxy.wait_flows(2, 5s);
  REQUIRE(flows.size() == 2);
  for (const auto& f : flows) {
    REQUIRE(f.error.has_value());
    CHECK(contains(*f.error, kErrLoop));
  }
  CHECK(w.proxy.stop() == 0);
}

// ---- timeouts on the client side, and a failed CONNECT ends the connection ---------------

TEST_CASE("hardening: a stalled request body answers 408 and a client silent after CONNECT is closed",
          "[integration][proxy][hardening]") {
  World w;
  w.start_upstreams();
  ProxyOptions o = w.options();
  o.limits.body_idle_timeout_ms = 300;
  o.limits.tls_handshake_timeout_ms = 300;
  w.start_proxy(o);
  {
    Fd fd(connect_loopback(w.proxy.port()));
    REQUIRE(fd.fd >= 0);
    REQUIRE(send_all(fd.fd, "POST http://plain.test/upload HTTP/1.1\r\nHost: plain.test\r\n"
                            "Content-Length: 1000\r\n\r\n0123456789"));
    std::string reply = read_all(fd.fd, 5s);
    INFO(reply);
    CHECK(reply.rfind("HTTP/1.1 408 ", 0) == 0);
  }
  {
    Fd fd(connect_loopback(w.proxy.port()));
    REQUIRE(fd.fd >= 0);
    REQUIRE(send_all(fd.fd, connect_request("login.microsoftonline.com:443")));
    auto t0 = std::chrono::steady_clock::now();
    std::string reply = read_all(fd.fd, 5s);  // the 200, then EOF once the handshake limit passes
    auto took = std::chrono::steady_clock::now() - t0;
    CHECK(reply == "HTTP/1.1 200 Connection Established\r\n\r\n");
    CHECK(took < 4s);
  }
  auto flows = w.proxy.wait_flows(2, 5s);
  REQUIRE(flows.size() == 2);
  CHECK(contains(flows[0].error.value_or(""), kErrBodyIdleTimeout));
  CHECK(flows[0].request.body.wire_size == 10);
  CHECK(contains(flows[1].error.value_or(""), kErrClientTlsTimeout));
  CHECK(w.proxy.stop() == 0);
}

TEST_CASE("hardening: a failed CONNECT closes the connection, nothing pipelined behind it runs",
          "[integration][proxy][hardening]") {
  World w;
  w.start_upstreams();
  w.start_proxy();
  for (const std::string& bad : {std::string("plain.test:0"), std::string("user@plain.test:80"),
                                 std::string("plain.test:65536"), std::string("plain.test")}) {
    Fd fd(connect_loopback(w.proxy.port()));
    REQUIRE(fd.fd >= 0);
    REQUIRE(send_all(fd.fd, "CONNECT " + bad + " HTTP/1.1\r\n\r\n"
                            "GET http://plain.test/echo HTTP/1.1\r\nHost: plain.test\r\n\r\n"));
    std::string reply = read_all(fd.fd, 5s);
    INFO(bad << " → " << reply);
    CHECK(reply.rfind("HTTP/1.1 400 ", 0) == 0);
    CHECK(reply.find("HTTP/1.1", 1) == std::string::npos);  // one answer, then EOF
  }
  auto flows = w.proxy.wait_flows(4, 5s);
  REQUIRE(flows.size() == 4);
  for (const auto& f : flows) CHECK(contains(f.error.value_or(""), kErrBadConnect));
  std::this_thread::sleep_for(100ms);
  CHECK(w.plain_upstream->requests().empty());
  CHECK(w.proxy.stop() == 0);
}

TEST_CASE("hardening: a ClientHello that cannot be screened does not pass through a tunnel",
          "[integration][proxy][hardening]") {
  World w;
  w.start_upstreams();
  w.start_proxy();
  // A handshake record holding a ClientHello (type 1) whose body is one byte: not parseable.
  const std::string malformed("\x16\x03\x01\x00\x05\x01\x00\x00\x01\x00", 10);
  {
    Fd fd(connect_loopback(w.proxy.port()));
    REQUIRE(fd.fd >= 0);
    REQUIRE(send_all(fd.fd, connect_request("other.test:443")));
    REQUIRE(read_head(fd.fd).rfind("HTTP/1.1 200 ", 0) == 0);
    REQUIRE(send_all(fd.fd, malformed));
    std::string reply = read_all(fd.fd, 5s);
    CHECK(reply == std::string("\x15\x03\x03\x00\x02\x02\x70", 7));
  }
  // Non-TLS bytes through a tunnel are not a ClientHello: they pass untouched (plain upstream).
  {
    Fd fd(connect_loopback(w.proxy.port()));
    REQUIRE(fd.fd >= 0);
    REQUIRE(send_all(fd.fd, connect_request("plain.test:80")));
    REQUIRE(read_head(fd.fd).rfind("HTTP/1.1 200 ", 0) == 0);
    REQUIRE(send_all(fd.fd, "GET /echo HTTP/1.1\r\nHost: plain.test\r\nConnection: close\r\n\r\n"));
    std::string reply = read_all(fd.fd, 5s);
    CHECK(reply.rfind("HTTP/1.1 200 ", 0) == 0);
  }
  auto flows = w.proxy.wait_flows(2, 5s);
  REQUIRE(flows.size() == 2);
  CHECK(flows[0].kind == FlowKind::kTunnel);
  CHECK(contains(flows[0].error.value_or(""), kErrClientHelloUnscreened));
  CHECK(flows[0].bytes_from_client == 0);
  CHECK(flows[1].kind == FlowKind::kTunnel);
  CHECK_FALSE(flows[1].error.has_value());
  CHECK(flows[1].bytes_from_client > 0);
  CHECK(w.proxy.stop() == 0);
}
