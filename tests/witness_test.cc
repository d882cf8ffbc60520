// tlog/witness.h: the witness cosigns a log's growth only with a valid consistency proof from the
// size it last saw (persisted across restarts), cosigns an unchanged log again with a newer time,
// and refuses rollbacks, forks, wrong old sizes and checkpoints not signed by the log.
#include <gtest/gtest.h>

#include "openpcc/tlog/log_store.h"
#include "openpcc/tlog/witness.h"
#include "tlog_test_util.h"

namespace openpcc::tlog {
namespace {

using testing::FixedKey;
using testing::TempDir;
using std::chrono::sys_seconds;
using std::chrono::seconds;

constexpr char kOrigin[] = "log.openpcc.test/main";

NoteSigner LogSigner(uint8_t key = 7) { return std::move(NoteSigner::Create(kOrigin, FixedKey(key))).value(); }

std::unique_ptr<Witness> OpenWitness(const std::filesystem::path& dir) {
  auto cosigner = std::move(Cosigner::Create("witness.test/w1", FixedKey(21))).value();
  std::vector<WitnessedLog> logs;
  logs.push_back({kOrigin, LogSigner().verifier()});
  return std::move(Witness::Open(dir, std::move(cosigner), std::move(logs))).value();
}

std::unique_ptr<LogStore> OpenLog(const std::filesystem::path& dir, uint8_t key = 7) {
  LogStoreOptions o;
  o.dir = dir;
  o.origin = kOrigin;
  return std::move(LogStore::Open(o, LogSigner(key))).value();
}

std::vector<Bytes> Batch(const std::string& prefix, size_t n) {
  std::vector<Bytes> out;
  for (size_t i = 0; i < n; ++i) out.push_back(ToBytes(prefix + std::to_string(i)));
  return out;
}

TEST(WitnessTest, CosignsConsistentGrowthAndRefusesRollbackAndFork) {
  TempDir log_dir, fork_dir, witness_dir;
  auto log = OpenLog(log_dir.path());
  auto witness = OpenWitness(witness_dir.path());
  const auto verifier = witness->cosigner().verifier();

  ASSERT_TRUE(log->Append(Batch("a", 5)).ok());
  const std::string note5 = log->CheckpointNote();
  auto sig = witness->Cosign(note5, 0, {}, sys_seconds(seconds(1000)));
  ASSERT_TRUE(sig.ok()) << sig.error().ToString();
  EXPECT_EQ(*verifier.Verify(ParseNote(note5)->text, *sig), 1000u);

  // Unchanged log: cosigned again, later (freshness without growth).
  auto again = witness->Cosign(note5, 5, {}, sys_seconds(seconds(1300)));
  ASSERT_TRUE(again.ok());
  EXPECT_EQ(*verifier.Verify(ParseNote(note5)->text, *again), 1300u);

  ASSERT_TRUE(log->Append(Batch("b", 9)).ok());
  const std::string note14 = log->CheckpointNote();
  EXPECT_EQ(witness->Cosign(note14, 4, *log->ConsistencyProof(5, 14), sys_seconds(seconds(1400))).error().message(),
            "witness: old size 4 is not the last seen size 5");
  auto bad_proof = *log->ConsistencyProof(5, 14);
  bad_proof[0][0] ^= 1;
  EXPECT_EQ(witness->Cosign(note14, 5, bad_proof, sys_seconds(seconds(1400))).error().message().substr(0, 27),
            "witness: fork refused: cons");
  ASSERT_TRUE(witness->Cosign(note14, 5, *log->ConsistencyProof(5, 14), sys_seconds(seconds(1400))).ok());

  // Rollback: the older checkpoint is refused now.
  EXPECT_EQ(witness->Cosign(note5, 14, {}, sys_seconds(seconds(1500))).error().message(),
            "witness: rollback refused: size 5 is smaller than the last seen size 14");

  // Fork: the same log key signs another tree of the same size.
  auto fork = OpenLog(fork_dir.path());
  ASSERT_TRUE(fork->Append(Batch("x", 14)).ok());
  EXPECT_EQ(witness->Cosign(fork->CheckpointNote(), 14, {}, sys_seconds(seconds(1500))).error().message(),
            "witness: fork refused: size 14 was seen with another root hash");

  // The state survives a restart.
  witness.reset();
  witness = OpenWitness(witness_dir.path());
  EXPECT_EQ(witness->LastSeen(kOrigin)->size, 14u);
  EXPECT_EQ(witness->Cosign(note5, 14, {}, sys_seconds(seconds(1600))).error().code(), ErrorCode::kFailedPrecondition);
}

TEST(WitnessTest, RefusesCheckpointsNotSignedByTheLog) {
  TempDir log_dir, witness_dir;
  auto impostor = OpenLog(log_dir.path(), /*key=*/8);
  ASSERT_TRUE(impostor->Append(Batch("a", 2)).ok());
  auto witness = OpenWitness(witness_dir.path());
  EXPECT_EQ(witness->Cosign(impostor->CheckpointNote(), 0, {}, sys_seconds(seconds(1))).error().message(),
            "witness: checkpoint: log signature: note: no signature by a known key");
  const std::string other = "other.origin\n1\nAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA=\n";
  auto other_note = *SignNote(other, LogSigner());
  EXPECT_EQ(witness->Cosign(other_note, 0, {}, sys_seconds(seconds(1))).error().message(),
            "witness: log \"other.origin\" is not witnessed here");
}

TEST(WitnessTest, OneWitnessPerStateDirectory) {
  TempDir witness_dir;
  auto first = OpenWitness(witness_dir.path());
  auto cosigner = std::move(Cosigner::Create("witness.test/w2", FixedKey(22))).value();
  std::vector<WitnessedLog> logs;
  logs.push_back({kOrigin, LogSigner().verifier()});
  auto second = Witness::Open(witness_dir.path(), std::move(cosigner), logs);
  ASSERT_FALSE(second.ok());
  EXPECT_EQ(second.error().code(), ErrorCode::kFailedPrecondition);
  EXPECT_EQ(second.error().message(), "witness: state directory " + witness_dir.path().string() +
                                          " is in use by another witness (" + (witness_dir.path() / "lock").string() +
                                          " is locked); give each witness its own --dir");
  // Released with the witness.
  first.reset();
  auto again = Witness::Open(witness_dir.path(), std::move(Cosigner::Create("witness.test/w2", FixedKey(22))).value(), logs);
  EXPECT_TRUE(again.ok()) << again.error().ToString();
}

}  // namespace
}  // namespace openpcc::tlog
