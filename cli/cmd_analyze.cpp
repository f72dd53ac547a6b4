// authscope analyze [--db F] [--rules DIR] [--format text|json]: every analyzer over a store.
// JSON is the contract's findings document; text groups findings by severity for people.
#include <ostream>

#include "analyzers/findings_json.h"
#include "cli/cli.h"
#include "cli/cli_support.h"
#include "cli/findings_text.h"
#include "cli/store_analysis.h"

namespace authscope {

int cmd_analyze(CommandContext& ctx) {
  auto app = cli::make_app("analyze");
  std::string db, rules, format = "text";
  app->add_option("--db", db, "capture store (default $AUTHSCOPE_HOME/flows.db)");
  app->add_option("--rules", rules, "rule pack directory (default: the installed rules/)");
  app->add_option("--format", format, "text or json (default text)")->check(CLI::IsMember({"text", "json"}));
  if (auto code = cli::parse_args(*app, ctx)) return *code;

  auto store = cli::open_store_for_reading(cli::db_path_or_default(db));
  if (!store.ok()) return cli::failure(ctx, "analyze", store.status().message());
  auto pack = cli::load_rules(rules);
  if (!pack.ok()) return cli::failure(ctx, "analyze", pack.status().message());
  auto result = cli::analyze_store(*store.value(), pack.value());
  if (!result.ok()) return cli::failure(ctx, "analyze", result.status().message());

  if (format == "json") {
    ctx.out << findings_document(result.value().flow_count, result.value().findings).dump(2) << "\n";
  } else {
    cli::print_findings_text(ctx.out, result.value().findings, result.value().flow_count);
  }
  return kExitOk;
}

}  // namespace authscope
