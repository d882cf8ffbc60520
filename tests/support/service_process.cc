#include "support/service_process.h"

#include <arpa/inet.h>
#include <gtest/gtest.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <fstream>
#include <iterator>

#include "support/cli.h"

namespace openpcc::testing {

namespace fs = std::filesystem;

std::string ReadText(const fs::path& path) {
  std::ifstream in(path, std::ios::binary);
  std::string text((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  while (!text.empty() && text.back() == '\n') text.pop_back();
  return text;
}

ServiceProcess LaunchService(const fs::path& dir, const std::string& name, std::vector<std::string> args,
                             const std::string& listen) {
  ServiceProcess p;
  p.name = name;
  p.dir = dir;
  SubprocessOptions options;
  options.argv = {OpenpccBinary()};
  options.argv.insert(options.argv.end(), args.begin(), args.end());
  for (const std::string& a : {std::string("--listen"), listen, std::string("--ready-file"),
                               (dir / (name + ".ready")).string(), std::string("--log-level"), std::string("info")}) {
    options.argv.push_back(a);
  }
  options.log_path = p.log_path().string();
  options.env = {"OPENPCC_STATE_DIR=" + (dir / (name + "-state")).string()};
  auto started = Subprocess::Start(options);
  EXPECT_TRUE(started.ok()) << name << ": " << (started.ok() ? "" : started.error().message());
  if (started.ok()) p.process = std::make_unique<Subprocess>(std::move(started).value());
  return p;
}

bool WaitReady(ServiceProcess& p, std::chrono::seconds wait) {
  if (!p.process) return false;
  auto ready = WaitForFile((p.dir / (p.name + ".ready")).string(), wait, p.process.get());
  EXPECT_TRUE(ready.ok()) << p.name << ": " << (ready.ok() ? "" : ready.error().message()) << "\n" << p.log();
  if (!ready.ok()) return false;
  p.address = *ready;
  while (!p.address.empty() && (p.address.back() == '\n' || p.address.back() == '\r')) p.address.pop_back();
  return true;
}

ServiceProcess StartService(const fs::path& dir, const std::string& name, std::vector<std::string> args,
                            std::chrono::seconds wait, const std::string& listen) {
  ServiceProcess p = LaunchService(dir, name, std::move(args), listen);
  WaitReady(p, wait);
  return p;
}

uint16_t FreeLoopbackPort() {
  const int fd = ::socket(AF_INET, SOCK_STREAM, 0);
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  addr.sin_port = 0;
  uint16_t port = 0;
  if (::bind(fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr) == 0) {
    socklen_t length = sizeof addr;
    if (::getsockname(fd, reinterpret_cast<sockaddr*>(&addr), &length) == 0) port = ntohs(addr.sin_port);
  }
  ::close(fd);
  return port;
}

}  // namespace openpcc::testing
