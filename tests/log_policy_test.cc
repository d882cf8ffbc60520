// tlog/log_policy.h: a checkpoint is believed only with the log's signature and a t-of-n witness
// quorum; freshness comes from the quorum's timestamps (time injected); inclusion is proven; the
// stored checkpoint refuses rollback and fork and keeps evidence; revocations and minimum-TCB
// notices are read from the entries.
#include <gtest/gtest.h>

#include <atomic>
#include <cstdio>
#include <mutex>
#include <set>
#include <thread>

#include "openpcc/tlog/log_policy.h"
#include "openpcc/tlog/log_store.h"
#include "tlog_test_util.h"

namespace openpcc::tlog {
namespace {

using testing::FixedKey;
using testing::TempDir;
using std::chrono::seconds;
using std::chrono::sys_seconds;

constexpr char kOrigin[] = "log.openpcc.test/main";

NoteSigner LogSigner() { return std::move(NoteSigner::Create(kOrigin, FixedKey(7))).value(); }
Cosigner Witness(int i) {
  return std::move(Cosigner::Create("witness.test/w" + std::to_string(i), FixedKey(static_cast<uint8_t>(20 + i)))).value();
}

LogPolicy Policy() {
  std::vector<std::string> vkeys;
  for (int i = 1; i <= 3; ++i) vkeys.push_back(Witness(i).verifier().vkey());
  return std::move(LogPolicy::Create(kOrigin, LogSigner().verifier().vkey(), vkeys, 2)).value();
}

// The checkpoint note of another tree of `size` entries ("<prefix>N") under the same origin and log
// key, cosigned by witnesses 1 and 2 at `timestamp`: a fork the policy's quorum has signed.
std::string ForkNote(size_t size, const std::string& prefix, uint64_t timestamp) {
  TempDir dir;
  LogStoreOptions o;
  o.dir = dir.path();
  o.origin = kOrigin;
  for (int i = 1; i <= 3; ++i) o.witnesses.push_back(Witness(i).verifier());
  auto fork = std::move(LogStore::Open(o, LogSigner())).value();
  std::vector<Bytes> other;
  for (size_t i = 0; i < size; ++i) other.push_back(ToBytes(prefix + std::to_string(i)));
  EXPECT_TRUE(fork->Append(other).ok());
  const std::string text = FormatCheckpointText(fork->checkpoint());
  EXPECT_TRUE(fork->AddCosignatures(FormatSignatureLine(*Witness(1).Cosign(text, timestamp)) +
                                    FormatSignatureLine(*Witness(2).Cosign(text, timestamp))).ok());
  return fork->CheckpointNote();
}

class LogPolicyTest : public ::testing::Test {
 protected:
  void SetUp() override {
    LogStoreOptions o;
    o.dir = log_dir_.path();
    o.origin = kOrigin;
    for (int i = 1; i <= 3; ++i) o.witnesses.push_back(Witness(i).verifier());
    log_ = std::move(LogStore::Open(o, LogSigner())).value();
  }
  void Append(size_t n) {
    std::vector<Bytes> batch;
    for (size_t i = 0; i < n; ++i) batch.push_back(ToBytes("entry " + std::to_string(log_->checkpoint().size + i)));
    ASSERT_TRUE(log_->Append(batch).ok());
  }
  // The checkpoint note with cosignatures by the given witnesses at the given times.
  std::string Cosigned(std::vector<std::pair<int, uint64_t>> witnesses) {
    const std::string text = FormatCheckpointText(log_->checkpoint());
    std::string lines;
    for (const auto& [i, t] : witnesses) lines += FormatSignatureLine(*Witness(i).Cosign(text, t));
    EXPECT_TRUE(log_->AddCosignatures(lines).ok());
    return log_->CheckpointNote();
  }

