#include "cli/proxy_flags.h"

#include <arpa/inet.h>
#include <sys/stat.h>
#include <unistd.h>

#include <charconv>

#include <fmt/format.h>

namespace authscope::cli {

void add_proxy_flags(CLI::App& app, ProxyFlags& flags, const std::string& default_listen) {
  app.add_option("--listen", flags.listen,
                 fmt::format("ADDR:PORT to listen on (default {}; port 0 picks a free port)", default_listen));
  app.add_option("--ready-file", flags.ready_file, "once listening, write the bound ADDR:PORT to PATH");
  app.add_option("--db", flags.db, "capture store (default $AUTHSCOPE_HOME/flows.db)");
  app.add_option("--intercept", flags.intercept,
                 "host glob whose TLS is opened and recorded (repeatable; replaces the default Entra/Azure "
                 "list; '*' opens all)")
      ->take_all()
      ->allow_extra_args(false);
  app.add_option("--resolve", flags.resolve, "HOST:PORT=ADDR:PORT: connect upstream to ADDR:PORT for HOST:PORT "
                                             "(SNI, certificate checks and Host stay HOST; repeatable)")
      ->allow_extra_args(false);
  app.add_option("--upstream-ca", flags.upstream_ca, "PEM file of extra trust anchors for upstream servers");
  app.add_option("--rules", flags.rules, "rule pack directory (default: the installed rules/)");
  app.add_flag("--quiet,-q", flags.quiet, "no line per flow (the findings summary at exit stays)");
  app.add_option("--proxy-auth", flags.proxy_auth,
                 "USER:PASS: require Basic Proxy-Authorization (needed to listen beyond loopback)");
  app.add_option("--body-limit", flags.body_limit,
                 "bytes of each body recorded (default 4194304); the wire is never cut")
      ->check(CLI::Range(uint64_t{1}, uint64_t{1} << 40));
  app.add_flag("--keep-secrets", flags.keep_secrets,
               "store tokens, secrets and cookies unredacted (the store then holds usable credentials)");
}

bool is_loopback_address(const std::string& host) {
  if (host == "localhost" || host == "::1") return true;
  in_addr v4{};
  if (inet_pton(AF_INET, host.c_str(), &v4) == 1) return (ntohl(v4.s_addr) >> 24) == 127;
  return false;
}

Status parse_host_port(const std::string& text, std::string& host, uint16_t& port, bool allow_port_zero) {
  size_t colon;
  if (!text.empty() && text[0] == '[') {
    size_t close = text.find(']');
    if (close == std::string::npos || close + 1 >= text.size() || text[close + 1] != ':') {
      return Status::Invalid(fmt::format("'{}' is not [ADDR]:PORT", text));
    }
    host = text.substr(1, close - 1);
    colon = close + 1;
  } else {
    colon = text.rfind(':');
    if (colon == std::string::npos || colon == 0) return Status::Invalid(fmt::format("'{}' is not ADDR:PORT", text));
    host = text.substr(0, colon);
    if (host.find(':') != std::string::npos) {
      return Status::Invalid(fmt::format("'{}': write IPv6 addresses as [ADDR]:PORT", text));
    }
  }
  std::string port_text = text.substr(colon + 1);
  unsigned value = 0;
  auto [ptr, ec] = std::from_chars(port_text.data(), port_text.data() + port_text.size(), value);
  if (port_text.empty() || ec != std::errc() || ptr != port_text.data() + port_text.size() || value > 65535 ||
      (value == 0 && !allow_port_zero)) {
    return Status::Invalid(fmt::format("'{}': port must be {}-65535", text, allow_port_zero ? 0 : 1));
  }
  if (host.empty()) return Status::Invalid(fmt::format("'{}': missing address", text));
  port = static_cast<uint16_t>(value);
  return Status::Ok();
}

Result<ResolveOverride> parse_resolve(const std::string& text) {
  size_t eq = text.find('=');
  if (eq == std::string::npos) return Status::Invalid(fmt::format("--resolve '{}' is not HOST:PORT=ADDR:PORT", text));
  ResolveOverride r;
  if (Status st = parse_host_port(text.substr(0, eq), r.host, r.port, false); !st.ok()) {
    return Status::Invalid("--resolve " + st.message());
  }
  if (Status st = parse_host_port(text.substr(eq + 1), r.addr, r.addr_port, false); !st.ok()) {
    return Status::Invalid("--resolve " + st.message());
  }
  return r;
}

Result<CaptureOptions> capture_options_from(const ProxyFlags& flags, const std::string& default_listen,
                                            const HomePaths& paths) {
  CaptureOptions c;
  std::string listen = flags.listen.empty() ? default_listen : flags.listen;
  if (Status st = parse_host_port(listen, c.proxy.listen_addr, c.proxy.listen_port, true); !st.ok()) {
    return Status::Invalid("--listen " + st.message());
  }
  if (!flags.proxy_auth.empty()) {
    size_t colon = flags.proxy_auth.find(':');
    if (colon == std::string::npos || colon == 0) return Status::Invalid("--proxy-auth must be USER:PASS");
    c.proxy.proxy_auth = flags.proxy_auth;
  }
  // issue 7 "No open door": a proxy reachable from the network holding bearer tokens must
  // authenticate its clients.
  if (!is_loopback_address(c.proxy.listen_addr) && !c.proxy.proxy_auth) {
    return Status::Invalid(fmt::format(
        "--listen {}: refusing a non-loopback address without --proxy-auth USER:PASS", listen));
  }
  if (!flags.intercept.empty()) {
    for (const std::string& glob : flags.intercept) {
      if (glob.empty()) return Status::Invalid("--intercept: empty host glob");
    }
    c.proxy.intercept_globs = flags.intercept;
  }
  for (const std::string& r : flags.resolve) {
    auto parsed = parse_resolve(r);
    if (!parsed.ok()) return parsed.status();
    c.proxy.resolves.push_back(parsed.value());
  }
  if (!flags.upstream_ca.empty()) {
    if (::access(flags.upstream_ca.c_str(), R_OK) != 0) {
      return Status::Invalid(fmt::format("--upstream-ca {}: cannot read the file", flags.upstream_ca));
    }
    c.proxy.upstream_ca_file = flags.upstream_ca;
  }
  if (!flags.rules.empty()) {
    struct stat st {};
    if (::stat(flags.rules.c_str(), &st) != 0 || !S_ISDIR(st.st_mode)) {
      return Status::Invalid(fmt::format("--rules {}: not a directory", flags.rules));
    }
  }
  if (flags.body_limit != 0) c.proxy.limits.body_capture_limit = static_cast<size_t>(flags.body_limit);
  c.proxy.ca_cert_file = paths.ca_cert;
  c.proxy.ca_key_file = paths.ca_key;
  c.db_path = flags.db.empty() ? paths.db : flags.db;
  c.rules_dir = flags.rules;
  c.ready_file = flags.ready_file;
  c.quiet = flags.quiet;
  c.keep_secrets = flags.keep_secrets;
  return c;
}

}  // namespace authscope::cli
