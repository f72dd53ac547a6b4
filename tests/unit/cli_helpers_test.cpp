// The CLI's pure helpers: option parsing (--listen, --resolve), the loopback rule, the child's
// environment, body decoding for `show`, shell quoting, and the findings summary.
#include <catch2/catch.hpp>

#include <algorithm>
#include <sstream>

#include <zlib.h>

#include "cli/body_view.h"
#include "cli/child_env.h"
#include "cli/cli_support.h"
#include "cli/findings_text.h"
#include "cli/flow_format.h"
#include "cli/proxy_flags.h"

using namespace authscope;
using namespace authscope::cli;

namespace {

std::string compress(const std::string& data, int window_bits) {
  z_stream zs{};
  REQUIRE(deflateInit2(&zs, Z_DEFAULT_COMPRESSION, Z_DEFLATED, window_bits, 8, Z_DEFAULT_STRATEGY) == Z_OK);
  std::string out(compressBound(static_cast<uLong>(data.size())) + 64, '\0');
  zs.next_in = reinterpret_cast<Bytef*>(const_cast<char*>(data.data()));
  zs.avail_in = static_cast<uInt>(data.size());
  zs.next_out = reinterpret_cast<Bytef*>(out.data());
  zs.avail_out = static_cast<uInt>(out.size());
  REQUIRE(deflate(&zs, Z_FINISH) == Z_STREAM_END);
  out.resize(zs.total_out);
  deflateEnd(&zs);
  return out;
}

Finding finding(const char* rule, Severity sev, std::vector<int64_t> flows) {
  Finding f;
  f.rule = rule;
  f.severity = sev;
  f.title = rule;
  f.message = std::string("message of ") + rule;
  f.flows = std::move(flows);
  return f;
}

}  // namespace

TEST_CASE("listen and resolve option values", "[unit][cli]") {
  std::string host;
  uint16_t port = 1;
  CHECK(parse_host_port("127.0.0.1:0", host, port, true).ok());
  CHECK((host == "127.0.0.1" && port == 0));
  CHECK(parse_host_port("[::1]:8443", host, port, false).ok());
  CHECK((host == "::1" && port == 8443));
  for (const char* bad : {"", "8080", ":8080", "127.0.0.1:", "127.0.0.1:65536", "127.0.0.1:-1", "127.0.0.1:80x",
                          "::1:80", "[::1]80", "[::1]"}) {
    CAPTURE(bad);
    CHECK_FALSE(parse_host_port(bad, host, port, true).ok());
  }
  CHECK_FALSE(parse_host_port("127.0.0.1:0", host, port, false).ok());

  auto r = parse_resolve("login.microsoftonline.com:443=127.0.0.1:8443");
  REQUIRE(r.ok());
  CHECK(r.value().host == "login.microsoftonline.com");
  CHECK(r.value().port == 443);
  CHECK(r.value().addr == "127.0.0.1");
  CHECK(r.value().addr_port == 8443);
  CHECK_FALSE(parse_resolve("login.microsoftonline.com:443").ok());
  CHECK_FALSE(parse_resolve("login.microsoftonline.com=127.0.0.1:1").ok());
  CHECK_FALSE(parse_resolve("a:443=127.0.0.1:0").ok());
}

TEST_CASE("only loopback listens without --proxy-auth", "[unit][cli]") {
  CHECK(is_loopback_address("127.0.0.1"));
  CHECK(is_loopback_address("127.8.9.10"));
  CHECK(is_loopback_address("::1"));
  CHECK(is_loopback_address("localhost"));
  CHECK_FALSE(is_loopback_address("0.0.0.0"));
  CHECK_FALSE(is_loopback_address("10.0.0.1"));
  CHECK_FALSE(is_loopback_address("::"));
  CHECK_FALSE(is_loopback_address("128.0.0.1"));

  HomePaths paths{"/h", "/h/ca.pem", "/h/ca.key", "/h/ca-bundle.pem", "/h/flows.db"};
  ProxyFlags flags;
  flags.listen = "0.0.0.0:8080";
  auto refused = capture_options_from(flags, "127.0.0.1:8080", paths);
  REQUIRE_FALSE(refused.ok());
  CHECK(refused.status().message().find("--proxy-auth") != std::string::npos);
  flags.proxy_auth = "user:pass";
  auto allowed = capture_options_from(flags, "127.0.0.1:8080", paths);
  REQUIRE(allowed.ok());
  CHECK(allowed.value().proxy.proxy_auth == std::optional<std::string>("user:pass"));
  flags.proxy_auth = "nocolon";
  CHECK_FALSE(capture_options_from(flags, "127.0.0.1:8080", paths).ok());
}

