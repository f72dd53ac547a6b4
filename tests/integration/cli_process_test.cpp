// `authscope proxy` and `authscope run` as processes (build/authscope), with real clients (curl,
// Python requests via tests/support/entra_client.py, a Go net/http client) against the fake
// Entra upstream, reached through --resolve and trusted through --upstream-ca.
#include <catch2/catch.hpp>

#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <chrono>
#include <fstream>
#include <thread>

#include <fmt/format.h>
#include <sqlite3.h>

#include "storage/flow_store.h"
#include "tests/integration/cli_test_support.h"
#include "tests/support/fake_entra_server.h"
#include "tests/support/test_pki.h"

using namespace authscope;
using namespace authscope::clitest;
using namespace std::chrono_literals;

namespace {

// A fresh AUTHSCOPE_HOME and a fake Entra upstream (TLS with its own test CA, or plain HTTP).
struct World {
  testkit::TempHome temp{"authscope-cli-e2e"};
  std::string home = temp.path() + "/home";
  std::string db = temp.path() + "/flows.db";
  testkit::PkiPaths pki;
  std::unique_ptr<testkit::FakeEntraServer> upstream;

  explicit World(bool tls = true) {
    testkit::FakeEntraOptions options;
    options.tls = tls;
    if (tls) {
      auto generated = testkit::TestPki::generate();
      REQUIRE(generated.ok());
      auto written = generated.value().write(temp.path() + "/pki");
      REQUIRE(written.ok());
      pki = written.value();
      options.cert_file = pki.server_cert;
      options.key_file = pki.server_key;
    }
    auto server = testkit::FakeEntraServer::start(options);
    REQUIRE(server.ok());
    upstream = std::move(server.value());
  }

  // The proxy options that send the Microsoft hosts to the fake upstream.
  std::vector<std::string> resolve_args() const {
    std::vector<std::string> args;
    for (const char* host : {"login.microsoftonline.com", "management.azure.com", "graph.microsoft.com"}) {
      args.push_back("--resolve");
      args.push_back(fmt::format("{}:443=127.0.0.1:{}", host, upstream->port()));
    }
    args.push_back("--upstream-ca");
    args.push_back(pki.ca_cert);
    return args;
  }

  std::unique_ptr<testkit::ProcessRun> start(std::vector<std::string> args,
                                             std::vector<std::pair<std::string, std::string>> env = {}) const {
    args.insert(args.begin(), AUTHSCOPE_BINARY);
    testkit::ProcessOptions po;
    po.argv = args;
    po.env = std::move(env);
    po.env.push_back({"AUTHSCOPE_HOME", home});
    // The test's own proxy settings must not leak into the child under test.
    po.unset_env = {"HTTPS_PROXY", "HTTP_PROXY", "https_proxy", "http_proxy", "ALL_PROXY", "all_proxy"};
    auto run = testkit::ProcessRun::start(po);
    REQUIRE(run.ok());
    return std::move(run.value());
  }

  // `authscope proxy` on a free loopback port, storing into `db`, with `options` added; returns
  // once its ready file names the port.
  struct RunningProxy {
    std::unique_ptr<testkit::ProcessRun> process;
    uint16_t port = 0;
    std::string ready_file;
  };
  RunningProxy start_proxy(std::vector<std::string> options = {}) const {
    RunningProxy p;
    p.ready_file = temp.file("ready");
    std::vector<std::string> args = {"proxy", "--listen", "127.0.0.1:0", "--ready-file", p.ready_file, "--db", db};
    args.insert(args.end(), options.begin(), options.end());
    p.process = start(std::move(args));
    REQUIRE(testkit::wait_for_file(p.ready_file, 20s));
    p.port = testkit::port_from_ready_file(p.ready_file);
    REQUIRE(p.port != 0);
    return p;
  }

  // curl through the proxy on `port` to the fake upstream's `path` (plain HTTP upstream).
  testkit::CommandResult curl_through(uint16_t port, const std::string& path) const {
    return testkit::run_curl({"-sS", "--max-time", "20", "-x", fmt::format("http://127.0.0.1:{}", port),
                              fmt::format("http://127.0.0.1:{}{}", upstream->port(), path)});
  }

