// Peeking at a TLS ClientHello before any TLS state exists (mitmproxy's ClientHello peek):
// the proxy can match the SNI against --intercept and notice an SNI that names another host
// than the CONNECT target, without an SSL object. Sans-io: bytes in, a verdict out; the bytes
// stay the caller's, to be fed to a TlsEngine (or a tunnel) afterwards.
#pragma once

#include <cstddef>
#include <string>
#include <vector>

namespace authscope {

struct ClientHelloInfo {
  std::string sni;                // the host_name entry of server_name, "" when absent
  std::vector<std::string> alpn;  // protocols the client offers, in its order
};

enum class ClientHelloPeek {
  kOk,         // `info` is filled
  kNeedMore,   // a prefix of a plausible ClientHello: wait for more bytes
  kNotTls,     // the first byte(s) are not a TLS handshake record (plain HTTP, SSLv2, ...)
  kMalformed,  // a TLS handshake record whose ClientHello does not parse (or exceeds the cap)
};

// Examines the start of a client's byte stream. Reassembles a ClientHello split across
// handshake records, up to kMaxClientHelloBytes.
inline constexpr size_t kMaxClientHelloBytes = 64 * 1024;
ClientHelloPeek peek_client_hello(const char* data, size_t len, ClientHelloInfo* info);

}  // namespace authscope
