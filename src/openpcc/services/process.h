// services/process.h — the lifetime every OpenPCC service process shares.
//
// A service builds its net::Server, then calls `ServeUntilSignal`, which
//   1. hardens the process: no core dumps (a core would hold keys and plaintext), and
//      best-effort locked memory so keys are not swapped out (DESIGN §6);
//   2. writes the ready file, if asked: "<host>:<port>\n", written atomically once listening, so
//      tests and `openpcc up` can bind port 0 without races;
//   3. waits for SIGTERM or SIGINT (or a stop request from another thread), then shuts the server
//      down gracefully: no new requests, streams in flight get `grace` to finish.
// Access log lines go through util/log.h: request id, route, status, sizes, timings, never bodies.
//
// Thread safety: call from the main thread; RequestStop may be called from any thread.
#pragma once

#include <chrono>
#include <functional>
#include <memory>
#include <string>

#include "openpcc/net/server.h"
#include "openpcc/util/result.h"

namespace openpcc::services {

struct ProcessOptions {
  std::string name;        // "gateway", "node", ... (log component)
  std::string ready_file;  // empty: none
  std::string address = "127.0.0.1";  // what the ready file reports with the bound port
  std::chrono::milliseconds grace{10'000};
  bool lock_memory = true;  // mlockall, best effort (a warning when the limit forbids it)
};

// Blocks SIGTERM and SIGINT in the calling thread. Call it before any thread starts (the server's
// I/O threads, workers): threads inherit the mask, so ServeUntilSignal's waiter is the only thread
// that receives them and a stop is always graceful. cli::ToServerOptions calls it.
void BlockStopSignals();

// Disables core dumps (RLIMIT_CORE 0, PR_SET_DUMPABLE 0) and, if asked, locks memory.
Status HardenProcess(const ProcessOptions& options);

// An access-log callback for ServerOptions that writes content-free lines via util/log.h.
std::function<void(const net::AccessLogEntry&)> AccessLogger(std::string component);

// Writes `text` to `path` atomically (temporary file + rename).
Status WriteFileAtomically(const std::string& path, std::string_view text);

// Steps 1–3 above. `on_stop` (optional) runs after the signal, before the server shuts down
// (deregistration, flushing state). Returns 0 on a clean stop, 1 if a step failed.
int ServeUntilSignal(net::Server& server, const ProcessOptions& options,
                     const std::function<void()>& on_stop = {});


// Makes ServeUntilSignal return as if signalled (tests, and services stopping on fatal errors).
void RequestStop();

}  // namespace openpcc::services
