// The fake server's connection handling: accept thread, one blocking thread per connection,
// TLS handshake, the HTTP/1.1 request loop (keep-alive, Expect: 100-continue, HEAD), response
// framing, and the two endpoints that take over the connection (/upload streams, /ws upgrades).
#include "tests/support/fake_entra_server.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <openssl/err.h>
#include <openssl/evp.h>

#include <chrono>
#include <cstring>

#include "tests/support/entra_constants.h"
#include "tests/support/fake_entra_internal.h"
#include "tests/support/http_client.h"
#include "tests/support/http_wire.h"

namespace authscope::testkit {
namespace {

constexpr int kMaxRequestsPerConnection = 1000000;
constexpr size_t kMaxWebSocketPayload = 1024 * 1024;

char pattern_byte(uint64_t i) { return static_cast<char>('a' + i % 26); }

std::string pattern(uint64_t offset, size_t n) {
  std::string out(n, '\0');
  for (size_t i = 0; i < n; ++i) out[i] = pattern_byte(offset + i);
  return out;
}

std::string hex(const unsigned char* p, size_t n) {
  static const char* d = "0123456789abcdef";
  std::string out;
  for (size_t i = 0; i < n; ++i) {
    out += d[p[i] >> 4];
    out += d[p[i] & 15];
  }
  return out;
}

// Incremental SHA-256 for bodies that are never held whole.
class Sha256 {
 public:
  Sha256() : ctx_(EVP_MD_CTX_new()) { EVP_DigestInit_ex(ctx_, EVP_sha256(), nullptr); }
  ~Sha256() { EVP_MD_CTX_free(ctx_); }
  void update(std::string_view s) { EVP_DigestUpdate(ctx_, s.data(), s.size()); }
  std::string hex_digest() {
    unsigned char md[32];
    unsigned int len = 0;
    EVP_DigestFinal_ex(ctx_, md, &len);
    return hex(md, len);
  }

