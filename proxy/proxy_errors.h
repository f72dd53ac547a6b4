// Proxy-level error identities (STYLE.md G.28, h2o's h2o_socket_error_* sentinels). They are
// stored in Flow::error and read by people in `authscope flows`, so each says what happened.
// Framing errors (400/414/431 ...) come from proxy/http/errors.h.
#pragma once

#include <string_view>

namespace authscope {

inline constexpr std::string_view kErrClientClosedMidRequest = "client closed connection mid-request";
inline constexpr std::string_view kErrClientClosedBeforeResponse =
    "client closed connection before the response was complete";
inline constexpr std::string_view kErrClientReset = "client connection error";
inline constexpr std::string_view kErrUpstreamConnect = "upstream connect failed";
inline constexpr std::string_view kErrUpstreamDns = "upstream name resolution failed";
inline constexpr std::string_view kErrUpstreamConnectTimeout = "upstream connect timed out";
inline constexpr std::string_view kErrUpstreamTlsTimeout = "upstream TLS handshake timed out";
inline constexpr std::string_view kErrUpstreamTls = "upstream TLS handshake failed";
inline constexpr std::string_view kErrUpstreamCert = "upstream certificate verify failed";
inline constexpr std::string_view kErrUpstreamClosed = "upstream closed connection before the response was complete";
inline constexpr std::string_view kErrUpstreamReset = "upstream connection error";
inline constexpr std::string_view kErrUpstreamBadResponse = "upstream sent a malformed response";
inline constexpr std::string_view kErrUpstreamResponseTimeout = "upstream did not answer in time";
inline constexpr std::string_view kErrClientTls = "client TLS handshake failed";
inline constexpr std::string_view kErrClientTlsTimeout = "client TLS handshake timed out";
inline constexpr std::string_view kErrClientRejectedCert = "client rejected the authscope certificate";
inline constexpr std::string_view kErrRequestHeadTimeout = "request head not received in time";
inline constexpr std::string_view kErrBodyIdleTimeout = "request body stalled (idle timeout)";
inline constexpr std::string_view kErrLoop = "request aimed at the proxy itself (loop refused)";
inline constexpr std::string_view kErrProxyAuth = "proxy authentication required";
inline constexpr std::string_view kErrBadConnect = "bad CONNECT target";
inline constexpr std::string_view kErrBadTarget = "bad request target";
// issue 7 item 4: the intercept decision is made on the CONNECT host; a ClientHello whose SNI
// names another host is refused with a TLS alert rather than a way around capture.
inline constexpr std::string_view kErrSniMismatch = "SNI does not match CONNECT host";
// Through a tunnel, a TLS handshake record whose ClientHello cannot be judged (malformed, or
// beyond kMaxClientHelloBytes) is refused too: screening fails closed.
inline constexpr std::string_view kErrClientHelloUnscreened = "ClientHello could not be screened";
inline constexpr std::string_view kErrMintFailed = "cannot mint a certificate for the host";
inline constexpr std::string_view kErrShutdown = "proxy shutting down";
inline constexpr std::string_view kErrTooManyConnections = "too many client connections";

// What each client family needs to trust the authscope CA: appended to a client alert during
// the handshake, the most common failure users hit (issue 2 item 2).
inline constexpr std::string_view kTrustHint =
    "point the client at the CA — curl: --cacert/CURL_CA_BUNDLE, Python: REQUESTS_CA_BUNDLE, "
    "Go/Terraform: SSL_CERT_FILE, Node: NODE_EXTRA_CA_CERTS; see `authscope env`";

}  // namespace authscope
