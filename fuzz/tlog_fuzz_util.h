// Shared by the tlog fuzz targets: abort with a message when an invariant fails.
#pragma once

#include <cstdio>
#include <cstdlib>
#include <string>

namespace openpcc::fuzz {

[[noreturn]] inline void TlogInvariantViolated(const std::string& what) {
  std::fprintf(stderr, "INVARIANT VIOLATED: %s\n", what.c_str());
  std::abort();
}

}  // namespace openpcc::fuzz
