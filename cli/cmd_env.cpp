// authscope env [--port N] [--host ADDR]: the shell lines that point each client family at the
// proxy and make it trust the authscope CA (`eval "$(authscope env)"`).
//
// Why one variable per family: Go (Terraform, azcopy) replaces its roots with SSL_CERT_FILE, so it
// gets the bundle of system roots + the CA (tunnelled hosts keep verifying); Python requests (the
// az CLI) reads REQUESTS_CA_BUNDLE; Node adds NODE_EXTRA_CA_CERTS to its own roots; curl reads
// CURL_CA_BUNDLE. Lower-case proxy variables exist because curl ignores upper-case HTTP_PROXY.
#include <ostream>

#include <fmt/format.h>

#include "cli/cli.h"
#include "cli/cli_support.h"
#include "proxy/tls/cert_authority.h"

namespace authscope {

namespace cli {

void print_env_lines(std::ostream& out, const HomePaths& paths, const std::string& host, int port) {
  std::string proxy = shell_quote(fmt::format("http://{}:{}", host.find(':') != std::string::npos
                                                                      ? "[" + host + "]"
                                                                      : host,
                                              port));
  std::string bundle = shell_quote(paths.ca_bundle);
  std::string ca = shell_quote(paths.ca_cert);
  out << "# authscope proxy on " << host << ":" << port << " (start it with: authscope proxy)\n"
      << "export HTTPS_PROXY=" << proxy << " HTTP_PROXY=" << proxy << "\n"
      << "export https_proxy=" << proxy << " http_proxy=" << proxy << "\n"
      << "export NO_PROXY=localhost,127.0.0.1,::1 no_proxy=localhost,127.0.0.1,::1\n"
      << "# Go, Terraform (azurerm/azapi), azcopy: system roots + the authscope CA\n"
      << "export SSL_CERT_FILE=" << bundle << "\n"
      << "# Python requests, the az CLI, MSAL for Python\n"
      << "export REQUESTS_CA_BUNDLE=" << bundle << "\n"
      << "# Node.js (MSAL.js, Azure SDK for JS)\n"
      << "export NODE_EXTRA_CA_CERTS=" << ca << "\n"
      << "# curl\n"
      << "export CURL_CA_BUNDLE=" << bundle << "\n";
}

}  // namespace cli

int cmd_env(CommandContext& ctx) {
  auto app = cli::make_app("env");
  int port = 8080;
  std::string host = "127.0.0.1";
  app->add_option("--port", port, "proxy port (default 8080)")->check(CLI::Range(1, 65535));
  app->add_option("--host", host, "proxy address (default 127.0.0.1)");
  if (auto code = cli::parse_args(*app, ctx)) return *code;

  cli::HomePaths paths = cli::home_paths();
  if (Status st = ensure_ca(CaFiles{paths.ca_cert, paths.ca_key}); !st.ok()) return cli::failure(ctx, "env", st.message());
  if (Status st = cli::write_ca_bundle(paths); !st.ok()) return cli::failure(ctx, "env", st.message());
  cli::print_env_lines(ctx.out, paths, host, port);
  return kExitOk;
}

}  // namespace authscope
