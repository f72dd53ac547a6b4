// The `authscope` commands run in-process through run_cli with captured streams: usage errors,
// help and version, ca, env, flows, show, analyze, import/export and report on stores the tests
// fill themselves.
#include <catch2/catch.hpp>

#include <filesystem>
#include <fstream>

#include <nlohmann/json.hpp>

#include "tests/integration/cli_test_support.h"

using namespace authscope;
using namespace authscope::clitest;

TEST_CASE("usage errors are one line plus the usage and exit 2", "[integration][cli]") {
  ScopedHome home;
  struct Case {
    std::vector<std::string> args;
    std::string expect;  // in the error line
  };
  std::vector<Case> cases = {
      {{"frobnicate"}, "unknown command 'frobnicate'"},
      {{"--bogus"}, "unknown option '--bogus'"},
      {{"flows", "--bogus"}, "--bogus"},
      {{"analyze", "--format", "xml"}, "xml"},
      {{"show"}, "ID"},
      {{"show", "abc"}, "'abc' is not a flow id"},
      {{"env", "--port", "70000"}, "70000"},
      {{"export", "--format", "csv"}, "csv"},
      {{"proxy", "--listen", "nonsense"}, "--listen"},
      {{"proxy", "--listen", "0.0.0.0:8080"}, "--proxy-auth"},
      {{"proxy", "--resolve", "login.microsoftonline.com=127.0.0.1:1"}, "--resolve"},
      {{"run", "--fail-on", "severe", "--", "true"}, "severe"},
      {{"run", "--quiet"}, "missing the command"},
      {{"help", "nosuch"}, "unknown command 'nosuch'"},
  };
  for (const auto& c : cases) {
    CAPTURE(c.args);
    CliResult r = cli(c.args);
    CHECK(r.code == kExitUsage);
    CHECK(r.out.empty());
    REQUIRE(line_count(r.err) == 2);
    std::string first = r.err.substr(0, r.err.find('\n'));
    CHECK(first.rfind("authscope", 0) == 0);
    CHECK(first.find(c.expect) != std::string::npos);
    CHECK(r.err.find("\nusage: authscope") != std::string::npos);
  }
}

TEST_CASE("help output for --help and help COMMAND and --version", "[integration][cli]") {
  ScopedHome home;
  CliResult r = cli({"--help"});
  CHECK(r.code == 0);
  for (const Command& c : commands()) CHECK(r.out.find(std::string("  ") + c.name + " ") != std::string::npos);
  for (const char* name : {"proxy", "run", "analyze", "report", "flows", "show", "decode", "tokens", "import", "export", "env", "ca"}) {
    CHECK(find_command(name) != nullptr);
  }
  r = cli({"help", "show"});
  CHECK(r.code == 0);
  CHECK(r.out.find("--json") != std::string::npos);
  r = cli({"flows", "--help"});
  CHECK(r.code == 0);
  CHECK(r.out.find("--db") != std::string::npos);
  r = cli({"--version"});
  CHECK(r.code == 0);
  CHECK(r.out.rfind("authscope ", 0) == 0);
  r = cli({});
  CHECK(r.code == kExitUsage);
}

TEST_CASE("ca creates the home 0700 and the key 0600, prints the path or the PEM, never the key", "[integration][cli]") {
  ScopedHome home;
  CliResult r = cli({"ca"});
  REQUIRE(r.code == 0);
  CHECK(r.out == home.home() + "/ca.pem\n");
  CHECK(file_mode(home.home()) == 0700);
  CHECK(file_mode(home.home() + "/ca.key") == 0600);
  std::string first_pem = testkit::read_text_file(home.home() + "/ca.pem");

  r = cli({"ca", "--pem"});
  REQUIRE(r.code == 0);
  CHECK(r.out.find("-----BEGIN CERTIFICATE-----") == 0);
  CHECK(r.out.find("PRIVATE KEY") == std::string::npos);
  CHECK(r.out == first_pem);

  // Idempotent: a second call keeps the same CA; --regenerate replaces it.
  CHECK(cli({"ca"}).code == 0);
  CHECK(testkit::read_text_file(home.home() + "/ca.pem") == first_pem);
  r = cli({"ca", "--regenerate"});
  REQUIRE(r.code == 0);
  CHECK(testkit::read_text_file(home.home() + "/ca.pem") != first_pem);
  CHECK(file_mode(home.home() + "/ca.key") == 0600);
}

