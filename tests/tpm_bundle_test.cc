// A whole `tpm` evidence bundle against swtpm, started by each test on 127.0.0.1: the AK enrolled
// by ActivateCredential with a test operator CA, the node key created by the TPM collector under
// PolicyPCR and certified by the AK, the bundle made by the builder and verified by VerifyBundle
// under a policy that accepts `tpm` with the CA as AK root and a release manifest stating the PCRs.
// Then each refusal for its own reason, asserting the step and check the error names.
#include <gtest/gtest.h>

#include <cstdlib>

#include "bundle_test_util.h"
#include "openpcc/attest/bundle_builder.h"
#include "openpcc/attest/bundle_verifier.h"
#include "openpcc/attest/collect/tpm_collector.h"
#include "openpcc/attest/tpm/credential.h"
#include "openpcc/attest/tpm/device.h"
#include "openpcc/crypto/hash.h"
#include "openpcc/wire/key_config.h"
#include "openpcc/wire/sealed.h"
#include "support/swtpm.h"
#include "support/vectors.h"

namespace openpcc::attest {
namespace {

namespace json = boost::json;
using namespace std::chrono_literals;
using crypto::Certificate;
using std::chrono::sys_seconds;
using testing::BaseManifest;
using testing::MapLoader;
using testing::TestLog;

const std::vector<tpm::PcrSelection> kPcrs = {{tpm::alg::kSha256, {0, 2, 7}}};

uint64_t Unix(sys_seconds t) { return static_cast<uint64_t>(t.time_since_epoch().count()); }
Claims TinyClaims() { return Claims{{{"tiny-llama", std::string(64, '3')}}}; }

template <typename T>
std::string Message(const Result<T>& r) {
  return r.ok() ? "(ok)" : r.error().message();
}
#define EXPECT_REFUSED(result, step, text)                                                        \
  do {                                                                                            \
    const auto& r_ = (result);                                                                    \
    ASSERT_FALSE(r_.ok()) << "expected: " << (text);                                              \
    EXPECT_NE(r_.error().message().find(step), std::string::npos) << r_.error().message();        \
    EXPECT_NE(r_.error().message().find(text), std::string::npos) << r_.error().message();        \
  } while (false)

Bytes KeyConfigOf(const crypto::DhPrivateKey& key, uint8_t key_id) {
  wire::KeyConfig config;
  config.key_id = key_id;
  config.kem = crypto::KemId::kP256HkdfSha256;
  config.public_key = ToBytes(key.public_key());
  config.suites = {{crypto::KdfId::kHkdfSha256, crypto::AeadId::kAes256Gcm}};
  return *wire::EncodeKeyConfig(config);
}

class TpmBundleTest : public ::testing::Test {
 protected:
  void SetUp() override {
    if (!openpcc::testing::Swtpm::Available()) {
      GTEST_SKIP() << "swtpm / swtpm_setup not installed (Debian packages swtpm, swtpm-tools)";
    }
    setenv("TSS2_LOG", "all+none", 0);
    Result<std::unique_ptr<openpcc::testing::Swtpm>> swtpm = openpcc::testing::Swtpm::Start();
    ASSERT_TRUE(swtpm.ok()) << swtpm.error().message();
    swtpm_ = std::move(swtpm).value();
    Result<std::shared_ptr<tpm::TpmDevice>> device = tpm::TpmDevice::Open(swtpm_->tcti());
    ASSERT_TRUE(device.ok()) << device.error().message();
    device_ = std::move(device).value();
    ASSERT_NO_FATAL_FAILURE(Enroll());

    collect::TpmCollectorOptions options;
    options.pcrs = kPcrs;
    options.ak_certificate = ak_cert_der_;
    Result<std::unique_ptr<collect::TpmCollector>> collector = collect::TpmCollector::Create(device_, options);
    ASSERT_TRUE(collector.ok()) << collector.error().message();
    collector_ = std::move(collector).value();
    Result<std::shared_ptr<const tpm::TpmDhKey>> key = collector_->CreateNodeKey();
    ASSERT_TRUE(key.ok()) << key.error().message();
    key_ = std::move(key).value();
    key_config_ = KeyConfigOf(*key_, 1);

    manifest_ = BaseManifest("1.0.0");
    manifest_.tpm = tlog::TpmReference{CurrentPcrs()};
    release_index_ = log_.AppendManifest(manifest_);
  }
  void TearDown() override {
    key_.reset();
    collector_.reset();
    device_.reset();
    swtpm_.reset();  // kills swtpm and removes its state, also after a failed assertion
  }

