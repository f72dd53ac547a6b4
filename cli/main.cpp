// The only code the tests do not link: hands argv to the CLI library and turns any exception
// that escaped start-up code into a one-line message and exit code 1.
#include <exception>
#include <iostream>

#include "cli/cli.h"

int main(int argc, char** argv) {
  try {
    return authscope::run_cli(argc, argv, std::cout, std::cerr);
  } catch (const std::exception& e) {
    std::cerr << "authscope: " << e.what() << "\n";
    return authscope::kExitFailure;
  }
}
