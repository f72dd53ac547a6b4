// The authscope command line as a library function: every subcommand takes argv and the
// streams to write to and returns an exit code, so tests run commands in-process.
#pragma once

#include <iosfwd>

namespace authscope {

// Named exit codes (ninja's exit_status.h). `run` passes the child's own status through.
inline constexpr int kExitOk = 0;
inline constexpr int kExitFailure = 1;
inline constexpr int kExitUsage = 2;
inline constexpr int kExitFindingsAtOrAbove = 3;

int run_cli(int argc, char** argv, std::ostream& out, std::ostream& err);

}  // namespace authscope
