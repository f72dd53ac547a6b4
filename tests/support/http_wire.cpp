#include "tests/support/http_wire.h"

#include <sys/socket.h>
#include <sys/time.h>
#include <unistd.h>

#include <openssl/err.h>

#include <csignal>
#include <cerrno>
#include <cstring>

namespace authscope::testkit {
namespace {

class FdStream final : public WireStream {
 public:
  explicit FdStream(int fd) : fd_(fd) {}
  ~FdStream() override { ::close(fd_); }
  Result<size_t> read(char* buf, size_t n) override {
    for (;;) {
      ssize_t r = ::recv(fd_, buf, n, 0);
      if (r >= 0) return static_cast<size_t>(r);
      if (errno == EINTR) continue;
      if (errno == EAGAIN || errno == EWOULDBLOCK) return Status::Io("read timed out");
      return Status::Io(std::string("read failed: ") + std::strerror(errno));
    }
  }
  Status write(std::string_view bytes) override {
    size_t off = 0;
    while (off < bytes.size()) {
      ssize_t w = ::send(fd_, bytes.data() + off, bytes.size() - off, MSG_NOSIGNAL);
      if (w < 0 && errno == EINTR) continue;
      if (w < 0) return Status::Io(std::string("write failed: ") + std::strerror(errno));
      off += static_cast<size_t>(w);
    }
    return Status::Ok();
  }
  void shutdown_write() override { ::shutdown(fd_, SHUT_WR); }
  int fd() const override { return fd_; }

 private:
  int fd_;
};

class SslStream final : public WireStream {
 public:
  SslStream(SSL* ssl, int fd) : ssl_(ssl), fd_(fd) {}
  ~SslStream() override {
    SSL_free(ssl_);
    ::close(fd_);
  }
  Result<size_t> read(char* buf, size_t n) override {
    ERR_clear_error();
    size_t got = 0;
    int r = SSL_read_ex(ssl_, buf, n, &got);
    if (r == 1) return got;
    int err = SSL_get_error(ssl_, r);
    if (err == SSL_ERROR_ZERO_RETURN) return size_t{0};
    if (err == SSL_ERROR_SYSCALL) {
      if (errno == EAGAIN || errno == EWOULDBLOCK) return Status::Io("read timed out");
      // A peer that closes TCP without close_notify: treat as end of stream (many HTTP/1.1
      // clients do this; RFC 9112 §9.8 leaves it to the application).
      if (ERR_peek_error() == 0) return size_t{0};
    }
    if (err == SSL_ERROR_SSL) {
      unsigned long e = ERR_peek_error();
      if (ERR_GET_REASON(e) == SSL_R_UNEXPECTED_EOF_WHILE_READING) {
        ERR_clear_error();
        return size_t{0};
      }
    }
    return Status::Tls(last_ssl_error("TLS read failed"));
  }
  Status write(std::string_view bytes) override {
    size_t off = 0;
    while (off < bytes.size()) {
      ERR_clear_error();
      size_t wrote = 0;
      int r = SSL_write_ex(ssl_, bytes.data() + off, bytes.size() - off, &wrote);
      if (r != 1) return Status::Tls(last_ssl_error("TLS write failed"));
      off += wrote;
    }
    return Status::Ok();
  }
  void shutdown_write() override {
    ERR_clear_error();
    SSL_shutdown(ssl_);
    ERR_clear_error();
    ::shutdown(fd_, SHUT_WR);
  }
  int fd() const override { return fd_; }