  // EK and AK, the AK certified by the operator CA after ActivateCredential against the EK
  // certificate swtpm_setup made. Times derive from that certificate, never the wall clock.
  void Enroll() {
    Result<std::unique_ptr<tpm::TpmObject>> ek = device_->CreateEk();
    ASSERT_TRUE(ek.ok()) << ek.error().message();
    Result<Bytes> ek_cert_der = device_->ReadEkCertificate();
    ASSERT_TRUE(ek_cert_der.ok()) << ek_cert_der.error().message();
    Certificate ek_cert = Certificate::ParseOne(*ek_cert_der).value();
    at_ = ek_cert.NotBefore() + 1h;
    Result<std::unique_ptr<tpm::TpmObject>> ak = device_->CreateAk();
    ASSERT_TRUE(ak.ok()) << ak.error().message();
    Result<tpm::OperatorCa> ca = tpm::OperatorCa::Generate("openpcc test operator CA", at_ - 1h, at_ + 24h);
    ASSERT_TRUE(ca.ok()) << ca.error().message();
    ca_ = std::make_unique<tpm::OperatorCa>(std::move(ca).value());
    Result<tpm::OperatorCa::Enrollment> enrollment = ca_->BeginEnrollment(
        (*ek)->tpm_public(), ek_cert, Pem(swtpm_->ek_issuer_pem()), Pem(swtpm_->ek_root_pem()), at_,
        (*ak)->tpm_public());
    ASSERT_TRUE(enrollment.ok()) << enrollment.error().message();
    Result<crypto::SecretBytes> secret = device_->ActivateCredential(
        **ak, **ek, enrollment->challenge.credential_blob, enrollment->challenge.encrypted_secret);
    ASSERT_TRUE(secret.ok()) << secret.error().message();
    Result<Certificate> ak_cert = ca_->FinishEnrollment(*enrollment, secret->view(), at_, at_ + 1h);
    ASSERT_TRUE(ak_cert.ok()) << ak_cert.error().message();
    ak_cert_der_ = ak_cert->Der();
    // EK and AK are flushed here: swtpm has three transient slots and no resource manager.
  }

  std::vector<Certificate> Pem(const std::filesystem::path& path) {
    return Certificate::ParseAll(ToBytes(openpcc::testing::ReadFileOrDie(path))).value();
  }

  std::map<uint32_t, Bytes> CurrentPcrs() {
    tpm::PcrValues values = device_->ReadPcrs(kPcrs).value();
    return values.at(tpm::alg::kSha256);
  }

  std::string PolicyText(const std::vector<std::string>& platforms) const {
    json::array list;
    for (const auto& p : platforms) list.emplace_back(p);
    json::object policy{{"version", 1}, {"platforms", list}, {"log", log_.LogPolicyJson()},
                        {"release_keys", json::array{log_.ReleaseKeyHex()}}};
    policy["roots"] = json::object{{"tpm_ak", json::array{"ak-root.pem"}}};
    return json::serialize(policy);
  }
  BundlePolicy Policy(const std::vector<std::string>& platforms = {"tpm"},
                      const Certificate* root = nullptr) const {
    const Certificate& ak_root = root != nullptr ? *root : ca_->certificate();
    Result<BundlePolicy> policy =
        ParseBundlePolicy(PolicyText(platforms), MapLoader({{"ak-root.pem", ak_root.Der()}}));
    EXPECT_TRUE(policy.ok()) << Message(policy);
    return std::move(policy).value();
  }

  BundleRelease Release(uint64_t index) const {
    return BundleRelease{log_.entries()[index], index, log_.InclusionProof(index), log_.Checkpoint(Unix(at_))};
  }
  EvidenceBundle Build(const Bytes& key_config, std::optional<uint64_t> release_index = std::nullopt) {
    BundleInputs inputs{key_config, TinyClaims(), FreshnessFromCheckpoint(log_.Checkpoint(Unix(at_))),
                        Release(release_index.value_or(release_index_))};
    Result<EvidenceBundle> bundle = BuildBundle(inputs, *collector_);
    EXPECT_TRUE(bundle.ok()) << Message(bundle);
    if (!bundle.ok()) return {};
    // Through the wire form, as a client receives it.
    Result<EvidenceBundle> parsed = ParseBundle(bundle->Serialize());
    EXPECT_TRUE(parsed.ok()) << Message(parsed);
    return std::move(parsed).value();
  }
  Result<VerifiedNode> Verify(const EvidenceBundle& bundle, const BundlePolicy& policy) const {
    return VerifyBundle(bundle, policy, log_.Index(), VerifyContext{at_ + 60s, std::nullopt});
  }

