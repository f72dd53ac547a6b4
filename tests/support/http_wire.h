// Blocking HTTP/1.1 wire helpers shared by the fake server and the test client: a byte stream
// over a socket (plain or OpenSSL), a buffered reader with bounded reads, head parsing and body
// framing (RFC 9112 §6). Internal to the testkit; every read is bounded in size and (through
// SO_RCVTIMEO on the socket) in time.
#pragma once

#include <openssl/ssl.h>

#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <string_view>

#include "model/headers.h"
#include "model/status.h"

namespace authscope::testkit {

class WireStream {
 public:
  virtual ~WireStream() = default;
  // Reads up to n bytes; 0 means orderly end of stream. Timeouts and resets are errors.
  virtual Result<size_t> read(char* buf, size_t n) = 0;
  virtual Status write(std::string_view bytes) = 0;
  // Half-close our sending side (TLS: close_notify, then TCP FIN).
  virtual void shutdown_write() = 0;
  virtual int fd() const = 0;
};

// Takes ownership of fd (closed by the destructor).
std::unique_ptr<WireStream> make_fd_stream(int fd);
// Takes ownership of ssl (freed) and fd (closed). The handshake must already be done.
std::unique_ptr<WireStream> make_ssl_stream(SSL* ssl, int fd);

// OpenSSL writes to sockets with write(2), which raises SIGPIPE on a peer that has gone; tests must
// see an error instead. Sets SIGPIPE to SIG_IGN for the process (once; idempotent).
void ignore_sigpipe();

// Sets SO_RCVTIMEO and SO_SNDTIMEO.
void set_socket_timeouts(int fd, int timeout_ms);
std::string last_ssl_error(const char* what);

class BufferedReader {
 public:
  explicit BufferedReader(WireStream& stream) : stream_(stream) {}
  // Returns the head up to and including the blank line; Limit when it exceeds max bytes; NotFound
  // (message "eof") when the stream ended cleanly before any byte of a new head.
  Result<std::string> read_head(size_t max);
  Result<std::string> read_line(size_t max);  // without CRLF
  Result<std::string> read_exact(size_t n);
  // Whatever is buffered, else one read (up to max). "" means end of stream.
  Result<std::string> read_some(size_t max);
  size_t buffered() const { return buf_.size() - pos_; }

 private:
  Status fill();
  WireStream& stream_;
  std::string buf_;
  size_t pos_ = 0;
  bool eof_ = false;
};

struct MessageHead {
  std::string first, second, third;  // request: method target version; response: version status reason
  Headers headers;
};
Result<MessageHead> parse_head(const std::string& head);

enum class BodyFraming { kNone, kLength, kChunked, kUntilClose };
struct Framing {
  BodyFraming kind = BodyFraming::kNone;
  uint64_t length = 0;
};
// RFC 9112 §6.3 for a request (no body unless Content-Length or Transfer-Encoding).
Result<Framing> request_framing(const Headers& headers);
// RFC 9112 §6.3 for a response to `method` with `status`.
Result<Framing> response_framing(const std::string& method, int status, const Headers& headers);

// Streams a body to sink in pieces (chunked is decoded; trailers are read and dropped).
// Stops with Limit after max_total bytes.
Status read_body(BufferedReader& reader, const Framing& framing, uint64_t max_total,
                 const std::function<Status(std::string_view)>& sink);
Result<std::string> read_body_string(BufferedReader& reader, const Framing& framing, uint64_t max_total);

std::string lower(std::string_view s);
bool header_has_token(const Headers& headers, std::string_view name, std::string_view token);

}  // namespace authscope::testkit
