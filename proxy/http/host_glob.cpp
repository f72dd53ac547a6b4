#include "proxy/http/host_glob.h"

#include <cctype>

namespace authscope::http {
namespace {

std::string_view strip_trailing_dot(std::string_view s) {
  if (!s.empty() && s.back() == '.') s.remove_suffix(1);
  return s;
}

char fold(char c) { return static_cast<char>(std::tolower(static_cast<unsigned char>(c))); }

// Both sides already stripped of one trailing dot (normalising twice would let "*.." match
// what "*." does not).
bool match_normalized(std::string_view glob, std::string_view host) {
  if (glob.empty() || host.empty()) return false;
  // Classic wildcard matching with one backtrack point: linear for a single '*', and at most
  // O(|glob| * |host|) with several (both are bounded: host names are <= 253 bytes).
  size_t g = 0, h = 0;
  size_t star = std::string_view::npos, star_h = 0;
  while (h < host.size()) {
    if (g < glob.size() && glob[g] == '*') {
      star = g++;
      star_h = h;
    } else if (g < glob.size() && fold(glob[g]) == fold(host[h])) {
      ++g;
      ++h;
    } else if (star != std::string_view::npos) {
      g = star + 1;
      h = ++star_h;
    } else {
      return false;
    }
  }
  while (g < glob.size() && glob[g] == '*') ++g;
  return g == glob.size();
}

}  // namespace

bool host_matches_glob(std::string_view glob, std::string_view host) {
  return match_normalized(strip_trailing_dot(glob), strip_trailing_dot(host));
}

InterceptMatcher::InterceptMatcher(std::vector<std::string> globs) {
  for (auto& g : globs) {
    std::string n(strip_trailing_dot(g));
    for (char& c : n) c = fold(c);
    if (!n.empty()) globs_.push_back(std::move(n));
  }
}

bool InterceptMatcher::matches(std::string_view host) const {
  for (const auto& g : globs_) {
    if (match_normalized(g, strip_trailing_dot(host))) return true;
  }
  return false;
}

}  // namespace authscope::http
