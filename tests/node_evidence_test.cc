// `openpcc node` evidence (DESIGN §2.4, §2.6): --platform sim publishes bundles that verify under
// the deployment's sim root and bind key config, claims and freshness; --platform auto refuses on
// a machine without a TEE; --log takes freshness from a real `openpcc tlog` and witnesses and
// refreshes the registered bundles when the log's checkpoint changes. The node runs the openai
// engine against an upstream that is never called (no model needed).
#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>
#include <mutex>
#include <set>

#include <boost/json.hpp>

#include "openpcc/attest/bundle.h"
#include "openpcc/attest/bundle_verifier.h"
#include "openpcc/attest/sim/sim.h"
#include "openpcc/attest/sim/verify.h"
#include "openpcc/attest/tpm/credential.h"
#include "openpcc/attest/tpm/device.h"
#include "openpcc/crypto/hash.h"
#include "openpcc/net/client.h"
#include "openpcc/net/server.h"
#include "openpcc/tlog/log_policy.h"
#include "openpcc/util/base64.h"
#include "support/swtpm.h"
#include "support/vectors.h"
#include "tlog_process_util.h"

namespace openpcc::tlog::testing {
namespace {

namespace fs = std::filesystem;
using openpcc::testing::RunCli;

constexpr std::string_view kModelSha256 = "00112233445566778899aabbccddeeff00112233445566778899aabbccddeeff";

std::chrono::sys_seconds WallNow() {
  return std::chrono::time_point_cast<std::chrono::seconds>(std::chrono::system_clock::now());
}

// The gateway's operator listener, recording registrations.
struct FakeGateway {
  std::mutex mu;
  std::vector<boost::json::value> registrations;
  std::unique_ptr<net::Server> server;

  FakeGateway() {
    net::Router router;
    router.Handle("POST", "/v1/nodes/register", [this](net::Request& req, net::Response& res) -> net::Awaitable<void> {
      auto body = co_await req.ReadAll(1 << 20);
      {
        std::lock_guard lock(mu);
        if (body.ok()) registrations.push_back(boost::json::parse(*body));
      }
      (void)co_await res.Send(200, "{}");
    });
    router.HandlePrefix("DELETE", "/v1/nodes/", [](net::Request&, net::Response& res) -> net::Awaitable<void> {
      (void)co_await res.Send(204, "");
    });
    auto started = net::Server::Start({}, std::move(router));
    EXPECT_TRUE(started.ok());
    server = std::move(started).value();
  }
  std::string url() const { return "http://127.0.0.1:" + std::to_string(server->port()); }
  std::vector<attest::EvidenceBundle> Bundles() {
    std::lock_guard lock(mu);
    std::vector<attest::EvidenceBundle> out;
    for (const auto& r : registrations) {
      auto bundle = attest::BundleFromJson(r.as_object().at("bundle"));
      if (bundle.ok()) out.push_back(std::move(bundle).value());
    }
    return out;
  }
};

class NodeEvidenceTest : public ::testing::Test {
 protected:
  void SetUp() override {
    auto made = RunCli({"node", "sim-root", "init", (dir_.path() / "sim-root").string(), "--deployment", "test"});
    ASSERT_EQ(made.exit_code, 0) << made.err;
  }

  std::vector<std::string> NodeArgs() {
    return {"node", "--engine", "openai", "--upstream", "http://127.0.0.1:9", "--model-name", "m",
            "--model-sha256", std::string(kModelSha256), "--platform", "sim", "--sim-root-dir",
            (dir_.path() / "sim-root").string()};
  }

  std::vector<crypto::Certificate> SimRoots() {
    auto root = attest::sim::SimRoot::Load(dir_.path() / "sim-root" / "sim-root.key",
                                           dir_.path() / "sim-root" / "sim-root.pem");
    EXPECT_TRUE(root.ok()) << root.error().message();
    return {root->certificate()};
  }

