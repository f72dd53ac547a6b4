// What authscope writes: heads re-framed for the next hop, chunk encoding, and its own error
// responses. authscope never forwards the peer's framing bytes: it parses a message, then writes
// a fresh head whose Content-Length / Transfer-Encoding matches the body it will write (issue 7:
// "what goes upstream is re-framed by authscope").
#pragma once

#include <string>
#include <string_view>

#include "model/headers.h"
#include "proxy/http/http_parser.h"

namespace authscope::http {

// RFC 9110 §7.6.1: "Intermediaries MUST parse a received Connection header field before a message
// is forwarded and, for each connection-option in this field, remove any header or trailer field(s)
// from the message with the same name as the connection-option, and then remove the Connection
// header field itself". Removes Connection and everything it names, Proxy-Connection,
// Proxy-Authorization, Proxy-Authenticate, Keep-Alive, TE, Trailer, Transfer-Encoding,
// Content-Length (the serializer writes its own framing) and Upgrade. With keep_websocket,
// `Upgrade: websocket` and `Connection: upgrade` are written back (the session hands the
// connection to a tunnel after 101).
void strip_hop_by_hop(Headers& headers, bool keep_websocket);

// How the writer must frame the body it writes after a head from this file.
enum class BodyWriting {
  kNone,      // write no body
  kIdentity,  // write the body bytes as they come (Content-Length set, or until close)
  kChunked,   // wrap each span with append_chunk() and end with append_last_chunk()
};

struct SerializedHead {
  std::string bytes;
  BodyWriting body = BodyWriting::kNone;
  bool close_after = false;  // the connection must be closed after this message
};

struct UpstreamRequest {
  std::string_view path;       // origin-form target ("/a?b"); "*" for OPTIONS *
  std::string_view host;       // Host value (AbsoluteUri::host_header() or the client's Host)
  bool keep_websocket = false; // forwarding a websocket upgrade request
};

// The request head towards the upstream: "METHOD path HTTP/1.1", Host first, the client's other
// end-to-end fields in order, then framing from head.framing (Content-Length: N or
// Transfer-Encoding: chunked). Always HTTP/1.1; the connection is kept alive by default.
SerializedHead serialize_request_head(const MessageHead& head, const UpstreamRequest& target);

struct ClientResponse {
  std::string_view request_method;  // "HEAD" responses keep the upstream Content-Length, no body
  std::string_view client_version;  // "HTTP/1.1" or "HTTP/1.0": chunked only to 1.1 clients
  bool keep_alive = true;           // the session's decision; false => "Connection: close"
  bool keep_websocket = false;      // a 101 to a websocket upgrade
};

// The response head towards the client: "HTTP/1.1 status reason". Framing: Content-Length when
// the upstream gave one; a chunked or until-close upstream body is sent chunked to an HTTP/1.1
// client, or until close to an HTTP/1.0 one (close_after). 1xx/204/304 and HEAD responses carry
// no body (HEAD and 304 keep the upstream's Content-Length, RFC 9110 §8.6).
SerializedHead serialize_response_head(const MessageHead& head, const ClientResponse& options);

// RFC 9112 §7.1: chunk = chunk-size [ chunk-ext ] CRLF chunk-data CRLF. Empty data appends
// nothing (a zero-size chunk would end the body).
void append_chunk(std::string& out, std::string_view data);
// last-chunk = 1*("0") [ chunk-ext ] CRLF, then an empty trailer section and CRLF.
void append_last_chunk(std::string& out);

// A complete response written by authscope itself: a text/plain body
// "authscope: <reason_text>\n", Content-Length, Cache-Control: no-store and, with close,
// "Connection: close". 407 adds `Proxy-Authenticate: Basic realm="authscope"`.
std::string error_response(int status, std::string_view reason_text, bool close);

// "Bad Request", "Bad Gateway", ... ("Unknown" for codes authscope never sends).
std::string_view reason_phrase(int status);

}  // namespace authscope::http
