// services/tlog/tlog_service.h — `openpcc tlog`: the LogStore (tlog/log_store.h) behind HTTP
// (log_api.h), a batcher that turns concurrent submissions into one durable Append, and the
// witness gatherer that keeps the served checkpoint cosigned and fresh.
//
// Submissions. A POST /add handler checks its entries against the keyring (so one refused entry
// fails only its own request, with the reason), queues them and waits; the batcher thread takes
// every queued request (up to `max_batch` entries), appends them in one LogStore::Append (one
// fdatasync, one checkpoint), computes each request's inclusion proofs and wakes the handlers,
// which answer. An answer therefore always follows durability.
//
// Witnesses. The gatherer thread sends the current checkpoint with a consistency proof from the
// size each witness last saw (C2SP tlog-witness add-checkpoint; a 409 tells it that size) after
// every append and at least once per `refresh_interval` even when the log has not grown, so the
// quorum's cosignature timestamps — the clients' freshness (DESIGN §2.4) — keep advancing.
// Cosignatures are checked and stored by LogStore::AddCosignatures. GET /checkpoint serves the
// newest checkpoint that `witness_quorum` witnesses have cosigned (LogStore's served checkpoint), so
// a client never fetches one without cosignatures just after an append; POST /add answers with the
// new checkpoint itself (log signature only), against which its inclusion proofs are built.
//
// Thread safety: construct, take Routes(), Start() from one thread; the routes' handlers run on
// the server's threads; Stop() after the server stopped serving, before it is destroyed.
#pragma once

#include <chrono>
#include <condition_variable>
#include <filesystem>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <thread>
#include <vector>

#include "openpcc/net/router.h"
#include "openpcc/services/work_queue.h"
#include "openpcc/tlog/entry.h"
#include "openpcc/tlog/log_store.h"

namespace openpcc::services {

struct WitnessEndpoint {
  std::string url;  // base URL; the request goes to <url>/add-checkpoint
  tlog::CosignatureVerifier key;
};

// Test-only crash injection (`--testing-crash-at`): SIGKILL the process at `point` of the
// `on_append`-th append since start (1-based). kAck kills right after the answer was sent.
enum class TestingCrashPoint { kNone, kWrite, kFsync, kCheckpoint, kAck };

// The default witness quorum: the client log policy's default threshold (DESIGN §2.6: 2 of at
// least 3).
inline constexpr size_t kDefaultWitnessQuorum = 2;

struct TlogServiceOptions {
  std::filesystem::path dir;
  std::string origin;
  tlog::EntryKeyring keyring;
  std::vector<WitnessEndpoint> witnesses;
  // Cosignatures a checkpoint needs before /checkpoint serves it, capped at the number of witnesses.
  // Set it to the largest threshold the clients use.
  size_t witness_quorum = kDefaultWitnessQuorum;
  std::chrono::milliseconds refresh_interval{5 * 60 * 1000};
  std::chrono::milliseconds witness_timeout{10'000};
  size_t max_batch = 4096;
  TestingCrashPoint crash_at = TestingCrashPoint::kNone;
  uint64_t crash_on_append = 1;
};

class TlogService {
 public:
  static Result<std::unique_ptr<TlogService>> Open(TlogServiceOptions options, tlog::NoteSigner log_signer);
  ~TlogService();

  // GET /checkpoint, GET /tile/..., POST /add, GET /healthz.
  net::Router Routes();
  // Starts the batcher and the witness gatherer (which contacts the witnesses at once).
  void Start();
  void Stop();

  tlog::LogStore& store() { return *store_; }

 private:
  struct Pending;
  explicit TlogService(TlogServiceOptions options) : options_(std::move(options)), readers_(2) {}
  void BatchLoop();
  void GatherLoop();
  void GatherFrom(size_t witness);

  TlogServiceOptions options_;
  std::unique_ptr<tlog::LogStore> store_;
  WorkQueue readers_;  // tile and checkpoint reads (they wait while an append fsyncs)

  std::mutex mu_;
  std::condition_variable batch_cv_;
  std::condition_variable gather_cv_;
  std::vector<std::shared_ptr<Pending>> queue_;
  bool stopping_ = false;
  bool grown_ = false;
  uint64_t appends_ = 0;  // batcher thread only
  std::vector<std::optional<uint64_t>> witness_sizes_;  // gatherer thread only
  std::thread batcher_;
  std::thread gatherer_;
};

}  // namespace openpcc::services
