// tests/support/vectors.h — the one way tests load shared test vectors and committed fixtures.
//
// Shared vectors live in ../shared/vectors (DESIGN.md §9). The directory is taken from the
// OPENPCC_VECTORS_DIR environment variable, else from the path CMake was configured with. A
// missing vector fails the test that needs it; nothing is skipped silently.
#pragma once

#include <filesystem>
#include <string>
#include <string_view>

#include "openpcc/util/bytes.h"

namespace openpcc::testing {

std::filesystem::path VectorsDir();
std::filesystem::path SourceDir();
// Reads a file under VectorsDir(); aborts the test binary with a clear message if unreadable.
std::string ReadVectorFile(std::string_view relative_path);
std::string ReadSourceFile(std::string_view relative_path);
std::string ReadFileOrDie(const std::filesystem::path& path);
// Hex to bytes, failing the process on malformed test data.
Bytes Hex(std::string_view hex);

}  // namespace openpcc::testing
