// `openpcc evidence verify --type sim` and `--type bundle`, run as a process on a simulated
// deployment made here: the root, the policy file, the log entries directory and a bundle.
#include <gtest/gtest.h>

#include <unistd.h>

#include <filesystem>
#include <fstream>

#include "bundle_test_util.h"
#include "openpcc/attest/bundle_builder.h"
#include "openpcc/attest/collect/collectors.h"
#include "openpcc/attest/sim/sim.h"
#include "support/cli.h"

namespace openpcc::attest {
namespace {

namespace fs = std::filesystem;
namespace json = boost::json;
using openpcc::testing::RunCli;
using CliResult = openpcc::testing::CliResult;

void Write(const fs::path& path, std::string_view text) { std::ofstream(path, std::ios::binary) << text; }

class BundleCliTest : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = fs::temp_directory_path() / ("openpcc-bundle-cli-" + std::to_string(::getpid()));
    fs::remove_all(dir_);
    fs::create_directories(dir_ / "entries");
    const auto t = crypto::ParseUtcTime("2025-07-01T00:00:00Z").value();
    sim::SimRoot root = *sim::SimRoot::Generate("cli test", t - std::chrono::hours(24));
    ASSERT_TRUE(root.Save(dir_ / "sim-root.key", dir_ / "sim-root.pem").ok());
    auto signer = std::make_shared<sim::SimSigner>(*sim::SimSigner::Create(root, t - std::chrono::hours(1)));
    tlog::ReleaseManifest m = attest::testing::BaseManifest("2.0.0");
    m.sim = tlog::SimReference{{Bytes(48, 0x5a)}};
    const uint64_t index = log_.AppendManifest(m);
    for (size_t i = 0; i < log_.entries().size(); ++i) {
      Write(dir_ / "entries" / std::to_string(i), AsChars(log_.entries()[i]));
    }
    const std::string note = log_.Checkpoint(static_cast<uint64_t>(t.time_since_epoch().count()));
    Write(dir_ / "checkpoint", note);
    collect::SimCollector collector(signer, Bytes(48, 0x5a));
    BundleInputs inputs{attest::testing::RandomKeyConfig(), Claims{{{"tiny-llama", std::string(64, '3')}}},
                        FreshnessFromCheckpoint(note),
                        BundleRelease{log_.entries()[index], index, log_.InclusionProof(index), note}};
    EvidenceBundle bundle = *BuildBundle(inputs, collector);
    Write(dir_ / "bundle.json", bundle.Serialize());
    Write(dir_ / "report.bin", AsChars(bundle.cpu_evidence.at("report")));
    Write(dir_ / "vek.der", AsChars(bundle.cpu_evidence.at("vek")));
    json::object policy{{"version", 1},
                        {"platforms", json::array{"sim"}},
                        {"roots", json::object{{"sim", json::array{"sim-root.pem"}}}},
                        {"log", log_.LogPolicyJson()},
                        {"release_keys", json::array{log_.ReleaseKeyHex()}}};
    Write(dir_ / "policy.json", json::serialize(policy));
    policy["platforms"] = json::array{"sev-snp"};
    Write(dir_ / "snp-only.json", json::serialize(policy));
  }
  void TearDown() override { fs::remove_all(dir_); }

  std::vector<std::string> BundleArgs(const std::string& at, const std::string& policy = "policy.json") const {
    return {"evidence", "verify", "--type", "bundle", "--policy", (dir_ / policy).string(), "--entries",
            (dir_ / "entries").string(), "--checkpoint", (dir_ / "checkpoint").string(), "--at", at,
            (dir_ / "bundle.json").string()};
  }

  fs::path dir_;
  attest::testing::TestLog log_;
};

TEST_F(BundleCliTest, VerifiesASimBundleAndSaysSimulated) {
  CliResult r = RunCli(BundleArgs("2025-07-01T00:05:00Z"));
  ASSERT_EQ(r.exit_code, 0) << r.err;
  json::value out = json::parse(r.out);
  EXPECT_EQ(out.at("verified"), true);
  EXPECT_EQ(out.at("simulated"), true);
  EXPECT_EQ(out.at("node").at("platform"), "sim");
  EXPECT_EQ(out.at("node").at("release").at("version"), "2.0.0");
  EXPECT_NE(r.err.find("SIMULATED"), std::string::npos);
}

TEST_F(BundleCliTest, RefusesStaleAndForbiddenBundlesNamingTheStep) {
  CliResult stale = RunCli(BundleArgs("2025-07-01T00:20:00Z"));
  EXPECT_EQ(stale.exit_code, 1);
  EXPECT_NE(stale.err.find("step 5 freshness"), std::string::npos) << stale.err;
  CliResult forbidden = RunCli(BundleArgs("2025-07-01T00:05:00Z", "snp-only.json"));
  EXPECT_EQ(forbidden.exit_code, 1);
  EXPECT_NE(forbidden.err.find("step 1 platform: platform sim is not accepted by the policy"), std::string::npos)
      << forbidden.err;
  // Entries that are not the checkpoint's tree.
  fs::remove(dir_ / "entries" / "0");
  CliResult missing = RunCli(BundleArgs("2025-07-01T00:05:00Z"));
  EXPECT_EQ(missing.exit_code, 1);
  EXPECT_NE(missing.err.find("--entries are not the tree of --checkpoint"), std::string::npos) << missing.err;
}

TEST_F(BundleCliTest, VerifiesASimReport) {
  std::vector<std::string> args = {"evidence", "verify", "--type", "sim", "--report", (dir_ / "report.bin").string(),
                                   "--vek", (dir_ / "vek.der").string(), "--at", "2025-07-01"};
  CliResult no_root = RunCli(args);
  EXPECT_EQ(no_root.exit_code, 2);
  EXPECT_NE(no_root.err.find("--root is required with --type sim"), std::string::npos) << no_root.err;
  args.push_back("--root");
  args.push_back((dir_ / "sim-root.pem").string());
  CliResult r = RunCli(args);
  ASSERT_EQ(r.exit_code, 0) << r.err;
  json::value out = json::parse(r.out);
  EXPECT_EQ(out.at("simulated"), true);
  EXPECT_EQ(out.at("claims").at("simulated"), true);
  EXPECT_EQ(out.at("claims").at("measurement").as_string(), HexEncode(Bytes(48, 0x5a)));
}

}  // namespace
}  // namespace openpcc::attest