  // Runs authscope to completion (bounded).
  testkit::CommandResult authscope(std::vector<std::string> args, std::chrono::milliseconds timeout = 120s) const {
    auto p = start(std::move(args));
    auto code = p->wait(timeout);
    testkit::CommandResult r;
    if (!code) {
      p->kill();
      r.timed_out = true;
    }
    r.exit_code = code.value_or(-1);
    r.out = p->stdout_text();
    r.err = p->stderr_text();
    return r;
  }

  size_t stored_flows() const {
    SqliteStoreOptions o;
    o.read_only = true;
    auto store = open_sqlite_store(db, o);
    REQUIRE(store.ok());
    auto n = store.value()->count();
    REQUIRE(n.ok());
    return static_cast<size_t>(n.value());
  }

  std::vector<Finding> stored_findings() const {
    SqliteStoreOptions o;
    o.read_only = true;
    auto store = open_sqlite_store(db, o);
    REQUIRE(store.ok());
    auto f = store.value()->load_findings();
    REQUIRE(f.ok());
    return f.value();
  }
};

bool has_rule(const std::vector<Finding>& findings, const std::string& rule) {
  for (const auto& f : findings) {
    if (f.rule == rule) return true;
  }
  return false;
}

}  // namespace

TEST_CASE("proxy: ready file on port 0, curl through it, SIGINT drains, summarises and exits 0", "[e2e][cli]") {
  if (!testkit::have_executable("curl")) {
    WARN("curl is not installed: skipped");
    return;
  }
  World world(/*tls=*/false);
  auto [proxy, port, ready] = world.start_proxy();
  for (int i = 0; i < 2; ++i) CHECK(world.curl_through(port, "/echo?from=cli-test").exit_code == 0);
  std::this_thread::sleep_for(300ms);  // one commit window, so the live lines are printed
  proxy->interrupt();
  auto code = proxy->wait(30s);
  REQUIRE(code.has_value());
  CHECK(*code == 0);
  std::string out = proxy->stdout_text();
  CAPTURE(out, proxy->stderr_text());
  CHECK(out.find(fmt::format("listening on 127.0.0.1:{}", port)) != std::string::npos);
  CHECK(out.find("/echo?from=cli-test") != std::string::npos);  // the live line per flow
  CHECK(out.find("2 flows analyzed") != std::string::npos);      // the summary
  CHECK(world.stored_flows() == 2);
  CHECK(testkit::read_text_file(ready) == fmt::format("127.0.0.1:{}\n", port));
}

TEST_CASE("proxy: SIGTERM exits 0 too, and --quiet prints no flow lines", "[e2e][cli]") {
  if (!testkit::have_executable("curl")) {
    WARN("curl is not installed: skipped");
    return;
  }
  World world(/*tls=*/false);
  auto [proxy, port, ready] = world.start_proxy({"--quiet"});
  CHECK(world.curl_through(port, "/echo").exit_code == 0);
  proxy->terminate();
  auto code = proxy->wait(30s);
  REQUIRE(code.has_value());
  CHECK(*code == 0);
  std::string out = proxy->stdout_text();
  CHECK(out.find("/echo") == std::string::npos);
  CHECK(out.find("1 flows analyzed") != std::string::npos);
  CHECK(world.stored_flows() == 1);
}

