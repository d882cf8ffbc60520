// Issuer core and redemption end to end: a client obtains tokens through Issuer (account, quota,
// batch), the redeemer accepts each once, and refuses each tampered or out-of-window token for its
// own reason, in DESIGN §2.3 order.
#include <gtest/gtest.h>

#include <algorithm>
#include <filesystem>

#include "openpcc/tokens/auth_scheme.h"
#include "openpcc/tokens/issuance.h"
#include "openpcc/tokens/issuer.h"
#include "openpcc/tokens/redeemer.h"

namespace openpcc::tokens {
namespace {

using std::chrono::hours;
using std::chrono::sys_seconds;
const sys_seconds T0{std::chrono::seconds(1'700'000'000)};

Bytes FixedChallenge() {
  TokenChallenge c{kTokenTypeBlindRsa, "issuer.openpcc.example", {}, "openpcc"};
  return *c.Encode();
}

class RedeemerTest : public ::testing::Test {
 protected:
  void SetUp() override {
    std::string tmpl = (std::filesystem::temp_directory_path() / "openpcc-redeem-XXXXXX").string();
    dir_ = mkdtemp(tmpl.data());
    auto store = AccountStore::Open((dir_ / "accounts.db").string());
    ASSERT_TRUE(store.ok());
    accounts_ = std::move(store).value();
    auto sk = crypto::BlindRsaPrivateKey::Generate(2048);
    ASSERT_TRUE(sk.ok());
    auto key = IssuerKey::Make(std::move(sk).value(), {T0, T0 + hours(10), T0 + hours(20)});
    ASSERT_TRUE(key.ok());
    ASSERT_TRUE(keys_.Add(std::move(key).value()).ok());
    auto account = accounts_->CreateAccount("alice", 50, 100, T0);
    ASSERT_TRUE(account.ok());
    auto api = accounts_->CreateApiKey(*account, T0);
    ASSERT_TRUE(api.ok());
    api_key_.assign(api->api_key.begin(), api->api_key.end());
    redeemer_ = std::make_unique<Redeemer>(FixedChallenge(), spent_);
    redeemer_->SetKeys(keys_.RedeemableKeys(T0));
  }
  void TearDown() override { std::filesystem::remove_all(dir_); }

  // Obtains `n` tokens through the issuer's batch endpoint, as the wallet would.
  std::vector<Token> Obtain(size_t n, sys_seconds now, ByteView challenge) {
    const auto pub = keys_.RedeemableKeys(now).at(0);
    std::vector<TokenRequest> reqs;
    std::vector<PendingToken> pending;
    for (size_t i = 0; i < n; ++i) {
      auto r = CreateTokenRequest(challenge, *pub.key);
      EXPECT_TRUE(r.ok());
      reqs.push_back(r->request);
      pending.push_back(std::move(r->pending));
    }
    Issuer issuer(keys_, *accounts_);
    auto body = EncodeBatchTokenRequest(reqs);
    auto res = issuer.HandleTokenRequest(api_key_, kBatchTokenRequestMediaType, *body, now);
    EXPECT_TRUE(res.ok()) << res.error().ToString();
    EXPECT_EQ(res->media_type, kBatchTokenResponseMediaType);
    auto parsed = ParseBatchTokenResponse(res->body);
    EXPECT_TRUE(parsed.ok());
    std::vector<Token> out;
    for (size_t i = 0; i < n; ++i) {
      auto t = FinalizeToken(pending[i], *(*parsed)[i], *pub.key);
      EXPECT_TRUE(t.ok());
      out.push_back(*t);
    }
    return out;
  }

  std::filesystem::path dir_;
  std::unique_ptr<AccountStore> accounts_;
  TokenKeySet keys_;
  MemorySpentStore spent_;
  std::unique_ptr<Redeemer> redeemer_;
  std::string api_key_;
};

TEST_F(RedeemerTest, RedeemsEachTokenExactlyOnce) {
  const auto tokens = Obtain(5, T0, FixedChallenge());
  for (const Token& t : tokens) {
    EXPECT_TRUE(redeemer_->RedeemAuthorization(FormatAuthorization(t.Encode()), T0 + hours(1)).ok());
    Status again = redeemer_->Redeem(t.Encode(), T0 + hours(2));
    EXPECT_EQ(again.error().code(), ErrorCode::kReplay);
    EXPECT_EQ(again.error().message(), "redeem: token already spent");
  }
}

TEST_F(RedeemerTest, TwoPhaseRedemptionDecidesOnceThenAnswersDurably) {
  const auto tokens = Obtain(1, T0, FixedChallenge());
  auto redeem = [&](ByteView token) {
    std::vector<std::string> events;
    redeemer_->RedeemTwoPhase(
        token, T0 + hours(1), [&](Status s) { events.push_back("decided " + (s.ok() ? std::string("ok") : s.error().message())); },
        [&](Status s) { events.push_back("durable " + (s.ok() ? std::string("ok") : s.error().message())); });
    return events;
  };
  EXPECT_EQ(redeem(tokens[0].Encode()), (std::vector<std::string>{"decided ok", "durable ok"}));
  EXPECT_EQ(redeem(tokens[0].Encode()), (std::vector<std::string>{"decided redeem: token already spent",
                                                                   "durable redeem: token already spent"}));
  // Refused before the store: both phases carry the refusal.
  Bytes garbage = tokens[0].Encode();
  garbage.pop_back();
  std::vector<std::string> refused = redeem(garbage);
  ASSERT_EQ(refused.size(), 2u);
  EXPECT_EQ(refused[0].substr(0, 8), "decided ");
  EXPECT_EQ(refused[0].substr(8), refused[1].substr(8));
  EXPECT_NE(refused[0], "decided ok");
}

TEST_F(RedeemerTest, RefusesInDesignOrderEachForItsOwnReason) {
  const Token good = Obtain(1, T0, FixedChallenge())[0];
  const sys_seconds now = T0 + hours(1);

  Bytes type = good.Encode();
  type[1] = 0x01;
  Status s = redeemer_->Redeem(type, now);
  EXPECT_EQ(s.error().code(), ErrorCode::kUnsupported);

  Token other_key = good;
  other_key.token_key_id[0] ^= 1;
  s = redeemer_->Redeem(other_key.Encode(), now);
  EXPECT_EQ(s.error().message(), "redeem: token_key_id is not a known token key");

  s = redeemer_->Redeem(good.Encode(), T0 + hours(20));
  EXPECT_EQ(s.error().message(), "redeem: token key is outside its redemption window");
  s = redeemer_->Redeem(good.Encode(), T0 - hours(1));
  EXPECT_EQ(s.error().message(), "redeem: token key is outside its redemption window");

  // A genuine token for another challenge (another origin) is refused on its digest.
  TokenChallenge other{kTokenTypeBlindRsa, "issuer.openpcc.example", {}, "elsewhere"};
  const Token elsewhere = Obtain(1, T0, *other.Encode())[0];
  s = redeemer_->Redeem(elsewhere.Encode(), now);
  EXPECT_EQ(s.error().message(), "redeem: challenge_digest is not the digest of the fixed challenge");

  Token forged = good;
  forged.authenticator[7] ^= 1;
  s = redeemer_->Redeem(forged.Encode(), now);
  EXPECT_EQ(s.error().message(), "tokens: token signature does not verify");
  Token other_nonce = good;
  other_nonce.nonce[0] ^= 1;
  EXPECT_EQ(redeemer_->Redeem(other_nonce.Encode(), now).error().code(),
            ErrorCode::kAuthenticationFailed);

  // None of the refused tokens was recorded; the genuine one still redeems once.
  EXPECT_FALSE(*spent_.Contains(forged.nonce));
  EXPECT_TRUE(redeemer_->Redeem(good.Encode(), now).ok());
  EXPECT_EQ(redeemer_->Redeem(good.Encode(), now).error().code(), ErrorCode::kReplay);
}

// One token with several faults at once is refused for the first in DESIGN §2.3 order, which
// proves the order itself (each fault alone is above).
TEST_F(RedeemerTest, ATokenWithSeveralFaultsIsRefusedForTheFirstInDesignOrder) {
  const Token good = Obtain(1, T0, FixedChallenge())[0];
  const sys_seconds now = T0 + hours(1);
  auto refusal = [&](const Token& t, sys_seconds at) {
    Status s = redeemer_->Redeem(t.Encode(), at);
    return s.ok() ? std::string("ok") : s.error().message();
  };
  Token bad_signature = good;
  bad_signature.authenticator[7] ^= 1;

  // 1 before 2, 3 and 4: wrong type, unknown key, wrong digest, bad signature.
  Token all = bad_signature;
  all.token_type = 0x0001;
  all.token_key_id[0] ^= 1;
  all.challenge_digest[0] ^= 1;
  EXPECT_EQ(refusal(all, now), "tokens: token token_type 0x0001 is not 0x0002");  // at parsing
  // 2 before 3 and 4: unknown key, wrong digest, bad signature.
  all.token_type = kTokenTypeBlindRsa;
  EXPECT_EQ(refusal(all, now), "redeem: token_key_id is not a known token key");
  // 2 (the window) before 3 and 4.
  Token late = bad_signature;
  late.challenge_digest[0] ^= 1;
  EXPECT_EQ(refusal(late, T0 + hours(20)), "redeem: token key is outside its redemption window");
  // 3 before 4: a token for another challenge whose signature is also broken.
  TokenChallenge other{kTokenTypeBlindRsa, "issuer.openpcc.example", {}, "elsewhere"};
  Token elsewhere = Obtain(1, T0, *other.Encode())[0];
  elsewhere.authenticator[7] ^= 1;
  EXPECT_EQ(refusal(elsewhere, now), "redeem: challenge_digest is not the digest of the fixed challenge");
  // 4 before 5: once the genuine token is spent, a copy with a broken signature is refused on its
  // signature, not as a replay (a forgery never reaches the store).
  ASSERT_EQ(refusal(good, now), "ok");
  EXPECT_EQ(refusal(bad_signature, now), "tokens: token signature does not verify");
  EXPECT_EQ(refusal(good, now), "redeem: token already spent");
}

TEST_F(RedeemerTest, SpentEntriesOutliveTheRedemptionWindow) {
  const Token t = Obtain(1, T0, FixedChallenge())[0];
  ASSERT_TRUE(redeemer_->Redeem(t.Encode(), T0 + hours(1)).ok());
  EXPECT_EQ(*redeemer_->DropExpired(T0 + hours(19)), 0u);
  EXPECT_EQ(*redeemer_->DropExpired(T0 + hours(20)), 0u);  // the margin still holds it
  EXPECT_TRUE(*spent_.Contains(t.nonce));
  EXPECT_EQ(*redeemer_->DropExpired(T0 + hours(21)), 1u);
  // And the token stays refused, now by its window.
  EXPECT_EQ(redeemer_->Redeem(t.Encode(), T0 + hours(21)).error().message(),
            "redeem: token key is outside its redemption window");
}

TEST_F(RedeemerTest, IssuerAuthenticatesAndChargesQuota) {
  const auto pub = keys_.RedeemableKeys(T0).at(0);
  auto req = CreateTokenRequest(FixedChallenge(), *pub.key);
  ASSERT_TRUE(req.ok());
  Issuer issuer(keys_, *accounts_, 64);
  const Bytes body = req->request.Encode();
  auto res = issuer.HandleTokenRequest(api_key_, kTokenRequestMediaType, body, T0);
  ASSERT_TRUE(res.ok()) << res.error().ToString();
  EXPECT_EQ(res->media_type, kTokenResponseMediaType);
  EXPECT_EQ(issuer.HandleTokenRequest("opcc_nope", kTokenRequestMediaType, body, T0).error().code(),
            ErrorCode::kAuthenticationFailed);
  EXPECT_EQ(issuer.HandleTokenRequest(api_key_, "text/plain", body, T0).error().code(),
            ErrorCode::kUnsupported);
  // A request for another key: refused singly, absent in a batch.
  TokenRequest unknown = req->request;
  unknown.truncated_token_key_id ^= 1;
  EXPECT_EQ(issuer.HandleTokenRequest(api_key_, kTokenRequestMediaType, unknown.Encode(), T0)
                .error().code(),
            ErrorCode::kUnknownKey);
  auto mixed = issuer.IssueBatch(api_key_, std::vector<TokenRequest>{req->request, unknown}, T0);
  ASSERT_TRUE(mixed.ok());
  EXPECT_TRUE((*mixed)[0].has_value());
  EXPECT_FALSE((*mixed)[1].has_value());
  // Hourly quota 50: 2 used so far (the requests for another key cost nothing), a batch of 49 is
  // refused whole, 48 fits.
  std::vector<TokenRequest> many(49, req->request);
  EXPECT_EQ(issuer.IssueBatch(api_key_, many, T0).error().message(),
            "issuer: hourly quota of 50 tokens would be exceeded");
  many.pop_back();
  EXPECT_TRUE(issuer.IssueBatch(api_key_, many, T0).ok());
  std::vector<TokenRequest> too_big(65, req->request);
  EXPECT_EQ(issuer.IssueBatch(api_key_, too_big, T0).error().code(), ErrorCode::kOutOfRange);
}

// A request naming a key the issuer does not hold is refused before the quota is charged: the
// account's whole quota stays available.
TEST_F(RedeemerTest, IssuerChargesNothingForARequestItRefuses) {
  const auto pub = keys_.RedeemableKeys(T0).at(0);
  auto req = CreateTokenRequest(FixedChallenge(), *pub.key);
  ASSERT_TRUE(req.ok());
  TokenRequest unknown = req->request;
  unknown.truncated_token_key_id ^= 1;
  Issuer issuer(keys_, *accounts_, 64);
  for (int i = 0; i < 60; ++i) {  // more than the hourly quota of 50
    EXPECT_EQ(issuer.HandleTokenRequest(api_key_, kTokenRequestMediaType, unknown.Encode(), T0)
                  .error().message(),
              "issuer: request names no issuing token key");
  }
  std::vector<TokenRequest> unknowns(10, unknown);
  auto none = issuer.IssueBatch(api_key_, unknowns, T0);
  ASSERT_TRUE(none.ok());
  for (const auto& r : *none) EXPECT_FALSE(r.has_value());
  // A mixed batch is charged for its known requests only: 1 here, so 49 remain.
  auto mixed = issuer.IssueBatch(api_key_, std::vector<TokenRequest>{unknown, req->request}, T0);
  ASSERT_TRUE(mixed.ok());
  EXPECT_FALSE((*mixed)[0].has_value());
  EXPECT_TRUE((*mixed)[1].has_value());
  std::vector<TokenRequest> rest(49, req->request);
  auto full = issuer.IssueBatch(api_key_, rest, T0);
  ASSERT_TRUE(full.ok()) << full.error().message();
  EXPECT_EQ(issuer.IssueBatch(api_key_, {&req->request, 1}, T0).error().message(),
            "issuer: hourly quota of 50 tokens would be exceeded");
}

// A request naming an issuing key whose blinded_msg is not below the key's modulus is refused for
// that reason (it was charged: the key was found and signing was attempted).
TEST_F(RedeemerTest, IssuerRefusesABlindedMessageNotBelowTheModulus) {
  const auto pub = keys_.RedeemableKeys(T0).at(0);
  auto req = CreateTokenRequest(FixedChallenge(), *pub.key);
  ASSERT_TRUE(req.ok());
  TokenRequest too_large = req->request;
  std::fill(too_large.blinded_msg.begin(), too_large.blinded_msg.end(), 0xFF);
  Issuer issuer(keys_, *accounts_, 64);
  auto refused = issuer.HandleTokenRequest(api_key_, kTokenRequestMediaType, too_large.Encode(), T0);
  ASSERT_FALSE(refused.ok());
  EXPECT_EQ(refused.error().code(), ErrorCode::kInvalidArgument);
  EXPECT_EQ(refused.error().message(), "issuer: blinded_msg is not below the token key's modulus");
  EXPECT_TRUE(issuer.HandleTokenRequest(api_key_, kTokenRequestMediaType, req->request.Encode(), T0).ok());
}

}  // namespace
}  // namespace openpcc::tokens
