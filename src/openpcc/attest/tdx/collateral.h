// attest/tdx/collateral.h — Intel PCS collateral: TCB info and QE identity, as PCS serves them.
//
// PCS answers `GET /tdx/certification/v4/tcb?fmspc=…` with `{"tcbInfo":{…},"signature":"…"}` and
// `GET …/qe/identity` with `{"enclaveIdentity":{…},"signature":"…"}`; the issuer chain (Intel SGX
// TCB Signing ← Intel SGX Root CA) comes in a response header, URL-encoded PEM. The signature is
// ECDSA-P256/SHA-256 (r||s in hex) over the exact bytes of the `tcbInfo` / `enclaveIdentity` value
// as they appear in the body: `ExtractSignedJson` finds that span with a bounds-checked scanner and
// the value is then parsed from those same bytes, so what is used is exactly what was signed
// (never re-serialised).
//
// Parsing (`ParseTcbInfo`, `ParseQeIdentity`) does no crypto; `VerifyCollateralSignature` checks
// the signature, the signer's chain to the pinned root at the given time, and the issueDate ..
// nextUpdate window. Trusted: only the pinned root passed in. Thread safety: pure functions.
#pragma once

#include <array>
#include <chrono>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "openpcc/attest/tdx/quote.h"
#include "openpcc/crypto/x509.h"
#include "openpcc/util/bytes.h"
#include "openpcc/util/result.h"

namespace openpcc::attest::tdx {

enum class TcbStatus : uint8_t {
  kUpToDate,
  kSWHardeningNeeded,
  kConfigurationNeeded,
  kConfigurationAndSWHardeningNeeded,
  kOutOfDate,
  kOutOfDateConfigurationNeeded,
  kRevoked,
  kNoMatchingLevel,  // no TCB level of the collateral matches the platform: not supported
};

std::string_view TcbStatusName(TcbStatus status);
// The statuses Intel's collateral uses; anything else (including "NoMatchingLevel") fails.
Result<TcbStatus> ParseTcbStatus(std::string_view text);

struct TcbLevel {
  std::array<uint8_t, 16> sgx_components{};
  uint16_t pce_svn = 0;
  std::optional<std::array<uint8_t, 16>> tdx_components;  // TCB info v3 for TDX
  std::string tcb_date;
  TcbStatus status = TcbStatus::kNoMatchingLevel;
  std::vector<std::string> advisory_ids;
};

// A level of an ISVSVN-indexed list (QE identity, TDX module identity).
struct IsvSvnLevel {
  uint16_t isv_svn = 0;
  std::string tcb_date;
  TcbStatus status = TcbStatus::kNoMatchingLevel;
};

struct TdxModuleIdentity {
  std::string id;  // "TDX_01", … (from TEE_TCB_SVN[1], the module's major version)
  Mr48 mr_signer{};
  std::array<uint8_t, 8> attributes{};
  std::array<uint8_t, 8> attributes_mask{};
  std::vector<IsvSvnLevel> levels;  // highest first, as Intel signs them
};

struct TcbInfo {
  std::string id;  // "TDX" for TDX TCB info (v3); "SGX" or absent for SGX
  int version = 0;
  std::chrono::sys_seconds issue_date{};
  std::chrono::sys_seconds next_update{};
  std::array<uint8_t, 6> fmspc{};
  std::array<uint8_t, 2> pce_id{};
  int tcb_evaluation_data_number = 0;
  // TDX 1.0 module (no TCB levels of its own): mrsigner and attributes only.
  std::optional<TdxModuleIdentity> tdx_module;
  std::vector<TdxModuleIdentity> tdx_module_identities;
  std::vector<TcbLevel> levels;  // highest first, as Intel signs them
};

struct QeIdentity {
  std::string id;  // "TD_QE" for TDX
  int version = 0;
  std::chrono::sys_seconds issue_date{};
  std::chrono::sys_seconds next_update{};
  int tcb_evaluation_data_number = 0;
  uint32_t misc_select = 0;
  uint32_t misc_select_mask = 0;
  std::array<uint8_t, 16> attributes{};
  std::array<uint8_t, 16> attributes_mask{};
  std::array<uint8_t, 32> mr_signer{};
  uint16_t isv_prod_id = 0;
  std::vector<IsvSvnLevel> levels;
};

// The signed value of a PCS body and its signature.
struct SignedJson {
  std::string_view value;                   // raw bytes of the member's value, inside the body
  std::array<uint8_t, 64> signature{};      // r || s
};

// Finds the top-level member `key` of `body` (an object with exactly that member and "signature").
Result<SignedJson> ExtractSignedJson(std::string_view body, std::string_view key);

Result<TcbInfo> ParseTcbInfo(std::string_view tcb_info_value);
Result<QeIdentity> ParseQeIdentity(std::string_view enclave_identity_value);

// A PCS issuer chain: PEM, or URL-encoded PEM as in the SGX-TCB-Info-Issuer-Chain header.
Result<std::vector<crypto::Certificate>> ParseIssuerChain(ByteView pem_or_url_encoded);

// Checks `signed_json.signature` with the first certificate of `chain` (which must be Intel SGX
// TCB Signing), that certificate's chain to `roots` at `at` (with `crls`), and
// issue_date <= at <= next_update. `what` prefixes errors ("tdx: TCB info").
Status VerifyCollateralSignature(std::string_view what, const SignedJson& signed_json,
                                 std::span<const crypto::Certificate> chain,
                                 std::span<const crypto::Certificate> roots,
                                 const std::vector<crypto::Crl>& crls, std::chrono::sys_seconds at);
Status CheckCollateralWindow(std::string_view what, std::chrono::sys_seconds issue_date,
                             std::chrono::sys_seconds next_update, std::chrono::sys_seconds at);

}  // namespace openpcc::attest::tdx
