// services/tlog crash safety: the real `openpcc tlog` is SIGKILLed (--testing-crash-at) after the
// write, the fsync, the checkpoint and the acknowledgement of an append while clients submit
// concurrently; after a restart no acknowledged entry is lost and every checkpoint a client saw is
// consistent with the new one (the tree never forks).
#include <gtest/gtest.h>

#include <mutex>
#include <thread>

#include "openpcc/tlog/checkpoint.h"
#include "tlog_process_util.h"

namespace openpcc::tlog::testing {
namespace {

struct Acked {
  uint64_t index;
  Bytes entry;
};

class TlogCrashTest : public ::testing::TestWithParam<const char*> {};

TEST_P(TlogCrashTest, KilledLogLosesNoAcknowledgedEntryAndNeverForks) {
  TempDir dir;
  const auto keys = dir.path() / "keys";
  GenerateKey(keys, "release", "release");
  GenerateKey(keys, "log", "log");
  const auto release = ReadPrivate(keys / "release.key");
  const NoteVerifier log_key = NoteVerifier::FromVkey(ReadText(keys / "log.vkey")).value();
  const std::vector<std::string> base = {"tlog", "--key", (keys / "log.key").string(), "--dir", (dir.path() / "log").string(),
                                         "--release-key", (keys / "release.pub").string()};

  std::mutex mu;
  std::vector<Acked> acked;
  std::vector<Checkpoint> seen;
  int next_version = 0;
  // Two rounds: the crash hits the third append of each life of the process.
  for (int round = 0; round < 2; ++round) {
    std::vector<std::string> args = base;
    for (const char* a : {"--testing-crash-at", GetParam(), "--testing-crash-on-append", "3"}) args.push_back(a);
    auto log = StartService(dir.path(), "tlog-" + std::to_string(round), args);
    ASSERT_TRUE(log.ok()) << log.error().ToString();
    std::vector<std::thread> clients;
    for (int t = 0; t < 4; ++t) {
      clients.emplace_back([&, url = log->url] {
        auto client = std::move(services::LogClient::Create(url)).value();
        for (int i = 0; i < 20; ++i) {
          std::vector<Bytes> batch;
          {
            std::lock_guard lock(mu);
            for (int k = 0; k < 1 + (i % 3); ++k) batch.push_back(SignedManifest("v" + std::to_string(next_version++), release));
          }
          auto added = client->Add(batch);
          if (!added.ok()) return;  // the process died
          auto verified = VerifyCheckpointNote(added->checkpoint, "openpcc.local/log", log_key);
          ASSERT_TRUE(verified.ok()) << verified.error().ToString();
          std::lock_guard lock(mu);
          for (size_t k = 0; k < batch.size(); ++k) acked.push_back({added->first_index + k, batch[k]});
          seen.push_back(verified->checkpoint);
        }
      });
    }
    for (auto& c : clients) c.join();
    const auto status = log->process.WaitFor(std::chrono::seconds(10));
    ASSERT_TRUE(status.has_value()) << "the log did not crash at " << GetParam();
    EXPECT_EQ(*status, 128 + 9);
  }
  ASSERT_FALSE(acked.empty());

  auto restarted = StartService(dir.path(), "tlog-final", base);
  ASSERT_TRUE(restarted.ok()) << restarted.error().ToString();
  auto client = std::move(services::LogClient::Create(restarted->url)).value();
  auto note = client->FetchCheckpoint();
  ASSERT_TRUE(note.ok());
  const Checkpoint now = VerifyCheckpointNote(note.value(), "openpcc.local/log", log_key).value().checkpoint;
  for (const Checkpoint& old : seen) {
    ASSERT_LE(old.size, now.size) << "a checkpoint clients saw is larger than the recovered tree";
    if (old.size == now.size) {
      EXPECT_EQ(old.root, now.root) << "fork at size " << old.size;
    } else {
      auto proof = client->ConsistencyProof(old.size, now.size);
      ASSERT_TRUE(proof.ok()) << proof.error().ToString();
      EXPECT_TRUE(VerifyConsistency(old.size, now.size, proof.value(), View(old.root), View(now.root)).ok())
          << "the recovered tree is not consistent with the checkpoint of size " << old.size;
    }
  }
  auto entries = client->ReadEntries(0, now.size, now.size, now.root);
  ASSERT_TRUE(entries.ok()) << entries.error().ToString();
  for (const Acked& a : acked) {
    ASSERT_LT(a.index, entries->size()) << "acknowledged entry " << a.index << " lost";
    EXPECT_EQ((*entries)[a.index], a.entry) << "acknowledged entry " << a.index << " changed";
  }
  // The recovered log keeps accepting entries.
  EXPECT_TRUE(client->Add(std::vector<Bytes>{SignedManifest("after", release)}).ok());
}

INSTANTIATE_TEST_SUITE_P(CrashPoints, TlogCrashTest, ::testing::Values("write", "fsync", "checkpoint", "ack"));

}  // namespace
}  // namespace openpcc::tlog::testing
