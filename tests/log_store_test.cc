// tlog/log_store.h: appends publish signed checkpoints, tiles and bundles are served by path,
// reopening recovers exactly, refused entries are never written, witness cosignatures are
// collected; and a child SIGKILLed at each crash point loses no acknowledged entry and never forks.
#include <gtest/gtest.h>

#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cstdio>

#include "openpcc/tlog/log_store.h"
#include "openpcc/util/base64.h"
#include "tlog_test_util.h"

namespace openpcc::tlog {
namespace {

using testing::FixedKey;
using testing::TempDir;

constexpr char kOrigin[] = "log.openpcc.test/main";

NoteSigner LogSigner() { return std::move(NoteSigner::Create(kOrigin, FixedKey(7))).value(); }

LogStoreOptions Options(const std::filesystem::path& dir) {
  LogStoreOptions o;
  o.dir = dir;
  o.origin = kOrigin;
  return o;
}

std::vector<Bytes> Batch(uint64_t first, size_t n) {
  std::vector<Bytes> out;
  for (size_t i = 0; i < n; ++i) out.push_back(ToBytes("entry " + std::to_string(first + i)));
  return out;
}

TEST(LogStoreTest, AppendsPublishCheckpointsAndServeTiles) {
  TempDir dir;
  auto store = LogStore::Open(Options(dir.path()), LogSigner());
  ASSERT_TRUE(store.ok()) << store.error().ToString();
  EXPECT_EQ((*store)->checkpoint().size, 0u);
  EXPECT_EQ((*store)->checkpoint().root, EmptyTreeHash());
  std::vector<Hash> leaves;
  uint64_t size = 0;
  for (size_t n : {1u, 254u, 1u, 300u, 100u}) {
    auto batch = Batch(size, n);
    auto result = (*store)->Append(batch);
    ASSERT_TRUE(result.ok()) << result.error().ToString();
    EXPECT_EQ(result->first_index, size);
    size += n;
    for (const auto& e : batch) leaves.push_back(LeafHash(e));
    auto verified = VerifyCheckpointNote(result->checkpoint_note, kOrigin, LogSigner().verifier());
    ASSERT_TRUE(verified.ok());
    EXPECT_EQ(verified->checkpoint.size, size);
    EXPECT_EQ(verified->checkpoint.root, RootFromLeafHashes(leaves));
  }
  // 656 entries: two full level-0 tiles and bundles, a partial of 144, a level-1 partial of 2.
  EXPECT_EQ((*store)->ReadPath("tile/0/001")->size(), 256u * 32);
  EXPECT_EQ((*store)->ReadPath("tile/0/002.p/144")->size(), 144u * 32);
  EXPECT_EQ((*store)->ReadPath("tile/0/002.p/10")->size(), 10u * 32);  // a prefix: an older checkpoint's tile
  EXPECT_EQ(*(*store)->ReadPath("tile/1/000.p/2"),
            EncodeTile(std::vector<Hash>{RootFromLeafHashes(std::span(leaves).first(256)),
                                         RootFromLeafHashes(std::span(leaves).subspan(256, 256))}));
  EXPECT_EQ(*ParseEntryBundle(*(*store)->ReadPath("tile/entries/002.p/144"), 144), Batch(512, 144));
  EXPECT_EQ((*store)->ReadPath("tile/0/002").error().message(), "log: tile/0/002 is not in the tree of size 656");
  EXPECT_EQ((*store)->ReadPath("tile/0/002.p/145").error().code(), ErrorCode::kOutOfRange);
  EXPECT_EQ(AsChars(*(*store)->ReadPath("checkpoint")), (*store)->CheckpointNote());
  EXPECT_EQ(*(*store)->ReadEntry(300), ToBytes("entry 300"));

  const Hash root = RootFromLeafHashes(leaves);
  auto proof = (*store)->InclusionProof(300, size);
  ASSERT_TRUE(proof.ok());
  EXPECT_TRUE(VerifyInclusion(300, size, View(leaves[300]), *proof, View(root)).ok());
  auto consistency = (*store)->ConsistencyProof(255, size);
  ASSERT_TRUE(consistency.ok());
  EXPECT_TRUE(VerifyConsistency(255, size, *consistency, View(RootFromLeafHashes(std::span(leaves).first(255))), View(root)).ok());

  // Reopening recovers exactly the same tree and serves the same files.
  const std::string note = (*store)->CheckpointNote();
  const Bytes tile = *(*store)->ReadPath("tile/0/002.p/144");
  store->reset();
  auto reopened = LogStore::Open(Options(dir.path()), LogSigner());
  ASSERT_TRUE(reopened.ok()) << reopened.error().ToString();
  EXPECT_EQ((*reopened)->CheckpointNote(), note);
  EXPECT_EQ(*(*reopened)->ReadPath("tile/0/002.p/144"), tile);
  ASSERT_TRUE((*reopened)->Append(Batch(size, 1)).ok());
  EXPECT_EQ((*reopened)->checkpoint().size, size + 1);
}

TEST(LogStoreTest, RefusedEntriesAreNeverWritten) {
  TempDir dir;
  auto options = Options(dir.path());
  options.accept = [](ByteView entry) -> Status {
    if (AsChars(entry).find("bad") != std::string_view::npos) return Error(ErrorCode::kUnknownKey, "not signed by an accepted key");
    return OkStatus();
  };
  auto store = LogStore::Open(options, LogSigner());
  ASSERT_TRUE(store.ok());
  std::vector<Bytes> batch = {ToBytes("good"), ToBytes("bad")};
  EXPECT_EQ((*store)->Append(batch).error().message(), "log: entry 1 of the batch refused: not signed by an accepted key");
  EXPECT_EQ((*store)->checkpoint().size, 0u);
  EXPECT_EQ(std::filesystem::file_size(dir.path() / "entries"), 0u);
  EXPECT_EQ((*store)->Append(std::vector<Bytes>{Bytes(65536)}).error().message(), "log: entry 0 is longer than 65535 bytes");
  // A second process cannot open the same log.
  EXPECT_EQ(LogStore::Open(options, LogSigner()).error().code(), ErrorCode::kFailedPrecondition);
}

TEST(LogStoreTest, RefusesToOpenWhenAcknowledgedEntriesAreMissingOrChanged) {
  TempDir dir;
  {
    auto store = LogStore::Open(Options(dir.path()), LogSigner());
    ASSERT_TRUE((*store)->Append(Batch(0, 10)).ok());
  }
  const auto entries = dir.path() / "entries";
  std::filesystem::resize_file(entries, std::filesystem::file_size(entries) - 1);
  EXPECT_EQ(LogStore::Open(Options(dir.path()), LogSigner()).error().message(),
            "log: entries file holds 9 complete entries but the checkpoint covers 10: acknowledged entries are missing");
  {
    FILE* f = std::fopen(entries.c_str(), "r+b");
    std::fseek(f, 3, SEEK_SET);
    std::fputc('X', f);
    std::fputc('X', f);
    std::fclose(f);
  }
  std::filesystem::resize_file(entries, std::filesystem::file_size(entries) + 1);  // not a full record
  EXPECT_EQ(LogStore::Open(Options(dir.path()), LogSigner()).error().message(),
            "log: the first 10 entries do not hash to the stored checkpoint's root");
}

TEST(LogStoreTest, CollectsWitnessCosignaturesForTheCurrentCheckpoint) {
  TempDir dir;
  auto w1 = std::move(Cosigner::Create("witness.test/w1", FixedKey(21))).value();
  auto w2 = std::move(Cosigner::Create("witness.test/w2", FixedKey(22))).value();
  auto stranger = std::move(Cosigner::Create("witness.test/x", FixedKey(23))).value();
  auto options = Options(dir.path());
  options.witnesses = {w1.verifier(), w2.verifier()};
  auto store = LogStore::Open(options, LogSigner());
  ASSERT_TRUE((*store)->Append(Batch(0, 3)).ok());
  const std::string text = FormatCheckpointText((*store)->checkpoint());
  ASSERT_TRUE((*store)->AddCosignatures(FormatSignatureLine(*w1.Cosign(text, 100))).ok());
  ASSERT_TRUE((*store)->AddCosignatures(FormatSignatureLine(*w1.Cosign(text, 200))).ok());  // replaces
  ASSERT_TRUE((*store)->AddCosignatures(FormatSignatureLine(*w2.Cosign(text, 150))).ok());
  EXPECT_EQ((*store)->AddCosignatures(FormatSignatureLine(*stranger.Cosign(text, 1))).error().message(),
            "log: cosignature by unknown witness witness.test/x");
  EXPECT_EQ((*store)->AddCosignatures(FormatSignatureLine(*w2.Cosign("other\n1\n" + text.substr(text.find('\n', text.find('\n') + 1) + 1), 1))).error().message(),
            "cosignature: by witness.test/w2 does not verify");
  auto note = *ParseNote((*store)->CheckpointNote());
  ASSERT_EQ(note.signatures.size(), 3u);
  EXPECT_EQ(*w1.verifier().Verify(note.text, note.signatures[1]), 200u);
  // Cosignatures survive a restart; a new checkpoint starts without them (and is not served until
  // cosigned: see the next test).
  const std::string served = (*store)->CheckpointNote();
  store->reset();
  store = LogStore::Open(options, LogSigner());
  EXPECT_EQ((*store)->CheckpointNote(), served);
  ASSERT_TRUE((*store)->Append(Batch(3, 1)).ok());
  EXPECT_EQ(ParseNote((*store)->LatestCheckpointNote())->signatures.size(), 1u);
  EXPECT_EQ((*store)->CheckpointNote(), served);
}

// Between an append and the witnesses' answers the log has a checkpoint nobody cosigned yet; it
// keeps serving the last one the quorum cosigned (whose tiles are prefixes of the current ones),
// and serves the new one once the quorum cosigned it. Before this, GET /checkpoint served the new
// checkpoint without cosignatures and every client fetching it then failed.
TEST(LogStoreTest, ServesTheLastCosignedCheckpointUntilTheNewOneHasTheQuorum) {
  TempDir dir;
  std::vector<Cosigner> w;
  for (int i = 1; i <= 3; ++i) w.push_back(std::move(Cosigner::Create("witness.test/w" + std::to_string(i), FixedKey(static_cast<uint8_t>(20 + i)))).value());
  auto options = Options(dir.path());
  for (const auto& c : w) options.witnesses.push_back(c.verifier());
  options.witness_quorum = 2;
  auto store = LogStore::Open(options, LogSigner());
  ASSERT_TRUE(store.ok()) << store.error().ToString();
  auto cosign = [&](int i, uint64_t time) {
    const std::string text = FormatCheckpointText((*store)->checkpoint());
    return (*store)->AddCosignatures(FormatSignatureLine(*w[static_cast<size_t>(i - 1)].Cosign(text, time)));
  };
  auto served = [&] { return ParseCheckpointText(ParseNote((*store)->CheckpointNote())->text).value(); };
  auto lines = [&] { return ParseNote((*store)->CheckpointNote())->signatures.size(); };

  // Nothing cosigned yet: the newest is served.
  auto first = (*store)->Append(Batch(0, 3));
  ASSERT_TRUE(first.ok());
  EXPECT_EQ((*store)->CheckpointNote(), first->checkpoint_note);
  ASSERT_TRUE(cosign(1, 100).ok());
  EXPECT_EQ(served().size, 3u);
  ASSERT_TRUE(cosign(2, 100).ok());
  const std::string cosigned3 = (*store)->CheckpointNote();
  EXPECT_EQ(lines(), 3u);

  // After an append, before the witnesses answered: still size 3, with its cosignatures.
  auto second = (*store)->Append(Batch(3, 2));
  ASSERT_TRUE(second.ok());
  EXPECT_EQ(second->tree_size, 5u);
  EXPECT_EQ(ParseCheckpointText(ParseNote(second->checkpoint_note)->text)->size, 5u);  // the appender's
  EXPECT_EQ((*store)->CheckpointNote(), cosigned3);
  EXPECT_EQ(AsChars(*(*store)->ReadPath("checkpoint")), cosigned3);
  EXPECT_EQ(ParseCheckpointText(ParseNote((*store)->LatestCheckpointNote())->text)->size, 5u);  // the witnesses'
  // The served tree's tiles are still there: its root from the prefix tile, its entries.
  const Bytes tile = *(*store)->ReadPath("tile/0/000.p/3");
  std::vector<Hash> hashes;
  for (size_t i = 0; i < 3; ++i) hashes.push_back(*HashFromBytes(ByteView(tile).subspan(i * kHashLength, kHashLength), "tile hash"));
  EXPECT_EQ(RootFromLeafHashes(hashes), served().root);
  EXPECT_EQ(*ParseEntryBundle(*(*store)->ReadPath("tile/entries/000.p/3"), 3), Batch(0, 3));

  // One witness is not the quorum; a restart changes nothing.
  ASSERT_TRUE(cosign(3, 200).ok());
  EXPECT_EQ((*store)->CheckpointNote(), cosigned3);
  store->reset();
  store = LogStore::Open(options, LogSigner());
  ASSERT_TRUE(store.ok()) << store.error().ToString();
  EXPECT_EQ((*store)->CheckpointNote(), cosigned3);
  EXPECT_EQ(ParseNote((*store)->LatestCheckpointNote())->signatures.size(), 2u);

  // The second cosignature: size 5 is served, and later cosignatures are served with it.
  ASSERT_TRUE(cosign(1, 200).ok());
  EXPECT_EQ(served().size, 5u);
  EXPECT_EQ(lines(), 3u);
  ASSERT_TRUE(cosign(2, 300).ok());
  EXPECT_EQ(lines(), 4u);
  auto note = *ParseNote((*store)->CheckpointNote());
  EXPECT_EQ(*w[1].verifier().Verify(note.text, note.signatures[3]), 300u);

  // A quorum larger than the witnesses is refused.
  store->reset();
  options.witness_quorum = 4;
  EXPECT_EQ(LogStore::Open(options, LogSigner()).error().message(), "log: witness quorum 4 is not in 1..3");
  // So is a witness listed twice: its one cosignature would count twice toward the quorum.
  options.witness_quorum = 2;
  options.witnesses.push_back(options.witnesses[0]);
  auto twice = LogStore::Open(options, LogSigner());
  ASSERT_FALSE(twice.ok());
  EXPECT_EQ(twice.error().message(), "log: witness " + options.witnesses[0].name() + " is listed twice");
}

// The child appends batches and reports each acknowledged checkpoint on a pipe; it is killed at
// `point` during (or, for kAfterAck, just after acknowledging) batch number `crash_batch`.
enum class Kill { kAfterWrite, kAfterFsync, kAfterCheckpoint, kAfterAck };

void RunChild(const std::filesystem::path& dir, Kill kill, int crash_batch, int fd) {
  auto options = Options(dir);
  int batch_number = 0;
  options.crash_hook = [&](CrashPoint p) {
    if (batch_number != crash_batch) return;
    if ((p == CrashPoint::kAfterWrite && kill == Kill::kAfterWrite) ||
        (p == CrashPoint::kAfterFsync && kill == Kill::kAfterFsync) ||
        (p == CrashPoint::kAfterCheckpoint && kill == Kill::kAfterCheckpoint)) {
      ::kill(::getpid(), SIGKILL);
    }
  };
  auto store = LogStore::Open(options, LogSigner());
  if (!store.ok()) ::_exit(2);
  uint64_t size = (*store)->checkpoint().size;
  for (batch_number = 0; batch_number < 8; ++batch_number) {
    auto result = (*store)->Append(Batch(size, 37));
    if (!result.ok()) ::_exit(3);
    size = result->tree_size;
    const std::string ack = result->checkpoint_note + "\x01";
    if (::write(fd, ack.data(), ack.size()) != static_cast<ssize_t>(ack.size())) ::_exit(4);
    if (kill == Kill::kAfterAck && batch_number == crash_batch) ::kill(::getpid(), SIGKILL);
  }
  ::_exit(0);
}

TEST(LogStoreCrashTest, SigkillAtEveryCrashPointLosesNoAcknowledgedEntryAndNeverForks) {
  for (Kill kill : {Kill::kAfterWrite, Kill::kAfterFsync, Kill::kAfterCheckpoint, Kill::kAfterAck}) {
    for (int crash_batch : {0, 3}) {
      TempDir dir;
      std::vector<std::string> acked;
      for (int round = 0; round < 2; ++round) {  // crash, then crash again after recovery
        int fds[2];
        ASSERT_EQ(::pipe(fds), 0);
        const pid_t pid = ::fork();
        ASSERT_GE(pid, 0);
        if (pid == 0) {
          ::close(fds[0]);
          RunChild(dir.path(), kill, crash_batch, fds[1]);
        }
        ::close(fds[1]);
        std::string received;
        char buffer[4096];
        ssize_t n;
        while ((n = ::read(fds[0], buffer, sizeof(buffer))) > 0) received.append(buffer, static_cast<size_t>(n));
        ::close(fds[0]);
        int status = 0;
        ::waitpid(pid, &status, 0);
        ASSERT_TRUE(WIFSIGNALED(status) && WTERMSIG(status) == SIGKILL) << "child did not die at the crash point";
        for (size_t start = 0, end; (end = received.find('\x01', start)) != std::string::npos; start = end + 1) {
          acked.push_back(received.substr(start, end - start));
        }
      }
      ASSERT_FALSE(acked.empty() && crash_batch > 0);
      auto store = LogStore::Open(Options(dir.path()), LogSigner());
      ASSERT_TRUE(store.ok()) << store.error().ToString();
      const Checkpoint recovered = (*store)->checkpoint();
      for (const auto& note : acked) {
        auto c = VerifyCheckpointNote(note, kOrigin, LogSigner().verifier());
        ASSERT_TRUE(c.ok());
        const Checkpoint& a = c->checkpoint;
        ASSERT_LE(a.size, recovered.size) << "an acknowledged entry was lost";
        auto proof = (*store)->ConsistencyProof(a.size, recovered.size);
        ASSERT_TRUE(proof.ok());
        if (a.size > 0) {
          EXPECT_TRUE(VerifyConsistency(a.size, recovered.size, *proof, View(a.root), View(recovered.root)).ok())
              << "the recovered tree forks from an acknowledged checkpoint";
        }
      }
      // Every entry is the one the children appended, in order.
      for (uint64_t i = 0; i < recovered.size; i += 17) EXPECT_EQ(*(*store)->ReadEntry(i), ToBytes("entry " + std::to_string(i)));
    }
  }
}

}  // namespace
}  // namespace openpcc::tlog
