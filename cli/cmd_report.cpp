// authscope report [--db F] [--rules DIR] --format json|markdown|html|sarif|junit [-o FILE]: a
// findings report from a store (renderers in report/; the data is gathered in report_builder).
#include <ostream>

#include <fmt/format.h>

#include "cli/cli.h"
#include "cli/cli_support.h"
#include "cli/report_builder.h"
#include "cli/store_analysis.h"
#include "report/report.h"

namespace authscope {

int cmd_report(CommandContext& ctx) {
  auto app = cli::make_app("report");
  std::string db, rules, format, output;
  app->add_option("--format", format, "json, markdown, html, sarif or junit")
      ->required()
      ->check(CLI::IsMember({"json", "markdown", "html", "sarif", "junit"}));
  app->add_option("--db", db, "capture store (default $AUTHSCOPE_HOME/flows.db)");
  app->add_option("--rules", rules, "rule pack directory (default: the installed rules/)");
  app->add_option("-o,--output", output, "write to FILE instead of stdout");
  if (auto code = cli::parse_args(*app, ctx)) return *code;

  auto report_format = report_format_from_string(format);
  if (!report_format) return cli::usage_error(ctx, "report", fmt::format("unknown format '{}'", format));
  std::string path = cli::db_path_or_default(db);
  auto store = cli::open_store_for_reading(path);
  if (!store.ok()) return cli::failure(ctx, "report", store.status().message());
  auto pack = cli::load_rules(rules);
  if (!pack.ok()) return cli::failure(ctx, "report", pack.status().message());

  cli::ReportBuildOptions options;
  options.source = path;
  options.include_tokens = *report_format == ReportFormat::kHtml || *report_format == ReportFormat::kMarkdown;
  auto data = cli::build_report_data(*store.value(), pack.value(), options);
  if (!data.ok()) return cli::failure(ctx, "report", data.status().message());
  std::string text = render_report(data.value(), *report_format);

  if (output.empty() || output == "-") {
    ctx.out << text;
    return kExitOk;
  }
  if (Status st = cli::write_file_atomically(output, text, 0644); !st.ok()) return cli::failure(ctx, "report", st.message());
  ctx.err << fmt::format("authscope report: wrote {} ({} flows, {} findings)\n", output, data.value().flow_count,
                         data.value().findings.size());
  return kExitOk;
}

}  // namespace authscope
