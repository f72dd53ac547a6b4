// Rules end to end (issue 4 item 5): realistic MSAL/requests traffic (tests/support/entra_client.py)
// through `authscope run` against the fake Entra/ARM/Graph upstream, then `authscope analyze
// --format json` on the store. Each scenario must give exactly its rule set: the headline rules
// fire (pkce-missing, aux-header-missing, scope-overbroad, nonce-replay) and the clean scenarios
// next to them stay silent.
#include <unistd.h>

#include <set>

#include <catch2/catch.hpp>
#include <fmt/format.h>
#include <nlohmann/json.hpp>

#include "tests/support/fake_entra_server.h"
#include "tests/support/process_helpers.h"
#include "tests/support/test_pki.h"

using namespace authscope;
using namespace std::chrono_literals;

namespace {

struct Upstream {
  testkit::TempHome temp{"authscope-rules-e2e"};
  testkit::PkiPaths pki;
  std::unique_ptr<testkit::FakeEntraServer> server;

  Upstream() {
    auto generated = testkit::TestPki::generate();
    REQUIRE(generated.ok());
    auto written = generated.value().write(temp.path() + "/pki");
    REQUIRE(written.ok());
    pki = written.value();
    testkit::FakeEntraOptions options;
    options.cert_file = pki.server_cert;
    options.key_file = pki.server_key;
    auto s = testkit::FakeEntraServer::start(options);
    REQUIRE(s.ok());
    server = std::move(s.value());
  }

  testkit::CommandResult authscope(std::vector<std::string> args) const {
    args.insert(args.begin(), AUTHSCOPE_BINARY);
    return testkit::run_command(args, 180s, {{"AUTHSCOPE_HOME", temp.path() + "/home"}});
  }

  // `authscope run` with the Microsoft hosts mapped to the fake upstream.
  testkit::CommandResult run_scenario(const std::string& name, const std::string& db) const {
    std::vector<std::string> args = {"run", "--quiet", "--db", db};
    for (const char* host : {"login.microsoftonline.com", "management.azure.com", "graph.microsoft.com"}) {
      args.push_back("--resolve");
      args.push_back(fmt::format("{}:443=127.0.0.1:{}", host, server->port()));
    }
    args.insert(args.end(), {"--upstream-ca", pki.ca_cert, "--", "sh", "-c",
                             fmt::format("unset ALL_PROXY all_proxy; exec /usr/bin/python3 {} --proxy \"$HTTPS_PROXY\" "
                                         "--ca \"$REQUESTS_CA_BUNDLE\" scenario {}",
                                         testkit::entra_client_script(), name)});
    return authscope(args);
  }
};

std::set<std::string> rules_in(const std::string& analyze_json) {
  std::set<std::string> out;
  auto doc = nlohmann::json::parse(analyze_json, nullptr, false);
  if (doc.is_discarded() || !doc.contains("findings")) return {"<invalid analyze output>"};
  for (const auto& f : doc["findings"]) out.insert(f.value("rule", ""));
  return out;
}

}  // namespace

TEST_CASE("entra_client scenarios through the proxy give exactly their rules", "[e2e][rules]") {
  if (::access("/usr/bin/python3", X_OK) != 0 ||
      testkit::run_command({"/usr/bin/python3", "-c", "import requests"}).exit_code != 0) {
    WARN("/usr/bin/python3 with requests is not installed: skipped");
    return;
  }
  Upstream up;
  struct Scenario {
    const char* name;
    std::set<std::string> rules;
  };
  const Scenario scenarios[] = {
      {"clean-pkce-signin", {}},
      {"no-pkce-signin", {"pkce-missing"}},
      {"plain-pkce", {"pkce-plain"}},
      {"ropc", {"ropc-grant"}},
      {"implicit", {"implicit-grant"}},
      {"nonce-reuse", {"nonce-replay"}},
      {"cross-tenant-missing-aux", {"aux-header-missing"}},
      {"cross-tenant-with-aux", {}},
      {"linked-missing-role", {}},
      {"overbroad-scope", {"scope-overbroad"}},
      {"client-credentials", {}},
      {"device-code", {}},
  };
  for (const auto& s : scenarios) {
    CAPTURE(s.name);
    const std::string db = up.temp.file(std::string(s.name) + ".db");
    auto run = up.run_scenario(s.name, db);
    CAPTURE(run.out, run.err);
    REQUIRE(run.exit_code == 0);
    REQUIRE(run.out.find("\"ok\": true") != std::string::npos);  // the scenario produced its traffic
    auto analyzed = up.authscope({"analyze", "--db", db, "--format", "json"});
    CAPTURE(analyzed.out, analyzed.err);
    REQUIRE(analyzed.exit_code == 0);
    CHECK(rules_in(analyzed.out) == s.rules);
  }
}