TEST_CASE("proxy: flows that cannot be stored are reported while it runs, and the recovery too", "[e2e][cli]") {
  if (!testkit::have_executable("curl")) {
    WARN("curl is not installed: skipped");
    return;
  }
  World world(/*tls=*/false);
  // Not a structured binding: the lambda below captures the process (clang 14 cannot capture
  // a structured binding).
  World::RunningProxy running = world.start_proxy({"--quiet"});
  auto& proxy = running.process;
  const uint16_t port = running.port;
  // Another process holds the store's write lock (as `sqlite3 flows.db` in a transaction would):
  // the proxy's writer waits its busy timeout (5 s), then reports and keeps the flow queued.
  sqlite3* locker = nullptr;
  REQUIRE(sqlite3_open(world.db.c_str(), &locker) == SQLITE_OK);
  REQUIRE(sqlite3_exec(locker, "BEGIN EXCLUSIVE", nullptr, nullptr, nullptr) == SQLITE_OK);
  CHECK(world.curl_through(port, "/echo").exit_code == 0);  // the client never waits for the store
  auto stderr_has = [&](const char* text) {
    for (int i = 0; i < 200; ++i) {
      if (proxy->stderr_text().find(text) != std::string::npos) return true;
      std::this_thread::sleep_for(100ms);
    }
    return false;
  };
  CHECK(stderr_has("authscope: warning: "));
  CHECK(proxy->stderr_text().find("database is locked") != std::string::npos);
  REQUIRE(sqlite3_exec(locker, "COMMIT", nullptr, nullptr, nullptr) == SQLITE_OK);
  sqlite3_close(locker);
  CHECK(stderr_has("authscope: the store is writing flows again"));
  proxy->interrupt();
  auto code = proxy->wait(30s);
  REQUIRE(code.has_value());
  CHECK(*code == 0);
  CAPTURE(proxy->stdout_text(), proxy->stderr_text());
  CHECK(world.stored_flows() == 1);
}

TEST_CASE("proxy: a port in use is one line and exit 1", "[e2e][cli]") {
  World world(/*tls=*/false);
  int fd = ::socket(AF_INET, SOCK_STREAM, 0);
  REQUIRE(fd >= 0);
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  REQUIRE(::bind(fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr) == 0);
  REQUIRE(::listen(fd, 1) == 0);
  socklen_t len = sizeof addr;
  ::getsockname(fd, reinterpret_cast<sockaddr*>(&addr), &len);
  int port = ntohs(addr.sin_port);

  auto r = world.authscope({"proxy", "--listen", fmt::format("127.0.0.1:{}", port), "--db", world.db}, 30s);
  ::close(fd);
  CAPTURE(r.out, r.err);
  CHECK(r.exit_code == kExitFailure);
  CHECK(line_count(r.err) == 1);
  CHECK(r.err.rfind("authscope proxy:", 0) == 0);
}

TEST_CASE("run: the child's exit status passes through, --fail-on without findings changes nothing", "[e2e][cli]") {
  World world(/*tls=*/false);
  auto r = world.authscope({"run", "--quiet", "--db", world.db, "--fail-on", "high", "--", "sh", "-c", "exit 5"});
  CAPTURE(r.out, r.err);
  CHECK(r.exit_code == 5);
  CHECK(r.err.find("0 flows analyzed") != std::string::npos);

  r = world.authscope({"run", "--quiet", "--db", world.db, "--", "sh", "-c", "kill -TERM $$"});
  CHECK(r.exit_code == 128 + 15);

  r = world.authscope({"run", "--quiet", "--db", world.db, "--", "/nonexistent/authscope-no-such-tool"});
  CHECK(r.exit_code == 127);
  CHECK(r.err.find("cannot run '/nonexistent/authscope-no-such-tool'") != std::string::npos);
}

TEST_CASE("run: the child gets the proxy and trust variables and the terminal's stdout", "[e2e][cli]") {
  World world(/*tls=*/false);
  auto r = world.authscope({"run", "--quiet", "--db", world.db, "--", "sh", "-c",
                            "echo \"$HTTPS_PROXY|$http_proxy|$NO_PROXY|$SSL_CERT_FILE|$REQUESTS_CA_BUNDLE|"
                            "$CURL_CA_BUNDLE|$NODE_EXTRA_CA_CERTS\""});
  REQUIRE(r.exit_code == 0);
  std::string bundle = world.home + "/ca-bundle.pem";
  std::string prefix = "http://127.0.0.1:";
  REQUIRE(r.out.rfind(prefix, 0) == 0);
  std::string port = r.out.substr(prefix.size(), r.out.find('|') - prefix.size());
  CHECK(std::stoi(port) > 0);
  CHECK(r.out == fmt::format("http://127.0.0.1:{0}|http://127.0.0.1:{0}|localhost,127.0.0.1,::1|{1}|{1}|{1}|{2}\n", port,
                             bundle, world.home + "/ca.pem"));
}

