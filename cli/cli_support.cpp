#include "cli/cli_support.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cctype>
#include <cerrno>
#include <cstdlib>
#include <cstring>
#include <fstream>
#include <ostream>
#include <sstream>
#include <stdexcept>

#include <fmt/format.h>

#include "cli/cli.h"

namespace authscope {

namespace {

// mkdir -p with 0700 for the directories authscope creates; an existing directory is kept as is.
void make_private_dir(const std::string& dir) {
  std::string partial;
  size_t pos = 0;
  while (pos != std::string::npos) {
    pos = dir.find('/', pos + 1);
    partial = dir.substr(0, pos);
    if (partial.empty()) continue;
    struct stat st {};
    if (::stat(partial.c_str(), &st) == 0) {
      if (!S_ISDIR(st.st_mode)) throw std::runtime_error(fmt::format("{} is not a directory", partial));
      continue;
    }
    if (::mkdir(partial.c_str(), 0700) != 0 && errno != EEXIST) {
      throw std::runtime_error(fmt::format("cannot create {}: {}", partial, std::strerror(errno)));
    }
  }
}

}  // namespace

std::string authscope_home() {
  std::string home;
  if (const char* env = std::getenv("AUTHSCOPE_HOME"); env != nullptr && *env != '\0') {
    home = env;
  } else if (const char* user_home = std::getenv("HOME"); user_home != nullptr && *user_home != '\0') {
    home = std::string(user_home) + "/.authscope";
  } else {
    throw std::runtime_error("neither AUTHSCOPE_HOME nor HOME is set");
  }
  while (home.size() > 1 && home.back() == '/') home.pop_back();
  make_private_dir(home);
  return home;
}

std::string default_db_path() { return authscope_home() + "/flows.db"; }

}  // namespace authscope

namespace authscope::cli {

namespace {

std::string usage_for(std::string_view command) {
  if (const Command* c = find_command(std::string(command))) {
    return fmt::format("usage: authscope {} {}", c->name, c->usage);
  }
  return "usage: authscope COMMAND [OPTIONS] (authscope --help lists the commands)";
}

// CLI11 messages sometimes span lines; the convention is one line per error.
std::string one_line(std::string_view s) {
  std::string line;
  for (char c : s) line += (c == '\n' || c == '\r') ? ' ' : c;
  while (!line.empty() && line.back() == ' ') line.pop_back();
  return line;
}

}  // namespace

std::unique_ptr<CLI::App> make_app(std::string_view command) {
  auto app = std::make_unique<CLI::App>(std::string(), fmt::format("authscope {}", command));
  if (const Command* c = find_command(std::string(command))) app->description(c->help);
  app->allow_windows_style_options(false);
  return app;
}

std::optional<int> parse_args(CLI::App& app, CommandContext& ctx) {
  // CLI11 consumes a vector in reverse order.
  std::vector<std::string> reversed(ctx.args.rbegin(), ctx.args.rend());
  try {
    app.parse(reversed);
  } catch (const CLI::CallForHelp&) {
    ctx.out << app.help();
    return kExitOk;
  } catch (const CLI::CallForAllHelp&) {
    ctx.out << app.help("", CLI::AppFormatMode::All);
    return kExitOk;
  } catch (const CLI::ParseError& e) {
    std::string name = app.get_name();
    if (name.rfind("authscope ", 0) == 0) name = name.substr(10);
    return usage_error(ctx, name, e.what());
  }
  return std::nullopt;
}

int usage_error(CommandContext& ctx, std::string_view command, std::string_view message) {
  ctx.err << "authscope " << command << ": " << one_line(message) << "\n" << usage_for(command) << "\n";
  return kExitUsage;
}

int failure(CommandContext& ctx, std::string_view command, std::string_view message) {
  ctx.err << "authscope " << command << ": " << one_line(message) << "\n";
  return kExitFailure;
}

HomePaths home_paths() {
  HomePaths p;
  p.home = authscope_home();
  p.ca_cert = p.home + "/ca.pem";
  p.ca_key = p.home + "/ca.key";
  p.ca_bundle = p.home + "/ca-bundle.pem";
  p.db = p.home + "/flows.db";
  return p;
}

std::string db_path_or_default(const std::string& db_option) {
  return db_option.empty() ? default_db_path() : db_option;
}

Result<std::unique_ptr<FlowStore>> open_store_for_reading(const std::string& path) {
  return open_store_for_reading(path, SqliteStoreOptions{});
}

Result<std::unique_ptr<FlowStore>> open_store_for_reading(const std::string& path, SqliteStoreOptions options) {
  struct stat st {};
  if (::stat(path.c_str(), &st) != 0) {
    return Status::NotFound(fmt::format(
        "no capture store at {} (capture with `authscope proxy` or `authscope import`, or pass --db)", path));
  }
  if (!S_ISREG(st.st_mode)) return Status::Invalid(fmt::format("{} is not a file", path));
  options.read_only = true;
  auto store = open_sqlite_store(path, std::move(options));
  if (!store.ok()) {
    return Status::Invalid(fmt::format("cannot read {}: {}", path, store.status().message()));
  }
  return store;
}

Status write_file_atomically(const std::string& path, std::string_view contents, unsigned mode) {
  std::string tmp = fmt::format("{}.tmp.{}", path, ::getpid());
  int fd = ::open(tmp.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, mode);
  if (fd < 0) return Status::Io(fmt::format("cannot write {}: {}", tmp, std::strerror(errno)));
  size_t done = 0;
  while (done < contents.size()) {
    ssize_t n = ::write(fd, contents.data() + done, contents.size() - done);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) {
      std::string why = std::strerror(errno);
      ::close(fd);
      ::unlink(tmp.c_str());
      return Status::Io(fmt::format("cannot write {}: {}", tmp, why));
    }
    done += static_cast<size_t>(n);
  }
  ::fchmod(fd, mode);  // the umask may have narrowed it
  if (::close(fd) != 0 || ::rename(tmp.c_str(), path.c_str()) != 0) {
    std::string why = std::strerror(errno);
    ::unlink(tmp.c_str());
    return Status::Io(fmt::format("cannot write {}: {}", path, why));
  }
  return Status::Ok();
}