 private:
  EVP_MD_CTX* ctx_;
};

std::string standard_base64(std::string_view bytes) {
  std::string out(4 * ((bytes.size() + 2) / 3) + 1, '\0');
  int n = EVP_EncodeBlock(reinterpret_cast<unsigned char*>(out.data()),
                          reinterpret_cast<const unsigned char*>(bytes.data()), static_cast<int>(bytes.size()));
  out.resize(static_cast<size_t>(n));
  return out;
}

Status write_response(WireStream& stream, const ServerRequest& req, const ServerResponse& resp) {
  std::string head = "HTTP/1.1 " + std::to_string(resp.status) + " " +
                     (resp.reason.empty() ? reason_phrase(resp.status) : resp.reason) + "\r\n";
  bool no_body_status = resp.status < 200 || resp.status == 204 || resp.status == 304;
  for (const auto& h : resp.headers) head += h.name + ": " + h.value + "\r\n";
  uint64_t body_len = resp.generated ? *resp.generated : resp.body.size();
  if (!no_body_status) {
    switch (resp.framing) {
      case ServerResponse::Body::kFixed:
        head += "Content-Length: " + std::to_string(body_len) + "\r\n";
        break;
      case ServerResponse::Body::kChunked:
        head += "Transfer-Encoding: chunked\r\n";
        break;
      case ServerResponse::Body::kUntilClose:
        break;
    }
  }
  if (resp.close || resp.framing == ServerResponse::Body::kUntilClose) head += "Connection: close\r\n";
  head += "\r\n";
  bool send_body = req.method != "HEAD" && !no_body_status;
  if (!send_body || body_len == 0) {
    if (send_body && resp.framing == ServerResponse::Body::kChunked) head += "0\r\n\r\n";
    return stream.write(head);
  }
  Status s = stream.write(head);
  if (!s.ok()) return s;
  uint64_t sent = 0;
  while (sent < body_len) {
    size_t piece_len = static_cast<size_t>(std::min<uint64_t>(
        body_len - sent, resp.framing == ServerResponse::Body::kChunked ? resp.chunk_size : 65536));
    std::string piece = resp.generated ? pattern(sent, piece_len) : resp.body.substr(sent, piece_len);
    if (resp.framing == ServerResponse::Body::kChunked) {
      char size_line[32];
      std::snprintf(size_line, sizeof size_line, "%zx\r\n", piece.size());
      piece = size_line + piece + "\r\n";
    }
    s = stream.write(piece);
    if (!s.ok()) return s;
    sent += piece_len;
  }
  if (resp.framing == ServerResponse::Body::kChunked) return stream.write("0\r\n\r\n");
  return Status::Ok();
}

// RFC 6455 §4.2.2: Sec-WebSocket-Accept = base64(SHA-1(key + "258EAFA5-E914-47DA-95CA-C5AB0DC85B11")).
void serve_websocket(WireStream& stream, BufferedReader& reader, const ServerRequest& req, int& status) {
  const std::string* key = req.headers.find("Sec-WebSocket-Key");
  if (!key || !header_has_token(req.headers, "Upgrade", "websocket")) {
    status = 400;
    write_response(stream, req, text_response(400, "expected a WebSocket upgrade\n"));
    return;
  }
  unsigned char sha1[20];
  std::string accept_input = *key + "258EAFA5-E914-47DA-95CA-C5AB0DC85B11";
  EVP_Digest(accept_input.data(), accept_input.size(), sha1, nullptr, EVP_sha1(), nullptr);
  std::string accept = standard_base64(std::string_view(reinterpret_cast<char*>(sha1), 20));
  status = 101;
  if (!stream.write("HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
                    "Sec-WebSocket-Accept: " + accept + "\r\n\r\n").ok())
    return;
  for (int frames = 0; frames < 100000; ++frames) {
    auto h = reader.read_exact(2);
    if (!h.ok()) return;
    uint8_t b0 = static_cast<uint8_t>((*h)[0]), b1 = static_cast<uint8_t>((*h)[1]);
    uint64_t len = b1 & 0x7f;
    if (len == 126 || len == 127) {
      auto ext = reader.read_exact(len == 126 ? 2 : 8);
      if (!ext.ok()) return;
      len = 0;
      for (char c : *ext) len = (len << 8) | static_cast<uint8_t>(c);
    }
    if (len > kMaxWebSocketPayload) return;
    std::string mask;
    if (b1 & 0x80) {
      auto m = reader.read_exact(4);
      if (!m.ok()) return;
      mask = *m;
    }
    auto payload = reader.read_exact(static_cast<size_t>(len));
    if (!payload.ok()) return;
    if (!mask.empty())
      for (size_t i = 0; i < payload->size(); ++i) (*payload)[i] = static_cast<char>((*payload)[i] ^ mask[i % 4]);
    uint8_t opcode = b0 & 0x0f;
    uint8_t reply_op = opcode == 0x9 ? 0xA : opcode;  // ping → pong, everything else echoed
    std::string frame;
    frame += static_cast<char>((b0 & 0x80) | reply_op);
    if (len < 126) {
      frame += static_cast<char>(len);
    } else if (len < 65536) {
      frame += static_cast<char>(126);
      frame += static_cast<char>(len >> 8);
      frame += static_cast<char>(len & 0xff);
    } else {
      frame += static_cast<char>(127);
      for (int i = 7; i >= 0; --i) frame += static_cast<char>((len >> (8 * i)) & 0xff);
    }
    frame += *payload;
    if (!stream.write(frame).ok()) return;
    if (opcode == 0x8) return;  // close handshake done
  }
}

}  // namespace

// ---------------------------------------------------------------------------------------------

std::vector<LinkedSubscription> default_linked_subscriptions() {
  return {{std::string(kLinkedSubscriptionId), std::string(kLinkedTenantId), false},
          {std::string(kNoRoleSubscriptionId), std::string(kHomeTenantId), true}};
}

std::string ServerRequest::query_param(const std::string& key) const { return form_value(query, key); }

std::string ServerRequest::form_param(const std::string& key) const {
  const std::string* ct = headers.find("Content-Type");
  if (!ct || lower(*ct).find("application/x-www-form-urlencoded") == std::string::npos) return {};
  return form_value(body, key);
}

std::string ServerRequest::param(const std::string& key) const {
  std::string v = query_param(key);
  return v.empty() ? form_param(key) : v;
}

bool ServerRequest::has_param(const std::string& key) const {
  for (const auto& [k, v] : parse_form(query))
    if (k == key) return true;
  const std::string* ct = headers.find("Content-Type");
  if (ct && lower(*ct).find("application/x-www-form-urlencoded") != std::string::npos)
    for (const auto& [k, v] : parse_form(body))
      if (k == key) return true;
  return false;
}

std::string json_text(const nlohmann::json& j) {
  return j.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace);
}

nlohmann::json parse_json_lenient(const std::string& text) {
  auto j = nlohmann::json::parse(text, nullptr, false);
  return j.is_discarded() ? nlohmann::json() : j;
}

