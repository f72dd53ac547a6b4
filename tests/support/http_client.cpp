#include "tests/support/http_client.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <sys/socket.h>
#include <unistd.h>

#include <openssl/err.h>
#include <openssl/ssl.h>
#include <openssl/x509v3.h>

#include <cctype>
#include <cstring>

#include "tests/support/http_wire.h"

namespace authscope::testkit {
namespace {

bool is_ip(const std::string& s) {
  unsigned char buf[16];
  return inet_pton(AF_INET, s.c_str(), buf) == 1 || inet_pton(AF_INET6, s.c_str(), buf) == 1;
}

Result<int> tcp_connect(const std::string& address, uint16_t port, int timeout_ms) {
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_port = htons(port);
  if (inet_pton(AF_INET, address.c_str(), &addr.sin_addr) != 1)
    return Status::Invalid("connect address must be IPv4: " + address);
  int fd = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  if (fd < 0) return Status::Io(std::string("socket: ") + std::strerror(errno));
  set_socket_timeouts(fd, timeout_ms);  // SO_SNDTIMEO bounds connect() too (Linux)
  if (::connect(fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr) != 0) {
    std::string err = std::strerror(errno);
    ::close(fd);
    return Status::Io("connect " + address + ":" + std::to_string(port) + ": " + err);
  }
  int one = 1;
  ::setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
  return fd;
}

Result<std::pair<std::string, uint16_t>> split_host_port(const std::string& s) {
  size_t colon = s.rfind(':');
  if (colon == std::string::npos) return Status::Invalid("expected HOST:PORT, got " + s);
  int port = std::atoi(s.c_str() + colon + 1);
  if (port <= 0 || port > 65535) return Status::Invalid("bad port in " + s);
  return std::make_pair(s.substr(0, colon), static_cast<uint16_t>(port));
}

}  // namespace

struct HttpClientConnection::Impl {
  ClientTarget target;
  std::unique_ptr<WireStream> stream;
  std::unique_ptr<BufferedReader> reader;
  SSL* ssl = nullptr;  // owned by stream once wrapped
  bool absolute_form = false;
};

HttpClientConnection::~HttpClientConnection() = default;

Result<std::unique_ptr<HttpClientConnection>> HttpClientConnection::open(const ClientTarget& target) {
  ignore_sigpipe();
  std::unique_ptr<HttpClientConnection> conn(new HttpClientConnection());
  conn->impl_ = std::make_unique<Impl>();
  Impl& impl = *conn->impl_;
  impl.target = target;
  std::string authority = target.host + ":" + std::to_string(target.port);

  int fd;
  if (!target.proxy.empty()) {
    auto hp = split_host_port(target.proxy);
    if (!hp.ok()) return hp.status();
    auto c = tcp_connect(hp->first, hp->second, target.timeout_ms);
    if (!c.ok()) return c.status();
    fd = *c;
  } else {
    auto c = tcp_connect(target.connect_address, target.connect_port ? target.connect_port : target.port,
                         target.timeout_ms);
    if (!c.ok()) return c.status();
    fd = *c;
  }

  if (!target.proxy.empty() && target.tls) {
    // RFC 9110 §9.3.6: "CONNECT uses a special form of request target, unique to this method,
    // consisting of only the host and port number of the tunnel destination".
    auto plain = make_fd_stream(fd);
    Status s = plain->write("CONNECT " + authority + " HTTP/1.1\r\nHost: " + authority + "\r\n\r\n");
    if (!s.ok()) return s;
    BufferedReader r(*plain);
    auto head = r.read_head(64 * 1024);
    if (!head.ok()) return Status::Io("proxy CONNECT: " + head.status().message());
    auto parsed = parse_head(*head);
    if (!parsed.ok()) return parsed.status();
    if (parsed->second != "200") return Status::Io("proxy CONNECT answered " + parsed->second + " " + parsed->third);
    if (r.buffered() != 0) return Status::Io("proxy sent bytes after the CONNECT response");
    fd = ::dup(fd);  // keep the socket when `plain` closes its copy
    if (fd < 0) return Status::Io("dup failed");
  } else if (!target.proxy.empty()) {
    impl.absolute_form = true;
  }

  if (!target.tls) {
    impl.stream = make_fd_stream(fd);
  } else {
    SSL_CTX* ctx = SSL_CTX_new(TLS_client_method());
    SSL_CTX_set_min_proto_version(ctx, TLS1_2_VERSION);
    if (target.verify) {
      if (target.ca_file.empty() || SSL_CTX_load_verify_locations(ctx, target.ca_file.c_str(), nullptr) != 1) {
        SSL_CTX_free(ctx);
        ::close(fd);
        return Status::Tls(last_ssl_error(("cannot load CA file " + target.ca_file).c_str()));
      }
      SSL_CTX_set_verify(ctx, SSL_VERIFY_PEER, nullptr);
    }
    SSL* ssl = SSL_new(ctx);
    SSL_CTX_free(ctx);  // the SSL holds a reference
    SSL_set_fd(ssl, fd);
    static const unsigned char kAlpn[] = {8, 'h', 't', 't', 'p', '/', '1', '.', '1'};
    SSL_set_alpn_protos(ssl, kAlpn, sizeof kAlpn);
    if (!is_ip(target.host)) SSL_set_tlsext_host_name(ssl, target.host.c_str());
    if (target.verify) {
      X509_VERIFY_PARAM* param = SSL_get0_param(ssl);
      if (is_ip(target.host)) X509_VERIFY_PARAM_set1_ip_asc(param, target.host.c_str());
      else X509_VERIFY_PARAM_set1_host(param, target.host.c_str(), 0);
    }
    ERR_clear_error();
    if (SSL_connect(ssl) != 1) {
      long vr = SSL_get_verify_result(ssl);
      std::string msg = last_ssl_error("TLS handshake failed");
      if (vr != X509_V_OK) msg += std::string(" (verify: ") + X509_verify_cert_error_string(vr) + ")";
      SSL_free(ssl);
      ::close(fd);
      return Status::Tls(msg);
    }
    impl.ssl = ssl;
    impl.stream = make_ssl_stream(ssl, fd);
  }
  impl.reader = std::make_unique<BufferedReader>(*impl.stream);
  return conn;
}

Result<ClientResponse> HttpClientConnection::exchange(const ClientRequest& request) {
  Impl& impl = *impl_;
  std::string authority = impl.target.host;
  if (impl.target.port != (impl.target.tls ? 443 : 80)) authority += ":" + std::to_string(impl.target.port);
  std::string target = impl.absolute_form ? "http://" + authority + request.target : request.target;
  std::string out = request.method + " " + target + " HTTP/1.1\r\n";
  bool has_host = false, has_length = false, has_te = false;
  for (const auto& h : request.headers) {
    if (iequals(h.name, "Host")) has_host = true;
    if (iequals(h.name, "Content-Length")) has_length = true;
    if (iequals(h.name, "Transfer-Encoding")) has_te = true;
    out += h.name + ": " + h.value + "\r\n";
  }
  if (!has_host) out += "Host: " + authority + "\r\n";
  if (!has_length && !has_te && (!request.body.empty() || request.method == "POST" || request.method == "PUT" ||
                                 request.method == "PATCH"))
    out += "Content-Length: " + std::to_string(request.body.size()) + "\r\n";
  out += "\r\n";
  out += request.body;
  Status s = impl.stream->write(out);
  if (!s.ok()) return s;

  for (int interim = 0; interim < 16; ++interim) {
    auto head_text = impl.reader->read_head(256 * 1024);
    if (!head_text.ok()) return head_text.status();
    auto head = parse_head(*head_text);
    if (!head.ok()) return head.status();
    ClientResponse resp;
    resp.status = std::atoi(head->second.c_str());
    resp.reason = head->third;
    resp.headers = std::move(head->headers);
    if (resp.status >= 100 && resp.status < 200 && resp.status != 101) continue;  // 100 Continue etc.
    if (resp.status == 101) return resp;
    auto framing = response_framing(request.method, resp.status, resp.headers);
    if (!framing.ok()) return framing.status();
    auto body = read_body_string(*impl.reader, *framing, impl.target.max_body);
    if (!body.ok()) return body.status();
    resp.body = std::move(body.value());
    resp.closed = framing->kind == BodyFraming::kUntilClose || header_has_token(resp.headers, "Connection", "close");
    return resp;
  }
  return Status::Parse("too many interim responses");
}

Status HttpClientConnection::write_raw(const std::string& bytes) { return impl_->stream->write(bytes); }

Result<std::string> HttpClientConnection::read_some(size_t max) { return impl_->reader->read_some(max); }

std::string HttpClientConnection::peer_subject() const {
  if (!impl_->ssl) return {};
  X509* cert = SSL_get1_peer_certificate(impl_->ssl);
  if (!cert) return {};
  char buf[512];
  X509_NAME_oneline(X509_get_subject_name(cert), buf, sizeof buf);
  X509_free(cert);
  return buf;
}

std::string HttpClientConnection::tls_version() const { return impl_->ssl ? SSL_get_version(impl_->ssl) : ""; }

Result<ClientResponse> http_exchange(const ClientTarget& target, const ClientRequest& request) {
  auto conn = HttpClientConnection::open(target);
  if (!conn.ok()) return conn.status();
  return (*conn)->exchange(request);
}

std::string url_encode(const std::string& text) {
  static const char* hexd = "0123456789ABCDEF";
  std::string out;
  for (unsigned char c : text) {
    // RFC 3986 §2.3 unreserved characters pass as they are.
    if ((c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '-' || c == '.' ||
        c == '_' || c == '~') {
      out += static_cast<char>(c);
    } else {
      out += '%';
      out += hexd[c >> 4];
      out += hexd[c & 15];
    }
  }
  return out;
}

std::string url_decode(const std::string& text) {
  std::string out;
  for (size_t i = 0; i < text.size(); ++i) {
    char c = text[i];
    if (c == '+') {
      out += ' ';  // application/x-www-form-urlencoded
    } else if (c == '%' && i + 2 < text.size() && std::isxdigit(static_cast<unsigned char>(text[i + 1])) &&
               std::isxdigit(static_cast<unsigned char>(text[i + 2]))) {
      out += static_cast<char>(std::stoi(text.substr(i + 1, 2), nullptr, 16));
      i += 2;
    } else {
      out += c;
    }
  }
  return out;
}

std::vector<std::pair<std::string, std::string>> parse_form(const std::string& text) {
  std::vector<std::pair<std::string, std::string>> out;
  size_t pos = 0;
  for (int n = 0; n < 10000 && pos <= text.size(); ++n) {
    size_t amp = text.find('&', pos);
    std::string item = text.substr(pos, amp == std::string::npos ? std::string::npos : amp - pos);
    if (!item.empty()) {
      size_t eq = item.find('=');
      if (eq == std::string::npos) out.emplace_back(url_decode(item), "");
      else out.emplace_back(url_decode(item.substr(0, eq)), url_decode(item.substr(eq + 1)));
    }
    if (amp == std::string::npos) break;
    pos = amp + 1;
  }
  return out;
}

std::string form_value(const std::string& text, const std::string& key) {
  for (const auto& [k, v] : parse_form(text))
    if (k == key) return v;
  return {};
}

std::string build_form(const std::vector<std::pair<std::string, std::string>>& fields) {
  std::string out;
  for (const auto& [k, v] : fields) {
    if (!out.empty()) out += '&';
    out += url_encode(k) + "=" + url_encode(v);
  }
  return out;
}

}  // namespace authscope::testkit
