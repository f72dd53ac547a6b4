// authscope export --format har [--db F] [-o FILE]: the store as HAR 1.2, streamed flow by flow.
// What is exported is what the store holds: redacted unless it was captured with --keep-secrets.
#include <cstdio>
#include <fstream>
#include <ostream>

#include <fmt/format.h>

#include "cli/cli.h"
#include "cli/cli_support.h"
#include "storage/har.h"

namespace authscope {

int cmd_export(CommandContext& ctx) {
  auto app = cli::make_app("export");
  std::string format, db, output;
  app->add_option("--format", format, "har")->required()->check(CLI::IsMember({"har"}));
  app->add_option("--db", db, "capture store (default $AUTHSCOPE_HOME/flows.db)");
  app->add_option("-o,--output", output, "write to FILE instead of stdout");
  if (auto code = cli::parse_args(*app, ctx)) return *code;

  auto store = cli::open_store_for_reading(cli::db_path_or_default(db));
  if (!store.ok()) return cli::failure(ctx, "export", store.status().message());
  if (output.empty() || output == "-") {
    Status st = export_har(*store.value(), ctx.out);
    if (!st.ok()) return cli::failure(ctx, "export", st.message());
    return kExitOk;
  }
  // Written beside the target and renamed, so a failed export never leaves half a file.
  std::string tmp = output + ".partial";
  {
    std::ofstream out(tmp, std::ios::binary | std::ios::trunc);
    if (!out) return cli::failure(ctx, "export", fmt::format("cannot write {}", tmp));
    Status st = export_har(*store.value(), out);
    out.close();
    if (!st.ok() || !out) {
      std::remove(tmp.c_str());
      return cli::failure(ctx, "export", st.ok() ? fmt::format("cannot write {}", tmp) : st.message());
    }
  }
  if (std::rename(tmp.c_str(), output.c_str()) != 0) {
    std::remove(tmp.c_str());
    return cli::failure(ctx, "export", fmt::format("cannot write {}", output));
  }
  ctx.err << "authscope export: wrote " << output << "\n";
  return kExitOk;
}

}  // namespace authscope
