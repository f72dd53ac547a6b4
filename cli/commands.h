// The subcommand table (ninja's kTools[]): `authscope --help` and usage errors are generated
// from it. Each handler parses its own options (CLI11) from the args after the command name,
// writes only to the streams it is given, and returns a named exit code from cli/cli.h.
#pragma once

#include <iosfwd>
#include <string>
#include <vector>

namespace authscope {

struct CommandContext {
  std::vector<std::string> args;  // arguments after the subcommand name
  std::ostream& out;
  std::ostream& err;
};

using CommandHandler = int (*)(CommandContext& ctx);

struct Command {
  const char* name;
  const char* help;   // one line
  const char* usage;  // synopsis after "authscope NAME", printed with usage errors
  CommandHandler handler;
};

const std::vector<Command>& commands();
const Command* find_command(const std::string& name);

// Handlers, one file each under cli/ (cmd_<name>.cpp).
int cmd_proxy(CommandContext& ctx);
int cmd_run(CommandContext& ctx);
int cmd_analyze(CommandContext& ctx);
int cmd_report(CommandContext& ctx);
int cmd_flows(CommandContext& ctx);
int cmd_show(CommandContext& ctx);
int cmd_decode(CommandContext& ctx);
int cmd_tokens(CommandContext& ctx);
int cmd_import(CommandContext& ctx);
int cmd_export(CommandContext& ctx);
int cmd_env(CommandContext& ctx);
int cmd_ca(CommandContext& ctx);

// $AUTHSCOPE_HOME, default ~/.authscope (created with mode 0700 when missing). Throws
// std::runtime_error when it cannot be created (start-up code: run_cli turns it into exit 1).
std::string authscope_home();
std::string default_db_path();  // $AUTHSCOPE_HOME/flows.db

}  // namespace authscope
