// The environment `authscope run` gives its child: the inherited one plus the variables that
// send every common client family through the proxy and make it trust the authscope CA.
#pragma once

#include <string>
#include <utility>
#include <vector>

#include "cli/cli_support.h"

namespace authscope::cli {

// The variables set (or replaced) for a proxy on 127.0.0.1:port.
std::vector<std::pair<std::string, std::string>> proxy_env_vars(const HomePaths& paths, uint16_t port);

// `base` (KEY=VALUE strings, e.g. from environ) with `vars` replacing any same-named entries.
std::vector<std::string> merge_env(const std::vector<std::string>& base,
                                   const std::vector<std::pair<std::string, std::string>>& vars);

}  // namespace authscope::cli
