// Client wallet: random refill times with injected randomness and clock, fixed batches, only
// listed keys, file mode 0600 and atomic replacement, each token spent once across reopen.
#include <gtest/gtest.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>
#include <iterator>
#include <set>

#include "openpcc/tokens/issuance.h"
#include "openpcc/tokens/key_set.h"
#include "openpcc/tokens/wallet.h"

namespace openpcc::tokens {
namespace {

using std::chrono::hours;
using std::chrono::seconds;
using std::chrono::sys_seconds;
const sys_seconds T0{std::chrono::seconds(1'700'000'000)};

class WalletTest : public ::testing::Test {
 protected:
  void SetUp() override {
    std::string tmpl = (std::filesystem::temp_directory_path() / "openpcc-wallet-XXXXXX").string();
    dir_ = mkdtemp(tmpl.data());
    auto sk = crypto::BlindRsaPrivateKey::Generate(2048);
    ASSERT_TRUE(sk.ok());
    auto key = IssuerKey::Make(std::move(sk).value(), {T0, T0 + hours(10), T0 + hours(20)});
    ASSERT_TRUE(key.ok());
    issuer_key_ = std::make_shared<IssuerKey>(std::move(key).value());
    keys_ = {issuer_key_->Verification()};
    challenge_ = *TokenChallenge{kTokenTypeBlindRsa, "issuer.example", {}, "openpcc"}.Encode();
  }
  void TearDown() override { std::filesystem::remove_all(dir_); }

  WalletPolicy Policy() const {
    WalletPolicy p;
    p.batch_size = 4;
    p.refill_below = 2;
    p.max_refill_delay = seconds(600);
    p.empty_refill_delay = seconds(60);
    p.allowed_keys = {issuer_key_->id};
    p.challenge = challenge_;
    return p;
  }
  std::unique_ptr<Wallet> OpenWallet(uint64_t random_value = 30, size_t reserve = 1) {
    WalletPolicy policy = Policy();
    policy.reserve = reserve;
    auto w = Wallet::Open((dir_ / "tokens").string(), policy, [this, random_value](uint64_t bound) {
      last_bound_ = bound;
      return random_value % bound;
    });
    EXPECT_TRUE(w.ok()) << w.error().ToString();
    return std::move(w).value();
  }
  TokenFetcher Fetcher() {
    return [this](const std::vector<TokenRequest>& reqs)
               -> Result<std::vector<std::optional<TokenResponse>>> {
      ++fetches_;
      batch_sizes_.insert(reqs.size());
      std::vector<std::optional<TokenResponse>> out;
      for (const TokenRequest& r : reqs) {
        auto res = IssueTokenResponse(*issuer_key_->key, r);
        if (!res.ok()) return std::move(res).error();
        out.push_back(std::move(res).value());
      }
      return out;
    };
  }

  std::filesystem::path dir_;
  std::shared_ptr<IssuerKey> issuer_key_;
  std::vector<TokenVerificationKey> keys_;
  Bytes challenge_;
  int fetches_ = 0;
  std::set<size_t> batch_sizes_;
  uint64_t last_bound_ = 0;
};

TEST_F(WalletTest, RefillsAtARandomTimeNeverOnDemand) {
  auto wallet = OpenWallet(30);
  EXPECT_EQ(wallet->Take(T0).error().code(), ErrorCode::kFailedPrecondition);
  EXPECT_EQ(fetches_, 0);  // Take never fetches
  // Empty: the refill is scheduled within empty_refill_delay, at the random offset 30 s.
  EXPECT_EQ(*wallet->Tick(T0, keys_, Fetcher()), 0u);
  EXPECT_EQ(last_bound_, 60u);
  EXPECT_EQ(*wallet->scheduled_refill(), T0 + seconds(30));
  EXPECT_EQ(*wallet->Tick(T0 + seconds(29), keys_, Fetcher()), 0u);
  EXPECT_EQ(fetches_, 0);
  EXPECT_EQ(*wallet->Tick(T0 + seconds(30), keys_, Fetcher()), 4u);
  EXPECT_EQ(fetches_, 1);
  EXPECT_EQ(batch_sizes_, std::set<size_t>{4});
  // Above the threshold: nothing scheduled.
  ASSERT_TRUE(wallet->Take(T0 + seconds(40)).ok());
  ASSERT_TRUE(wallet->Take(T0 + seconds(40)).ok());
  EXPECT_EQ(*wallet->Tick(T0 + seconds(41), keys_, Fetcher()), 0u);
  EXPECT_FALSE(wallet->scheduled_refill().has_value());
  // Below it (1 < 2): scheduled within max_refill_delay.
  ASSERT_TRUE(wallet->Take(T0 + seconds(50)).ok());
  EXPECT_EQ(*wallet->Tick(T0 + seconds(50), keys_, Fetcher()), 0u);
  EXPECT_EQ(last_bound_, 600u);
  EXPECT_EQ(*wallet->Tick(T0 + seconds(80), keys_, Fetcher()), 4u);
  EXPECT_EQ(wallet->size(), 5u);
}

// The first-use exception: an empty wallet fetches one batch at once (the client then holds it
// for a random delay); a wallet holding any usable token never fetches through it.
TEST_F(WalletTest, FillIfEmptyFetchesOneBatchOnlyWhenEmpty) {
  auto wallet = OpenWallet(30);
  EXPECT_EQ(*wallet->FillIfEmpty(T0, keys_, Fetcher()), 4u);
  EXPECT_EQ(fetches_, 1);
  EXPECT_EQ(wallet->size(), 4u);
  EXPECT_EQ(*wallet->FillIfEmpty(T0, keys_, Fetcher()), 0u);
  for (int i = 0; i < 3; ++i) ASSERT_TRUE(wallet->Take(T0).ok());
  EXPECT_EQ(*wallet->FillIfEmpty(T0, keys_, Fetcher()), 0u);  // one left: below refill_below, still no fetch
  EXPECT_EQ(fetches_, 1);
  ASSERT_TRUE(wallet->Take(T0).ok());
  EXPECT_EQ(*wallet->FillIfEmpty(T0 + seconds(1), keys_, Fetcher()), 4u);
  EXPECT_EQ(fetches_, 2);
  // Tokens whose key is no longer listed do not count: the wallet is empty for them.
  WalletPolicy unlisted = Policy();
  unlisted.allowed_keys = {};
  ASSERT_TRUE(wallet->SetPolicy(unlisted).ok());
  EXPECT_EQ(wallet->FillIfEmpty(T0 + seconds(2), keys_, Fetcher()).error().code(), ErrorCode::kUnknownKey);
}

TEST_F(WalletTest, TokensVerifyAndAreSpentOnceAcrossReopen) {
  std::set<Nonce> seen;
  {
    auto wallet = OpenWallet(0);
    ASSERT_EQ(*wallet->Tick(T0, keys_, Fetcher()), 4u);
    auto t = wallet->Take(T0);
    ASSERT_TRUE(t.ok());
    EXPECT_TRUE(VerifyTokenSignature(*t, *keys_[0].key).ok());
    EXPECT_EQ(t->challenge_digest, ChallengeDigestOf(challenge_));
    seen.insert(t->nonce);
  }
  struct stat st;
  ASSERT_EQ(stat((dir_ / "tokens").c_str(), &st), 0);
  EXPECT_EQ(st.st_mode & 0777, 0600u);
  EXPECT_FALSE(std::filesystem::exists(dir_ / "tokens.tmp"));
  auto wallet = OpenWallet(0);
  EXPECT_EQ(wallet->size(), 3u);
  while (wallet->size() > 0) {
    auto t = wallet->Take(T0);
    ASSERT_TRUE(t.ok());
    EXPECT_TRUE(seen.insert(t->nonce).second) << "a token was handed out twice";
  }
  EXPECT_EQ(seen.size(), 4u);
}

TEST_F(WalletTest, DiscardsTokensOfUnlistedOrExpiredKeysAndRefusesAReadableFile) {
  auto wallet = OpenWallet(0);
  ASSERT_EQ(*wallet->Tick(T0, keys_, Fetcher()), 4u);
  WalletPolicy other = Policy();
  other.allowed_keys = {};
  ASSERT_TRUE(wallet->SetPolicy(other).ok());
  EXPECT_EQ(wallet->size(), 0u);
  // With no listed key the wallet refuses to blind at all.
  const int fetches_before = fetches_;
  EXPECT_EQ(wallet->Tick(T0 + hours(1), keys_, Fetcher()).error().code(), ErrorCode::kUnknownKey);
  EXPECT_EQ(fetches_, fetches_before);

  ASSERT_TRUE(wallet->SetPolicy(Policy()).ok());
  ASSERT_EQ(*wallet->Tick(T0 + hours(1), keys_, Fetcher()), 4u);
  EXPECT_EQ(wallet->Take(T0 + hours(20)).error().code(), ErrorCode::kFailedPrecondition);
  EXPECT_EQ(wallet->size(), 0u);

  wallet.reset();
  chmod((dir_ / "tokens").c_str(), 0644);
  auto reopened = Wallet::Open((dir_ / "tokens").string(), Policy(), [](uint64_t) { return 0; });
  EXPECT_EQ(reopened.error().message(), "wallet: token file is readable by others (mode must be 0600)");
}

std::string FileText(const std::filesystem::path& path) {
  std::ifstream in(path, std::ios::binary);
  return std::string(std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>());
}

TEST_F(WalletTest, ReserveKeepsTheFileRewriteOffTheRequestAndACrashLosesAtMostTheReserve) {
  std::set<Nonce> seen;
  const std::filesystem::path file = dir_ / "tokens";
  {
    auto wallet = OpenWallet(30, /*reserve=*/3);
    ASSERT_EQ(*wallet->Tick(T0, keys_, Fetcher()), 0u);  // scheduled at T0 + 30 s
    ASSERT_EQ(*wallet->Tick(T0 + seconds(30), keys_, Fetcher()), 4u);
    const std::string fetched = FileText(file);
    // The first Take moves three tokens out of the file at once...
    auto t = wallet->Take(T0);
    ASSERT_TRUE(t.ok());
    seen.insert(t->nonce);
    EXPECT_EQ(wallet->reserved(), 2u);
    EXPECT_EQ(wallet->size(), 3u);
    const std::string after_first = FileText(file);
    EXPECT_NE(after_first, fetched);
    // ...so the next two leave the file alone.
    for (int i = 0; i < 2; ++i) {
      auto next = wallet->Take(T0);
      ASSERT_TRUE(next.ok());
      EXPECT_TRUE(seen.insert(next->nonce).second);
      EXPECT_EQ(FileText(file), after_first);
    }
    // Tick tops the reserve up ahead of need: the last token leaves the file now (and a refill is
    // scheduled, 30 s ahead).
    EXPECT_EQ(*wallet->Tick(T0 + seconds(31), keys_, Fetcher()), 0u);
    EXPECT_EQ(wallet->reserved(), 1u);
    EXPECT_NE(FileText(file), after_first);
  }
  // Closed cleanly: the reserved token went back to the file.
  {
    auto wallet = OpenWallet(0, 3);
    EXPECT_EQ(wallet->size(), 1u);
    EXPECT_EQ(wallet->reserved(), 0u);
    // A crash after a Take (the process ends without closing the wallet) loses the reserve but
    // never hands a token out twice. The child refills the wallet first, so the reserve is full.
    ASSERT_EQ(*wallet->Tick(T0 + seconds(100), keys_, Fetcher()), 4u);
  }
  const pid_t child = fork();
  ASSERT_GE(child, 0);
  if (child == 0) {
    auto crashing = Wallet::Open((dir_ / "tokens").string(), [&] {
      WalletPolicy p = Policy();
      p.reserve = 3;
      return p;
    }(), [](uint64_t) { return 0; });
    const bool took = crashing.ok() && (*crashing)->Take(T0).ok() && (*crashing)->reserved() == 2;
    _exit(took ? 0 : 1);  // no destructor runs: the reserve is not written back
  }
  int status = 0;
  ASSERT_EQ(waitpid(child, &status, 0), child);
  ASSERT_TRUE(WIFEXITED(status) && WEXITSTATUS(status) == 0);
  auto wallet = OpenWallet(0, 3);
  EXPECT_EQ(wallet->size(), 2u);  // 5 before the crash, 3 moved out of the file
  while (wallet->size() > 0) {
    auto t = wallet->Take(T0);
    ASSERT_TRUE(t.ok());
    EXPECT_TRUE(seen.insert(t->nonce).second) << "a token was handed out twice";
  }

  WalletPolicy zero = Policy();
  zero.reserve = 0;
  EXPECT_EQ(Wallet::Open((dir_ / "other").string(), zero, [](uint64_t) { return 0; }).error().message(),
            "wallet: reserve must be in [1, 64]");
}

}  // namespace
}  // namespace openpcc::tokens
