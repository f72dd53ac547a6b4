// libFuzzer: the CONNECT authority parser, absolute-form URIs, target forms and intercept globs.
// Invariants: anything accepted is a valid host and port, round-trips through its own text form,
// and never carries userinfo, a path or a control byte into a Host field or a minted name.
#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>

#include "proxy/http/authority.h"
#include "proxy/http/host_glob.h"

using namespace authscope;
using namespace authscope::http;

#define FUZZ_CHECK(cond) \
  do {                   \
    if (!(cond)) __builtin_trap(); \
  } while (0)

namespace {

bool clean_host(std::string_view h) {
  if (h.empty() || h.size() > 253) return false;
  for (char c : h) {
    const unsigned char u = static_cast<unsigned char>(c);
    if (u < 0x21 || u >= 0x7f || c == '@' || c == '/' || c == '*' || c == '%' || c == '?' || c == '#') return false;
  }
  return true;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const std::string_view s(reinterpret_cast<const char*>(data), size);

  auto a = parse_connect_authority(s);
  if (a.ok()) {
    FUZZ_CHECK(a->port >= 1);
    FUZZ_CHECK(clean_host(a->host));
    FUZZ_CHECK(a->ipv6 ? is_valid_ipv6(a->host) : is_valid_host(a->host));
    auto again = parse_connect_authority(a->to_string());
    FUZZ_CHECK(again.ok());
    FUZZ_CHECK(again->host == a->host && again->port == a->port && again->ipv6 == a->ipv6);
    FUZZ_CHECK(classify_target("CONNECT", s) == TargetForm::kAuthority);
  } else {
    FUZZ_CHECK(!a.status().message().empty());
  }

  auto u = parse_absolute_uri(s);
  if (u.ok()) {
    FUZZ_CHECK(!u->path_and_query.empty() && u->path_and_query.front() == '/');
    for (char c : u->path_and_query) FUZZ_CHECK(static_cast<unsigned char>(c) > 0x20 && c != 0x7f && c != '#');
    const std::string host = u->host_header();
    FUZZ_CHECK(host.find('@') == std::string::npos);
    FUZZ_CHECK(clean_host(u->authority.host));
    auto again = parse_absolute_uri("http://" + host + u->path_and_query);
    FUZZ_CHECK(again.ok());
    FUZZ_CHECK(again->authority.host == u->authority.host && again->authority.port == u->authority.port);
    FUZZ_CHECK(again->path_and_query == u->path_and_query);
    FUZZ_CHECK(classify_target("GET", s) == TargetForm::kAbsolute);
  }
  (void)classify_target("OPTIONS", s);

  // Globs: "glob\nhost".
  const size_t nl = s.find('\n');
  if (nl != std::string_view::npos) {
    std::string_view glob = s.substr(0, nl), host = s.substr(nl + 1);
    const bool m = host_matches_glob(glob, host);
    std::string_view h = host;
    if (!h.empty() && h.back() == '.') h.remove_suffix(1);
    if (glob == "*" && !h.empty()) FUZZ_CHECK(m);
    if (glob.find('*') == std::string_view::npos) {
      std::string_view g = glob;
      if (!g.empty() && g.back() == '.') g.remove_suffix(1);
      bool eq = g.size() == h.size() && !g.empty();
      for (size_t i = 0; eq && i < g.size(); ++i) {
        eq = (g[i] | 0x20) == (h[i] | 0x20) || g[i] == h[i];
      }
      // ASCII case folding: only letters fold; anything else must match exactly.
      if (!eq) FUZZ_CHECK(!m);
    }
    InterceptMatcher im({std::string(glob)});
    FUZZ_CHECK(im.matches(host) == m);
  }
  return 0;
}
