// attest/snp/report.h — the AMD SEV-SNP ATTESTATION_REPORT, parsed (no crypto, no policy).
//
// The report is the 1184-byte (0x4A0) structure of AMD's SEV-SNP firmware ABI specification
// (publication 56860, "ATTESTATION_REPORT Structure"). Bytes 0x000..0x29F are signed by the VCEK or
// VLEK with ECDSA P-384/SHA-384; the signature at 0x2A0 holds r and s as 72-byte little-endian
// integers. Versions understood here:
//   2  the original layout; 0x188..0x19F reserved.
//   3  adds CPUID_FAM_ID, CPUID_MOD_ID, CPUID_STEP at 0x188..0x18A (ABI 1.56), which tell the
//      processor family and hence the TCB_VERSION layout.
//   4  same layout as 3 (GCE emits it today).
//   5  adds LAUNCH_MIT_VECTOR (0x1F8) and CURRENT_MIT_VECTOR (0x200) (ABI 1.58).
// Reserved fields are not required to be zero: the verifier trusts nothing in the report before its
// signature is checked, and rejecting unknown bits would refuse reports from newer firmware.
//
// Parsing trusts nothing and proves nothing: every value here is attacker-controlled until
// VerifySnpReport (verify.h) has checked the signature and the certificate chain.
//
// Thread safety: plain values and pure functions.
#pragma once

#include <array>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

#include "openpcc/util/bytes.h"
#include "openpcc/util/result.h"

namespace openpcc::attest::snp {

inline constexpr size_t kReportSize = 0x4A0;
inline constexpr size_t kSignedLength = 0x2A0;  // bytes 0x000..0x29F
inline constexpr size_t kSignatureComponentLength = 72;
inline constexpr uint32_t kMinReportVersion = 2;
inline constexpr uint32_t kMaxReportVersion = 5;
inline constexpr uint32_t kSignatureAlgoEcdsaP384Sha384 = 1;

// The processor generations AMD signs reports for; each has its own ARK, ASK and ASVK.
enum class SnpFamily : uint8_t { kMilan, kGenoa, kTurin };
std::string_view SnpFamilyName(SnpFamily family);  // "Milan", "Genoa", "Turin"
// The family named by a VCEK/VLEK product name ("Milan-B0", "Genoa", "Turin"): the part before '-'.
std::optional<SnpFamily> SnpFamilyFromProductName(std::string_view product_name);
// The family of a CPUID family/model pair (v3+ reports): 19h models 0xh → Milan, 1xh and Axh →
// Genoa; 1Ah models 0xh and 1xh → Turin. nullopt for anything else.
std::optional<SnpFamily> SnpFamilyFromCpuid(uint8_t family_id, uint8_t model_id);

// TCB_VERSION, a u64 whose byte layout depends on the family: Milan and Genoa put BOOT_LOADER,
// TEE, SNP and MICROCODE in bytes 0, 1, 6, 7; Turin puts FMC, BOOT_LOADER, TEE, SNP in bytes 0..3
// and MICROCODE in byte 7.
struct SnpTcb {
  uint64_t raw = 0;
  uint8_t bootloader = 0;
  uint8_t tee = 0;
  uint8_t snp = 0;
  uint8_t microcode = 0;
  std::optional<uint8_t> fmc;  // Turin only