TEST_CASE("run: a signal sent to authscope reaches the child, whose status is returned", "[e2e][cli]") {
  World world(/*tls=*/false);
  std::string marker = world.temp.file("child-ready");
  auto run = world.start({"run", "--quiet", "--db", world.db, "--", "sh", "-c",
                          fmt::format("sleep 30 & p=$!; trap 'kill $p; exit 7' TERM; echo ready > {}; wait", marker)});
  REQUIRE(testkit::wait_for_file(marker, 20s));
  run->terminate();
  auto code = run->wait(30s);
  REQUIRE(code.has_value());
  CHECK(*code == 7);
}

TEST_CASE("run --fail-on high: curl's password grant through the proxy exits 3", "[e2e][cli]") {
  if (!testkit::have_executable("curl")) {
    WARN("curl is not installed: skipped");
    return;
  }
  World world;
  std::vector<std::string> args = {"run", "--db", world.db};
  for (auto& a : world.resolve_args()) args.push_back(a);
  std::vector<std::string> curl = {"--",
                                   "curl",
                                   "-sS",
                                   "--fail",
                                   "--max-time",
                                   "20",
                                   "-o",
                                   "/dev/null",
                                   "-d",
                                   "grant_type=password&client_id=04b07795-8ddb-461a-bbee-02f9e1bf7b46"
                                   "&username=alex%40contoso.example&password=not-a-real-password"
                                   "&scope=https%3A%2F%2Fmanagement.azure.com%2F%2F.default",
                                   "https://login.microsoftonline.com/organizations/oauth2/v2.0/token"};

  std::vector<std::string> gated = args;
  gated.push_back("--fail-on");
  gated.push_back("high");
  gated.insert(gated.end(), curl.begin(), curl.end());
  auto r = world.authscope(gated);
  CAPTURE(r.out, r.err);
  CHECK(r.exit_code == kExitFindingsAtOrAbove);
  CHECK(r.err.find("ropc-grant") != std::string::npos);
  CHECK(r.err.find("/organizations/oauth2/v2.0/token") != std::string::npos);  // the live line
  CHECK(has_rule(world.stored_findings(), "ropc-grant"));
  // The password never reaches the store (redaction on the writer thread).
  CHECK(testkit::read_text_file(world.db).find("not-a-real-password") == std::string::npos);

  // Without --fail-on the same run returns curl's own status (0).
  std::vector<std::string> plain = args;
  plain.insert(plain.end(), curl.begin(), curl.end());
  r = world.authscope(plain);
  CHECK(r.exit_code == 0);
  // A gate above the finding's severity lets it through.
  std::vector<std::string> critical = args;
  critical.push_back("--fail-on");
  critical.push_back("critical");
  critical.insert(critical.end(), curl.begin(), curl.end());
  r = world.authscope(critical);
  CHECK(r.exit_code == 0);
}

TEST_CASE("run: Python requests sign-ins (entra_client.py) gated with --fail-on high", "[e2e][cli]") {
  if (::access("/usr/bin/python3", X_OK) != 0 ||
      testkit::run_command({"/usr/bin/python3", "-c", "import requests"}).exit_code != 0) {
    WARN("/usr/bin/python3 with requests is not installed: skipped");
    return;
  }
  World world;
  struct Scenario {
    std::string name;
    int expected_exit;
    std::string rule;  // expected in the findings ("" = none at or above high)
  };
  for (const Scenario& s : {Scenario{"clean-pkce-signin", 0, ""}, Scenario{"no-pkce-signin", 3, "pkce-missing"},
                            Scenario{"cross-tenant-missing-aux", 3, "aux-header-missing"}}) {
    CAPTURE(s.name);
    std::string db = world.temp.file(s.name + ".db");
    std::vector<std::string> args = {"run", "--db", db, "--fail-on", "high"};
    for (auto& a : world.resolve_args()) args.push_back(a);
    args.insert(args.end(), {"--", "sh", "-c",
                             fmt::format("exec /usr/bin/python3 {} --proxy \"$HTTPS_PROXY\" --ca \"$REQUESTS_CA_BUNDLE\" "
                                         "scenario {}",
                                         testkit::entra_client_script(), s.name)});
    auto r = world.authscope(args);
    CAPTURE(r.out, r.err);
    CHECK(r.exit_code == s.expected_exit);
    if (!s.rule.empty()) CHECK(r.err.find(s.rule) != std::string::npos);
    CHECK(r.out.find("\"ok\": true") != std::string::npos);  // the scenario itself went as planned
  }
}