 private:
  SSL* ssl_;
  int fd_;
};

bool parse_u64(std::string_view s, uint64_t& out, int base) {
  if (s.empty() || s.size() > 16) return false;
  uint64_t v = 0;
  for (char c : s) {
    int d;
    if (c >= '0' && c <= '9') d = c - '0';
    else if (base == 16 && c >= 'a' && c <= 'f') d = c - 'a' + 10;
    else if (base == 16 && c >= 'A' && c <= 'F') d = c - 'A' + 10;
    else return false;
    v = v * static_cast<uint64_t>(base) + static_cast<uint64_t>(d);
  }
  out = v;
  return true;
}

std::string_view trim(std::string_view s) {
  while (!s.empty() && (s.front() == ' ' || s.front() == '\t')) s.remove_prefix(1);
  while (!s.empty() && (s.back() == ' ' || s.back() == '\t')) s.remove_suffix(1);
  return s;
}

}  // namespace

std::unique_ptr<WireStream> make_fd_stream(int fd) { return std::make_unique<FdStream>(fd); }
std::unique_ptr<WireStream> make_ssl_stream(SSL* ssl, int fd) { return std::make_unique<SslStream>(ssl, fd); }

void ignore_sigpipe() {
  static const bool done = [] {
    ::signal(SIGPIPE, SIG_IGN);
    return true;
  }();
  (void)done;
}

void set_socket_timeouts(int fd, int timeout_ms) {
  timeval tv{};
  tv.tv_sec = timeout_ms / 1000;
  tv.tv_usec = (timeout_ms % 1000) * 1000;
  ::setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
  ::setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof tv);
}

std::string last_ssl_error(const char* what) {
  unsigned long e = ERR_get_error();
  std::string out = what;
  if (e) {
    char buf[256];
    ERR_error_string_n(e, buf, sizeof buf);
    out += ": ";
    out += buf;
  } else if (errno) {
    out += ": ";
    out += std::strerror(errno);
  }
  ERR_clear_error();
  return out;
}

Status BufferedReader::fill() {
  if (pos_ > 0 && pos_ == buf_.size()) {
    buf_.clear();
    pos_ = 0;
  } else if (pos_ > 65536) {
    buf_.erase(0, pos_);
    pos_ = 0;
  }
  char tmp[16384];
  auto n = stream_.read(tmp, sizeof tmp);
  if (!n.ok()) return n.status();
  if (*n == 0) {
    eof_ = true;
    return Status::NotFound("eof");
  }
  buf_.append(tmp, *n);
  return Status::Ok();
}

Result<std::string> BufferedReader::read_head(size_t max) {
  // Bytes after pos_ already searched; relative to pos_ because fill() may compact the buffer.
  size_t scanned = 0;
  for (int rounds = 0; rounds < 1 << 20; ++rounds) {
    size_t end = buf_.find("\r\n\r\n", pos_ + (scanned > 3 ? scanned - 3 : 0));
    if (end != std::string::npos) {
      if (end + 4 - pos_ > max) return Status::Limit("message head too large");
      std::string head = buf_.substr(pos_, end + 4 - pos_);
      pos_ = end + 4;
      return head;
    }
    if (buf_.size() - pos_ > max) return Status::Limit("message head too large");
    scanned = buf_.size() - pos_;
    Status s = fill();
    if (!s.ok()) {
      if (s.code() == Status::Code::kNotFound && buffered() != 0) return Status::Parse("eof inside a message head");
      return s;
    }
  }
  return Status::Limit("message head never ended");
}

Result<std::string> BufferedReader::read_line(size_t max) {
  for (int rounds = 0; rounds < 1 << 20; ++rounds) {
    size_t end = buf_.find("\r\n", pos_);
    if (end != std::string::npos) {
      std::string line = buf_.substr(pos_, end - pos_);
      pos_ = end + 2;
      return line;
    }
    if (buf_.size() - pos_ > max) return Status::Limit("line too long");
    Status s = fill();
    if (!s.ok()) return s.code() == Status::Code::kNotFound ? Status::Parse("eof inside a line") : s;
  }
  return Status::Limit("line never ended");
}

Result<std::string> BufferedReader::read_exact(size_t n) {
  while (buffered() < n) {
    Status s = fill();
    if (!s.ok()) return s.code() == Status::Code::kNotFound ? Status::Parse("eof inside a body") : s;
  }
  std::string out = buf_.substr(pos_, n);
  pos_ += n;
  return out;
}

