// tests/support/service_process.h — one `openpcc <role>` as a real process for integration tests:
// listening on loopback (port 0 unless a test needs the port in advance), a ready file, its log
// and state directory under the test's directory. Also a free loopback port, for the rare flag
// that must name a port before its process exists (a node's --advertise-url with TLS, the
// gateway's operator listener that nodes start registering with before it runs).
#pragma once

#include <chrono>
#include <cstdint>
#include <filesystem>
#include <memory>
#include <string>
#include <vector>

#include "openpcc/util/subprocess.h"

namespace openpcc::testing {

// A file's text without its trailing newlines ("" if it cannot be read).
std::string ReadText(const std::filesystem::path& path);

struct ServiceProcess {
  std::string name;
  std::filesystem::path dir;
  std::unique_ptr<Subprocess> process;
  std::string address;  // host:port, once ready
  std::string url() const { return "http://" + address; }
  std::filesystem::path log_path() const { return dir / (name + ".log"); }
  std::string log() const { return ReadText(log_path()); }
};

// Starts `openpcc ARGS... --listen LISTEN --ready-file DIR/NAME.ready --log-level info` with its
// output in DIR/NAME.log and OPENPCC_STATE_DIR=DIR/NAME-state, without waiting.
ServiceProcess LaunchService(const std::filesystem::path& dir, const std::string& name,
                             std::vector<std::string> args, const std::string& listen = "127.0.0.1:0");
// Waits for a launched service's ready file; a test failure (with its log) when it does not come.
bool WaitReady(ServiceProcess& service, std::chrono::seconds wait = std::chrono::seconds(30));
// LaunchService + WaitReady; `address` stays empty when the service did not start.
ServiceProcess StartService(const std::filesystem::path& dir, const std::string& name,
                            std::vector<std::string> args, std::chrono::seconds wait = std::chrono::seconds(30),
                            const std::string& listen = "127.0.0.1:0");

// A loopback TCP port that was free a moment ago (bound to port 0, then closed).
uint16_t FreeLoopbackPort();

}  // namespace openpcc::testing