ServerResponse json_response(int status, const nlohmann::json& body) {
  ServerResponse r;
  r.status = status;
  r.body = json_text(body);
  r.header("Content-Type", "application/json; charset=utf-8");
  r.header("Cache-Control", "no-store, no-cache");
  return r;
}

ServerResponse text_response(int status, std::string body, std::string content_type) {
  ServerResponse r;
  r.status = status;
  r.body = std::move(body);
  r.header("Content-Type", std::move(content_type));
  return r;
}

std::string reason_phrase(int status) {
  switch (status) {
    case 100: return "Continue";
    case 101: return "Switching Protocols";
    case 200: return "OK";
    case 201: return "Created";
    case 202: return "Accepted";
    case 204: return "No Content";
    case 301: return "Moved Permanently";
    case 302: return "Found";
    case 304: return "Not Modified";
    case 400: return "Bad Request";
    case 401: return "Unauthorized";
    case 403: return "Forbidden";
    case 404: return "Not Found";
    case 405: return "Method Not Allowed";
    case 408: return "Request Timeout";
    case 413: return "Content Too Large";
    case 431: return "Request Header Fields Too Large";
    case 500: return "Internal Server Error";
    case 502: return "Bad Gateway";
    case 503: return "Service Unavailable";
    case 504: return "Gateway Timeout";
    default: return "Status";
  }
}

int64_t unix_now() {
  return std::chrono::duration_cast<std::chrono::seconds>(std::chrono::system_clock::now().time_since_epoch())
      .count();
}

// ---------------------------------------------------------------------------------------------

FakeEntraServer::FakeEntraServer(FakeEntraOptions options) : options_(std::move(options)) {}

FakeEntraServer::~FakeEntraServer() { stop(); }

std::string FakeEntraServer::address() const { return options_.listen_host + ":" + std::to_string(port_); }

Result<std::unique_ptr<FakeEntraServer>> FakeEntraServer::start(FakeEntraOptions options) {
  ignore_sigpipe();
  std::unique_ptr<FakeEntraServer> server(new FakeEntraServer(std::move(options)));
  const FakeEntraOptions& o = server->options_;

  auto signer = o.signing_key_pem.empty() ? TokenSigner::generate(o.signing_kid)
                                          : TokenSigner::from_private_key_pem(o.signing_key_pem, o.signing_kid);
  if (!signer.ok()) return signer.status();
  server->signer_ = std::make_unique<TokenSigner>(std::move(signer.value()));

  auto impl = std::make_unique<Impl>();
  impl->owner = server.get();
  impl->options = &server->options_;
  impl->signer = server->signer_.get();

  if (o.tls) {
    if (o.cert_file.empty() || o.key_file.empty()) return Status::Invalid("tls needs cert_file and key_file");
    SSL_CTX* ctx = SSL_CTX_new(TLS_server_method());
    SSL_CTX_set_min_proto_version(ctx, TLS1_2_VERSION);
    if (SSL_CTX_use_certificate_chain_file(ctx, o.cert_file.c_str()) != 1 ||
        SSL_CTX_use_PrivateKey_file(ctx, o.key_file.c_str(), SSL_FILETYPE_PEM) != 1 ||
        SSL_CTX_check_private_key(ctx) != 1) {
      SSL_CTX_free(ctx);
      return Status::Tls(last_ssl_error("cannot load the server certificate"));
    }
    // ALPN (RFC 7301): we speak only HTTP/1.1; select it when offered, ignore others.
    SSL_CTX_set_alpn_select_cb(
        ctx,
        [](SSL*, const unsigned char** out, unsigned char* outlen, const unsigned char* in, unsigned int inlen,
           void*) -> int {
          for (unsigned int i = 0; i < inlen;) {
            unsigned int len = in[i];
            if (i + 1 + len > inlen) break;
            if (len == 8 && std::memcmp(in + i + 1, "http/1.1", 8) == 0) {
              *out = in + i + 1;
              *outlen = static_cast<unsigned char>(len);
              return SSL_TLSEXT_ERR_OK;
            }
            i += 1 + len;
          }
          return SSL_TLSEXT_ERR_NOACK;
        },
        nullptr);
    impl->ssl_ctx = ctx;
  }

  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_port = htons(o.port);
  if (inet_pton(AF_INET, o.listen_host.c_str(), &addr.sin_addr) != 1)
    return Status::Invalid("listen_host must be an IPv4 address: " + o.listen_host);
  int fd = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  int one = 1;
  ::setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
  if (::bind(fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr) != 0 || ::listen(fd, 512) != 0) {
    std::string err = std::strerror(errno);
    ::close(fd);
    if (impl->ssl_ctx) SSL_CTX_free(impl->ssl_ctx);
    return Status::Io("cannot listen on " + o.listen_host + ":" + std::to_string(o.port) + ": " + err);
  }
  socklen_t len = sizeof addr;
  ::getsockname(fd, reinterpret_cast<sockaddr*>(&addr), &len);
  server->port_ = ntohs(addr.sin_port);
  impl->listen_fd = fd;
  Impl* raw = impl.get();
  server->impl_ = std::move(impl);
  raw->acceptor = std::thread([raw] { raw->accept_loop(); });
  return server;
}

