#include "openpcc/tokens/account_store.h"

#include <map>

#include "openpcc/crypto/hash.h"
#include "openpcc/crypto/random.h"
#include "openpcc/tokens/base64url.h"

namespace openpcc::tokens {
namespace {

constexpr const char* kSchema =
    "CREATE TABLE IF NOT EXISTS accounts ("
    "  id INTEGER PRIMARY KEY, name TEXT NOT NULL UNIQUE, hourly_quota INTEGER NOT NULL,"
    "  daily_quota INTEGER NOT NULL, created_at INTEGER NOT NULL);"
    "CREATE TABLE IF NOT EXISTS api_keys ("
    "  key_id TEXT PRIMARY KEY, account_id INTEGER NOT NULL REFERENCES accounts(id),"
    "  secret_hash BLOB NOT NULL, created_at INTEGER NOT NULL, revoked_at INTEGER);"
    "CREATE TABLE IF NOT EXISTS usage ("
    "  account_id INTEGER NOT NULL, period TEXT NOT NULL, window_start INTEGER NOT NULL,"
    "  count INTEGER NOT NULL, PRIMARY KEY (account_id, period, window_start)) WITHOUT ROWID;";

constexpr std::string_view kHourlyRefusal = "issuer: hourly quota";
constexpr std::string_view kDailyRefusal = "issuer: daily quota";
constexpr std::string_view kKeyPrefix = "opcc_";
constexpr size_t kKeyIdHexLength = 16;
constexpr size_t kSecretLength = 32;

Error AuthFailed() {
  return Error(ErrorCode::kAuthenticationFailed, "issuer: API key is not valid");
}

int64_t Secs(std::chrono::sys_seconds t) { return t.time_since_epoch().count(); }
std::chrono::sys_seconds FromSecs(int64_t s) {
  return std::chrono::sys_seconds(std::chrono::seconds(s));
}

// RAII transaction: rolls back unless committed.
class Transaction {
 public:
  explicit Transaction(sqlite3* db) : db_(db) {}
  Status Begin() { return sqlite::Exec(db_, "BEGIN IMMEDIATE"); }
  Status Commit() {
    Status s = sqlite::Exec(db_, "COMMIT");
    if (s.ok()) done_ = true;
    return s;
  }
  ~Transaction() {
    if (!done_) sqlite3_exec(db_, "ROLLBACK", nullptr, nullptr, nullptr);
  }

