// Which host names may be put in a minted certificate or used for upstream verification.
// The proxy never mints a leaf from a name a client controls byte for byte (issue 7: "Never
// mint a leaf from an invalid name (NUL, CRLF, `*`, over 253 bytes)").
#pragma once

#include <string>

#include "model/status.h"

namespace authscope {

// True when `host` may appear in a certificate: a DNS name of at most 253 bytes made of
// labels of 1..63 letters, digits, '-' and '_' (no leading/trailing '-', no empty label; one
// trailing dot allowed), or an IPv4/IPv6 literal (IPv6 with or without brackets);
// never '*', NUL, CR, LF or spaces.
bool valid_certificate_name(const std::string& host);
// The same check, with the reason when it fails ("certificate name contains '*'", ...).
Status check_certificate_name(const std::string& host);

// True for an IPv4 or IPv6 literal ("10.0.0.1", "::1", "[::1]").
bool is_ip_literal(const std::string& host);

// The canonical form used in certificates, SNI and cache keys: brackets of an IPv6 literal and
// one trailing dot removed, ASCII lower case. Assumes valid_certificate_name(host).
std::string certificate_host(const std::string& host);

}  // namespace authscope
