// A deployment for the client's trust tests: a transparency log with three witnesses and a release,
// a simulated-TEE root, N nodes with real sim evidence bundles, a directory signed with a real
// directory key and logged, and the /v1/directory response the gateway would serve.
#pragma once

#include <chrono>
#include <filesystem>
#include <memory>
#include <string>
#include <vector>

#include <boost/json.hpp>

#include "bundle_test_util.h"
#include "openpcc/attest/bundle_builder.h"
#include "openpcc/attest/collect/collectors.h"
#include "openpcc/attest/sim/sim.h"
#include "openpcc/crypto/blind_rsa.h"
#include "openpcc/crypto/hash.h"
#include "openpcc/tokens/key_set.h"
#include "openpcc/tokens/token.h"
#include "openpcc/crypto/x509.h"
#include "openpcc/directory/directory_response.h"
#include "openpcc/directory/node_directory.h"
#include "openpcc/wire/key_config.h"

namespace openpcc::client::testing {

using std::chrono::sys_seconds;
inline sys_seconds TestTime() { return crypto::ParseUtcTime("2025-07-01T00:00:00Z").value(); }
inline uint64_t UnixOf(sys_seconds t) { return static_cast<uint64_t>(t.time_since_epoch().count()); }
inline const Bytes& TestMeasurement() {
  static const Bytes m(48, 0x5a);
  return m;
}
inline constexpr char kModel[] = "tiny-llama";

inline wire::KeyConfig GatewayConfig(uint8_t key_id = 1) {
  wire::KeyConfig c;
  c.key_id = key_id;
  c.kem = crypto::KemId::kX25519HkdfSha256;
  c.public_key = Bytes(32, static_cast<uint8_t>(0x40 + key_id));
  c.suites = {{crypto::KdfId::kHkdfSha256, crypto::AeadId::kAes128Gcm}};
  return c;
}

// One token issuer key for every test of the process (RSA generation is slow).
inline const tokens::IssuerKey& TokenIssuerKey() {
  static const tokens::IssuerKey key =
      tokens::IssuerKey::Make(crypto::BlindRsaPrivateKey::Generate(2048).value(),
                              {TestTime() - std::chrono::hours(1), TestTime() + std::chrono::hours(10),
                               TestTime() + std::chrono::hours(20)})
          .value();
  return key;
}

class Deployment {
 public:
  // `key_configs`: the nodes' configs (default: `nodes` random ones, for which no private key exists).
  explicit Deployment(size_t nodes = 3, std::vector<Bytes> key_configs = {})
      : directory_key_(attest::testing::Key(5)), key_configs_(std::move(key_configs)) {
    const sys_seconds t = TestTime();
    root_ = std::make_unique<attest::sim::SimRoot>(*attest::sim::SimRoot::Generate("client test", t - std::chrono::hours(24)));
    signer_ = std::make_shared<attest::sim::SimSigner>(*attest::sim::SimSigner::Create(*root_, t - std::chrono::hours(1)));
    tlog::ReleaseManifest manifest = attest::testing::BaseManifest("1.0.0");
    manifest.sim = tlog::SimReference{{TestMeasurement()}};
    release_index_ = log_.AppendManifest(manifest);
    if (key_configs_.empty()) {
      for (size_t i = 0; i < nodes; ++i) key_configs_.push_back(attest::testing::RandomKeyConfig());
    }
    directory_.epoch = 1;
    directory_.not_before = static_cast<int64_t>(UnixOf(t)) - 60;
    directory_.not_after = directory_.not_before + 3600;
    directory_.k = 3;
    directory_.service = "openpcc.test";
    directory_.token_challenge =
        *tokens::TokenChallenge{tokens::kTokenTypeBlindRsa, "issuer.test", {}, "openpcc.test"}.Encode();
    directory_.token_keys = {{2, TokenIssuerKey().key->public_key().SpkiRsaPss(), directory_.not_before - 10, directory_.not_after + 10}};
    directory_.ohttp_configs = {*wire::EncodeKeyConfig(GatewayConfig())};
    for (const Bytes& kc : key_configs_) {
      directory_.models[kModel].push_back({*wire::NodeIdOf(*wire::ParseKeyConfig(kc)), kc, "sim"});
    }
  }

