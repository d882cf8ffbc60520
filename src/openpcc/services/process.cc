#include "openpcc/services/process.h"

#include <signal.h>
#include <sys/mman.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <unistd.h>

#include <atomic>
#include <cerrno>
#include <condition_variable>
#include <cstring>
#include <fstream>
#include <mutex>
#include <thread>

#include "openpcc/util/log.h"

namespace openpcc::services {
namespace {

std::mutex g_stop_mutex;
std::condition_variable g_stop_cv;
bool g_stop_requested = false;

}  // namespace

void RequestStop() {
  std::lock_guard<std::mutex> lock(g_stop_mutex);
  g_stop_requested = true;
  g_stop_cv.notify_all();
}

void BlockStopSignals() {
  sigset_t signals;
  sigemptyset(&signals);
  sigaddset(&signals, SIGTERM);
  sigaddset(&signals, SIGINT);
  pthread_sigmask(SIG_BLOCK, &signals, nullptr);
}

Status HardenProcess(const ProcessOptions& options) {
  rlimit no_core{0, 0};
  if (setrlimit(RLIMIT_CORE, &no_core) != 0 || prctl(PR_SET_DUMPABLE, 0) != 0) {
    return Error(ErrorCode::kInternal,
                 std::string("cannot disable core dumps: ") + std::strerror(errno));
  }
  if (options.lock_memory && mlockall(MCL_CURRENT | MCL_FUTURE) != 0) {
    // Unprivileged processes usually have a small RLIMIT_MEMLOCK; the service still runs, and
    // the operator is told what is not protected.
    LogWarning(options.name, "memory not locked; keys may be swapped out",
               {{"reason", std::strerror(errno)}});
  }
  return OkStatus();
}

std::function<void(const net::AccessLogEntry&)> AccessLogger(std::string component) {
  return [component = std::move(component)](const net::AccessLogEntry& e) {
    Log(e.status >= 500 ? LogLevel::kWarning : LogLevel::kInfo, component, "request",
        {{"id", std::to_string(e.request_id)},
         {"method", e.method},
         {"route", e.route},
         {"status", std::to_string(e.status)},
         {"in", std::to_string(e.request_bytes)},
         {"out", std::to_string(e.response_bytes)},
         {"ttfb_ms", std::to_string(e.time_to_first_byte.count())},
         {"total_ms", std::to_string(e.total_time.count())},
         {"limit", e.limit.empty() ? "-" : e.limit}});
  };
}

Status WriteFileAtomically(const std::string& path, std::string_view text) {
  std::string temp = path + ".tmp." + std::to_string(getpid());
  {
    std::ofstream out(temp, std::ios::binary | std::ios::trunc);
    out << text;
    if (!out.flush()) {
      return Error(ErrorCode::kFailedPrecondition, "cannot write '" + temp + "'");
    }
  }
  if (std::rename(temp.c_str(), path.c_str()) != 0) {
    std::remove(temp.c_str());
    return Error(ErrorCode::kFailedPrecondition,
                 "cannot rename '" + temp + "' to '" + path + "': " + std::strerror(errno));
  }
  return OkStatus();
}

int ServeUntilSignal(net::Server& server, const ProcessOptions& options,
                     const std::function<void()>& on_stop) {
  // Signals are taken synchronously by a waiter thread, so no handler runs in async context.
  sigset_t signals;
  sigemptyset(&signals);
  sigaddset(&signals, SIGTERM);
  sigaddset(&signals, SIGINT);
  pthread_sigmask(SIG_BLOCK, &signals, nullptr);
  std::thread waiter([signals] {
    int received = 0;
    if (sigwait(&signals, &received) == 0) RequestStop();
  });
  waiter.detach();

  if (Status hardened = HardenProcess(options); !hardened.ok()) {
    LogError(options.name, "cannot harden the process", {{"error", hardened.error().message()}});
    server.Shutdown(std::chrono::milliseconds(0));
    return 1;
  }
  LogInfo(options.name, "listening", {{"port", std::to_string(server.port())}});
  if (!options.ready_file.empty()) {
    Status ready = WriteFileAtomically(options.ready_file,
                                       options.address + ":" + std::to_string(server.port()) + "\n");
    if (!ready.ok()) {
      LogError(options.name, "cannot write the ready file", {{"error", ready.error().message()}});
      server.Shutdown(std::chrono::milliseconds(0));
      return 1;
    }
  }
  {
    std::unique_lock<std::mutex> lock(g_stop_mutex);
    g_stop_cv.wait(lock, [] { return g_stop_requested; });
    g_stop_requested = false;
  }
  LogInfo(options.name, "stopping", {{"active_streams", std::to_string(server.active_streams())}});
  if (on_stop) on_stop();
  server.Shutdown(options.grace);
  LogInfo(options.name, "stopped");
  return 0;
}

}  // namespace openpcc::services
