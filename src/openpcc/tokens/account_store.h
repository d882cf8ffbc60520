// tokens/account_store.h — the issuer's accounts, API keys and quotas, persisted in SQLite.
//
// An API key is `opcc_<key id: 16 hex>_<secret: 43 base64url chars>`. It is returned once, by
// CreateApiKey; the store keeps only the key id and SHA-256 of the secret (the secret is 256
// random bits, so a fast hash suffices) and compares hashes in constant time. The key id is not
// secret: it finds the row and names the key in listings and revocations.
//
// Quotas count tokens per account per clock hour and per UTC day; ConsumeQuota checks both and
// charges both in one transaction, so concurrent issuers never overspend. Time is a parameter.
// Durability: administrative changes (accounts, keys, revocations, quotas) are fsynced before the
// call returns; quota charges are not (synchronous=NORMAL) — see Open in account_store.cc.
// What the store learns: which account asked for how many tokens when — never which token.
//
// Thread safety: internally synchronised (one connection behind a mutex).
#pragma once

#include <chrono>
#include <cstdint>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <vector>

#include "openpcc/crypto/secret.h"
#include "openpcc/tokens/sqlite_util.h"
#include "openpcc/util/result.h"

namespace openpcc::tokens {

using AccountId = int64_t;

struct ApiKeyInfo {
  std::string key_id;  // 16 hex characters
  std::chrono::sys_seconds created_at;
  std::optional<std::chrono::sys_seconds> revoked_at;
};

struct AccountInfo {
  AccountId id = 0;
  std::string name;
  uint32_t hourly_quota = 0;
  uint32_t daily_quota = 0;
  std::chrono::sys_seconds created_at;
  std::vector<ApiKeyInfo> keys;
};

struct NewApiKey {
  std::string key_id;
  crypto::SecretString api_key;  // show once; never stored
};

// Which quota refused a charge (read from ConsumeQuota's error; nullopt for any other error), and
// when that quota's window ends — what the HTTP service puts in Retry-After.
enum class QuotaWindow { kHour, kDay };
std::optional<QuotaWindow> RefusingQuota(const Error& error);
std::chrono::sys_seconds QuotaWindowEnd(QuotaWindow window, std::chrono::sys_seconds now);

class AccountStore {
 public:
  static Result<std::unique_ptr<AccountStore>> Open(const std::string& path,
                                                    const std::string& vfs = "");

  // Names are 1..64 printable ASCII characters, unique.
  Result<AccountId> CreateAccount(const std::string& name, uint32_t hourly_quota,
                                  uint32_t daily_quota, std::chrono::sys_seconds now);
  Status SetQuotas(AccountId account, uint32_t hourly_quota, uint32_t daily_quota);
  Result<NewApiKey> CreateApiKey(AccountId account, std::chrono::sys_seconds now);
  Status RevokeApiKey(const std::string& key_id, std::chrono::sys_seconds now);
  Result<std::vector<AccountInfo>> ListAccounts();

  // The account of a presented, unrevoked API key; kAuthenticationFailed otherwise (one message
  // for every cause, so a caller cannot probe which key ids exist).
  Result<AccountId> Authenticate(std::string_view api_key);
  // Charges `count` tokens to the account's current hour and day, or refuses (kOutOfRange,
  // naming the exhausted quota) without charging anything.
  Status ConsumeQuota(AccountId account, uint32_t count, std::chrono::sys_seconds now);

 private:
  explicit AccountStore(sqlite::DbPtr db) : db_(std::move(db)) {}
  // Makes administrative changes durable (mu_ held).
  Status Checkpoint();

  std::mutex mu_;
  sqlite::DbPtr db_;
};

}  // namespace openpcc::tokens
