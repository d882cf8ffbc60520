// `openpcc release revoke` and `openpcc release min-tcb` against the real `openpcc tlog` (with three
// `openpcc witness` processes) on loopback: what they append is what `openpcc tlog monitor` lists and
// what a client's ReleaseIndex, read from the log's tiles, acts on; what they refuse appends nothing.
#include <gtest/gtest.h>

#include <fstream>

#include <boost/json.hpp>

#include "openpcc/attest/bundle_builder.h"
#include "openpcc/attest/bundle_verifier.h"
#include "openpcc/attest/collect/collectors.h"
#include "openpcc/attest/sim/sim.h"
#include "openpcc/crypto/hash.h"
#include "openpcc/crypto/random.h"
#include "openpcc/crypto/x509.h"
#include "openpcc/tlog/log_policy.h"
#include "openpcc/tlog/release.h"
#include "openpcc/util/base64.h"
#include "bundle_test_util.h"
#include "tlog_process_util.h"

namespace openpcc::tlog::testing {
namespace {

using openpcc::testing::RunCli;
using std::chrono::sys_seconds;

// Certificates and the client's judgement use this time, never the wall clock.
const sys_seconds kT = crypto::ParseUtcTime("2025-07-01T00:00:00Z").value();
const Bytes kSimMeasurement(48, 0xaa);

class ReleaseEntriesTest : public ::testing::Test {
 protected:
  void SetUp() override {
    keys_ = dir_.path() / "keys";
    for (const char* kind : {"release", "log"}) GenerateKey(keys_, kind, kind);
    for (int i = 1; i <= 3; ++i) GenerateKey(keys_, "witness", "witness-" + std::to_string(i));
    for (int i = 1; i <= 3; ++i) {
      const std::string name = "witness-" + std::to_string(i);
      auto w = StartService(dir_.path(), name,
                            {"witness", "--key", (keys_ / (name + ".key")).string(), "--log",
                             (keys_ / "log.vkey").string(), "--dir", (dir_.path() / (name + "-state")).string()});
      ASSERT_TRUE(w.ok()) << w.error().ToString();
      witnesses_[i - 1] = std::make_unique<Service>(std::move(w).value());
    }
    std::vector<std::string> args = {"tlog", "--key", (keys_ / "log.key").string(), "--dir", (dir_.path() / "log").string(),
                                     "--release-key", (keys_ / "release.pub").string(), "--refresh-interval", "1s"};
    for (int i = 1; i <= 3; ++i) {
      args.push_back("--witness");
      args.push_back(witnesses_[i - 1]->url + " " + (keys_ / ("witness-" + std::to_string(i) + ".vkey")).string());
    }
    auto log = StartService(dir_.path(), "tlog", args);
    ASSERT_TRUE(log.ok()) << log.error().ToString();
    log_ = std::make_unique<Service>(std::move(log).value());
  }

  LogPolicy Policy() const {
    std::vector<std::string> w;
    for (int i = 1; i <= 3; ++i) w.push_back(ReadText(keys_ / ("witness-" + std::to_string(i) + ".vkey")));
    return std::move(LogPolicy::Create("openpcc.local/log", ReadText(keys_ / "log.vkey"), w, 2)).value();
  }

  std::vector<std::string> Common() const {
    return {"--key", (keys_ / "release.key").string(), "--log", log_->url, "--log-key", (keys_ / "log.vkey").string()};
  }
  openpcc::testing::CliResult Release(std::vector<std::string> args) const {
    args.insert(args.begin(), "release");
    for (const std::string& a : Common()) args.push_back(a);
    return RunCli(args);
  }
  openpcc::testing::CliResult Publish(const std::string& version) const {
    const auto binary = dir_.path() / "node-binary";
    { std::ofstream(binary) << "node binary"; }
    return Release({"publish", "--version", version, "--source-revision", "0123abcd", "--binary", binary.string(),
                    "--measurement", "sim=" + HexEncode(kSimMeasurement)});
  }

  Checkpoint Served() const {
    auto client = std::move(services::LogClient::Create(log_->url)).value();
    return ParseCheckpointText(ParseNote(client->FetchCheckpoint().value()).value().text).value();
  }
  uint64_t TreeSize() const { return Served().size; }

