// NVIDIA GPU evidence: every NVIDIA vector of EXPECTED.json (Hopper, Blackwell), NVIDIA's own
// parsed outputs, the real signed RIMs, and tampered copies each rejected for its own reason.
// Certificates are evaluated at fixed times, never the wall clock.
#include <gtest/gtest.h>

#include <regex>

#include <boost/json.hpp>
#include <openssl/ec.h>
#include <openssl/evp.h>
#include <openssl/x509.h>
#include <openssl/x509v3.h>

#include "openpcc/attest/nvgpu/rim.h"
#include "openpcc/attest/nvgpu/roots.h"
#include "openpcc/attest/nvgpu/spdm.h"
#include "openpcc/attest/nvgpu/verifier.h"
#include "openpcc/attest/nvgpu/xml.h"
#include "openpcc/crypto/hash.h"
#include "support/vectors.h"

namespace openpcc::attest::nvgpu {
namespace {

using testing::ReadVectorFile;

std::chrono::sys_seconds At(const char* text) { return crypto::ParseUtcTime(text).value(); }

// The device chains are valid from 2023-06-20 (Blackwell's newest notBefore) to 9999; the nvtrust
// RIM signers from 2023-06-27 to 2025-06-22; the attestation-sdk driver RIM's from 2024-12-30.
constexpr const char* kAt = "2024-06-01T00:00:00Z";

void ExpectError(const Status& status, ErrorCode code, std::string_view needle) {
  ASSERT_FALSE(status.ok()) << "expected an error containing: " << needle;
  EXPECT_EQ(status.error().code(), code) << status.error().ToString();
  EXPECT_NE(status.error().message().find(needle), std::string::npos) << status.error().ToString();
}
template <typename T>
void ExpectError(const Result<T>& result, ErrorCode code, std::string_view needle) {
  ASSERT_FALSE(result.ok()) << "expected an error containing: " << needle;
  EXPECT_EQ(result.error().code(), code) << result.error().ToString();
  EXPECT_NE(result.error().message().find(needle), std::string::npos) << result.error().ToString();
}

boost::json::array NvidiaExpected() {
  return boost::json::parse(ReadVectorFile("EXPECTED.json")).at("nvidia").as_array();
}

NvGpuPolicy PolicyWithoutRims(const char* at = kAt) {
  NvGpuPolicy policy;
  policy.at = At(at);
  policy.require_driver_rim = false;
  policy.require_vbios_rim = false;
  return policy;
}

Bytes ReportBytes(const std::string& path) {
  return DecodeReport(ToBytes(ReadVectorFile(path))).value();
}

// value() that names the error instead of throwing bad_variant_access.
template <typename T>
T Must(Result<T> result) {
  if (!result.ok()) {
    std::fprintf(stderr, "unexpected error: %s\n", result.error().ToString().c_str());
    std::abort();
  }
  return std::move(result).value();
}

std::string Str(const boost::json::value& v) { return std::string(v.as_string()); }

// ---- Pinned roots -----------------------------------------------------------------------------

TEST(NvGpuRootsTest, PinnedRootsAreNvidiasPublishedOnes) {
  EXPECT_EQ(HexEncode(crypto::Sha256(NvidiaDeviceIdentityRoots()[0].Der())),
            "102bf659d5419614c9d8e6aecebc80454eb26b1df6a769ac720b9a690b167b48");
  EXPECT_EQ(HexEncode(crypto::Sha256(NvidiaRimRoots()[0].Der())),
            "12977b5115acb0381179279fffeb5a8c4d264971ebb32298023a465fa41df5d1");
  auto device_file = crypto::Certificate::ParseOne(ToBytes(ReadVectorFile("nvtrust/verifier_device_root.pem")));
  EXPECT_EQ(device_file->Der(), NvidiaDeviceIdentityRoots()[0].Der());
  auto rim_file = crypto::Certificate::ParseOne(ToBytes(ReadVectorFile("nvidia-attestation-sdk/rim_root.crt")));
  EXPECT_EQ(rim_file->Der(), NvidiaRimRoots()[0].Der());
}

// ---- SPDM parsing -----------------------------------------------------------------------------

TEST(NvGpuSpdmTest, ParsesEveryVectorAsExpected) {
  size_t count = 0;
  for (const boost::json::value& entry : NvidiaExpected()) {
    const boost::json::object& e = entry.as_object();
    if (!e.contains("report")) continue;
    SCOPED_TRACE(Str(e.at("report")));
    Result<SpdmEvidence> ev = ParseSpdmEvidence(ReportBytes(Str(e.at("report"))));
    ASSERT_TRUE(ev.ok()) << ev.error().ToString();
    EXPECT_EQ(ev->spdm_version, 0x11);
    EXPECT_EQ(ev->blocks.size(), e.at("num_blocks").as_int64());
    EXPECT_EQ(ev->record_length, e.at("record_len").as_int64());
    EXPECT_EQ(ev->opaque_bytes.size(), e.at("opaque_len").as_int64());
    EXPECT_EQ(HexEncode(ev->request_nonce), Str(e.at("request_nonce")));
    EXPECT_EQ(HexEncode(ev->response_nonce), Str(e.at("response_nonce")));
    EXPECT_EQ(ev->trailing_bytes, e.at("trailing_bytes_after_sig").as_int64());
    EXPECT_EQ(ev->opaque.DriverVersion().value(), Str(e.at("driver_version")));
    EXPECT_EQ(ev->opaque.VbiosVersion().value(), Str(e.at("vbios_version")));
    EXPECT_EQ(ev->opaque.Project().value(), Str(e.at("project")));
    EXPECT_EQ(ev->opaque.ProjectSku().value(), Str(e.at("project_sku")));
    ASSERT_NE(ev->Block(2), nullptr);
    EXPECT_EQ(HexEncode(ev->Block(2)->value), Str(e.at("measurement_block_2")));
    ++count;
  }
  EXPECT_EQ(count, 7u);
}

TEST(NvGpuSpdmTest, MatchesNvidiasParsedOutputFieldByField) {
  SpdmEvidence ev = ParseSpdmEvidence(ReportBytes("nvidia-attestation-sdk/hopperAttestationReport.txt")).value();
  auto req = boost::json::parse(ReadVectorFile("nvidia-attestation-sdk/spdm_req_parsed_output.json")).as_object();
  EXPECT_EQ(Str(req.at("Param1")), "0x01");
  EXPECT_EQ(ev.request_attributes, 0x01);
  EXPECT_EQ(ev.measurement_index, 0xFF);
  EXPECT_EQ(ev.slot_id, 0);
  EXPECT_EQ("0x" + HexEncode(ev.request_nonce), Str(req.at("Nonce")));

  auto resp = boost::json::parse(ReadVectorFile("nvidia-attestation-sdk/spdm_parsed_output.json")).as_object();
  EXPECT_EQ("0x" + HexEncode(ev.signature), Str(resp.at("Signature")));
  EXPECT_EQ(ev.record_length, resp.at("MeasurementRecordLength").as_int64());
  const auto& blocks = resp.at("MeasurementRecord").at("MeasurementBlocks").as_object();
  ASSERT_EQ(blocks.size(), ev.blocks.size());
  for (const auto& [key, value] : blocks) {
    const MeasurementBlock* block = ev.Block(static_cast<uint8_t>(std::stoi(std::string(key))));
    ASSERT_NE(block, nullptr) << key;
    EXPECT_EQ(block->value_type, value.at("DMTFSpecMeasurementValueType").as_int64());
    EXPECT_EQ("0x" + HexEncode(block->value), Str(value.at("DMTFSpecMeasurementValue")));
  }
  // Every opaque field NVIDIA lists, by name, with its raw value.
  const auto& fields = resp.at("OpaqueData").at("OpaqueDataField").as_object();
  size_t checked = 0;
  for (const auto& [type, bytes] : ev.opaque.fields()) {
    std::string name = "OPAQUE_FIELD_ID_" + OpaqueFieldName(type);
    std::transform(name.begin(), name.end(), name.begin(), ::toupper);
    if (name == "OPAQUE_FIELD_ID_MEASUREMENT_COUNT") name = "OPAQUE_FIELD_ID_MSRSCNT";
    if (name == "OPAQUE_FIELD_ID_CPR_INFO") name = "OPAQUE_FIELD_ID_CPRINFO";
    if (!fields.contains(name)) {
      // NVIDIA's parsed output predates the opaque data version and feature flag fields.
      EXPECT_TRUE(type == 34 || type == 36) << name;
      continue;
    }
    if (fields.at(name).is_string()) {
      EXPECT_EQ("0x" + HexEncode(bytes), Str(fields.at(name))) << name;
    } else {  // the measurement counts, as u32 LE
      const auto& counts = fields.at(name).as_array();
      ASSERT_EQ(bytes.size(), counts.size() * 4);
      for (size_t i = 0; i < counts.size(); ++i) {
        uint32_t v = static_cast<uint32_t>(bytes[4 * i]) | (static_cast<uint32_t>(bytes[4 * i + 1]) << 8) |
                     (static_cast<uint32_t>(bytes[4 * i + 2]) << 16) | (static_cast<uint32_t>(bytes[4 * i + 3]) << 24);
        EXPECT_EQ(v, counts[i].as_int64());
      }
    }
    ++checked;
  }
  EXPECT_EQ(checked, fields.size());
  EXPECT_EQ(ev.opaque.Feature().value(), CcFeature::kMultiGpuPassthrough);  // version 1, flag 0
  EXPECT_EQ(ev.opaque.VbiosVersion().value(), "96.00.74.00.20");
  EXPECT_EQ(ev.opaque.Nvdec0Status().value(), kNvdecDisabled);
}

TEST(NvGpuSpdmTest, ReadsTheCcFeatureModeWhereTheReportStatesOne) {
  // Opaque data version 1 with FEATURE_FLAG 0 (multi-GPU passthrough).
  auto coco = ParseSpdmEvidence(ReportBytes("trustee/nvidia/hopper_coco_report1.txt")).value();
  EXPECT_EQ(coco.opaque.Feature().value(), CcFeature::kMultiGpuPassthrough);
  // Blackwell: opaque data version 0, no flag. Older Hopper firmware: no version at all.
  auto blackwell = ParseSpdmEvidence(ReportBytes(
      "nvidia-attestation-sdk/sample_attestation_data/gpu/blackwellAttestationReport.txt")).value();
  EXPECT_FALSE(blackwell.opaque.Feature().value().has_value());
  auto hopper = ParseSpdmEvidence(ReportBytes("nvtrust/hopperAttestationReport.txt")).value();
  EXPECT_FALSE(hopper.opaque.Feature().value().has_value());
}

TEST(NvGpuSpdmTest, HexAndRawFormsAreTheSameReport) {
  std::string text = ReadVectorFile("nvtrust/hopperAttestationReport.txt");
  Bytes raw = DecodeReport(ToBytes(text)).value();
  EXPECT_EQ(raw.size(), 4117u);
  EXPECT_EQ(DecodeReport(raw).value(), raw);
  ExpectError(DecodeReport(ToBytes("11e")), ErrorCode::kMalformed, "odd number");
}

TEST(NvGpuSpdmTest, EveryTruncationIsRefusedByName) {
  Bytes raw = ReportBytes("nvtrust/hopperAttestationReport.txt");
  for (size_t n = 0; n < raw.size(); ++n) {
    Result<SpdmEvidence> ev = ParseSpdmEvidence(ByteView(raw).first(n));
    ASSERT_FALSE(ev.ok()) << n;
    ASSERT_EQ(ev.error().code(), ErrorCode::kTruncated) << n << ": " << ev.error().ToString();
  }
  ExpectError(ParseSpdmEvidence(ByteView(raw).first(raw.size() - 1)), ErrorCode::kTruncated, "signature");
  ExpectError(ParseSpdmEvidence(ByteView(raw).first(36)), ErrorCode::kTruncated, "GET_MEASUREMENTS request");
}

TEST(NvGpuSpdmTest, RefusesStructuralLies) {
  Bytes raw = ReportBytes("nvtrust/hopperAttestationReport.txt");
  Bytes bad = raw;
  bad[1] = 0xE1;
  ExpectError(ParseSpdmEvidence(bad), ErrorCode::kMalformed, "GET_MEASUREMENTS (0xe0)");
  bad = raw;
  bad[0] = 0x12;
  ExpectError(ParseSpdmEvidence(bad), ErrorCode::kUnsupported, "not 1.1");
  bad = raw;
  bad[2] = 0x00;  // no signature requested
  ExpectError(ParseSpdmEvidence(bad), ErrorCode::kMalformed, "do not ask for a signature");
  bad = raw;
  bad[37 + 1] = 0x61;
  ExpectError(ParseSpdmEvidence(bad), ErrorCode::kMalformed, "MEASUREMENTS (0x60)");
  bad = raw;
  bad[37 + 4] = 63;  // one block fewer than the record holds
  ExpectError(ParseSpdmEvidence(bad), ErrorCode::kMalformed, "bytes after its 63 blocks");
  bad = raw;
  bad[37 + 8 + 51 + 4 + 0] = 1;  // block 2 claims index 1 again
  ExpectError(ParseSpdmEvidence(bad), ErrorCode::kMalformed, "index 1 appears twice");
  bad = raw;
  bad[37 + 8 + 1] = 0x02;  // not DMTF
  ExpectError(ParseSpdmEvidence(bad), ErrorCode::kMalformed, "is not DMTF");
  bad = raw;
  bad.insert(bad.end(), kMaxTrailingBytes + 1, 0);
  ExpectError(ParseSpdmEvidence(bad), ErrorCode::kMalformed, "after the signature");
}

// ---- Verification of the vectors --------------------------------------------------------------

TEST(NvGpuVerifyTest, VerifiesEveryValidVectorAndRefusesTheTamperedOne) {
  size_t valid = 0;
  for (const boost::json::value& entry : NvidiaExpected()) {
    const boost::json::object& e = entry.as_object();
    if (!e.contains("report")) continue;
    SCOPED_TRACE(Str(e.at("report")));
    Bytes nonce = testing::Hex(Str(e.at("request_nonce")));
    Result<NvGpuClaims> claims =
        VerifyGpuEvidence(ToBytes(ReadVectorFile(Str(e.at("report")))),
                          ToBytes(ReadVectorFile(Str(e.at("cert_chain")))), ByteView(nonce),
                          PolicyWithoutRims());
    if (Str(e.at("spdm_sig")) != "OK") {
      ExpectError(claims, ErrorCode::kAuthenticationFailed, "nvgpu: report signature");
      continue;
    }
    ASSERT_TRUE(claims.ok()) << claims.error().ToString();
    ++valid;
    EXPECT_TRUE(claims->nonce_checked);
    // Every report but the oldest firmware's (535.86.09) carries an FWID, checked against the leaf.
    EXPECT_EQ(claims->fwid_checked, Str(e.at("driver_version")) != "535.86.09");
    EXPECT_EQ(claims->driver_version, Str(e.at("driver_version")));
    EXPECT_EQ(claims->vbios_version, Str(e.at("vbios_version")));
    ASSERT_EQ(claims->cert_subjects.size(), 5u);
    // EXPECTED writes the leaf name in the opposite RDN order.
    std::string leaf = Str(e.at("leaf"));
    std::string cn = leaf.substr(3, leaf.find(',') - 3);
    EXPECT_NE(claims->cert_subjects[0].find("CN=" + cn), std::string::npos);
    EXPECT_NE(claims->cert_subjects[0].find(leaf.substr(leaf.rfind('=') + 1)), std::string::npos);
    EXPECT_NE(claims->cert_subjects[4].find("NVIDIA Device Identity CA"), std::string::npos);
    EXPECT_EQ(claims->arch, cn.rfind("GB100", 0) == 0 ? GpuArch::kBlackwell : GpuArch::kHopper);
  }
  EXPECT_EQ(valid, 6u);
}

TEST(NvGpuVerifyTest, VerifiesTheJsonEvidenceLists) {
  for (const char* file : {"nvidia-attestation-sdk/hopper_evidence.json",
                           "nvidia-attestation-sdk/evidence_hopper_590_12.json",
                           "nvtrust/ppcie_gpu_evidence.json"}) {
    SCOPED_TRACE(file);
    boost::json::value doc = boost::json::parse(ReadVectorFile(file));
    const boost::json::array& list = doc.is_array() ? doc.as_array() : doc.at("evidence_list").as_array();
    ASSERT_FALSE(list.empty());
    for (const boost::json::value& item : list) {
      Result<Bytes> report = DecodeBase64(Str(item.at("evidence")));
      Result<Bytes> chain = DecodeBase64(Str(item.at("certificate")));
      ASSERT_TRUE(report.ok() && chain.ok());
      Bytes nonce = testing::Hex(Str(item.at("nonce")));
      Result<NvGpuClaims> claims = VerifyGpuEvidence(*report, *chain, ByteView(nonce), PolicyWithoutRims());
      ASSERT_TRUE(claims.ok()) << claims.error().ToString();
      EXPECT_EQ(claims->driver_version, "590.12");
      EXPECT_TRUE(claims->nonce_checked);
    }
  }
}

struct Sample {
  Bytes report;
  Bytes chain;
  Bytes nonce;
};

Sample NvtrustHopper() {
  return {ReportBytes("nvtrust/hopperAttestationReport.txt"),
          ToBytes(ReadVectorFile("nvtrust/hopperCertChain.txt")),
          testing::Hex("931d8dd0add203ac3d8b4fbde75e115278eefcdceac5b87671a748f32364dfcb")};
}

TEST(NvGpuVerifyTest, RefusesAFlippedByteInTheSignedRegion) {
  Sample s = NvtrustHopper();
  s.report[37 + 8 + 4 + 3 + 51 + 10] ^= 0x01;  // inside measurement block 2's value
  ExpectError(VerifyGpuEvidence(s.report, s.chain, ByteView(s.nonce), PolicyWithoutRims()),
              ErrorCode::kAuthenticationFailed, "nvgpu: report signature");
}

TEST(NvGpuVerifyTest, RefusesAFlippedByteInTheSignature) {
  Sample s = NvtrustHopper();
  s.report[s.report.size() - 20] ^= 0x80;
  ExpectError(VerifyGpuEvidence(s.report, s.chain, ByteView(s.nonce), PolicyWithoutRims()),
              ErrorCode::kAuthenticationFailed, "nvgpu: report signature");
}

TEST(NvGpuVerifyTest, RefusesAWrongNonce) {
  Sample s = NvtrustHopper();
  Bytes wrong(32, 0);  // the attestation SDK's bad-nonce scenario
  ExpectError(VerifyGpuEvidence(s.report, s.chain, ByteView(wrong), PolicyWithoutRims()),
              ErrorCode::kAuthenticationFailed, "nvgpu: nonce: the report's request nonce");
  ExpectError(VerifyGpuEvidence(s.report, s.chain, ByteView(wrong).first(31), PolicyWithoutRims()),
              ErrorCode::kInvalidArgument, "not 32");
  // Without an expected nonce the report verifies but says it was not checked.
  auto claims = VerifyGpuEvidence(s.report, s.chain, std::nullopt, PolicyWithoutRims()).value();
  EXPECT_FALSE(claims.nonce_checked);
  EXPECT_FALSE(claims.ToJson().at("nonce_checked").as_bool());
}

// The parsed-input overload (what a warm client calls) runs the same checks as the bytes one.
TEST(NvGpuVerifyTest, ParsedOverloadVerifiesAndRefusesLikeTheBytesOne) {
  Sample s = NvtrustHopper();
  SpdmEvidence ev = ParseSpdmEvidence(s.report).value();
  std::vector<crypto::Certificate> chain = crypto::Certificate::ParseAll(s.chain).value();
  NvGpuClaims parsed = VerifyGpuEvidence(ev, chain, ByteView(s.nonce), PolicyWithoutRims()).value();
  NvGpuClaims bytes = VerifyGpuEvidence(s.report, s.chain, ByteView(s.nonce), PolicyWithoutRims()).value();
  EXPECT_TRUE(parsed.nonce_checked);
  EXPECT_EQ(boost::json::serialize(parsed.ToJson()), boost::json::serialize(bytes.ToJson()));
  Bytes wrong(32, 0);
  ExpectError(VerifyGpuEvidence(ev, chain, ByteView(wrong), PolicyWithoutRims()),
              ErrorCode::kAuthenticationFailed, "nvgpu: nonce: the report's request nonce is not the expected nonce");
  SpdmEvidence flipped = ev;
  flipped.signed_bytes[40] ^= 0x01;
  ExpectError(VerifyGpuEvidence(flipped, chain, ByteView(s.nonce), PolicyWithoutRims()),
              ErrorCode::kAuthenticationFailed,
              "nvgpu: report signature: SPDM request and response with the device leaf key");
  ExpectError(VerifyGpuEvidence(ev, std::span<const crypto::Certificate>(), ByteView(s.nonce), PolicyWithoutRims()),
              ErrorCode::kMalformed, "nvgpu: certificate chain: no certificates");
}

TEST(NvGpuVerifyTest, RefusesAChainToAnotherRoot) {
  Sample s = NvtrustHopper();
  NvGpuPolicy policy = PolicyWithoutRims();
  policy.device_roots_for_testing = NvidiaRimRoots();
  ExpectError(VerifyGpuEvidence(s.report, s.chain, ByteView(s.nonce), policy),
              ErrorCode::kAuthenticationFailed, "nvgpu: device chain: certificate chain");
  // Another GPU's chain: its leaf key did not sign this report.
  Bytes other = ToBytes(ReadVectorFile("nvidia-attestation-sdk/hopperCertChain.txt"));
  ExpectError(VerifyGpuEvidence(s.report, other, ByteView(s.nonce), PolicyWithoutRims()),
              ErrorCode::kAuthenticationFailed, "nvgpu: report signature");
}

TEST(NvGpuVerifyTest, RefusesAChainOutsideItsValidity) {
  Bytes report = ReportBytes("nvidia-attestation-sdk/sample_attestation_data/gpu/blackwellAttestationReport.txt");
  Bytes chain = ToBytes(ReadVectorFile("nvidia-attestation-sdk/sample_attestation_data/gpu/blackwellCertChain.txt"));
  ExpectError(VerifyGpuEvidence(report, chain, std::nullopt, PolicyWithoutRims("2023-01-01T00:00:00Z")),
              ErrorCode::kAuthenticationFailed, "not yet valid");
}

TEST(NvGpuVerifyTest, RefusesTrusteesMalformedChains) {
  Sample s = NvtrustHopper();
  // case 3: the Provisioner ICA is missing.
  ExpectError(VerifyGpuEvidence(s.report, ToBytes(ReadVectorFile("trustee/nvidia/hopper_cert_chain_case3.txt")),
                                ByteView(s.nonce), PolicyWithoutRims()),
              ErrorCode::kAuthenticationFailed, "nvgpu: device chain: certificate chain");
  // case 4: no leaf (the BROM certificate comes first).
  ExpectError(VerifyGpuEvidence(s.report, ToBytes(ReadVectorFile("trustee/nvidia/hopper_cert_chain_case4.txt")),
                                ByteView(s.nonce), PolicyWithoutRims()),
              ErrorCode::kUnsupported, "nvgpu: architecture");
  // case 2: the root alone.
  ExpectError(VerifyGpuEvidence(s.report, ToBytes(ReadVectorFile("trustee/nvidia/hopper_cert_chain_case2.txt")),
                                ByteView(s.nonce), PolicyWithoutRims()),
              ErrorCode::kUnsupported, "nvgpu: architecture");
}

TEST(NvGpuVerifyTest, RefusesAReportFwidThatDiffersFromTheLeaf) {
  Sample s = NvtrustHopper();
  SpdmEvidence ev = ParseSpdmEvidence(s.report).value();
  // The FWID is signed, so a tampered copy fails the signature first; check the FWID step alone
  // with another GPU's (genuine, correctly signed) report against this leaf: the signature check
  // stops it too. So compare the leaf extensions directly: they differ per GPU.
  auto leaf_a = crypto::Certificate::ParseAll(s.chain).value()[0];
  auto leaf_b = crypto::Certificate::ParseAll(ToBytes(ReadVectorFile("trustee/nvidia/hopper_coco_certs1.txt"))).value()[0];
  ASSERT_TRUE(ev.opaque.Fwid().has_value());
  EXPECT_NE(leaf_a.Extension("2.23.133.5.4.1"), leaf_b.Extension("2.23.133.5.4.1"));
  NvGpuPolicy policy = PolicyWithoutRims();
  auto claims = VerifyGpuEvidence(s.report, s.chain, ByteView(s.nonce), policy).value();
  EXPECT_EQ(HexEncode(claims.fwid), HexEncode(*ev.opaque.Fwid()));
  // The oldest firmware (535.86.09) reports no FWID: accepted as NVIDIA does, unless required.
  Bytes old_report = ToBytes(ReadVectorFile("nvidia-attestation-sdk/sample_attestation_data/gpu/hopperAttestationReport.txt"));
  Bytes old_chain = ToBytes(ReadVectorFile("nvidia-attestation-sdk/sample_attestation_data/gpu/hopperCertChain.txt"));
  EXPECT_FALSE(VerifyGpuEvidence(old_report, old_chain, std::nullopt, policy)->fwid_checked);
  policy.require_fwid = true;
  ExpectError(VerifyGpuEvidence(old_report, old_chain, std::nullopt, policy), ErrorCode::kMalformed,
              "nvgpu: fwid: the report has no FWID and the policy requires one");
}

TEST(NvGpuVerifyTest, RequiredRimsThatAreMissingFailClosed) {
  Sample s = NvtrustHopper();
  NvGpuPolicy policy;
  policy.at = At(kAt);
  ExpectError(VerifyGpuEvidence(s.report, s.chain, ByteView(s.nonce), policy),
              ErrorCode::kFailedPrecondition, "nvgpu: driver rim: the policy requires a driver RIM");
  policy.driver_rim = ReadVectorFile("nvtrust/Driver_RIM_test_no_gpu.swidtag");
  policy.require_driver_rim = true;
  // (the driver RIM is for 545.00, so it fails on the version before the VBIOS check is reached)
  ExpectError(VerifyGpuEvidence(s.report, s.chain, ByteView(s.nonce), policy),
              ErrorCode::kMalformed, "manifest version 545.00 does not match the report's driver version 550.90.07");
}

TEST(NvGpuVerifyTest, TheExpiredSampleIsValidEvidenceWhoseRimIsMissingOrWrong) {
  // EXPECTED: the report and chain verify; the SDK pairs it with an expired driver RIM, which the
  // vectors do not include. Here: no RIM -> fail closed; the wrong RIM -> version mismatch.
  Bytes report = ToBytes(ReadVectorFile("nvidia-attestation-sdk/sample_attestation_data/gpu/hopperAttestationReportExpired.txt"));
  Bytes chain = ToBytes(ReadVectorFile("nvidia-attestation-sdk/sample_attestation_data/gpu/hopperCertChainExpired.txt"));
  EXPECT_TRUE(VerifyGpuEvidence(report, chain, std::nullopt, PolicyWithoutRims()).ok());
  NvGpuPolicy policy;
  policy.at = At("2025-06-01T00:00:00Z");
  ExpectError(VerifyGpuEvidence(report, chain, std::nullopt, policy), ErrorCode::kFailedPrecondition,
              "requires a driver RIM");
  policy.driver_rim = ReadVectorFile("nvidia-attestation-sdk/NV_GPU_DRIVER_GH100_550.144.03.xml");
  ExpectError(VerifyGpuEvidence(report, chain, std::nullopt, policy), ErrorCode::kMalformed,
              "manifest version 550.144.03 does not match the report's driver version 570.124.03");
}

TEST(NvGpuVerifyTest, ClaimsAsJson) {
  Sample s = NvtrustHopper();
  auto claims = VerifyGpuEvidence(s.report, s.chain, ByteView(s.nonce), PolicyWithoutRims()).value();
  boost::json::object json = claims.ToJson();
  EXPECT_EQ(json.at("arch").as_string(), "hopper");
  EXPECT_EQ(json.at("driver_version").as_string(), "550.90.07");
  EXPECT_EQ(json.at("vbios_version").as_string(), "96.00.9f.00.01");
  EXPECT_EQ(json.at("nonce").as_string(), "931d8dd0add203ac3d8b4fbde75e115278eefcdceac5b87671a748f32364dfcb");
  EXPECT_TRUE(json.at("nonce_checked").as_bool());
  EXPECT_TRUE(json.at("cc_feature").is_null());
  EXPECT_EQ(json.at("measurements").as_array().size(), 64u);
  EXPECT_EQ(json.at("measurements").as_array()[1].at("value").as_string(),
            "8048dfd18fe229bf16eb9d30cca0f11a24dafe6eb731de1462984645a0b189b77c4e4e17de727a5e19e3d07de51da338");
  EXPECT_EQ(json.at("cert_subjects").as_array().size(), 5u);
  EXPECT_TRUE(json.at("driver_rim").is_null());
}

TEST(NvGpuVerifyTest, CcFeaturePolicy) {
  Bytes report = ToBytes(ReadVectorFile("trustee/nvidia/hopper_coco_report1.txt"));
  Bytes chain = ToBytes(ReadVectorFile("trustee/nvidia/hopper_coco_certs1.txt"));
  NvGpuPolicy policy = PolicyWithoutRims();
  auto claims = VerifyGpuEvidence(report, chain, std::nullopt, policy).value();
  EXPECT_EQ(claims.cc_feature, CcFeature::kMultiGpuPassthrough);
  EXPECT_EQ(claims.ToJson().at("cc_feature").as_string(), "mpt");
  policy.allowed_cc_features = CcFeatureBit(CcFeature::kSingleGpuPassthrough);
  ExpectError(VerifyGpuEvidence(report, chain, std::nullopt, policy), ErrorCode::kFailedPrecondition,
              "nvgpu: cc feature: mode mpt is not allowed");
  Sample s = NvtrustHopper();
  NvGpuPolicy strict = PolicyWithoutRims();
  strict.require_cc_feature = true;
  ExpectError(VerifyGpuEvidence(s.report, s.chain, std::nullopt, strict), ErrorCode::kFailedPrecondition,
              "states no CC feature mode");
}

// ---- RIMs -------------------------------------------------------------------------------------

struct RimCase {
  const char* path;
  const char* version;
  size_t active;
  const char* at;
};
const RimCase kRims[] = {
    {"nvtrust/Driver_RIM_test_no_gpu.swidtag", "545.00", 21, "2024-06-01T00:00:00Z"},
    {"nvtrust/1010_0200_882_96005E0001_test_no_gpu.swidtag", "96.00.5E.00.01", 12, "2024-06-01T00:00:00Z"},
    {"nvidia-attestation-sdk/NV_GPU_DRIVER_GH100_550.144.03.xml", "550.144.03", 21, "2025-06-01T00:00:00Z"},
};

TEST(NvGpuRimTest, ParsesAndVerifiesNvidiasSignedRims) {
  for (const RimCase& c : kRims) {
    SCOPED_TRACE(c.path);
    Result<Rim> rim = ParseRim(ReadVectorFile(c.path));
    ASSERT_TRUE(rim.ok()) << rim.error().ToString();
    EXPECT_EQ(rim->version, c.version);
    EXPECT_EQ(rim->name, "GH100");
    EXPECT_EQ(rim->measurements.size(), 64u);
    size_t active = 0;
    for (const auto& [index, m] : rim->measurements) active += m.active ? 1 : 0;
    EXPECT_EQ(active, c.active);
    Result<RimSignature> sig = VerifyRimSignature(*rim, NvidiaRimRoots(), At(c.at));
    ASSERT_TRUE(sig.ok()) << sig.error().ToString();
    ASSERT_EQ(sig->chain_subjects.size(), 4u);
    EXPECT_NE(sig->chain_subjects[0].find("CN=HCC RIM L4 Signer"), std::string::npos);
  }
}

TEST(NvGpuRimTest, RefusesAnExpiredSigner) {
  Rim rim = ParseRim(ReadVectorFile(kRims[0].path)).value();
  ExpectError(VerifyRimSignature(rim, NvidiaRimRoots(), At("2025-07-01T00:00:00Z")),
              ErrorCode::kAuthenticationFailed, "certificate has expired");
}

TEST(NvGpuRimTest, RefusesAnotherRoot) {
  Rim rim = ParseRim(ReadVectorFile(kRims[0].path)).value();
  ExpectError(VerifyRimSignature(rim, NvidiaDeviceIdentityRoots(), At(kAt)),
              ErrorCode::kAuthenticationFailed, "nvgpu: rim signer: certificate chain");
}

TEST(NvGpuRimTest, RefusesAModifiedReferenceValue) {
  std::string text = ReadVectorFile(kRims[0].path);
  size_t at = text.find("0e0ee161b59bf124");  // measurement 7's reference value
  ASSERT_NE(at, std::string::npos);
  text[at] = '1';
  Rim rim = ParseRim(text).value();
  ExpectError(VerifyRimSignature(rim, NvidiaRimRoots(), At(kAt)), ErrorCode::kAuthenticationFailed,
              "does not match DigestValue");
}

TEST(NvGpuRimTest, RefusesAModifiedSignatureValue) {
  std::string text = ReadVectorFile(kRims[0].path);
  size_t at = text.find("<ds:SignatureValue>") + std::strlen("<ds:SignatureValue>") + 10;
  text[at] = text[at] == 'A' ? 'B' : 'A';
  Rim rim = ParseRim(text).value();
  ExpectError(VerifyRimSignature(rim, NvidiaRimRoots(), At(kAt)), ErrorCode::kAuthenticationFailed,
              "nvgpu: rim signature: SignedInfo");
}

TEST(NvGpuRimTest, RefusesASecondSignatureAndOtherShapes) {
  std::string text = ReadVectorFile(kRims[0].path);
  size_t sig = text.find("<ds:Signature ");
  size_t end = text.find("</ds:Signature>") + std::strlen("</ds:Signature>");
  std::string twice = text.substr(0, end) + text.substr(sig, end - sig) + text.substr(end);
  ExpectError(VerifyRimSignature(ParseRim(twice).value(), NvidiaRimRoots(), At(kAt)),
              ErrorCode::kAuthenticationFailed, "exactly one ds:Signature");
  std::string other_uri = std::regex_replace(text, std::regex("URI=\"\""), "URI=\"#x\"");
  ExpectError(VerifyRimSignature(ParseRim(other_uri).value(), NvidiaRimRoots(), At(kAt)),
              ErrorCode::kUnsupported, "URI=\"\"");
  std::string none = text.substr(0, sig) + text.substr(end);
  ExpectError(VerifyRimSignature(ParseRim(none).value(), NvidiaRimRoots(), At(kAt)),
              ErrorCode::kAuthenticationFailed, "found 0");
}

TEST(NvGpuRimTest, RealRimsMismatchTheRealReportsAtNamedIndices) {
  // INDEX.md: the nvtrust RIMs do not match the nvtrust report; the VBIOS RIM is for the VBIOS of
  // the attestation-sdk 535.86.09 sample, whose measurements still differ at index 1 (block 2).
  SpdmEvidence ev = ParseSpdmEvidence(ReportBytes(
      "nvidia-attestation-sdk/sample_attestation_data/gpu/hopperAttestationReport.txt")).value();
  Rim vbios = ParseRim(ReadVectorFile(kRims[1].path)).value();
  ExpectError(CompareRimMeasurements("vbios", vbios, ev, kNvdecDisabled), ErrorCode::kAuthenticationFailed,
              "nvgpu: vbios rim: measurement 1 (report block 2) matches none of its 1 reference values");
}

// A RIM re-signed by a test CA: the real driver RIM with its version and reference values made to
// match a report, so that the whole of step 8 can be exercised on a passing case.
struct TestSigner {
  crypto::EvpPkeyPtr key;
  crypto::Certificate cert;
};

TestSigner MakeSigner() {
  crypto::EvpPkeyPtr key(EVP_EC_gen("P-384"));
  crypto::X509Ptr x509(X509_new());
  X509_set_version(x509.get(), 2);
  ASN1_INTEGER_set(X509_get_serialNumber(x509.get()), 7);
  X509_NAME* name = X509_get_subject_name(x509.get());
  X509_NAME_add_entry_by_txt(name, "CN", MBSTRING_ASC,
                             reinterpret_cast<const unsigned char*>("openpcc test RIM signer"), -1, -1, 0);
  X509_set_issuer_name(x509.get(), name);
  ASN1_TIME_set(X509_getm_notBefore(x509.get()), 1600000000);
  ASN1_TIME_set(X509_getm_notAfter(x509.get()), 1900000000);
  X509_set_pubkey(x509.get(), key.get());
  X509_sign(x509.get(), key.get(), EVP_sha384());
  unsigned char* der = nullptr;
  int len = i2d_X509(x509.get(), &der);
  Bytes bytes(der, der + len);
  OPENSSL_free(der);
  return {std::move(key), crypto::Certificate::ParseDer(bytes).value()};
}

std::string Base64(ByteView bytes) {
  std::string out(4 * ((bytes.size() + 2) / 3) + 1, '\0');
  int n = EVP_EncodeBlock(reinterpret_cast<unsigned char*>(out.data()), bytes.data(), static_cast<int>(bytes.size()));
  out.resize(static_cast<size_t>(n));
  return out;
}

std::string Resign(std::string text, const TestSigner& signer) {
  // KeyInfo: the test certificate only.
  size_t begin = text.find("<ds:X509Data>");
  size_t end = text.find("</ds:X509Data>");
  text.replace(begin, end - begin, "<ds:X509Data><ds:X509Certificate>" + Base64(signer.cert.Der()) +
                                       "</ds:X509Certificate>");
  xml::Node root = Must(xml::Parse(text));
  const xml::Node* sig = root.Child("http://www.w3.org/2000/09/xmldsig#", "Signature");
  Bytes digest = crypto::Sha384(AsBytes(xml::Canonicalize(root, sig)));
  text = std::regex_replace(text, std::regex("<ds:DigestValue>[^<]*</ds:DigestValue>"),
                            "<ds:DigestValue>" + Base64(digest) + "</ds:DigestValue>");
  root = Must(xml::Parse(text));
  sig = root.Child("http://www.w3.org/2000/09/xmldsig#", "Signature");
  std::string signed_info = xml::Canonicalize(*sig->Child("http://www.w3.org/2000/09/xmldsig#", "SignedInfo"));
  crypto::EvpMdCtxPtr ctx(EVP_MD_CTX_new());
  EVP_DigestSignInit(ctx.get(), nullptr, EVP_sha384(), nullptr, signer.key.get());
  size_t len = 0;
  EVP_DigestSign(ctx.get(), nullptr, &len, reinterpret_cast<const unsigned char*>(signed_info.data()), signed_info.size());
  Bytes der(len);
  EVP_DigestSign(ctx.get(), der.data(), &len, reinterpret_cast<const unsigned char*>(signed_info.data()), signed_info.size());
  const unsigned char* p = der.data();
  ECDSA_SIG* ecdsa = d2i_ECDSA_SIG(nullptr, &p, static_cast<long>(len));
  Bytes raw(96, 0);
  BN_bn2binpad(ECDSA_SIG_get0_r(ecdsa), raw.data(), 48);
  BN_bn2binpad(ECDSA_SIG_get0_s(ecdsa), raw.data() + 48, 48);
  ECDSA_SIG_free(ecdsa);
  return std::regex_replace(text, std::regex("<ds:SignatureValue>[^<]*</ds:SignatureValue>"),
                            "<ds:SignatureValue>" + Base64(raw) + "</ds:SignatureValue>");
}

// The driver RIM with colloquialVersion `version` and every active reference value set to the
// report's block (index + 1).
std::string RimMatching(const SpdmEvidence& ev, const std::string& version, const std::string& path) {
  std::string text = ReadVectorFile(path);
  text = std::regex_replace(text, std::regex("colloquialVersion=\"[^\"]*\""), "colloquialVersion=\"" + version + "\"");
  Rim rim = Must(ParseRim(text));
  for (const auto& [index, m] : rim.measurements) {
    if (!m.active) continue;
    std::regex resource("(index=\"" + std::to_string(index) + "\" active=\"True\" alternatives=\"1\" ns2:Hash0=\")[0-9a-f]*\"");
    text = std::regex_replace(text, resource, "$01" + HexEncode(ev.Block(static_cast<uint8_t>(index + 1))->value) + "\"");
  }
  return text;
}

TEST(NvGpuRimTest, AMatchingSignedRimPassesAndOneChangedValueFails) {
  Sample s = NvtrustHopper();
  SpdmEvidence ev = ParseSpdmEvidence(s.report).value();
  TestSigner signer = MakeSigner();
  NvGpuPolicy policy;
  policy.at = At(kAt);
  policy.rim_roots_for_testing = {signer.cert};
  policy.driver_rim = Resign(RimMatching(ev, "550.90.07", kRims[0].path), signer);
  policy.vbios_rim = Resign(RimMatching(ev, "96.00.9F.00.01", kRims[1].path), signer);
  Result<NvGpuClaims> claims = VerifyGpuEvidence(s.report, s.chain, ByteView(s.nonce), policy);
  ASSERT_TRUE(claims.ok()) << claims.error().ToString();
  ASSERT_TRUE(claims->driver_rim.has_value());
  EXPECT_EQ(claims->driver_rim->active_measurements, 21u);
  EXPECT_EQ(claims->vbios_rim->version, "96.00.9F.00.01");
  EXPECT_EQ(claims->ToJson().at("vbios_rim").at("version").as_string(), "96.00.9F.00.01");

  // The pinned root refuses the test signer.
  NvGpuPolicy pinned = policy;
  pinned.rim_roots_for_testing.clear();
  ExpectError(VerifyGpuEvidence(s.report, s.chain, ByteView(s.nonce), pinned),
              ErrorCode::kAuthenticationFailed, "nvgpu: driver rim: nvgpu: rim signer: certificate chain");

  // One reference value changed (and re-signed, so only the comparison can catch it).
  std::string text = RimMatching(ev, "550.90.07", kRims[0].path);
  std::string block8 = HexEncode(ev.Block(8)->value);
  size_t at = text.find(block8);
  ASSERT_NE(at, std::string::npos);
  text[at] = text[at] == '0' ? '1' : '0';
  policy.driver_rim = Resign(text, signer);
  ExpectError(VerifyGpuEvidence(s.report, s.chain, ByteView(s.nonce), policy),
              ErrorCode::kAuthenticationFailed,
              "nvgpu: driver rim: measurement 7 (report block 8) matches none of its 1 reference values");

  // The same index active in both manifests.
  policy.driver_rim = Resign(RimMatching(ev, "550.90.07", kRims[0].path), signer);
  std::string vbios = RimMatching(ev, "96.00.9F.00.01", kRims[1].path);
  vbios = std::regex_replace(vbios, std::regex("index=\"7\" active=\"False\" alternatives=\"1\" ns2:Hash0=\"[0-9a-f]*\""),
                             "index=\"7\" active=\"True\" alternatives=\"1\" ns2:Hash0=\"" + block8 + "\"");
  policy.vbios_rim = Resign(vbios, signer);
  ExpectError(VerifyGpuEvidence(s.report, s.chain, ByteView(s.nonce), policy), ErrorCode::kMalformed,
              "nvgpu: rim conflict: measurement 7 is active in both");
}

TEST(NvGpuRimTest, Nvdec0MeasurementCountsOnlyWhenTheEngineIsOn) {
  SpdmEvidence ev = ParseSpdmEvidence(NvtrustHopper().report).value();
  Rim rim = ParseRim(ReadVectorFile(kRims[0].path)).value();
  for (auto& [index, m] : rim.measurements) m.active = false;
  rim.measurements[35].active = true;
  rim.measurements[35].alternatives = {Bytes(48, 0xAB)};  // differs from block 36
  EXPECT_TRUE(CompareRimMeasurements("driver", rim, ev, kNvdecDisabled).ok());
  ExpectError(CompareRimMeasurements("driver", rim, ev, kNvdecEnabled), ErrorCode::kAuthenticationFailed,
              "measurement 35 (report block 36)");
  ExpectError(CompareRimMeasurements("driver", rim, ev, 0x12), ErrorCode::kMalformed, "neither enabled");
}

// ---- XML reader -------------------------------------------------------------------------------

TEST(NvGpuXmlTest, CanonicalizesLikeC14n) {
  auto root = xml::Parse("<?xml version=\"1.0\"?>\r\n<!-- c --><a xmlns=\"urn:x\" xmlns:p=\"urn:p\" z=\"1\" p:b=\"&lt;&#x9;\" a='2'>"
                         "<b xmlns=\"urn:x\" xmlns:p=\"urn:p\"/><!-- c -->t&amp;&gt;\r\n<p:c xmlns:q=\"urn:q\"></p:c></a>  ").value();
  EXPECT_EQ(xml::Canonicalize(root),
            "<a xmlns=\"urn:x\" xmlns:p=\"urn:p\" a=\"2\" z=\"1\" p:b=\"&lt;&#x9;\"><b></b>t&amp;&gt;\n"
            "<p:c xmlns:q=\"urn:q\"></p:c></a>");
  // A subtree renders what is in scope; the omitted child disappears.
  const xml::Node* c = &root.children[2];
  EXPECT_EQ(xml::Canonicalize(*c), "<p:c xmlns=\"urn:x\" xmlns:p=\"urn:p\" xmlns:q=\"urn:q\"></p:c>");
  EXPECT_EQ(xml::Canonicalize(root, c), "<a xmlns=\"urn:x\" xmlns:p=\"urn:p\" a=\"2\" z=\"1\" p:b=\"&lt;&#x9;\"><b></b>t&amp;&gt;\n</a>");
}

TEST(NvGpuXmlTest, RefusesWhatItDoesNotImplement) {
  ExpectError(xml::Parse("<!DOCTYPE a [<!ENTITY x \"y\">]><a/>"), ErrorCode::kUnsupported, "DOCTYPE");
  ExpectError(xml::Parse("<a><![CDATA[x]]></a>"), ErrorCode::kUnsupported, "CDATA");
  ExpectError(xml::Parse("<a>&x;</a>"), ErrorCode::kUnsupported, "not predefined");
  ExpectError(xml::Parse("<a xml:lang=\"en\"/>"), ErrorCode::kUnsupported, "xml:*");
  ExpectError(xml::Parse("<a><?pi?></a>"), ErrorCode::kUnsupported, "processing instructions");
  ExpectError(xml::Parse("<p:a/>"), ErrorCode::kMalformed, "unbound prefix");
  ExpectError(xml::Parse("<a></b>"), ErrorCode::kMalformed, "does not close");
  ExpectError(xml::Parse("<a x='1' x='2'/>"), ErrorCode::kMalformed, "repeated");
  ExpectError(xml::Parse("<a/><b/>"), ErrorCode::kMalformed, "after the document element");
  std::string deep;
  for (int i = 0; i < 40; ++i) deep += "<a>";
  ExpectError(xml::Parse(deep), ErrorCode::kOutOfRange, "too deep");
}

}  // namespace
}  // namespace openpcc::attest::nvgpu
