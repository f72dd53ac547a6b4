// Plumbing endpoints for proxy tests, on every host: /echo, /bytes/N, /chunked/N, /close/N,
// /status/N, /slow?ms=N. (/upload and /ws take over the connection: fake_entra_server.cpp.)
#include <cstdlib>

#include "tests/support/fake_entra_internal.h"
#include "tests/support/token_signer.h"

namespace authscope::testkit {
namespace {

constexpr uint64_t kMaxGenerated = 8ULL * 1024 * 1024 * 1024;  // 8 GiB
constexpr int kMaxSlowMs = 60000;

bool number_after(const std::string& path, const std::string& prefix, uint64_t& out) {
  if (path.rfind(prefix, 0) != 0) return false;
  std::string digits = path.substr(prefix.size());
  if (digits.empty() || digits.size() > 12) return false;
  for (char c : digits)
    if (c < '0' || c > '9') return false;
  out = std::strtoull(digits.c_str(), nullptr, 10);
  return true;
}

}  // namespace

std::optional<ServerResponse> route_plumbing(FakeEntraServer::Impl& impl, const ServerRequest& req) {
  (void)impl;
  uint64_t n = 0;
  if (req.path == "/echo") {
    nlohmann::json headers = nlohmann::json::array();
    for (const auto& f : req.headers.fields()) headers.push_back({f.name, f.value});
    nlohmann::json body = {{"method", req.method}, {"target", req.target}, {"path", req.path},
                           {"query", req.query},   {"host", req.host},     {"version", req.version},
                           {"headers", headers},   {"body", req.body},     {"body_size", req.body.size()},
                           {"body_sha256", sha256_hex_of(req.body)},      {"connection", req.connection}};
    return json_response(200, body);
  }
  if (number_after(req.path, "/bytes/", n) && n <= kMaxGenerated) {
    ServerResponse r;
    r.header("Content-Type", "application/octet-stream");
    r.generated = n;
    return r;
  }
  if (number_after(req.path, "/chunked/", n) && n <= kMaxGenerated) {
    ServerResponse r;
    r.header("Content-Type", "application/octet-stream");
    r.generated = n;
    r.framing = ServerResponse::Body::kChunked;
    std::string size = req.query_param("chunk");
    if (!size.empty()) r.chunk_size = std::max<size_t>(1, std::min<size_t>(std::strtoul(size.c_str(), nullptr, 10), 1 << 20));
    return r;
  }
  if (number_after(req.path, "/close/", n) && n <= kMaxGenerated) {
    // RFC 9112 §6.3 (8): no Content-Length, no chunking: the body ends when the connection does.
    ServerResponse r;
    r.header("Content-Type", "application/octet-stream");
    r.generated = n;
    r.framing = ServerResponse::Body::kUntilClose;
    r.close = true;
    return r;
  }
  if (number_after(req.path, "/status/", n)) {
    if (n < 200 || n > 599) return text_response(400, "status must be 200..599\n");
    ServerResponse r = text_response(static_cast<int>(n), "status " + std::to_string(n) + "\n");
    if (n == 204 || n == 304) r.body.clear();
    if (n == 304) r.header("ETag", "\"fake-etag\"");
    if (n >= 300 && n < 400 && n != 304) r.header("Location", "/echo");
    return r;
  }
  // Fault switches (a proxy must turn each into a clean 502 or a flow error, never hang).
  if (req.path == "/reset") {
    ServerResponse r;
    r.reset = true;
    return r;
  }
  if (req.path == "/hang") {
    // Never answers: holds the request for ms (bounded), then closes without a response.
    int ms = std::atoi(req.query_param("ms").c_str());
    ServerResponse r;
    r.delay_ms = std::max(0, std::min(ms ? ms : 5000, kMaxSlowMs));
    r.raw = std::string();
    return r;
  }
  if (req.path == "/malformed") {
    ServerResponse r;
    r.raw = "HTTP/1.1 200 OK\r\nContent-Length: 12abc\r\nContent-Length: 3\r\n\r\nnot http at all";
    return r;
  }
  if (number_after(req.path, "/truncate/", n) && n <= kMaxGenerated) {
    // Promises n bytes, sends half, closes: "incomplete message" (RFC 9112 §8).
    ServerResponse r;
    std::string body(static_cast<size_t>(std::min<uint64_t>(n / 2, 1 << 20)), 'a');
    for (size_t i = 0; i < body.size(); ++i) body[i] = static_cast<char>('a' + i % 26);
    r.raw = "HTTP/1.1 200 OK\r\nContent-Type: application/octet-stream\r\nContent-Length: " + std::to_string(n) +
            "\r\n\r\n" + body;
    return r;
  }
  if (req.path == "/slow") {
    int ms = std::atoi(req.query_param("ms").c_str());
    ServerResponse r = text_response(200, "slept " + std::to_string(ms) + " ms\n");
    r.delay_ms = std::max(0, std::min(ms, kMaxSlowMs));
    return r;
  }
  return std::nullopt;
}

}  // namespace authscope::testkit
