// tokens/sqlite_spent_store.h — the default spent-token store: SQLite in WAL mode with
// synchronous=FULL, so a transaction is on stable storage (the WAL fsynced) when COMMIT returns,
// and a redemption is acknowledged only after the COMMIT that contains its nonce returned.
//
// Group commit: callers enqueue; one committer thread takes everything queued (up to max_batch),
// runs one transaction of INSERT … ON CONFLICT DO NOTHING statements (in queue order, so two
// spends of one nonce in one batch resolve to one winner), commits once, then answers every caller
// of the batch. One fsync serves the whole batch, which is what makes durable redemptions cheap.
// InsertIfAbsentTwoPhase's `decided` runs once the batch's INSERTs ran, before its COMMIT: the
// answer is final unless the COMMIT fails, in which case `done` says so.
// If the transaction fails, every caller of the batch gets the error and nothing is acknowledged.
//
// The durability argument, and the tests that check it, are in docs/tokens.md.
// Thread safety: all methods may be called from any thread; callbacks run on the committer thread.
#pragma once

#include <condition_variable>
#include <deque>
#include <memory>
#include <mutex>
#include <string>
#include <thread>

#include "openpcc/tokens/spent_store.h"
#include "openpcc/tokens/sqlite_util.h"

namespace openpcc::tokens {

struct SqliteSpentStoreOptions {
  std::string path;
  std::string vfs;  // empty: SQLite's default VFS (tests name a crash-simulating one)
  size_t max_batch = 8192;
};

class SqliteSpentStore final : public SpentTokenStore {
 public:
  static Result<std::unique_ptr<SqliteSpentStore>> Open(const SqliteSpentStoreOptions& options);
  // Answers every queued insertion, then stops the committer and closes the database.
  ~SqliteSpentStore() override;

  void InsertIfAbsentAsync(const Nonce& key, std::chrono::sys_seconds expires_at,
                           Callback done) override;
  void InsertIfAbsentTwoPhase(const Nonce& key, std::chrono::sys_seconds expires_at,
                              DecidedCallback decided, Callback done) override;
  Result<bool> Contains(const Nonce& key) override;
  Result<size_t> DropExpired(std::chrono::sys_seconds cutoff) override;

  // The connection's value of a PRAGMA ("journal_mode", "synchronous"), for tests and diagnostics.
  Result<std::string> Pragma(const std::string& name);
  // Number of transactions committed so far (to observe batching).
  uint64_t commits() const;

 private:
  struct Pending {
    Nonce key;
    int64_t expires_at;
    DecidedCallback decided;  // may be empty
    Callback done;
  };

  explicit SqliteSpentStore(sqlite::DbPtr db, size_t max_batch);
  void CommitterLoop();
  void CommitBatch(std::deque<Pending>& batch);

  const size_t max_batch_;
  std::mutex db_mu_;  // guards db_ and the statements
  sqlite::DbPtr db_;
  sqlite::StmtPtr insert_;
  sqlite::StmtPtr contains_;
  sqlite::StmtPtr drop_;

  mutable std::mutex queue_mu_;
  std::condition_variable queue_cv_;
  std::deque<Pending> queue_;
  bool stopping_ = false;
  uint64_t commits_ = 0;
  std::thread committer_;
};

}  // namespace openpcc::tokens