  // The client's view: every entry of the served tree, read from the tiles and checked against its
  // root, added in order to a ReleaseIndex that accepts the release key (as the client does).
  Result<ReleaseIndex> ClientIndex() const {
    const Checkpoint c = Served();
    auto client = std::move(services::LogClient::Create(log_->url)).value();
    OPENPCC_ASSIGN_OR_RETURN(std::vector<Bytes> entries, client->ReadEntries(0, c.size, c.size, c.root));
    EntryKeyring keyring;
    keyring.AddReleaseKey(ReadPrivate(keys_ / "release.key").public_key());
    ReleaseIndex index(std::move(keyring));
    for (uint64_t i = 0; i < entries.size(); ++i) OPENPCC_RETURN_IF_ERROR(index.Add(i, entries[i]));
    return index;
  }

  // `openpcc tlog monitor --once` once the quorum has cosigned a tree of `size`.
  openpcc::testing::CliResult Monitor(uint64_t size) const {
    EXPECT_TRUE(Eventually([&] {
      auto client = std::move(services::LogClient::Create(log_->url)).value();
      auto v = VerifyCheckpoint(Policy(), client->FetchCheckpoint().value());
      return v.ok() && v->checkpoint.size == size;
    })) << "no witnessed checkpoint of size " << size;
    std::vector<std::string> args = {"tlog", "monitor", "--once", "--log", log_->url, "--log-key",
                                     (keys_ / "log.vkey").string(), "--state", (dir_.path() / "monitor").string(),
                                     "--threshold", "2", "--release-key", (keys_ / "release.pub").string()};
    for (int i = 1; i <= 3; ++i) {
      args.push_back("--witness");
      args.push_back((keys_ / ("witness-" + std::to_string(i) + ".vkey")).string());
    }
    return RunCli(args);
  }