  friend bool operator==(const SnpTcb&, const SnpTcb&) = default;
};
SnpTcb DecodeTcb(uint64_t raw, SnpFamily family);
// The inverse, for building reports in tests and for policy minimums given per component.
uint64_t EncodeTcb(const SnpTcb& tcb, SnpFamily family);
// "bl 2 tee 0 snp 5 ucode 68" (plus "fmc N" on Turin), for messages.
std::string TcbToString(const SnpTcb& tcb);

// Guest POLICY bits (ABI "GUEST_POLICY").
struct SnpGuestPolicy {
  uint64_t raw = 0;
  uint8_t abi_minor = 0;
  uint8_t abi_major = 0;
  bool smt = false;           // bit 16: SMT is allowed
  bool migrate_ma = false;    // bit 18: a migration agent may be associated
  bool debug = false;         // bit 19: the host may debug (decrypt) the guest
  bool single_socket = false; // bit 20
  bool cxl_allow = false;     // bit 21
  bool mem_aes_256_xts = false;  // bit 22
  bool rapl_dis = false;      // bit 23
  bool ciphertext_hiding = false;  // bit 24
  bool page_swap_disable = false;  // bit 25
};
SnpGuestPolicy DecodeGuestPolicy(uint64_t raw);

// PLATFORM_INFO bits.
struct SnpPlatformInfo {
  uint64_t raw = 0;
  bool smt_enabled = false;         // bit 0
  bool tsme_enabled = false;        // bit 1
  bool ecc_enabled = false;         // bit 2
  bool rapl_disabled = false;       // bit 3
  bool ciphertext_hiding_enabled = false;  // bit 4
  bool alias_check_complete = false;  // bit 5
};
SnpPlatformInfo DecodePlatformInfo(uint64_t raw);

enum class SnpSigningKey : uint8_t { kVcek = 0, kVlek = 1, kNone = 7 };
std::string_view SnpSigningKeyName(SnpSigningKey key);

struct SnpFirmwareVersion {
  uint8_t major = 0;
  uint8_t minor = 0;
  uint8_t build = 0;
};

struct SnpCpuid {
  uint8_t family_id = 0;  // combined extended family and family
  uint8_t model_id = 0;   // combined extended model and model
  uint8_t stepping = 0;
};

struct SnpReport {
  uint32_t version = 0;
  uint32_t guest_svn = 0;
  SnpGuestPolicy policy;
  std::array<uint8_t, 16> family_id{};
  std::array<uint8_t, 16> image_id{};
  uint32_t vmpl = 0;
  uint32_t signature_algo = 0;
  uint64_t current_tcb = 0;  // raw TCB_VERSIONs: decoding needs the family (DecodeTcb)
  SnpPlatformInfo platform_info;
  bool author_key_en = false;
  bool mask_chip_id = false;
  uint8_t signing_key_raw = 0;  // KEY_INFO bits 4:2; see signing_key()
  std::array<uint8_t, 64> report_data{};
  std::array<uint8_t, 48> measurement{};
  std::array<uint8_t, 32> host_data{};
  std::array<uint8_t, 48> id_key_digest{};
  std::array<uint8_t, 48> author_key_digest{};
  std::array<uint8_t, 32> report_id{};
  std::array<uint8_t, 32> report_id_ma{};
  uint64_t reported_tcb = 0;
  std::optional<SnpCpuid> cpuid;  // version >= 3
  std::array<uint8_t, 64> chip_id{};
  uint64_t committed_tcb = 0;
  SnpFirmwareVersion current_version;
  SnpFirmwareVersion committed_version;
  uint64_t launch_tcb = 0;
  std::optional<uint64_t> launch_mit_vector;   // version >= 5
  std::optional<uint64_t> current_mit_vector;  // version >= 5
  // The signature's r and s, converted to big-endian (48 significant bytes of the 72-byte fields;
  // the parser rejects a signature whose upper 24 bytes are not zero).
  std::array<uint8_t, 48> signature_r{};
  std::array<uint8_t, 48> signature_s{};
  // The signed bytes 0x000..0x29F, as received (never re-serialised).
  Bytes signed_bytes;

  // Unknown SIGNING_KEY values (2..6) are rejected by the parser.
  SnpSigningKey signing_key() const { return static_cast<SnpSigningKey>(signing_key_raw); }
  // The family the CPUID fields name (v3+ only, nullopt for unknown CPUIDs).
  std::optional<SnpFamily> CpuidFamily() const;
};

// Parses exactly kReportSize bytes. Fails on another length, a version outside 2..5, a reserved
// SIGNING_KEY value, or a signature component wider than P-384.
Result<SnpReport> ParseSnpReport(ByteView bytes);

// A report (or HCL report) given as raw bytes or as hex text (whitespace allowed), the two forms
// the vectors use. Input made only of hex digits and whitespace is hex; anything else is raw.
Result<Bytes> DecodeReportBytes(ByteView raw_or_hex);

}  // namespace openpcc::attest::snp
