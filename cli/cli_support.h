// Small pieces every command shares: CLI11 parsing with the project's error convention, the
// data-home paths, and opening a capture store for reading with a one-line error.
#pragma once

#include <iosfwd>
#include <memory>
#include <optional>
#include <string>
#include <string_view>

#include <CLI/CLI.hpp>

#include "cli/commands.h"
#include "model/status.h"
#include "storage/flow_store.h"

namespace authscope::cli {

// Parses ctx.args into `app`. Returns nullopt when the command should go on, or the exit code to
// return right away: 0 after printing --help to ctx.out, kExitUsage after a one-line error plus
// the command's usage line on ctx.err.
std::optional<int> parse_args(CLI::App& app, CommandContext& ctx);

// Prints "authscope COMMAND: MESSAGE" and the usage line to ctx.err; returns kExitUsage.
int usage_error(CommandContext& ctx, std::string_view command, std::string_view message);
// Prints "authscope COMMAND: MESSAGE" to ctx.err; returns kExitFailure.
int failure(CommandContext& ctx, std::string_view command, std::string_view message);

// A CLI11 app for `command` with the project's conventions (help flag, no config files).
std::unique_ptr<CLI::App> make_app(std::string_view command);

struct HomePaths {
  std::string home;       // $AUTHSCOPE_HOME
  std::string ca_cert;    // ca.pem
  std::string ca_key;     // ca.key (0600)
  std::string ca_bundle;  // ca-bundle.pem: system roots + ca.pem (for Go, Terraform, curl, Python)
  std::string db;         // flows.db
};
HomePaths home_paths();  // creates $AUTHSCOPE_HOME (0700) when missing; throws when it cannot

// --db value or the default store.
std::string db_path_or_default(const std::string& db_option);

// Opens an existing store read-only. A missing file or one that is not an authscope store gives a
// one-line Status ("no capture store at X ...").
Result<std::unique_ptr<FlowStore>> open_store_for_reading(const std::string& path);
// The same with caller-chosen store options (hooks); the store is opened read-only regardless.
Result<std::unique_ptr<FlowStore>> open_store_for_reading(const std::string& path, SqliteStoreOptions options);

// Writes `contents` to `path` atomically (temp file + rename) with the given mode.
Status write_file_atomically(const std::string& path, std::string_view contents, unsigned mode = 0644);
Result<std::string> read_file(const std::string& path, size_t max_bytes = 64 * 1024 * 1024);

// Writes the trust bundle: the system roots (/etc/ssl/certs/ca-certificates.crt, when present)
// followed by the authscope CA. Go replaces its roots with SSL_CERT_FILE, so the bundle keeps
// tunnelled hosts working while trusting the minted certificates of intercepted ones.
Status write_ca_bundle(const HomePaths& paths);

// The `authscope env` lines for a proxy at host:port (also printed by `run --help`).
void print_env_lines(std::ostream& out, const HomePaths& paths, const std::string& host, int port);

// Quotes a value for a POSIX shell (single quotes).
std::string shell_quote(std::string_view s);

}  // namespace authscope::cli
