#include "openpcc/attest/bundle_verifier.h"

#include <algorithm>
#include <functional>
#include <set>

#include <openssl/pem.h>

#include "openpcc/attest/nvgpu/verifier.h"
#include "openpcc/attest/sim/verify.h"
#include "openpcc/attest/snp/verify.h"
#include "openpcc/attest/tdx/ccel.h"
#include "openpcc/attest/tdx/verify.h"
#include "openpcc/attest/tpm/verify.h"
#include "openpcc/crypto/hash.h"
#include "openpcc/crypto/secret.h"
#include "openpcc/tlog/entry.h"
#include "openpcc/tlog/merkle.h"
#include "openpcc/util/base64.h"
#include "openpcc/wire/key_config.h"

namespace openpcc::attest {
namespace {

namespace json = boost::json;
using std::chrono::sys_seconds;

// Re-labels an error from a lower module with the step that failed, keeping its code.
Error Step(std::string_view step, const Error& error) {
  return Error(error.code(), std::string(step) + ": " + error.message());
}
Error Step(std::string_view step, ErrorCode code, std::string_view message) {
  return Error(code, std::string(step) + ": " + std::string(message));
}

constexpr std::string_view kRelease = "release";
constexpr std::string_view kPlatform = "step 1 platform";
constexpr std::string_view kGpu = "step 2 gpu";
constexpr std::string_view kBinding = "step 3 binding";
constexpr std::string_view kReference = "step 4 reference values";
constexpr std::string_view kFreshness = "step 5 freshness";

const Bytes& Part(const EvidenceBundle& bundle, std::string_view name) {
  // ParseBundle guarantees the required parts; a bundle built in code may lack one.
  static const Bytes kEmpty;
  auto it = bundle.cpu_evidence.find(std::string(name));
  return it == bundle.cpu_evidence.end() ? kEmpty : it->second;
}

std::optional<ByteView> OptionalPart(const EvidenceBundle& bundle, std::string_view name) {
  auto it = bundle.cpu_evidence.find(std::string(name));
  if (it == bundle.cpu_evidence.end()) return std::nullopt;
  return ByteView(it->second);
}

Status RequireParts(const EvidenceBundle& bundle) {
  for (std::string_view name : RequiredCpuEvidence(bundle.platform)) {
    if (!bundle.cpu_evidence.contains(std::string(name))) {
      return Step(kPlatform, ErrorCode::kMalformed, "cpu_evidence." + std::string(name) + " is missing");
    }
  }
  return OkStatus();
}

// The policy file's minimum (the logged notice is checked separately, see CheckLoggedMinimum).
std::optional<snp::SnpTcb> SnpPolicyMinimum(const BundlePolicy& policy) {
  if (!policy.snp_minimum_tcb) return std::nullopt;
  const SnpMinimumTcb& m = *policy.snp_minimum_tcb;
  snp::SnpTcb out;
  out.bootloader = m.bootloader;
  out.tee = m.tee;
  out.snp = m.snp;
  out.microcode = m.microcode;
  out.fmc = m.fmc;
  return out;
}

// The latest minimum-TCB notice the client has read for the platform, compared component by
// component with what the verified evidence reports. Notices name only components their platform
// has (tlog::ParseMinimumTcb refuses others when they are logged or read); `reported` answers
// nullopt only for a component this processor lacks (fmc before Turin), which nothing can be below.
// The message names the component as the notice does, and says the minimum is the logged one.
Status CheckLoggedMinimum(Platform platform, const tlog::ReleaseIndex& index,
                          const std::function<std::optional<uint64_t>(std::string_view)>& reported) {
  const std::string name(PlatformName(platform));
  std::optional<tlog::MinimumTcb> notice = index.MinimumTcbFor(name);
  if (!notice) return OkStatus();
  for (const auto& [component, minimum] : notice->components) {
    const std::optional<uint64_t> actual = reported(component);
    if (actual && *actual < minimum) {
      return Step(kPlatform, ErrorCode::kFailedPrecondition,
                  name + ": " + component + " " + std::to_string(*actual) + " is below the minimum " +
                      std::to_string(minimum) + " of the logged minimum-TCB notice");
    }
  }
  return OkStatus();
}

tdx::Mr48 ToMr48(const Bytes& bytes) {
  tdx::Mr48 out{};
  std::copy_n(bytes.begin(), std::min(bytes.size(), out.size()), out.begin());
  return out;
}

Result<PlatformResult> VerifySnp(const EvidenceBundle& bundle, const DecodedRelease& release,
                                 const BundlePolicy& policy, const tlog::ReleaseIndex& index, sys_seconds now) {
  snp::SnpPolicy snp_policy;  // DEBUG and MIGRATE_MA refused by default
  const std::optional<tlog::SnpReference>& ref = release.manifest.snp;
  snp_policy.vmpl = ref ? ref->vmpl : 0;
  snp_policy.host_data = snp::ExpectedBytes::Equal(ref ? ref->host_data : Bytes(32, 0));
  snp_policy.id_key_digest = snp::ExpectedBytes::Equal(ref ? ref->id_key_digest : Bytes(48, 0));
  snp_policy.minimum_tcb = SnpPolicyMinimum(policy);
  Result<snp::SnpClaims> claims = snp::VerifySnpEvidence(Part(bundle, "report"), Part(bundle, "vek"),
                                                         Part(bundle, "chain"), OptionalPart(bundle, "crl"),
                                                         snp_policy, now);
  if (!claims.ok()) return Step(kPlatform, claims.error());
  const snp::SnpTcb& tcb = claims->reported_tcb;
  OPENPCC_RETURN_IF_ERROR(CheckLoggedMinimum(
      Platform::kSevSnp, index, [&tcb](std::string_view component) -> std::optional<uint64_t> {
        if (component == "bootloader") return tcb.bootloader;
        if (component == "tee") return tcb.tee;
        if (component == "snp") return tcb.snp;
        if (component == "microcode") return tcb.microcode;
        if (component == "fmc") return tcb.fmc ? std::optional<uint64_t>(*tcb.fmc) : std::nullopt;  // Turin only
        return 0;  // not a name ParseMinimumTcb accepts: any minimum refuses (fail closed)
      }));
  PlatformResult out;
  out.platform = Platform::kSevSnp;
  out.bound_value = ToBytes(claims->report_data());
  out.measurement = ToBytes(claims->measurement());
  out.snp_guest_policy = claims->report.policy.raw;
  out.claims = claims->ToJson();
  return out;
}

// TEE_TCB_SVN byte, PCE SVN or QE ISVSVN, by the name a minimum-TCB notice gives it.
std::optional<uint64_t> TdxComponent(const tdx::TdxClaims& claims, std::string_view component) {
  if (component == "pce_svn") return claims.pce_svn;
  if (component == "qe_isv_svn") return claims.qe_isv_svn;
  for (size_t i = 0; i < claims.report.tee_tcb_svn.size(); ++i) {
    if (component == "tee_tcb_svn_" + std::to_string(i)) return claims.report.tee_tcb_svn[i];
  }
  return 0;  // not a name ParseMinimumTcb accepts: any minimum refuses (fail closed)
}

Result<PlatformResult> VerifyTdx(const EvidenceBundle& bundle, const DecodedRelease& release,
                                 const BundlePolicy& policy, const tlog::ReleaseIndex& index, sys_seconds now) {
  tdx::TdxCollateral collateral{Part(bundle, "tcb_info"), Part(bundle, "tcb_info_chain"),
                                Part(bundle, "qe_identity"), Part(bundle, "qe_identity_chain"),
                                OptionalPart(bundle, "pck_crl"), OptionalPart(bundle, "pck_crl_chain"),
                                OptionalPart(bundle, "root_crl")};
  tdx::TdxPolicy tdx_policy;
  tdx_policy.accepted_statuses = policy.tdx_accepted_statuses;
  const std::optional<tlog::TdxReference>& ref = release.manifest.tdx;
  tdx_policy.mr_config_id = ToMr48(ref ? ref->mrconfigid : Bytes(48, 0));
  tdx_policy.mr_owner = ToMr48(ref ? ref->mrowner : Bytes(48, 0));
  tdx_policy.mr_owner_config = ToMr48(ref ? ref->mrownerconfig : Bytes(48, 0));
  // The quote is authenticated first, then compared with the logged minimum, then with the policy.
  Result<tdx::TdxClaims> claims = tdx::VerifyTdxQuote(Part(bundle, "quote"), collateral, now);
  if (!claims.ok()) return Step(kPlatform, claims.error());
  const tdx::TdxClaims& verified = claims.value();
  OPENPCC_RETURN_IF_ERROR(CheckLoggedMinimum(
      Platform::kTdx, index, [&verified](std::string_view component) { return TdxComponent(verified, component); }));
  if (Status checked = tdx::CheckTdxPolicy(verified, tdx_policy); !checked.ok()) return Step(kPlatform, checked.error());
  if (std::optional<ByteView> log = OptionalPart(bundle, "event_log")) {
    Result<tdx::CcelLog> replay = tdx::ReplayCcel(*log);
    if (!replay.ok()) return Step(kPlatform, replay.error());
    Status rtmrs = tdx::CheckRtmrs(replay.value(), claims->report);
    if (!rtmrs.ok()) return Step(kPlatform, rtmrs.error());
  }
  PlatformResult out;
  out.platform = Platform::kTdx;
  out.bound_value = ToBytes(claims->report.report_data);
  out.measurement = ToBytes(claims->report.mr_td);
  for (size_t i = 0; i < 3; ++i) out.rtmr[i] = ToBytes(claims->report.rtmr[i]);
  out.claims = claims->ToJson();
  return out;
}

Bytes LeftPad(const Bytes& value, size_t size) {
  if (value.size() >= size) return value;
  Bytes out(size - value.size(), 0);
  Append(out, value);
  return out;
}

Result<PlatformResult> VerifyTpm(const EvidenceBundle& bundle, const BundlePolicy& policy, sys_seconds now) {
  if (policy.tpm_ak_roots.empty()) {
    return Step(kPlatform, ErrorCode::kFailedPrecondition, "tpm: no TPM AK root is configured");
  }
  Result<tpm::AttestationKey> ak = tpm::AttestationKey::Parse(Part(bundle, "ak_public"));
  if (!ak.ok()) return Step(kPlatform, Error(ak.error().code(), "tpm: ak_public: " + ak.error().message()));
  Result<crypto::Certificate> ak_cert = crypto::Certificate::ParseOne(Part(bundle, "ak_cert"));
  if (!ak_cert.ok()) return Step(kPlatform, Error(ak_cert.error().code(), "tpm: ak_cert: " + ak_cert.error().message()));
  std::vector<crypto::Certificate> intermediates;
  if (std::optional<ByteView> chain = OptionalPart(bundle, "ak_chain")) {
    Result<std::vector<crypto::Certificate>> certs = crypto::Certificate::ParseAll(*chain);
    if (!certs.ok()) return Step(kPlatform, Error(certs.error().code(), "tpm: ak_chain: " + certs.error().message()));
    intermediates = std::move(certs.value());
  }
  Result<tpm::PcrValues> pcrs = tpm::ParsePcrValues(AsChars(Part(bundle, "pcrs")));
  if (!pcrs.ok()) return Step(kPlatform, Error(pcrs.error().code(), "tpm: pcrs: " + pcrs.error().message()));
  tpm::QuotePolicy quote_policy;
  quote_policy.ak_certificate = tpm::AkCertificatePolicy{ak_cert.value(), intermediates, policy.tpm_ak_roots, now};
  Result<tpm::QuoteClaims> quote = tpm::VerifyQuote(Part(bundle, "quote"), Part(bundle, "quote_signature"),
                                                    pcrs.value(), ak.value(), quote_policy);
  if (!quote.ok()) return Step(kPlatform, quote.error());
  Result<tpm::CertifiedKey> key = tpm::VerifyCertifyCreation(
      Part(bundle, "key_certify"), Part(bundle, "key_certify_signature"), Part(bundle, "key_public"), ak.value(),
      tpm::CreationPolicy{});
  if (!key.ok()) return Step(kPlatform, Error(key.error().code(), "tpm: node key certification: " + key.error().message()));
  // The certified TPM key must be the key sealed requests are encrypted to.
  Result<wire::KeyConfig> config = wire::ParseKeyConfig(bundle.key_config);
  if (!config.ok()) return Step(kPlatform, config.error());
  if (config->kem != crypto::KemId::kP256HkdfSha256 || key->key.type != tpm::alg::kEcc) {
    return Step(kPlatform, ErrorCode::kFailedPrecondition,
                "tpm: key_config must name a DHKEM(P-256) key held by the TPM");
  }
  Bytes point{0x04};
  Append(point, LeftPad(key->key.ecc_x, 32));
  Append(point, LeftPad(key->key.ecc_y, 32));
  if (point != config->public_key) {
    return Step(kPlatform, ErrorCode::kAuthenticationFailed,
                "tpm: the certified TPM key is not key_config's public key");
  }
  PlatformResult out;
  out.platform = Platform::kTpm;
  out.bound_value = quote->attest.extra_data;
  if (auto bank = quote->pcrs.find(tpm::alg::kSha256); bank != quote->pcrs.end()) out.pcrs = bank->second;
  out.tpm_key_auth_policy = key->key.auth_policy;
  out.tpm_key_name_alg = key->key.name_alg;
  out.claims = quote->ToJson();
  out.claims["certified_key"] = key->ToJson();
  return out;
}

Result<PlatformResult> VerifySim(const EvidenceBundle& bundle, const BundlePolicy& policy, sys_seconds now) {
  Result<sim::SimClaims> claims = sim::VerifySimEvidence(Part(bundle, "report"), Part(bundle, "vek"),
                                                         policy.sim_roots, now);
  if (!claims.ok()) return Step(kPlatform, claims.error());
  PlatformResult out;
  out.platform = Platform::kSim;
  out.bound_value = ToBytes(claims->report_data());
  out.measurement = ToBytes(claims->measurement());
  out.snp_guest_policy = claims->report.policy.raw;
  out.simulated = true;
  out.claims = claims->ToJson();
  return out;
}

std::string ChainPem(const std::vector<Bytes>& chain_der) {
  std::string pem;
  for (const Bytes& der : chain_der) {
    Result<crypto::Certificate> cert = crypto::Certificate::ParseDer(der);
    if (!cert.ok()) continue;  // the verifier reports the chain it could not build
    crypto::BioPtr bio(BIO_new(BIO_s_mem()));
    if (!bio || PEM_write_bio_X509(bio.get(), cert->get()) != 1) continue;
    char* data = nullptr;
    const long length = BIO_get_mem_data(bio.get(), &data);
    pem.append(data, static_cast<size_t>(length));
  }
  return pem;
}

}  // namespace

json::object GpuSummary::ToJson() const {
  return json::object{{"arch", arch}, {"driver_version", driver_version},
                      {"vbios_version", vbios_version}, {"rims_checked", rims_checked}};
}

json::object VerifiedNode::ToJson() const {
  json::array gpu_list;
  for (const GpuSummary& gpu : gpus) gpu_list.emplace_back(gpu.ToJson());
  json::array model_list;
  for (const ModelClaim& model : models) model_list.emplace_back(json::object{{"name", model.name}, {"sha256", model.sha256}});
  json::object fresh{{"kind", static_cast<int>(freshness_kind)}};
  if (freshness_not_before) fresh["not_before"] = crypto::FormatUtcTime(*freshness_not_before);
  return json::object{{"node_id", HexEncode(node_id)},
                      {"key_config", Base64UrlEncode(key_config)},
                      {"platform", PlatformName(platform)},
                      {"simulated", simulated},
                      {"measurement", HexEncode(measurement)},
                      {"release", {{"id", release_id}, {"version", release_version}, {"log_index", log_index}}},
                      {"freshness", fresh},
                      {"models", model_list},
                      {"gpus", gpu_list},
                      {"platform_claims", platform_claims}};
}

Result<DecodedRelease> DecodeBundleRelease(const EvidenceBundle& bundle, const BundlePolicy& policy) {
  if (!bundle.release) return Step(kRelease, ErrorCode::kMalformed, "the bundle carries no release");
  tlog::EntryKeyring keyring;
  for (const crypto::Ed25519PublicKey& key : policy.release_keys) keyring.AddReleaseKey(key);
  Result<tlog::VerifiedEntry> entry = keyring.Verify(bundle.release->manifest_entry);
  if (!entry.ok()) return Step(kRelease, entry.error());
  if (entry->kind != tlog::EntryKind::kReleaseManifest) {
    return Step(kRelease, ErrorCode::kMalformed,
                "the entry is a " + std::string(tlog::EntryKindName(entry->kind)) + ", not a release manifest");
  }
  Result<tlog::ReleaseManifest> manifest = tlog::ParseReleaseManifest(entry->body);
  if (!manifest.ok()) return Step(kRelease, manifest.error());
  return DecodedRelease{tlog::ReleaseIdOfBody(entry->body_text), std::move(manifest.value())};
}

Result<PlatformResult> VerifyPlatformStep(const EvidenceBundle& bundle, const BundlePolicy& policy,
                                          const DecodedRelease& release, const tlog::ReleaseIndex& index,
                                          sys_seconds now) {
  if (!policy.Accepts(bundle.platform)) {
    return Step(kPlatform, ErrorCode::kFailedPrecondition,
                "platform " + std::string(PlatformName(bundle.platform)) + " is not accepted by the policy");
  }
  OPENPCC_RETURN_IF_ERROR(RequireParts(bundle));
  switch (bundle.platform) {
    case Platform::kSevSnp: return VerifySnp(bundle, release, policy, index, now);
    case Platform::kTdx: return VerifyTdx(bundle, release, policy, index, now);
    case Platform::kTpm:
    case Platform::kSim:
      // tlog::ParseMinimumTcb refuses notices for these platforms, so a ReleaseIndex cannot hold
      // one; were it to, a notice nothing here compares must not pass unenforced.
      if (index.MinimumTcbFor(PlatformName(bundle.platform))) {
        return Step(kPlatform, ErrorCode::kFailedPrecondition,
                    "a minimum-TCB notice is logged for platform " + std::string(PlatformName(bundle.platform)) +
                        ", which this client cannot enforce");
      }
      return bundle.platform == Platform::kTpm ? VerifyTpm(bundle, policy, now) : VerifySim(bundle, policy, now);
  }
  return Step(kPlatform, ErrorCode::kUnsupported, "unknown platform");
}

Result<std::vector<GpuSummary>> VerifyGpuStep(const EvidenceBundle& bundle, const BundlePolicy& policy,
                                              const DecodedRelease& release, sys_seconds now) {
  const tlog::GpuRequirements& required = release.manifest.gpu;
  if (required.switches > 0) {
    return Step(kGpu, ErrorCode::kUnsupported,
                "the release requires " + std::to_string(required.switches) +
                    " NVSwitch reports, which this verifier cannot check");
  }
  const size_t needed = std::max<size_t>(required.devices, policy.minimum_gpus);
  if (bundle.gpu_evidence.size() < needed) {
    return Step(kGpu, ErrorCode::kFailedPrecondition,
                "the release requires " + std::to_string(needed) + " GPU reports, the bundle carries " +
                    std::to_string(bundle.gpu_evidence.size()));
  }
  if (bundle.gpu_evidence.empty()) return std::vector<GpuSummary>{};
  OPENPCC_ASSIGN_OR_RETURN(Bytes nonce, bundle.ExpectedGpuNonce());
  nvgpu::NvGpuPolicy gpu_policy;
  gpu_policy.at = now;
  const bool need_rims = !required.rim_ids.empty();
  gpu_policy.require_driver_rim = need_rims;
  gpu_policy.require_vbios_rim = need_rims;
  gpu_policy.driver_rim = policy.driver_rim;
  gpu_policy.vbios_rim = policy.vbios_rim;
  if (!need_rims) {
    // RIMs the release does not ask for are not compared (a stale policy RIM would refuse a GPU
    // the release accepts).
    gpu_policy.driver_rim.reset();
    gpu_policy.vbios_rim.reset();
  }
  // One report per device: a device listed twice would count twice towards the requirement.
  std::set<Bytes> leaves;
  for (size_t i = 0; i < bundle.gpu_evidence.size(); ++i) {
    const GpuEvidence& gpu = bundle.gpu_evidence[i];
    const std::string what = "gpu_evidence[" + std::to_string(i) + "]";
    if (gpu.chain_der.empty()) return Step(kGpu, ErrorCode::kMalformed, what + ": empty certificate chain");
    if (!leaves.insert(gpu.chain_der.front()).second) {
      return Step(kGpu, ErrorCode::kFailedPrecondition, what + ": the same device is listed twice");
    }
  }
  std::vector<GpuSummary> out;
  for (size_t i = 0; i < bundle.gpu_evidence.size(); ++i) {
    const GpuEvidence& gpu = bundle.gpu_evidence[i];
    const std::string what = "gpu_evidence[" + std::to_string(i) + "]";
    Result<nvgpu::NvGpuClaims> claims =
        nvgpu::VerifyGpuEvidence(gpu.report, AsBytes(ChainPem(gpu.chain_der)), ByteView(nonce), gpu_policy);
    if (!claims.ok()) return Step(kGpu, Error(claims.error().code(), what + ": " + claims.error().message()));
    for (const std::optional<nvgpu::VerifiedRim>* rim : {&claims->driver_rim, &claims->vbios_rim}) {
      if (*rim && std::find(required.rim_ids.begin(), required.rim_ids.end(), (*rim)->tag_id) == required.rim_ids.end()) {
        return Step(kGpu, ErrorCode::kFailedPrecondition,
                    what + ": RIM " + (*rim)->tag_id + " is not one the release lists");
      }
    }
    out.push_back(GpuSummary{std::string(nvgpu::GpuArchName(claims->arch)), claims->driver_version,
                             claims->vbios_version, claims->driver_rim.has_value() && claims->vbios_rim.has_value()});
  }
  return out;
}

Status CheckBindingStep(const EvidenceBundle& bundle, const PlatformResult& platform) {
  const bool tpm = platform.platform == Platform::kTpm;
  Result<Bytes> expected = tpm ? bundle.ExpectedTpmQualifyingData() : bundle.ExpectedReportData();
  if (!expected.ok()) return Step(kBinding, expected.error());
  if (platform.bound_value != expected.value()) {
    return Step(kBinding, ErrorCode::kAuthenticationFailed,
                std::string(tpm ? "the quote's qualifying data" : "REPORT_DATA") +
                    " is not the value recomputed from the bundle (key_config, GPU evidence, freshness, claims)");
  }
  return OkStatus();
}

Status CheckReferenceStep(const EvidenceBundle& bundle, const BundlePolicy& policy,
                          const DecodedRelease& release, const tlog::ReleaseIndex& index,
                          const PlatformResult& platform) {
  if (!policy.log) return Step(kReference, ErrorCode::kInvalidArgument, "the policy has no log");
  if (!bundle.release) return Step(kReference, ErrorCode::kMalformed, "the bundle carries no release");
  const BundleRelease& r = *bundle.release;
  // The release's inclusion is proven by the bundle's proof to a checkpoint that satisfies the log
  // policy, or else by the client's own read of the log (the index checked below was built from
  // entries proven against a witnessed checkpoint): a release is logged before the witnesses
  // cosign the checkpoint its publisher received, so that checkpoint may lack the quorum. A proof
  // to a checkpoint that does verify must be right.
  Result<tlog::VerifiedCheckpoint> checkpoint = tlog::VerifyCheckpoint(*policy.log, r.checkpoint);
  if (checkpoint.ok()) {
    std::vector<tlog::Hash> proof;
    for (const Bytes& hash : r.inclusion_proof) {
      Result<tlog::Hash> h = tlog::HashFromBytes(hash, "inclusion proof hash");
      if (!h.ok()) return Step(kReference, h.error());
      proof.push_back(h.value());
    }
    Status included = tlog::VerifyInclusion(checkpoint.value(), r.manifest_entry, r.log_index, proof);
    if (!included.ok()) return Step(kReference, included.error());
  }

  const std::string id = HexEncode(release.release_id);
  if (index.next_index() <= r.log_index) {
    return Step(kReference, ErrorCode::kFailedPrecondition,
                "the client has read the log only up to entry " + std::to_string(index.next_index()) +
                    ", not past the release's entry " + std::to_string(r.log_index) +
                    " (its revocations would be unknown)");
  }
  const tlog::ReleaseIndex::Release* known = index.FindRelease(release.release_id);
  if (known == nullptr || known->index != r.log_index) {
    return Step(kReference, ErrorCode::kFailedPrecondition,
                "the client's log holds no release " + id + " at entry " + std::to_string(r.log_index));
  }
  if (index.IsRevoked(release.release_id)) {
    return Step(kReference, ErrorCode::kFailedPrecondition,
                "release " + id + " (version " + release.manifest.version + ") is revoked");
  }

  const tlog::ReleaseManifest& m = release.manifest;
  const std::string platform_name(PlatformName(platform.platform));
  auto no_reference = [&] {
    return Step(kReference, ErrorCode::kFailedPrecondition,
                "the release manifest has no reference values for platform " + platform_name);
  };
  auto listed = [](const std::vector<Bytes>& list, const Bytes& value) {
    return std::find(list.begin(), list.end(), value) != list.end();
  };
  switch (platform.platform) {
    case Platform::kSevSnp:
      if (!m.snp) return no_reference();
      if (!listed(m.snp->measurements, platform.measurement)) {
        return Step(kReference, ErrorCode::kFailedPrecondition,
                    "MEASUREMENT " + HexEncode(platform.measurement) + " is not listed in release " + m.version);
      }
      if (platform.snp_guest_policy != m.snp->policy) {
        return Step(kReference, ErrorCode::kFailedPrecondition,
                    "the guest POLICY is not the one release " + m.version + " states");
      }
      break;
    case Platform::kSim:
      if (!m.sim) return no_reference();
      if (!listed(m.sim->measurements, platform.measurement)) {
        return Step(kReference, ErrorCode::kFailedPrecondition,
                    "MEASUREMENT " + HexEncode(platform.measurement) + " is not listed in release " + m.version);
      }
      break;
    case Platform::kTdx: {
      if (!m.tdx) return no_reference();
      if (!listed(m.tdx->mrtd, platform.measurement)) {
        return Step(kReference, ErrorCode::kFailedPrecondition,
                    "MRTD " + HexEncode(platform.measurement) + " is not listed in release " + m.version);
      }
      const Bytes* expected[3] = {&m.tdx->rtmr0, &m.tdx->rtmr1, &m.tdx->rtmr2};
      for (size_t i = 0; i < 3; ++i) {
        if (platform.rtmr[i] != *expected[i]) {
          return Step(kReference, ErrorCode::kFailedPrecondition,
                      "RTMR" + std::to_string(i) + " is not the value release " + m.version + " states");
        }
      }
      break;
    }
    case Platform::kTpm:
      if (!m.tpm) return no_reference();
      for (const auto& [pcr, value] : m.tpm->pcrs) {
        auto it = platform.pcrs.find(pcr);
        if (it == platform.pcrs.end()) {
          return Step(kReference, ErrorCode::kFailedPrecondition,
                      "PCR " + std::to_string(pcr) + " (sha256) is not quoted, release " + m.version + " states it");
        }
        if (it->second != value) {
          return Step(kReference, ErrorCode::kFailedPrecondition,
                      "PCR " + std::to_string(pcr) + " (sha256) is not the value release " + m.version + " states");
        }
      }
      {
        // The node key must be usable only in the released state: its authPolicy is PolicyPCR
        // over the manifest's PCRs (SHA-256 bank, ascending, as the TPM's selection bitmap orders
        // them) at the manifest's values.
        tpm::PcrSelection selection{tpm::alg::kSha256, {}};
        Bytes values;
        for (const auto& [pcr, value] : m.tpm->pcrs) {
          selection.pcrs.push_back(pcr);
          Append(values, value);
        }
        Result<crypto::HashId> hash = tpm::HashFromAlg(platform.tpm_key_name_alg);
        Result<Bytes> expected = hash.ok() ? tpm::PolicyPcrDigest(*hash, std::span(&selection, 1), values)
                                           : Result<Bytes>(hash.error());
        if (!expected.ok()) {
          return Step(kReference, ErrorCode::kFailedPrecondition,
                      "the node key's PCR policy cannot be recomputed: " + expected.error().message());
        }
        if (*expected != platform.tpm_key_auth_policy) {
          return Step(kReference, ErrorCode::kFailedPrecondition,
                      "the node key's authPolicy is not PolicyPCR over the sha256 PCRs release " + m.version +
                          " states");
        }
      }
      break;
  }
  for (const ModelClaim& model : bundle.claims.models) {
    const bool found = std::any_of(m.models.begin(), m.models.end(), [&](const tlog::ModelDigest& d) {
      return d.name == model.name && HexEncode(d.sha256) == model.sha256;
    });
    if (!found) {
      return Step(kReference, ErrorCode::kFailedPrecondition,
                  "model '" + model.name + "' with sha256 " + model.sha256 + " is not listed in release " + m.version);
    }
  }
  return OkStatus();
}

Result<std::optional<sys_seconds>> CheckFreshnessStep(const EvidenceBundle& bundle, const BundlePolicy& policy,
                                                      const VerifyContext& context) {
  const Freshness& f = bundle.freshness.binding;
  if (f.kind == FreshnessKind::kClientNonce) {
    if (!context.client_nonce) {
      return Step(kFreshness, ErrorCode::kFailedPrecondition, "kind 2 (client nonce) but this client sent no nonce");
    }
    if (!crypto::ConstantTimeEqual(f.value, *context.client_nonce)) {
      return Step(kFreshness, ErrorCode::kAuthenticationFailed, "the value is not the nonce this client sent");
    }
    return std::optional<sys_seconds>();
  }
  if (!policy.log) return Step(kFreshness, ErrorCode::kInvalidArgument, "the policy has no log");
  const Bytes digest = crypto::Sha256(AsBytes(bundle.freshness.checkpoint));
  if (!std::equal(digest.begin(), digest.end(), f.value.begin(), f.value.end())) {
    return Step(kFreshness, ErrorCode::kAuthenticationFailed,
                "the value is not SHA-256 of the bundle's checkpoint note");
  }
  Result<tlog::VerifiedCheckpoint> checkpoint = tlog::VerifyCheckpoint(*policy.log, bundle.freshness.checkpoint);
  if (!checkpoint.ok()) return Step(kFreshness, checkpoint.error());
  Status fresh = tlog::CheckFreshness(*policy.log, checkpoint.value(), context.now);
  if (!fresh.ok()) return Step(kFreshness, fresh.error());
  return std::optional<sys_seconds>(checkpoint->not_before);
}

Result<VerifiedNode> VerifyBundle(const EvidenceBundle& bundle, const BundlePolicy& policy,
                                  const tlog::ReleaseIndex& index, const VerifyContext& context) {
  OPENPCC_ASSIGN_OR_RETURN(DecodedRelease release, DecodeBundleRelease(bundle, policy));
  OPENPCC_ASSIGN_OR_RETURN(PlatformResult platform, VerifyPlatformStep(bundle, policy, release, index, context.now));
  OPENPCC_ASSIGN_OR_RETURN(std::vector<GpuSummary> gpus, VerifyGpuStep(bundle, policy, release, context.now));
  OPENPCC_RETURN_IF_ERROR(CheckBindingStep(bundle, platform));
  OPENPCC_RETURN_IF_ERROR(CheckReferenceStep(bundle, policy, release, index, platform));
  OPENPCC_ASSIGN_OR_RETURN(std::optional<sys_seconds> not_before, CheckFreshnessStep(bundle, policy, context));
  VerifiedNode node;
  node.node_id = bundle.node_id;
  node.key_config = bundle.key_config;
  node.platform = bundle.platform;
  node.measurement = platform.measurement;
  node.release_id = HexEncode(release.release_id);
  node.release_version = release.manifest.version;
  node.log_index = bundle.release->log_index;
  node.freshness_kind = bundle.freshness.binding.kind;
  node.freshness_not_before = not_before;
  node.simulated = platform.simulated;
  node.gpus = std::move(gpus);
  node.models = bundle.claims.models;
  node.platform_claims = std::move(platform.claims);
  return node;
}

}  // namespace openpcc::attest
