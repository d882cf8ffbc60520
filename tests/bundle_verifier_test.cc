// attest/bundle_verifier.h, attest/bundle_builder.h, attest/sim: a whole bundle verifies end to end
// on the simulated TEE, and each check of DESIGN §2.4 refuses what it must, naming its step.
// Real vectors (SEV-SNP, TDX, NVIDIA, TPM) cannot carry our binding (their REPORT_DATA, nonce and
// qualifying data were fixed when they were made), so for them the steps run one at a time: the
// others pass and step 3 refuses, as each test says.
#include <gtest/gtest.h>

#include <filesystem>
#include <functional>
#include <sys/stat.h>

#include "bundle_test_util.h"
#include "openpcc/attest/bundle_builder.h"
#include "openpcc/attest/bundle_verifier.h"
#include "openpcc/attest/collect/collectors.h"
#include "openpcc/attest/sim/sim.h"
#include "openpcc/attest/sim/verify.h"
#include "openpcc/attest/snp/verify.h"
#include "openpcc/attest/tdx/quote.h"
#include "openpcc/crypto/hash.h"
#include "openpcc/crypto/x509.h"
#include "support/vectors.h"

namespace openpcc::attest {
namespace {

namespace json = boost::json;
using std::chrono::seconds;
using std::chrono::sys_seconds;
using testing::BaseManifest;
using testing::MapLoader;
using testing::TestLog;

sys_seconds At(const char* text) { return crypto::ParseUtcTime(text).value(); }
Bytes Vec(std::string_view path) { return ToBytes(openpcc::testing::ReadVectorFile(path)); }
uint64_t Unix(sys_seconds t) { return static_cast<uint64_t>(t.time_since_epoch().count()); }

const sys_seconds kT = At("2025-07-01T00:00:00Z");
const Bytes kMeasurement = Bytes(48, 0x5a);

template <typename T>
std::string Message(const Result<T>& r) {
  return r.ok() ? "(ok)" : r.error().message();
}
#define EXPECT_REFUSED(result, text)                                                    \
  do {                                                                                  \
    const auto& r_ = (result);                                                          \
    ASSERT_FALSE(r_.ok()) << "expected: " << (text);                                    \
    EXPECT_NE(r_.error().message().find(text), std::string::npos) << r_.error().message(); \
  } while (false)

tlog::ReleaseManifest BaseManifestWithSim(std::string version) {
  tlog::ReleaseManifest m = BaseManifest(std::move(version));
  m.sim = tlog::SimReference{{Bytes(48, 0x01)}};
  return m;
}

Claims TinyClaims() { return Claims{{{"tiny-llama", std::string(64, '3')}}}; }

// A deployment: sim root and signer, a log with the release, a policy that accepts sim.
class SimBundleTest : public ::testing::Test {
 protected:
  void SetUp() override {
    root_ = std::make_unique<sim::SimRoot>(*sim::SimRoot::Generate("unit test", kT - std::chrono::hours(24)));
    signer_ = std::make_shared<sim::SimSigner>(*sim::SimSigner::Create(*root_, kT - std::chrono::hours(1)));
    manifest_ = BaseManifest("1.0.0");
    manifest_.sim = tlog::SimReference{{kMeasurement}};
    log_.AppendManifest(BaseManifestWithSim("0.9.0"));  // an older release before ours
    release_index_ = log_.AppendManifest(manifest_);
    key_config_ = testing::RandomKeyConfig();
  }

  std::string PolicyText(const std::vector<std::string>& platforms, bool with_sim_root = true) const {
    json::array list;
    for (const auto& p : platforms) list.emplace_back(p);
    json::object policy{{"version", 1}, {"platforms", list}, {"log", log_.LogPolicyJson()},
                        {"release_keys", json::array{log_.ReleaseKeyHex()}}};
    if (with_sim_root) policy["roots"] = json::object{{"sim", json::array{"sim-root.pem"}}};
    return json::serialize(policy);
  }
  BundlePolicy Policy(const std::vector<std::string>& platforms = {"sim"}) const {
    return std::move(ParseBundlePolicy(PolicyText(platforms), Loader())).value();
  }
  PolicyFileLoader Loader() const { return MapLoader({{"sim-root.pem", ToBytes(root_->CertificatePem())}}); }

  BundleRelease Release() const {
    const std::string checkpoint = log_.Checkpoint(Unix(kT));
    return BundleRelease{log_.entries()[release_index_], release_index_, log_.InclusionProof(release_index_),
                         checkpoint};
  }

  EvidenceBundle Build(BundleFreshness freshness, Claims claims = TinyClaims(),
                       Bytes measurement = kMeasurement) {
    collect::SimCollector collector(signer_, std::move(measurement));
    BundleInputs inputs{key_config_, std::move(claims), std::move(freshness), Release()};
    Result<EvidenceBundle> bundle = BuildBundle(inputs, collector);
    EXPECT_TRUE(bundle.ok()) << Message(bundle);
    // Through the wire form, as a client receives it.
    return std::move(ParseBundle(bundle->Serialize())).value();
  }
  EvidenceBundle Fresh() { return Build(FreshnessFromCheckpoint(log_.Checkpoint(Unix(kT)))); }

