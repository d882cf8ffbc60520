// tokens/spent_store.h — the spent-token store: an atomic insert-if-absent of a token nonce, the last
// step of redemption (DESIGN §2.3), behind one interface with several implementations:
//   SqliteSpentStore  (sqlite_spent_store.h) the default: one machine, durable, group commit;
//   MemorySpentStore  (below) tests and single-process experiments: not durable;
//   a Redis store     when gateways scale out: InsertIfAbsentAsync maps to
//                     `SET <nonce> 1 NX EXAT <expires_at>` on a server with appendfsync always,
//                     answered only once the reply arrives; DropExpired is Redis's own expiry.
//
// Contract of every implementation:
// - InsertIfAbsent answers true exactly once per key over the store's lifetime (up to expiry), and
//   answers only after the insertion is as durable as the store promises: an acknowledged spend
//   is never forgotten, so a token can never be spent twice.
// - On error nothing is acknowledged; the caller must refuse the redemption (the nonce may or may
//   not have been recorded, which can only cost the client that token, never let it spend twice).
// - Entries are removed only by DropExpired(cutoff), for entries whose expires_at <= cutoff. The
//   redeemer sets expires_at to the end of the token key's redemption window and passes a cutoff
//   well behind the current time, so a token still redeemable is never dropped.
//
// Thread safety: all implementations are safe to call from any number of threads.
#pragma once

#include <chrono>
#include <functional>
#include <map>
#include <mutex>

#include "openpcc/tokens/token.h"
#include "openpcc/util/result.h"

namespace openpcc::tokens {

class SpentTokenStore {
 public:
  // Called with true if the key was inserted now, false if it was already present. May run on a
  // store thread: it must be quick and must not call back into the store synchronously.
  using Callback = std::function<void(Result<bool>)>;

  virtual ~SpentTokenStore() = default;

  using DecidedCallback = std::function<void(bool inserted)>;

  virtual void InsertIfAbsentAsync(const Nonce& key, std::chrono::sys_seconds expires_at,
                                   Callback done) = 0;
  // The same in two phases, for a caller that overlaps the durability wait with other work:
  // `decided` runs as soon as the store knows whether the key is new (its insertion is ordered
  // before any later one, but not yet durable); `done` runs afterwards exactly as above, and only
  // its true acknowledges the insertion. When the insertion fails after decided(true), `done` gets
  // the error: the caller must not have released anything that depended on it. `decided` does not
  // run when the store fails before it knows. Both may run on a store thread and must be quick.
  // This default runs `decided` just before `done`.
  virtual void InsertIfAbsentTwoPhase(const Nonce& key, std::chrono::sys_seconds expires_at,
                                      DecidedCallback decided, Callback done);
  // Blocking form of InsertIfAbsentAsync.
  Result<bool> InsertIfAbsent(const Nonce& key, std::chrono::sys_seconds expires_at);

  virtual Result<bool> Contains(const Nonce& key) = 0;
  // Removes entries whose expires_at <= cutoff; returns how many.
  virtual Result<size_t> DropExpired(std::chrono::sys_seconds cutoff) = 0;
};

// In-process, not durable: for tests and tools.
class MemorySpentStore final : public SpentTokenStore {
 public:
  void InsertIfAbsentAsync(const Nonce& key, std::chrono::sys_seconds expires_at,
                           Callback done) override;
  Result<bool> Contains(const Nonce& key) override;
  Result<size_t> DropExpired(std::chrono::sys_seconds cutoff) override;

 private:
  std::mutex mu_;
  std::map<Nonce, std::chrono::sys_seconds> entries_;
};

}  // namespace openpcc::tokens
