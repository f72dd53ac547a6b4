// authscope ca [--pem] [--regenerate]: creates the CA in $AUTHSCOPE_HOME when missing and prints
// the certificate's path (or its PEM). The key is never printed: it can impersonate any site to
// whoever trusts the CA.
#include <ostream>

#include "cli/cli.h"
#include "cli/cli_support.h"
#include "proxy/tls/cert_authority.h"

namespace authscope {

int cmd_ca(CommandContext& ctx) {
  auto app = cli::make_app("ca");
  bool pem = false;
  bool regenerate = false;
  app->add_flag("--pem", pem, "print the CA certificate (PEM) instead of its path");
  app->add_flag("--regenerate", regenerate,
                "replace the CA with a new one (clients must trust the new ca.pem again)");
  if (auto code = cli::parse_args(*app, ctx)) return *code;

  cli::HomePaths paths = cli::home_paths();
  Status st = ensure_ca(CaFiles{paths.ca_cert, paths.ca_key}, regenerate);
  if (!st.ok()) return cli::failure(ctx, "ca", st.message());
  // Keep the trust bundle in step with the CA (a regenerated CA invalidates the old bundle).
  if (Status b = cli::write_ca_bundle(paths); !b.ok()) return cli::failure(ctx, "ca", b.message());
  if (regenerate) ctx.err << "authscope ca: new CA written; clients must trust " << paths.ca_cert << " again\n";

  if (!pem) {
    ctx.out << paths.ca_cert << "\n";
    return kExitOk;
  }
  auto text = cli::read_file(paths.ca_cert, 1024 * 1024);
  if (!text.ok()) return cli::failure(ctx, "ca", text.status().message());
  ctx.out << text.value();
  if (!text.value().empty() && text.value().back() != '\n') ctx.out << "\n";
  return kExitOk;
}

}  // namespace authscope