void FakeEntraServer::stop() {
  if (!impl_) return;
  Impl& impl = *impl_;
  impl.stopping = true;
  if (impl.acceptor.joinable()) {
    ::shutdown(impl.listen_fd, SHUT_RDWR);
    impl.acceptor.join();
  }
  if (impl.listen_fd >= 0) {
    ::close(impl.listen_fd);
    impl.listen_fd = -1;
  }
  {
    // Wake every blocked read; the fd is closed only by its own thread after it clears conn->fd
    // under this mutex, so the number we shut down here is still that connection's.
    std::lock_guard<std::mutex> lock(impl.mu);
    for (auto& c : impl.connections) {
      int cfd = c->fd.load();
      if (cfd >= 0) ::shutdown(cfd, SHUT_RDWR);
    }
  }
  impl.reap_finished(true);
  if (impl.ssl_ctx) {
    SSL_CTX_free(impl.ssl_ctx);
    impl.ssl_ctx = nullptr;
  }
}

std::vector<RecordedRequest> FakeEntraServer::requests() const {
  std::lock_guard<std::mutex> lock(impl_->mu);
  return impl_->recorded;
}

void FakeEntraServer::clear_requests() {
  std::lock_guard<std::mutex> lock(impl_->mu);
  impl_->recorded.clear();
}

size_t FakeEntraServer::live_threads() const {
  if (!impl_) return 0;
  std::lock_guard<std::mutex> lock(impl_->mu);
  size_t n = impl_->connections.size();
  if (impl_->acceptor.joinable()) ++n;
  return n;
}

std::vector<IssuedCode> FakeEntraServer::issued_codes() const {
  std::lock_guard<std::mutex> lock(impl_->mu);
  std::vector<IssuedCode> out;
  for (const auto& code : impl_->code_order) {
    auto it = impl_->codes.find(code);
    if (it != impl_->codes.end()) out.push_back(it->second);
  }
  return out;
}

// ---------------------------------------------------------------------------------------------

void FakeEntraServer::Impl::reap_finished(bool all) {
  std::list<std::unique_ptr<Connection>> finished;
  {
    std::lock_guard<std::mutex> lock(mu);
    for (auto it = connections.begin(); it != connections.end();) {
      if (all || (*it)->done.load()) {
        finished.push_back(std::move(*it));
        it = connections.erase(it);
      } else {
        ++it;
      }
    }
  }
  for (auto& c : finished)
    if (c->thread.joinable()) c->thread.join();
}

bool FakeEntraServer::Impl::sleep_interruptible(int ms) {
  auto until = std::chrono::steady_clock::now() + std::chrono::milliseconds(ms);
  while (std::chrono::steady_clock::now() < until) {
    if (stopping) return false;
    std::this_thread::sleep_for(std::chrono::milliseconds(5));
  }
  return true;
}

void FakeEntraServer::Impl::accept_loop() {
  while (!stopping) {
    pollfd p{listen_fd, POLLIN, 0};
    int r = ::poll(&p, 1, 100);
    reap_finished(false);
    if (r <= 0 || stopping) continue;
    int fd = ::accept4(listen_fd, nullptr, nullptr, SOCK_CLOEXEC);
    if (fd < 0) continue;
    size_t live;
    {
      std::lock_guard<std::mutex> lock(mu);
      live = connections.size();
    }
    if (live >= static_cast<size_t>(options->max_connections)) {
      // Over the bound: refuse cleanly (plain HTTP peers get a 503; TLS peers see a close).
      if (!options->tls) {
        static const char kBusy[] = "HTTP/1.1 503 Service Unavailable\r\nContent-Length: 0\r\nConnection: close\r\n\r\n";
        (void)!::send(fd, kBusy, sizeof kBusy - 1, MSG_NOSIGNAL);
      }
      ::close(fd);
      continue;
    }
    int one = 1;
    ::setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
    set_socket_timeouts(fd, options->read_timeout_ms);
    uint64_t number = ++owner->connections_accepted_;
    auto conn = std::make_unique<Connection>();
    conn->fd = fd;
    Connection* raw = conn.get();
    std::lock_guard<std::mutex> lock(mu);
    connections.push_back(std::move(conn));
    raw->thread = std::thread([this, raw, fd, number] { serve(raw, fd, number); });
  }
}

