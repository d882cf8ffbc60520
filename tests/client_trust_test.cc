// client/trust.h: a real signed and logged directory with real sim bundles is accepted; a tampered
// copy is refused by each check, each naming itself; checkpoint history persists across instances.
#include <gtest/gtest.h>

#include <chrono>
#include <string>

#include "client_trust_test_util.h"
#include "openpcc/client/trust.h"

namespace openpcc::client {
namespace {

using std::chrono::minutes;
using std::chrono::seconds;
using testing::Deployment;
using testing::GatewayConfig;
using testing::TempDir;
using testing::TestTime;

#define EXPECT_REFUSED(result, text)                                                       \
  do {                                                                                     \
    const auto& r_ = (result);                                                             \
    ASSERT_FALSE(r_.ok()) << "expected: " << (text);                                       \
    EXPECT_EQ(r_.error().message().find(text), 0u) << r_.error().message();                \
  } while (false)
#define EXPECT_MENTIONS(result, text)                                                     \
  do {                                                                                    \
    const auto& m_ = (result);                                                            \
    if (!m_.ok()) {                                                                       \
      EXPECT_NE(m_.error().message().find(text), std::string::npos) << m_.error().message(); \
    }                                                                                     \
  } while (false)

class TrustTest : public ::testing::Test {
 protected:
  TrustPolicy Policy(size_t min_nodes = 3) {
    return TrustPolicy{deployment_.directory_key().public_key(), deployment_.Policy(), min_nodes};
  }
  Result<TrustedDirectory> Accept(const directory::DirectoryResponse& response,
                                  std::chrono::sys_seconds now = TestTime() + seconds(60),
                                  std::string_view model = testing::kModel) {
    DirectoryTrust trust(Policy(), state_.path());
    return Accept(trust, response, now, model);
  }
  Result<TrustedDirectory> Accept(DirectoryTrust& trust, const directory::DirectoryResponse& response,
                                  std::chrono::sys_seconds now = TestTime() + seconds(60),
                                  std::string_view model = testing::kModel,
                                  std::span<const tlog::Hash> proof = {}) {
    const tlog::ReleaseIndex index = deployment_.Index();
    AcceptInput in;
    in.response = &response;
    in.model = model;
    in.ohttp_in_use = &in_use_;
    in.index = &index;
    auto persisted = trust.store().Latest(Policy().log());
    in.persisted_size = persisted.ok() && persisted->has_value() ? (*persisted)->checkpoint.size : 0;
    in.consistency_proof = proof;
    in.now = now;
    in.observer = &observer_;
    return trust.Accept(in);
  }

