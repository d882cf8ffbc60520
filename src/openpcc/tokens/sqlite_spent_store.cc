#include "openpcc/tokens/sqlite_spent_store.h"

#include <vector>

namespace openpcc::tokens {
namespace {

constexpr const char* kSchema =
    "CREATE TABLE IF NOT EXISTS spent_tokens ("
    "  nonce BLOB PRIMARY KEY NOT NULL CHECK (length(nonce) = 32),"
    "  expires_at INTEGER NOT NULL"
    ") WITHOUT ROWID;"
    "CREATE INDEX IF NOT EXISTS spent_tokens_expiry ON spent_tokens (expires_at);";

}  // namespace

Result<std::unique_ptr<SqliteSpentStore>> SqliteSpentStore::Open(
    const SqliteSpentStoreOptions& options) {
  if (options.max_batch == 0) {
    return Error(ErrorCode::kInvalidArgument, "spent store: max_batch must be positive");
  }
  OPENPCC_ASSIGN_OR_RETURN(sqlite::DbPtr db, sqlite::Open(options.path, options.vfs));
  OPENPCC_ASSIGN_OR_RETURN(std::string mode, sqlite::QueryText(db.get(), "PRAGMA journal_mode=WAL"));
  if (mode != "wal") {
    return Error(ErrorCode::kFailedPrecondition,
                 "spent store: journal_mode is " + mode + ", expected wal");
  }
  OPENPCC_RETURN_IF_ERROR(sqlite::Exec(db.get(), "PRAGMA synchronous=FULL"));
  OPENPCC_ASSIGN_OR_RETURN(std::string sync, sqlite::QueryText(db.get(), "PRAGMA synchronous"));
  if (sync != "2") {
    return Error(ErrorCode::kFailedPrecondition,
                 "spent store: synchronous is " + sync + ", expected 2 (FULL)");
  }
  OPENPCC_RETURN_IF_ERROR(sqlite::Exec(db.get(), "PRAGMA busy_timeout=10000"));
  OPENPCC_RETURN_IF_ERROR(sqlite::Exec(db.get(), kSchema));
  std::unique_ptr<SqliteSpentStore> store(new SqliteSpentStore(std::move(db), options.max_batch));
  sqlite3* raw = store->db_.get();
  OPENPCC_ASSIGN_OR_RETURN(store->insert_,
                           sqlite::Prepare(raw, "INSERT INTO spent_tokens (nonce, expires_at) "
                                                "VALUES (?1, ?2) ON CONFLICT DO NOTHING"));
  OPENPCC_ASSIGN_OR_RETURN(store->contains_,
                           sqlite::Prepare(raw, "SELECT 1 FROM spent_tokens WHERE nonce = ?1"));
  OPENPCC_ASSIGN_OR_RETURN(store->drop_,
                           sqlite::Prepare(raw, "DELETE FROM spent_tokens WHERE expires_at <= ?1"));
  store->committer_ = std::thread([s = store.get()] { s->CommitterLoop(); });
  return store;
}

SqliteSpentStore::SqliteSpentStore(sqlite::DbPtr db, size_t max_batch)
    : max_batch_(max_batch), db_(std::move(db)) {}

SqliteSpentStore::~SqliteSpentStore() {
  {
    std::lock_guard lock(queue_mu_);
    stopping_ = true;
  }
  queue_cv_.notify_all();
  if (committer_.joinable()) committer_.join();
  // Statements must be finalized before the connection closes.
  insert_.reset();
  contains_.reset();
  drop_.reset();
}

void SqliteSpentStore::InsertIfAbsentAsync(const Nonce& key, std::chrono::sys_seconds expires_at,
                                           Callback done) {
  InsertIfAbsentTwoPhase(key, expires_at, nullptr, std::move(done));
}

void SqliteSpentStore::InsertIfAbsentTwoPhase(const Nonce& key, std::chrono::sys_seconds expires_at,
                                              DecidedCallback decided, Callback done) {
  {
    std::lock_guard lock(queue_mu_);
    if (!stopping_) {
      queue_.push_back(Pending{key, expires_at.time_since_epoch().count(), std::move(decided), std::move(done)});
      queue_cv_.notify_one();
      return;
    }
  }
  done(Error(ErrorCode::kFailedPrecondition, "spent store: closing"));
}

void SqliteSpentStore::CommitterLoop() {
  while (true) {
    std::deque<Pending> batch;
    {
      std::unique_lock lock(queue_mu_);
      queue_cv_.wait(lock, [this] { return stopping_ || !queue_.empty(); });
      if (queue_.empty()) return;  // stopping, and everything answered
      // Everything that arrived while the previous batch was committing forms this batch.
      const size_t n = std::min(queue_.size(), max_batch_);
      for (size_t i = 0; i < n; ++i) {
        batch.push_back(std::move(queue_.front()));
        queue_.pop_front();
      }
    }
    CommitBatch(batch);
  }
}

void SqliteSpentStore::CommitBatch(std::deque<Pending>& batch) {
  std::vector<Result<bool>> results;
  results.reserve(batch.size());
  Status status = OkStatus();
  {
    std::lock_guard lock(db_mu_);
    sqlite3* db = db_.get();
    status = sqlite::Exec(db, "BEGIN IMMEDIATE");
    if (status.ok()) {
      for (const Pending& p : batch) {
        sqlite3_stmt* s = insert_.get();
        sqlite3_reset(s);
        sqlite3_bind_blob(s, 1, p.key.data(), static_cast<int>(p.key.size()), SQLITE_STATIC);
        sqlite3_bind_int64(s, 2, p.expires_at);
        if (sqlite3_step(s) != SQLITE_DONE) {
          status = sqlite::SqliteError(db, "inserting a spent token");
          break;
        }
        results.emplace_back(sqlite3_changes(db) == 1);
      }
      sqlite3_reset(insert_.get());
      if (status.ok()) {
        // The answers are known; callers may start dependent work while the COMMIT syncs.
        for (size_t i = 0; i < batch.size(); ++i) {
          if (batch[i].decided) batch[i].decided(*results[i]);
        }
        status = sqlite::Exec(db, "COMMIT");
      }
      if (!status.ok()) {
        // The batch is not durable: roll back whatever is left and acknowledge nothing.
        sqlite3_exec(db, "ROLLBACK", nullptr, nullptr, nullptr);
      }
    }
  }
  if (status.ok()) {
    std::lock_guard lock(queue_mu_);
    ++commits_;
  }
  for (size_t i = 0; i < batch.size(); ++i) {
    if (status.ok()) {
      batch[i].done(std::move(results[i]));
    } else {
      batch[i].done(Error(ErrorCode::kInternal,
                          "spent store: batch not committed: " + status.error().message()));
    }
  }
}

Result<bool> SqliteSpentStore::Contains(const Nonce& key) {
  std::lock_guard lock(db_mu_);
  sqlite3_stmt* s = contains_.get();
  sqlite3_reset(s);
  sqlite3_bind_blob(s, 1, key.data(), static_cast<int>(key.size()), SQLITE_STATIC);
  const int rc = sqlite3_step(s);
  sqlite3_reset(s);
  if (rc == SQLITE_ROW) return true;
  if (rc == SQLITE_DONE) return false;
  return sqlite::SqliteError(db_.get(), "looking up a spent token");
}

Result<size_t> SqliteSpentStore::DropExpired(std::chrono::sys_seconds cutoff) {
  std::lock_guard lock(db_mu_);
  sqlite3_stmt* s = drop_.get();
  sqlite3_reset(s);
  sqlite3_bind_int64(s, 1, cutoff.time_since_epoch().count());
  const int rc = sqlite3_step(s);
  sqlite3_reset(s);
  if (rc != SQLITE_DONE) return sqlite::SqliteError(db_.get(), "dropping expired spent tokens");
  return static_cast<size_t>(sqlite3_changes(db_.get()));
}

Result<std::string> SqliteSpentStore::Pragma(const std::string& name) {
  for (char c : name) {
    if (!(c == '_' || (c >= 'a' && c <= 'z'))) {
      return Error(ErrorCode::kInvalidArgument, "spent store: not a pragma name");
    }
  }
  std::lock_guard lock(db_mu_);
  return sqlite::QueryText(db_.get(), ("PRAGMA " + name).c_str());
}

uint64_t SqliteSpentStore::commits() const {
  std::lock_guard lock(queue_mu_);
  return commits_;
}

}  // namespace openpcc::tokens