  Result<VerifiedNode> Verify(const EvidenceBundle& bundle, sys_seconds now = kT + seconds(60),
                              std::optional<std::array<uint8_t, 32>> nonce = std::nullopt) {
    return VerifyBundle(bundle, Policy(), log_.Index(), VerifyContext{now, nonce});
  }

  std::unique_ptr<sim::SimRoot> root_;
  std::shared_ptr<sim::SimSigner> signer_;
  tlog::ReleaseManifest manifest_;
  TestLog log_;
  uint64_t release_index_ = 0;
  Bytes key_config_;
};

TEST_F(SimBundleTest, WholeBundleVerifiesAndSaysSimulated) {
  EvidenceBundle bundle = Fresh();
  Result<VerifiedNode> node = Verify(bundle);
  ASSERT_TRUE(node.ok()) << Message(node);
  EXPECT_TRUE(node->simulated);
  EXPECT_EQ(node->platform, Platform::kSim);
  EXPECT_EQ(node->measurement, kMeasurement);
  EXPECT_EQ(node->release_version, "1.0.0");
  EXPECT_EQ(node->log_index, 1u);
  EXPECT_EQ(node->node_id, bundle.node_id);
  EXPECT_EQ(node->freshness_not_before, kT);
  json::object out = node->ToJson();
  EXPECT_TRUE(out.at("simulated").as_bool());
  EXPECT_TRUE(out.at("platform_claims").at("simulated").as_bool());
  EXPECT_EQ(out.at("release").at("id").as_string(), HexEncode(*tlog::ReleaseId(manifest_)));
}

TEST_F(SimBundleTest, ClientNonceFreshness) {
  std::array<uint8_t, 32> nonce{};
  crypto::RandomBytes(nonce);
  EvidenceBundle bundle = Build(FreshnessFromNonce(nonce));
  Result<VerifiedNode> node = Verify(bundle, kT + seconds(60), nonce);
  ASSERT_TRUE(node.ok()) << Message(node);
  EXPECT_FALSE(node->freshness_not_before.has_value());
  std::array<uint8_t, 32> other = nonce;
  other[0] ^= 1;
  EXPECT_REFUSED(Verify(bundle, kT, other), "step 5 freshness: the value is not the nonce this client sent");
  EXPECT_REFUSED(Verify(bundle, kT), "step 5 freshness: kind 2 (client nonce) but this client sent no nonce");
}

// Each binding field, changed after the report was made, is refused by step 3.
TEST_F(SimBundleTest, EachTamperedBindingFieldIsRefusedByTheBinding) {
  const EvidenceBundle good = Fresh();
  constexpr char kBinding[] = "step 3 binding: REPORT_DATA is not the value recomputed from the bundle";

  EvidenceBundle key = good;
  key.key_config = testing::RandomKeyConfig();
  key.node_id = *wire::NodeIdOf(*wire::ParseKeyConfig(key.key_config));
  EXPECT_REFUSED(Verify(key), kBinding);

  EvidenceBundle claims = good;
  claims.claims.models.push_back({"another-model", std::string(64, '4')});
  EXPECT_REFUSED(Verify(claims), kBinding);

  // A newer valid checkpoint: step 5 alone would accept it, the report was made over the old one.
  EvidenceBundle fresh = good;
  fresh.freshness = FreshnessFromCheckpoint(log_.Checkpoint(Unix(kT) + 30));
  ASSERT_TRUE(CheckFreshnessStep(fresh, Policy(), {kT + seconds(60), {}}).ok());
  EXPECT_REFUSED(Verify(fresh), kBinding);

  // The GPU digest: a GPU entry added to a bundle whose report was made without one. Step 2 would
  // refuse it first (it is not a real SPDM report), so step 3 runs alone on the platform result.
  const BundlePolicy policy = Policy();
  DecodedRelease release = *DecodeBundleRelease(good, policy);
  PlatformResult platform = *VerifyPlatformStep(good, policy, release, log_.Index(), kT);
  EXPECT_TRUE(CheckBindingStep(good, platform).ok());
  EvidenceBundle gpu = good;
  gpu.gpu_evidence.push_back({"nvidia-spdm", Bytes(100, 1), {Bytes(50, 2)}});
  EXPECT_REFUSED(CheckBindingStep(gpu, platform), kBinding);
  EXPECT_REFUSED(Verify(gpu), "step 2 gpu: gpu_evidence[0]");
}

TEST_F(SimBundleTest, StaleFreshnessIsRefused) {
  EvidenceBundle bundle = Fresh();
  EXPECT_TRUE(Verify(bundle, kT + seconds(900)).ok());
  EXPECT_REFUSED(Verify(bundle, kT + seconds(901)),
                 "step 5 freshness: log policy: checkpoint is stale: its quorum cosigned 901 s ago, the limit is 900 s");
  EvidenceBundle wrong = bundle;
  wrong.freshness.checkpoint += "x";
  EXPECT_REFUSED(CheckFreshnessStep(wrong, Policy(), {kT, {}}),
                 "step 5 freshness: the value is not SHA-256 of the bundle's checkpoint note");
}

TEST_F(SimBundleTest, UnlistedMeasurementIsRefused) {
  Bytes other(48, 0x77);
  EvidenceBundle bundle = Build(FreshnessFromCheckpoint(log_.Checkpoint(Unix(kT))), TinyClaims(), other);
  EXPECT_REFUSED(Verify(bundle), "step 4 reference values: MEASUREMENT 7777");
  EXPECT_REFUSED(Verify(bundle), "is not listed in release 1.0.0");
}

TEST_F(SimBundleTest, UnlistedModelIsRefused) {
  Claims claims{{{"tiny-llama", std::string(64, '9')}}};
  EvidenceBundle bundle = Build(FreshnessFromCheckpoint(log_.Checkpoint(Unix(kT))), claims);
  EXPECT_REFUSED(Verify(bundle), "step 4 reference values: model 'tiny-llama' with sha256 9999");
}

TEST_F(SimBundleTest, RevokedReleaseIsRefused) {
  EvidenceBundle bundle = Fresh();
  log_.AppendRevocation(manifest_, "CVE-2025-0001");
  EXPECT_REFUSED(Verify(bundle), "step 4 reference values: release " + HexEncode(*tlog::ReleaseId(manifest_)) +
                                     " (version 1.0.0) is revoked");
}

// The checkpoint `release publish` gets back predates the witnesses' cosignatures: without the
// quorum it proves nothing, and the client's own read of the log must (and does) carry the proof.
TEST_F(SimBundleTest, ReleaseCheckpointWithoutWitnessQuorumRestsOnTheClientsOwnRead) {
  EvidenceBundle bundle = Fresh();
  std::string& note = bundle.release->checkpoint;
  const size_t first_signature = note.find("\n\u2014 ");
  ASSERT_NE(first_signature, std::string::npos);
  const size_t second_signature = note.find("\n\u2014 ", first_signature + 1);
  ASSERT_NE(second_signature, std::string::npos) << "the test log's checkpoint carries cosignatures";
  note.resize(second_signature + 1);  // the log's own signature only
  bundle.release->inclusion_proof.clear();
  auto verified = Verify(bundle);
  EXPECT_TRUE(verified.ok()) << Message(verified);
  tlog::EntryKeyring keyring;
  tlog::ReleaseIndex empty(std::move(keyring));
  EXPECT_REFUSED(VerifyBundle(bundle, Policy(), empty, {kT, {}}),
                 "step 4 reference values: the client has read the log only up to entry 0");
}

TEST_F(SimBundleTest, ReleaseMustBeProvenAndKnownToTheClient) {
  EvidenceBundle bundle = Fresh();
  // The client has not read the log up to the release.
  tlog::EntryKeyring keyring;
  tlog::ReleaseIndex empty(std::move(keyring));
  EXPECT_REFUSED(VerifyBundle(bundle, Policy(), empty, {kT, {}}),
                 "step 4 reference values: the client has read the log only up to entry 0");
  // A wrong inclusion proof.
  EvidenceBundle proof = bundle;
  proof.release->inclusion_proof[0][0] ^= 1;
  EXPECT_REFUSED(Verify(proof), "step 4 reference values: log policy: entry 1 is not proven");
  // A manifest not signed by a release key of the policy.
  EvidenceBundle unsigned_release = bundle;
  unsigned_release.release->manifest_entry =
      *tlog::SignEntry(tlog::EntryKind::kReleaseManifest, *tlog::ReleaseManifestToJson(manifest_), testing::Key(99));
  EXPECT_REFUSED(Verify(unsigned_release), "release: ");
  // No release at all.
  EvidenceBundle none = bundle;
  none.release.reset();
  EXPECT_REFUSED(Verify(none), "release: the bundle carries no release");
}

TEST_F(SimBundleTest, SimUnderAPolicyThatForbidsItIsRefused) {
  EvidenceBundle bundle = Fresh();
  BundlePolicy snp_only = Policy({"sev-snp"});
  EXPECT_REFUSED(VerifyBundle(bundle, snp_only, log_.Index(), {kT, {}}),
                 "step 1 platform: platform sim is not accepted by the policy");
  // Listing sim with another deployment's root: the VEK does not chain.
  sim::SimRoot other = *sim::SimRoot::Generate("other", kT - std::chrono::hours(24));
  BundlePolicy policy = *ParseBundlePolicy(PolicyText({"sim"}), MapLoader({{"sim-root.pem", ToBytes(other.CertificatePem())}}));
  EXPECT_REFUSED(VerifyBundle(bundle, policy, log_.Index(), {kT, {}}),
                 "step 1 platform: sim: VEK is not certified by a configured sim root");
  // sim listed without a root is not a valid policy.
  EXPECT_REFUSED(ParseBundlePolicy(PolicyText({"sim"}, false), Loader()),
                 "policy: roots.sim: expected a sim root, since platforms lists sim");
}

TEST_F(SimBundleTest, GpuReportsRequiredByTheReleaseFailClosed) {
  manifest_.gpu.devices = 1;
  release_index_ = log_.AppendManifest(manifest_);
  EvidenceBundle bundle = Fresh();
  EXPECT_REFUSED(Verify(bundle), "step 2 gpu: the release requires 1 GPU reports, the bundle carries 0");
}

// A genuine GPU report made for another bundle (the NVIDIA vector, whose nonce was chosen when it
// was made) is refused by the GPU nonce check.
TEST_F(SimBundleTest, GpuReportFromAnotherBundleIsRefused) {
  manifest_.gpu.devices = 1;
  release_index_ = log_.AppendManifest(manifest_);
  EvidenceBundle bundle = Fresh();
  std::vector<crypto::Certificate> chain =
      *crypto::Certificate::ParseAll(Vec("nvtrust/hopperCertChain.txt"));
  GpuEvidence gpu{"nvidia-spdm", Vec("nvtrust/hopperAttestationReport.txt"), {}};
  for (const auto& cert : chain) gpu.chain_der.push_back(cert.Der());
  bundle.gpu_evidence.push_back(gpu);
  const BundlePolicy policy = Policy();
  DecodedRelease release = *DecodeBundleRelease(bundle, policy);
  EXPECT_REFUSED(VerifyGpuStep(bundle, policy, release, At("2024-06-01T00:00:00Z")),
                 "step 2 gpu: gpu_evidence[0]: nvgpu: nonce");
  // The same device twice does not count as two GPUs.
  manifest_.gpu.devices = 2;
  bundle.gpu_evidence.push_back(gpu);
  release.manifest.gpu.devices = 2;
  EXPECT_REFUSED(VerifyGpuStep(bundle, policy, release, At("2024-06-01T00:00:00Z")),
                 "step 2 gpu: gpu_evidence[1]: the same device is listed twice");
}

TEST(SimTest, RootSavesAndLoadsWithAPrivateKeyFile) {
  const auto dir = std::filesystem::temp_directory_path() / ("openpcc-sim-" + std::to_string(::getpid()));
  std::filesystem::create_directories(dir);
  sim::SimRoot root = *sim::SimRoot::Generate("save test", kT);
  ASSERT_TRUE(root.Save(dir / "root.key", dir / "root.pem").ok());
  struct stat st {};
  ASSERT_EQ(::stat((dir / "root.key").c_str(), &st), 0);
  EXPECT_EQ(st.st_mode & 0777, 0600u);
  Result<sim::SimRoot> loaded = sim::SimRoot::Load(dir / "root.key", dir / "root.pem");
  ASSERT_TRUE(loaded.ok()) << Message(loaded);
  EXPECT_EQ(loaded->certificate().Der(), root.certificate().Der());
  EXPECT_NE(root.certificate().Subject().find("OpenPCC simulated TEE root (save test)"), std::string::npos);
  EXPECT_EQ(root.certificate().Subject().find("AMD"), std::string::npos);
  // A loaded root signs reports that verify under the saved certificate.
  sim::SimSigner signer = *sim::SimSigner::Create(*loaded, kT);
  sim::SimEvidence evidence = *signer.Report(Bytes(64, 1), Bytes(48, 2));
  std::vector<crypto::Certificate> roots{root.certificate()};
  Result<sim::SimClaims> claims = sim::VerifySimEvidence(evidence.report, evidence.vek_der, roots, kT);
  ASSERT_TRUE(claims.ok()) << Message(claims);
  EXPECT_EQ(ToBytes(claims->report_data()), Bytes(64, 1));
  EXPECT_EQ(ToBytes(claims->measurement()), Bytes(48, 2));
  // A key that does not match the certificate is refused.
  sim::SimRoot other = *sim::SimRoot::Generate("other", kT);
  ASSERT_TRUE(other.Save(dir / "other.key", dir / "other.pem").ok());
  EXPECT_REFUSED(sim::SimRoot::Load(dir / "other.key", dir / "root.pem"), "sim: root key does not match the root certificate");
  std::filesystem::remove_all(dir);
}

TEST(SimTest, VerifierChecksEachStep) {
  sim::SimRoot root = *sim::SimRoot::Generate("steps", kT - std::chrono::hours(1));
  sim::SimSigner signer = *sim::SimSigner::Create(root, kT - std::chrono::hours(1));
  sim::SimEvidence evidence = *signer.Report(Bytes(64, 3), kMeasurement);
  std::vector<crypto::Certificate> roots{root.certificate()};
  ASSERT_TRUE(sim::VerifySimEvidence(evidence.report, evidence.vek_der, roots, kT).ok());
  EXPECT_REFUSED(sim::VerifySimEvidence(evidence.report, evidence.vek_der, {}, kT),
                 "sim: no sim root is configured, so simulated evidence is refused");
  Bytes tampered = evidence.report;
  tampered[0x90] ^= 1;  // MEASUREMENT
  EXPECT_REFUSED(sim::VerifySimEvidence(tampered, evidence.vek_der, roots, kT), "sim: report signature");
  EXPECT_REFUSED(sim::VerifySimEvidence(evidence.report, evidence.vek_der, roots, kT - std::chrono::hours(2)),
                 "sim: VEK is not certified by a configured sim root");
  // The real AMD chain does not make a sim VEK, and a sim report is not accepted as SEV-SNP.
  EXPECT_REFUSED(snp::VerifySnpEvidence(evidence.report, evidence.vek_der, evidence.root_der, std::nullopt,
                                        snp::SnpPolicy{}, kT),
                 "sev-snp");
  EXPECT_REFUSED(signer.Report(Bytes(63, 0), kMeasurement), "sim: REPORT_DATA must be 64 bytes");
}

// ---- real vectors -------------------------------------------------------------------------------

struct SnpCase {
  EvidenceBundle bundle;
  BundlePolicy policy;
  snp::SnpTcb reported;
  snp::SnpReport parsed;
  json::object policy_json;  // what `policy` was parsed from
};

// A SEV-SNP bundle from virtee's Milan report under a release (appended to `log`) that states the
// report's real measurement, policy, VMPL, host data and ID key digest.
SnpCase MilanBundle(TestLog& log, sys_seconds now) {
  Bytes report = *snp::DecodeReportBytes(Vec("virtee-sev/report_milan.hex"));
  snp::SnpReport parsed = *snp::ParseSnpReport(report);
  tlog::ReleaseManifest m = BaseManifest("snp-tcb");
  tlog::SnpReference ref;
  ref.measurements = {ToBytes(parsed.measurement)};
  ref.policy = parsed.policy.raw;
  ref.vmpl = parsed.vmpl;
  ref.host_data = ToBytes(parsed.host_data);
  ref.id_key_digest = ToBytes(parsed.id_key_digest);
  m.snp = ref;
  const uint64_t index = log.AppendManifest(m);
  const std::string note = log.Checkpoint(Unix(now));
  SnpCase out;
  out.bundle.key_config = testing::RandomKeyConfig();
  out.bundle.node_id = *wire::NodeIdOf(*wire::ParseKeyConfig(out.bundle.key_config));
  out.bundle.claims = TinyClaims();
  out.bundle.platform = Platform::kSevSnp;
  out.bundle.cpu_evidence = {{"report", report}, {"vek", Vec("virtee-sev/vcek_milan.der")},
                             {"chain", Vec("virtee-sev/cert_chain_milan")}};
  out.bundle.freshness = FreshnessFromCheckpoint(note);
  out.bundle.release = BundleRelease{log.entries()[index], index, log.InclusionProof(index), note};
  out.bundle = *ParseBundle(out.bundle.Serialize());
  json::object policy_json{{"version", 1}, {"platforms", json::array{"sev-snp"}}, {"log", log.LogPolicyJson()},
                           {"release_keys", json::array{log.ReleaseKeyHex()}}};
  out.policy = *ParseBundlePolicy(json::serialize(policy_json), MapLoader({}));
  out.policy_json = std::move(policy_json);
  out.parsed = parsed;
  out.reported = snp::DecodeTcb(parsed.reported_tcb, snp::SnpFamily::kMilan);
  return out;
}

// The Milan bundle's REPORT_DATA was fixed when the report was made, so the binding (step 3)
// refuses it; steps 1, 2, 4 and 5 pass one by one.
TEST(RealVectorBundleTest, SevSnpStepsOneByOne) {
  const sys_seconds now = At("2025-07-01T00:00:00Z");
  TestLog log;
  SnpCase c = MilanBundle(log, now);
  const EvidenceBundle& bundle = c.bundle;
  const BundlePolicy& policy = c.policy;
  const snp::SnpReport& parsed = c.parsed;
  json::object& policy_json = c.policy_json;
  tlog::ReleaseIndex client = log.Index();
  DecodedRelease release = *DecodeBundleRelease(bundle, policy);
  Result<PlatformResult> platform = VerifyPlatformStep(bundle, policy, release, client, now);
  ASSERT_TRUE(platform.ok()) << Message(platform);
  EXPECT_EQ(platform->measurement, ToBytes(parsed.measurement));
  EXPECT_TRUE(VerifyGpuStep(bundle, policy, release, now).ok());
  EXPECT_REFUSED(CheckBindingStep(bundle, *platform), "step 3 binding: REPORT_DATA is not the value recomputed");
  EXPECT_TRUE(CheckReferenceStep(bundle, policy, release, client, *platform).ok());
  EXPECT_TRUE(CheckFreshnessStep(bundle, policy, {now + seconds(10), {}}).ok());
  EXPECT_REFUSED(VerifyBundle(bundle, policy, client, {now, {}}), "step 3 binding");

  // The same evidence under a release that lists another measurement: step 4 refuses it.
  PlatformResult other = *platform;
  other.measurement[0] ^= 1;
  EXPECT_REFUSED(CheckReferenceStep(bundle, policy, release, client, other), "step 4 reference values: MEASUREMENT");
  // A release stating other HOST_DATA makes step 1 refuse.
  release.manifest.snp->host_data[0] ^= 1;
  EXPECT_REFUSED(VerifyPlatformStep(bundle, policy, release, client, now), "step 1 platform: sev-snp: policy: HOST_DATA");
  // A minimum TCB above the report's (policy file): step 1.
  policy_json["minimum_tcb"] = json::object{{"sev-snp", json::object{{"snp", 255}}}};
  BundlePolicy strict = *ParseBundlePolicy(json::serialize(policy_json), MapLoader({}));
  EXPECT_REFUSED(VerifyPlatformStep(bundle, strict, *DecodeBundleRelease(bundle, strict), client, now),
                 "step 1 platform: sev-snp: policy:");
}

struct TdxCase {
  EvidenceBundle bundle;
  BundlePolicy policy;
  DecodedRelease release;
};

// trustee's tdx_quote_4 (a DEBUG TD) with go-tdx-guest's 2023 collateral, under a release (appended
// to `log`) whose MRTD the quote does not have: step 1 refuses it before step 4 is reached.
TdxCase Quote4Bundle(TestLog& log, const std::string& version) {
  tlog::ReleaseManifest m = BaseManifest(version);
  m.tdx = tlog::TdxReference{};
  m.tdx->mrtd = {Bytes(48, 1)};
  log.AppendManifest(m);
  TdxCase out;
  out.bundle.key_config = testing::RandomKeyConfig();
  out.bundle.node_id = *wire::NodeIdOf(*wire::ParseKeyConfig(out.bundle.key_config));
  out.bundle.platform = Platform::kTdx;
  out.bundle.cpu_evidence = {{"quote", Vec("trustee/tdx/tdx_quote_4.dat")},
                             {"tcb_info", Vec("go-tdx-guest/sample_tcbInfo_response")},
                             {"tcb_info_chain", Vec("go-tdx-guest/tcbinfo_issuer_chain.pem")},
                             {"qe_identity", Vec("go-tdx-guest/sample_qeIdentity_response")},
                             {"qe_identity_chain", Vec("go-tdx-guest/qeidentity_issuer_chain.pem")}};
  json::object policy_json{{"version", 1}, {"platforms", json::array{"tdx"}}, {"log", log.LogPolicyJson()},
                           {"release_keys", json::array{log.ReleaseKeyHex()}}};
  out.policy = *ParseBundlePolicy(json::serialize(policy_json), MapLoader({}));
  out.release = DecodedRelease{*tlog::ReleaseId(m), m};
  return out;
}

// TDX: the one vector with collateral valid at one time is a DEBUG TD, which step 1 must refuse;
// the refusal shows the bundle's parts reach the TDX verifier with the policy's statuses.
TEST(RealVectorBundleTest, TdxDebugTdIsRefusedByStepOne) {
  const sys_seconds now = At("2023-07-01T00:00:00Z");
  TestLog log;
  const auto [bundle, policy, release] = Quote4Bundle(log, "tdx-1");
  EXPECT_REFUSED(VerifyPlatformStep(bundle, policy, release, log.Index(), now),
                 "step 1 platform: tdx: policy: TD attribute DEBUG is set");
  // Collateral of another time is refused before the policy is reached.
  EXPECT_REFUSED(VerifyPlatformStep(bundle, policy, release, log.Index(), At("2023-08-01T00:00:00Z")),
                 "step 1 platform: tdx");
}

}  // namespace
}  // namespace openpcc::attest

