// `openpcc evidence verify`: offline verification of one piece of platform evidence, printing the
// verified claims as JSON (exit 0) or naming the check that failed (exit 1).
#include <cstdio>
#include <filesystem>
#include <map>
#include <optional>
#include <string>

#include <boost/json.hpp>

#include "openpcc/attest/bundle_verifier.h"
#include "openpcc/attest/nvgpu/verifier.h"
#include "openpcc/attest/sim/verify.h"
#include "openpcc/attest/snp/verify.h"
#include "openpcc/attest/tdx/collateral.h"
#include "openpcc/attest/tdx/verify.h"
#include "openpcc/cli/cli_util.h"
#include "openpcc/cli/commands.h"
#include "openpcc/cli/evidence_tpm.h"
#include "openpcc/cli/options.h"
#include "openpcc/tlog/log_policy.h"
#include "openpcc/tlog/merkle.h"

namespace openpcc::cli {
namespace {

constexpr std::string_view kCommand = "evidence verify";

struct Settings {
  std::string type;
  std::string at = "now";
  std::string report_data;  // expected REPORT_DATA, hex (sev-snp, tdx)
  // sev-snp
  std::string report, vek, chain, crl, host_data, id_key_digest, vmpl = "0";
  // tdx
  std::string quote, tcb_info, tcb_info_chain, qe_identity, qe_identity_chain, pck_crl,
      pck_crl_chain, root_crl;
  std::vector<std::string> accept_status = {"UpToDate"};
  // nvidia-gpu
  std::string evidence, certs, nonce, driver_rim, vbios_rim;
  // sim
  std::vector<std::string> roots;
  // bundle
  std::string policy, entries, checkpoint, bundle;
};

Result<std::optional<Bytes>> OptionalFile(std::string_view flag, const std::string& path) {
  if (path.empty()) return std::optional<Bytes>();
  OPENPCC_ASSIGN_OR_RETURN(Bytes bytes, ReadInputFile(flag, path));
  return std::optional<Bytes>(std::move(bytes));
}

Result<Bytes> RequiredFile(std::string_view flag, const std::string& path,
                           std::string_view type) {
  if (path.empty()) {
    return Error(ErrorCode::kInvalidArgument,
                 std::string(flag) + " is required with --type " + std::string(type));
  }
  return ReadInputFile(flag, path);
}

Result<Bytes> HexFlag(std::string_view flag, const std::string& text, size_t size) {
  Result<Bytes> bytes = HexDecode(text);
  if (!bytes.ok() || (size != 0 && bytes.value().size() != size)) {
    return Error(ErrorCode::kInvalidArgument,
                 std::string(flag) + ": expected " +
                     (size ? std::to_string(size) + " bytes as hex" : std::string("hex")));
  }
  return bytes;
}

// "" (the default): zero; "any": not checked; otherwise exactly `size` bytes of hex.
Result<attest::snp::ExpectedBytes> ExpectedFlag(std::string_view flag, const std::string& text,
                                                size_t size) {
  if (text.empty()) return attest::snp::ExpectedBytes::Zero();
  if (text == "any") return attest::snp::ExpectedBytes::Any();
  Result<Bytes> bytes = HexDecode(text);
  if (!bytes.ok() || bytes.value().size() != size) {
    return Error(ErrorCode::kInvalidArgument, std::string(flag) + ": expected " +
                                                  std::to_string(size) +
                                                  " bytes as hex, or 'any'");
  }
  return attest::snp::ExpectedBytes::Equal(std::move(bytes).value());
}

Result<boost::json::object> VerifySnp(const Settings& s, std::chrono::sys_seconds at) {
  OPENPCC_ASSIGN_OR_RETURN(Bytes report, RequiredFile("--report", s.report, "sev-snp"));
  OPENPCC_ASSIGN_OR_RETURN(Bytes vek, RequiredFile("--vek", s.vek, "sev-snp"));
  OPENPCC_ASSIGN_OR_RETURN(std::optional<Bytes> chain, OptionalFile("--chain", s.chain));
  OPENPCC_ASSIGN_OR_RETURN(std::optional<Bytes> crl, OptionalFile("--crl", s.crl));
  attest::snp::SnpPolicy policy;
  // HOST_DATA and ID_KEY_DIGEST are deployment-specific (DESIGN §2.4: as the manifest states, or
  // zero). The default is the library's, zero; the user names the expected value, or opts out of
  // the check with 'any' (the value is still reported).
  OPENPCC_ASSIGN_OR_RETURN(policy.host_data, ExpectedFlag("--host-data", s.host_data, 32));
  OPENPCC_ASSIGN_OR_RETURN(policy.id_key_digest,
                           ExpectedFlag("--id-key-digest", s.id_key_digest, 48));
  if (s.vmpl == "any") {
    policy.vmpl.reset();
  } else if (s.vmpl.size() == 1 && s.vmpl[0] >= '0' && s.vmpl[0] <= '3') {
    policy.vmpl = static_cast<uint32_t>(s.vmpl[0] - '0');
  } else {
    return Error(ErrorCode::kInvalidArgument, "--vmpl: expected 0, 1, 2, 3 or any");
  }
  if (!s.report_data.empty()) {
    OPENPCC_ASSIGN_OR_RETURN(Bytes expected, HexFlag("--report-data", s.report_data, 64));
    policy.report_data = attest::snp::ExpectedBytes::Equal(std::move(expected));
  }
  std::optional<ByteView> crl_view;
  if (crl) crl_view = *crl;
  OPENPCC_ASSIGN_OR_RETURN(
      attest::snp::SnpClaims claims,
      attest::snp::VerifySnpEvidence(report, vek, chain ? ByteView(*chain) : ByteView(), crl_view,
                                     policy, at));
  return claims.ToJson();
}

Result<boost::json::object> VerifyTdx(const Settings& s, std::chrono::sys_seconds at) {
  OPENPCC_ASSIGN_OR_RETURN(Bytes quote, RequiredFile("--quote", s.quote, "tdx"));
  OPENPCC_ASSIGN_OR_RETURN(Bytes tcb_info, RequiredFile("--tcb-info", s.tcb_info, "tdx"));
  OPENPCC_ASSIGN_OR_RETURN(Bytes tcb_chain, RequiredFile("--tcb-info-chain", s.tcb_info_chain, "tdx"));
  OPENPCC_ASSIGN_OR_RETURN(Bytes qe_identity, RequiredFile("--qe-identity", s.qe_identity, "tdx"));
  OPENPCC_ASSIGN_OR_RETURN(Bytes qe_chain,
                           RequiredFile("--qe-identity-chain", s.qe_identity_chain, "tdx"));
  OPENPCC_ASSIGN_OR_RETURN(std::optional<Bytes> pck_crl, OptionalFile("--pck-crl", s.pck_crl));
  OPENPCC_ASSIGN_OR_RETURN(std::optional<Bytes> pck_crl_chain,
                           OptionalFile("--pck-crl-chain", s.pck_crl_chain));
  OPENPCC_ASSIGN_OR_RETURN(std::optional<Bytes> root_crl, OptionalFile("--root-crl", s.root_crl));
  if (pck_crl.has_value() != pck_crl_chain.has_value()) {
    return Error(ErrorCode::kInvalidArgument, "--pck-crl and --pck-crl-chain go together");
  }
  attest::tdx::TdxCollateral collateral{tcb_info, tcb_chain, qe_identity, qe_chain, {}, {}, {}};
  if (pck_crl) collateral.pck_crl = *pck_crl;
  if (pck_crl_chain) collateral.pck_crl_chain = *pck_crl_chain;
  if (root_crl) collateral.root_crl = *root_crl;
  attest::tdx::TdxPolicy policy;
  policy.accepted_statuses.clear();
  for (const std::string& status : s.accept_status) {
    Result<attest::tdx::TcbStatus> parsed = attest::tdx::ParseTcbStatus(status);
    if (!parsed.ok()) {
      return Error(ErrorCode::kInvalidArgument, "--accept-status: " + parsed.error().message());
    }
    policy.accepted_statuses.push_back(parsed.value());
  }
  if (!s.report_data.empty()) {
    OPENPCC_ASSIGN_OR_RETURN(Bytes expected, HexFlag("--report-data", s.report_data, 64));
    std::array<uint8_t, 64> value{};
    std::copy(expected.begin(), expected.end(), value.begin());
    policy.report_data = value;
  }
  OPENPCC_ASSIGN_OR_RETURN(attest::tdx::TdxClaims claims,
                           attest::tdx::VerifyTdxEvidence(quote, collateral, policy, at));
  return claims.ToJson();
}

Result<boost::json::object> VerifyGpu(const Settings& s, std::chrono::sys_seconds at) {
  OPENPCC_ASSIGN_OR_RETURN(Bytes evidence, RequiredFile("--evidence", s.evidence, "nvidia-gpu"));
  OPENPCC_ASSIGN_OR_RETURN(Bytes certs, RequiredFile("--certs", s.certs, "nvidia-gpu"));
  attest::nvgpu::NvGpuPolicy policy;
  policy.at = at;
  OPENPCC_ASSIGN_OR_RETURN(std::optional<Bytes> driver_rim, OptionalFile("--driver-rim", s.driver_rim));
  OPENPCC_ASSIGN_OR_RETURN(std::optional<Bytes> vbios_rim, OptionalFile("--vbios-rim", s.vbios_rim));
  // Without reference manifests the measurements are reported, not judged; the output says so.
  policy.require_driver_rim = driver_rim.has_value();
  policy.require_vbios_rim = vbios_rim.has_value();
  if (driver_rim) policy.driver_rim = std::string(AsChars(*driver_rim));
  if (vbios_rim) policy.vbios_rim = std::string(AsChars(*vbios_rim));
  std::optional<Bytes> nonce;
  if (!s.nonce.empty()) {
    OPENPCC_ASSIGN_OR_RETURN(Bytes n, HexFlag("--nonce", s.nonce, 32));
    nonce = std::move(n);
  }
  std::optional<ByteView> nonce_view;
  if (nonce) nonce_view = *nonce;
  OPENPCC_ASSIGN_OR_RETURN(attest::nvgpu::NvGpuClaims claims,
                           attest::nvgpu::VerifyGpuEvidence(evidence, certs, nonce_view, policy));
  boost::json::object out = claims.ToJson();
  if (!driver_rim || !vbios_rim) {
    std::fprintf(stderr,
                 "openpcc evidence verify: warning: measurements not compared with reference "
                 "manifests (pass --driver-rim and --vbios-rim)\n");
  }
  if (!nonce) {
    std::fprintf(stderr,
                 "openpcc evidence verify: warning: no --nonce given, so the report's freshness "
                 "is not checked\n");
  }
  return out;
}

Result<boost::json::object> VerifySim(const Settings& s, std::chrono::sys_seconds at) {
  OPENPCC_ASSIGN_OR_RETURN(Bytes report, RequiredFile("--report", s.report, "sim"));
  OPENPCC_ASSIGN_OR_RETURN(Bytes vek, RequiredFile("--vek", s.vek, "sim"));
  if (s.roots.empty()) {
    return Error(ErrorCode::kInvalidArgument,
                 "--root is required with --type sim (the deployment's sim root certificate)");
  }
  std::vector<crypto::Certificate> roots;
  for (const std::string& path : s.roots) {
    OPENPCC_ASSIGN_OR_RETURN(Bytes bytes, ReadInputFile("--root", path));
    Result<std::vector<crypto::Certificate>> certs = crypto::Certificate::ParseAll(bytes);
    if (!certs.ok()) return Error(ErrorCode::kInvalidArgument, "--root " + path + ": " + certs.error().message());
    for (crypto::Certificate& cert : certs.value()) roots.push_back(std::move(cert));
  }
  std::optional<Bytes> expected;
  if (!s.report_data.empty()) {
    OPENPCC_ASSIGN_OR_RETURN(Bytes value, HexFlag("--report-data", s.report_data, 64));
    expected = std::move(value);
  }
  OPENPCC_ASSIGN_OR_RETURN(attest::sim::SimClaims claims, attest::sim::VerifySimEvidence(report, vek, roots, at));
  if (expected && ToBytes(claims.report_data()) != *expected) {
    return Error(ErrorCode::kAuthenticationFailed, "sim: REPORT_DATA is not the expected value");
  }
  return claims.ToJson();
}

// The log entries the client read earlier: files named by their decimal index (optionally with
// ".entry"), contiguous from 0. With --checkpoint, they must be exactly that checkpoint's tree.
Result<tlog::ReleaseIndex> ReadEntries(const Settings& s, const attest::BundlePolicy& policy) {
  if (s.entries.empty()) {
    return Error(ErrorCode::kInvalidArgument,
                 "--entries is required with --type bundle (the log entries read so far: revocations "
                 "and releases come from them)");
  }
  std::map<uint64_t, std::filesystem::path> files;
  std::error_code ec;
  for (const auto& item : std::filesystem::directory_iterator(s.entries, ec)) {
    std::string name = item.path().filename().string();
    if (name.size() > 6 && name.ends_with(".entry")) name.resize(name.size() - 6);
    if (name.empty() || name.size() > 19 || name.find_first_not_of("0123456789") != std::string::npos) continue;
    files[std::stoull(name)] = item.path();
  }
  if (ec) return Error(ErrorCode::kInvalidArgument, "--entries " + s.entries + ": " + ec.message());
  tlog::EntryKeyring keyring;
  for (const crypto::Ed25519PublicKey& key : policy.release_keys) keyring.AddReleaseKey(key);
  for (const crypto::Ed25519PublicKey& key : policy.directory_keys) keyring.AddDirectoryKey(key);
  tlog::ReleaseIndex index(std::move(keyring));
  std::vector<tlog::Hash> leaves;
  uint64_t expected = 0;
  for (const auto& [number, path] : files) {
    if (number != expected) {
      return Error(ErrorCode::kInvalidArgument,
                   "--entries: entry " + std::to_string(expected) + " is missing (entries must be contiguous from 0)");
    }
    OPENPCC_ASSIGN_OR_RETURN(Bytes entry, ReadInputFile("--entries", path.string()));
    // Every entry must verify (release keys, and the policy's directory keys for node
    // directories): an entry the client cannot check could be a revocation it would miss.
    Status added = index.Add(number, entry);
    if (!added.ok()) return Error(added.error().code(), "--entries: entry " + std::to_string(number) + ": " + added.error().message());
    leaves.push_back(tlog::LeafHash(entry));
    ++expected;
  }
  if (!s.checkpoint.empty()) {
    OPENPCC_ASSIGN_OR_RETURN(Bytes note, ReadInputFile("--checkpoint", s.checkpoint));
    Result<tlog::VerifiedCheckpoint> verified = tlog::VerifyCheckpoint(*policy.log, AsChars(note));
    if (!verified.ok()) return Error(verified.error().code(), "--checkpoint: " + verified.error().message());
    if (verified->checkpoint.size != leaves.size() || verified->checkpoint.root != tlog::RootFromLeafHashes(leaves)) {
      return Error(ErrorCode::kAuthenticationFailed,
                   "--entries are not the tree of --checkpoint (size " + std::to_string(verified->checkpoint.size) +
                       ", " + std::to_string(leaves.size()) + " entries given)");
    }
  }
  return index;
}

Result<boost::json::object> VerifyBundleFile(const Settings& s, std::chrono::sys_seconds at) {
  OPENPCC_ASSIGN_OR_RETURN(Bytes policy_text, RequiredFile("--policy", s.policy, "bundle"));
  if (s.bundle.empty()) return Error(ErrorCode::kInvalidArgument, "the BUNDLE file is required with --type bundle");
  const std::filesystem::path base = std::filesystem::path(s.policy).parent_path();
  attest::PolicyFileLoader loader = [&base](std::string_view path) -> Result<Bytes> {
    std::filesystem::path p(path);
    if (p.is_relative()) p = base / p;
    return ReadInputFile("policy file", p.string());
  };
  Result<attest::BundlePolicy> policy = attest::ParseBundlePolicy(AsChars(policy_text), loader);
  if (!policy.ok()) return Error(ErrorCode::kInvalidArgument, "--policy " + s.policy + ": " + policy.error().message());
  OPENPCC_ASSIGN_OR_RETURN(tlog::ReleaseIndex index, ReadEntries(s, policy.value()));
  OPENPCC_ASSIGN_OR_RETURN(Bytes bundle_text, ReadInputFile("BUNDLE", s.bundle));
  OPENPCC_ASSIGN_OR_RETURN(attest::EvidenceBundle bundle, attest::ParseBundle(AsChars(bundle_text)));
  attest::VerifyContext context{at, std::nullopt};
  if (!s.nonce.empty()) {
    OPENPCC_ASSIGN_OR_RETURN(Bytes n, HexFlag("--nonce", s.nonce, 32));
    std::array<uint8_t, 32> nonce{};
    std::copy(n.begin(), n.end(), nonce.begin());
    context.client_nonce = nonce;
  }
  OPENPCC_ASSIGN_OR_RETURN(attest::VerifiedNode node, attest::VerifyBundle(bundle, policy.value(), index, context));
  if (node.simulated) {
    std::fprintf(stderr,
                 "openpcc evidence verify: warning: SIMULATED TEE evidence (development only): the node's "
                 "memory is not protected by hardware\n");
  }
  return node.ToJson();
}

int Verify(const Args& args) {
  Settings s;
  OptionSet options(
      "evidence verify --type TYPE [options]",
      "Verifies platform evidence offline and prints the verified claims as JSON. Nothing is\n"
      "fetched: certificates, CRLs and collateral come from the files given, and the vendors'\n"
      "root certificates are pinned in the binary. A debug-mode guest or TD and an SEV-SNP\n"
      "migration agent are always refused. Exit status: 0 verified, 1 a check failed (the\n"
      "message names it), 2 usage error.");
  options.DisableConfigFile();
  options.AddString("type", &s.type,
                    "Evidence type: sev-snp, tdx, nvidia-gpu, sim, bundle, or tpm (see --type tpm "
                    "--help).",
                    "TYPE");
  options.AddString("at", &s.at,
                    "Evaluate certificate, CRL and collateral validity at this UTC time "
                    "(YYYY-MM-DD or YYYY-MM-DDTHH:MM:SSZ) instead of now.",
                    "TIME");
  options.AddString("report-data", &s.report_data,
                    "sev-snp, tdx: require REPORT_DATA to equal these 64 bytes.", "HEX");
  options.AddString("report", &s.report,
                    "sev-snp: the attestation report (raw or hex), or an Azure HCL report; sim: the "
                    "simulated report.",
                    "FILE");
  options.AddString("vek", &s.vek,
                    "sev-snp: the VCEK or VLEK certificate (DER or PEM); sim: the sim VEK.", "FILE");
  options.AddList("root", &s.roots,
                  "sim: the deployment's sim root certificate (PEM or DER); repeatable. Simulated "
                  "evidence is accepted under no other root.",
                  "FILE");
  options.AddString("policy", &s.policy,
                    "bundle: the client policy file (JSON; see docs/attestation.md). Files it names "
                    "are relative to it.",
                    "FILE");
  options.AddString("entries", &s.entries,
                    "bundle: a directory of the log entries read so far, one file per entry named by "
                    "its index (0, 1, ... or 0.entry, ...), contiguous from 0; releases, revocations and "
                    "minimum-TCB notices come from them.",
                    "DIR");
  options.AddString("checkpoint", &s.checkpoint,
                    "bundle: a checkpoint note whose tree --entries must be exactly (verified under the "
                    "policy's log).",
                    "FILE");
  options.AddPositional("BUNDLE", &s.bundle, "bundle: the evidence bundle (JSON).", false);
  options.AddString("chain", &s.chain,
                    "sev-snp: ASK+ARK or ASVK+ARK certificates (PEM or DER); the ARK is pinned.",
                    "FILE");
  options.AddString("crl", &s.crl, "sev-snp: AMD's CRL for the chain (DER or PEM).", "FILE");
  options.AddString("host-data", &s.host_data,
                    "sev-snp: require HOST_DATA to equal these 32 bytes; 'any' skips the check "
                    "(default: HOST_DATA must be zero).",
                    "HEX|any");
  options.AddString("id-key-digest", &s.id_key_digest,
                    "sev-snp: require ID_KEY_DIGEST to equal these 48 bytes; 'any' skips the "
                    "check (default: ID_KEY_DIGEST must be zero).",
                    "HEX|any");
  options.AddString("vmpl", &s.vmpl, "sev-snp: the VMPL the report must come from, or 'any'.",
                    "N");
  options.AddString("quote", &s.quote, "tdx: the DCAP quote (v4 or v5).", "FILE");
  options.AddString("tcb-info", &s.tcb_info, "tdx: TCB info as Intel's PCS serves it (JSON).",
                    "FILE");
  options.AddString("tcb-info-chain", &s.tcb_info_chain,
                    "tdx: the TCB info issuer chain (PEM or URL-encoded PEM).", "FILE");
  options.AddString("qe-identity", &s.qe_identity, "tdx: QE identity as PCS serves it (JSON).",
                    "FILE");
  options.AddString("qe-identity-chain", &s.qe_identity_chain,
                    "tdx: the QE identity issuer chain (PEM or URL-encoded PEM).", "FILE");
  options.AddString("pck-crl", &s.pck_crl, "tdx: the PCK CRL (DER or PEM).", "FILE");
  options.AddString("pck-crl-chain", &s.pck_crl_chain, "tdx: the PCK CRL issuer chain.", "FILE");
  options.AddString("root-crl", &s.root_crl, "tdx: Intel's root CA CRL (DER or PEM).", "FILE");
  options.AddList("accept-status", &s.accept_status,
                  "tdx: a TCB status to accept (UpToDate, SWHardeningNeeded, "
                  "ConfigurationNeeded, ConfigurationAndSWHardeningNeeded, OutOfDate, ...).",
                  "STATUS");
  options.AddString("evidence", &s.evidence,
                    "nvidia-gpu: the SPDM attestation report (hex text or raw).", "FILE");
  options.AddString("certs", &s.certs, "nvidia-gpu: the device certificate chain (PEM, leaf first).",
                    "FILE");
  options.AddString("nonce", &s.nonce,
                    "nvidia-gpu: the expected 32-byte nonce; bundle: the nonce sent for a kind-2 "
                    "bundle.",
                    "HEX");
  options.AddString("driver-rim", &s.driver_rim, "nvidia-gpu: the driver RIM (SWID XML).", "FILE");
  options.AddString("vbios-rim", &s.vbios_rim, "nvidia-gpu: the VBIOS RIM (SWID XML).", "FILE");
  options.AddNotes(
      "Examples (files from ../shared/vectors; the first and third verify, exit 0):\n"
      "  openpcc evidence verify --type sev-snp --at 2025-07-01 --report virtee-sev/report_milan.hex \\\n"
      "      --vek virtee-sev/vcek_milan.der --chain virtee-sev/cert_chain_milan \\\n"
      "      --crl openpcc/extracted/test_amd_milan_crl.pem\n"
      "  # Every signature, collateral and CRL check passes; exit 1 on the policy check\n"
      "  # 'tdx: policy: TD attribute DEBUG is set' (no TDX vector is a production TD):\n"
      "  openpcc evidence verify --type tdx --at 2023-07-01 --quote trustee/tdx/tdx_quote_4.dat \\\n"
      "      --tcb-info go-tdx-guest/sample_tcbInfo_response \\\n"
      "      --tcb-info-chain go-tdx-guest/tcbinfo_issuer_chain.pem \\\n"
      "      --qe-identity go-tdx-guest/sample_qeIdentity_response \\\n"
      "      --qe-identity-chain go-tdx-guest/qeidentity_issuer_chain.pem \\\n"
      "      --pck-crl go-tdx-guest/pckcrl --pck-crl-chain go-tdx-guest/pckcrl_issuer_chain.pem \\\n"
      "      --root-crl go-tdx-guest/rootcrl.der\n"
      "  openpcc evidence verify --type nvidia-gpu --at 2024-06-01 \\\n"
      "      --evidence nvtrust/hopperAttestationReport.txt --certs nvtrust/hopperCertChain.txt \\\n"
      "      --nonce 931d8dd0add203ac3d8b4fbde75e115278eefcdceac5b87671a748f32364dfcb\n"
      "  # Sim and bundle inputs are the deployment's own files (not in the vectors):\n"
      "  openpcc evidence verify --type sim --report report.bin --vek vek.der --root sim-root.pem\n"
      "  openpcc evidence verify --type bundle --policy policy.json --entries log-entries/ \\\n"
      "      --at 2025-07-01T00:01:00Z bundle.json");
  if (std::optional<int> exit_status = ParseOrExitStatus(options, args, kCommand)) return *exit_status;
  Result<std::chrono::sys_seconds> at = ParseAtTime("--at", s.at);
  if (!at.ok()) {
    PrintError(kCommand, at.error());
    return kExitUsage;
  }
  Result<boost::json::object> claims = Error(ErrorCode::kInvalidArgument, "");
  if (s.type == "sev-snp") {
    claims = VerifySnp(s, at.value());
  } else if (s.type == "tdx") {
    claims = VerifyTdx(s, at.value());
  } else if (s.type == "nvidia-gpu") {
    claims = VerifyGpu(s, at.value());
  } else if (s.type == "sim") {
    claims = VerifySim(s, at.value());
  } else if (s.type == "bundle") {
    claims = VerifyBundleFile(s, at.value());
  } else {
    PrintError(kCommand, "--type must be sev-snp, tdx, nvidia-gpu, sim, bundle or tpm (see --help)");
    return kExitUsage;
  }
  if (!claims.ok()) {
    PrintError(kCommand, claims.error());
    return claims.error().code() == ErrorCode::kInvalidArgument ? kExitUsage : kExitFailure;
  }
  boost::json::object out{{"verified", true}, {"type", s.type}, {"at", crypto::FormatUtcTime(at.value())}};
  if (s.type == "sim" || s.type == "bundle") {
    // Every output about simulated evidence says so at its top level.
    const boost::json::value* simulated = claims.value().if_contains("simulated");
    out["simulated"] = simulated != nullptr && simulated->is_bool() && simulated->as_bool();
  }
  if (s.type == "sim") {
    std::fprintf(stderr,
                 "openpcc evidence verify: warning: SIMULATED TEE evidence (development only)\n");
  }
  out[s.type == "bundle" ? "node" : "claims"] = std::move(claims.value());
  std::fputs(PrettyJson(out).c_str(), stdout);
  return kExitOk;
}

}  // namespace

int RunEvidence(const Args& args) {
  if (args.empty() || args[0] == "--help" || args[0] == "-h") {
    std::printf("Usage: openpcc evidence verify --type TYPE [options]\n\n"
                "Run 'openpcc evidence verify --help' for the options.\n");
    return args.empty() ? kExitUsage : kExitOk;
  }
  if (args[0] != "verify") {
    PrintError("evidence", "unknown subcommand '" + args[0] + "' (expected: verify)");
    return kExitUsage;
  }
  Args rest(args.begin() + 1, args.end());
  // TPM evidence has flags of its own (cli/evidence_tpm.cc).
  for (size_t i = 0; i < rest.size(); ++i) {
    if ((rest[i] == "--type" && i + 1 < rest.size() && rest[i + 1] == "tpm") ||
        rest[i] == "--type=tpm") {
      return RunEvidenceVerifyTpm(rest);
    }
  }
  return Verify(rest);
}

}  // namespace openpcc::cli
