#include "support/cli.h"

#include <unistd.h>

#include <filesystem>
#include <fstream>
#include <sstream>

#include "openpcc/util/subprocess.h"

namespace openpcc::testing {
namespace {

std::string ShellQuote(const std::string& arg) {
  std::string out = "'";
  for (char c : arg) {
    if (c == '\'') {
      out += "'\\''";
    } else {
      out += c;
    }
  }
  return out + "'";
}

std::string Slurp(const std::filesystem::path& path) {
  std::ifstream in(path, std::ios::binary);
  std::stringstream buffer;
  buffer << in.rdbuf();
  return buffer.str();
}

}  // namespace

std::string OpenpccBinary() { return OPENPCC_BINARY; }

CliResult RunCli(const std::vector<std::string>& args) { return RunCliWithInput(args, {}); }

CliResult RunCliWithInput(const std::vector<std::string>& args, std::string_view input) {
  static int counter = 0;
  std::filesystem::path dir = std::filesystem::temp_directory_path() /
                              ("openpcc-cli-" + std::to_string(getpid()) + "-" + std::to_string(counter++));
  std::filesystem::create_directories(dir);
  std::string command = ShellQuote(OpenpccBinary());
  for (const std::string& arg : args) command += " " + ShellQuote(arg);
  std::ofstream(dir / "in", std::ios::binary) << input;
  command += " <" + ShellQuote((dir / "in").string()) + " >" + ShellQuote((dir / "out").string()) + " 2>" +
             ShellQuote((dir / "err").string());
  CliResult result;
  Result<Subprocess> process = Subprocess::Start({{"/bin/sh", "-c", command}, {}, {}, {}});
  if (process.ok()) result.exit_code = process.value().Wait();
  result.out = Slurp(dir / "out");
  result.err = Slurp(dir / "err");
  std::filesystem::remove_all(dir);
  return result;
}

}  // namespace openpcc::testing