  // Steps 1 (sim platform evidence under the deployment's root) and 3 (REPORT_DATA binds the
  // bundle's key config, claims and freshness) of DESIGN §2.4.
  Status VerifySimSteps(const attest::EvidenceBundle& bundle) {
    if (bundle.platform != attest::Platform::kSim) return Error(ErrorCode::kMalformed, "platform is not sim");
    const std::vector<crypto::Certificate> roots = SimRoots();
    OPENPCC_ASSIGN_OR_RETURN(attest::sim::SimClaims sim,
                             attest::sim::VerifySimEvidence(bundle.cpu_evidence.at("report"),
                                                            bundle.cpu_evidence.at("vek"), roots, WallNow()));
    attest::PlatformResult platform;
    platform.bound_value = Bytes(sim.report_data().begin(), sim.report_data().end());
    platform.simulated = true;
    return attest::CheckBindingStep(bundle, platform);
  }

  TempDir dir_;
};

TEST_F(NodeEvidenceTest, SimNodeServesAttestationThatVerifiesUnderItsRoot) {
  auto node = StartService(dir_.path(), "node", NodeArgs());
  ASSERT_TRUE(node.ok()) << node.error().ToString();
  auto client = net::BlockingClient::Create({});
  ASSERT_TRUE(client.ok());
  const Bytes nonce(32, 0x5a);
  auto attested = (*client)->Fetch(net::ClientRequest("POST", node->url + "/v1/attest"),
                                   "{\"nonce\":\"" + Base64UrlEncode(nonce) + "\"}", 1 << 20);
  ASSERT_TRUE(attested.ok());
  ASSERT_EQ(attested->status, 200u) << attested->body;
  auto bundle = attest::BundleFromJson(boost::json::parse(attested->body));
  ASSERT_TRUE(bundle.ok()) << bundle.error().message();
  EXPECT_EQ(bundle->freshness.binding.kind, attest::FreshnessKind::kClientNonce);
  EXPECT_EQ(Bytes(bundle->freshness.binding.value.begin(), bundle->freshness.binding.value.end()), nonce);
  ASSERT_EQ(bundle->claims.models.size(), 1u);
  EXPECT_EQ(bundle->claims.models[0].name, "m");
  EXPECT_EQ(bundle->claims.models[0].sha256, kModelSha256);
  Status verified = VerifySimSteps(*bundle);
  EXPECT_TRUE(verified.ok()) << verified.error().message();

  // Each bound input changed once: the binding check refuses it.
  attest::EvidenceBundle other_claims = *bundle;
  other_claims.claims.models[0].sha256[0] = other_claims.claims.models[0].sha256[0] == '0' ? '1' : '0';
  EXPECT_FALSE(VerifySimSteps(other_claims).ok());
  attest::EvidenceBundle other_nonce = *bundle;
  other_nonce.freshness.binding.value[0] ^= 1;
  EXPECT_FALSE(VerifySimSteps(other_nonce).ok());
  // Another deployment's root does not certify this node.
  auto other_root = attest::sim::SimRoot::Generate("other", WallNow() - std::chrono::hours(1));
  ASSERT_TRUE(other_root.ok());
  const std::vector<crypto::Certificate> other = {other_root->certificate()};
  EXPECT_FALSE(attest::sim::VerifySimEvidence(bundle->cpu_evidence.at("report"), bundle->cpu_evidence.at("vek"),
                                              other, WallNow())
                   .ok());
  EXPECT_EQ(node->process.Stop(10s), 0);
}

TEST_F(NodeEvidenceTest, AutoWithoutHardwareRefusesClearly) {
  std::error_code ec;
  for (const char* device : {"/dev/sev-guest", "/dev/tdx_guest", "/dev/tpmrm0", "/sys/kernel/config/tsm/report"}) {
    if (fs::exists(device, ec)) GTEST_SKIP() << device << " exists on this machine";
  }
  auto refused = RunCli({"node", "--platform", "auto", "--engine", "openai", "--upstream", "http://127.0.0.1:9",
                         "--model-name", "m", "--listen", "127.0.0.1:0"});
  EXPECT_EQ(refused.exit_code, 2);
  EXPECT_NE(refused.err.find("--platform auto: no TEE found"), std::string::npos) << refused.err;
  EXPECT_NE(refused.err.find("--platform sim"), std::string::npos) << refused.err;
  // The default is auto: never a silent fallback to sim.
  auto by_default = RunCli({"node", "--engine", "openai", "--upstream", "http://127.0.0.1:9", "--model-name", "m"});
  EXPECT_EQ(by_default.exit_code, 2);
  EXPECT_NE(by_default.err.find("no TEE found"), std::string::npos) << by_default.err;
  // sim without its root directory, and tpm without its AK certificate, name what is missing.
  auto no_root = RunCli({"node", "--platform", "sim", "--engine", "openai", "--upstream", "http://127.0.0.1:9",
                         "--model-name", "m"});
  EXPECT_NE(no_root.err.find("--platform sim needs --sim-root-dir"), std::string::npos) << no_root.err;
  auto tpm = RunCli({"node", "--platform", "tpm", "--engine", "openai", "--upstream", "http://127.0.0.1:9",
                     "--model-name", "m"});
  EXPECT_NE(tpm.err.find("--platform tpm needs --tpm-ak-cert"), std::string::npos) << tpm.err;
}

// --platform tpm against swtpm started here: the AK is enrolled with a test operator CA (as an
// operator would before starting the node), then the node's own HPKE key is TPM-resident and its
// /v1/attest bundle proves it: AK certificate to the CA, quote, CertifyCreation of key_config's key
// (step 1), and the quote's qualifying data binds the bundle (step 3).
TEST_F(NodeEvidenceTest, TpmNodeServesAttestationThatVerifiesUnderTheAkRoot) {
  if (!openpcc::testing::Swtpm::Available()) GTEST_SKIP() << "swtpm / swtpm_setup not installed";
  setenv("TSS2_LOG", "all+none", 0);
  auto swtpm = openpcc::testing::Swtpm::Start();
  ASSERT_TRUE(swtpm.ok()) << swtpm.error().message();
  std::chrono::sys_seconds at;
  std::unique_ptr<attest::tpm::OperatorCa> ca;
  {
    auto device = attest::tpm::TpmDevice::Open((*swtpm)->tcti());
    ASSERT_TRUE(device.ok()) << device.error().message();
    auto ek = (*device)->CreateEk();
    ASSERT_TRUE(ek.ok()) << ek.error().message();
    auto ek_cert = crypto::Certificate::ParseOne((*device)->ReadEkCertificate().value()).value();
    at = ek_cert.NotBefore() + std::chrono::hours(1);
    auto ak = (*device)->CreateAk();
    ASSERT_TRUE(ak.ok()) << ak.error().message();
    ca = std::make_unique<attest::tpm::OperatorCa>(
        attest::tpm::OperatorCa::Generate("node test operator CA", at - std::chrono::hours(1),
                                          at + std::chrono::hours(24)).value());
    auto pem = [](const fs::path& path) {
      return crypto::Certificate::ParseAll(ToBytes(openpcc::testing::ReadFileOrDie(path))).value();
    };
    auto enrollment = ca->BeginEnrollment((*ek)->tpm_public(), ek_cert, pem((*swtpm)->ek_issuer_pem()),
                                          pem((*swtpm)->ek_root_pem()), at, (*ak)->tpm_public());
    ASSERT_TRUE(enrollment.ok()) << enrollment.error().message();
    auto secret = (*device)->ActivateCredential(**ak, **ek, enrollment->challenge.credential_blob,
                                                enrollment->challenge.encrypted_secret);
    ASSERT_TRUE(secret.ok()) << secret.error().message();
    auto ak_cert = ca->FinishEnrollment(*enrollment, secret->view(), at, at + std::chrono::hours(1));
    ASSERT_TRUE(ak_cert.ok()) << ak_cert.error().message();
    const Bytes der = ak_cert->Der();
    std::ofstream(dir_.path() / "ak.der", std::ios::binary)
        .write(reinterpret_cast<const char*>(der.data()), static_cast<std::streamsize>(der.size()));
  }  // the test's TPM connection closes: swtpm serves one client at a time

  auto node = StartService(dir_.path(), "node",
                           {"node", "--engine", "openai", "--upstream", "http://127.0.0.1:9", "--model-name", "m",
                            "--model-sha256", std::string(kModelSha256), "--platform", "tpm", "--tpm-tcti",
                            (*swtpm)->tcti(), "--tpm-ak-cert", (dir_.path() / "ak.der").string(), "--tpm-pcrs",
                            "0,2,7", "--key-prepare-ahead", "1s"});
  ASSERT_TRUE(node.ok()) << node.error().ToString();
  auto client = net::BlockingClient::Create({});
  ASSERT_TRUE(client.ok());
  const Bytes nonce(32, 0x7b);
  auto attested = (*client)->Fetch(net::ClientRequest("POST", node->url + "/v1/attest"),
                                   "{\"nonce\":\"" + Base64UrlEncode(nonce) + "\"}", 1 << 20);
  ASSERT_TRUE(attested.ok());
  ASSERT_EQ(attested->status, 200u) << attested->body;
  auto bundle = attest::BundleFromJson(boost::json::parse(attested->body));
  ASSERT_TRUE(bundle.ok()) << bundle.error().message();
  EXPECT_EQ(bundle->platform, attest::Platform::kTpm);
  EXPECT_EQ(bundle->freshness.binding.kind, attest::FreshnessKind::kClientNonce);

  attest::BundlePolicy policy;
  policy.platforms = {attest::Platform::kTpm};
  policy.tpm_ak_roots = {ca->certificate()};
  tlog::ReleaseIndex no_entries{tlog::EntryKeyring{}};
  auto platform = attest::VerifyPlatformStep(*bundle, policy, attest::DecodedRelease{}, no_entries,
                                             at + std::chrono::minutes(10));
  ASSERT_TRUE(platform.ok()) << platform.error().message();
  EXPECT_EQ(platform->pcrs.size(), 3u);
  Status bound = attest::CheckBindingStep(*bundle, *platform);
  EXPECT_TRUE(bound.ok()) << bound.error().message();
  attest::EvidenceBundle other_nonce = *bundle;
  other_nonce.freshness.binding.value[0] ^= 1;
  EXPECT_FALSE(attest::CheckBindingStep(other_nonce, *platform).ok());
  // Another CA does not vouch for this node's AK.
  auto other = attest::tpm::OperatorCa::Generate("other", at - std::chrono::hours(1), at + std::chrono::hours(1));
  policy.tpm_ak_roots = {other->certificate()};
  EXPECT_FALSE(attest::VerifyPlatformStep(*bundle, policy, attest::DecodedRelease{}, no_entries,
                                          at + std::chrono::minutes(10)).ok());
  EXPECT_EQ(node->process.Stop(10s), 0);
}

TEST_F(NodeEvidenceTest, FreshnessFromTheLogRefreshesWhenItsCheckpointChanges) {
  const fs::path keys = dir_.path() / "keys";
  GenerateKey(keys, "log", "log");
  GenerateKey(keys, "release", "release");
  std::unique_ptr<Service> witnesses[3];
  for (int i = 0; i < 3; ++i) {
    const std::string name = "witness-" + std::to_string(i + 1);
    GenerateKey(keys, "witness", name);
    auto w = StartService(dir_.path(), name,
                          {"witness", "--key", (keys / (name + ".key")).string(), "--log", (keys / "log.vkey").string(),
                           "--dir", (dir_.path() / (name + "-state")).string()});
    ASSERT_TRUE(w.ok()) << w.error().ToString();
    witnesses[i] = std::make_unique<Service>(std::move(w).value());
  }
  // The log re-sends its checkpoint to the witnesses every second: each round's cosignatures make
  // a new signed note (a changed checkpoint), as a growing tree does.
  std::vector<std::string> log_args = {"tlog", "--key", (keys / "log.key").string(), "--dir",
                                       (dir_.path() / "log").string(), "--release-key",
                                       (keys / "release.pub").string(), "--refresh-interval", "1s"};
  for (int i = 0; i < 3; ++i) {
    log_args.push_back("--witness");
    log_args.push_back(witnesses[i]->url + " " + (keys / ("witness-" + std::to_string(i + 1) + ".vkey")).string());
  }
  auto log = StartService(dir_.path(), "tlog", log_args);
  ASSERT_TRUE(log.ok()) << log.error().ToString();
  std::vector<std::string> witness_vkeys;
  for (int i = 1; i <= 3; ++i) witness_vkeys.push_back(ReadText(keys / ("witness-" + std::to_string(i) + ".vkey")));
  auto policy = LogPolicy::Create("openpcc.local/log", ReadText(keys / "log.vkey"), witness_vkeys, 2);
  ASSERT_TRUE(policy.ok()) << policy.error().message();
  // The log's first checkpoint gathers its cosignatures before the node starts.
  auto log_client = services::LogClient::Create(log->url);
  ASSERT_TRUE(log_client.ok());
  ASSERT_TRUE(Eventually([&] {
    auto note = (*log_client)->FetchCheckpoint();
    return note.ok() && VerifyCheckpoint(*policy, *note).ok();
  }));

  FakeGateway gateway;
  std::ofstream(dir_.path() / "credential") << "credential\n";
  std::vector<std::string> args = NodeArgs();
  for (const std::string& a : std::vector<std::string>{
           "--log", log->url, "--log-key", (keys / "log.vkey").string(), "--threshold", "2", "--evidence-refresh",
           "1s", "--register-interval", "1h", "--gateway", gateway.url(), "--registration-credential",
           (dir_.path() / "credential").string()}) {
    args.push_back(a);
  }
  for (int i = 1; i <= 3; ++i) {
    args.push_back("--witness");
    args.push_back((keys / ("witness-" + std::to_string(i) + ".vkey")).string());
  }
  auto node = StartService(dir_.path(), "node", args);
  ASSERT_TRUE(node.ok()) << node.error().ToString();

  // Registrations repeat with the newest checkpoint (the keep-alive interval is an hour, so every
  // further registration is the evidence refresh's).
  std::set<std::string> notes;
  ASSERT_TRUE(Eventually(
      [&] {
        notes.clear();
        for (const auto& b : gateway.Bundles()) notes.insert(b.freshness.checkpoint);
        return notes.size() >= 3;
      },
      30s))
      << "registered checkpoints: " << notes.size();
  for (const attest::EvidenceBundle& bundle : gateway.Bundles()) {
    EXPECT_EQ(bundle.freshness.binding.kind, attest::FreshnessKind::kLogCheckpoint);
    auto verified = VerifyCheckpoint(*policy, bundle.freshness.checkpoint);
    ASSERT_TRUE(verified.ok()) << verified.error().message();
    EXPECT_EQ(crypto::Sha256(AsBytes(bundle.freshness.checkpoint)),
              Bytes(bundle.freshness.binding.value.begin(), bundle.freshness.binding.value.end()));
    Status steps = VerifySimSteps(bundle);
    EXPECT_TRUE(steps.ok()) << steps.error().message();
  }
  EXPECT_EQ(node->process.Stop(10s), 0);

  // A node given a log key that did not sign the log refuses to start.
  GenerateKey(keys, "log", "wrong");
  std::vector<std::string> wrong = NodeArgs();
  for (const std::string& a : std::vector<std::string>{"--log", log->url, "--log-key", (keys / "wrong.vkey").string(),
                                                       "--log-origin", "openpcc.local/log", "--threshold", "2"}) {
    wrong.push_back(a);
  }
  for (int i = 1; i <= 3; ++i) {
    wrong.push_back("--witness");
    wrong.push_back((keys / ("witness-" + std::to_string(i) + ".vkey")).string());
  }
  auto refused = RunCli(wrong);
  EXPECT_NE(refused.exit_code, 0) << refused.err;
  EXPECT_FALSE(refused.err.empty());
}

}  // namespace
}  // namespace openpcc::tlog::testing
