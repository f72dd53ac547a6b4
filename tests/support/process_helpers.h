// Helpers for tests that run programs: a temporary AUTHSCOPE_HOME, a child process with captured
// output and a bounded wait, wait_for_file for --ready-file, and run_curl. Every wait is bounded.
// A ProcessRun that is still running when destroyed is killed (SIGKILL) and reaped, so a failed
// assertion never leaves a child behind.
#pragma once

#include <sys/types.h>

#include <chrono>
#include <memory>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "model/status.h"
#include "tests/support/test_pki.h"

namespace authscope::testkit {

// mkdtemp under $TMPDIR (or /tmp); removed recursively by the destructor unless keep() was called
// (handy when debugging a failure: set AUTHSCOPE_KEEP_TEMP=1 to keep them all).
class TempHome {
 public:
  explicit TempHome(const std::string& prefix = "authscope-test");
  ~TempHome();
  TempHome(const TempHome&) = delete;
  TempHome& operator=(const TempHome&) = delete;

  const std::string& path() const { return path_; }
  std::string file(const std::string& name) const { return path_ + "/" + name; }
  void keep() { keep_ = true; }

 private:
  std::string path_;
  bool keep_ = false;
};

struct ProcessOptions {
  std::vector<std::string> argv;                               // argv[0] is the program (PATH searched)
  std::vector<std::pair<std::string, std::string>> env;        // set on top of the inherited env
  std::vector<std::string> unset_env;                          // removed from the inherited env
  std::string cwd;                                             // empty: inherit
  std::string stdout_path;                                     // empty: a temp file
  std::string stderr_path;                                     // empty: a temp file
  std::string stdin_path;                                      // empty: /dev/null
};

class ProcessRun {
 public:
  static Result<std::unique_ptr<ProcessRun>> start(ProcessOptions options);
  ~ProcessRun();
  ProcessRun(const ProcessRun&) = delete;
  ProcessRun& operator=(const ProcessRun&) = delete;

  pid_t pid() const { return pid_; }
  bool running();
  // Exit code (128+N when killed by signal N), or nullopt when still running after timeout.
  std::optional<int> wait(std::chrono::milliseconds timeout);
  void signal(int sig);                           // to this pid only
  void interrupt();                               // SIGINT
  void terminate();                               // SIGTERM
  void kill();                                    // SIGKILL, then reap
  std::optional<int> exit_code() const { return exit_code_; }

  std::string stdout_text() const;
  std::string stderr_text() const;
  const std::string& stdout_path() const { return options_.stdout_path; }
  const std::string& stderr_path() const { return options_.stderr_path; }

 private:
  ProcessRun() = default;
  ProcessOptions options_;
  pid_t pid_ = -1;
  std::optional<int> exit_code_;
  std::unique_ptr<TempHome> scratch_;  // holds default stdout/stderr files
};

struct CommandResult {
  int exit_code = -1;        // 128+N when killed by signal N
  bool timed_out = false;    // killed because it ran past the timeout
  std::string out;
  std::string err;
};

// Runs argv to completion (killed after timeout) and returns its output.
CommandResult run_command(const std::vector<std::string>& argv,
                          std::chrono::milliseconds timeout = std::chrono::seconds(30),
                          const std::vector<std::pair<std::string, std::string>>& env = {});
// run_command({"curl", "-sS", args...}). curl must exist (see have_executable).
CommandResult run_curl(const std::vector<std::string>& args,
                       std::chrono::milliseconds timeout = std::chrono::seconds(30));

// True once path exists and is non-empty (polls every 10 ms).
bool wait_for_file(const std::string& path, std::chrono::milliseconds timeout);
// Reads a whole file; "" when missing.
std::string read_text_file(const std::string& path);
Status write_text_file(const std::string& path, const std::string& text, int mode = 0644);
// Finds an executable on PATH; "" when absent (tests skip with a message).
std::string find_executable(const std::string& name);
bool have_executable(const std::string& name);
// Reads "ADDR:PORT" from a --ready-file; port 0 when unreadable.
uint16_t port_from_ready_file(const std::string& path);
// Number of threads in this process (/proc/self/task), for leak assertions.
size_t thread_count();
// Where build/fake-entra and tests/support/entra_client.py are (compiled-in paths).
std::string fake_entra_binary();
std::string entra_client_script();

// build/fake-entra as a child process: PKI in dir/pki, ready file dir/fake-entra.ready.
struct FakeEntraProcess {
  std::unique_ptr<ProcessRun> process;  // stop with process->interrupt() then wait(); killed if dropped
  uint16_t port = 0;
  PkiPaths pki;
};
Result<FakeEntraProcess> start_fake_entra_process(const std::string& dir, const std::vector<std::string>& extra_args = {},
                                                  std::chrono::milliseconds timeout = std::chrono::seconds(30));
// /usr/bin/python3 entra_client.py ARGS… (e.g. {"--proxy", url, "--ca", ca, "scenario", "ropc"}).
CommandResult run_entra_client(const std::vector<std::string>& args,
                               std::chrono::milliseconds timeout = std::chrono::seconds(120));

}  // namespace authscope::testkit
