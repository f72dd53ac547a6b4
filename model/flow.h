// Flow: the one vocabulary type between proxy, storage, analyzers and reports.
//
// A Flow is one HTTP exchange (kind Http) seen by the proxy or imported from HAR, or one
// CONNECT tunnel that was passed through without decryption (kind Tunnel: host, port, byte
// counts and duration only). Bodies are raw bytes exactly as on the wire (Content-Encoding
// left as sent); an *absent* body (no body in the message) is distinct from an *empty* one.
#pragma once

#include <cstdint>
#include <optional>
#include <string>

#include "model/flow_annotations.h"
#include "model/headers.h"

namespace authscope {

enum class FlowKind { kHttp, kTunnel };
const char* to_string(FlowKind kind);
std::optional<FlowKind> flow_kind_from_string(std::string_view s);

struct Body {
  std::optional<std::string> data;  // nullopt: the message had no body. "" : an empty body.
  bool truncated = false;           // data holds only the first capture-limit bytes
  uint64_t wire_size = 0;           // bytes of body seen on the wire (after de-chunking)

  bool present() const { return data.has_value(); }
};

struct Request {
  std::string method;   // "GET", "CONNECT", ...
  std::string target;   // as sent by the client: origin-form "/a?b", absolute-form, or authority
  std::string version;  // "HTTP/1.1"
  Headers headers;
  Body body;
};

struct Response {
  int status = 0;
  std::string reason;
  std::string version;
  Headers headers;
  Body body;
};

struct TlsInfo {
  std::string sni;                    // server name the client asked for (ClientHello)
  std::string client_version;         // TLS version negotiated with the client, e.g. "TLSv1.3"
  std::string client_cipher;
  std::string alpn;                   // protocol agreed with the client ("http/1.1" or empty)
  std::string upstream_version;
  std::string upstream_cipher;
  std::string upstream_cert_subject;  // leaf certificate of the real upstream
  std::string upstream_cert_issuer;
  std::string upstream_verify;        // "ok" or the verification error text
  std::string client_alert;           // TLS alert the client sent during the handshake, if any

  bool operator==(const TlsInfo&) const = default;
};

// Timestamps are microseconds since the Unix epoch (UTC). 0 means "did not happen".
struct FlowTimes {
  int64_t start_us = 0;           // client connection/request began
  int64_t request_end_us = 0;     // last byte of the request received
  int64_t response_start_us = 0;  // first byte of the response received
  int64_t end_us = 0;             // exchange complete (or failed)
};

struct Flow {
  int64_t id = 0;  // increasing; assigned by the store when 0
  FlowKind kind = FlowKind::kHttp;

  std::string client_addr;     // "127.0.0.1:53122"
  uint64_t connection_id = 0;  // client connection number within one proxy run (groups flows)
  std::string scheme;          // "http" or "https" (tunnels: "tunnel")
  std::string host;            // target host as the client named it (no brackets for IPv6)
  uint16_t port = 0;

  FlowTimes times;
  std::optional<TlsInfo> tls;

  Request request;
  std::optional<Response> response;
  std::optional<std::string> error;  // why the exchange failed, if it did (kErr* constants)

  // Bytes on the wire in each direction (for tunnels the only content recorded).
  uint64_t bytes_from_client = 0;
  uint64_t bytes_from_upstream = 0;

  // Class and decoded tokens as the store keeps them (model/flow_annotations.h). Set by the
  // store's annotate hook or read back from a store; nullopt when nobody computed them.
  std::optional<FlowAnnotations> annotations;

  // The URL a person would read: scheme://host[:port]target-path (origin-form targets are
  // completed with scheme, host and port; absolute-form targets are returned as sent).
  std::string url() const;
  // Path and query of the request target (origin-form), whatever form the client used.
  std::string path_and_query() const;
  int64_t duration_us() const { return times.end_us > times.start_us ? times.end_us - times.start_us : 0; }
};

// Current wall-clock time in microseconds since the epoch (the proxy stamps flows with it;
// analyzers never call it: their "now" is a flow timestamp).
int64_t now_us();

}  // namespace authscope