TEST_CASE("proxy flags become ProxyOptions", "[unit][cli]") {
  HomePaths paths{"/h", "/h/ca.pem", "/h/ca.key", "/h/ca-bundle.pem", "/h/flows.db"};
  ProxyFlags flags;
  auto defaults = capture_options_from(flags, "127.0.0.1:8080", paths);
  REQUIRE(defaults.ok());
  CHECK(defaults.value().proxy.listen_port == 8080);
  CHECK(defaults.value().proxy.intercept_globs == default_intercept_globs());
  CHECK(defaults.value().db_path == "/h/flows.db");
  CHECK(defaults.value().proxy.ca_key_file == "/h/ca.key");
  CHECK(defaults.value().proxy.limits.body_capture_limit == 4u * 1024 * 1024);

  flags.intercept = {"*.example.test", "login.microsoftonline.com"};
  flags.body_limit = 1024;
  flags.resolve = {"login.microsoftonline.com:443=127.0.0.1:9443"};
  flags.db = "/tmp/x.db";
  auto c = capture_options_from(flags, "127.0.0.1:8080", paths);
  REQUIRE(c.ok());
  CHECK(c.value().proxy.intercept_globs == flags.intercept);  // replaces the default list
  CHECK(c.value().proxy.limits.body_capture_limit == 1024);
  REQUIRE(c.value().proxy.resolves.size() == 1);
  CHECK(c.value().proxy.resolves[0].addr_port == 9443);
  CHECK(c.value().db_path == "/tmp/x.db");

  flags.upstream_ca = "/nonexistent/ca.pem";
  CHECK_FALSE(capture_options_from(flags, "127.0.0.1:8080", paths).ok());
}

TEST_CASE("the child's environment replaces proxy and trust variables", "[unit][cli]") {
  HomePaths paths{"/h", "/h/ca.pem", "/h/ca.key", "/h/ca-bundle.pem", "/h/flows.db"};
  auto vars = proxy_env_vars(paths, 40123);
  std::vector<std::string> env = merge_env({"PATH=/usr/bin", "HTTPS_PROXY=http://corp:3128", "SSL_CERT_FILE=/x", "EMPTY"},
                                           vars);
  auto has = [&](const std::string& entry) { return std::find(env.begin(), env.end(), entry) != env.end(); };
  CHECK(has("PATH=/usr/bin"));
  CHECK(has("EMPTY"));
  CHECK(has("HTTPS_PROXY=http://127.0.0.1:40123"));
  CHECK(has("http_proxy=http://127.0.0.1:40123"));
  CHECK(has("NO_PROXY=localhost,127.0.0.1,::1"));
  CHECK(has("SSL_CERT_FILE=/h/ca-bundle.pem"));
  CHECK(has("REQUESTS_CA_BUNDLE=/h/ca-bundle.pem"));
  CHECK(has("CURL_CA_BUNDLE=/h/ca-bundle.pem"));
  CHECK(has("NODE_EXTRA_CA_CERTS=/h/ca.pem"));
  CHECK_FALSE(has("HTTPS_PROXY=http://corp:3128"));
  CHECK_FALSE(has("SSL_CERT_FILE=/x"));
  CHECK(std::count_if(env.begin(), env.end(), [](const std::string& e) { return e.rfind("HTTPS_PROXY=", 0) == 0; }) == 1);
}

TEST_CASE("bodies for people: gzip and deflate decoded, binary summarised, truncation noted", "[unit][cli]") {
  std::string json = R"({"access_token":"x","token_type":"Bearer"})";
  Headers gz;
  gz.add("Content-Encoding", "gzip");
  Body b;
  b.data = compress(json, 15 + 16);
  BodyView v = view_body(b, gz);
  CHECK(v.decoded);
  CHECK_FALSE(v.binary);
  CHECK(v.text == json);

  Headers deflate;
  deflate.add("content-encoding", " Deflate ");
  b.data = compress(json, 15);  // zlib wrapper (RFC 9110 "deflate")
  CHECK(view_body(b, deflate).text == json);
  b.data = compress(json, -15);  // raw deflate, as some servers send
  CHECK(view_body(b, deflate).text == json);

  // A capture truncated mid-stream still shows what was captured.
  std::string big(100000, 'a');
  for (size_t i = 0; i < big.size(); i += 7) big[i] = static_cast<char>('a' + (i % 26));
  std::string z = compress(big, 15 + 16);
  b.data = z.substr(0, z.size() / 2);
  b.truncated = true;
  b.wire_size = z.size();
  v = view_body(b, gz);
  CHECK(v.decoded);
  CHECK(!v.text.empty());
  CHECK(big.rfind(v.text, 0) == 0);
  CHECK(v.note.find("truncated at capture limit") != std::string::npos);

  // Garbage labelled gzip: shown as binary with a reason, never a crash.
  b.data = std::string("\x1f\x8b\x08\x00garbage\xff\xfe", 13);
  b.truncated = false;
  v = view_body(b, gz);
  CHECK(v.binary);
  CHECK(v.note.find("could not be decoded") != std::string::npos);

  Headers png;
  png.add("Content-Type", "image/png");
  b.data = std::string("\x89PNG\r\n\x1a\n\0\0\0", 11);
  v = view_body(b, png);
  CHECK(v.binary);
  CHECK(v.text == "<binary body: 11 bytes, image/png>");

  Body absent;
  CHECK_FALSE(view_body(absent, png).present);
  Body empty;
  empty.data = "";
  CHECK(view_body(empty, png).present);
}