  std::unique_ptr<openpcc::testing::Swtpm> swtpm_;
  std::shared_ptr<tpm::TpmDevice> device_;
  std::unique_ptr<tpm::OperatorCa> ca_;
  Bytes ak_cert_der_;
  sys_seconds at_{};
  std::unique_ptr<collect::TpmCollector> collector_;
  std::shared_ptr<const tpm::TpmDhKey> key_;
  Bytes key_config_;
  tlog::ReleaseManifest manifest_;
  TestLog log_;
  uint64_t release_index_ = 0;
};

TEST_F(TpmBundleTest, WholeBundleVerifiesAndItsKeyOpensSealedRequestsInTheTpm) {
  EvidenceBundle bundle = Build(key_config_);
  EXPECT_EQ(bundle.platform, Platform::kTpm);
  EXPECT_FALSE(bundle.cpu_evidence.contains("ak_chain"));
  Result<VerifiedNode> node = Verify(bundle, Policy());
  ASSERT_TRUE(node.ok()) << Message(node);
  EXPECT_EQ(node->platform, Platform::kTpm);
  EXPECT_FALSE(node->simulated);
  EXPECT_EQ(node->release_version, "1.0.0");
  EXPECT_EQ(node->key_config, key_config_);
  json::object out = node->ToJson();
  EXPECT_EQ(out.at("platform").as_string(), "tpm");
  EXPECT_TRUE(out.at("platform_claims").as_object().contains("certified_key"));

  // The verified key_config is the one a client seals to; the TPM opens it (ECDH_ZGen).
  wire::KeyConfig config = *wire::ParseKeyConfig(node->key_config);
  wire::NodeKey node_key = *wire::MakeNodeKey(config, key_);
  Bytes sealed;
  std::vector<wire::SealedCandidate> candidates = {{config, config.suites[0]}};
  auto writer = wire::SealedRequestWriter::Create(candidates, sealed);
  ASSERT_TRUE(writer.ok()) << writer.error().message();
  ASSERT_TRUE(writer->Finish(ToBytes("sealed to a verified TPM node"), sealed).ok());
  wire::SealedRequestReader reader({node_key});
  crypto::SecretBytes plaintext;
  ASSERT_TRUE(reader.Push(sealed, plaintext).ok());
  ASSERT_TRUE(reader.Finish(plaintext).ok());
  EXPECT_EQ(AsChars(plaintext.view()), "sealed to a verified TPM node");
}

TEST_F(TpmBundleTest, RefusesUnderAPolicyWithoutTpmOrWithAnotherAkRoot) {
  EvidenceBundle bundle = Build(key_config_);
  ASSERT_TRUE(Verify(bundle, Policy()).ok());
  EXPECT_REFUSED(Verify(bundle, Policy({"sev-snp"})), "step 1 platform",
                 "platform tpm is not accepted by the policy");
  tpm::OperatorCa other = tpm::OperatorCa::Generate("another CA", at_ - 1h, at_ + 24h).value();
  EXPECT_REFUSED(Verify(bundle, Policy({"tpm"}, &other.certificate())), "step 1 platform",
                 "tpm: AK certificate");
}

TEST_F(TpmBundleTest, RefusesAPcrValueTheManifestDoesNotState) {
  tlog::ReleaseManifest other = BaseManifest("1.0.1");
  std::map<uint32_t, Bytes> pcrs = CurrentPcrs();
  pcrs[7] = crypto::Sha256(ToBytes("another boot"));
  other.tpm = tlog::TpmReference{pcrs};
  const uint64_t index = log_.AppendManifest(other);
  EXPECT_REFUSED(Verify(Build(key_config_, index), Policy()), "step 4 reference values",
                 "PCR 7 (sha256) is not the value release 1.0.1 states");
}

TEST_F(TpmBundleTest, RefusesQualifyingDataForAnotherKeyConfig) {
  // Same TPM key, another key_config (key_id 2): the quote binds that config, not ours.
  EvidenceBundle other = Build(KeyConfigOf(*key_, 2));
  EvidenceBundle bundle = Build(key_config_);
  bundle.cpu_evidence["quote"] = other.cpu_evidence["quote"];
  bundle.cpu_evidence["quote_signature"] = other.cpu_evidence["quote_signature"];
  bundle.cpu_evidence["pcrs"] = other.cpu_evidence["pcrs"];
  EXPECT_REFUSED(Verify(bundle, Policy()), "step 3 binding", "the quote's qualifying data");
}

TEST_F(TpmBundleTest, RefusesTheCertifyCreationOfAnotherKey) {
  std::shared_ptr<const tpm::TpmDhKey> second = collector_->CreateNodeKey().value();
  EvidenceBundle other = Build(KeyConfigOf(*second, 1));
  EvidenceBundle bundle = Build(key_config_);
  // Only the certification swapped: it names another object.
  EvidenceBundle swapped = bundle;
  swapped.cpu_evidence["key_certify"] = other.cpu_evidence["key_certify"];
  swapped.cpu_evidence["key_certify_signature"] = other.cpu_evidence["key_certify_signature"];
  EXPECT_REFUSED(Verify(swapped, Policy()), "step 1 platform", "tpm: node key certification");
  // The certification and the key swapped: a genuine certified key, but not key_config's.
  swapped.cpu_evidence["key_public"] = other.cpu_evidence["key_public"];
  EXPECT_REFUSED(Verify(swapped, Policy()), "step 1 platform",
                 "tpm: the certified TPM key is not key_config's public key");
  // A key_config the collector holds no TPM key for is refused on the node already.
  BundleInputs inputs{testing::RandomKeyConfig(), TinyClaims(), FreshnessFromCheckpoint(log_.Checkpoint(Unix(at_))),
                      Release(release_index_)};
  Result<EvidenceBundle> refused = BuildBundle(inputs, *collector_);
  ASSERT_FALSE(refused.ok());
  EXPECT_NE(refused.error().message().find("not a node key this TPM holds"), std::string::npos)
      << refused.error().message();
}

TEST_F(TpmBundleTest, RefusesAKeyWhosePcrPolicyIsNotTheManifests) {
  // The node key was created before PCR 7 changed; the manifest states the values after.
  ASSERT_TRUE(device_->ExtendPcr(7, crypto::Sha256(ToBytes("a later measurement"))).ok());
  tlog::ReleaseManifest later = BaseManifest("1.1.0");
  later.tpm = tlog::TpmReference{CurrentPcrs()};
  const uint64_t index = log_.AppendManifest(later);
  EXPECT_REFUSED(Verify(Build(key_config_, index), Policy()), "step 4 reference values",
                 "the node key's authPolicy is not PolicyPCR over the sha256 PCRs release 1.1.0 states");
  // A key made now, under the new values, passes.
  std::shared_ptr<const tpm::TpmDhKey> fresh = collector_->CreateNodeKey().value();
  key_.reset();
  Result<VerifiedNode> node = Verify(Build(KeyConfigOf(*fresh, 1), index), Policy());
  EXPECT_TRUE(node.ok()) << Message(node);
}

TEST_F(TpmBundleTest, CollectorRefusesAnAkCertificateForAnotherKey) {
  tpm::OperatorCa other = tpm::OperatorCa::Generate("another CA", at_ - 1h, at_ + 24h).value();
  collect::TpmCollectorOptions options;
  options.pcrs = kPcrs;
  options.ak_certificate = other.certificate().Der();  // a certificate, but not of this AK
  Result<std::unique_ptr<collect::TpmCollector>> refused = collect::TpmCollector::Create(device_, options);
  ASSERT_FALSE(refused.ok());
  EXPECT_NE(refused.error().message().find("not for this TPM's AK"), std::string::npos)
      << refused.error().message();
}

TEST(TpmCollectorTest, PcrSelectionListSyntax) {
  auto list = collect::ParsePcrSelectionList("0-2,7");
  ASSERT_TRUE(list.ok()) << list.error().message();
  ASSERT_EQ(list->size(), 1u);
  EXPECT_EQ((*list)[0].hash, tpm::alg::kSha256);
  EXPECT_EQ((*list)[0].pcrs, (std::vector<uint32_t>{0, 1, 2, 7}));
  auto two = collect::ParsePcrSelectionList("sha256:7,0+sha384:1");
  ASSERT_TRUE(two.ok()) << two.error().message();
  ASSERT_EQ(two->size(), 2u);
  EXPECT_EQ((*two)[0].pcrs, (std::vector<uint32_t>{0, 7}));
  EXPECT_EQ((*two)[1].hash, tpm::alg::kSha384);
  EXPECT_FALSE(collect::ParsePcrSelectionList("24").ok());
  EXPECT_FALSE(collect::ParsePcrSelectionList("md5:1").ok());
  EXPECT_FALSE(collect::ParsePcrSelectionList("3-1").ok());
  EXPECT_FALSE(collect::ParsePcrSelectionList("0+0").ok());
  EXPECT_FALSE(collect::ParsePcrSelectionList("").ok());
  tpm::PcrValues values{{tpm::alg::kSha256, {{7, Bytes(32, 0xab)}}}};
  EXPECT_EQ(collect::FormatPcrValues(values), "sha256:7 " + HexEncode(Bytes(32, 0xab)) + "\n");
  EXPECT_EQ(tpm::ParsePcrValues(collect::FormatPcrValues(values)).value(), values);
}

}  // namespace
}  // namespace openpcc::attest
