// Request-target parsing for a forward proxy (RFC 9112 §3.2): the authority-form of CONNECT and
// the absolute-form of plain-http proxy requests. Pure functions; failures are Status::Parse with
// a reason a user can read ("port out of range: 70000").
#pragma once

#include <cstdint>
#include <string>
#include <string_view>

#include "model/status.h"

namespace authscope::http {

struct Authority {
  std::string host;   // lower-cased reg-name, dotted IPv4, or IPv6 *without* brackets
  uint16_t port = 0;
  bool ipv6 = false;

  // "host:port", IPv6 in brackets: what goes into a Host field or a log line.
  std::string to_string() const;
  // "host" or "[v6]" (no port): the Host value when the port is the scheme default.
  std::string host_for_header() const;
};

// CONNECT authority-form "host:port" (RFC 9112 §3.2.3: "authority-form = uri-host ':' port").
// Refused: missing or non-numeric port, port 0 or > 65535, userinfo ("user@host:443"), any path,
// query or fragment, empty host, invalid host characters, hosts over 253 bytes.
Result<Authority> parse_connect_authority(std::string_view target);

struct AbsoluteUri {
  Authority authority;          // port defaults to 80
  bool port_explicit = false;   // the URI named the port
  std::string path_and_query;   // origin-form for upstream: "/" when the URI had no path
  bool had_userinfo = false;    // "http://user:pw@host/" — the userinfo is dropped, never forwarded

  // Host field value for upstream (RFC 9112 §3.2.2: the Host is the target URI's authority,
  // without userinfo; port omitted when it is the default 80 and was not written).
  std::string host_header() const;
};

// Absolute-form "http://host[:port][/path][?query]" (RFC 9112 §3.2.2). Only the http scheme is
// accepted (https arrives as CONNECT); the fragment is dropped (RFC 9110 §4.2.5: never sent).
Result<AbsoluteUri> parse_absolute_uri(std::string_view target);

// A Host field value (RFC 9110 §7.2: Host = uri-host [ ":" port ]): port optional (defaults to
// `default_port`), no userinfo, no path. An empty value is valid only where the target has no
// authority; callers decide.
Result<Authority> parse_host_header(std::string_view value, uint16_t default_port);

enum class TargetForm { kOrigin, kAbsolute, kAuthority, kAsterisk, kInvalid };
// Which of the four forms of RFC 9112 §3.2 `target` is, given the request method.
TargetForm classify_target(std::string_view method, std::string_view target);

// A DNS name (labels of letters, digits, '-' and '_', 1-63 bytes each, total <= 253, an optional
// trailing dot) or a dotted-quad IPv4 address. No NUL, CR, LF, '*', '%' or spaces.
bool is_valid_host(std::string_view host);
// The contents of "[...]" of an IPv6 literal (hex, ':' and an optional trailing dotted quad).
bool is_valid_ipv6(std::string_view host);

}  // namespace authscope::http