  Deployment deployment_;
  TempDir state_;
  wire::KeyConfig in_use_ = GatewayConfig();
  std::vector<std::string> steps_;
  TrustObserver observer_ = [this](std::string_view check, std::string_view detail) {
    steps_.push_back(std::string(check) + ": " + std::string(detail));
  };
};

TEST_F(TrustTest, RealDirectoryIsAcceptedWithEveryNodeVerified) {
  const directory::DirectoryResponse response = deployment_.Publish();
  Result<TrustedDirectory> accepted = Accept(response);
  ASSERT_TRUE(accepted.ok()) << accepted.error().message();
  ASSERT_EQ(accepted->nodes.size(), 3u);
  EXPECT_EQ(accepted->Candidates().size(), 3u);
  EXPECT_EQ(accepted->log_index, 1u);
  EXPECT_EQ(accepted->directory.epoch, 1u);
  for (const TrustedNode& n : accepted->nodes) {
    EXPECT_TRUE(n.verified.simulated);
    EXPECT_EQ(n.verified.measurement, testing::TestMeasurement());
    EXPECT_EQ(n.verified.release_version, "1.0.0");
    EXPECT_NE(accepted->Find(n.candidate.node_id), nullptr);
  }
  // Every check reported, in order.
  std::vector<std::string> names;
  for (const auto& s : steps_) names.push_back(s.substr(0, s.find(':')));
  EXPECT_EQ(names, (std::vector<std::string>{"directory signature", "checkpoint", "checkpoint freshness", "inclusion",
                                             "checkpoint history", "epoch", "ohttp config", "model", "bundle",
                                             "bundle", "bundle"}));
  // The checkpoint was persisted.
  DirectoryTrust again(Policy(), state_.path());
  auto latest = again.store().Latest(Policy().log());
  ASSERT_TRUE(latest.ok() && latest->has_value());
  EXPECT_EQ((*latest)->checkpoint.size, 2u);
}

TEST_F(TrustTest, BundlesAreCachedUntilTheirTextOrTheLogChanges) {
  const directory::DirectoryResponse response = deployment_.Publish();
  DirectoryTrust trust(Policy(), state_.path());
  ASSERT_TRUE(Accept(trust, response).ok());
  EXPECT_EQ(trust.cache().size(), 3u);
  steps_.clear();
  ASSERT_TRUE(Accept(trust, response, TestTime() + seconds(120)).ok());
  EXPECT_NE(steps_.back().find(", cached"), std::string::npos) << steps_.back();
  // A newer cosignature of the same tree keeps the directory fresh, but the bundles' freshness
  // (cosigned at TestTime) is then stale: not served from the cache, verified again, and refused.
  directory::DirectoryResponse later = response;
  later.checkpoint = deployment_.log().Checkpoint(testing::UnixOf(TestTime() + minutes(10)));
  auto r = Accept(trust, later, TestTime() + minutes(17));
  EXPECT_REFUSED(r, "bundle: node ");
  EXPECT_MENTIONS(r, "step 5 freshness");
}

TEST_F(TrustTest, TamperedSignatureOrAnotherDirectoryKeyIsRefused) {
  directory::DirectoryResponse response = deployment_.Publish();
  directory::DirectoryResponse tampered = response;
  tampered.entry.back() ^= 1;
  EXPECT_REFUSED(Accept(tampered), "directory signature: ");
  DirectoryTrust other(TrustPolicy{attest::testing::Key(6).public_key(), deployment_.Policy(), 3}, state_.path());
  EXPECT_REFUSED(Accept(other, response), "directory signature: ");
}

TEST_F(TrustTest, CheckpointOutsideTheLogPolicyIsRefused) {
  directory::DirectoryResponse response = deployment_.Publish();
  // Drop the witness cosignatures: below the 2-of-3 threshold.
  directory::DirectoryResponse unwitnessed = response;
  const size_t first_sig = unwitnessed.checkpoint.find("\n\n") + 2;
  const size_t second_line = unwitnessed.checkpoint.find('\n', first_sig) + 1;
  unwitnessed.checkpoint.resize(second_line);
  EXPECT_REFUSED(Accept(unwitnessed), "checkpoint: ");
  // A tampered root.
  directory::DirectoryResponse forged = response;
  const size_t root_line = forged.checkpoint.find('\n', forged.checkpoint.find('\n') + 1) + 1;
  forged.checkpoint[root_line + 2] = forged.checkpoint[root_line + 2] == 'A' ? 'B' : 'A';
  EXPECT_REFUSED(Accept(forged), "checkpoint: ");
}

TEST_F(TrustTest, StaleCheckpointIsRefused) {
  const directory::DirectoryResponse response = deployment_.Publish();
  EXPECT_REFUSED(Accept(response, TestTime() + minutes(20)), "checkpoint freshness: ");
}

TEST_F(TrustTest, EntryNotIncludedIsRefused) {
  const directory::DirectoryResponse response = deployment_.Publish();
  directory::DirectoryResponse moved = response;
  moved.log_index = 0;
  EXPECT_REFUSED(Accept(moved), "inclusion: ");
  directory::DirectoryResponse bad_proof = response;
  bad_proof.inclusion_proof[0][0] ^= 1;
  EXPECT_REFUSED(Accept(bad_proof), "inclusion: ");
}

TEST_F(TrustTest, RollbackForkAndUnprovenGrowthAreRefused) {
  const directory::DirectoryResponse first = deployment_.Publish();
  DirectoryTrust trust(Policy(), state_.path());
  ASSERT_TRUE(Accept(trust, first).ok());
  // The log grows (another epoch's directory): without a consistency proof it is not accepted.
  deployment_.directory().epoch = 2;
  const directory::DirectoryResponse second = deployment_.Publish();
  EXPECT_REFUSED(Accept(trust, second), "checkpoint history: log policy: size 3 needs a consistency proof");
  // With the proof it is, and the first (smaller) tree is then a rollback.
  std::vector<tlog::Hash> leaves;
  for (const Bytes& e : deployment_.log().entries()) leaves.push_back(tlog::LeafHash(e));
  tlog::MemoryHashReader reader(leaves);
  const std::vector<tlog::Hash> proof = *tlog::ConsistencyProof(2, 3, reader);
  ASSERT_TRUE(Accept(trust, second, TestTime() + seconds(60), testing::kModel, proof).ok());
  EXPECT_REFUSED(Accept(trust, first), "checkpoint history: log policy: rollback refused");
  // Same size, another root: a fork, and both notes are kept.
  Deployment other;  // same log key and witnesses, other entries
  other.Publish();
  other.directory().epoch = 2;
  const directory::DirectoryResponse forked = other.Publish();
  EXPECT_REFUSED(Accept(trust, forked), "checkpoint history: log policy: fork refused");
  EXPECT_TRUE(std::filesystem::exists(trust.store().evidence_dir()));
}

TEST_F(TrustTest, DirectoryOutsideItsEpochIsRefused) {
  deployment_.directory().not_before += 3600;
  deployment_.directory().not_after += 3600;
  EXPECT_REFUSED(Accept(deployment_.Publish()), "epoch: epoch 1 is valid from");
}

TEST_F(TrustTest, UnlistedOhttpConfigIsRefused) {
  in_use_ = GatewayConfig(2);
  EXPECT_REFUSED(Accept(deployment_.Publish()), "ohttp config: ");
}

TEST_F(TrustTest, TooFewNodesOrAnUnlistedModelIsRefused) {
  deployment_.directory().models[testing::kModel].pop_back();
  const directory::DirectoryResponse response = deployment_.Publish();
  EXPECT_REFUSED(Accept(response), "model: model tiny-llama has 2 nodes, fewer than the 3");
  EXPECT_REFUSED(Accept(response, TestTime() + seconds(60), "other"), "model: model other has 0 nodes");
  DirectoryTrust relaxed(Policy(2), state_.path());
  EXPECT_TRUE(Accept(relaxed, response).ok());
}

TEST_F(TrustTest, EachBundleFailureRefusesTheWholeDirectory) {
  const directory::DirectoryResponse response = deployment_.Publish();
  const Bytes& first = deployment_.directory().models[testing::kModel][0].node_id;
  {
    directory::DirectoryResponse missing = response;
    missing.bundles.erase(first);
    EXPECT_REFUSED(Accept(missing), "bundle: node " + HexEncode(ByteView(first).first(8)) + ": no evidence bundle");
  }
  {
    // Another listed node's bundle under the first node's id.
    directory::DirectoryResponse swapped = response;
    swapped.bundles[first] = response.bundles.at(deployment_.directory().models[testing::kModel][1].node_id);
    EXPECT_REFUSED(Accept(swapped), "bundle: node ");
  }
  {
    // A measurement the release does not list.
    directory::DirectoryResponse unlisted = response;
    unlisted.bundles[first] = deployment_.Bundle(deployment_.key_configs()[0], response.checkpoint, Bytes(48, 0x66));
    auto r = Accept(unlisted);
    EXPECT_REFUSED(r, "bundle: node ");
    EXPECT_MENTIONS(r, "step 4 reference");
  }
  {
    // Tampered bundle text.
    directory::DirectoryResponse tampered = response;
    tampered.bundles[first][tampered.bundles[first].size() / 2] ^= 1;
    EXPECT_REFUSED(Accept(tampered), "bundle: node ");
  }
  {
    // A policy whose sim root is another deployment's: the evidence does not chain.
    Deployment other;
    auto policy = *attest::ParseBundlePolicy(
        deployment_.PolicyText(),
        attest::testing::MapLoader({{"sim-root.pem", ToBytes(other.root().CertificatePem())}}));
    DirectoryTrust trust(TrustPolicy{deployment_.directory_key().public_key(),
                                     std::make_shared<const attest::BundlePolicy>(std::move(policy)), 3},
                         state_.path());
    auto r = Accept(trust, response);
    EXPECT_REFUSED(r, "bundle: node ");
    EXPECT_MENTIONS(r, "step 1 platform");
  }
}

// A directory that lists a node whose evidence fails the policy is refused, naming the node, the
// step and the check; the other nodes' valid bundles do not carry it.
TEST_F(TrustTest, ANodeWithAMeasurementTheReleaseDoesNotListIsRefusedByName) {
  const directory::DirectoryResponse response = deployment_.Publish();
  ASSERT_TRUE(Accept(response).ok());
  const directory::DirectoryNode& node = deployment_.directory().models[testing::kModel][0];
  const Bytes unlisted_measurement(48, 0x66);
  directory::DirectoryResponse unlisted = response;
  unlisted.bundles[node.node_id] = deployment_.Bundle(node.key_config, response.checkpoint, unlisted_measurement);
  auto r = Accept(unlisted);
  EXPECT_REFUSED(r, "bundle: node " + HexEncode(ByteView(node.node_id).first(8)) + ": step 4 reference values: ");
  EXPECT_MENTIONS(r, "MEASUREMENT " + HexEncode(unlisted_measurement) + " is not listed in release 1.0.0");
}

TEST_F(TrustTest, ANodeWhoseEvidenceIsSignedByAnUntrustedSimRootIsRefusedByName) {
  const directory::DirectoryResponse response = deployment_.Publish();
  ASSERT_TRUE(Accept(response).ok());
  const directory::DirectoryNode& node = deployment_.directory().models[testing::kModel][1];
  // The same measurement and key, but the report is signed under another deployment's sim root,
  // which the policy does not list.
  Deployment untrusted;
  directory::DirectoryResponse forged = response;
  forged.bundles[node.node_id] =
      deployment_.Bundle(node.key_config, response.checkpoint, testing::TestMeasurement(), untrusted.signer());
  auto r = Accept(forged);
  EXPECT_REFUSED(r, "bundle: node " + HexEncode(ByteView(node.node_id).first(8)) + ": step 1 platform: ");
  EXPECT_MENTIONS(r, "sim: VEK is not certified by a configured sim root");
}

}  // namespace
}  // namespace openpcc::client
