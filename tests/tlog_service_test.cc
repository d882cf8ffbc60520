// services/tlog: the real `openpcc tlog`, three `openpcc witness` processes, `openpcc release` and
// `openpcc tlog monitor`, on loopback.
#include <gtest/gtest.h>

#include <fstream>
#include <thread>

#include <boost/json.hpp>

#include "openpcc/net/client.h"
#include "openpcc/tlog/log_policy.h"
#include "openpcc/tlog/witness_request.h"
#include "openpcc/util/base64.h"
#include "tlog_process_util.h"

namespace openpcc::tlog::testing {
namespace {

using openpcc::testing::RunCli;

class TlogServiceTest : public ::testing::Test {
 protected:
  void SetUp() override {
    keys_ = dir_.path() / "keys";
    for (const char* kind : {"release", "log"}) GenerateKey(keys_, kind, kind);
    GenerateKey(keys_, "release", "other");
    for (int i = 1; i <= 3; ++i) GenerateKey(keys_, "witness", "witness-" + std::to_string(i));
  }

  // Starts a witness with key i (1-based) on its own state directory ("<prefix>witness-i-state").
  Result<Service> StartWitnessProcess(int i, const std::string& prefix) {
    const std::string name = "witness-" + std::to_string(i);
    return StartService(dir_.path(), prefix + name,
                        {"witness", "--key", (keys_ / (name + ".key")).string(), "--log", (keys_ / "log.vkey").string(),
                         "--dir", (dir_.path() / (prefix + name + "-state")).string()});
  }
  void StartWitness(int i) {
    auto w = StartWitnessProcess(i, "");
    ASSERT_TRUE(w.ok()) << w.error().ToString();
    witnesses_[i - 1] = std::make_unique<Service>(std::move(w).value());
  }

  Result<Service> StartLog(const std::string& name, const std::string& log_dir, std::vector<int> witness_numbers,
                           const std::unique_ptr<Service>* witnesses = nullptr, std::vector<std::string> extra = {}) {
    if (witnesses == nullptr) witnesses = witnesses_;
    std::vector<std::string> args = {"tlog", "--key", (keys_ / "log.key").string(), "--dir", (dir_.path() / log_dir).string(),
                                     "--release-key", (keys_ / "release.pub").string(), "--refresh-interval", "1s"};
    for (int i : witness_numbers) {
      args.push_back("--witness");
      args.push_back(witnesses[i - 1]->url + " " + (keys_ / ("witness-" + std::to_string(i) + ".vkey")).string());
    }
    args.insert(args.end(), extra.begin(), extra.end());
    return StartService(dir_.path(), name, args);
  }

  void StartAll(std::vector<std::string> extra = {}) {
    for (int i = 1; i <= 3; ++i) StartWitness(i);
    auto log = StartLog("tlog", "log", {1, 2, 3}, nullptr, std::move(extra));
    ASSERT_TRUE(log.ok()) << log.error().ToString();
    log_ = std::make_unique<Service>(std::move(log).value());
  }

  LogPolicy Policy(size_t threshold) {
    std::vector<std::string> w;
    for (int i = 1; i <= 3; ++i) w.push_back(ReadText(keys_ / ("witness-" + std::to_string(i) + ".vkey")));
    return std::move(LogPolicy::Create("openpcc.local/log", ReadText(keys_ / "log.vkey"), w, threshold)).value();
  }

  std::string Checkpoint(const Service& log) {
    auto client = services::LogClient::Create(log.url);
    auto note = (*client)->FetchCheckpoint();
    return note.ok() ? note.value() : "";
  }

  openpcc::testing::CliResult Publish(const std::string& version, const std::string& key = "release") {
    const auto binary = dir_.path() / "node-binary";
    const auto model = dir_.path() / "tiny.gguf";
    { std::ofstream(binary) << "node binary"; }
    { std::ofstream(model) << "weights"; }
    return RunCli({"release", "publish", "--key", (keys_ / (key + ".key")).string(), "--log", log_->url, "--log-key",
                   (keys_ / "log.vkey").string(), "--version", version, "--source-revision", "0123abcd", "--binary",
                   binary.string(), "--model", "tiny=" + model.string(), "--measurement", "sim=" + std::string(96, 'a')});
  }

