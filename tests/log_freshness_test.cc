// services/node/log_freshness.h: the node binds only a checkpoint verified under the log policy
// (signature, witness quorum, age; time injected) and never goes back to a smaller tree; a refused
// or unfetchable checkpoint leaves the previous freshness in place.
#include <gtest/gtest.h>

#include "openpcc/crypto/hash.h"
#include "openpcc/services/node/log_freshness.h"
#include "openpcc/tlog/log_store.h"
#include "tlog_test_util.h"

namespace openpcc::services::node {
namespace {

using tlog::testing::FixedKey;
using std::chrono::sys_seconds;
using std::chrono::seconds;

constexpr char kOrigin[] = "log.openpcc.test/node";

tlog::NoteSigner LogSigner() { return std::move(tlog::NoteSigner::Create(kOrigin, FixedKey(7))).value(); }
tlog::Cosigner Witness(int i) {
  return std::move(tlog::Cosigner::Create("witness.test/w" + std::to_string(i), FixedKey(static_cast<uint8_t>(20 + i))))
      .value();
}

class LogFreshnessTest : public ::testing::Test {
 protected:
  void SetUp() override {
    tlog::LogStoreOptions o;
    o.dir = log_dir_.path();
    o.origin = kOrigin;
    for (int i = 1; i <= 3; ++i) o.witnesses.push_back(Witness(i).verifier());
    log_ = std::move(tlog::LogStore::Open(o, LogSigner())).value();
    Append();
  }
  void Append() {
    const std::vector<Bytes> batch = {ToBytes("entry " + std::to_string(log_->checkpoint().size))};
    ASSERT_TRUE(log_->Append(batch).ok());
  }
  std::string Cosigned(std::vector<std::pair<int, uint64_t>> witnesses) {
    const std::string text = tlog::FormatCheckpointText(log_->checkpoint());
    std::string lines;
    for (const auto& [i, t] : witnesses) lines += tlog::FormatSignatureLine(*Witness(i).Cosign(text, t));
    EXPECT_TRUE(log_->AddCosignatures(lines).ok());
    return log_->CheckpointNote();
  }
  static tlog::LogPolicy Policy() {
    std::vector<std::string> vkeys;
    for (int i = 1; i <= 3; ++i) vkeys.push_back(Witness(i).verifier().vkey());
    return std::move(tlog::LogPolicy::Create(kOrigin, LogSigner().verifier().vkey(), vkeys, 2)).value();
  }
  static Bytes Value(const attest::BundleFreshness& f) { return Bytes(f.binding.value.begin(), f.binding.value.end()); }

  tlog::testing::TempDir log_dir_;
  std::unique_ptr<tlog::LogStore> log_;
  Result<std::string> served_ = Error(ErrorCode::kFailedPrecondition, "log: unreachable");
  LogFreshness freshness_{Policy(), [this] { return served_; }};
};

TEST_F(LogFreshnessTest, BindsTheVerifiedNoteAndRefreshesWhenItChanges) {
  EXPECT_EQ(freshness_.Current().binding.kind, attest::FreshnessKind::kLogCheckpoint);
  EXPECT_EQ(Value(freshness_.Current()), Bytes(32, 0));
  const std::string first = Cosigned({{1, 1000}, {2, 1000}});
  served_ = first;
  ASSERT_EQ(freshness_.Refresh(sys_seconds(seconds(1100))).value(), true);
  EXPECT_EQ(freshness_.Current().checkpoint, first);
  EXPECT_EQ(Value(freshness_.Current()), crypto::Sha256(AsBytes(first)));
  EXPECT_EQ(freshness_.Refresh(sys_seconds(seconds(1100))).value(), false);
  Append();
  const std::string second = Cosigned({{2, 1200}, {3, 1200}});
  served_ = second;
  EXPECT_EQ(freshness_.Refresh(sys_seconds(seconds(1250))).value(), true);
  EXPECT_EQ(freshness_.Current().checkpoint, second);
  EXPECT_EQ(freshness_.size(), 2u);
}

TEST_F(LogFreshnessTest, RefusesUnverifiedStaleOrOlderCheckpointsAndKeepsThePrevious) {
  const std::string good = Cosigned({{1, 1000}, {2, 1000}});
  served_ = good;
  ASSERT_TRUE(freshness_.Refresh(sys_seconds(seconds(1000))).ok());
  const Bytes held = Value(freshness_.Current());

  served_ = Error(ErrorCode::kFailedPrecondition, "log: unreachable");
  EXPECT_EQ(freshness_.Refresh(sys_seconds(seconds(1010))).error().message(), "log: unreachable");

  // Quorum missing: one cosignature where the policy requires two.
  Append();
  served_ = Cosigned({{3, 1020}});
  auto no_quorum = freshness_.Refresh(sys_seconds(seconds(1030)));
  ASSERT_FALSE(no_quorum.ok());
  EXPECT_NE(no_quorum.error().message().find("witness cosignatures"), std::string::npos) << no_quorum.error().message();

  // Stale: the quorum cosigned more than 15 minutes ago.
  served_ = good;
  auto stale = freshness_.Refresh(sys_seconds(seconds(1000 + 16 * 60)));
  ASSERT_FALSE(stale.ok());
  EXPECT_NE(stale.error().message().find("stale"), std::string::npos) << stale.error().message();

  // Tampered note: the log's signature fails.
  std::string tampered = good;
  tampered[tampered.find('\n') + 1] = '9';
  served_ = tampered;
  EXPECT_FALSE(freshness_.Refresh(sys_seconds(seconds(1010))).ok());
  EXPECT_EQ(Value(freshness_.Current()), held);

  // A bigger tree, then the smaller one again: refused as going back.
  served_ = Cosigned({{1, 1040}, {2, 1040}});
  ASSERT_TRUE(freshness_.Refresh(sys_seconds(seconds(1050))).ok());
  served_ = good;
  auto older = freshness_.Refresh(sys_seconds(seconds(1060)));
  ASSERT_FALSE(older.ok());
  EXPECT_NE(older.error().message().find("smaller than the one already verified"), std::string::npos);
  EXPECT_EQ(freshness_.size(), 2u);
}

}  // namespace
}  // namespace openpcc::services::node