Result<std::string> read_file(const std::string& path, size_t max_bytes) {
  std::ifstream in(path, std::ios::binary);
  if (!in) return Status::Io(fmt::format("cannot read {}: {}", path, std::strerror(errno)));
  std::string data;
  char buf[64 * 1024];
  while (in.read(buf, sizeof buf) || in.gcount() > 0) {
    data.append(buf, static_cast<size_t>(in.gcount()));
    if (data.size() > max_bytes) return Status::Limit(fmt::format("{} is larger than {} bytes", path, max_bytes));
  }
  return data;
}

Status write_ca_bundle(const HomePaths& paths) {
  static constexpr const char* kSystemRoots[] = {"/etc/ssl/certs/ca-certificates.crt",
                                                 "/etc/pki/tls/certs/ca-bundle.crt"};
  std::string bundle;
  for (const char* roots : kSystemRoots) {
    auto data = read_file(roots);
    if (data.ok()) {
      bundle = std::move(data.value());
      break;
    }
  }
  if (!bundle.empty() && bundle.back() != '\n') bundle += '\n';
  auto ca = read_file(paths.ca_cert);
  if (!ca.ok()) return ca.status();
  bundle += "# authscope CA (" + paths.ca_cert + ")\n";
  bundle += ca.value();
  return write_file_atomically(paths.ca_bundle, bundle, 0644);
}

std::string shell_quote(std::string_view s) {
  bool plain = !s.empty();
  for (char c : s) {
    if (!(std::isalnum(static_cast<unsigned char>(c)) || std::strchr("/._-:,=@+%", c) != nullptr)) plain = false;
  }
  if (plain) return std::string(s);
  std::string q = "'";
  for (char c : s) {
    if (c == '\'') q += "'\\''";
    else q += c;
  }
  return q + "'";
}

}  // namespace authscope::cli
