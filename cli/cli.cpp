// run_cli: dispatches `authscope COMMAND ARGS...` through the command table (ninja's kTools[]).
// Global flags are only --help/-h and --version; everything else belongs to a command.
#include "cli/cli.h"

#include <exception>
#include <ostream>
#include <string>
#include <vector>

#include <fmt/format.h>

#include "cli/cli_support.h"
#include "cli/commands.h"

#ifndef AUTHSCOPE_VERSION
#define AUTHSCOPE_VERSION "0.0.0"
#endif

namespace authscope {

namespace {

constexpr const char* kProxyUsage =
    "[--listen ADDR:PORT] [--ready-file PATH] [--db PATH] [--intercept GLOB]... "
    "[--resolve HOST:PORT=ADDR:PORT]... [--upstream-ca PEM] [--rules DIR] [--quiet] "
    "[--proxy-auth USER:PASS] [--body-limit BYTES] [--keep-secrets]";

const std::vector<Command> kCommands = {
    {"proxy", "run the capture proxy until SIGINT/SIGTERM, then analyze and summarise", kProxyUsage, cmd_proxy},
    {"run", "run a command through an ephemeral capture proxy and report its findings",
     "[PROXY OPTIONS] [--fail-on SEVERITY] -- COMMAND [ARGS...]", cmd_run},
    {"analyze", "run every analyzer over a store and print the findings",
     "[--db PATH] [--rules DIR] [--format text|json]", cmd_analyze},
    {"report", "write a findings report (json, markdown, html, sarif, junit)",
     "[--db PATH] [--rules DIR] --format json|markdown|html|sarif|junit [-o FILE]", cmd_report},
    {"flows", "list captured flows", "[--db PATH] [--json]", cmd_flows},
    {"show", "show one flow: request, response, decoded bodies and tokens", "ID [--db PATH] [--rules DIR] [--json]", cmd_show},
    {"decode", "decode a JWT (header, claims, readable times, signature status)",
     "[TOKEN|-] [--jwks FILE] [--rules DIR] [--json]", cmd_decode},
    {"tokens", "list every token in a store with its subject, client, audience and expiry",
     "[--db PATH] [--rules DIR] [--json]", cmd_tokens},
    {"import", "import a HAR 1.2 file into a store", "FILE.har [--db PATH] [--keep-secrets] [--rules DIR]", cmd_import},
    {"export", "export a store as HAR 1.2", "--format har [--db PATH] [-o FILE]", cmd_export},
    {"env", "print the shell lines that point clients at the proxy and trust its CA",
     "[--port N] [--host ADDR]", cmd_env},
    {"ca", "create the CA if missing; print its path or PEM", "[--pem] [--regenerate]", cmd_ca},
};

void print_overview(std::ostream& out) {
  out << "authscope " << AUTHSCOPE_VERSION
      << ": capture and analyze Microsoft Entra ID sign-in and Azure management traffic\n\n"
      << "usage: authscope COMMAND [OPTIONS]\n"
      << "       authscope help COMMAND | --help | --version\n\ncommands:\n";
  size_t width = 0;
  for (const Command& c : kCommands) width = std::max(width, std::string(c.name).size());
  for (const Command& c : kCommands) out << fmt::format("  {:<{}}  {}\n", c.name, width, c.help);
  out << "\ndata home: $AUTHSCOPE_HOME (default ~/.authscope): ca.pem, ca.key, flows.db\n";
}

int usage_error_top(std::ostream& err, const std::string& message) {
  err << "authscope: " << message << "\n"
      << "usage: authscope COMMAND [OPTIONS] (authscope --help lists the commands)\n";
  return kExitUsage;
}

}  // namespace

const std::vector<Command>& commands() { return kCommands; }

const Command* find_command(const std::string& name) {
  for (const Command& c : kCommands) {
    if (name == c.name) return &c;
  }
  return nullptr;
}

int run_cli(int argc, char** argv, std::ostream& out, std::ostream& err) {
  if (argc < 2) {
    print_overview(err);
    return kExitUsage;
  }
  std::string first = argv[1];
  std::vector<std::string> rest(argv + 2, argv + argc);
  if (first == "--help" || first == "-h") {
    print_overview(out);
    return kExitOk;
  }
  if (first == "--version" || first == "-V") {
    out << "authscope " << AUTHSCOPE_VERSION << "\n";
    return kExitOk;
  }
  if (first == "help") {
    if (rest.empty()) {
      print_overview(out);
      return kExitOk;
    }
    if (find_command(rest[0]) == nullptr) return usage_error_top(err, fmt::format("unknown command '{}'", rest[0]));
    first = rest[0];
    rest = {"--help"};
  }
  const Command* command = find_command(first);
  if (command == nullptr) {
    if (!first.empty() && first[0] == '-') return usage_error_top(err, fmt::format("unknown option '{}'", first));
    return usage_error_top(err, fmt::format("unknown command '{}'", first));
  }
  CommandContext ctx{std::move(rest), out, err};
  // Exceptions are for start-up and configuration code only (STYLE G.26); one line, exit 1.
  try {
    return command->handler(ctx);
  } catch (const std::exception& e) {
    return cli::failure(ctx, command->name, e.what());
  }
}

}  // namespace authscope