TEST_CASE("a group-readable CA key is refused with one line and exit 1", "[integration][cli]") {
  ScopedHome home;
  REQUIRE(cli({"ca"}).code == 0);
  REQUIRE(::chmod((home.home() + "/ca.key").c_str(), 0644) == 0);
  CliResult r = cli({"ca"});
  CHECK(r.code == kExitFailure);
  CHECK(line_count(r.err) == 1);
  CHECK(r.out.empty());
}

TEST_CASE("env prints the lines for each client family and writes the trust bundle", "[integration][cli]") {
  ScopedHome home;
  CliResult r = cli({"env", "--port", "9999"});
  REQUIRE(r.code == 0);
  std::string bundle = home.home() + "/ca-bundle.pem";
  CHECK(r.out.find("export HTTPS_PROXY=http://127.0.0.1:9999 HTTP_PROXY=http://127.0.0.1:9999\n") != std::string::npos);
  CHECK(r.out.find("export https_proxy=http://127.0.0.1:9999") != std::string::npos);
  CHECK(r.out.find("NO_PROXY=localhost,127.0.0.1,::1") != std::string::npos);
  CHECK(r.out.find("export SSL_CERT_FILE=" + bundle + "\n") != std::string::npos);
  CHECK(r.out.find("export REQUESTS_CA_BUNDLE=" + bundle + "\n") != std::string::npos);
  CHECK(r.out.find("export CURL_CA_BUNDLE=" + bundle + "\n") != std::string::npos);
  CHECK(r.out.find("export NODE_EXTRA_CA_CERTS=" + home.home() + "/ca.pem\n") != std::string::npos);

  std::string ca = testkit::read_text_file(home.home() + "/ca.pem");
  std::string text = testkit::read_text_file(bundle);
  REQUIRE(!ca.empty());
  CHECK(text.find(ca) != std::string::npos);  // the authscope CA ...
  std::string system_roots = testkit::read_text_file("/etc/ssl/certs/ca-certificates.crt");
  if (!system_roots.empty()) CHECK(text.rfind(system_roots, 0) == 0);  // ... after the system roots

  // The lines are valid shell: a POSIX sh evaluates them and sees the values.
  std::string script = home.scratch("env.sh");
  std::ofstream(script) << r.out << "printf '%s|%s' \"$HTTPS_PROXY\" \"$SSL_CERT_FILE\"\n";
  auto sh = testkit::run_command({"sh", script});
  CHECK(sh.exit_code == 0);
  CHECK(sh.out == "http://127.0.0.1:9999|" + bundle);
}

TEST_CASE("a missing or garbled store is one line and exit 1", "[integration][cli]") {
  ScopedHome home;
  for (const char* command : {"flows", "analyze", "show"}) {
    CAPTURE(command);
    std::vector<std::string> args = {command};
    if (std::string(command) == "show") args.push_back("1");
    args.push_back("--db");
    args.push_back(home.scratch("missing.db"));
    CliResult r = cli(args);
    CHECK(r.code == kExitFailure);
    CHECK(line_count(r.err) == 1);
    CHECK(r.err.find("no capture store") != std::string::npos);
  }
  std::string garbled = home.scratch("garbled.db");
  std::ofstream(garbled) << std::string(4096, 'x');
  CliResult r = cli({"flows", "--db", garbled});
  CHECK(r.code == kExitFailure);
  CHECK(line_count(r.err) == 1);
  CHECK(r.err.find(garbled) != std::string::npos);
}