  TempDir log_dir_, client_dir_;
  std::unique_ptr<LogStore> log_;
  LogPolicy policy_ = Policy();
};

TEST_F(LogPolicyTest, NeedsAQuorumOfValidCosignatures) {
  Append(10);
  EXPECT_EQ(VerifyCheckpoint(policy_, log_->CheckpointNote()).error().message(),
            "log policy: checkpoint has 0 valid witness cosignatures, the policy requires 2");
  EXPECT_EQ(VerifyCheckpoint(policy_, Cosigned({{1, 1000}})).error().message(),
            "log policy: checkpoint has 1 valid witness cosignatures, the policy requires 2");
  // A witness outside the policy does not count.
  const std::string text = FormatCheckpointText(log_->checkpoint());
  auto outsider = std::move(Cosigner::Create("witness.test/w9", FixedKey(99))).value();
  const std::string with_outsider = log_->CheckpointNote() + FormatSignatureLine(*outsider.Cosign(text, 1000));
  EXPECT_FALSE(VerifyCheckpoint(policy_, with_outsider).ok());
  auto ok = VerifyCheckpoint(policy_, Cosigned({{2, 1100}, {3, 900}}));
  ASSERT_TRUE(ok.ok()) << ok.error().ToString();
  // Quorum = the two newest (w2 at 1100, w1 at 1000): not_before is 1000, not w3's 900.
  EXPECT_EQ(ok->not_before, sys_seconds(seconds(1000)));
  EXPECT_EQ(ok->quorum, (std::vector<std::string>{"witness.test/w2", "witness.test/w1"}));
  // A configured witness's cosignature that fails refuses the note.
  auto note = *ParseNote(ok->note);
  note.signatures[1].signature[20] ^= 1;
  EXPECT_EQ(VerifyCheckpoint(policy_, FormatNote(note)).error().message(),
            "log policy: cosignature: by witness.test/w1 does not verify");
  // Not signed by the log.
  note = *ParseNote(ok->note);
  note.signatures.erase(note.signatures.begin());
  EXPECT_EQ(VerifyCheckpoint(policy_, FormatNote(note)).error().message(),
            "log policy: checkpoint: log signature: note: no signature by a known key");
}

TEST_F(LogPolicyTest, RefusesStaleCheckpoints) {
  Append(3);
  auto c = *VerifyCheckpoint(policy_, Cosigned({{1, 10000}, {2, 10600}}));
  EXPECT_TRUE(CheckFreshness(policy_, c, sys_seconds(seconds(10000 + 900))).ok());
  EXPECT_EQ(CheckFreshness(policy_, c, sys_seconds(seconds(10000 + 901))).error().message(),
            "log policy: checkpoint is stale: its quorum cosigned 901 s ago, the limit is 900 s");
  EXPECT_EQ(CheckFreshness(policy_, c, sys_seconds(seconds(10000 - 301))).error().message(),
            "log policy: checkpoint cosignatures are dated 301 s in the future (clock skew above 300 s)");
}

TEST_F(LogPolicyTest, ProvesInclusionAndRefusesAbsentEntries) {
  Append(20);
  auto c = *VerifyCheckpoint(policy_, Cosigned({{1, 1}, {2, 1}}));
  auto proof = *log_->InclusionProof(7, 20);
  EXPECT_TRUE(VerifyInclusion(c, AsBytes("entry 7"), 7, proof).ok());
  EXPECT_EQ(VerifyInclusion(c, AsBytes("entry 77"), 7, proof).error().message(),
            "log policy: entry 7 is not proven in the log of size 20: inclusion: computed root does not match the "
            "tree's root hash");
  EXPECT_EQ(VerifyInclusion(c, AsBytes("entry 20"), 20, proof).error().message(),
            "log policy: entry 20 is not proven in the log of size 20: inclusion: index 20 is not below tree size 20");
}

TEST_F(LogPolicyTest, StoredCheckpointRefusesRollbackAndForkAndKeepsEvidence) {
  CheckpointStore store(client_dir_.path());
  Append(4);
  const std::string note4 = Cosigned({{1, 100}, {2, 100}});
  ASSERT_TRUE(store.Update(policy_, note4, 0, {}, sys_seconds(seconds(100))).ok());
  Append(6);
  const std::string note10 = Cosigned({{1, 200}, {3, 200}});
  EXPECT_EQ(store.Update(policy_, note10, 4, {}, sys_seconds(seconds(200))).error().message(),
            "log policy: size 10 needs a consistency proof from the verified size 4");
  auto wrong = *log_->ConsistencyProof(4, 10);
  wrong.back()[0] ^= 1;
  EXPECT_EQ(store.Update(policy_, note10, 4, wrong, sys_seconds(seconds(200))).error().message().substr(0, 70),
            "log policy: fork refused: size 10 is not proven consistent with the ve");
  auto updated = store.Update(policy_, note10, 4, *log_->ConsistencyProof(4, 10), sys_seconds(seconds(200)));
  ASSERT_TRUE(updated.ok()) << updated.error().ToString();
  EXPECT_EQ((*store.Latest(policy_))->checkpoint.size, 10u);

  auto rollback = store.Update(policy_, note4, 10, {}, sys_seconds(seconds(300)));
  ASSERT_FALSE(rollback.ok());
  EXPECT_NE(rollback.error().message().find("rollback refused: the log offers size 4, smaller than the verified size 10"),
            std::string::npos);

  // A fork: the log key signs a different tree of size 10, witnessed by two colluding witnesses.
  auto forked = store.Update(policy_, ForkNote(10, "other ", 400), 10, {}, sys_seconds(seconds(400)));
  ASSERT_FALSE(forked.ok());
  EXPECT_NE(forked.error().message().find("fork refused: the log offers another root hash for size 10"), std::string::npos);
  size_t evidence = 0;
  for (const auto& e : std::filesystem::directory_iterator(store.evidence_dir())) evidence += e.path().extension() == ".note";
  EXPECT_EQ(evidence, 6u);  // both notes of the failed proof, the rollback and the fork
  EXPECT_EQ((*store.Latest(policy_))->checkpoint.size, 10u);  // unchanged
}

size_t EvidenceFiles(const CheckpointStore& store) {
  if (!std::filesystem::exists(store.evidence_dir())) return 0;
  size_t n = 0;
  for (const auto& e : std::filesystem::directory_iterator(store.evidence_dir())) n += e.path().extension() == ".note";
  return n;
}

// Two processes share the store (separate CheckpointStore objects, as the CLI and the proxy have).
// A caller that read size 4 and built its proof from 4 must not have that proof checked against
// size 10 stored meanwhile by the other: the old code called that a fork and kept evidence.
TEST_F(LogPolicyTest, AnotherWriterAdvancingTheStoreIsNotAForkOrRollback) {
  CheckpointStore a(client_dir_.path()), b(client_dir_.path());
  Append(4);
  const std::string note4 = Cosigned({{1, 100}, {2, 100}});
  Append(4);
  const std::string note8 = Cosigned({{1, 150}, {2, 150}});
  Append(2);
  const std::string note10 = Cosigned({{1, 200}, {2, 200}});
  Append(2);
  const std::string note12 = Cosigned({{1, 300}, {2, 300}});
  ASSERT_TRUE(a.Update(policy_, note4, 0, {}, sys_seconds(seconds(100))).ok());

  const uint64_t seen = (*a.Latest(policy_))->checkpoint.size;  // a reads 4 ...
  ASSERT_EQ(seen, 4u);
  ASSERT_TRUE(b.Update(policy_, note10, 4, *log_->ConsistencyProof(4, 10), sys_seconds(seconds(200))).ok());  // b stores 10
  // ... and offers 12 with a (valid) proof from 4.
  auto raced = a.Update(policy_, note12, seen, *log_->ConsistencyProof(4, 12), sys_seconds(seconds(300)));
  ASSERT_FALSE(raced.ok());
  EXPECT_TRUE(IsStoredCheckpointChanged(raced.error())) << raced.error().message();
  EXPECT_EQ(raced.error().message(),
            "log policy: stored checkpoint changed: size 10 was stored by another process after size 4 was read; read it "
            "and fetch again");
  // An older fetch (8, proof from 4) is not a rollback either.
  auto older = a.Update(policy_, note8, seen, *log_->ConsistencyProof(4, 8), sys_seconds(seconds(300)));
  ASSERT_FALSE(older.ok());
  EXPECT_TRUE(IsStoredCheckpointChanged(older.error())) << older.error().message();
  // The same checkpoint as stored is simply accepted.
  EXPECT_TRUE(a.Update(policy_, note10, seen, *log_->ConsistencyProof(4, 10), sys_seconds(seconds(300))).ok());
  EXPECT_EQ(EvidenceFiles(a), 0u);
  // Read again and retry: accepted.
  const uint64_t again = (*a.Latest(policy_))->checkpoint.size;
  auto retried = a.Update(policy_, note12, again, *log_->ConsistencyProof(again, 12), sys_seconds(seconds(300)));
  ASSERT_TRUE(retried.ok()) << retried.error().ToString();
  EXPECT_EQ((*b.Latest(policy_))->checkpoint.size, 12u);

  // Genuine misbehaviour is still refused with evidence: a smaller tree offered after 12 was read,
  // a wrong proof from the size read.
  auto rollback = a.Update(policy_, note8, 12, {}, sys_seconds(seconds(400)));
  ASSERT_FALSE(rollback.ok());
  EXPECT_FALSE(IsStoredCheckpointChanged(rollback.error()));
  EXPECT_NE(rollback.error().message().find("rollback refused: the log offers size 8, smaller than the verified size 12"),
            std::string::npos);
  EXPECT_EQ(EvidenceFiles(a), 2u);
}

// Two writers (threads with their own store objects; the flock is per open file, so they exclude
// each other as two processes do) follow a growing log, each as a caller does: read the stored
// size, fetch the current checkpoint, prove from the size read, update, and fetch again when the
// other moved the store. No refusal, no evidence file, and the store ends at the log's size.
TEST_F(LogPolicyTest, TwoWritersAdvancingTheSameStoreNeverProduceAFalseFork) {
  constexpr size_t kSizes = 40;
  std::vector<std::string> notes;  // notes[i]: the cosigned checkpoint of size i + 1
  for (size_t i = 0; i < kSizes; ++i) {
    Append(1);
    notes.push_back(Cosigned({{1, 1000 + i}, {2, 1000 + i}}));
  }
  std::atomic<size_t> published{0};  // the log's current checkpoint: notes[published]
  std::atomic<bool> done{false};
  std::atomic<size_t> refused{0}, retried{0};
  std::string first_refusal;
  std::mutex mu;
  auto writer = [&](int fetch_ms) {
    CheckpointStore store(client_dir_.path());
    while (true) {
      const bool last = done.load();
      auto latest = store.Latest(policy_);
      ASSERT_TRUE(latest.ok());
      const uint64_t seen = *latest ? (*latest)->checkpoint.size : 0;
      std::this_thread::sleep_for(std::chrono::milliseconds(fetch_ms));  // the fetch: the other may update meanwhile
      const size_t i = published.load();
      const uint64_t size = i + 1;
      std::vector<Hash> proof;
      if (seen > 0 && seen < size) proof = *log_->ConsistencyProof(seen, size);
      auto updated = store.Update(policy_, notes[i], seen, proof, sys_seconds(seconds(5000)));
      if (!updated.ok()) {
        if (IsStoredCheckpointChanged(updated.error())) {
          ++retried;
          continue;
        }
        std::lock_guard lock(mu);
        if (refused++ == 0) first_refusal = updated.error().message();
      }
      if (last) return;
    }
  };
  std::thread w1(writer, 1), w2(writer, 4);
  for (size_t i = 1; i < kSizes; ++i) {
    published = i;
    std::this_thread::sleep_for(std::chrono::milliseconds(2));
  }
  done = true;
  w1.join();
  w2.join();
  EXPECT_EQ(refused.load(), 0u) << first_refusal;
  EXPECT_GT(retried.load(), 0u);  // the race did happen
  EXPECT_EQ(EvidenceFiles(CheckpointStore(client_dir_.path())), 0u);
  EXPECT_EQ((*CheckpointStore(client_dir_.path()).Latest(policy_))->checkpoint.size, kSizes);
  std::printf("two writers: %zu updates had to fetch again\n", retried.load());

  // A real fork of the stored size is still refused.
  CheckpointStore store(client_dir_.path());
  auto forked = store.Update(policy_, ForkNote(kSizes, "other ", 6000), kSizes, {}, sys_seconds(seconds(6000)));
  ASSERT_FALSE(forked.ok());
  EXPECT_NE(forked.error().message().find("fork refused: the log offers another root hash for size 40"), std::string::npos);
  EXPECT_EQ(EvidenceFiles(store), 2u);
}

// Evidence files are named by time, kind, origin and the offered note: two refusals within one
// second do not overwrite each other.
TEST_F(LogPolicyTest, EvidenceOfTwoRefusalsInTheSameSecondIsKeptApart) {
  CheckpointStore store(client_dir_.path());
  Append(4);
  const std::string note4 = Cosigned({{1, 100}, {2, 100}});
  ASSERT_TRUE(store.Update(policy_, note4, 0, {}, sys_seconds(seconds(100))).ok());
  // Two different forks of size 4 (other entries), refused at the same `now`.
  for (const char* prefix : {"x", "y"}) {
    auto forked = store.Update(policy_, ForkNote(4, prefix, 200), 4, {}, sys_seconds(seconds(200)));
    ASSERT_FALSE(forked.ok());
    EXPECT_NE(forked.error().message().find("fork refused"), std::string::npos);
  }
  EXPECT_EQ(EvidenceFiles(store), 4u);
  std::set<std::string> offered;
  for (const auto& e : std::filesystem::directory_iterator(store.evidence_dir())) {
    const std::string name = e.path().filename().string();
    if (name.ends_with("-offered.note")) offered.insert(name);
  }
  ASSERT_EQ(offered.size(), 2u);
  // "<now>-fork-<origin 8 hex>-<offered note 8 hex>-offered.note"
  EXPECT_EQ(offered.begin()->substr(0, 9), "200-fork-");
  EXPECT_EQ(offered.begin()->size(), std::string("200-fork-01234567-89abcdef-offered.note").size());
}

TEST(ReleaseIndexTest, ExposesReleasesRevocationsAndMinimumTcb) {
  const auto release_key = FixedKey(1);
  EntryKeyring keyring;
  keyring.AddReleaseKey(release_key.public_key());
  ReleaseIndex index(keyring);
  ASSERT_TRUE(index.Add(0, testing::SignedManifest("1.0.0", release_key)).ok());
  ASSERT_TRUE(index.Add(1, testing::SignedManifest("1.1.0", release_key)).ok());
  const Bytes id = *ReleaseId(testing::SampleManifest("1.0.0"));
  ASSERT_NE(index.FindRelease(id), nullptr);
  EXPECT_EQ(index.FindRelease(id)->manifest.version, "1.0.0");
  EXPECT_FALSE(index.IsRevoked(id));
  ASSERT_TRUE(index.Add(2, *SignEntry(EntryKind::kRevocation, *RevocationToJson({id, "key leak"}), release_key)).ok());
  EXPECT_TRUE(index.IsRevoked(id));
  EXPECT_FALSE(index.IsRevoked(*ReleaseId(testing::SampleManifest("1.1.0"))));
  MinimumTcb tcb{"sev-snp", {{"snp", 8}}};
  ASSERT_TRUE(index.Add(3, *SignEntry(EntryKind::kMinimumTcb, *MinimumTcbToJson(tcb), release_key)).ok());
  EXPECT_EQ(index.MinimumTcbFor("sev-snp"), tcb);
  EXPECT_FALSE(index.MinimumTcbFor("tdx").has_value());
  EXPECT_EQ(index.Add(5, testing::SignedManifest("2", release_key)).error().message(),
            "log policy: entry 5 added, expected entry 4 (entries are read in order)");
  EXPECT_EQ(index.Add(4, testing::SignedManifest("2", FixedKey(9))).error().code(), ErrorCode::kUnknownKey);
}

}  // namespace
}  // namespace openpcc::tlog
