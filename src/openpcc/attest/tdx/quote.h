// attest/tdx/quote.h — Intel TDX DCAP quotes (versions 4 and 5), parsed without any crypto.
//
// A quote is what a TD presents as evidence: a 48-byte header, the TD report body (TDX 1.0 or 1.5),
// and the signature data: the attestation key's ECDSA-P256 signature over header and body, the
// attestation public key, and certification data type 6 — the Quoting Enclave's SGX report, its
// signature by the PCK key, the QE authentication data, and (nested type 5) the PCK certificate
// chain in PEM. `ParseQuote` only decodes; it trusts nothing and verifies nothing (verify.h does).
//
// Every read goes through wire::ByteReader. Bytes after the signature data are tolerated (the
// vectors carry 39 text bytes, 70 zero bytes, or a whole 8000-byte buffer; real quote-generation
// APIs hand back fixed-size buffers too) and counted in `trailing_bytes`: they are outside both
// signed regions, so they cannot change what is verified.
//
// Thread safety: plain values and a pure function.
#pragma once

#include <array>
#include <cstdint>
#include <optional>

#include "openpcc/util/bytes.h"
#include "openpcc/util/result.h"

namespace openpcc::attest::tdx {

using Mr48 = std::array<uint8_t, 48>;  // SHA-384-sized measurement registers
using Svn16 = std::array<uint8_t, 16>;

inline constexpr uint16_t kAttestationKeyEcdsaP256 = 2;
inline constexpr uint32_t kTeeTypeTdx = 0x81;
inline constexpr uint16_t kBodyTypeTdx10 = 2;  // v5 body descriptor: TD report, TDX 1.0
inline constexpr uint16_t kBodyTypeTdx15 = 3;  // TD report, TDX 1.5
inline constexpr size_t kTdReport10Size = 584;
inline constexpr size_t kTdReport15Size = 648;
inline constexpr size_t kSgxReportSize = 384;

// TDATTRIBUTES bits (Intel TDX module ABI).
inline constexpr uint64_t kTdAttributeDebug = uint64_t{1} << 0;
inline constexpr uint64_t kTdAttributeSeptVeDisable = uint64_t{1} << 28;

struct QuoteHeader {
  uint16_t version = 0;
  uint16_t attestation_key_type = 0;
  uint32_t tee_type = 0;
  uint16_t qe_svn = 0;   // "reserved" in the spec, QE SVN in practice
  uint16_t pce_svn = 0;
  std::array<uint8_t, 16> qe_vendor_id{};
  std::array<uint8_t, 20> user_data{};
};

struct TdReport {
  Svn16 tee_tcb_svn{};
  Mr48 mr_seam{};
  Mr48 mr_signer_seam{};
  uint64_t seam_attributes = 0;  // little-endian in the quote
  uint64_t td_attributes = 0;
  uint64_t xfam = 0;
  std::array<uint8_t, 8> seam_attributes_raw{};
  std::array<uint8_t, 8> td_attributes_raw{};
  std::array<uint8_t, 8> xfam_raw{};
  Mr48 mr_td{};
  Mr48 mr_config_id{};
  Mr48 mr_owner{};
  Mr48 mr_owner_config{};
  std::array<Mr48, 4> rtmr{};
  std::array<uint8_t, 64> report_data{};
  // TDX 1.5 only.
  std::optional<Svn16> tee_tcb_svn2;
  std::optional<Mr48> mr_service_td;
};

// The Quoting Enclave's SGX report body (384 bytes).
struct SgxReport {
  std::array<uint8_t, 16> cpu_svn{};
  uint32_t misc_select = 0;
  std::array<uint8_t, 16> attributes{};
  std::array<uint8_t, 32> mr_enclave{};
  std::array<uint8_t, 32> mr_signer{};
  uint16_t isv_prod_id = 0;
  uint16_t isv_svn = 0;
  std::array<uint8_t, 64> report_data{};
};

struct Quote {
  QuoteHeader header;
  std::optional<uint16_t> body_type;  // v5 only
  TdReport body;
  Bytes signed_region;                // header (and v5 body descriptor) and body, as signed
  std::array<uint8_t, 64> signature{};       // r || s, big-endian
  std::array<uint8_t, 64> attestation_key{};  // x || y, big-endian (P-256)
  Bytes qe_report_raw;                // the 384 bytes the PCK key signed
  SgxReport qe_report;
  std::array<uint8_t, 64> qe_report_signature{};
  Bytes qe_auth_data;
  Bytes pck_chain_pem;                // certification data type 5, NUL padding removed
  size_t trailing_bytes = 0;
};

Result<SgxReport> ParseSgxReport(ByteView bytes);
Result<Quote> ParseQuote(ByteView bytes);

}  // namespace openpcc::attest::tdx
