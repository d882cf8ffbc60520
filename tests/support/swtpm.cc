#include "support/swtpm.h"

#include <arpa/inet.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <signal.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <cstdlib>
#include <fstream>
#include <thread>
#include <vector>

namespace openpcc::testing {
namespace {

namespace fs = std::filesystem;

// The executable's full path on PATH, or empty.
std::string Which(const char* name) {
  const char* path = std::getenv("PATH");
  if (path == nullptr) return "";
  std::string_view rest(path);
  while (!rest.empty()) {
    size_t colon = rest.find(':');
    fs::path candidate = fs::path(std::string(rest.substr(0, colon))) / name;
    if (access(candidate.c_str(), X_OK) == 0) return candidate.string();
    if (colon == std::string_view::npos) break;
    rest = rest.substr(colon + 1);
  }
  return "";
}

// Forks and execs `args`, output to `log`; the child dies with this process.
pid_t Spawn(const std::vector<std::string>& args, const fs::path& log) {
  pid_t parent = getpid();
  pid_t pid = fork();
  if (pid != 0) return pid;
  prctl(PR_SET_PDEATHSIG, SIGKILL);
  if (getppid() != parent) _exit(127);
  int fd = open(log.c_str(), O_WRONLY | O_CREAT | O_APPEND, 0600);
  if (fd >= 0) {
    dup2(fd, 1);
    dup2(fd, 2);
    close(fd);
  }
  std::vector<char*> argv;
  for (const std::string& arg : args) argv.push_back(const_cast<char*>(arg.c_str()));
  argv.push_back(nullptr);
  execvp(argv[0], argv.data());
  _exit(127);
}

std::string Tail(const fs::path& log) {
  std::ifstream in(log);
  std::string text((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  return text.size() > 2000 ? text.substr(text.size() - 2000) : text;
}

Status Run(const std::vector<std::string>& args, const fs::path& log) {
  pid_t pid = Spawn(args, log);
  if (pid < 0) return Error(ErrorCode::kInternal, "swtpm: fork failed");
  int status = 0;
  waitpid(pid, &status, 0);
  if (!WIFEXITED(status) || WEXITSTATUS(status) != 0) {
    return Error(ErrorCode::kInternal, args[0] + " failed: " + Tail(log));
  }
  return OkStatus();
}

// A loopback port that is free now, with the next one free too.
int FreePortPair() {
  for (int attempt = 0; attempt < 50; ++attempt) {
    int fd = socket(AF_INET, SOCK_STREAM, 0);
    sockaddr_in addr{};
    addr.sin_family = AF_INET;
    addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    addr.sin_port = 0;
    socklen_t length = sizeof(addr);
    if (bind(fd, reinterpret_cast<sockaddr*>(&addr), sizeof(addr)) != 0 ||
        getsockname(fd, reinterpret_cast<sockaddr*>(&addr), &length) != 0) {
      close(fd);
      continue;
    }
    int port = ntohs(addr.sin_port);
    int fd2 = socket(AF_INET, SOCK_STREAM, 0);
    sockaddr_in next = addr;
    next.sin_port = htons(static_cast<uint16_t>(port + 1));
    bool ok = port < 65535 && bind(fd2, reinterpret_cast<sockaddr*>(&next), sizeof(next)) == 0;
    close(fd2);
    close(fd);
    if (ok) return port;
  }
  return 0;
}

bool Connects(int port) {
  int fd = socket(AF_INET, SOCK_STREAM, 0);
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  addr.sin_port = htons(static_cast<uint16_t>(port));
  bool ok = connect(fd, reinterpret_cast<sockaddr*>(&addr), sizeof(addr)) == 0;
  close(fd);
  return ok;
}

}  // namespace

bool Swtpm::Available() {
  return !Which("swtpm").empty() && !Which("swtpm_setup").empty() && !Which("swtpm_localca").empty();
}

Result<std::unique_ptr<Swtpm>> Swtpm::Start() {
  std::string templ = (fs::temp_directory_path() / "openpcc-swtpm-XXXXXX").string();
  if (mkdtemp(templ.data()) == nullptr) return Error(ErrorCode::kInternal, "swtpm: mkdtemp failed");
  std::unique_ptr<Swtpm> tpm(new Swtpm(templ));
  const fs::path& dir = tpm->dir_;
  fs::create_directories(dir / "state");
  fs::create_directories(dir / "ca");
  {
    std::ofstream ca(dir / "localca.conf");
    ca << "statedir = " << (dir / "ca").string() << "\n"
       << "signingkey = " << (dir / "ca" / "signkey.pem").string() << "\n"
       << "issuercert = " << (dir / "ca" / "issuercert.pem").string() << "\n"
       << "certserial = " << (dir / "ca" / "certserial").string() << "\n";
    std::ofstream options(dir / "localca.options");
    options << "--platform-manufacturer OpenPCC\n--platform-version 2.1\n--platform-model test\n";
    std::ofstream setup(dir / "swtpm_setup.conf");
    setup << "create_certs_tool = " << Which("swtpm_localca") << "\n"
          << "create_certs_tool_config = " << (dir / "localca.conf").string() << "\n"
          << "create_certs_tool_options = " << (dir / "localca.options").string() << "\n"
          << "active_pcr_banks = sha256\n";
  }
  OPENPCC_RETURN_IF_ERROR(Run({"swtpm_setup", "--tpm2", "--tpmstate", (dir / "state").string(),
                               "--create-ek-cert", "--create-platform-cert", "--overwrite",
                               "--config", (dir / "swtpm_setup.conf").string()},
                              dir / "setup.log"));
  OPENPCC_RETURN_IF_ERROR(tpm->Launch());
  return tpm;
}

Status Swtpm::Launch() {
  for (int attempt = 0; attempt < 5; ++attempt) {
    int port = FreePortPair();
    if (port == 0) return Error(ErrorCode::kInternal, "swtpm: no free loopback port pair");
    pid_ = Spawn({"swtpm", "socket", "--tpm2", "--tpmstate", "dir=" + (dir_ / "state").string(),
                  "--server", "type=tcp,port=" + std::to_string(port) + ",bindaddr=127.0.0.1",
                  "--ctrl", "type=tcp,port=" + std::to_string(port + 1) + ",bindaddr=127.0.0.1",
                  "--flags", "not-need-init,startup-clear"},
                 dir_ / "swtpm.log");
    for (int wait = 0; wait < 100; ++wait) {
      int status = 0;
      if (waitpid(pid_, &status, WNOHANG) == pid_) {
        pid_ = -1;  // exited: most likely the ports were taken meanwhile; try others
        break;
      }
      if (Connects(port + 1)) {
        port_ = port;
        return OkStatus();
      }
      std::this_thread::sleep_for(std::chrono::milliseconds(50));
    }
    Stop();
  }
  return Error(ErrorCode::kInternal, "swtpm did not start: " + Tail(dir_ / "swtpm.log"));
}

void Swtpm::Stop() {
  if (pid_ <= 0) return;
  kill(pid_, SIGTERM);
  for (int wait = 0; wait < 40; ++wait) {
    if (waitpid(pid_, nullptr, WNOHANG) == pid_) {
      pid_ = -1;
      return;
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(50));
  }
  kill(pid_, SIGKILL);
  waitpid(pid_, nullptr, 0);
  pid_ = -1;
}

Swtpm::~Swtpm() {
  Stop();
  std::error_code ignored;
  fs::remove_all(dir_, ignored);
}

std::string Swtpm::tcti() const {
  return "swtpm:host=127.0.0.1,port=" + std::to_string(port_);
}

}  // namespace openpcc::testing