Result<std::string> BufferedReader::read_some(size_t max) {
  if (buffered() == 0) {
    if (eof_) return std::string();
    Status s = fill();
    if (!s.ok()) return s.code() == Status::Code::kNotFound ? Result<std::string>(std::string()) : s;
  }
  size_t n = std::min(max, buffered());
  std::string out = buf_.substr(pos_, n);
  pos_ += n;
  return out;
}

Result<MessageHead> parse_head(const std::string& head) {
  MessageHead h;
  size_t line_end = head.find("\r\n");
  if (line_end == std::string::npos) return Status::Parse("no start line");
  std::string_view start(head.data(), line_end);
  size_t sp1 = start.find(' ');
  if (sp1 == std::string_view::npos) return Status::Parse("bad start line");
  size_t sp2 = start.find(' ', sp1 + 1);
  h.first = std::string(start.substr(0, sp1));
  if (sp2 == std::string_view::npos) {
    h.second = std::string(start.substr(sp1 + 1));
  } else {
    h.second = std::string(start.substr(sp1 + 1, sp2 - sp1 - 1));
    h.third = std::string(start.substr(sp2 + 1));
  }
  size_t pos = line_end + 2;
  for (int fields = 0; pos < head.size() && fields < 1000; ++fields) {
    size_t end = head.find("\r\n", pos);
    if (end == std::string::npos || end == pos) break;
    std::string_view line(head.data() + pos, end - pos);
    size_t colon = line.find(':');
    // RFC 9112 §5.1: "No whitespace is allowed between the field name and colon."
    if (colon == std::string_view::npos || colon == 0 || line[colon - 1] == ' ' || line[colon - 1] == '\t')
      return Status::Parse("bad header line");
    h.headers.add(std::string(line.substr(0, colon)), std::string(trim(line.substr(colon + 1))));
    pos = end + 2;
  }
  return h;
}

Result<Framing> request_framing(const Headers& headers) {
  // RFC 9112 §6.3 (3): "If a message is received with both a Transfer-Encoding and a
  // Content-Length header field, the Transfer-Encoding overrides the Content-Length." We are a
  // test server: refuse the ambiguity instead (a proxy must never send it).
  if (const std::string* te = headers.find("Transfer-Encoding")) {
    if (headers.has("Content-Length")) return Status::Parse("both Transfer-Encoding and Content-Length");
    if (lower(*te) != "chunked") return Status::Parse("unsupported Transfer-Encoding");
    return Framing{BodyFraming::kChunked, 0};
  }
  if (const std::string* cl = headers.find("Content-Length")) {
    uint64_t n = 0;
    if (headers.count("Content-Length") != 1 || !parse_u64(*cl, n, 10)) return Status::Parse("bad Content-Length");
    return Framing{n ? BodyFraming::kLength : BodyFraming::kNone, n};
  }
  // RFC 9112 §6.3 (7): "a request message without Transfer-Encoding or Content-Length has no body"
  return Framing{BodyFraming::kNone, 0};
}

Result<Framing> response_framing(const std::string& method, int status, const Headers& headers) {
  // RFC 9112 §6.3 (1): "Any response to a HEAD request and any response with a 1xx
  // (Informational), 204 (No Content), or 304 (Not Modified) status code is always terminated by
  // the first empty line after the header fields".
  if (method == "HEAD" || (status >= 100 && status < 200) || status == 204 || status == 304)
    return Framing{BodyFraming::kNone, 0};
  if (method == "CONNECT" && status >= 200 && status < 300) return Framing{BodyFraming::kNone, 0};
  if (const std::string* te = headers.find("Transfer-Encoding")) {
    if (lower(*te).find("chunked") != std::string::npos) return Framing{BodyFraming::kChunked, 0};
    return Framing{BodyFraming::kUntilClose, 0};
  }
  if (const std::string* cl = headers.find("Content-Length")) {
    uint64_t n = 0;
    if (!parse_u64(*cl, n, 10)) return Status::Parse("bad Content-Length");
    return Framing{n ? BodyFraming::kLength : BodyFraming::kNone, n};
  }
  // RFC 9112 §6.3 (8): "the message body length is determined by the number of octets received
  // prior to the server closing the connection."
  return Framing{BodyFraming::kUntilClose, 0};
}