TEST_CASE("a decompression bomb stops at the bound", "[unit][cli]") {
  std::string zeros(8 * 1024 * 1024, '\0');
  std::string z = compress(zeros, 15 + 16);
  std::string error;
  std::string out = inflate_body(z, "gzip", error, 1024 * 1024);
  CHECK(out.empty());
  CHECK(error.find("exceeds") != std::string::npos);
}

TEST_CASE("UTF-8 text detection", "[unit][cli]") {
  CHECK(is_printable_text("plain ascii\r\n\ttab"));
  CHECK(is_printable_text("caf\xc3\xa9 \xe2\x82\xac \xf0\x9f\x94\x91"));
  CHECK_FALSE(is_printable_text(std::string("nul\0", 4)));
  CHECK_FALSE(is_printable_text("\xc3"));          // cut sequence
  CHECK_FALSE(is_printable_text("\xff\xfe"));
  CHECK_FALSE(is_printable_text("bell\x07"));
}

TEST_CASE("shell quoting survives any path", "[unit][cli]") {
  CHECK(shell_quote("/home/u/.authscope/ca.pem") == "/home/u/.authscope/ca.pem");
  CHECK(shell_quote("/tmp/with space") == "'/tmp/with space'");
  CHECK(shell_quote("it's") == "'it'\\''s'");
  CHECK(shell_quote("$(rm -rf /)") == "'$(rm -rf /)'");
  CHECK(shell_quote("") == "''");
}

TEST_CASE("findings summary and the --fail-on threshold", "[unit][cli]") {
  std::vector<Finding> findings = {finding("ropc-grant", Severity::kHigh, {1}),
                                   finding("state-missing", Severity::kMedium, {2, 3}),
                                   finding("nonce-missing", Severity::kMedium, {2})};
  CHECK(severity_counts(findings) == "1 high, 2 medium");
  CHECK(severity_counts({}) == "none");
  CHECK(any_at_or_above(findings, Severity::kHigh));
  CHECK(any_at_or_above(findings, Severity::kInfo));
  CHECK_FALSE(any_at_or_above(findings, Severity::kCritical));

  std::ostringstream out;
  print_findings_summary(out, findings, 3, 2);
  std::string text = out.str();
  CHECK(text.find("3 flows analyzed, findings: 1 high, 2 medium") != std::string::npos);
  CHECK(text.find("HIGH     ropc-grant") != std::string::npos);
  CHECK(text.find("... 1 more") != std::string::npos);  // capped at 2 lines

  std::ostringstream grouped;
  print_findings_text(grouped, findings, 3);
  std::string g = grouped.str();
  CHECK(g.find("\nHIGH\n") < g.find("\nMEDIUM\n"));
  CHECK(g.find("flows: 2, 3") != std::string::npos);
}

TEST_CASE("sizes, durations and times read well", "[unit][cli]") {
  CHECK(human_bytes(512) == "512 B");
  CHECK(human_bytes(3 * 1024 + 512) == "3.5 KiB");
  CHECK(human_bytes(20u * 1024 * 1024) == "20.0 MiB");
  CHECK(human_duration(840) == "840 us");
  CHECK(human_duration(35'000) == "35 ms");
  CHECK(human_duration(2'100'000) == "2.1 s");
  CHECK(format_iso8601_utc(1'700'000'000'123'000) == "2023-11-14T22:13:20.123Z");
  CHECK(format_clock_utc(1'700'000'000'123'000) == "22:13:20.123");
}