void FakeEntraServer::Impl::serve(Connection* conn, int fd, uint64_t number) {
  std::unique_ptr<WireStream> stream;
  if (ssl_ctx) {
    SSL* ssl = SSL_new(ssl_ctx);
    SSL_set_fd(ssl, fd);
    ERR_clear_error();
    if (SSL_accept(ssl) != 1) {
      ERR_clear_error();
      SSL_free(ssl);
      {
        std::lock_guard<std::mutex> lock(mu);
        conn->fd = -1;
      }
      ::close(fd);
      conn->done = true;
      return;
    }
    stream = make_ssl_stream(ssl, fd);
  } else {
    stream = make_fd_stream(fd);
  }
  BufferedReader reader(*stream);

  for (int n = 0; n < kMaxRequestsPerConnection && !stopping; ++n) {
    auto head_text = reader.read_head(options->max_head_bytes);
    if (!head_text.ok()) {
      if (head_text.status().code() == Status::Code::kLimit) {
        ServerRequest dummy;
        dummy.method = "GET";
        auto r = text_response(431, "request header fields too large\n");
        r.close = true;
        write_response(*stream, dummy, r);
      }
      break;
    }
    auto head = parse_head(*head_text);
    ServerRequest req;
    req.connection = number;
    if (!head.ok()) {
      req.method = "GET";
      auto r = text_response(400, "bad request: " + head.status().message() + "\n");
      r.close = true;
      write_response(*stream, req, r);
      break;
    }
    req.method = head->first;
    req.target = head->second;
    req.version = head->third;
    req.headers = std::move(head->headers);
    size_t q = req.target.find('?');
    req.path = req.target.substr(0, q);
    req.query = q == std::string::npos ? "" : req.target.substr(q + 1);
    // An absolute-form target (a proxy that forwards it as sent) still routes by path.
    if (req.path.rfind("http://", 0) == 0 || req.path.rfind("https://", 0) == 0) {
      size_t slash = req.path.find('/', req.path.find("//") + 2);
      req.path = slash == std::string::npos ? "/" : req.path.substr(slash);
    }
    if (const std::string* host = req.headers.find("Host")) {
      std::string h = lower(*host);
      if (!h.empty() && h[0] == '[') {
        h = h.substr(1, h.find(']') == std::string::npos ? h.npos : h.find(']') - 1);
      } else if (size_t colon = h.rfind(':'); colon != std::string::npos) {
        h = h.substr(0, colon);
      }
      req.host = h;
    }

    ++owner->requests_served_;
    RecordedRequest rec;
    rec.connection = number;
    rec.host = req.host;
    rec.method = req.method;
    rec.target = req.target;
    rec.path = req.path;
    rec.query = req.query;
    rec.headers = req.headers;

    bool keep_alive = req.version == "HTTP/1.1" ? !header_has_token(req.headers, "Connection", "close")
                                                : header_has_token(req.headers, "Connection", "keep-alive");
    auto framing = request_framing(req.headers);
    if (!framing.ok()) {
      auto r = text_response(400, "bad request: " + framing.status().message() + "\n");
      r.close = true;
      write_response(*stream, req, r);
      rec.status = 400;
      std::lock_guard<std::mutex> lock(mu);
      if (recorded.size() < options->max_recorded) recorded.push_back(std::move(rec));
      break;
    }
    // RFC 9110 §10.1.1: "A server that receives a 100-continue expectation in an HTTP/1.1 (or
    // later) request [...] MAY omit sending a 100 (Continue) response if it has already received
    // some or all of the message content for the corresponding request".
    if (framing->kind != BodyFraming::kNone && reader.buffered() == 0) {
      if (const std::string* expect = req.headers.find("Expect");
          expect && lower(*expect) == "100-continue" && req.version == "HTTP/1.1") {
        if (!stream->write("HTTP/1.1 100 Continue\r\n\r\n").ok()) break;
      }
    }

    ServerResponse resp;
    bool took_over = false;
    if (req.path == "/ws") {
      // The status serve_websocket() will send, recorded before it is sent.
      rec.status = req.headers.has("Sec-WebSocket-Key") && header_has_token(req.headers, "Upgrade", "websocket") ? 101 : 400;
      {
        std::lock_guard<std::mutex> lock(mu);
        if (recorded.size() < options->max_recorded) recorded.push_back(rec);
      }
      int status = 0;
      serve_websocket(*stream, reader, req, status);
      took_over = true;
    } else if (req.path == "/upload") {
      // Streamed: counted and hashed, never held, so gigabyte uploads cost no memory.
      Sha256 sha;
      uint64_t count = 0;
      Status s = read_body(reader, *framing, UINT64_MAX, [&](std::string_view piece) {
        sha.update(piece);
        count += piece.size();
        return Status::Ok();
      });
      if (!s.ok()) break;
      std::string digest = sha.hex_digest();
      rec.body_size = count;
      rec.body_sha256 = digest;
      resp = json_response(200, {{"bytes", count}, {"sha256", digest}});
    } else {
      auto body = read_body_string(reader, *framing, options->max_buffered_body);
      if (!body.ok()) {
        if (body.status().code() == Status::Code::kLimit) {
          auto r = text_response(413, "body too large for the fake server\n");
          r.close = true;
          write_response(*stream, req, r);
        }
        break;
      }
      req.body = std::move(body.value());
      rec.body_size = req.body.size();
      rec.body_sha256 = sha256_hex_of(req.body);
      rec.body = req.body.substr(0, options->recorded_body_bytes);
      std::optional<ServerResponse> routed;
      try {
        routed = route_plumbing(*this, req);
        bool arm_host = req.host == "management.azure.com" || req.host == "management.core.windows.net";
        bool graph_host = req.host == "graph.microsoft.com";
        bool arm_path = req.path.rfind("/subscriptions", 0) == 0 || req.path.rfind("/providers", 0) == 0 ||
                        req.path == "/tenants";
        bool graph_path = req.path.rfind("/v1.0/", 0) == 0 || req.path.rfind("/beta/", 0) == 0;
        if (!routed && (arm_host || (!graph_host && arm_path))) routed = route_arm(*this, req);
        if (!routed && (graph_host || graph_path)) routed = route_graph(*this, req);
        if (!routed && !arm_host && !graph_host) routed = route_login(*this, req);
      } catch (const std::exception& e) {
        routed = json_response(500, {{"error", "internal"}, {"error_description", e.what()}});
      }
      if (!routed) {
        routed = json_response(404, {{"error", {{"code", "NotFound"}, {"message", "no fake route for " + req.method + " " + req.path + " on " + req.host}}}});
      }
      resp = std::move(*routed);
    }
    if (!took_over) {
      if (resp.delay_ms > 0 && !sleep_interruptible(resp.delay_ms)) break;
      if (resp.reset || resp.raw) {
        rec.status = resp.reset ? -1 : 0;  // no well-formed response was sent
        {
          std::lock_guard<std::mutex> lock(mu);
          if (recorded.size() < options->max_recorded) recorded.push_back(std::move(rec));
        }
        if (resp.raw) {
          (void)stream->write(*resp.raw);
          break;
        }
        // SO_LINGER with a zero timeout turns close() into a TCP RST.
        linger hard{1, 0};
        ::setsockopt(fd, SOL_SOCKET, SO_LINGER, &hard, sizeof hard);
        {
          std::lock_guard<std::mutex> lock(mu);
          conn->fd = -1;
        }
        stream.reset();
        conn->done = true;
        return;
      }
      if (!keep_alive) resp.close = true;
      rec.status = resp.status;
      {
        // Recorded before the response goes out: a client holding its response must find its
        // request in requests() (recording after the write raced with fast assertions).
        std::lock_guard<std::mutex> lock(mu);
        if (recorded.size() < options->max_recorded) recorded.push_back(std::move(rec));
      }
      Status s = write_response(*stream, req, resp);
      if (!s.ok() || resp.close || resp.framing == ServerResponse::Body::kUntilClose) break;
    } else {
      break;  // /ws: recorded above
    }
  }
  stream->shutdown_write();
  {
    std::lock_guard<std::mutex> lock(mu);
    conn->fd = -1;
  }
  stream.reset();  // closes fd
  conn->done = true;
}

}  // namespace authscope::testkit
