#include "openpcc/util/subprocess.h"

#include <fcntl.h>
#include <signal.h>
#include <sys/prctl.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <fstream>
#include <sstream>
#include <thread>

extern char** environ;

namespace openpcc {
namespace {

int DecodeStatus(int status) {
  if (WIFEXITED(status)) return WEXITSTATUS(status);
  if (WIFSIGNALED(status)) return 128 + WTERMSIG(status);
  return -1;
}

}  // namespace

Result<Subprocess> Subprocess::Start(const SubprocessOptions& options) {
  if (options.argv.empty()) {
    return Error(ErrorCode::kInvalidArgument, "subprocess: empty argv");
  }
  // Everything the child needs is prepared before fork: after fork only async-signal-safe calls.
  std::vector<char*> argv;
  for (const std::string& arg : options.argv) argv.push_back(const_cast<char*>(arg.c_str()));
  argv.push_back(nullptr);
  std::vector<std::string> env_storage;
  for (char** e = environ; *e != nullptr; ++e) env_storage.emplace_back(*e);
  for (const std::string& e : options.env) env_storage.push_back(e);
  std::vector<char*> envp;
  for (std::string& e : env_storage) envp.push_back(e.data());
  envp.push_back(nullptr);
  int log_fd = -1;
  if (!options.log_path.empty()) {
    log_fd = open(options.log_path.c_str(), O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0600);
    if (log_fd < 0) {
      return Error(ErrorCode::kFailedPrecondition,
                   "subprocess: cannot open log file '" + options.log_path + "': " +
                       std::strerror(errno));
    }
  }
  const pid_t parent = getpid();
  pid_t pid = fork();
  if (pid < 0) {
    if (log_fd >= 0) close(log_fd);
    return Error(ErrorCode::kInternal, std::string("subprocess: fork: ") + std::strerror(errno));
  }
  if (pid == 0) {
    prctl(PR_SET_PDEATHSIG, SIGTERM);
    if (getppid() != parent) _exit(127);  // the parent died before prctl took effect
    // A parent that waits for SIGINT/SIGTERM with sigwait blocks them (services/process.h); an
    // exec'd program inherits that mask, and one that does not unblock them itself (swtpm) would
    // ignore both Stop()'s SIGTERM and the death signal above. It starts with none blocked.
    sigset_t none;
    sigemptyset(&none);
    sigprocmask(SIG_SETMASK, &none, nullptr);
    if (log_fd >= 0) {
      dup2(log_fd, STDOUT_FILENO);
      dup2(log_fd, STDERR_FILENO);
    }
    if (!options.working_directory.empty() && chdir(options.working_directory.c_str()) != 0) {
      _exit(126);
    }
    execve(argv[0], argv.data(), envp.data());
    _exit(127);
  }
  if (log_fd >= 0) close(log_fd);
  return Subprocess(pid);
}

Subprocess::Subprocess(Subprocess&& other) noexcept
    : pid_(other.pid_), exit_status_(other.exit_status_) {
  other.pid_ = -1;
}

Subprocess& Subprocess::operator=(Subprocess&& other) noexcept {
  if (this != &other) {
    if (pid_ > 0 && !exit_status_) Stop();
    pid_ = other.pid_;
    exit_status_ = other.exit_status_;
    other.pid_ = -1;
  }
  return *this;
}

Subprocess::~Subprocess() {
  if (pid_ > 0 && !exit_status_) Stop();
}

bool Subprocess::Running() {
  if (pid_ <= 0 || exit_status_) return false;
  int status = 0;
  pid_t r = waitpid(pid_, &status, WNOHANG);
  if (r == pid_) {
    exit_status_ = DecodeStatus(status);
    return false;
  }
  return r == 0;
}

void Subprocess::Signal(int signal) {
  if (pid_ > 0 && !exit_status_) kill(pid_, signal);
}

int Subprocess::Wait() {
  if (exit_status_) return *exit_status_;
  if (pid_ <= 0) return -1;
  int status = 0;
  while (waitpid(pid_, &status, 0) < 0) {
    if (errno != EINTR) return -1;
  }
  exit_status_ = DecodeStatus(status);
  return *exit_status_;
}

std::optional<int> Subprocess::WaitFor(std::chrono::milliseconds timeout) {
  auto deadline = std::chrono::steady_clock::now() + timeout;
  while (Running()) {
    if (std::chrono::steady_clock::now() >= deadline) return std::nullopt;
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
  }
  return exit_status_;
}

int Subprocess::Stop(std::chrono::milliseconds grace) {
  if (pid_ <= 0) return -1;
  if (exit_status_) return *exit_status_;
  Signal(SIGTERM);
  if (std::optional<int> status = WaitFor(grace)) return *status;
  Signal(SIGKILL);
  return Wait();
}

Result<std::string> WaitForFile(const std::string& path, std::chrono::milliseconds timeout,
                                Subprocess* process) {
  auto deadline = std::chrono::steady_clock::now() + timeout;
  while (true) {
    std::ifstream in(path);
    if (in) {
      std::stringstream buffer;
      buffer << in.rdbuf();
      std::string text = buffer.str();
      if (!text.empty() && text.back() == '\n') {
        text.pop_back();
        return text;
      }
    }
    if (process != nullptr && !process->Running()) {
      return Error(ErrorCode::kFailedPrecondition,
                   "process exited before writing '" + path + "'");
    }
    if (std::chrono::steady_clock::now() >= deadline) {
      return Error(ErrorCode::kFailedPrecondition,
                   "timed out waiting for '" + path + "'");
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
  }
}

}  // namespace openpcc
