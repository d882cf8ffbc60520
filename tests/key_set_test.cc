// Token key set: windows, at most two valid keys, truncated-id uniqueness, rotation, directory.
#include <gtest/gtest.h>

#include "openpcc/tokens/key_set.h"

namespace openpcc::tokens {
namespace {

using std::chrono::hours;
using std::chrono::sys_seconds;
const sys_seconds T0{std::chrono::seconds(1'700'000'000)};

IssuerKey NewKey(KeyWindows w) {
  auto sk = crypto::BlindRsaPrivateKey::Generate(2048);
  EXPECT_TRUE(sk.ok());
  auto k = IssuerKey::Make(std::move(sk).value(), w);
  EXPECT_TRUE(k.ok());
  return std::move(k).value();
}

TEST(KeySetTest, RefusesAThirdSimultaneouslyValidKey) {
  TokenKeySet set;
  IssuerKey first = NewKey({T0, T0 + hours(10), T0 + hours(20)});
  const uint8_t first_tid = TruncatedKeyId(first.id);
  ASSERT_TRUE(set.Add(std::move(first)).ok());
  IssuerKey second = NewKey({T0 + hours(8), T0 + hours(18), T0 + hours(28)});
  while (TruncatedKeyId(second.id) == first_tid) second = NewKey({T0 + hours(8), T0 + hours(18), T0 + hours(28)});
  const uint8_t second_tid = TruncatedKeyId(second.id);
  ASSERT_TRUE(set.Add(std::move(second)).ok());
  Status third = set.Add(NewKey({T0 + hours(15), T0 + hours(25), T0 + hours(35)}));
  ASSERT_FALSE(third.ok());
  EXPECT_EQ(third.error().message(), "issuer: key would make three keys valid at once");
  // Once the first key's redemption window has closed, a third key fits — one whose truncated id
  // differs from the second's, which it overlaps (a 1-in-256 collision is refused on its own).
  IssuerKey later = NewKey({T0 + hours(20), T0 + hours(30), T0 + hours(40)});
  while (TruncatedKeyId(later.id) == second_tid) later = NewKey({T0 + hours(20), T0 + hours(30), T0 + hours(40)});
  EXPECT_TRUE(set.Add(std::move(later)).ok());
  EXPECT_EQ(set.RedeemableKeys(T0 + hours(9)).size(), 2u);
  EXPECT_EQ(set.RedeemableKeys(T0 + hours(21)).size(), 2u);
}

TEST(KeySetTest, RefusesWindowsOutOfOrder) {
  TokenKeySet set;
  Status s = set.Add(NewKey({T0, T0 + hours(10), T0 + hours(5)}));
  EXPECT_EQ(s.error().message(),
            "issuer: key windows must satisfy not_before < issue_until <= redeem_until");
}

TEST(KeySetTest, IssuesOnlyWithinTheIssuanceWindow) {
  TokenKeySet set;
  IssuerKey k = NewKey({T0, T0 + hours(10), T0 + hours(20)});
  const uint8_t tid = TruncatedKeyId(k.id);
  ASSERT_TRUE(set.Add(std::move(k)).ok());
  EXPECT_EQ(set.ForIssuance(tid, T0 - hours(1)), nullptr);
  EXPECT_NE(set.ForIssuance(tid, T0), nullptr);
  EXPECT_EQ(set.ForIssuance(tid, T0 + hours(10)), nullptr);  // redeemable, no longer issuing
  EXPECT_EQ(set.RedeemableKeys(T0 + hours(10)).size(), 1u);
  EXPECT_EQ(set.RedeemableKeys(T0 + hours(20)).size(), 0u);
  EXPECT_EQ(set.ForIssuance(static_cast<uint8_t>(tid + 1), T0), nullptr);
}

TEST(KeySetTest, RotationOverlapsKeysAndNeverHasThreeValid) {
  TokenKeySet set;
  RotationPolicy policy{hours(10), hours(3), hours(2), 2048};
  for (int h = 0; h <= 40; ++h) {
    const sys_seconds now = T0 + hours(h);
    auto rotated = set.Rotate(now, policy);
    ASSERT_TRUE(rotated.ok()) << rotated.error().ToString();
    const auto valid = set.RedeemableKeys(now);
    ASSERT_GE(valid.size(), 1u) << "hour " << h;
    ASSERT_LE(valid.size(), 2u) << "hour " << h;
    // Some key always issues.
    bool issuing = false;
    for (const auto& k : set.DirectoryKeys(now)) issuing |= k->windows.Issuing(now);
    ASSERT_TRUE(issuing) << "hour " << h;
  }
  RotationPolicy bad{hours(10), hours(7), hours(2), 2048};
  EXPECT_EQ(set.Rotate(T0, bad).error().code(), ErrorCode::kInvalidArgument);
}

TEST(KeySetTest, DirectoryListsKeysWithWindowsAndRoundTripsToVerificationKeys) {
  TokenKeySet set;
  ASSERT_TRUE(set.Add(NewKey({T0, T0 + hours(10), T0 + hours(20)})).ok());
  const Bytes challenge{0, 2, 0, 1, 'i', 0, 0, 0};
  IssuerDirectory dir = set.Directory("https://issuer.example/token-request", challenge, T0);
  ASSERT_EQ(dir.token_keys.size(), 1u);
  auto parsed = IssuerDirectory::Parse(dir.ToJson());
  ASSERT_TRUE(parsed.ok());
  auto keys = VerificationKeysFromDirectory(*parsed);
  ASSERT_TRUE(keys.ok()) << keys.error().ToString();
  ASSERT_EQ(keys->size(), 1u);
  EXPECT_EQ((*keys)[0].id, set.RedeemableKeys(T0)[0].id);
  EXPECT_EQ((*keys)[0].windows.redeem_until, T0 + hours(20));
  parsed->token_keys[0].redeem_until.reset();
  EXPECT_EQ(VerificationKeysFromDirectory(*parsed).error().message(),
            "directory: key lacks not-before or openpcc-redeem-until");
}

}  // namespace
}  // namespace openpcc::tokens
