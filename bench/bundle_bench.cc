// Whole evidence-bundle verification (attest/bundle_verifier.h) of a simulated-TEE bundle: release
// signature, sim VEK chain and report signature, binding, log checkpoint + inclusion proof +
// revocation index, freshness checkpoint. Nothing is cached between verifications (no verified
// intermediates are kept), so cold and warm are the same work; "Cold" also parses the bundle JSON
// and the policy file each time, as the CLI does.
#include <benchmark/benchmark.h>

#include "../tests/bundle_test_util.h"
#include "openpcc/attest/bundle_builder.h"
#include "openpcc/attest/bundle_verifier.h"
#include "openpcc/attest/collect/collectors.h"

namespace openpcc::attest {
namespace {

namespace json = boost::json;

struct Deployment {
  testing::TestLog log;
  std::string policy_text;
  std::string root_pem;
  std::string bundle_text;
  std::chrono::sys_seconds now = std::chrono::sys_seconds(std::chrono::seconds(1751328000));

  Deployment() {
    sim::SimRoot root = *sim::SimRoot::Generate("bench", now - std::chrono::hours(24));
    root_pem = root.CertificatePem();
    auto signer = std::make_shared<sim::SimSigner>(*sim::SimSigner::Create(root, now - std::chrono::hours(1)));
    tlog::ReleaseManifest m = testing::BaseManifest("1.0.0");
    m.sim = tlog::SimReference{{Bytes(48, 0x5a)}};
    for (int i = 0; i < 20; ++i) {
      tlog::ReleaseManifest old = m;
      old.version = "0." + std::to_string(i);
      log.AppendManifest(old);
    }
    const uint64_t index = log.AppendManifest(m);
    const std::string note = log.Checkpoint(static_cast<uint64_t>(now.time_since_epoch().count()));
    collect::SimCollector collector(signer, Bytes(48, 0x5a));
    BundleInputs inputs{testing::RandomKeyConfig(), Claims{{{"tiny-llama", std::string(64, '3')}}},
                        FreshnessFromCheckpoint(note),
                        BundleRelease{log.entries()[index], index, log.InclusionProof(index), note}};
    bundle_text = BuildBundle(inputs, collector)->Serialize();
    policy_text = json::serialize(json::object{{"version", 1},
                                               {"platforms", json::array{"sim"}},
                                               {"roots", json::object{{"sim", json::array{"root.pem"}}}},
                                               {"log", log.LogPolicyJson()},
                                               {"release_keys", json::array{log.ReleaseKeyHex()}}});
  }
  BundlePolicy Policy() const {
    return *ParseBundlePolicy(policy_text, testing::MapLoader({{"root.pem", ToBytes(root_pem)}}));
  }
};

const Deployment& Get() {
  static const Deployment d;
  return d;
}

void BM_BundleVerifyWarm(benchmark::State& state) {
  const Deployment& d = Get();
  const BundlePolicy policy = d.Policy();
  const tlog::ReleaseIndex index = d.log.Index();
  const EvidenceBundle bundle = *ParseBundle(d.bundle_text);
  for (auto _ : state) {
    Result<VerifiedNode> node = VerifyBundle(bundle, policy, index, {d.now, {}});
    if (!node.ok()) state.SkipWithError(node.error().message().c_str());
    benchmark::DoNotOptimize(node);
  }
}
BENCHMARK(BM_BundleVerifyWarm)->Unit(benchmark::kMicrosecond);

void BM_BundleVerifyCold(benchmark::State& state) {
  const Deployment& d = Get();
  const tlog::ReleaseIndex index = d.log.Index();
  for (auto _ : state) {
    const BundlePolicy policy = d.Policy();
    const EvidenceBundle bundle = *ParseBundle(d.bundle_text);
    Result<VerifiedNode> node = VerifyBundle(bundle, policy, index, {d.now, {}});
    if (!node.ok()) state.SkipWithError(node.error().message().c_str());
    benchmark::DoNotOptimize(node);
  }
}
BENCHMARK(BM_BundleVerifyCold)->Unit(benchmark::kMicrosecond);

}  // namespace
}  // namespace openpcc::attest

BENCHMARK_MAIN();