namespace openpcc::attest {
namespace {

TEST(BundlePolicyTest, ParsesTheExamplePoliciesAndNamesTheFieldOfEachError) {
  const std::string pem = sim::SimRoot::Generate("policy", kT)->CertificatePem();
  PolicyFileLoader loader = [&pem](std::string_view path) -> Result<Bytes> {
    if (path.starts_with("missing")) return Error(ErrorCode::kInvalidArgument, "no such file");
    return ToBytes(pem);
  };
  for (const char* name : {"snp", "tdx", "tpm", "sim"}) {
    std::string text = openpcc::testing::ReadSourceFile(std::string("fuzz/corpus/policy_fuzz/") + name + ".json");
    Result<BundlePolicy> policy = ParseBundlePolicy(text, loader);
    ASSERT_TRUE(policy.ok()) << name << ": " << Message(policy);
    EXPECT_EQ(policy->platforms.size(), 1u);
    EXPECT_EQ(policy->log->threshold, 2u);
  }
  BundlePolicy tdx = *ParseBundlePolicy(openpcc::testing::ReadSourceFile("fuzz/corpus/policy_fuzz/tdx.json"), loader);
  EXPECT_EQ(tdx.log->max_age, seconds(600));
  EXPECT_EQ(tdx.tdx_accepted_statuses.size(), 2u);
  BundlePolicy snp = *ParseBundlePolicy(openpcc::testing::ReadSourceFile("fuzz/corpus/policy_fuzz/snp.json"), loader);
  EXPECT_EQ(snp.log->max_age, kDefaultMaxAge);
  EXPECT_EQ(snp.snp_minimum_tcb->microcode, 115);
  // The GPU example names a RIM file that does not exist.
  EXPECT_REFUSED(ParseBundlePolicy(openpcc::testing::ReadSourceFile("fuzz/corpus/policy_fuzz/gpu.json"), loader),
                 "policy: gpu.vbios_rim: no such file");

  json::value base = json::parse(openpcc::testing::ReadSourceFile("fuzz/corpus/policy_fuzz/snp.json"));
  auto with = [&](const std::function<void(json::object&)>& edit) {
    json::value copy = base;
    edit(copy.as_object());
    return ParseBundlePolicy(json::serialize(copy), loader);
  };
  EXPECT_REFUSED(with([](json::object& o) { o["extra"] = 1; }), "policy: extra: unknown field");
  EXPECT_REFUSED(with([](json::object& o) { o["version"] = 2; }), "policy: version: expected 1");
  EXPECT_REFUSED(with([](json::object& o) { o.erase("log"); }), "policy: log: missing");
  EXPECT_REFUSED(with([](json::object& o) { o["platforms"] = json::array{"sgx"}; }),
                 "policy: platforms[0]: expected one of sev-snp, tdx, tpm, sim");
  EXPECT_REFUSED(with([](json::object& o) { o["platforms"] = json::array{"tpm"}; }),
                 "policy: roots.tpm_ak: expected a TPM AK root, since platforms lists tpm");
  EXPECT_REFUSED(with([](json::object& o) { o["log"].as_object()["threshold"] = -1; }),
                 "policy: log.threshold: expected a non-negative integer");
  EXPECT_REFUSED(with([](json::object& o) { o["log"].as_object()["threshold"] = 4; }), "policy: log: ");
  EXPECT_REFUSED(with([](json::object& o) { o["release_keys"] = json::array{"abcd"}; }),
                 "policy: release_keys[0]: expected 64 hex digits");
  EXPECT_REFUSED(with([](json::object& o) { o["minimum_tcb"] = json::object{{"sev-snp", {{"snp", 256}}}}; }),
                 "policy: minimum_tcb.sev-snp.snp: expected at most 255");
  EXPECT_REFUSED(with([](json::object& o) { o["tdx"] = json::object{{"accepted_tcb_statuses", {"Fine"}}}; }),
                 "policy: tdx.accepted_tcb_statuses[0]: expected a TCB status name");
  EXPECT_REFUSED(with([](json::object& o) { o["freshness"] = json::object{{"max_age_seconds", 0}}; }),
                 "policy: freshness.max_age_seconds: expected a positive number of seconds");
  EXPECT_REFUSED(with([](json::object& o) { o["roots"] = json::object{{"sim", {"missing.pem"}}}; }),
                 "policy: roots.sim[0]: no such file");
  EXPECT_REFUSED(ParseBundlePolicy("[1,2", loader), "policy: ");
}

}  // namespace
}  // namespace openpcc::attest