  // Signs and logs the directory; returns the gateway's response with bundles for every node.
  directory::DirectoryResponse Publish(sys_seconds checkpoint_time = TestTime()) {
    directory::DirectoryResponse r;
    r.entry = *directory::SignDirectory(directory_, directory_key_);
    r.log_index = log_.Append(r.entry);
    r.checkpoint = log_.Checkpoint(UnixOf(checkpoint_time));
    for (const Bytes& h : log_.InclusionProof(r.log_index)) r.inclusion_proof.push_back(*tlog::HashFromBytes(h, "proof"));
    for (const directory::DirectoryNode& node : directory_.models[kModel]) {
      r.bundles[node.node_id] = Bundle(node.key_config, r.checkpoint);
    }
    return r;
  }

  // A node's bundle; `signer` (default: this deployment's, under its sim root) signs the report.
  std::string Bundle(const Bytes& key_config, const std::string& freshness_note,
                     const Bytes& measurement = TestMeasurement(),
                     std::shared_ptr<attest::sim::SimSigner> signer = nullptr) {
    attest::collect::SimCollector collector(signer != nullptr ? signer : signer_, measurement);
    const std::string release_note = log_.Checkpoint(UnixOf(TestTime()));
    attest::BundleRelease release{log_.entries()[release_index_], release_index_,
                                  log_.InclusionProof(release_index_), release_note};
    attest::BundleInputs inputs{key_config, attest::Claims{{{kModel, std::string(64, '3')}}},
                                attest::FreshnessFromCheckpoint(freshness_note), release};
    return attest::BuildBundle(inputs, collector)->Serialize();
  }

  std::string PolicyText() const {
    boost::json::object policy{{"version", 1},
                               {"platforms", boost::json::array{"sim"}},
                               {"log", log_.LogPolicyJson()},
                               {"roots", boost::json::object{{"sim", boost::json::array{"sim-root.pem"}}}},
                               {"release_keys", boost::json::array{log_.ReleaseKeyHex()}},
                               {"directory_keys", boost::json::array{HexEncode(directory_key_.public_key().bytes())}}};
    return boost::json::serialize(policy);
  }
  std::shared_ptr<const attest::BundlePolicy> Policy() const {
    return std::make_shared<const attest::BundlePolicy>(*attest::ParseBundlePolicy(
        PolicyText(), attest::testing::MapLoader({{"sim-root.pem", ToBytes(root_->CertificatePem())}})));
  }
  // Every entry, read in order, as a client's ReleaseIndex.
  tlog::ReleaseIndex Index() const {
    tlog::EntryKeyring keyring;
    keyring.AddReleaseKey(attest::testing::Key(9).public_key());
    keyring.AddDirectoryKey(directory_key_.public_key());
    tlog::ReleaseIndex index(std::move(keyring));
    for (size_t i = 0; i < log_.entries().size(); ++i) {
      if (!index.Add(i, log_.entries()[i]).ok()) std::abort();
    }
    return index;
  }

  attest::testing::TestLog& log() { return log_; }
  directory::NodeDirectory& directory() { return directory_; }
  const crypto::Ed25519PrivateKey& directory_key() const { return directory_key_; }
  const std::vector<Bytes>& key_configs() const { return key_configs_; }
  const attest::sim::SimRoot& root() const { return *root_; }
  const std::shared_ptr<attest::sim::SimSigner>& signer() const { return signer_; }

 private:
  attest::testing::TestLog log_;
  crypto::Ed25519PrivateKey directory_key_;
  std::vector<Bytes> key_configs_;
  std::unique_ptr<attest::sim::SimRoot> root_;
  std::shared_ptr<attest::sim::SimSigner> signer_;
  uint64_t release_index_ = 0;
  directory::NodeDirectory directory_;
};

// A fresh directory under the system temp dir, removed by the destructor.
class TempDir {
 public:
  TempDir() {
    static int counter = 0;
    path_ = std::filesystem::temp_directory_path() /
            ("openpcc-client-" + std::to_string(::getpid()) + "-" + std::to_string(counter++));
    std::filesystem::remove_all(path_);
    std::filesystem::create_directories(path_);
  }
  ~TempDir() {
    std::error_code ec;
    std::filesystem::remove_all(path_, ec);
  }
  const std::filesystem::path& path() const { return path_; }

 private:
  std::filesystem::path path_;
};

}  // namespace openpcc::client::testing
