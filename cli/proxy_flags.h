// The contract's proxy options, shared by `proxy` and `run`: declared on a CLI11 app, then
// validated into ProxyOptions plus the capture settings around the proxy (store, rules, output).
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include <CLI/CLI.hpp>

#include "cli/cli_support.h"
#include "model/status.h"
#include "proxy/proxy_options.h"

namespace authscope::cli {

struct ProxyFlags {
  std::string listen;
  std::string ready_file;
  std::string db;
  std::vector<std::string> intercept;
  std::vector<std::string> resolve;
  std::string upstream_ca;
  std::string rules;
  bool quiet = false;
  std::string proxy_auth;
  uint64_t body_limit = 0;  // 0: the default (ProxyLimits::body_capture_limit)
  bool keep_secrets = false;
};

struct CaptureOptions {
  ProxyOptions proxy;
  std::string db_path;
  std::string rules_dir;   // empty: the installed rules
  std::string ready_file;  // empty: none
  bool quiet = false;
  bool keep_secrets = false;
};

void add_proxy_flags(CLI::App& app, ProxyFlags& flags, const std::string& default_listen);

// Validates the flags (one-line Status naming the option on error: the caller exits 2).
Result<CaptureOptions> capture_options_from(const ProxyFlags& flags, const std::string& default_listen,
                                            const HomePaths& paths);

// "ADDR:PORT" / "[V6]:PORT" → address and port (0 allowed: pick a free port).
Status parse_host_port(const std::string& text, std::string& host, uint16_t& port, bool allow_port_zero);
// --resolve HOST:PORT=ADDR:PORT
Result<ResolveOverride> parse_resolve(const std::string& text);
// 127.0.0.0/8, ::1, localhost.
bool is_loopback_address(const std::string& host);

}  // namespace authscope::cli
