#include "support/vectors.h"

#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <sstream>

namespace openpcc::testing {

std::filesystem::path VectorsDir() {
  if (const char* env = std::getenv("OPENPCC_VECTORS_DIR"); env != nullptr && *env != '\0') return env;
  return OPENPCC_VECTORS_DIR_DEFAULT;
}

std::filesystem::path SourceDir() { return OPENPCC_SOURCE_DIR; }

std::string ReadFileOrDie(const std::filesystem::path& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) {
    std::fprintf(stderr, "test data missing: %s (set OPENPCC_VECTORS_DIR?)\n", path.c_str());
    std::abort();
  }
  std::ostringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

std::string ReadVectorFile(std::string_view relative_path) {
  return ReadFileOrDie(VectorsDir() / relative_path);
}

std::string ReadSourceFile(std::string_view relative_path) {
  return ReadFileOrDie(SourceDir() / relative_path);
}

Bytes Hex(std::string_view hex) {
  auto decoded = HexDecode(hex);
  if (!decoded.ok()) {
    std::fprintf(stderr, "bad hex in test data: %s\n", decoded.error().message().c_str());
    std::abort();
  }
  return std::move(decoded).value();
}

}  // namespace openpcc::testing
