// `--intercept GLOB` matching: which hosts authscope decrypts (the rest are tunnelled untouched).
// Case-insensitive (RFC 4343), a trailing dot on either side is ignored ("example.com." is
// "example.com"), and '*' matches any run of characters, dots included, so "*.microsoft.com"
// matches "a.b.microsoft.com" but not "microsoft.com", and "*" matches every host. No other
// metacharacters: '?' and '[' are literal (never valid in a host anyway). Linear time, no regex.
#pragma once

#include <string>
#include <string_view>
#include <vector>

namespace authscope::http {

bool host_matches_glob(std::string_view glob, std::string_view host);

// A list of globs; a host is intercepted when any glob matches.
class InterceptMatcher {
 public:
  InterceptMatcher() = default;
  explicit InterceptMatcher(std::vector<std::string> globs);
  bool matches(std::string_view host) const;
  const std::vector<std::string>& globs() const { return globs_; }

 private:
  std::vector<std::string> globs_;  // normalised: lower-case, no trailing dot
};

}  // namespace authscope::http