  std::vector<std::string> MonitorArgs(const std::string& state, int threshold) {
    std::vector<std::string> args = {"tlog", "monitor", "--once", "--log", log_->url, "--log-key", (keys_ / "log.vkey").string(),
                                     "--state", (dir_.path() / state).string(), "--threshold", std::to_string(threshold),
                                     "--release-key", (keys_ / "release.pub").string()};
    for (int i = 1; i <= 3; ++i) {
      args.push_back("--witness");
      args.push_back((keys_ / ("witness-" + std::to_string(i) + ".vkey")).string());
    }
    return args;
  }

  TempDir dir_;
  std::filesystem::path keys_;
  std::unique_ptr<Service> witnesses_[3];
  std::unique_ptr<Service> log_;
};

TEST_F(TlogServiceTest, PublishesAReleaseAndProvesItsInclusion) {
  StartAll();
  auto published = Publish("1.0.0");
  ASSERT_EQ(published.exit_code, 0) << published.err;
  EXPECT_NE(published.err.find("inclusion proof verified"), std::string::npos);
  boost::json::value out = boost::json::parse(published.out);
  EXPECT_EQ(out.at("log_index").as_int64(), 0);
  EXPECT_EQ(out.at("kind").as_string(), "release-manifest");
  // Check the printed proof independently, against the checkpoint the log serves now.
  const Bytes entry = Base64Decode(out.at("entry").as_string()).value();
  std::vector<Hash> proof;
  for (const auto& h : out.at("inclusion_proof").as_array()) proof.push_back(HashFromBytes(Base64Decode(h.as_string()).value(), "h").value());
  ASSERT_TRUE(Eventually([&] {
    auto v = VerifyCheckpoint(Policy(3), Checkpoint(*log_));
    return v.ok() && v->checkpoint.size == 1;
  }));
  auto verified = VerifyCheckpoint(Policy(3), Checkpoint(*log_)).value();
  EXPECT_TRUE(VerifyInclusion(verified, entry, 0, proof).ok());
  // A tampered entry is not proven by the same proof.
  Bytes tampered = entry;
  tampered.back() ^= 1;
  auto refused = VerifyInclusion(verified, tampered, 0, proof);
  ASSERT_FALSE(refused.ok());
  EXPECT_NE(refused.error().message().find("not proven"), std::string::npos) << refused.error().message();

  // The monitor sees the entry with its signer's role.
  auto monitor = RunCli(MonitorArgs("monitor", 2));
  ASSERT_EQ(monitor.exit_code, 0) << monitor.err;
  EXPECT_NE(monitor.out.find("entry 0 kind=release-manifest"), std::string::npos) << monitor.out;
  EXPECT_NE(monitor.out.find("(release) version=1.0.0"), std::string::npos) << monitor.out;
}

TEST_F(TlogServiceTest, RefusesEntriesOfUnacceptedKeys) {
  for (int i = 1; i <= 3; ++i) StartWitness(i);
  auto log = StartLog("tlog", "log", {});
  ASSERT_TRUE(log.ok()) << log.error().ToString();
  log_ = std::make_unique<Service>(std::move(log).value());
  auto refused = Publish("1.0.0", "other");
  EXPECT_EQ(refused.exit_code, 1);
  EXPECT_NE(refused.err.find("403"), std::string::npos) << refused.err;
  EXPECT_NE(refused.err.find("not accepted for this kind"), std::string::npos) << refused.err;
  // The release key is not accepted for a node directory either.
  auto client = std::move(services::LogClient::Create(log_->url)).value();
  boost::json::value directory = {{"epoch", 1}};
  Bytes entry = SignEntry(EntryKind::kNodeDirectory, directory, ReadPrivate(keys_ / "release.key")).value();
  auto added = client->Add(std::vector<Bytes>{entry});
  ASSERT_FALSE(added.ok());
  EXPECT_NE(added.error().message().find("node-directory is signed by key"), std::string::npos) << added.error().message();
  // Nothing was appended.
  auto cp = ParseCheckpointText(ParseNote(client->FetchCheckpoint().value()).value().text).value();
  EXPECT_EQ(cp.size, 0u);
}

TEST_F(TlogServiceTest, WitnessesCosignAndTheMonitorRequiresTheQuorum) {
  StartAll({"--witness-quorum", "1"});  // the log serves a checkpoint with one cosignature
  ASSERT_EQ(Publish("1.0.0").exit_code, 0);
  ASSERT_TRUE(Eventually([&] {
    auto v = VerifyCheckpoint(Policy(3), Checkpoint(*log_));
    return v.ok() && v->checkpoint.size == 1;
  })) << "the served checkpoint never carried all three cosignatures";
  ASSERT_EQ(RunCli(MonitorArgs("monitor", 2)).exit_code, 0);
  // Two witnesses go away; the next checkpoint gathers a single cosignature.
  witnesses_[1]->process.Stop();
  witnesses_[2]->process.Stop();
  ASSERT_EQ(Publish("1.0.1").exit_code, 0);
  ASSERT_TRUE(Eventually([&] {
    auto note = ParseNote(Checkpoint(*log_));
    return note.ok() && ParseCheckpointText(note->text)->size == 2 && note->signatures.size() == 2;
  }));
  auto monitor = RunCli(MonitorArgs("monitor", 2));
  EXPECT_EQ(monitor.exit_code, 1);
  EXPECT_NE(monitor.err.find("checkpoint has 1 valid witness cosignatures, the policy requires 2"), std::string::npos)
      << monitor.err;
  // With a threshold of one the same checkpoint passes, and only the new entry is printed.
  auto relaxed = RunCli(MonitorArgs("monitor", 1));
  ASSERT_EQ(relaxed.exit_code, 0) << relaxed.err;
  EXPECT_EQ(relaxed.out.find("entry 0 "), std::string::npos) << relaxed.out;
  EXPECT_NE(relaxed.out.find("entry 1 kind=release-manifest"), std::string::npos) << relaxed.out;
}

// With the default quorum (2), a checkpoint that only one witness cosigned is not served: the log
// keeps serving the last one the quorum cosigned, and clients keep working. The appender gets the
// new checkpoint in the /add answer.
TEST_F(TlogServiceTest, ServesTheLastCosignedCheckpointUntilTheQuorumCosignsTheNewOne) {
  StartAll();
  ASSERT_EQ(Publish("1.0.0").exit_code, 0);
  ASSERT_TRUE(Eventually([&] {
    auto v = VerifyCheckpoint(Policy(3), Checkpoint(*log_));
    return v.ok() && v->checkpoint.size == 1;
  })) << "the first release's checkpoint was never served with its cosignatures";
  ASSERT_EQ(RunCli(MonitorArgs("monitor", 2)).exit_code, 0);
  witnesses_[1]->process.Stop();
  witnesses_[2]->process.Stop();
  auto published = Publish("1.0.1");
  ASSERT_EQ(published.exit_code, 0) << published.err;
  const boost::json::value out = boost::json::parse(published.out);
  EXPECT_EQ(out.at("log_index").as_int64(), 1);
  auto fresh = ParseNote(std::string(out.at("checkpoint").as_string()));
  ASSERT_TRUE(fresh.ok());
  EXPECT_EQ(ParseCheckpointText(fresh->text)->size, 2u);  // the appender's checkpoint includes its entry
  // Witness 1 cosigns size 2 within a refresh interval (1 s); one cosignature is not the quorum.
  // (Compared by size, not note text: until they stopped, the witnesses may have re-cosigned size 1
  // with later timestamps.)
  std::this_thread::sleep_for(2500ms);
  auto served = VerifyCheckpoint(Policy(2), Checkpoint(*log_));  // the log's quorum
  ASSERT_TRUE(served.ok()) << served.error().ToString();
  EXPECT_EQ(served->checkpoint.size, 1u);
  auto monitor = RunCli(MonitorArgs("monitor", 2));
  EXPECT_EQ(monitor.exit_code, 0) << monitor.err;
  EXPECT_EQ(monitor.out.find("entry 1 "), std::string::npos) << monitor.out;  // not served yet
}

TEST_F(TlogServiceTest, ASecondWitnessOnTheSameStateDirectoryRefusesToStart) {
  StartWitness(1);
  const auto state = dir_.path() / "witness-1-state";
  auto second = RunCli({"witness", "--key", (keys_ / "witness-2.key").string(), "--log", (keys_ / "log.vkey").string(),
                        "--dir", state.string(), "--listen", "127.0.0.1:0"});
  EXPECT_EQ(second.exit_code, 1) << second.out;
  EXPECT_NE(second.err.find("state directory " + state.string() + " is in use by another witness"), std::string::npos)
      << second.err;
}

// A quorum the configured witnesses cannot reach, or one witness listed twice (its one cosignature
// would count twice), is refused at start.
TEST_F(TlogServiceTest, AnUnreachableQuorumOrAWitnessListedTwiceIsRefused) {
  StartWitness(1);
  const std::string witness = witnesses_[0]->url + " " + (keys_ / "witness-1.vkey").string();
  const std::vector<std::string> base = {"tlog", "--key", (keys_ / "log.key").string(), "--dir",
                                         (dir_.path() / "refused").string(), "--release-key",
                                         (keys_ / "release.pub").string(), "--listen", "127.0.0.1:0"};
  std::vector<std::string> too_many = base;
  too_many.insert(too_many.end(), {"--witness", witness, "--witness-quorum", "3"});
  auto quorum = RunCli(too_many);
  EXPECT_EQ(quorum.exit_code, 2);
  EXPECT_NE(quorum.err.find("--witness-quorum: 3 is more than the 1 --witness given"), std::string::npos) << quorum.err;
  std::vector<std::string> twice = base;
  twice.insert(twice.end(), {"--witness", witness, "--witness", witness});
  auto listed = RunCli(twice);
  EXPECT_NE(listed.exit_code, 0);
  EXPECT_NE(listed.err.find("is listed twice"), std::string::npos) << listed.err;
}

TEST_F(TlogServiceTest, CosignaturesRefreshWithoutGrowth) {
  StartAll();
  ASSERT_EQ(Publish("1.0.0").exit_code, 0);
  // (Until the witnesses cosigned size 1, the log serves size 0, cosigned at start.)
  ASSERT_TRUE(Eventually([&] {
    auto v = VerifyCheckpoint(Policy(3), Checkpoint(*log_));
    return v.ok() && v->checkpoint.size == 1;
  }));
  const VerifiedCheckpoint first = VerifyCheckpoint(Policy(3), Checkpoint(*log_)).value();
  // The refresh interval is 1 s and timestamps have 1 s resolution: within a few seconds every
  // witness has cosigned the unchanged checkpoint again, later.
  ASSERT_TRUE(Eventually([&] {
    auto now = VerifyCheckpoint(Policy(3), Checkpoint(*log_));
    return now.ok() && now->not_before > first.not_before;
  }, 10s)) << "the quorum's cosignature time did not advance";
  EXPECT_EQ(VerifyCheckpoint(Policy(3), Checkpoint(*log_))->checkpoint, first.checkpoint);
}

TEST_F(TlogServiceTest, WitnessRefusesForkAndRollback) {
  StartAll();
  ASSERT_EQ(Publish("1.0.0").exit_code, 0);
  ASSERT_EQ(Publish("1.0.1").exit_code, 0);
  ASSERT_TRUE(Eventually([&] {
    auto v = VerifyCheckpoint(Policy(3), Checkpoint(*log_));
    return v.ok() && v->checkpoint.size == 2;
  }));
  // A second log directory with the same key: a different tree under the same origin, cosigned by
  // two colluding witnesses (the keys of witnesses 1 and 2 with state that never saw the real log).
  std::unique_ptr<Service> colluding[2];
  for (int i = 1; i <= 2; ++i) {
    auto w = StartWitnessProcess(i, "colluding-");
    ASSERT_TRUE(w.ok()) << w.error().ToString();
    colluding[i - 1] = std::make_unique<Service>(std::move(w).value());
  }
  auto fork = StartLog("fork", "fork", {1, 2}, colluding);
  ASSERT_TRUE(fork.ok()) << fork.error().ToString();
  auto fork_client = std::move(services::LogClient::Create(fork->url)).value();
  const auto release = ReadPrivate(keys_ / "release.key");
  auto evil1 = fork_client->Add(std::vector<Bytes>{SignedManifest("evil-1", release)});
  ASSERT_TRUE(evil1.ok()) << evil1.error().ToString();
  const std::string rollback_note = evil1->checkpoint;  // size 1
  auto evil2 = fork_client->Add(std::vector<Bytes>{SignedManifest("evil-2", release)});
  ASSERT_TRUE(evil2.ok()) << evil2.error().ToString();
  const std::string fork_note = evil2->checkpoint;  // size 2, another root

  auto http = std::move(net::BlockingClient::Create({})).value();
  auto post = [&](uint64_t old_size, const std::string& note) {
    return http->Fetch(net::ClientRequest("POST", witnesses_[0]->url + "/add-checkpoint"),
                       FormatAddCheckpoint(old_size, {}, note), 4096)
        .value();
  };
  auto forked = post(2, fork_note);
  EXPECT_EQ(forked.status, 422u) << forked.body;
  EXPECT_NE(forked.body.find("fork refused"), std::string::npos) << forked.body;
  auto rolled_back = post(2, rollback_note);
  EXPECT_EQ(rolled_back.status, 400u) << rolled_back.body;
  EXPECT_NE(rolled_back.body.find("rollback refused"), std::string::npos) << rolled_back.body;
  auto conflict = post(1, fork_note);
  EXPECT_EQ(conflict.status, 409u);
  EXPECT_EQ(conflict.body, "2\n");
  // The witness still cosigns the real log (its state is unchanged), and a restarted witness
  // remembers what it saw: the fork is refused again.
  witnesses_[0]->process.Stop();
  StartWitness(1);
  auto again = post(2, fork_note);
  EXPECT_EQ(again.status, 422u) << again.body;
  auto genuine = post(2, Checkpoint(*log_));
  EXPECT_EQ(genuine.status, 200u) << genuine.body;

  // A monitor that followed the real log refuses the fork's checkpoint: the log signature and the
  // quorum of cosignatures are valid, but it is another tree of the size the monitor verified.
  ASSERT_EQ(RunCli(MonitorArgs("monitor", 2)).exit_code, 0);
  ASSERT_TRUE(Eventually([&] {
    auto v = VerifyCheckpoint(Policy(2), Checkpoint(*fork));
    return v.ok() && v->checkpoint.size == 2;
  })) << "the colluding witnesses never cosigned the fork";
  auto args = MonitorArgs("monitor", 2);
  args[4] = fork->url;
  auto refused = RunCli(args);
  EXPECT_EQ(refused.exit_code, 1) << refused.out;
  EXPECT_NE(refused.err.find("fork refused: the log offers another root hash for size 2"), std::string::npos)
      << refused.err;
  size_t evidence = 0;
  for (const auto& e : std::filesystem::directory_iterator(dir_.path() / "monitor" / "evidence")) {
    evidence += e.path().extension() == ".note";
  }
  EXPECT_EQ(evidence, 2u);  // the verified and the offered note
}

}  // namespace
}  // namespace openpcc::tlog::testing
