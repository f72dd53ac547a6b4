#include "tests/support/process_helpers.h"

#include <dirent.h>
#include <fcntl.h>
#include <signal.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <thread>

extern char** environ;

namespace authscope::testkit {
namespace {

int decode_wait_status(int status) {
  if (WIFEXITED(status)) return WEXITSTATUS(status);
  if (WIFSIGNALED(status)) return 128 + WTERMSIG(status);
  return -1;
}

}  // namespace

TempHome::TempHome(const std::string& prefix) {
  const char* tmp = std::getenv("TMPDIR");
  std::string templ = std::string(tmp && *tmp ? tmp : "/tmp") + "/" + prefix + "-XXXXXX";
  std::vector<char> buf(templ.begin(), templ.end());
  buf.push_back('\0');
  if (::mkdtemp(buf.data()) == nullptr) {
    // Test set-up failure: nothing sensible to continue with.
    std::fprintf(stderr, "TempHome: mkdtemp(%s) failed: %s\n", templ.c_str(), std::strerror(errno));
    std::abort();
  }
  path_ = buf.data();
  const char* keep = std::getenv("AUTHSCOPE_KEEP_TEMP");
  keep_ = keep && *keep && std::string(keep) != "0";
}

TempHome::~TempHome() {
  if (keep_ || path_.empty()) return;
  std::error_code ec;
  std::filesystem::remove_all(path_, ec);
}

Result<std::unique_ptr<ProcessRun>> ProcessRun::start(ProcessOptions options) {
  if (options.argv.empty()) return Status::Invalid("ProcessRun needs argv[0]");
  std::unique_ptr<ProcessRun> run(new ProcessRun());
  if (options.stdout_path.empty() || options.stderr_path.empty()) {
    run->scratch_ = std::make_unique<TempHome>("authscope-proc");
    if (options.stdout_path.empty()) options.stdout_path = run->scratch_->file("stdout");
    if (options.stderr_path.empty()) options.stderr_path = run->scratch_->file("stderr");
  }
  run->options_ = std::move(options);
  const ProcessOptions& o = run->options_;

  // Everything the child needs is prepared before fork (only async-signal-safe calls after it).
  std::vector<std::string> env_strings;
  for (char** e = environ; e && *e; ++e) {
    std::string kv = *e;
    std::string key = kv.substr(0, kv.find('='));
    bool drop = false;
    for (const auto& u : o.unset_env) drop |= (u == key);
    for (const auto& [k, v] : o.env) drop |= (k == key);
    if (!drop) env_strings.push_back(kv);
  }
  for (const auto& [k, v] : o.env) env_strings.push_back(k + "=" + v);
  std::vector<char*> envp;
  for (auto& s : env_strings) envp.push_back(s.data());
  envp.push_back(nullptr);
  std::vector<std::string> argv_copy = o.argv;
  std::vector<char*> argv;
  for (auto& s : argv_copy) argv.push_back(s.data());
  argv.push_back(nullptr);
  std::string program = o.argv[0].find('/') == std::string::npos ? find_executable(o.argv[0]) : o.argv[0];
  if (program.empty()) return Status::NotFound("program not found on PATH: " + o.argv[0]);

  int out_fd = ::open(o.stdout_path.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
  int err_fd = ::open(o.stderr_path.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
  int in_fd = ::open(o.stdin_path.empty() ? "/dev/null" : o.stdin_path.c_str(), O_RDONLY | O_CLOEXEC);
  if (out_fd < 0 || err_fd < 0 || in_fd < 0) {
    if (out_fd >= 0) ::close(out_fd);
    if (err_fd >= 0) ::close(err_fd);
    if (in_fd >= 0) ::close(in_fd);
    return Status::Io("cannot open the child's stdio files");
  }
  pid_t pid = ::fork();
  if (pid < 0) {
    ::close(out_fd);
    ::close(err_fd);
    ::close(in_fd);
    return Status::Io(std::string("fork: ") + std::strerror(errno));
  }
  if (pid == 0) {
    ::dup2(in_fd, 0);
    ::dup2(out_fd, 1);
    ::dup2(err_fd, 2);
    // Signals blocked or ignored by the test runner must not leak into the child (SIGINT tests).
    sigset_t none;
    sigemptyset(&none);
    sigprocmask(SIG_SETMASK, &none, nullptr);
    ::signal(SIGINT, SIG_DFL);
    ::signal(SIGTERM, SIG_DFL);
    ::signal(SIGPIPE, SIG_DFL);
    if (!o.cwd.empty() && ::chdir(o.cwd.c_str()) != 0) ::_exit(126);
    ::execve(program.c_str(), argv.data(), envp.data());
    ::_exit(127);
  }
  ::close(out_fd);
  ::close(err_fd);
  ::close(in_fd);
  run->pid_ = pid;
  return run;
}

ProcessRun::~ProcessRun() {
  if (pid_ > 0 && !exit_code_) kill();
}

bool ProcessRun::running() {
  if (exit_code_ || pid_ <= 0) return false;
  int status = 0;
  pid_t r = ::waitpid(pid_, &status, WNOHANG);
  if (r == pid_) {
    exit_code_ = decode_wait_status(status);
    return false;
  }
  return r == 0;
}

std::optional<int> ProcessRun::wait(std::chrono::milliseconds timeout) {
  auto deadline = std::chrono::steady_clock::now() + timeout;
  for (;;) {
    if (!running()) return exit_code_;
    if (std::chrono::steady_clock::now() >= deadline) return std::nullopt;
    std::this_thread::sleep_for(std::chrono::milliseconds(5));
  }
}

void ProcessRun::signal(int sig) {
  if (pid_ > 0 && !exit_code_) ::kill(pid_, sig);
}

void ProcessRun::interrupt() { signal(SIGINT); }
void ProcessRun::terminate() { signal(SIGTERM); }

void ProcessRun::kill() {
  if (pid_ <= 0 || exit_code_) return;
  ::kill(pid_, SIGKILL);
  int status = 0;
  for (int i = 0; i < 1000; ++i) {  // SIGKILL cannot be caught; the reap is quick
    pid_t r = ::waitpid(pid_, &status, 0);
    if (r == pid_) {
      exit_code_ = decode_wait_status(status);
      return;
    }
    if (r < 0 && errno != EINTR) return;
  }
}

std::string ProcessRun::stdout_text() const { return read_text_file(options_.stdout_path); }
std::string ProcessRun::stderr_text() const { return read_text_file(options_.stderr_path); }

CommandResult run_command(const std::vector<std::string>& argv, std::chrono::milliseconds timeout,
                          const std::vector<std::pair<std::string, std::string>>& env) {
  CommandResult result;
  ProcessOptions options;
  options.argv = argv;
  options.env = env;
  auto run = ProcessRun::start(options);
  if (!run.ok()) {
    result.err = run.status().ToString();
    result.exit_code = 127;
    return result;
  }
  auto code = (*run)->wait(timeout);
  if (!code) {
    result.timed_out = true;
    (*run)->kill();
    code = (*run)->exit_code();
  }
  result.exit_code = code.value_or(-1);
  result.out = (*run)->stdout_text();
  result.err = (*run)->stderr_text();
  return result;
}

CommandResult run_curl(const std::vector<std::string>& args, std::chrono::milliseconds timeout) {
  std::vector<std::string> argv = {"curl", "-sS"};
  argv.insert(argv.end(), args.begin(), args.end());
  // curl honours proxy variables from the environment; tests say explicitly what they want.
  return run_command(argv, timeout,
                     {{"http_proxy", ""}, {"https_proxy", ""}, {"HTTP_PROXY", ""}, {"HTTPS_PROXY", ""}, {"ALL_PROXY", ""}, {"all_proxy", ""}});
}

bool wait_for_file(const std::string& path, std::chrono::milliseconds timeout) {
  auto deadline = std::chrono::steady_clock::now() + timeout;
  for (;;) {
    struct stat st {};
    if (::stat(path.c_str(), &st) == 0 && st.st_size > 0) return true;
    if (std::chrono::steady_clock::now() >= deadline) return false;
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
  }
}

std::string read_text_file(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) return {};
  std::ostringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

Status write_text_file(const std::string& path, const std::string& text, int mode) {
  int fd = ::open(path.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, mode);
  if (fd < 0) return Status::Io("cannot write " + path + ": " + std::strerror(errno));
  size_t off = 0;
  while (off < text.size()) {
    ssize_t n = ::write(fd, text.data() + off, text.size() - off);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) {
      ::close(fd);
      return Status::Io("cannot write " + path);
    }
    off += static_cast<size_t>(n);
  }
  ::close(fd);
  return Status::Ok();
}

std::string find_executable(const std::string& name) {
  if (name.find('/') != std::string::npos) return ::access(name.c_str(), X_OK) == 0 ? name : "";
  const char* path = std::getenv("PATH");
  std::string dirs = path ? path : "/usr/local/bin:/usr/bin:/bin";
  size_t pos = 0;
  while (pos <= dirs.size()) {
    size_t colon = dirs.find(':', pos);
    std::string dir = dirs.substr(pos, colon == std::string::npos ? std::string::npos : colon - pos);
    if (!dir.empty()) {
      std::string candidate = dir + "/" + name;
      struct stat st {};
      if (::stat(candidate.c_str(), &st) == 0 && S_ISREG(st.st_mode) && ::access(candidate.c_str(), X_OK) == 0)
        return candidate;
    }
    if (colon == std::string::npos) break;
    pos = colon + 1;
  }
  return {};
}

bool have_executable(const std::string& name) { return !find_executable(name).empty(); }

uint16_t port_from_ready_file(const std::string& path) {
  std::string text = read_text_file(path);
  while (!text.empty() && (text.back() == '\n' || text.back() == '\r' || text.back() == ' ')) text.pop_back();
  size_t colon = text.rfind(':');
  if (colon == std::string::npos) return 0;
  long port = std::strtol(text.c_str() + colon + 1, nullptr, 10);
  return port > 0 && port < 65536 ? static_cast<uint16_t>(port) : 0;
}

size_t thread_count() {
  size_t n = 0;
  DIR* d = ::opendir("/proc/self/task");
  if (!d) return 0;
  while (dirent* e = ::readdir(d))
    if (e->d_name[0] != '.') ++n;
  ::closedir(d);
  return n;
}

std::string fake_entra_binary() { return AUTHSCOPE_FAKE_ENTRA_BINARY; }

Result<FakeEntraProcess> start_fake_entra_process(const std::string& dir, const std::vector<std::string>& extra_args,
                                                  std::chrono::milliseconds timeout) {
  if (!have_executable(fake_entra_binary())) return Status::NotFound("fake-entra is not built: " + fake_entra_binary());
  ::mkdir(dir.c_str(), 0700);
  std::string ready = dir + "/fake-entra.ready";
  ::unlink(ready.c_str());
  ProcessOptions options;
  options.argv = {fake_entra_binary(), "--listen", "127.0.0.1:0", "--ready-file", ready, "--pki-dir", dir + "/pki"};
  options.argv.insert(options.argv.end(), extra_args.begin(), extra_args.end());
  options.stdout_path = dir + "/fake-entra.out";
  options.stderr_path = dir + "/fake-entra.err";
  auto run = ProcessRun::start(options);
  if (!run.ok()) return run.status();
  FakeEntraProcess out;
  out.process = std::move(run.value());
  if (!wait_for_file(ready, timeout) || (out.port = port_from_ready_file(ready)) == 0)
    return Status::Io("fake-entra did not become ready: " + out.process->stderr_text());
  out.pki = pki_paths(dir + "/pki");
  return out;
}

CommandResult run_entra_client(const std::vector<std::string>& args, std::chrono::milliseconds timeout) {
  std::vector<std::string> argv = {"/usr/bin/python3", entra_client_script()};
  argv.insert(argv.end(), args.begin(), args.end());
  return run_command(argv, timeout);
}
std::string entra_client_script() { return AUTHSCOPE_ENTRA_CLIENT_SCRIPT; }

}  // namespace authscope::testkit
