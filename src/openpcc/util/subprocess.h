// util/subprocess.h — child processes that cannot outlive their parent.
//
// `openpcc up` runs every service as a child of one process, and integration tests start real
// service processes on loopback. A `Subprocess` owns its child: the destructor stops it (SIGTERM,
// then SIGKILL after a grace period), and the child gets PR_SET_PDEATHSIG so it dies with its
// parent even if the parent is SIGKILLed. Services report readiness by writing a "ready file"
// (the address they bound, so tests can listen on port 0 without races); `WaitForFile` polls it.
//
// Thread safety: a Subprocess is used from one thread.
#pragma once

#include <sys/types.h>

#include <chrono>
#include <optional>
#include <string>
#include <vector>

#include "openpcc/util/result.h"

namespace openpcc {

struct SubprocessOptions {
  std::vector<std::string> argv;  // argv[0] is the executable path
  // Extra environment variables ("NAME=value"), added to the parent's environment.
  std::vector<std::string> env;
  // stdout and stderr go to this file (appended); empty means inherit the parent's.
  std::string log_path;
  std::string working_directory;
};

class Subprocess {
 public:
  static Result<Subprocess> Start(const SubprocessOptions& options);

  Subprocess(Subprocess&& other) noexcept;
  Subprocess& operator=(Subprocess&& other) noexcept;
  Subprocess(const Subprocess&) = delete;
  Subprocess& operator=(const Subprocess&) = delete;
  ~Subprocess();

  pid_t pid() const { return pid_; }
  // True while the child has not exited (reaps it if it has).
  bool Running();
  // SIGTERM, wait up to `grace`, then SIGKILL. Returns the exit status as Wait does.
  int Stop(std::chrono::milliseconds grace = std::chrono::seconds(5));
  // Sends a signal (tests use SIGKILL to simulate a crash).
  void Signal(int signal);
  // Waits for exit; returns the exit code, or 128 + signal number if killed by a signal.
  int Wait();
  // Waits up to `timeout`; nullopt if still running.
  std::optional<int> WaitFor(std::chrono::milliseconds timeout);

 private:
  explicit Subprocess(pid_t pid) : pid_(pid) {}
  pid_t pid_ = -1;
  std::optional<int> exit_status_;
};

// Polls until `path` exists and is non-empty, then returns its contents (trailing newline removed).
// Fails after `timeout`, or at once if `process` (when given) has exited.
Result<std::string> WaitForFile(const std::string& path, std::chrono::milliseconds timeout,
                                Subprocess* process = nullptr);

}  // namespace openpcc