// ---- minimum-TCB notices read from the log -------------------------------------------------------
// A notice reaches the verifier only as the client reads it: appended to the log, signed by the
// release key, and added to the client's ReleaseIndex with every other entry (TestLog::Index, as
// client.cc and `evidence verify --entries` do).
namespace openpcc::attest {
namespace {

TEST(LoggedMinimumTcbTest, SevSnpComponentAboveTheReportRefusesStepOneAndNamesIt) {
  const sys_seconds now = At("2025-07-01T00:00:00Z");
  TestLog log;
  SnpCase c = MilanBundle(log, now);
  const uint64_t microcode = c.reported.microcode;
  ASSERT_LT(microcode, 255u);
  // No notice: step 1 passes and the whole bundle stops at step 3 (the vector's fixed REPORT_DATA).
  EXPECT_REFUSED(VerifyBundle(c.bundle, c.policy, log.Index(), {now, {}}), "step 3 binding");

  // A notice one above the reported microcode SPL: step 1 refuses, naming the component.
  log.AppendMinimumTcb({"sev-snp", {{"microcode", microcode + 1}, {"snp", c.reported.snp}}});
  const std::string expected = "step 1 platform: sev-snp: microcode " + std::to_string(microcode) +
                               " is below the minimum " + std::to_string(microcode + 1) +
                               " of the logged minimum-TCB notice";
  Result<VerifiedNode> refused = VerifyBundle(c.bundle, c.policy, log.Index(), {now, {}});
  ASSERT_FALSE(refused.ok());
  EXPECT_EQ(refused.error().message(), expected);
  EXPECT_EQ(refused.error().code(), ErrorCode::kFailedPrecondition);

  // A later notice replaces it: every component at the reported value passes step 1 (fmc is not
  // compared on Milan, which has no FMC).
  log.AppendMinimumTcb({"sev-snp", {{"bootloader", c.reported.bootloader}, {"tee", c.reported.tee},
                                    {"snp", c.reported.snp}, {"microcode", microcode}, {"fmc", 255}}});
  tlog::ReleaseIndex client = log.Index();
  DecodedRelease release = *DecodeBundleRelease(c.bundle, c.policy);
  EXPECT_TRUE(VerifyPlatformStep(c.bundle, c.policy, release, client, now).ok());
  EXPECT_REFUSED(VerifyBundle(c.bundle, c.policy, client, {now, {}}), "step 3 binding");

  // Below the reported value also passes; each component above it refuses, by its own name.
  log.AppendMinimumTcb({"sev-snp", {{"microcode", microcode - 1}}});
  EXPECT_TRUE(VerifyPlatformStep(c.bundle, c.policy, release, log.Index(), now).ok());
  for (const auto& [name, value] : std::map<std::string, uint64_t>{
           {"bootloader", c.reported.bootloader}, {"tee", c.reported.tee}, {"snp", c.reported.snp}}) {
    log.AppendMinimumTcb({"sev-snp", {{name, value + 1}}});
    EXPECT_REFUSED(VerifyPlatformStep(c.bundle, c.policy, release, log.Index(), now),
                   "step 1 platform: sev-snp: " + name + " " + std::to_string(value) + " is below the minimum " +
                       std::to_string(value + 1) + " of the logged minimum-TCB notice");
  }
}

TEST(LoggedMinimumTcbTest, TdxTeeTcbSvnPceSvnAndQeSvnAreEnforced) {
  // The TDX vector is a DEBUG TD: with the notice satisfied step 1 goes on to refuse DEBUG, which
  // shows the notice passed; with it not satisfied step 1 refuses the notice first.
  const sys_seconds now = At("2023-07-01T00:00:00Z");
  const Bytes quote_bytes = Vec("trustee/tdx/tdx_quote_4.dat");
  const tdx::Quote quote = *tdx::ParseQuote(quote_bytes);
  TestLog log;
  const auto [bundle, policy, release] = Quote4Bundle(log, "tdx-tcb");
  constexpr std::string_view kDebug = "step 1 platform: tdx: policy: TD attribute DEBUG is set";

  tlog::MinimumTcb at_value{"tdx", {{"qe_isv_svn", quote.qe_report.isv_svn}}};
  for (size_t i = 0; i < quote.body.tee_tcb_svn.size(); ++i) {
    at_value.components["tee_tcb_svn_" + std::to_string(i)] = quote.body.tee_tcb_svn[i];
  }
  log.AppendMinimumTcb(at_value);
  EXPECT_REFUSED(VerifyPlatformStep(bundle, policy, release, log.Index(), now), kDebug);

  for (size_t i : {size_t{0}, size_t{1}, size_t{15}}) {
    const uint64_t svn = quote.body.tee_tcb_svn[i];
    ASSERT_LT(svn, 255u);
    const std::string name = "tee_tcb_svn_" + std::to_string(i);
    log.AppendMinimumTcb({"tdx", {{name, svn + 1}}});
    EXPECT_REFUSED(VerifyPlatformStep(bundle, policy, release, log.Index(), now),
                   "step 1 platform: tdx: " + name + " " + std::to_string(svn) + " is below the minimum " +
                       std::to_string(svn + 1) + " of the logged minimum-TCB notice");
  }
  log.AppendMinimumTcb({"tdx", {{"qe_isv_svn", uint64_t{quote.qe_report.isv_svn} + 1}}});
  EXPECT_REFUSED(VerifyPlatformStep(bundle, policy, release, log.Index(), now), "step 1 platform: tdx: qe_isv_svn ");
  log.AppendMinimumTcb({"tdx", {{"pce_svn", 0xffff}}});
  EXPECT_REFUSED(VerifyPlatformStep(bundle, policy, release, log.Index(), now), "step 1 platform: tdx: pce_svn ");
  // A notice for SEV-SNP does not touch TDX evidence.
  log.AppendMinimumTcb({"tdx", {{"pce_svn", 0}}});
  log.AppendMinimumTcb({"sev-snp", {{"snp", 255}}});
  EXPECT_REFUSED(VerifyPlatformStep(bundle, policy, release, log.Index(), now), kDebug);
}

// A notice no client can enforce, or with a component no verifier compares, is refused when it is
// signed and when it is logged; a log that holds one anyway (written before this check) makes the
// client refuse that entry, and so the log read, with the reason: it fails closed, never ignores it.
TEST(LoggedMinimumTcbTest, UnenforceableNoticesAreRefusedWhenSignedAndWhenRead) {
  TestLog log;
  const std::pair<const char*, const char*> cases[] = {
      {R"({"components":{"ucode":213},"platform":"sev-snp","type":"openpcc-minimum-tcb/v1"})",
       "minimum_tcb.components: \"ucode\" is not a sev-snp TCB component (valid: bootloader, tee, snp, microcode, fmc)"},
      {R"({"components":{"microcode":256},"platform":"sev-snp","type":"openpcc-minimum-tcb/v1"})",
       "minimum_tcb.components.microcode: is above 255"},
      {R"({"components":{"tee_tcb_svn_16":1},"platform":"tdx","type":"openpcc-minimum-tcb/v1"})",
       "\"tee_tcb_svn_16\" is not a tdx TCB component (valid: tee_tcb_svn_0 .. tee_tcb_svn_15, pce_svn, qe_isv_svn)"},
      {R"({"components":{"pcr0":1},"platform":"tpm","type":"openpcc-minimum-tcb/v1"})",
       "minimum_tcb.platform: \"tpm\" has no TCB version"},
      {R"({"components":{"snp":1},"platform":"sim","type":"openpcc-minimum-tcb/v1"})",
       "minimum-TCB notices are enforced for sev-snp and tdx only"},
  };
  for (const auto& [body, message] : cases) {
    SCOPED_TRACE(body);
    const json::value parsed = json::parse(body);
    EXPECT_REFUSED(tlog::ParseMinimumTcb(parsed), message);
    EXPECT_REFUSED(tlog::SignEntry(tlog::EntryKind::kMinimumTcb, parsed, testing::Key(9)), message);
    const Bytes entry = log.SignedUnchecked(tlog::EntryKind::kMinimumTcb, body);
    tlog::EntryKeyring keyring;
    keyring.AddReleaseKey(testing::Key(9).public_key());
    tlog::ReleaseIndex client(std::move(keyring));
    Status added = client.Add(0, entry);
    EXPECT_REFUSED(added, message);
    EXPECT_EQ(client.next_index(), 0u);  // the read stops there: later entries (revocations) are not skipped
  }
}

}  // namespace
}  // namespace openpcc::attest