TEST_CASE("run: a Go net/http client (Terraform's stack) through SSL_CERT_FILE and HTTPS_PROXY", "[e2e][cli]") {
  std::string go = testkit::find_executable("go");
  if (go.empty()) {
    WARN("go is not installed (Debian golang-go): skipped");
    return;
  }
  std::string out_dir = std::string(AUTHSCOPE_BUILD_DIR) + "/goclient";
  std::string binary = out_dir + "/goclient";
  auto build = testkit::run_command(
      {go, "build", "-o", binary, std::string(AUTHSCOPE_SOURCE_DIR) + "/tests/e2e/goclient/main.go"}, 300s,
      {{"GOFLAGS", "-mod=mod"}, {"GOCACHE", out_dir + "/gocache"}, {"GOPATH", out_dir + "/gopath"},
       {"GO111MODULE", "auto"}, {"CGO_ENABLED", "0"}});
  CAPTURE(build.out, build.err);
  REQUIRE(build.exit_code == 0);

  World world;
  std::vector<std::string> base = {"run", "--fail-on", "high"};
  for (auto& a : world.resolve_args()) base.push_back(a);

  auto clean = base;
  clean.insert(clean.end(), {"--db", world.temp.file("go-clean.db"), "--", binary, "-pkce=true"});
  auto r = world.authscope(clean);
  CAPTURE(r.out, r.err);
  CHECK(r.exit_code == 0);
  CHECK(r.out.find("POST https://login.microsoftonline.com/organizations/oauth2/v2.0/token 200") != std::string::npos);
  CHECK(r.out.find("GET https://management.azure.com/subscriptions/") != std::string::npos);
  CHECK(r.err.find("3 flows analyzed") != std::string::npos);

  auto no_pkce = base;
  no_pkce.insert(no_pkce.end(), {"--db", world.temp.file("go-nopkce.db"), "--", binary, "-pkce=false"});
  r = world.authscope(no_pkce);
  CHECK(r.exit_code == kExitFindingsAtOrAbove);
  CHECK(r.err.find("pkce-missing") != std::string::npos);
}

TEST_CASE("run: tokens captured through the proxy are verified at capture though stored redacted", "[e2e][cli]") {
  if (!testkit::have_executable("curl") || ::access("/usr/bin/python3", X_OK) != 0 ||
      testkit::run_command({"/usr/bin/python3", "-c", "import requests"}).exit_code != 0) {
    WARN("curl or /usr/bin/python3 with requests is not installed: skipped");
    return;
  }
  World world;
  std::vector<std::string> args = {"run", "--db", world.db, "--quiet"};
  for (auto& a : world.resolve_args()) args.push_back(a);
  // The key set first (as a client validating ID tokens would fetch it), then an app token and
  // an ARM call that presents it.
  args.insert(args.end(), {"--", "sh", "-c",
                           fmt::format("curl -sS --fail --max-time 20 -o /dev/null "
                                       "https://login.microsoftonline.com/common/discovery/v2.0/keys && "
                                       "exec /usr/bin/python3 {} --proxy \"$HTTPS_PROXY\" --ca \"$REQUESTS_CA_BUNDLE\" "
                                       "scenario client-credentials",
                                       testkit::entra_client_script())});
  auto r = world.authscope(args);
  CAPTURE(r.out, r.err);
  REQUIRE(r.exit_code == 0);

  auto tokens = world.authscope({"tokens", "--db", world.db, "--json"});
  CAPTURE(tokens.out, tokens.err);
  REQUIRE(tokens.exit_code == 0);
  auto rows = nlohmann::json::parse(tokens.out);
  size_t bearer = 0, issued = 0;
  for (const auto& row : rows) {
    if (row["format"] != "jws") continue;
    // Stored as redaction markers, yet verified: the check ran before redaction.
    CHECK(row["redacted"] == true);
    CHECK(row["signature"] == "verified");
    if (row["location"] == "request.header.Authorization") ++bearer;
    if (row["location"] == "response.json.access_token") ++issued;
  }
  CHECK(bearer >= 1);
  CHECK(issued >= 1);
}