 private:
  sqlite3* db_;
  bool done_ = false;
};

Result<int64_t> UsageCount(sqlite3* db, AccountId account, const char* period, int64_t start) {
  OPENPCC_ASSIGN_OR_RETURN(
      sqlite::StmtPtr s,
      sqlite::Prepare(db, "SELECT count FROM usage WHERE account_id=?1 AND period=?2 AND "
                          "window_start=?3"));
  sqlite3_bind_int64(s.get(), 1, account);
  sqlite3_bind_text(s.get(), 2, period, -1, SQLITE_STATIC);
  sqlite3_bind_int64(s.get(), 3, start);
  const int rc = sqlite3_step(s.get());
  if (rc == SQLITE_ROW) return sqlite3_column_int64(s.get(), 0);
  if (rc == SQLITE_DONE) return int64_t{0};
  return sqlite::SqliteError(db, "reading usage");
}

Status AddUsage(sqlite3* db, AccountId account, const char* period, int64_t start, int64_t n) {
  OPENPCC_ASSIGN_OR_RETURN(
      sqlite::StmtPtr s,
      sqlite::Prepare(db, "INSERT INTO usage (account_id, period, window_start, count) "
                          "VALUES (?1, ?2, ?3, ?4) ON CONFLICT DO UPDATE SET count = count + ?4"));
  sqlite3_bind_int64(s.get(), 1, account);
  sqlite3_bind_text(s.get(), 2, period, -1, SQLITE_STATIC);
  sqlite3_bind_int64(s.get(), 3, start);
  sqlite3_bind_int64(s.get(), 4, n);
  if (sqlite3_step(s.get()) != SQLITE_DONE) return sqlite::SqliteError(db, "charging usage");
  return OkStatus();
}

}  // namespace

std::optional<QuotaWindow> RefusingQuota(const Error& error) {
  if (error.code() != ErrorCode::kOutOfRange) return std::nullopt;
  const std::string_view message = error.message();
  if (message.substr(0, kHourlyRefusal.size()) == kHourlyRefusal) return QuotaWindow::kHour;
  if (message.substr(0, kDailyRefusal.size()) == kDailyRefusal) return QuotaWindow::kDay;
  return std::nullopt;
}

std::chrono::sys_seconds QuotaWindowEnd(QuotaWindow window, std::chrono::sys_seconds now) {
  // The windows ConsumeQuota charges: clock hours and UTC days since the epoch.
  const int64_t length = window == QuotaWindow::kHour ? 3600 : 86400;
  const int64_t t = Secs(now);
  return FromSecs(t - t % length + length);
}

Result<std::unique_ptr<AccountStore>> AccountStore::Open(const std::string& path,
                                                         const std::string& vfs) {
  OPENPCC_ASSIGN_OR_RETURN(sqlite::DbPtr db, sqlite::Open(path, vfs));
  OPENPCC_RETURN_IF_ERROR(sqlite::Exec(db.get(), "PRAGMA journal_mode=WAL"));
  // NORMAL: quota charges are not fsynced one by one (that would cap issuance at the disk's sync
  // rate); a power cut can forget the last charges, letting an account exceed its quota by what
  // it obtained just before. Administrative changes are made durable by Checkpoint().
  OPENPCC_RETURN_IF_ERROR(sqlite::Exec(db.get(), "PRAGMA synchronous=NORMAL"));
  OPENPCC_RETURN_IF_ERROR(sqlite::Exec(db.get(), "PRAGMA foreign_keys=ON"));
  OPENPCC_RETURN_IF_ERROR(sqlite::Exec(db.get(), "PRAGMA busy_timeout=10000"));
  OPENPCC_RETURN_IF_ERROR(sqlite::Exec(db.get(), kSchema));
  return std::unique_ptr<AccountStore>(new AccountStore(std::move(db)));
}

Status AccountStore::Checkpoint() {
  // Copies the WAL into the database file and fsyncs it: the change is on stable storage.
  return sqlite::Exec(db_.get(), "PRAGMA wal_checkpoint(FULL)");
}

Result<AccountId> AccountStore::CreateAccount(const std::string& name, uint32_t hourly_quota,
                                              uint32_t daily_quota, std::chrono::sys_seconds now) {
  if (name.empty() || name.size() > 64) {
    return Error(ErrorCode::kInvalidArgument, "issuer: account name must be 1..64 characters");
  }
  for (char c : name) {
    if (c < 0x21 || c > 0x7e) {
      return Error(ErrorCode::kInvalidArgument, "issuer: account name must be printable ASCII");
    }
  }
  std::lock_guard lock(mu_);
  OPENPCC_ASSIGN_OR_RETURN(
      sqlite::StmtPtr s,
      sqlite::Prepare(db_.get(), "INSERT INTO accounts (name, hourly_quota, daily_quota, "
                                 "created_at) VALUES (?1, ?2, ?3, ?4)"));
  sqlite3_bind_text(s.get(), 1, name.c_str(), -1, SQLITE_TRANSIENT);
  sqlite3_bind_int64(s.get(), 2, hourly_quota);
  sqlite3_bind_int64(s.get(), 3, daily_quota);
  sqlite3_bind_int64(s.get(), 4, Secs(now));
  const int rc = sqlite3_step(s.get());
  if (rc == SQLITE_CONSTRAINT_UNIQUE) {
    return Error(ErrorCode::kInvalidArgument, "issuer: account name already exists");
  }
  if (rc != SQLITE_DONE) return sqlite::SqliteError(db_.get(), "creating an account");
  const AccountId id = sqlite3_last_insert_rowid(db_.get());
  OPENPCC_RETURN_IF_ERROR(Checkpoint());
  return id;
}

Status AccountStore::SetQuotas(AccountId account, uint32_t hourly_quota, uint32_t daily_quota) {
  std::lock_guard lock(mu_);
  OPENPCC_ASSIGN_OR_RETURN(
      sqlite::StmtPtr s,
      sqlite::Prepare(db_.get(),
                      "UPDATE accounts SET hourly_quota=?2, daily_quota=?3 WHERE id=?1"));
  sqlite3_bind_int64(s.get(), 1, account);
  sqlite3_bind_int64(s.get(), 2, hourly_quota);
  sqlite3_bind_int64(s.get(), 3, daily_quota);
  if (sqlite3_step(s.get()) != SQLITE_DONE) return sqlite::SqliteError(db_.get(), "setting quotas");
  if (sqlite3_changes(db_.get()) != 1) {
    return Error(ErrorCode::kInvalidArgument, "issuer: no such account");
  }
  return Checkpoint();
}

Result<NewApiKey> AccountStore::CreateApiKey(AccountId account, std::chrono::sys_seconds now) {
  Bytes id_bytes(kKeyIdHexLength / 2);
  crypto::RandomBytes(id_bytes);
  crypto::SecretBytes secret = crypto::RandomSecret(kSecretLength);
  NewApiKey out;
  out.key_id = HexEncode(id_bytes);
  const std::string encoded = Base64UrlEncode(secret.view(), false);
  out.api_key = crypto::SecretString(kKeyPrefix) + crypto::SecretString(out.key_id.c_str()) + "_" +
                crypto::SecretString(encoded.c_str());
  const Bytes hash = crypto::Sha256(secret.view());
  std::lock_guard lock(mu_);
  OPENPCC_ASSIGN_OR_RETURN(
      sqlite::StmtPtr s,
      sqlite::Prepare(db_.get(), "INSERT INTO api_keys (key_id, account_id, secret_hash, "
                                 "created_at) VALUES (?1, ?2, ?3, ?4)"));
  sqlite3_bind_text(s.get(), 1, out.key_id.c_str(), -1, SQLITE_TRANSIENT);
  sqlite3_bind_int64(s.get(), 2, account);
  sqlite3_bind_blob(s.get(), 3, hash.data(), static_cast<int>(hash.size()), SQLITE_TRANSIENT);
  sqlite3_bind_int64(s.get(), 4, Secs(now));
  const int rc = sqlite3_step(s.get());
  if (rc == SQLITE_CONSTRAINT_FOREIGNKEY) {
    return Error(ErrorCode::kInvalidArgument, "issuer: no such account");
  }
  if (rc != SQLITE_DONE) return sqlite::SqliteError(db_.get(), "creating an API key");
  OPENPCC_RETURN_IF_ERROR(Checkpoint());
  return out;
}

Status AccountStore::RevokeApiKey(const std::string& key_id, std::chrono::sys_seconds now) {
  std::lock_guard lock(mu_);
  OPENPCC_ASSIGN_OR_RETURN(
      sqlite::StmtPtr s,
      sqlite::Prepare(db_.get(), "UPDATE api_keys SET revoked_at=?2 WHERE key_id=?1 AND "
                                 "revoked_at IS NULL"));
  sqlite3_bind_text(s.get(), 1, key_id.c_str(), -1, SQLITE_TRANSIENT);
  sqlite3_bind_int64(s.get(), 2, Secs(now));
  if (sqlite3_step(s.get()) != SQLITE_DONE) return sqlite::SqliteError(db_.get(), "revoking");
  if (sqlite3_changes(db_.get()) != 1) {
    return Error(ErrorCode::kInvalidArgument, "issuer: no such unrevoked API key");
  }
  return Checkpoint();
}

Result<std::vector<AccountInfo>> AccountStore::ListAccounts() {
  std::lock_guard lock(mu_);
  std::vector<AccountInfo> out;
  std::map<AccountId, size_t> index;
  {
    OPENPCC_ASSIGN_OR_RETURN(
        sqlite::StmtPtr s,
        sqlite::Prepare(db_.get(), "SELECT id, name, hourly_quota, daily_quota, created_at "
                                   "FROM accounts ORDER BY id"));
    while (sqlite3_step(s.get()) == SQLITE_ROW) {
      AccountInfo a;
      a.id = sqlite3_column_int64(s.get(), 0);
      a.name = reinterpret_cast<const char*>(sqlite3_column_text(s.get(), 1));
      a.hourly_quota = static_cast<uint32_t>(sqlite3_column_int64(s.get(), 2));
      a.daily_quota = static_cast<uint32_t>(sqlite3_column_int64(s.get(), 3));
      a.created_at = FromSecs(sqlite3_column_int64(s.get(), 4));
      index[a.id] = out.size();
      out.push_back(std::move(a));
    }
  }
  OPENPCC_ASSIGN_OR_RETURN(
      sqlite::StmtPtr s,
      sqlite::Prepare(db_.get(), "SELECT key_id, account_id, created_at, revoked_at FROM "
                                 "api_keys ORDER BY created_at, key_id"));
  while (sqlite3_step(s.get()) == SQLITE_ROW) {
    ApiKeyInfo k;
    k.key_id = reinterpret_cast<const char*>(sqlite3_column_text(s.get(), 0));
    k.created_at = FromSecs(sqlite3_column_int64(s.get(), 2));
    if (sqlite3_column_type(s.get(), 3) != SQLITE_NULL) {
      k.revoked_at = FromSecs(sqlite3_column_int64(s.get(), 3));
    }
    auto it = index.find(sqlite3_column_int64(s.get(), 1));
    if (it != index.end()) out[it->second].keys.push_back(std::move(k));
  }
  return out;
}

Result<AccountId> AccountStore::Authenticate(std::string_view api_key) {
  // opcc_<16 hex>_<43 base64url>
  if (api_key.size() != kKeyPrefix.size() + kKeyIdHexLength + 1 + 43 ||
      api_key.substr(0, kKeyPrefix.size()) != kKeyPrefix ||
      api_key[kKeyPrefix.size() + kKeyIdHexLength] != '_') {
    return AuthFailed();
  }
  const std::string key_id(api_key.substr(kKeyPrefix.size(), kKeyIdHexLength));
  auto secret = Base64UrlDecode(api_key.substr(kKeyPrefix.size() + kKeyIdHexLength + 1));
  if (!secret.ok() || secret->size() != kSecretLength) return AuthFailed();
  crypto::SecretBytes secret_bytes(*secret);
  crypto::Wipe(*secret);
  const Bytes presented = crypto::Sha256(secret_bytes.view());
  std::lock_guard lock(mu_);
  OPENPCC_ASSIGN_OR_RETURN(
      sqlite::StmtPtr s,
      sqlite::Prepare(db_.get(), "SELECT account_id, secret_hash FROM api_keys WHERE key_id=?1 "
                                 "AND revoked_at IS NULL"));
  sqlite3_bind_text(s.get(), 1, key_id.c_str(), -1, SQLITE_TRANSIENT);
  const int rc = sqlite3_step(s.get());
  if (rc == SQLITE_DONE) return AuthFailed();
  if (rc != SQLITE_ROW) return sqlite::SqliteError(db_.get(), "looking up an API key");
  const auto* stored = static_cast<const uint8_t*>(sqlite3_column_blob(s.get(), 1));
  const ByteView stored_hash(stored, static_cast<size_t>(sqlite3_column_bytes(s.get(), 1)));
  if (!crypto::ConstantTimeEqual(stored_hash, presented)) return AuthFailed();
  return sqlite3_column_int64(s.get(), 0);
}

Status AccountStore::ConsumeQuota(AccountId account, uint32_t count, std::chrono::sys_seconds now) {
  std::lock_guard lock(mu_);
  sqlite3* db = db_.get();
  Transaction tx(db);
  OPENPCC_RETURN_IF_ERROR(tx.Begin());
  OPENPCC_ASSIGN_OR_RETURN(
      sqlite::StmtPtr q,
      sqlite::Prepare(db, "SELECT hourly_quota, daily_quota FROM accounts WHERE id=?1"));
  sqlite3_bind_int64(q.get(), 1, account);
  if (sqlite3_step(q.get()) != SQLITE_ROW) {
    return Error(ErrorCode::kInvalidArgument, "issuer: no such account");
  }
  const int64_t hourly = sqlite3_column_int64(q.get(), 0);
  const int64_t daily = sqlite3_column_int64(q.get(), 1);
  const int64_t t = Secs(now);
  const int64_t hour = t - t % 3600;
  const int64_t day = t - t % 86400;
  OPENPCC_ASSIGN_OR_RETURN(int64_t used_hour, UsageCount(db, account, "hour", hour));
  OPENPCC_ASSIGN_OR_RETURN(int64_t used_day, UsageCount(db, account, "day", day));
  if (used_hour + count > hourly) {
    return Error(ErrorCode::kOutOfRange, std::string(kHourlyRefusal) + " of " + std::to_string(hourly) +
                                             " tokens would be exceeded");
  }
  if (used_day + count > daily) {
    return Error(ErrorCode::kOutOfRange, std::string(kDailyRefusal) + " of " + std::to_string(daily) +
                                             " tokens would be exceeded");
  }
  OPENPCC_RETURN_IF_ERROR(AddUsage(db, account, "hour", hour, count));
  OPENPCC_RETURN_IF_ERROR(AddUsage(db, account, "day", day, count));
  // Old windows are never read again.
  OPENPCC_ASSIGN_OR_RETURN(sqlite::StmtPtr old,
                           sqlite::Prepare(db, "DELETE FROM usage WHERE window_start < ?1"));
  sqlite3_bind_int64(old.get(), 1, day - 86400);
  if (sqlite3_step(old.get()) != SQLITE_DONE) return sqlite::SqliteError(db, "pruning usage");
  return tx.Commit();
}

}  // namespace openpcc::tokens
