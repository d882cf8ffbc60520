#include "openpcc/services/tlog/tlog_service.h"

#include <signal.h>
#include <algorithm>
#include <cstdlib>
#include <unistd.h>

#include "openpcc/net/client.h"
#include "openpcc/net/server.h"
#include "openpcc/services/tlog/log_api.h"
#include "openpcc/tlog/witness_request.h"
#include "openpcc/util/log.h"

namespace openpcc::services {
namespace {

constexpr std::string_view kComponent = "tlog";

[[noreturn]] void CrashForTesting(std::string_view where) {
  LogWarning(kComponent, "testing: SIGKILL at crash point", {{"point", std::string(where)}});
  ::kill(::getpid(), SIGKILL);
  ::pause();
  std::abort();
}

unsigned StatusFor(const Error& error) {
  switch (error.code()) {
    case ErrorCode::kOutOfRange:
      return 404;
    case ErrorCode::kMalformed:
    case ErrorCode::kInvalidArgument:
    case ErrorCode::kTruncated:
      return 400;
    default:
      return 500;
  }
}

}  // namespace

struct TlogService::Pending {
  std::vector<Bytes> entries;
  std::function<void(Result<AddResponse>)> done;
  uint64_t append_number = 0;
};

Result<std::unique_ptr<TlogService>> TlogService::Open(TlogServiceOptions options, tlog::NoteSigner log_signer) {
  std::unique_ptr<TlogService> service(new TlogService(std::move(options)));
  TlogService* self = service.get();
  tlog::LogStoreOptions store_options;
  store_options.dir = self->options_.dir;
  store_options.origin = self->options_.origin;
  store_options.accept = [self](ByteView entry) -> Status {
    OPENPCC_ASSIGN_OR_RETURN(auto verified, self->options_.keyring.Verify(entry));
    (void)verified;
    return Status();
  };
  store_options.max_batch = self->options_.max_batch;
  for (const auto& w : self->options_.witnesses) store_options.witnesses.push_back(w.key);
  store_options.witness_quorum = std::min(std::max<size_t>(self->options_.witness_quorum, 1), self->options_.witnesses.size());
  if (self->options_.crash_at == TestingCrashPoint::kWrite || self->options_.crash_at == TestingCrashPoint::kFsync ||
      self->options_.crash_at == TestingCrashPoint::kCheckpoint) {
    store_options.crash_hook = [self](tlog::CrashPoint point) {
      if (self->appends_ != self->options_.crash_on_append) return;
      const auto wanted = self->options_.crash_at;
      if ((point == tlog::CrashPoint::kAfterWrite && wanted == TestingCrashPoint::kWrite) ||
          (point == tlog::CrashPoint::kAfterFsync && wanted == TestingCrashPoint::kFsync) ||
          (point == tlog::CrashPoint::kAfterCheckpoint && wanted == TestingCrashPoint::kCheckpoint)) {
        CrashForTesting("append");
      }
    };
  }
  OPENPCC_ASSIGN_OR_RETURN(self->store_, tlog::LogStore::Open(std::move(store_options), std::move(log_signer)));
  self->witness_sizes_.resize(self->options_.witnesses.size());
  const tlog::Checkpoint cp = self->store_->checkpoint();
  LogInfo(kComponent, "log opened", {{"origin", cp.origin}, {"size", std::to_string(cp.size)}});
  return service;
}

TlogService::~TlogService() { Stop(); }

net::Router TlogService::Routes() {
  net::Router router;
  router.Handle("GET", "/healthz", [](net::Request&, net::Response& response) -> net::Awaitable<void> {
    (void)co_await response.Send(200, "{\"ok\":true}");
  });
  router.Handle("GET", "/checkpoint", [this](net::Request&, net::Response& response) -> net::Awaitable<void> {
    std::function<std::string()> job = [this] { return store_->CheckpointNote(); };
    std::string note = co_await RunBlocking<std::string>(readers_, std::move(job));
    (void)response.SetHeader("Cache-Control", "no-store");
    (void)co_await response.Send(200, note, "text/plain; charset=utf-8");
  });
  router.HandlePrefix("GET", "/tile/", [this](net::Request& request, net::Response& response) -> net::Awaitable<void> {
    std::string path(request.path().substr(1));
    std::function<Result<Bytes>()> job = [this, path] { return store_->ReadPath(path); };
    Result<Bytes> bytes = co_await RunBlocking<Result<Bytes>>(readers_, std::move(job));
    if (!bytes.ok()) {
      const unsigned status = StatusFor(bytes.error());
      (void)co_await response.SendError(status, status == 404 ? "not_found" : "bad_request", bytes.error().message());
      co_return;
    }
    // Full tiles never change; partial ones are replaced by longer ones as the log grows.
    const bool partial = path.find(".p/") != std::string::npos;
    (void)response.SetHeader("Cache-Control", partial ? "no-cache" : "public, max-age=31536000, immutable");
    (void)co_await response.Send(200, AsChars(bytes.value()), "application/octet-stream");
  });
  router.Handle("POST", "/add", [this](net::Request& request, net::Response& response) -> net::Awaitable<void> {
    Result<std::string> body = co_await request.ReadAll(kMaxEntriesPerAdd * (tlog::kMaxEntrySize + 2));
    if (!body.ok()) {
      if (!response.started()) (void)co_await response.SendError(400, "bad_request", body.error().message());
      co_return;
    }
    Result<std::vector<Bytes>> entries = ParseAddRequest(AsBytes(body.value()));
    if (!entries.ok()) {
      (void)co_await response.SendError(400, "bad_request", entries.error().message());
      co_return;
    }
    for (size_t i = 0; i < entries->size(); ++i) {
      auto verified = options_.keyring.Verify((*entries)[i]);
      if (!verified.ok()) {
        LogInfo(kComponent, "entry refused", {{"entry", std::to_string(i)}, {"error", std::string(ErrorCodeName(verified.error().code()))}});
        (void)co_await response.SendError(403, "entry_refused", "entry " + std::to_string(i) + ": " + verified.error().message());
        co_return;
      }
    }
    auto pending = std::make_shared<Pending>();
    pending->entries = std::move(entries).value();
    std::function<void(std::function<void(Result<AddResponse>)>)> start = [this, pending](auto done) {
      pending->done = std::move(done);
      {
        std::lock_guard lock(mu_);
        queue_.push_back(pending);
      }
      batch_cv_.notify_one();
    };
    Result<AddResponse> result = co_await AwaitCallback<Result<AddResponse>>(std::move(start));
    if (!result.ok()) {
      (void)co_await response.SendError(StatusFor(result.error()) == 400 ? 400 : 500,
                                  StatusFor(result.error()) == 400 ? "bad_request" : "append_failed",
                                  result.error().message());
      co_return;
    }
    std::string json = FormatAddResponse(result.value());
    (void)co_await response.Send(200, json);
    if (options_.crash_at == TestingCrashPoint::kAck && pending->append_number == options_.crash_on_append) {
      CrashForTesting("ack");
    }
  });
  return router;
}

void TlogService::Start() {
  batcher_ = std::thread([this] { BatchLoop(); });
  gatherer_ = std::thread([this] { GatherLoop(); });
}

void TlogService::Stop() {
  {
    std::lock_guard lock(mu_);
    if (stopping_ && !batcher_.joinable() && !gatherer_.joinable()) return;
    stopping_ = true;
  }
  batch_cv_.notify_all();
  gather_cv_.notify_all();
  if (batcher_.joinable()) batcher_.join();
  if (gatherer_.joinable()) gatherer_.join();
  readers_.Stop();
}

void TlogService::BatchLoop() {
  while (true) {
    std::vector<std::shared_ptr<Pending>> batch;
    {
      std::unique_lock lock(mu_);
      batch_cv_.wait(lock, [this] { return stopping_ || !queue_.empty(); });
      if (queue_.empty()) return;
      size_t count = 0;
      size_t taken = 0;
      while (taken < queue_.size() &&
             (taken == 0 || count + queue_[taken]->entries.size() <= options_.max_batch)) {
        count += queue_[taken]->entries.size();
        ++taken;
      }
      batch.assign(queue_.begin(), queue_.begin() + static_cast<std::ptrdiff_t>(taken));
      queue_.erase(queue_.begin(), queue_.begin() + static_cast<std::ptrdiff_t>(taken));
    }
    std::vector<Bytes> entries;
    for (const auto& p : batch) entries.insert(entries.end(), p->entries.begin(), p->entries.end());
    ++appends_;
    const auto started = std::chrono::steady_clock::now();
    Result<tlog::AppendResult> appended = store_->Append(entries);
    if (!appended.ok()) {
      LogError(kComponent, "append failed", {{"entries", std::to_string(entries.size())}, {"error", appended.error().ToString()}});
      for (const auto& p : batch) p->done(appended.error());
      continue;
    }
    LogInfo(kComponent, "appended",
            {{"entries", std::to_string(entries.size())},
             {"requests", std::to_string(batch.size())},
             {"size", std::to_string(appended->tree_size)},
             {"ms", std::to_string(std::chrono::duration_cast<std::chrono::milliseconds>(std::chrono::steady_clock::now() - started).count())}});
    uint64_t index = appended->first_index;
    for (const auto& p : batch) {
      p->append_number = appends_;
      AddResponse response;
      response.first_index = index;
      response.tree_size = appended->tree_size;
      response.checkpoint = appended->checkpoint_note;
      Status failed;
      for (size_t i = 0; i < p->entries.size(); ++i, ++index) {
        auto proof = store_->InclusionProof(index, appended->tree_size);
        if (!proof.ok()) {
          failed = proof.error();
          break;
        }
        response.inclusion_proofs.push_back(std::move(proof).value());
      }
      index = response.first_index + p->entries.size();
      if (failed.ok()) p->done(std::move(response));
      else p->done(failed.error());
    }
    {
      std::lock_guard lock(mu_);
      grown_ = true;
    }
    gather_cv_.notify_one();
  }
}

void TlogService::GatherLoop() {
  if (options_.witnesses.empty()) return;
  bool first = true;
  while (true) {
    {
      std::unique_lock lock(mu_);
      if (!first) gather_cv_.wait_for(lock, options_.refresh_interval, [this] { return stopping_ || grown_; });
      if (stopping_) return;
      grown_ = false;
    }
    first = false;
    for (size_t i = 0; i < options_.witnesses.size(); ++i) GatherFrom(i);
  }
}

void TlogService::GatherFrom(size_t index) {
  const WitnessEndpoint& witness = options_.witnesses[index];
  net::ClientOptions client_options;
  client_options.total_timeout = options_.witness_timeout;
  client_options.connect_timeout = options_.witness_timeout;
  static thread_local std::unique_ptr<net::BlockingClient> client;
  if (!client) {
    auto created = net::BlockingClient::Create(client_options);
    if (!created.ok()) {
      LogError(kComponent, "witness client", {{"error", created.error().ToString()}});
      return;
    }
    client = std::move(created).value();
  }
  // The newest checkpoint, not the served one: the witnesses' cosignatures are what makes it served.
  const std::string note = store_->LatestCheckpointNote();
  auto parsed = tlog::ParseNote(note);
  if (!parsed.ok()) return;
  auto checkpoint = tlog::ParseCheckpointText(parsed->text);
  if (!checkpoint.ok()) return;
  const uint64_t size = checkpoint->size;
  for (int attempt = 0; attempt < 3; ++attempt) {
    const uint64_t old_size = witness_sizes_[index].value_or(0);
    if (old_size > size) {
      LogError(kComponent, "witness has seen a larger tree than this log",
               {{"witness", witness.key.name()}, {"witness_size", std::to_string(old_size)}, {"size", std::to_string(size)}});
      return;
    }
    std::vector<tlog::Hash> proof;
    if (old_size > 0 && old_size < size) {
      auto built = store_->ConsistencyProof(old_size, size);
      if (!built.ok()) {
        LogError(kComponent, "consistency proof", {{"error", built.error().ToString()}});
        return;
      }
      proof = std::move(built).value();
    }
    const std::string body = tlog::FormatAddCheckpoint(old_size, proof, note);
    auto response = client->Fetch(net::ClientRequest("POST", witness.url + "/add-checkpoint",
                                                     {{"Content-Type", "text/plain; charset=utf-8"}}),
                                  body, 64 * 1024);
    if (!response.ok()) {
      LogWarning(kComponent, "witness unreachable", {{"witness", witness.key.name()}, {"error", response.error().ToString()}});
      return;
    }
    if (response->status == 409) {
      auto seen = tlog::ParseTreeSize(response->body);
      if (!seen.ok()) {
        LogWarning(kComponent, "witness 409 without a size", {{"witness", witness.key.name()}});
        return;
      }
      witness_sizes_[index] = seen.value();
      continue;
    }
    if (response->status != 200) {
      std::string message = response->body.substr(0, 300);
      LogWarning(kComponent, "witness refused the checkpoint",
                 {{"witness", witness.key.name()}, {"status", std::to_string(response->status)}, {"body", message}});
      return;
    }
    Status stored = store_->AddCosignatures(response->body);
    if (!stored.ok()) {
      // The log grew since `note` was read; the next round cosigns the new checkpoint.
      LogInfo(kComponent, "cosignature not stored", {{"witness", witness.key.name()}, {"error", stored.error().ToString()}});
    }
    witness_sizes_[index] = size;
    return;
  }
}

}  // namespace openpcc::services
