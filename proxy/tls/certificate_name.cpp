#include "proxy/tls/certificate_name.h"

#include <arpa/inet.h>

#include <cstddef>
#include <string_view>

namespace authscope {
namespace {

// RFC 1035 §2.3.4: "labels 63 octets or less", "names 255 octets or less" (253 in text form
// without the trailing dot, since the wire form adds a length byte per label and a root byte).
constexpr size_t kMaxNameBytes = 253;
constexpr size_t kMaxLabelBytes = 63;

std::string_view unbracket(std::string_view host) {
  if (host.size() >= 2 && host.front() == '[' && host.back() == ']') return host.substr(1, host.size() - 2);
  return host;
}

bool is_ipv4(std::string_view text) {
  std::string s(text);
  in_addr addr{};
  return inet_pton(AF_INET, s.c_str(), &addr) == 1;
}

bool is_ipv6(std::string_view text) {
  std::string s(text);
  in6_addr addr{};
  return inet_pton(AF_INET6, s.c_str(), &addr) == 1;
}

bool is_label_char(char c) {
  return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '-' ||
         c == '_';
}

}  // namespace

bool is_ip_literal(const std::string& host) {
  std::string_view bare = unbracket(host);
  if (bare.size() != host.size()) return is_ipv6(bare);  // brackets only around IPv6
  return is_ipv4(bare) || is_ipv6(bare);
}

Status check_certificate_name(const std::string& host) {
  if (host.empty()) return Status::Invalid("certificate name is empty");
  if (host.size() > kMaxNameBytes + 1) {
    return Status::Invalid("certificate name is longer than 253 bytes");
  }
  for (char c : host) {
    if (c == '\0') return Status::Invalid("certificate name contains a NUL byte");
    if (c == '\r' || c == '\n') return Status::Invalid("certificate name contains CR or LF");
    if (c == '*') return Status::Invalid("certificate name contains '*' (wildcards are never minted)");
    if (c == ' ' || c == '\t') return Status::Invalid("certificate name contains white space");
  }
  if (is_ip_literal(host)) return Status::Ok();

  std::string_view name(host);
  if (name.back() == '.') name.remove_suffix(1);  // one trailing dot: the root, allowed
  if (name.empty()) return Status::Invalid("certificate name is empty");
  if (name.size() > kMaxNameBytes) return Status::Invalid("certificate name is longer than 253 bytes");
  size_t start = 0;
  while (start <= name.size()) {
    size_t end = name.find('.', start);
    if (end == std::string_view::npos) end = name.size();
    std::string_view label = name.substr(start, end - start);
    if (label.empty()) return Status::Invalid("certificate name has an empty label");
    if (label.size() > kMaxLabelBytes) {
      return Status::Invalid("certificate name has a label longer than 63 bytes");
    }
    if (label.front() == '-' || label.back() == '-') {
      return Status::Invalid("certificate name has a label starting or ending with '-'");
    }
    for (char c : label) {
      if (!is_label_char(c)) {
        return Status::Invalid("certificate name contains a character outside letters, digits, '-', '_' and '.'");
      }
    }
    start = end + 1;
  }
  return Status::Ok();
}

bool valid_certificate_name(const std::string& host) { return check_certificate_name(host).ok(); }

std::string certificate_host(const std::string& host) {
  std::string out(unbracket(host));
  if (!out.empty() && out.back() == '.' && !is_ip_literal(host)) out.pop_back();
  for (char& c : out) {
    if (c >= 'A' && c <= 'Z') c = static_cast<char>(c - 'A' + 'a');
  }
  return out;
}

}  // namespace authscope
