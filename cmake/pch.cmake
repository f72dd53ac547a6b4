# Precompiled headers (opt-in: -DAUTHSCOPE_PCH=ON). nlohmann/json.hpp and catch.hpp are in
# nearly every translation unit; with PCH, libraries get one PCH each (their compile definitions
# differ) and every Catch2 test executable reuses one shared PCH built by authscope_test_pch
# (tests/CMakeLists.txt), as they all have the same flags and definitions.
# Off by default because it did not pay with g++ 12 here: a fresh full RelWithDebInfo build
# took 1307 s CPU (user+sys) with PCH against 1289 s without (2026-11-26, 2 cores). The time goes
# into instantiating and optimising json templates per translation unit, which a GCC PCH does
# not save, and GCC 12 then emits false -Warray-bounds warnings from std::string in inlined code.
option(AUTHSCOPE_PCH "Precompile nlohmann/json.hpp (and catch.hpp for tests)" OFF)

set(AUTHSCOPE_PCH_HEADERS
  <nlohmann/json.hpp>
  <functional> <map> <memory> <optional> <string> <string_view> <utility> <vector>)

# authscope_precompile(target...): a PCH of the common headers for each C++ library target.
function(authscope_precompile)
  if(NOT AUTHSCOPE_PCH)
    return()
  endif()
  foreach(target IN LISTS ARGN)
    target_precompile_headers(${target} PRIVATE ${AUTHSCOPE_PCH_HEADERS})
  endforeach()
endfunction()
