#include "openpcc/tokens/redeemer.h"

#include <future>
#include <memory>
#include <utility>

#include "openpcc/crypto/secret.h"
#include "openpcc/tokens/auth_scheme.h"
#include "openpcc/tokens/issuance.h"

namespace openpcc::tokens {

Redeemer::Redeemer(ByteView fixed_challenge, SpentTokenStore& store,
                   std::chrono::seconds expiry_margin)
    : challenge_digest_(ChallengeDigestOf(fixed_challenge)),
      store_(store),
      expiry_margin_(expiry_margin),
      keys_(std::make_shared<const std::vector<TokenVerificationKey>>()) {}

void Redeemer::SetKeys(std::vector<TokenVerificationKey> keys) {
  auto next = std::make_shared<const std::vector<TokenVerificationKey>>(std::move(keys));
  std::lock_guard lock(keys_mu_);
  keys_ = std::move(next);
}

Result<TokenVerificationKey> Redeemer::Check(const Token& token,
                                             std::chrono::sys_seconds now) const {
  if (token.token_type != kTokenTypeBlindRsa) {
    return Error(ErrorCode::kUnsupported, "redeem: token_type is not 0x0002");
  }
  std::shared_ptr<const std::vector<TokenVerificationKey>> keys;
  {
    std::lock_guard lock(keys_mu_);
    keys = keys_;
  }
  const TokenVerificationKey* key = nullptr;
  for (const TokenVerificationKey& k : *keys) {
    if (k.id == token.token_key_id) key = &k;
  }
  if (key == nullptr) {
    return Error(ErrorCode::kUnknownKey, "redeem: token_key_id is not a known token key");
  }
  if (!key->windows.Redeemable(now)) {
    return Error(ErrorCode::kUnknownKey, "redeem: token key is outside its redemption window");
  }
  if (!crypto::ConstantTimeEqual(token.challenge_digest, challenge_digest_)) {
    return Error(ErrorCode::kAuthenticationFailed,
                 "redeem: challenge_digest is not the digest of the fixed challenge");
  }
  OPENPCC_RETURN_IF_ERROR(VerifyTokenSignature(token, *key->key));
  return *key;
}

void Redeemer::RedeemAsync(ByteView token_bytes, std::chrono::sys_seconds now,
                           std::function<void(Status)> done) {
  RedeemTwoPhase(token_bytes, now, [](const Status&) {}, std::move(done));
}

void Redeemer::RedeemTwoPhase(ByteView token_bytes, std::chrono::sys_seconds now,
                              std::function<void(Status)> decided, std::function<void(Status)> durable) {
  auto refuse = [&](Error error) {
    decided(error);
    durable(std::move(error));
  };
  auto token = Token::Parse(token_bytes);
  if (!token.ok()) return refuse(std::move(token).error());
  auto key = Check(*token, now);
  if (!key.ok()) return refuse(std::move(key).error());
  auto spent = [] { return Error(ErrorCode::kReplay, "redeem: token already spent"); };
  // `decided` must run exactly once, before `durable`, even when the store fails before deciding.
  auto decided_once = std::make_shared<std::function<void(Status)>>(std::move(decided));
  store_.InsertIfAbsentTwoPhase(
      token->nonce, key->windows.redeem_until,
      [decided_once, spent](bool inserted) {
        auto call = std::exchange(*decided_once, nullptr);
        if (call) call(inserted ? OkStatus() : Status(spent()));
      },
      [decided_once, spent, durable = std::move(durable)](Result<bool> inserted) {
        Status result = !inserted.ok() ? Status(std::move(inserted).error()) : *inserted ? OkStatus() : Status(spent());
        auto call = std::exchange(*decided_once, nullptr);
        if (call) call(result);
        durable(std::move(result));
      });
}

Status Redeemer::Redeem(ByteView token, std::chrono::sys_seconds now) {
  std::promise<Status> promise;
  auto future = promise.get_future();
  RedeemAsync(token, now, [&promise](Status s) { promise.set_value(std::move(s)); });
  return future.get();
}

Status Redeemer::RedeemAuthorization(std::string_view authorization, std::chrono::sys_seconds now) {
  OPENPCC_ASSIGN_OR_RETURN(Bytes token, ParseAuthorization(authorization));
  return Redeem(token, now);
}

Result<size_t> Redeemer::DropExpired(std::chrono::sys_seconds now) {
  return store_.DropExpired(now - expiry_margin_);
}

}  // namespace openpcc::tokens
