// authscope flows [--db F] [--json]: the captured flows. Text reads only summaries (no bodies);
// --json streams every flow in full (headers and bodies) one at a time, so memory stays flat.
#include <ostream>

#include "cli/cli.h"
#include "cli/cli_support.h"
#include "cli/flow_format.h"

namespace authscope {

int cmd_flows(CommandContext& ctx) {
  auto app = cli::make_app("flows");
  std::string db;
  bool json = false;
  app->add_option("--db", db, "capture store (default $AUTHSCOPE_HOME/flows.db)");
  app->add_flag("--json", json, "every flow in full (headers and bodies) as a JSON array");
  if (auto code = cli::parse_args(*app, ctx)) return *code;

  std::string path = cli::db_path_or_default(db);
  auto store = cli::open_store_for_reading(path);
  if (!store.ok()) return cli::failure(ctx, "flows", store.status().message());

  if (json) {
    ctx.out << "[";
    bool first = true;
    Status st = store.value()->for_each([&](const Flow& flow) {
      ctx.out << (first ? "\n" : ",\n") << cli::flow_to_json(flow).dump(2);
      first = false;
      return static_cast<bool>(ctx.out);
    });
    ctx.out << (first ? "]\n" : "\n]\n");
    if (!st.ok()) return cli::failure(ctx, "flows", st.message());
    return kExitOk;
  }

  auto list = store.value()->list();
  if (!list.ok()) return cli::failure(ctx, "flows", list.status().message());
  if (list.value().empty()) {
    ctx.out << "no flows in " << path << "\n";
    return kExitOk;
  }
  ctx.out << cli::flows_table_header() << "\n";
  for (const FlowSummary& s : list.value()) ctx.out << cli::flows_table_row(s) << "\n";
  return kExitOk;
}

}  // namespace authscope