TEST_CASE("flows lists, flows --json and show print what the store holds", "[integration][cli]") {
  ScopedHome home;
  std::string db = home.scratch("flows.db");
  fill_store(db, {ropc_flow(), arm_get_flow(), tunnel_flow()});

  CliResult r = cli({"flows", "--db", db});
  REQUIRE(r.code == 0);
  CHECK(line_count(r.out) == 4);  // header + 3 flows
  CHECK(r.out.find("https://login.microsoftonline.com/common/oauth2/v2.0/token") != std::string::npos);
  CHECK(r.out.find("example.org:443 (tunnel)") != std::string::npos);

  r = cli({"flows", "--db", db, "--json"});
  REQUIRE(r.code == 0);
  auto all = nlohmann::json::parse(r.out);
  REQUIRE(all.is_array());
  REQUIRE(all.size() == 3);
  CHECK(all[0]["id"] == 1);
  CHECK(all[0]["request"]["method"] == "POST");
  CHECK(all[0]["request"]["body"]["text"].get<std::string>().find("grant_type=password") == 0);
  CHECK(all[0]["response"]["headers"][1]["name"] == "Content-Encoding");
  CHECK(all[0]["response"]["body"]["encoding"] == "base64");  // gzip bytes are not text
  CHECK(all[2]["kind"] == "tunnel");
  CHECK(all[2]["bytes_from_upstream"] == 5400);

  // show: the gzip body decoded, the form body shown, the class named.
  r = cli({"show", "1", "--db", db});
  REQUIRE(r.code == 0);
  CHECK(r.out.find("> POST /common/oauth2/v2.0/token HTTP/1.1") != std::string::npos);
  CHECK(r.out.find("[gzip body decoded") != std::string::npos);
  CHECK(r.out.find("\"token_type\":\"Bearer\"") != std::string::npos);
  CHECK(r.out.find("class: token password") != std::string::npos);
  CHECK(r.out.find("< HTTP/1.1 200 OK") != std::string::npos);

  r = cli({"show", "3", "--db", db});
  REQUIRE(r.code == 0);
  CHECK(r.out.find("tunnel example.org:443") != std::string::npos);

  r = cli({"show", "2", "--db", db, "--json"});
  REQUIRE(r.code == 0);
  auto shown = nlohmann::json::parse(r.out);
  CHECK(shown["id"] == 2);
  CHECK(shown["class"]["kind"] == "arm");
  CHECK(shown["tokens"].is_array());

  r = cli({"show", "42", "--db", db});
  CHECK(r.code == kExitFailure);
  CHECK(r.err.find("no flow 42") != std::string::npos);
}

TEST_CASE("analyze prints the contract's findings JSON and grouped text", "[integration][cli]") {
  ScopedHome home;
  std::string db = home.scratch("flows.db");
  fill_store(db, {ropc_flow(), arm_get_flow()});

  CliResult r = cli({"analyze", "--db", db, "--format", "json"});
  REQUIRE(r.code == 0);
  auto doc = nlohmann::ordered_json::parse(r.out);
  std::vector<std::string> keys;
  for (auto it = doc.begin(); it != doc.end(); ++it) keys.push_back(it.key());
  CHECK(keys == std::vector<std::string>{"version", "flows", "findings"});
  CHECK(doc["version"] == 1);
  CHECK(doc["flows"] == 2);
  REQUIRE(doc["findings"].is_array());
  bool ropc = false;
  for (const auto& f : doc["findings"]) {
    std::vector<std::string> fkeys;
    for (auto it = f.begin(); it != f.end(); ++it) fkeys.push_back(it.key());
    CHECK(fkeys == std::vector<std::string>{"rule", "severity", "title", "message", "flows", "evidence"});
    if (f["rule"] == "ropc-grant") {
      ropc = true;
      CHECK(f["severity"] == "high");
      CHECK(f["flows"] == nlohmann::ordered_json::array({1}));
    }
  }
  CHECK(ropc);

  r = cli({"analyze", "--db", db});
  REQUIRE(r.code == 0);
  CHECK(r.out.find("2 flows analyzed") == 0);
  CHECK(r.out.find("\nHIGH\n") != std::string::npos);
  CHECK(r.out.find("[ropc-grant]") != std::string::npos);

  r = cli({"analyze", "--db", db, "--rules", home.scratch("no-such-rules")});
  CHECK(r.code == kExitFailure);
  CHECK(line_count(r.err) == 1);
}

