#include "openpcc/attest/nvgpu/verifier.h"

#include <algorithm>
#include <cctype>

#include <boost/json/array.hpp>

#include "openpcc/attest/nvgpu/roots.h"
#include "openpcc/crypto/hash.h"
#include "openpcc/crypto/secret.h"
#include "openpcc/crypto/signature.h"
#include "openpcc/wire/byte_reader.h"

namespace openpcc::attest::nvgpu {
namespace {

// TCG DICE extensions carrying the device firmware id in NVIDIA's leaf certificates.
constexpr std::string_view kOidHopperFwid = "2.23.133.5.4.1";      // CompositeDeviceID-like
constexpr std::string_view kOidBlackwellFwid = "2.23.133.5.4.1.1";  // DiceTcbInfo
// DER of OID 2.16.840.1.101.3.4.2.2 (SHA-384), contents only.
constexpr uint8_t kSha384Oid[] = {0x60, 0x86, 0x48, 0x01, 0x65, 0x03, 0x04, 0x02, 0x02};
// NVIDIA's RIMs number the NVDEC0 engine's measurement 35 (SPDM block 36).
constexpr uint32_t kNvdecRimIndex = 35;

Error Fail(ErrorCode code, std::string_view check, const std::string& message) {
  return Error(code, "nvgpu: " + std::string(check) + ": " + message);
}

std::string Lower(std::string s) {
  std::transform(s.begin(), s.end(), s.begin(),
                 [](unsigned char c) { return static_cast<char>(std::tolower(c)); });
  return s;
}

// One DER TLV (definite length, at most 4 length bytes) as a child reader.
bool ReadDer(wire::ByteReader& reader, uint8_t* tag, wire::ByteReader* contents) {
  wire::ByteReader probe = reader;
  uint8_t first = 0;
  if (!probe.ReadU8(tag) || !probe.ReadU8(&first)) return false;
  uint64_t length = first;
  if (first & 0x80) {
    size_t n = first & 0x7F;
    if (n == 0 || n > 4 || !probe.ReadUint(n, &length)) return false;
  }
  if (!probe.ReadChild(static_cast<size_t>(length), contents)) return false;
  reader = probe;
  return true;
}

// FWID ::= SEQUENCE { hashAlg OID, fwid OCTET STRING }: the digest, required to be SHA-384.
std::optional<Bytes> ReadSha384Fwid(wire::ByteReader& reader) {
  uint8_t tag = 0;
  wire::ByteReader fwid, oid, digest;
  if (!ReadDer(reader, &tag, &fwid) || tag != 0x30) return std::nullopt;
  if (!ReadDer(fwid, &tag, &oid) || tag != 0x06) return std::nullopt;
  if (!std::equal(oid.rest().begin(), oid.rest().end(), std::begin(kSha384Oid), std::end(kSha384Oid))) {
    return std::nullopt;
  }
  if (!ReadDer(fwid, &tag, &digest) || tag != 0x04 || digest.remaining() != 48 || !fwid.empty()) {
    return std::nullopt;
  }
  return ToBytes(digest.rest());
}

// Hopper: SEQUENCE { INTEGER version, SubjectPublicKeyInfo, FWID }.
// Blackwell: DiceTcbInfo SEQUENCE { [0]..[5] ..., [6] fwids SEQUENCE OF FWID, ... }; NVIDIA's
// verifiers compare the first FWID of the list.
Result<Bytes> LeafFwid(const crypto::Certificate& leaf, GpuArch arch) {
  std::string_view oid = arch == GpuArch::kHopper ? kOidHopperFwid : kOidBlackwellFwid;
  std::optional<Bytes> ext = leaf.Extension(oid);
  auto bad = [&](const std::string& why) {
    return Fail(ErrorCode::kMalformed, "fwid", "leaf extension " + std::string(oid) + " " + why);
  };
  if (!ext) return bad("is missing");
  wire::ByteReader outer(*ext);
  wire::ByteReader seq;
  uint8_t tag = 0;
  if (!ReadDer(outer, &tag, &seq) || tag != 0x30 || !outer.empty()) return bad("is not one SEQUENCE");
  if (arch == GpuArch::kHopper) {
    wire::ByteReader skip;
    if (!ReadDer(seq, &tag, &skip) || tag != 0x02) return bad("has no version");
    if (!ReadDer(seq, &tag, &skip) || tag != 0x30) return bad("has no public key");
    std::optional<Bytes> fwid = ReadSha384Fwid(seq);
    if (!fwid || !seq.empty()) return bad("has no single SHA-384 FWID");
    return *fwid;
  }
  while (!seq.empty()) {
    wire::ByteReader field;
    if (!ReadDer(seq, &tag, &field)) return bad("is truncated");
    if (tag != 0xA6) continue;
    std::optional<Bytes> fwid = ReadSha384Fwid(field);
    if (!fwid) return bad("has no SHA-384 FWID in its fwids list");
    return *fwid;
  }
  return bad("has no fwids list");
}

Result<GpuArch> ArchOfLeaf(const crypto::Certificate& leaf) {
  std::string subject = leaf.Subject();
  if (subject.find("CN=GH100 A01 GSP FMC LF") != std::string::npos) return GpuArch::kHopper;
  if (subject.find("CN=GB100 A01 GSP FMC LF") != std::string::npos) return GpuArch::kBlackwell;
  return Fail(ErrorCode::kUnsupported, "architecture",
              "leaf " + subject + " is not a Hopper (GH100) or Blackwell (GB100) GSP FMC leaf");
}

std::string ChipName(GpuArch arch) { return arch == GpuArch::kHopper ? "GH100" : "GB100"; }

Result<VerifiedRim> CheckRim(std::string_view what, const std::string& text, const NvGpuPolicy& policy,
                             GpuArch arch, const std::string& report_version,
                             const SpdmEvidence& evidence, uint8_t nvdec0_status,
                             std::string_view version_field, Rim* parsed) {
  std::string check = std::string(what) + " rim";
  Result<Rim> rim = ParseRim(text);
  if (!rim.ok()) return Fail(rim.error().code(), check, rim.error().message());
  std::span<const crypto::Certificate> roots = policy.rim_roots_for_testing.empty()
                                                   ? std::span<const crypto::Certificate>(NvidiaRimRoots())
                                                   : std::span<const crypto::Certificate>(policy.rim_roots_for_testing);
  Result<RimSignature> signature = VerifyRimSignature(*rim, roots, policy.at);
  if (!signature.ok()) return Fail(signature.error().code(), check, signature.error().message());
  if (rim->name != ChipName(arch)) {
    return Fail(ErrorCode::kMalformed, check,
                "manifest is for " + rim->name + ", the GPU is a " + ChipName(arch));
  }
  // Driver versions compare exactly; VBIOS versions are hex and NVIDIA writes them upper case.
  if (Lower(rim->version) != Lower(report_version)) {
    return Fail(ErrorCode::kMalformed, check,
                "manifest version " + rim->version + " does not match the report's " +
                    std::string(version_field) + " " + report_version);
  }
  OPENPCC_RETURN_IF_ERROR(CompareRimMeasurements(what, *rim, evidence, nvdec0_status));
  VerifiedRim out;
  out.tag_id = rim->tag_id;
  out.version = rim->version;
  out.signer_chain = std::move(signature->chain_subjects);
  for (const auto& [index, m] : rim->measurements) out.active_measurements += m.active ? 1 : 0;
  *parsed = std::move(rim).value();
  return out;
}

std::string HexOf(ByteView bytes) { return HexEncode(bytes); }

}  // namespace

std::string_view GpuArchName(GpuArch arch) { return arch == GpuArch::kHopper ? "hopper" : "blackwell"; }

Status CompareRimMeasurements(std::string_view what, const Rim& rim, const SpdmEvidence& evidence,
                              uint8_t nvdec0_status) {
  std::string check = std::string(what) + " rim";
  for (const auto& [index, m] : rim.measurements) {
    if (!m.active) continue;
    if (index == kNvdecRimIndex) {
      if (nvdec0_status == kNvdecDisabled) continue;  // the engine is off: its slot means nothing
      if (nvdec0_status != kNvdecEnabled) {
        return Fail(ErrorCode::kMalformed, check,
                    "nvdec0_status " + std::to_string(nvdec0_status) + " is neither enabled nor disabled");
      }
    }
    const MeasurementBlock* block = evidence.Block(static_cast<uint8_t>(index + 1));
    if (block == nullptr) {
      return Fail(ErrorCode::kAuthenticationFailed, check,
                  "measurement " + std::to_string(index) + " has no block " +
                      std::to_string(index + 1) + " in the report");
    }
    bool matched = std::any_of(m.alternatives.begin(), m.alternatives.end(),
                               [&](const Bytes& alt) { return alt == block->value; });
    if (!matched) {
      return Fail(ErrorCode::kAuthenticationFailed, check,
                  "measurement " + std::to_string(index) + " (report block " +
                      std::to_string(index + 1) + ") matches none of its " +
                      std::to_string(m.alternatives.size()) + " reference values");
    }
  }
  return OkStatus();
}

Result<NvGpuClaims> VerifyGpuEvidence(ByteView report, ByteView cert_chain_pem,
                                      std::optional<ByteView> expected_nonce,
                                      const NvGpuPolicy& policy) {
  // 1. Parse.
  OPENPCC_ASSIGN_OR_RETURN(Bytes raw, DecodeReport(report));
  OPENPCC_ASSIGN_OR_RETURN(SpdmEvidence ev, ParseSpdmEvidence(raw));
  Result<std::vector<crypto::Certificate>> certs = crypto::Certificate::ParseAll(cert_chain_pem);
  if (!certs.ok()) return Fail(certs.error().code(), "certificate chain", certs.error().message());
  return VerifyGpuEvidence(ev, *certs, expected_nonce, policy);
}

Result<NvGpuClaims> VerifyGpuEvidence(const SpdmEvidence& ev,
                                      std::span<const crypto::Certificate> certs,
                                      std::optional<ByteView> expected_nonce,
                                      const NvGpuPolicy& policy) {
  if (certs.empty()) return Fail(ErrorCode::kMalformed, "certificate chain", "no certificates");
  const crypto::Certificate& leaf = certs.front();

  // 2. Architecture.
  OPENPCC_ASSIGN_OR_RETURN(GpuArch arch, ArchOfLeaf(leaf));

  // 3. Chain to the pinned Device Identity CA.
  std::span<const crypto::Certificate> roots =
      policy.device_roots_for_testing.empty()
          ? std::span<const crypto::Certificate>(NvidiaDeviceIdentityRoots())
          : std::span<const crypto::Certificate>(policy.device_roots_for_testing);
  std::span<const crypto::Certificate> intermediates = certs.subspan(1);
  crypto::ChainPolicy chain_policy;
  chain_policy.at = policy.at;
  OPENPCC_RETURN_IF_ERROR(
      crypto::VerifyChain("nvgpu: device chain", leaf, intermediates, roots, chain_policy));

  // 4. Report signature.
  ByteView sig(ev.signature);
  OPENPCC_RETURN_IF_ERROR(crypto::VerifyEcdsaRaw(
      "nvgpu: report signature: SPDM request and response with the device leaf key",
      leaf.PublicKey(), crypto::HashId::kSha384, ev.signed_bytes, sig.first(48), sig.last(48)));

  NvGpuClaims claims;
  claims.arch = arch;
  claims.nonce = ev.request_nonce;
  claims.response_nonce = ev.response_nonce;
  claims.trailing_bytes = ev.trailing_bytes;

  // 5. Nonce.
  if (expected_nonce.has_value()) {
    if (expected_nonce->size() != kSpdmNonceLength) {
      return Fail(ErrorCode::kInvalidArgument, "nonce",
                  "expected nonce has " + std::to_string(expected_nonce->size()) + " bytes, not 32");
    }
    if (!crypto::ConstantTimeEqual(*expected_nonce, ByteView(ev.request_nonce))) {
      return Fail(ErrorCode::kAuthenticationFailed, "nonce",
                  "the report's request nonce is not the expected nonce");
    }
    claims.nonce_checked = true;
  }

  // 6. FWID against the leaf certificate.
  if (std::optional<ByteView> fwid = ev.opaque.Fwid()) {
    OPENPCC_ASSIGN_OR_RETURN(Bytes cert_fwid, LeafFwid(leaf, arch));
    if (ToBytes(*fwid) != cert_fwid) {
      return Fail(ErrorCode::kAuthenticationFailed, "fwid",
                  "the report's FWID differs from the leaf certificate's");
    }
    claims.fwid = ToBytes(*fwid);
    claims.fwid_checked = true;
  } else if (policy.require_fwid) {
    return Fail(ErrorCode::kMalformed, "fwid", "the report has no FWID and the policy requires one");
  }

  // Versions and identity from the (now authenticated) opaque data.
  auto opaque_field = [](auto result) -> decltype(result) {
    if (!result.ok()) return Fail(result.error().code(), "opaque data", result.error().message());
    return result;
  };
  OPENPCC_ASSIGN_OR_RETURN(claims.driver_version, opaque_field(ev.opaque.DriverVersion()));
  OPENPCC_ASSIGN_OR_RETURN(claims.vbios_version, opaque_field(ev.opaque.VbiosVersion()));
  OPENPCC_ASSIGN_OR_RETURN(claims.project, opaque_field(ev.opaque.Project()));
  OPENPCC_ASSIGN_OR_RETURN(claims.project_sku, opaque_field(ev.opaque.ProjectSku()));
  OPENPCC_ASSIGN_OR_RETURN(claims.chip_sku, opaque_field(ev.opaque.ChipSku()));
  OPENPCC_ASSIGN_OR_RETURN(claims.nvdec0_status, opaque_field(ev.opaque.Nvdec0Status()));

  // 7. CC feature mode.
  Result<std::optional<CcFeature>> feature = ev.opaque.Feature();
  if (!feature.ok()) return Fail(feature.error().code(), "cc feature", feature.error().message());
  claims.cc_feature = *feature;
  if (claims.cc_feature) {
    if ((policy.allowed_cc_features & CcFeatureBit(*claims.cc_feature)) == 0) {
      return Fail(ErrorCode::kFailedPrecondition, "cc feature",
                  "mode " + std::string(CcFeatureName(*claims.cc_feature)) + " is not allowed by the policy");
    }
  } else if (policy.require_cc_feature) {
    return Fail(ErrorCode::kFailedPrecondition, "cc feature",
                "the report states no CC feature mode and the policy requires one");
  }

  // 8. Reference manifests.
  Rim driver, vbios;
  if (policy.driver_rim) {
    OPENPCC_ASSIGN_OR_RETURN(claims.driver_rim,
                             CheckRim("driver", *policy.driver_rim, policy, arch, claims.driver_version,
                                      ev, claims.nvdec0_status, "driver version", &driver));
  } else if (policy.require_driver_rim) {
    return Fail(ErrorCode::kFailedPrecondition, "driver rim",
                "the policy requires a driver RIM and none was given");
  }
  if (policy.vbios_rim) {
    OPENPCC_ASSIGN_OR_RETURN(claims.vbios_rim,
                             CheckRim("vbios", *policy.vbios_rim, policy, arch, claims.vbios_version,
                                      ev, claims.nvdec0_status, "VBIOS version", &vbios));
  } else if (policy.require_vbios_rim) {
    return Fail(ErrorCode::kFailedPrecondition, "vbios rim",
                "the policy requires a VBIOS RIM and none was given");
  }
  if (policy.driver_rim && policy.vbios_rim) {
    // Both verified above; an index active in both would let either manifest vouch for it.
    for (const auto& [index, m] : driver.measurements) {
      auto it = vbios.measurements.find(index);
      if (m.active && it != vbios.measurements.end() && it->second.active) {
        return Fail(ErrorCode::kMalformed, "rim conflict",
                    "measurement " + std::to_string(index) + " is active in both the driver and VBIOS RIMs");
      }
    }
  }

  claims.measurements = ev.blocks;
  for (const crypto::Certificate& cert : certs) claims.cert_subjects.push_back(cert.Subject());
  return claims;
}

boost::json::object NvGpuClaims::ToJson() const {
  boost::json::object out;
  out["type"] = "nvidia-gpu";
  out["arch"] = std::string(GpuArchName(arch));
  out["driver_version"] = driver_version;
  out["vbios_version"] = vbios_version;
  out["project"] = project;
  out["project_sku"] = project_sku;
  out["chip_sku"] = chip_sku;
  if (cc_feature) {
    out["cc_feature"] = std::string(CcFeatureName(*cc_feature));
  } else {
    out["cc_feature"] = nullptr;
  }
  out["nonce"] = HexOf(nonce);
  out["nonce_checked"] = nonce_checked;
  out["response_nonce"] = HexOf(response_nonce);
  out["fwid"] = HexOf(fwid);
  out["fwid_checked"] = fwid_checked;
  out["nvdec0_enabled"] = nvdec0_status == kNvdecEnabled;
  boost::json::array blocks;
  for (const MeasurementBlock& block : measurements) {
    boost::json::object b;
    b["index"] = block.index;
    b["value_type"] = block.value_type;
    b["value"] = HexOf(block.value);
    blocks.push_back(std::move(b));
  }
  out["measurements"] = std::move(blocks);
  boost::json::array subjects;
  for (const std::string& s : cert_subjects) subjects.push_back(boost::json::string(s));
  out["cert_subjects"] = std::move(subjects);
  auto rim_json = [](const std::optional<VerifiedRim>& rim) -> boost::json::value {
    if (!rim) return nullptr;
    boost::json::object r;
    r["tag_id"] = rim->tag_id;
    r["version"] = rim->version;
    r["active_measurements"] = rim->active_measurements;
    boost::json::array chain;
    for (const std::string& s : rim->signer_chain) chain.push_back(boost::json::string(s));
    r["signer_chain"] = std::move(chain);
    return r;
  };
  out["driver_rim"] = rim_json(driver_rim);
  out["vbios_rim"] = rim_json(vbios_rim);
  out["trailing_bytes"] = trailing_bytes;
  return out;
}

}  // namespace openpcc::attest::nvgpu
