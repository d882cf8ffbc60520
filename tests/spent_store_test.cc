// Spent-token stores: insert-if-absent semantics, SQLite configuration (WAL, synchronous=FULL),
// group commit, expiry, and durability — SIGKILL of a redeeming process between and during
// redemptions, and power loss simulated by a VFS that drops every write not yet synced.
#include <gtest/gtest.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <atomic>
#include <chrono>
#include <filesystem>
#include <future>
#include <mutex>
#include <set>
#include <thread>
#include <vector>

#include "openpcc/crypto/random.h"
#include "openpcc/tokens/sqlite_spent_store.h"
#include "openpcc/tokens/sqlite_util.h"
#include "support/crash_vfs.h"

namespace openpcc::tokens {
namespace {

using std::chrono::sys_seconds;
const sys_seconds kExpiry{std::chrono::seconds(2'000'000'000)};

Nonce RandomNonce() {
  Nonce n;
  crypto::RandomBytes(n);
  return n;
}

class TempDir {
 public:
  TempDir() {
    std::string tmpl = (std::filesystem::temp_directory_path() / "openpcc-spent-XXXXXX").string();
    path_ = mkdtemp(tmpl.data());
  }
  ~TempDir() { std::filesystem::remove_all(path_); }
  std::string File(const std::string& name) const { return (path_ / name).string(); }

 private:
  std::filesystem::path path_;
};

std::unique_ptr<SqliteSpentStore> OpenStore(const std::string& path, const std::string& vfs = "") {
  auto store = SqliteSpentStore::Open({path, vfs});
  if (!store.ok()) {
    ADD_FAILURE() << store.error().ToString();
    return nullptr;
  }
  return std::move(store).value();
}

void ExpectInsertOnce(SpentTokenStore& store) {
  const Nonce a = RandomNonce();
  auto first = store.InsertIfAbsent(a, kExpiry);
  ASSERT_TRUE(first.ok()) << first.error().ToString();
  EXPECT_TRUE(*first);
  auto second = store.InsertIfAbsent(a, kExpiry);
  ASSERT_TRUE(second.ok());
  EXPECT_FALSE(*second);
  EXPECT_TRUE(*store.Contains(a));
  EXPECT_FALSE(*store.Contains(RandomNonce()));
}

void ExpectDropsOnlyExpired(SpentTokenStore& store) {
  const Nonce early = RandomNonce(), late = RandomNonce();
  ASSERT_TRUE(*store.InsertIfAbsent(early, sys_seconds(std::chrono::seconds(1000))));
  ASSERT_TRUE(*store.InsertIfAbsent(late, sys_seconds(std::chrono::seconds(2000))));
  EXPECT_EQ(*store.DropExpired(sys_seconds(std::chrono::seconds(999))), 0u);
  EXPECT_EQ(*store.DropExpired(sys_seconds(std::chrono::seconds(1000))), 1u);
  EXPECT_FALSE(*store.Contains(early));
  EXPECT_TRUE(*store.Contains(late));
}

TEST(SpentStoreTest, MemoryStoreInsertsOnceAndDropsOnlyExpired) {
  MemorySpentStore store;
  ExpectInsertOnce(store);
  ExpectDropsOnlyExpired(store);
}

TEST(SpentStoreTest, SqliteStoreInsertsOnceAndDropsOnlyExpired) {
  TempDir dir;
  auto store = OpenStore(dir.File("spent.db"));
  ASSERT_TRUE(store);
  ExpectInsertOnce(*store);
  ExpectDropsOnlyExpired(*store);
}

TEST(SpentStoreTest, SqliteStoreRunsInWalModeWithSynchronousFull) {
  TempDir dir;
  auto store = OpenStore(dir.File("spent.db"));
  ASSERT_TRUE(store);
  EXPECT_EQ(*store->Pragma("journal_mode"), "wal");
  EXPECT_EQ(*store->Pragma("synchronous"), "2");  // FULL
}

TEST(SpentStoreTest, SqliteStoreRemembersAcrossReopen) {
  TempDir dir;
  const Nonce a = RandomNonce();
  {
    auto store = OpenStore(dir.File("spent.db"));
    ASSERT_TRUE(*store->InsertIfAbsent(a, kExpiry));
  }
  auto store = OpenStore(dir.File("spent.db"));
  EXPECT_FALSE(*store->InsertIfAbsent(a, kExpiry));
}

TEST(SpentStoreTest, TwoPhaseInsertDecidesBeforeTheCommitAndAcknowledgesAfterIt) {
  TempDir dir;
  auto store = OpenStore(dir.File("spent.db"));
  ASSERT_TRUE(store);
  const Nonce a = RandomNonce();
  struct Seen {
    std::mutex mu;
    std::vector<std::string> events;
  } seen;
  auto insert = [&](const Nonce& n) {
    std::promise<void> finished;
    store->InsertIfAbsentTwoPhase(
        n, kExpiry,
        [&](bool inserted) {
          std::lock_guard lock(seen.mu);
          // The batch's COMMIT has not happened yet: the decision comes before the fsync.
          seen.events.push_back(std::string("decided ") + (inserted ? "new" : "spent") + " at commit " +
                                std::to_string(store->commits()));
        },
        [&](Result<bool> r) {
          std::lock_guard lock(seen.mu);
          seen.events.push_back(std::string("durable ") + (r.ok() && *r ? "new" : "spent") + " at commit " +
                                std::to_string(store->commits()));
          finished.set_value();
        });
    finished.get_future().wait();
  };
  insert(a);
  insert(a);
  EXPECT_EQ(seen.events, (std::vector<std::string>{"decided new at commit 0", "durable new at commit 1",
                                                    "decided spent at commit 1", "durable spent at commit 2"}));
  // The default implementation (the in-memory store) decides just before it acknowledges.
  MemorySpentStore memory;
  std::vector<std::string> order;
  memory.InsertIfAbsentTwoPhase(a, kExpiry, [&](bool inserted) { order.push_back(inserted ? "decided" : "x"); },
                                [&](Result<bool> r) { order.push_back(r.ok() && *r ? "durable" : "x"); });
  EXPECT_EQ(order, (std::vector<std::string>{"decided", "durable"}));
}

TEST(SpentStoreTest, GroupCommitBatchesConcurrentRedeemersAndPicksOneWinnerPerNonce) {
  TempDir dir;
  auto store = OpenStore(dir.File("spent.db"));
  ASSERT_TRUE(store);
  constexpr int kThreads = 16, kPerThread = 50;
  // Every thread also tries one shared nonce: exactly one of them may win it.
  const Nonce shared = RandomNonce();
  std::atomic<int> shared_wins{0}, fresh{0};
  std::vector<std::thread> threads;
  for (int t = 0; t < kThreads; ++t) {
    threads.emplace_back([&] {
      for (int i = 0; i < kPerThread; ++i) {
        auto r = store->InsertIfAbsent(RandomNonce(), kExpiry);
        if (r.ok() && *r) ++fresh;
      }
      auto r = store->InsertIfAbsent(shared, kExpiry);
      if (r.ok() && *r) ++shared_wins;
    });
  }
  for (auto& t : threads) t.join();
  EXPECT_EQ(fresh.load(), kThreads * kPerThread);
  EXPECT_EQ(shared_wins.load(), 1);
  EXPECT_LT(store->commits(), static_cast<uint64_t>(kThreads * kPerThread + kThreads));
}

TEST(SpentStoreTest, AsyncInsertsOfOneNonceInOneBatchHaveOneWinner) {
  TempDir dir;
  auto store = OpenStore(dir.File("spent.db"));
  ASSERT_TRUE(store);
  const Nonce n = RandomNonce();
  std::mutex mu;
  std::vector<bool> answers;
  std::atomic<int> pending{100};
  for (int i = 0; i < 100; ++i) {
    store->InsertIfAbsentAsync(n, kExpiry, [&](Result<bool> r) {
      std::lock_guard lock(mu);
      answers.push_back(r.ok() && *r);
      --pending;
    });
  }
  while (pending.load() > 0) std::this_thread::sleep_for(std::chrono::milliseconds(1));
  EXPECT_EQ(std::count(answers.begin(), answers.end(), true), 1);
}

// ---- SIGKILL ----

// Child: redeems fresh nonces from several threads, in bursts separated by idle pauses, and writes
// each nonce to the pipe once its redemption is acknowledged. Never returns.
[[noreturn]] void RedeemUntilKilled(const std::string& path, int fd) {
  auto opened = SqliteSpentStore::Open({path, ""});
  if (!opened.ok()) _exit(3);
  auto store = std::move(opened).value();
  std::vector<std::thread> threads;
  for (int t = 0; t < 4; ++t) {
    threads.emplace_back([&store, fd, t] {
      for (int burst = 0;; ++burst) {
        for (int i = 0; i < 20; ++i) {
          const Nonce n = RandomNonce();
          auto r = store->InsertIfAbsent(n, kExpiry);
          if (!r.ok() || !*r) _exit(4);
          if (write(fd, n.data(), n.size()) != static_cast<ssize_t>(n.size())) _exit(5);
        }
        if ((burst + t) % 3 == 0) std::this_thread::sleep_for(std::chrono::milliseconds(5));
      }
    });
  }
  for (auto& t : threads) t.join();
  _exit(0);
}

TEST(SpentStoreTest, SigkillNeverLosesAnAcknowledgedRedemption) {
  TempDir dir;
  const std::string path = dir.File("spent.db");
  std::set<Nonce> acknowledged;
  for (int round = 0; round < 6; ++round) {
    int fds[2];
    ASSERT_EQ(pipe(fds), 0);
    const pid_t pid = fork();
    ASSERT_GE(pid, 0);
    if (pid == 0) {
      close(fds[0]);
      RedeemUntilKilled(path, fds[1]);
    }
    close(fds[1]);
    // Once the child has acknowledged its first redemption, kill it at varied moments: right
    // away, mid-burst, or in a pause between bursts.
    Nonce n;
    size_t this_round = 0;
    if (read(fds[0], n.data(), n.size()) == static_cast<ssize_t>(n.size())) {
      acknowledged.insert(n);
      ++this_round;
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(17 * round));
    ASSERT_EQ(kill(pid, SIGKILL), 0);
    int status = 0;
    ASSERT_EQ(waitpid(pid, &status, 0), pid);
    ASSERT_TRUE(WIFSIGNALED(status)) << "child exited on its own with " << WEXITSTATUS(status);
    while (read(fds[0], n.data(), n.size()) == static_cast<ssize_t>(n.size())) {
      EXPECT_TRUE(acknowledged.insert(n).second) << "a nonce was acknowledged twice";
      ++this_round;
    }
    close(fds[0]);
    EXPECT_GT(this_round, 0u) << "round " << round << " acknowledged nothing";

    auto store = OpenStore(path);
    ASSERT_TRUE(store);
    for (const Nonce& a : acknowledged) {
      auto again = store->InsertIfAbsent(a, kExpiry);
      ASSERT_TRUE(again.ok());
      ASSERT_FALSE(*again) << "an acknowledged redemption was forgotten after SIGKILL";
    }
  }
}

// ---- power loss ----

TEST(SpentStoreTest, CrashVfsLosesWritesThatWereNotSynced) {
  // The simulation must be able to lose data, or the next test proves nothing.
  testing::CrashVfs::Register();
  TempDir dir;
  const std::string path = dir.File("unsynced.db");
  {
    auto db = sqlite::Open(path, testing::CrashVfs::kName);
    ASSERT_TRUE(db.ok());
    ASSERT_TRUE(sqlite::Exec(db->get(), "PRAGMA journal_mode=WAL; PRAGMA synchronous=FULL;"
                                        "CREATE TABLE t (x INTEGER)").ok());
    ASSERT_TRUE(sqlite::Exec(db->get(), "PRAGMA synchronous=OFF; INSERT INTO t VALUES (1)").ok());
    testing::CrashVfs::Crash();
  }
  auto db = sqlite::Open(path, testing::CrashVfs::kName);
  ASSERT_TRUE(db.ok());
  auto count = sqlite::QueryText(db->get(), "SELECT count(*) FROM t");
  ASSERT_TRUE(count.ok()) << count.error().ToString();
  EXPECT_EQ(*count, "0") << "an unsynced commit survived the simulated power loss";
}

TEST(SpentStoreTest, PowerLossNeverLosesAnAcknowledgedRedemption) {
  testing::CrashVfs::Register();
  TempDir dir;
  const std::string path = dir.File("spent.db");
  std::set<Nonce> acknowledged;
  for (int round = 0; round < 4; ++round) {
    auto store = OpenStore(path, testing::CrashVfs::kName);
    ASSERT_TRUE(store);
    for (const Nonce& a : acknowledged) {
      auto again = store->InsertIfAbsent(a, kExpiry);
      ASSERT_TRUE(again.ok()) << again.error().ToString();
      ASSERT_FALSE(*again) << "an acknowledged redemption was forgotten after power loss";
    }
    std::mutex mu;
    std::atomic<bool> stop{false};
    std::atomic<int> failures{0};
    std::vector<std::thread> threads;
    for (int t = 0; t < 4; ++t) {
      threads.emplace_back([&] {
        while (!stop.load()) {
          const Nonce n = RandomNonce();
          auto r = store->InsertIfAbsent(n, kExpiry);
          if (!r.ok()) {
            ++failures;
            continue;
          }
          ASSERT_TRUE(*r);
          std::lock_guard lock(mu);
          acknowledged.insert(n);
        }
      });
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(50 + 30 * round));
    testing::CrashVfs::Crash();
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
    stop = true;
    for (auto& t : threads) t.join();
    EXPECT_GT(failures.load(), 0) << "the crash did not interrupt any redemption";
    store.reset();  // the dead connection closes; nothing more reaches the disk
  }
  auto store = OpenStore(path);
  ASSERT_TRUE(store);
  EXPECT_GT(acknowledged.size(), 0u);
  for (const Nonce& a : acknowledged) {
    ASSERT_FALSE(*store->InsertIfAbsent(a, kExpiry)) << "acknowledged redemption forgotten";
  }
}

}  // namespace
}  // namespace openpcc::tokens
