// tokens/redeemer.h — token redemption at the gateway (DESIGN §2.3), in this order, each check with
// its own error:
//   1. token_type is 0x0002                                  (kUnsupported)
//   2. token_key_id is a known key within its redemption window (kUnknownKey)
//   3. challenge_digest is SHA-256 of the fixed challenge      (kAuthenticationFailed)
//   4. the authenticator verifies under that key               (kAuthenticationFailed)
//   5. the nonce is inserted into the spent-token store if absent; if present: kReplay.
// Only a token that passed 1–4 touches the store, so garbage cannot fill it; the store entry
// expires with the key's redemption window (plus a margin), after which step 2 refuses the token
// anyway, so expiry never re-enables a spend.
//
// The redeemer learns that some valid token was spent, and when — nothing linking it to an account:
// the issuer signed a blinded message it cannot recognise.
//
// Thread safety: Redeem may be called concurrently; SetKeys swaps the key list atomically.
#pragma once

#include <chrono>
#include <functional>
#include <memory>
#include <mutex>
#include <string_view>
#include <vector>

#include "openpcc/tokens/issuer_directory.h"
#include "openpcc/tokens/key_set.h"
#include "openpcc/tokens/spent_store.h"
#include "openpcc/tokens/token.h"

namespace openpcc::tokens {

class Redeemer {
 public:
  // `expiry_margin`: how long past a key's redemption window its spent nonces are kept (covers
  // the time between a redemption's window check and its store insertion, and clock skew).
  Redeemer(ByteView fixed_challenge, SpentTokenStore& store,
           std::chrono::seconds expiry_margin = std::chrono::minutes(10));

  void SetKeys(std::vector<TokenVerificationKey> keys);

  // Checks 1–4 only: what a redemption would check before spending.
  Result<TokenVerificationKey> Check(const Token& token, std::chrono::sys_seconds now) const;
  // Checks 1–5 on the encoded token; returns once the spend is durable.
  Status Redeem(ByteView token, std::chrono::sys_seconds now);
  // The same, answering through `done` (possibly on the store's thread).
  void RedeemAsync(ByteView token, std::chrono::sys_seconds now, std::function<void(Status)> done);
  // RedeemAsync in two phases: `decided` runs once checks 1–5 have an answer — OK when the nonce
  // was new and its insertion is ordered (not yet durable), else the refusal; `durable` runs after
  // it with the final answer, OK only once the spend is durable. The gateway routes on decided(OK)
  // so the store's fsync overlaps the node's work, and releases nothing before durable(OK).
  void RedeemTwoPhase(ByteView token, std::chrono::sys_seconds now, std::function<void(Status)> decided,
                      std::function<void(Status)> durable);
  // Parses `Authorization: PrivateToken token="…"` and redeems its token.
  Status RedeemAuthorization(std::string_view authorization, std::chrono::sys_seconds now);

  // Drops spent entries of keys whose redemption window closed more than expiry_margin ago.
  Result<size_t> DropExpired(std::chrono::sys_seconds now);

 private:
  const ChallengeDigest challenge_digest_;
  SpentTokenStore& store_;
  const std::chrono::seconds expiry_margin_;
  mutable std::mutex keys_mu_;
  std::shared_ptr<const std::vector<TokenVerificationKey>> keys_;
};

}  // namespace openpcc::tokens