Status read_body(BufferedReader& reader, const Framing& framing, uint64_t max_total,
                 const std::function<Status(std::string_view)>& sink) {
  uint64_t total = 0;
  switch (framing.kind) {
    case BodyFraming::kNone:
      return Status::Ok();
    case BodyFraming::kLength: {
      if (framing.length > max_total) return Status::Limit("body too large");
      uint64_t left = framing.length;
      while (left > 0) {
        auto piece = reader.read_some(static_cast<size_t>(std::min<uint64_t>(left, 65536)));
        if (!piece.ok()) return piece.status();
        if (piece->empty()) return Status::Parse("eof inside a body");
        left -= piece->size();
        Status s = sink(*piece);
        if (!s.ok()) return s;
      }
      return Status::Ok();
    }
    case BodyFraming::kChunked: {
      // RFC 9112 §7.1: chunk = chunk-size [ chunk-ext ] CRLF chunk-data CRLF; last-chunk = 1*("0")
      for (int chunks = 0; chunks < 10'000'000; ++chunks) {
        auto line = reader.read_line(4096);
        if (!line.ok()) return line.status();
        std::string_view size_text(*line);
        size_t semi = size_text.find(';');
        if (semi != std::string_view::npos) size_text = size_text.substr(0, semi);
        uint64_t size = 0;
        if (!parse_u64(trim(size_text), size, 16)) return Status::Parse("bad chunk size");
        if (size == 0) {
          for (int t = 0; t < 128; ++t) {  // trailer section, bounded
            auto trailer = reader.read_line(8192);
            if (!trailer.ok()) return trailer.status();
            if (trailer->empty()) return Status::Ok();
          }
          return Status::Limit("too many trailer fields");
        }
        total += size;
        if (total > max_total) return Status::Limit("body too large");
        uint64_t left = size;
        while (left > 0) {
          auto piece = reader.read_some(static_cast<size_t>(std::min<uint64_t>(left, 65536)));
          if (!piece.ok()) return piece.status();
          if (piece->empty()) return Status::Parse("eof inside a chunk");
          left -= piece->size();
          Status s = sink(*piece);
          if (!s.ok()) return s;
        }
        auto crlf = reader.read_exact(2);
        if (!crlf.ok()) return crlf.status();
        if (*crlf != "\r\n") return Status::Parse("missing CRLF after chunk data");
      }
      return Status::Limit("too many chunks");
    }
    case BodyFraming::kUntilClose: {
      for (;;) {
        auto piece = reader.read_some(65536);
        if (!piece.ok()) return piece.status();
        if (piece->empty()) return Status::Ok();
        total += piece->size();
        if (total > max_total) return Status::Limit("body too large");
        Status s = sink(*piece);
        if (!s.ok()) return s;
      }
    }
  }
  return Status::Ok();
}

Result<std::string> read_body_string(BufferedReader& reader, const Framing& framing, uint64_t max_total) {
  std::string out;
  Status s = read_body(reader, framing, max_total, [&](std::string_view piece) {
    out.append(piece);
    return Status::Ok();
  });
  if (!s.ok()) return s;
  return out;
}

std::string lower(std::string_view s) {
  std::string out(s);
  for (char& c : out)
    if (c >= 'A' && c <= 'Z') c = static_cast<char>(c - 'A' + 'a');
  return out;
}

bool header_has_token(const Headers& headers, std::string_view name, std::string_view token) {
  std::string want = lower(token);
  for (const auto& v : headers.all(name)) {
    std::string lv = lower(v);
    size_t pos = 0;
    while (pos <= lv.size()) {
      size_t comma = lv.find(',', pos);
      std::string_view item(lv.data() + pos, (comma == std::string::npos ? lv.size() : comma) - pos);
      if (trim(item) == want) return true;
      if (comma == std::string::npos) break;
      pos = comma + 1;
    }
  }
  return false;
}

}  // namespace authscope::testkit
