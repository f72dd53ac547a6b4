#include "cli/child_env.h"

#include <set>

#include <fmt/format.h>

namespace authscope::cli {

std::vector<std::pair<std::string, std::string>> proxy_env_vars(const HomePaths& paths, uint16_t port) {
  std::string proxy = fmt::format("http://127.0.0.1:{}", port);
  // Loopback never goes through the proxy: a child talking to its own local services must not
  // loop through authscope (and the proxy refuses requests aimed at itself).
  std::string no_proxy = "localhost,127.0.0.1,::1";
  return {
      {"HTTPS_PROXY", proxy},       {"HTTP_PROXY", proxy},      {"https_proxy", proxy},
      {"http_proxy", proxy},        {"NO_PROXY", no_proxy},     {"no_proxy", no_proxy},
      {"SSL_CERT_FILE", paths.ca_bundle},  // Go (Terraform, azcopy), OpenSSL-based tools
      {"REQUESTS_CA_BUNDLE", paths.ca_bundle},  // Python requests, the az CLI
      {"CURL_CA_BUNDLE", paths.ca_bundle},
      {"NODE_EXTRA_CA_CERTS", paths.ca_cert},  // Node adds it to its built-in roots
  };
}

std::vector<std::string> merge_env(const std::vector<std::string>& base,
                                   const std::vector<std::pair<std::string, std::string>>& vars) {
  std::set<std::string> replaced;
  for (const auto& [key, value] : vars) replaced.insert(key);
  std::vector<std::string> env;
  env.reserve(base.size() + vars.size());
  for (const std::string& entry : base) {
    size_t eq = entry.find('=');
    std::string key = eq == std::string::npos ? entry : entry.substr(0, eq);
    if (replaced.count(key) == 0) env.push_back(entry);
  }
  for (const auto& [key, value] : vars) env.push_back(key + "=" + value);
  return env;
}

}  // namespace authscope::cli
