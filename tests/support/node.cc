#include "support/node.h"

#include <gtest/gtest.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <string>

#include "support/vectors.h"

namespace openpcc::testing {

boost::json::value RunNodePeer(std::string_view script, const boost::json::value& input) {
  namespace fs = std::filesystem;
  const fs::path script_path = SourceDir() / "tests" / "interop" / script;
  char dir_template[] = "/tmp/openpcc-node-XXXXXX";
  if (mkdtemp(dir_template) == nullptr) {
    ADD_FAILURE() << "mkdtemp failed";
    return nullptr;
  }
  const fs::path dir(dir_template);
  const fs::path in_path = dir / "in.json", out_path = dir / "out.json", err_path = dir / "err.txt";
  {
    std::ofstream in(in_path, std::ios::binary);
    in << boost::json::serialize(input);
  }
  const std::string command = "node '" + script_path.string() + "' < '" + in_path.string() +
                              "' > '" + out_path.string() + "' 2> '" + err_path.string() + "'";
  const int status = std::system(command.c_str());
  const std::string out = ReadFileOrDie(out_path);
  const std::string err = ReadFileOrDie(err_path);
  fs::remove_all(dir);
  if (status == -1 || !WIFEXITED(status) || WEXITSTATUS(status) != 0) {
    ADD_FAILURE() << "node peer " << script << " failed (status " << status << "): " << err;
    return nullptr;
  }
  boost::system::error_code ec;
  boost::json::value parsed = boost::json::parse(out, ec);
  if (ec) {
    ADD_FAILURE() << "node peer " << script << " printed invalid JSON: " << out.substr(0, 200);
    return nullptr;
  }
  return parsed;
}

}  // namespace openpcc::testing
