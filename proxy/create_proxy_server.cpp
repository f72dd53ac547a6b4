// create_proxy_server(): validates options, loads the CA and the upstream trust, and builds the
// libuv server. Start-up code: errors are one-line Status messages for the CLI.
#include <openssl/evp.h>

#include <fmt/format.h>

#include "proxy/proxy_server.h"
#include "proxy/tls/cert_authority.h"
#include "proxy/uv_server.h"

namespace authscope {

namespace {

bool is_loopback_address(const std::string& addr) {
  return addr.rfind("127.", 0) == 0 || addr == "::1" || addr == "localhost";
}

std::string basic_credentials(const std::string& user_pass) {
  std::string out(4 * ((user_pass.size() + 2) / 3) + 1, '\0');
  int n = EVP_EncodeBlock(reinterpret_cast<unsigned char*>(out.data()),
                          reinterpret_cast<const unsigned char*>(user_pass.data()), static_cast<int>(user_pass.size()));
  out.resize(n > 0 ? static_cast<size_t>(n) : 0);
  return "Basic " + out;
}

}  // namespace

Result<std::unique_ptr<ProxyServer>> create_proxy_server(uv_loop_t* loop, const ProxyOptions& options,
                                                         FlowSink sink) {
  // Issue 7 item 4: no open door. A listener others can reach needs proxy credentials.
  if (!is_loopback_address(options.listen_addr) && !options.proxy_auth) {
    return Status::Invalid(fmt::format(
        "refusing to listen on non-loopback address {} without --proxy-auth USER:PASS", options.listen_addr));
  }
  if (options.proxy_auth && options.proxy_auth->find(':') == std::string::npos) {
    return Status::Invalid("--proxy-auth must be USER:PASS");
  }
  SessionConfig config;
  config.options = options;
  if (options.proxy_auth) config.expected_proxy_authorization = basic_credentials(*options.proxy_auth);

  std::unique_ptr<CertAuthority> ca;
  if (!options.ca_cert_file.empty()) {
    auto loaded = CertAuthority::load(CaFiles{options.ca_cert_file, options.ca_key_file});
    if (!loaded.ok()) return Status::Tls(fmt::format("CA: {}", loaded.status().message()));
    ca = std::move(loaded.value());
  }
  auto upstream = make_upstream_context(options.upstream_ca_file);
  if (!upstream.ok()) return Status::Tls(fmt::format("upstream trust: {}", upstream.status().message()));
  config.upstream_ctx = upstream.value();

  std::unique_ptr<ProxyServer> server =
      std::make_unique<UvServer>(loop, std::move(config), std::move(ca), std::move(sink));
  return server;
}

}  // namespace authscope
