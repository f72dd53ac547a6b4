// authscope import FILE.har [--db F] [--keep-secrets]: HAR 1.2 (Chrome, Firefox, Fiddler, or an
// authscope export) into a store. Imported flows are redacted like captured ones, so importing a
// browser's HAR never puts usable credentials at rest unless --keep-secrets says so.
#include <filesystem>
#include <fstream>
#include <iostream>
#include <ostream>

#include <fmt/format.h>

#include "analyzers/redact.h"
#include "cli/cli.h"
#include "cli/cli_support.h"
#include "cli/store_annotator.h"
#include "storage/har.h"

namespace authscope {

int cmd_import(CommandContext& ctx) {
  auto app = cli::make_app("import");
  std::string file, db;
  bool keep_secrets = false;
  app->add_option("FILE", file, "HAR file to import ('-' reads stdin)")->required();
  app->add_option("--db", db, "capture store (default $AUTHSCOPE_HOME/flows.db; created when missing)");
  std::string rules;
  app->add_flag("--keep-secrets", keep_secrets, "store tokens, secrets and cookies unredacted");
  app->add_option("--rules", rules, "rule pack directory whose known-apps.json classifies the flows");
  if (auto code = cli::parse_args(*app, ctx)) return *code;

  std::ifstream in;
  if (file != "-") {
    in.open(file, std::ios::binary);
    if (!in) return cli::failure(ctx, "import", fmt::format("cannot read {}", file));
  }
  std::string path = cli::db_path_or_default(db);
  std::error_code ec;
  const bool store_existed = std::filesystem::exists(path, ec);
  auto apps = cli::known_apps_for(rules);
  if (!apps.ok()) return cli::failure(ctx, "import", apps.status().message());
  SqliteStoreOptions options;
  // Like a capture: each imported flow is classified and its tokens decoded and verified
  // (against JWKS in the store or earlier in the HAR) before redaction strips signatures.
  auto annotator = std::make_shared<FlowAnnotator>(std::move(apps).value());
  cli::install_annotator(options, annotator);
  if (!keep_secrets) options.before_write = cli::redact_before_write;
  auto store = open_sqlite_store(path, std::move(options));
  if (!store.ok()) return cli::failure(ctx, "import", fmt::format("store {}: {}", path, store.status().message()));
  if (Status st = cli::prime_annotator(*store.value(), *annotator); !st.ok()) {
    return cli::failure(ctx, "import", fmt::format("store {}: {}", path, st.message()));
  }

  auto imported = import_har(file == "-" ? std::cin : in, *store.value());
  if (!imported.ok()) {
    // A HAR refused before anything was written leaves no new, empty store behind.
    auto count = store.value()->count();
    if (!store_existed && count.ok() && count.value() == 0) {
      store.value().reset();
      for (const char* suffix : {"", "-wal", "-shm"}) std::filesystem::remove(path + suffix, ec);
    }
    return cli::failure(ctx, "import", fmt::format("{}: {}", file, imported.status().message()));
  }
  if (Status st = store.value()->flush(); !st.ok()) return cli::failure(ctx, "import", st.message());
  ctx.out << fmt::format("imported {} flows from {} into {}\n", imported.value(), file, path);
  if (keep_secrets) ctx.err << "authscope import: --keep-secrets: credentials are stored unredacted in " << path << "\n";
  return kExitOk;
}

}  // namespace authscope
