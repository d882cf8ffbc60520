// tokens/wallet.h — the client's token wallet (DESIGN §2.3).
//
// Fetching: fixed-size batches, never on demand. When the wallet holds fewer than `refill_below`
// usable tokens, a refill is scheduled at a uniformly random instant within `max_refill_delay`
// (within `empty_refill_delay` if the wallet is empty); Tick() performs it once that instant has
// passed; nothing else fetches, and Take() never does. Spending therefore does not line up with
// issuance in time, which is what keeps the issuer from linking the two. The one exception is an
// empty wallet at a client's first use (FillIfEmpty), which the client holds for a random delay
// before spending. The randomness, the clock and the fetch (the HTTP call to the issuer) are
// injected.
//
// Keys: the wallet blinds only to token keys its policy lists (the logged directory), and drops
// tokens whose key the policy no longer lists or whose redemption window has closed.
//
// Storage: one file, created with mode 0600 and replaced atomically (write a temporary file,
// fsync, rename, fsync the directory). A token leaves the file durably before it is handed out,
// so it is never handed out twice, even across crashes: a second spend of one token would fail and,
// worse, link the two requests. To keep that file rewrite (and its two fsyncs) off the request
// path, tokens leave the file `reserve` at a time into an in-memory reserve: Take() serves from the
// reserve without I/O and moves the next tokens out of the file only when it is empty; Tick() tops
// the reserve up ahead of need. Closing the wallet (its destructor) writes the reserve back to
// the file; a crash loses it (at most `reserve` tokens), the safe direction. The file holds
// unblinded tokens: they are bearer credentials and stay on the user's machine.
//
// Thread safety: internally synchronised; the fetch callback runs with the wallet locked.
#pragma once

#include <chrono>
#include <functional>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <vector>

#include "openpcc/tokens/key_set.h"
#include "openpcc/tokens/token.h"

namespace openpcc::tokens {

inline constexpr size_t kMaxReserve = 64;

struct WalletPolicy {
  size_t batch_size = 16;
  size_t refill_below = 4;
  std::chrono::seconds max_refill_delay{std::chrono::hours(1)};
  std::chrono::seconds empty_refill_delay{std::chrono::minutes(1)};
  size_t reserve = 1;  // tokens moved out of the file per rewrite (1: every Take rewrites it)
  std::vector<TokenKeyId> allowed_keys;  // from the logged directory
  Bytes challenge;                       // the fixed TokenChallenge
};

// Sends a batch of TokenRequests to the issuer; returns one optional response per request.
using TokenFetcher = std::function<Result<std::vector<std::optional<TokenResponse>>>(
    const std::vector<TokenRequest>& requests)>;
// Uniform in [0, bound); production passes crypto::RandomUniform.
using RandomSource = std::function<uint64_t(uint64_t bound)>;

class Wallet {
 public:
  static Result<std::unique_ptr<Wallet>> Open(std::string path, WalletPolicy policy,
                                              RandomSource random);
  // Writes the reserve back to the file (best effort: if that fails, those tokens are lost).
  ~Wallet();

  // Replaces the policy (a new logged directory) and drops tokens of keys it no longer lists.
  Status SetPolicy(WalletPolicy policy);

  // Schedules or performs a refill as described above; returns how many tokens were added.
  // `keys` are the issuer's current keys (VerificationKeysFromDirectory); only allowed ones are used.
  Result<size_t> Tick(std::chrono::sys_seconds now, const std::vector<TokenVerificationKey>& keys,
                      const TokenFetcher& fetch);

  // The one exception to "never on demand", for a client's first use: if the wallet holds no
  // usable token, fetches one batch now, whatever the schedule; otherwise does nothing and returns
  // 0. The caller must not spend right after it (client/client.h holds the batch for a random
  // delay first), or the issuer could line the fetch up with the spend.
  Result<size_t> FillIfEmpty(std::chrono::sys_seconds now,
                             const std::vector<TokenVerificationKey>& keys,
                             const TokenFetcher& fetch);

  // Returns the oldest usable token of the reserve, first refilling the reserve from the file
  // (durably) if it is empty. kFailedPrecondition when none is left (the caller waits for a
  // scheduled refill; there is no on-demand fetch).
  Result<Token> Take(std::chrono::sys_seconds now);

  // Usable tokens: those in the file and those in the reserve.
  size_t size() const;
  size_t reserved() const;
  std::optional<std::chrono::sys_seconds> scheduled_refill() const;

 private:
  struct Entry {
    Token token;
    std::chrono::sys_seconds redeem_until;
  };
  Wallet(std::string path, WalletPolicy policy, RandomSource random)
      : path_(std::move(path)), policy_(std::move(policy)), random_(std::move(random)) {}
  Status Load();
  // Blinds a batch to the newest listed key, fetches and finalizes it, and persists (locked).
  Result<size_t> FetchBatch(std::chrono::sys_seconds now, const std::vector<TokenVerificationKey>& keys,
                            const TokenFetcher& fetch);
  Status Persist() const;
  bool Usable(const Entry& e, std::chrono::sys_seconds now) const;
  // Drops unusable entries of the file; returns whether anything changed. The reserve is pruned
  // too (no I/O: it is not in the file).
  bool Prune(std::chrono::sys_seconds now);
  // Moves up to `policy_.reserve - reserve_.size()` tokens from the file to the reserve, durably.
  // If the rewrite fails they are dropped, never handed out.
  Status FillReserve();

  const std::string path_;
  WalletPolicy policy_;
  RandomSource random_;
  mutable std::mutex mu_;
  std::vector<Entry> entries_;  // in the file, oldest first
  std::vector<Entry> reserve_;  // out of the file, not yet handed out, oldest first
  std::optional<std::chrono::sys_seconds> refill_at_;
};

}  // namespace openpcc::tokens
