#include "proxy/http/authority.h"

#include <arpa/inet.h>

#include <cctype>
#include <string>

namespace authscope::http {
namespace {

std::string lower(std::string_view s) {
  std::string out(s);
  for (char& c : out) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return out;
}

bool all_digits(std::string_view s) {
  if (s.empty()) return false;
  for (char c : s) {
    if (c < '0' || c > '9') return false;
  }
  return true;
}

// RFC 3986 §3.2.3: port = *DIGIT. authscope needs a real TCP port: 1..65535.
Result<uint16_t> parse_port(std::string_view s) {
  if (s.empty()) return Status::Parse("missing port");
  if (!all_digits(s)) return Status::Parse("port is not a number: " + std::string(s.substr(0, 16)));
  if (s.size() > 5) return Status::Parse("port out of range: " + std::string(s.substr(0, 16)));
  unsigned value = 0;
  for (char c : s) value = value * 10 + static_cast<unsigned>(c - '0');
  if (value == 0 || value > 65535) return Status::Parse("port out of range: " + std::string(s));
  return static_cast<uint16_t>(value);
}

// inet_pton reads a C string: an embedded NUL would cut the name short and let
// "127.0.0.1\0junk" pass. Such bytes are refused before any C API sees them.
bool has_nul(std::string_view s) { return s.find('\0') != std::string_view::npos; }

bool is_ipv4(std::string_view host) {
  if (host.size() > 15 || has_nul(host)) return false;
  const std::string s(host);
  in_addr addr{};
  return inet_pton(AF_INET, s.c_str(), &addr) == 1;
}

// Splits "host[:port]" or "[v6][:port]" into an Authority. `port_required` for CONNECT.
Result<Authority> parse_host_port(std::string_view text, bool port_required, uint16_t default_port,
                                  bool* port_explicit) {
  Authority a;
  std::string_view host, port;
  bool has_port = false;
  if (!text.empty() && text.front() == '[') {
    const size_t close = text.find(']');
    if (close == std::string_view::npos) return Status::Parse("unterminated IPv6 literal");
    host = text.substr(1, close - 1);
    std::string_view rest = text.substr(close + 1);
    if (!rest.empty()) {
      if (rest.front() != ':') return Status::Parse("junk after IPv6 literal");
      port = rest.substr(1);
      has_port = true;
    }
    if (!is_valid_ipv6(host)) return Status::Parse("invalid IPv6 address");
    a.ipv6 = true;
  } else {
    const size_t colon = text.rfind(':');
    if (colon != std::string_view::npos) {
      host = text.substr(0, colon);
      port = text.substr(colon + 1);
      has_port = true;
      if (host.find(':') != std::string_view::npos) return Status::Parse("IPv6 address must be in brackets");
    } else {
      host = text;
    }
    if (host.empty()) return Status::Parse("empty host");
    if (!is_valid_host(host)) return Status::Parse("invalid host name");
  }
  if (port_explicit != nullptr) *port_explicit = has_port && !port.empty();
  if (has_port && !port.empty()) {
    auto p = parse_port(port);
    if (!p.ok()) return p.status();
    a.port = *p;
  } else if (port_required) {
    return Status::Parse("missing port (CONNECT needs host:port)");
  } else {
    a.port = default_port;  // RFC 3986 §3.2.3: an empty port means the scheme's default
  }
  a.host = lower(host);
  if (!a.ipv6 && !a.host.empty() && a.host.back() == '.') a.host.pop_back();
  return a;
}

}  // namespace

std::string Authority::host_for_header() const { return ipv6 ? "[" + host + "]" : host; }

std::string Authority::to_string() const { return host_for_header() + ":" + std::to_string(port); }

std::string AbsoluteUri::host_header() const {
  return port_explicit ? authority.to_string() : authority.host_for_header();
}

bool is_valid_ipv6(std::string_view host) {
  // inet_pton is strict RFC 4291 text form: no zone id ("%eth0"), no brackets, no junk.
  if (host.empty() || host.size() > 45 || has_nul(host)) return false;
  const std::string s(host);
  in6_addr addr{};
  return inet_pton(AF_INET6, s.c_str(), &addr) == 1;
}

bool is_valid_host(std::string_view host) {
  if (!host.empty() && host.back() == '.') host.remove_suffix(1);
  // RFC 1035 §2.3.4: names are at most 255 octets on the wire, 253 in text form.
  if (host.empty() || host.size() > 253) return false;
  size_t label_len = 0;
  std::string_view last_label;
  size_t label_start = 0;
  for (size_t i = 0; i <= host.size(); ++i) {
    if (i == host.size() || host[i] == '.') {
      if (label_len == 0 || label_len > 63) return false;
      last_label = host.substr(label_start, label_len);
      if (last_label.front() == '-' || last_label.back() == '-') return false;
      label_len = 0;
      label_start = i + 1;
      continue;
    }
    const unsigned char c = static_cast<unsigned char>(host[i]);
    // Letters, digits, '-' (RFC 1123) and '_' (seen in real service names). Everything else —
    // NUL, CR, LF, '*', '%', '@', spaces, non-ASCII — is refused: such a name must never reach a
    // resolver, a Host field or a minted certificate.
    if (!(std::isalnum(c) || c == '-' || c == '_')) return false;
    ++label_len;
  }
  // WHATWG URL: a name whose last label is numeric is an IPv4 address and must be a valid one
  // (no "1.2.3", "0x7f.1", "999.1.1.1" that resolvers read in surprising ways).
  if (all_digits(last_label)) return is_ipv4(host);
  return true;
}

Result<Authority> parse_connect_authority(std::string_view target) {
  if (target.empty()) return Status::Parse("empty CONNECT target");
  if (target.size() > 260) return Status::Parse("CONNECT target too long");
  // RFC 9112 §3.2.3: authority-form = uri-host ":" port — no userinfo, no path.
  if (target.find('@') != std::string_view::npos) return Status::Parse("userinfo is not allowed in a CONNECT target");
  if (target.find_first_of("/?#") != std::string_view::npos) {
    return Status::Parse("a CONNECT target is host:port, without a path");
  }
  return parse_host_port(target, /*port_required=*/true, 0, nullptr);
}

Result<Authority> parse_host_header(std::string_view value, uint16_t default_port) {
  if (value.empty()) return Status::Parse("empty Host");
  if (value.size() > 260) return Status::Parse("Host too long");
  if (value.find('@') != std::string_view::npos) return Status::Parse("userinfo in Host");
  if (value.find_first_of("/?#") != std::string_view::npos) return Status::Parse("path in Host");
  return parse_host_port(value, /*port_required=*/false, default_port, nullptr);
}

Result<AbsoluteUri> parse_absolute_uri(std::string_view target) {
  const size_t sep = target.find("://");
  if (sep == std::string_view::npos || sep == 0) return Status::Parse("not an absolute URI");
  const std::string scheme = lower(target.substr(0, sep));
  if (scheme != "http") {
    // https is proxied through CONNECT; ftp, ws and the rest are not proxied at all.
    return Status::Parse("scheme '" + scheme.substr(0, 16) + "' is not proxied (only http:// in absolute-form)");
  }
  std::string_view rest = target.substr(sep + 3);
  const size_t auth_end = rest.find_first_of("/?#");
  std::string_view authority = rest.substr(0, auth_end);
  std::string_view path = auth_end == std::string_view::npos ? std::string_view() : rest.substr(auth_end);

  AbsoluteUri uri;
  // RFC 9110 §4.2.4: "A sender MUST NOT generate the userinfo subcomponent (and its "@"
  // delimiter) when an "http" or "https" URI reference is generated within a message as a target
  // URI or field value." It is dropped here and never forwarded.
  const size_t at = authority.rfind('@');
  if (at != std::string_view::npos) {
    uri.had_userinfo = true;
    authority = authority.substr(at + 1);
  }
  if (authority.empty()) return Status::Parse("absolute URI without a host");
  auto a = parse_host_port(authority, /*port_required=*/false, 80, &uri.port_explicit);
  if (!a.ok()) return a.status();
  uri.authority = std::move(*a);

  // RFC 9110 §4.2.5: the fragment is for the user agent; never sent.
  const size_t hash = path.find('#');
  if (hash != std::string_view::npos) path = path.substr(0, hash);
  for (char c : path) {
    const unsigned char u = static_cast<unsigned char>(c);
    if (u <= 0x20 || u == 0x7f) return Status::Parse("control byte or space in the URI path");
  }
  if (path.empty() || path.front() != '/') {
    uri.path_and_query = "/";  // RFC 9112 §3.2.1: an empty path is sent as "/"
    uri.path_and_query += path;
  } else {
    uri.path_and_query = std::string(path);
  }
  return uri;
}

TargetForm classify_target(std::string_view method, std::string_view target) {
  if (target.empty()) return TargetForm::kInvalid;
  if (method == "CONNECT") {
    return target.front() == '/' || target.find("://") != std::string_view::npos ? TargetForm::kInvalid
                                                                                   : TargetForm::kAuthority;
  }
  if (target == "*") return method == "OPTIONS" ? TargetForm::kAsterisk : TargetForm::kInvalid;
  if (target.front() == '/') return TargetForm::kOrigin;
  // RFC 3986 §3.1: scheme = ALPHA *( ALPHA / DIGIT / "+" / "-" / "." ), then "://" for http(s).
  const size_t sep = target.find("://");
  if (sep == std::string_view::npos || sep == 0) return TargetForm::kInvalid;
  if (!std::isalpha(static_cast<unsigned char>(target[0]))) return TargetForm::kInvalid;
  for (size_t i = 1; i < sep; ++i) {
    const unsigned char c = static_cast<unsigned char>(target[i]);
    if (!(std::isalnum(c) || c == '+' || c == '-' || c == '.')) return TargetForm::kInvalid;
  }
  return TargetForm::kAbsolute;
}

}  // namespace authscope::http
