#include "model/flow.h"

#include <chrono>

namespace authscope {

const char* to_string(FlowKind kind) { return kind == FlowKind::kTunnel ? "tunnel" : "http"; }

std::optional<FlowKind> flow_kind_from_string(std::string_view s) {
  if (s == "http") return FlowKind::kHttp;
  if (s == "tunnel") return FlowKind::kTunnel;
  return std::nullopt;
}

std::string Flow::path_and_query() const {
  const std::string& t = request.target;
  if (!t.empty() && t[0] == '/') return t;
  auto scheme_end = t.find("://");
  if (scheme_end == std::string::npos) return t.empty() ? "/" : t;
  auto path = t.find('/', scheme_end + 3);
  auto query = t.find('?', scheme_end + 3);
  if (path == std::string::npos && query == std::string::npos) return "/";
  if (path == std::string::npos || (query != std::string::npos && query < path)) {
    std::string out = "/";
    out.append(t, query, std::string::npos);
    return out;
  }
  return t.substr(path);
}

std::string Flow::url() const {
  if (kind == FlowKind::kTunnel) return host + ":" + std::to_string(port);
  if (request.target.find("://") != std::string::npos) return request.target;
  std::string s = scheme.empty() ? "http" : scheme;
  const bool default_port = (s == "https" && port == 443) || (s == "http" && port == 80) || port == 0;
  std::string h = host.find(':') != std::string::npos ? "[" + host + "]" : host;
  std::string out = s + "://" + h;
  if (!default_port) {
    out += ':';
    out += std::to_string(port);
  }
  return out + path_and_query();
}

int64_t now_us() {
  using namespace std::chrono;
  return duration_cast<microseconds>(system_clock::now().time_since_epoch()).count();
}

}  // namespace authscope
