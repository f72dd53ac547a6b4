// Helpers for the CLI tests: run a command in-process with captured streams, fill a store with
// realistic flows, and read files. Every test runs with its own AUTHSCOPE_HOME.
#pragma once

#include <sys/stat.h>
#include <zlib.h>

#include <cstdlib>
#include <sstream>
#include <string>
#include <vector>

#include <catch2/catch.hpp>

#include "cli/cli.h"
#include "cli/commands.h"
#include "model/flow.h"
#include "storage/flow_store.h"
#include "tests/support/process_helpers.h"

namespace authscope::clitest {

struct CliResult {
  int code = -1;
  std::string out, err;
};

inline CliResult cli(std::vector<std::string> args) {
  args.insert(args.begin(), "authscope");
  std::vector<char*> argv;
  for (auto& a : args) argv.push_back(a.data());
  argv.push_back(nullptr);
  std::ostringstream out, err;
  CliResult r;
  r.code = run_cli(static_cast<int>(args.size()), argv.data(), out, err);
  r.out = out.str();
  r.err = err.str();
  return r;
}

inline size_t line_count(const std::string& s) {
  size_t n = 0;
  for (char c : s) n += c == '\n';
  return n;
}

inline unsigned file_mode(const std::string& path) {
  struct stat st {};
  if (::stat(path.c_str(), &st) != 0) return 0;
  return st.st_mode & 07777;
}

// A scoped AUTHSCOPE_HOME (restored afterwards).
class ScopedHome {
 public:
  ScopedHome() : temp_("authscope-cli") {
    if (const char* old = std::getenv("AUTHSCOPE_HOME")) old_ = old;
    home_ = temp_.path() + "/home";  // not created yet: authscope creates it 0700
    ::setenv("AUTHSCOPE_HOME", home_.c_str(), 1);
  }
  ~ScopedHome() {
    if (old_.empty()) ::unsetenv("AUTHSCOPE_HOME");
    else ::setenv("AUTHSCOPE_HOME", old_.c_str(), 1);
  }
  const std::string& home() const { return home_; }
  std::string scratch(const std::string& name) const { return temp_.file(name); }

 private:
  testkit::TempHome temp_;
  std::string home_, old_;
};

inline std::string gzip(const std::string& data) {
  z_stream zs{};
  deflateInit2(&zs, Z_DEFAULT_COMPRESSION, Z_DEFLATED, 15 + 16, 8, Z_DEFAULT_STRATEGY);
  std::string out(compressBound(static_cast<uLong>(data.size())) + 64, '\0');
  zs.next_in = reinterpret_cast<Bytef*>(const_cast<char*>(data.data()));
  zs.avail_in = static_cast<uInt>(data.size());
  zs.next_out = reinterpret_cast<Bytef*>(out.data());
  zs.avail_out = static_cast<uInt>(out.size());
  deflate(&zs, Z_FINISH);
  out.resize(zs.total_out);
  deflateEnd(&zs);
  return out;
}

inline Flow http_flow(const std::string& method, const std::string& host, const std::string& target, int status) {
  Flow f;
  f.kind = FlowKind::kHttp;
  f.client_addr = "127.0.0.1:50000";
  f.connection_id = 1;
  f.scheme = "https";
  f.host = host;
  f.port = 443;
  f.times.start_us = 1'780'000'000'000'000;
  f.times.request_end_us = f.times.start_us + 1000;
  f.times.response_start_us = f.times.start_us + 20'000;
  f.times.end_us = f.times.start_us + 35'000;
  f.request.method = method;
  f.request.target = target;
  f.request.version = "HTTP/1.1";
  f.request.headers.add("Host", host);
  f.request.headers.add("User-Agent", "authscope-cli-test/1.0");
  Response r;
  r.status = status;
  r.reason = status == 200 ? "OK" : "Error";
  r.version = "HTTP/1.1";
  f.response = r;
  return f;
}

// A resource-owner password grant (ropc-grant, high) with a gzip JSON response.
inline Flow ropc_flow() {
  Flow f = http_flow("POST", "login.microsoftonline.com", "/common/oauth2/v2.0/token", 200);
  std::string body = "grant_type=password&client_id=04b07795-8ddb-461a-bbee-02f9e1bf7b46&username=alex%40contoso.example"
                     "&password=Sup3rSecret%21&scope=https%3A%2F%2Fmanagement.azure.com%2F.default";
  f.request.headers.add("Content-Type", "application/x-www-form-urlencoded");
  f.request.headers.add("Content-Length", std::to_string(body.size()));
  f.request.body.data = body;
  f.request.body.wire_size = body.size();
  std::string json = R"({"token_type":"Bearer","expires_in":3599,"access_token":"opaque-access-token-value-1234567890"})";
  std::string gz = gzip(json);
  f.response->headers.add("Content-Type", "application/json; charset=utf-8");
  f.response->headers.add("Content-Encoding", "gzip");
  f.response->headers.add("Content-Length", std::to_string(gz.size()));
  f.response->body.data = gz;
  f.response->body.wire_size = gz.size();
  return f;
}

inline Flow arm_get_flow() {
  Flow f = http_flow("GET", "management.azure.com",
                     "/subscriptions/11111111-2222-4333-8444-555555555555/resourceGroups/rg1?api-version=2021-04-01", 200);
  std::string json = R"({"id":"/subscriptions/11111111-2222-4333-8444-555555555555/resourceGroups/rg1","name":"rg1"})";
  f.response->headers.add("Content-Type", "application/json");
  f.response->body.data = json;
  f.response->body.wire_size = json.size();
  return f;
}

inline Flow tunnel_flow() {
  Flow f;
  f.kind = FlowKind::kTunnel;
  f.scheme = "tunnel";
  f.host = "example.org";
  f.port = 443;
  f.client_addr = "127.0.0.1:50001";
  f.times.start_us = 1'780'000'001'000'000;
  f.times.end_us = f.times.start_us + 2'000'000;
  f.request.method = "CONNECT";
  f.request.target = "example.org:443";
  f.request.version = "HTTP/1.1";
  f.bytes_from_client = 1200;
  f.bytes_from_upstream = 5400;
  return f;
}

// Writes the flows into a new store at path (redaction not applied: the test controls content).
inline void fill_store(const std::string& path, const std::vector<Flow>& flows) {
  auto store = open_sqlite_store(path);
  REQUIRE(store.ok());
  for (const Flow& f : flows) store.value()->enqueue(f);
  REQUIRE(store.value()->flush().ok());
}

}  // namespace authscope::clitest