  TempDir dir_;
  std::filesystem::path keys_;
  std::unique_ptr<Service> witnesses_[3];
  std::unique_ptr<Service> log_;
};

// A sim node's bundle for the release `publish` printed, fresh by a client nonce.
struct SimNode {
  std::unique_ptr<attest::sim::SimRoot> root;
  attest::EvidenceBundle bundle;
  std::array<uint8_t, 32> nonce{};
};

SimNode BuildSimBundle(const boost::json::value& published) {
  SimNode node;
  node.root = std::make_unique<attest::sim::SimRoot>(
      std::move(attest::sim::SimRoot::Generate("release entries test", kT - std::chrono::hours(24))).value());
  auto signer = std::make_shared<attest::sim::SimSigner>(
      std::move(attest::sim::SimSigner::Create(*node.root, kT - std::chrono::hours(1))).value());
  attest::BundleRelease release;
  release.manifest_entry = Base64Decode(published.at("entry").as_string()).value();
  release.log_index = static_cast<uint64_t>(published.at("log_index").as_int64());
  for (const auto& h : published.at("inclusion_proof").as_array()) {
    release.inclusion_proof.push_back(Base64Decode(h.as_string()).value());
  }
  release.checkpoint = std::string(published.at("checkpoint").as_string());
  crypto::RandomBytes(node.nonce);
  attest::collect::SimCollector collector(signer, kSimMeasurement);
  attest::BundleInputs inputs{attest::testing::RandomKeyConfig(), attest::Claims{}, attest::FreshnessFromNonce(node.nonce),
                              std::move(release)};
  auto bundle = attest::BuildBundle(inputs, collector);
  EXPECT_TRUE(bundle.ok()) << bundle.error().ToString();
  node.bundle = std::move(attest::ParseBundle(bundle->Serialize())).value();
  return node;
}

TEST_F(ReleaseEntriesTest, RevocationByTheReleaseIdIsLoggedListedAndRefusesTheRelease) {
  auto published = Publish("1.0.0");
  ASSERT_EQ(published.exit_code, 0) << published.err;
  const boost::json::value out = boost::json::parse(published.out);
  const std::string release_id(out.at("release_id").as_string());
  ASSERT_EQ(release_id.size(), 64u);

  // Before the revocation, the client accepts the release's bundle.
  SimNode node = BuildSimBundle(out);
  attest::BundlePolicy policy;
  policy.platforms = {attest::Platform::kSim};
  policy.sim_roots = {node.root->certificate()};
  policy.log = Policy();
  policy.release_keys = {ReadPrivate(keys_ / "release.key").public_key()};
  {
    Result<ReleaseIndex> index = ClientIndex();
    ASSERT_TRUE(index.ok()) << index.error().ToString();
    auto verified = attest::VerifyBundle(node.bundle, policy, *index, {kT, node.nonce});
    ASSERT_TRUE(verified.ok()) << verified.error().ToString();
    EXPECT_EQ(verified->release_id, release_id);
  }

  auto revoked = Release({"revoke", "--release", release_id, "--reason", "CVE-2026-0001"});
  ASSERT_EQ(revoked.exit_code, 0) << revoked.err;
  const boost::json::value revocation = boost::json::parse(revoked.out);
  EXPECT_EQ(revocation.at("kind").as_string(), "revocation");
  EXPECT_EQ(revocation.at("log_index").as_int64(), 1);

  // The monitor lists it, naming the release; the client now refuses the bundle at step 4.
  auto monitor = Monitor(2);
  ASSERT_EQ(monitor.exit_code, 0) << monitor.err;
  EXPECT_NE(monitor.out.find("entry 1 kind=revocation"), std::string::npos) << monitor.out;
  EXPECT_NE(monitor.out.find("release_id=" + release_id + " reason=\"CVE-2026-0001\""), std::string::npos)
      << monitor.out;
  Result<ReleaseIndex> index = ClientIndex();
  ASSERT_TRUE(index.ok()) << index.error().ToString();
  EXPECT_TRUE(index->IsRevoked(*HexDecode(release_id)));
  auto refused = attest::VerifyBundle(node.bundle, policy, *index, {kT, node.nonce});
  ASSERT_FALSE(refused.ok());
  EXPECT_EQ(refused.error().message(),
            "step 4 reference values: release " + release_id + " (version 1.0.0) is revoked");

  // Revoking it again, a well-formed id the log does not hold, or a malformed id: refused, and
  // nothing is appended.
  auto again = Release({"revoke", "--release", release_id, "--reason", "twice"});
  EXPECT_EQ(again.exit_code, 1);
  EXPECT_NE(again.err.find("release " + release_id + " is already revoked"), std::string::npos) << again.err;
  const std::string unknown(64, 'e');
  auto missing = Release({"revoke", "--release", unknown, "--reason", "typo"});
  EXPECT_EQ(missing.exit_code, 1);
  EXPECT_NE(missing.err.find("--release: the log (2 entries) holds no release " + unknown), std::string::npos)
      << missing.err;
  for (const std::string& bad : {release_id.substr(0, 63), std::string(64, 'x'), std::string()}) {
    auto malformed = Release({"revoke", "--release", bad, "--reason", "bad"});
    EXPECT_EQ(malformed.exit_code, 2) << bad;
    EXPECT_NE(malformed.err.find("--release (64 hex digits) and --reason are required"), std::string::npos)
        << malformed.err;
  }
  auto no_reason = Release({"revoke", "--release", release_id});
  EXPECT_EQ(no_reason.exit_code, 2);
  EXPECT_EQ(TreeSize(), 2u);
}

TEST_F(ReleaseEntriesTest, MinimumTcbNoticeIsLoggedListedAndReadByTheClient) {
  ASSERT_EQ(Publish("1.0.0").exit_code, 0);
  auto notice = Release({"min-tcb", "--platform", "sev-snp", "--component", "microcode=213", "--component", "snp=22"});
  ASSERT_EQ(notice.exit_code, 0) << notice.err;
  const boost::json::value out = boost::json::parse(notice.out);
  EXPECT_EQ(out.at("kind").as_string(), "minimum-tcb");
  EXPECT_EQ(out.at("log_index").as_int64(), 1);
  auto tdx = Release({"min-tcb", "--platform", "tdx", "--component", "tee_tcb_svn_0=3", "--component", "pce_svn=13"});
  ASSERT_EQ(tdx.exit_code, 0) << tdx.err;

  auto monitor = Monitor(3);
  ASSERT_EQ(monitor.exit_code, 0) << monitor.err;
  EXPECT_NE(monitor.out.find("entry 1 kind=minimum-tcb"), std::string::npos) << monitor.out;
  EXPECT_NE(monitor.out.find("platform=sev-snp microcode=213 snp=22"), std::string::npos) << monitor.out;
  EXPECT_NE(monitor.out.find("platform=tdx pce_svn=13 tee_tcb_svn_0=3"), std::string::npos) << monitor.out;
  Result<ReleaseIndex> index = ClientIndex();
  ASSERT_TRUE(index.ok()) << index.error().ToString();
  EXPECT_EQ(index->MinimumTcbFor("sev-snp"), (MinimumTcb{"sev-snp", {{"microcode", 213}, {"snp", 22}}}));
  EXPECT_EQ(index->MinimumTcbFor("tdx"), (MinimumTcb{"tdx", {{"pce_svn", 13}, {"tee_tcb_svn_0", 3}}}));
}

TEST_F(ReleaseEntriesTest, BadMinimumTcbNoticesAreRefusedAndNothingIsAppended) {
  ASSERT_EQ(Publish("1.0.0").exit_code, 0);
  struct Case {
    std::vector<std::string> args;
    std::string message;
  };
  const Case cases[] = {
      {{"--platform", "sev-snp", "--component", "ucode=213"},
       "\"ucode\" is not a sev-snp TCB component (valid: bootloader, tee, snp, microcode, fmc)"},
      {{"--platform", "sev-snp", "--component", "microcode=256"}, "minimum_tcb.components.microcode: is above 255"},
      {{"--platform", "tdx", "--component", "mrtd=1"},
       "\"mrtd\" is not a tdx TCB component (valid: tee_tcb_svn_0 .. tee_tcb_svn_15, pce_svn, qe_isv_svn)"},
      {{"--platform", "tpm", "--component", "pcr0=1"}, "\"tpm\" has no TCB version"},
      {{"--platform", "sim", "--component", "snp=1"}, "minimum-TCB notices are enforced for sev-snp and tdx only"},
      {{"--platform", "sgx", "--component", "snp=1"}, "\"sgx\" is not sev-snp or tdx"},
      {{"--platform", "sev-snp"}, "minimum_tcb.components: is not an object of 1..64 members"},
      {{"--platform", "sev-snp", "--component", "snp=-1"}, "--component: expected NAME=N (N a decimal integer)"},
      {{"--platform", "sev-snp", "--component", "snp=1", "--component", "snp=2"}, "--component: snp is given twice"},
  };
  for (const Case& c : cases) {
    std::vector<std::string> args = {"min-tcb"};
    args.insert(args.end(), c.args.begin(), c.args.end());
    auto refused = Release(args);
    EXPECT_EQ(refused.exit_code, 2) << c.message;
    EXPECT_NE(refused.err.find(c.message), std::string::npos) << refused.err;
  }
  // The log refuses such a notice itself, signed by the release key, when it is sent directly.
  const std::string body = R"({"components":{"ucode":213},"platform":"sev-snp","type":"openpcc-minimum-tcb/v1"})";
  const auto key = ReadPrivate(keys_ / "release.key");
  Entry e;
  e.kind = EntryKind::kMinimumTcb;
  e.key_id = EntryKeyId(key.public_key());
  e.body = body;
  e.signature = key.Sign(EntrySignedMessage(e.kind, e.body)).value();
  auto client = std::move(services::LogClient::Create(log_->url)).value();
  auto added = client->Add(std::vector<Bytes>{EncodeEntry(e).value()});
  ASSERT_FALSE(added.ok());
  EXPECT_NE(added.error().message().find("\"ucode\" is not a sev-snp TCB component"), std::string::npos)
      << added.error().message();
  EXPECT_EQ(TreeSize(), 1u);
}

}  // namespace
}  // namespace openpcc::tlog::testing