TEST_CASE("export --format har then import gives the same flows and findings", "[integration][cli]") {
  ScopedHome home;
  std::string db = home.scratch("flows.db");
  fill_store(db, {ropc_flow(), arm_get_flow()});
  std::string har = home.scratch("capture.har");

  CliResult r = cli({"export", "--format", "har", "--db", db, "-o", har});
  REQUIRE(r.code == 0);
  auto doc = nlohmann::json::parse(testkit::read_text_file(har));
  REQUIRE(doc["log"]["entries"].size() == 2);
  CHECK(doc["log"]["entries"][0]["request"]["url"] == "https://login.microsoftonline.com/common/oauth2/v2.0/token");

  r = cli({"export", "--format", "har", "--db", db});  // stdout
  REQUIRE(r.code == 0);
  CHECK(nlohmann::json::parse(r.out)["log"]["entries"].size() == 2);

  std::string copy = home.scratch("copy.db");
  r = cli({"import", har, "--db", copy});
  REQUIRE(r.code == 0);
  CHECK(r.out.find("imported 2 flows") == 0);
  CliResult original = cli({"analyze", "--db", db, "--format", "json"});
  CliResult imported = cli({"analyze", "--db", copy, "--format", "json"});
  REQUIRE(original.code == 0);
  REQUIRE(imported.code == 0);
  CHECK(nlohmann::json::parse(imported.out)["findings"] == nlohmann::json::parse(original.out)["findings"]);

  // Imports are redacted like captures: the password in the form body does not reach the store.
  CHECK(testkit::read_text_file(copy).find("Sup3rSecret") == std::string::npos);

  // Not HAR: one line, exit 1, nothing imported.
  std::string bad = home.scratch("bad.har");
  std::ofstream(bad) << R"({"log": {"entries": "nope"}})";
  std::string empty_db = home.scratch("empty.db");
  r = cli({"import", bad, "--db", empty_db});
  CHECK(r.code == kExitFailure);
  CHECK(line_count(r.err) == 1);
  CHECK_FALSE(std::filesystem::exists(empty_db));  // no new, empty store left behind
  r = cli({"import", home.scratch("missing.har"), "--db", empty_db});
  CHECK(r.code == kExitFailure);
  CHECK_FALSE(std::filesystem::exists(empty_db));
  // Into an existing store, a refused HAR changes nothing and the store stays.
  r = cli({"import", bad, "--db", copy});
  CHECK(r.code == kExitFailure);
  CHECK(cli({"flows", "--db", copy}).code == 0);
  CHECK(std::filesystem::exists(copy));
}

TEST_CASE("report writes each format from the store", "[integration][cli]") {
  if (find_command("report") == nullptr) {
    WARN("the report module is not built: skipped");
    return;
  }
  ScopedHome home;
  std::string db = home.scratch("flows.db");
  fill_store(db, {ropc_flow(), arm_get_flow()});

  CliResult r = cli({"report", "--db", db, "--format", "json"});
  REQUIRE(r.code == 0);
  CliResult analyzed = cli({"analyze", "--db", db, "--format", "json"});
  CHECK(nlohmann::json::parse(r.out) == nlohmann::json::parse(analyzed.out));  // the same document

  r = cli({"report", "--db", db, "--format", "sarif"});
  REQUIRE(r.code == 0);
  auto sarif = nlohmann::json::parse(r.out);
  CHECK(sarif["version"] == "2.1.0");
  bool ropc = false;
  for (const auto& result : sarif["runs"][0]["results"]) ropc = ropc || result["ruleId"] == "ropc-grant";
  CHECK(ropc);

  std::string junit = home.scratch("junit.xml");
  r = cli({"report", "--db", db, "--format", "junit", "-o", junit});
  REQUIRE(r.code == 0);
  std::string xml = testkit::read_text_file(junit);
  CHECK(xml.find("<testsuites") != std::string::npos);
  CHECK(xml.find("ropc-grant") != std::string::npos);

  std::string html = home.scratch("report.html");
  r = cli({"report", "--db", db, "--format", "html", "-o", html});
  REQUIRE(r.code == 0);
  std::string page = testkit::read_text_file(html);
  CHECK(page.find("<html") != std::string::npos);
  CHECK(page.find("ropc-grant") != std::string::npos);

  r = cli({"report", "--db", db, "--format", "markdown"});
  REQUIRE(r.code == 0);
  CHECK(r.out.find("ropc-grant") != std::string::npos);

  r = cli({"report", "--db", db});
  CHECK(r.code == kExitUsage);  // --format is required
}
