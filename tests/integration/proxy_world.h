// ProxyWorld: the world of one proxy integration test — a temp home holding the authscope CA, a
// test PKI, fake upstreams (TLS and plain) and the in-process proxy (ProxyHarness) — shared by
// the proxy and hardening suites so both drive the proxy the same way.
#pragma once

#include <catch2/catch.hpp>

#include <chrono>
#include <memory>
#include <string>
#include <vector>

#include "proxy/tls/cert_authority.h"
#include "tests/integration/proxy_harness.h"
#include "tests/support/fake_entra_server.h"
#include "tests/support/process_helpers.h"
#include "tests/support/test_pki.h"

namespace authscope::testing {

struct ProxyWorld {
  testkit::TempHome home;
  testkit::PkiPaths pki;
  CaFiles ca;
  std::unique_ptr<testkit::FakeEntraServer> tls_upstream;    // login/management/graph over TLS
  std::unique_ptr<testkit::FakeEntraServer> plain_upstream;  // plain HTTP
  ProxyHarness proxy;
  // Hosts whose port 443 --resolve points at tls_upstream (plain.test:80 goes to plain_upstream).
  std::vector<std::string> tls_hosts;

  ProxyWorld(const char* home_prefix, std::vector<std::string> resolved_tls_hosts)
      : home(home_prefix), tls_hosts(std::move(resolved_tls_hosts)) {
    auto generated = testkit::TestPki::generate();
    REQUIRE(generated.ok());
    auto written = generated->write(home.file("pki"));
    REQUIRE(written.ok());
    pki = written.value();
    ca = ca_files_in(home.file("authscope"));
    REQUIRE(ensure_ca(ca).ok());
  }

  void start_upstreams() {
    testkit::FakeEntraOptions tls_options;
    tls_options.cert_file = pki.server_cert;
    tls_options.key_file = pki.server_key;
    tls_options.arm_requires_token = false;
    auto t = testkit::FakeEntraServer::start(tls_options);
    REQUIRE(t.ok());
    tls_upstream = std::move(t.value());
    testkit::FakeEntraOptions plain_options;
    plain_options.tls = false;
    plain_options.arm_requires_token = false;
    auto p = testkit::FakeEntraServer::start(plain_options);
    REQUIRE(p.ok());
    plain_upstream = std::move(p.value());
  }

  ProxyOptions options() const {
    ProxyOptions o;
    o.listen_addr = "127.0.0.1";
    o.listen_port = 0;
    o.ca_cert_file = ca.cert_path;
    o.ca_key_file = ca.key_path;
    o.upstream_ca_file = pki.ca_cert;
    o.intercept_globs = {"login.microsoftonline.com", "graph.microsoft.com"};
    if (tls_upstream) {
      for (const auto& host : tls_hosts) o.resolves.push_back({host, 443, "127.0.0.1", tls_upstream->port()});
    }
    if (plain_upstream) o.resolves.push_back({"plain.test", 80, "127.0.0.1", plain_upstream->port()});
    return o;
  }

  void start_proxy(const ProxyOptions& o) { REQUIRE(proxy.start(o).ok()); }
  void start_proxy() { start_proxy(options()); }

  // curl through the proxy, trusting the authscope CA.
  testkit::CommandResult curl(std::vector<std::string> args,
                              std::chrono::milliseconds timeout = std::chrono::seconds(30)) {
    std::vector<std::string> all = {"--max-time", "25", "--noproxy", "", "-x", proxy.proxy_url(),
                                    "--cacert", ca.cert_path};
    all.insert(all.end(), args.begin(), args.end());
    return testkit::run_curl(all, timeout);
  }
};

}  // namespace authscope::testing
