// attest/tdx/verify.h — offline verification of Intel TDX evidence (DCAP quote + PCS collateral).
//
// `VerifyTdxQuote` runs every cryptographic and collateral check, in this order, each failing
// closed with an error that names it ("tdx: QE report signature: ..."):
//   1. parse the quote (v4/v5, ECDSA-P256 attestation key, TEE type TDX), then the collateral
//      (`ParseTdxCollateral`: CRLs, TCB info and QE identity JSON, issuer chains);
//   2. PCK certificate chain (PCK ← PCK Platform/Processor CA ← Intel SGX Root CA, pinned) valid at
//      `at`, with the root CRL and the PCK CRL when given; the PCK's SGX extensions;
//   3. QE report signature with the PCK leaf key;
//   4. QE report REPORTDATA = SHA-256(attestation key || QE auth data) || 32 zero bytes;
//   5. quote signature over header (+ v5 body descriptor) and TD report with the attestation key;
//   6. TCB info: FMSPC and PCE-ID equal the PCK certificate's (so collateral of another platform
//      is named as such), its signature over the raw JSON by Intel SGX TCB Signing chained to the
//      pinned root at `at`, issueDate <= at <= nextUpdate;
//   7. QE identity: the same signature, chain and window checks; the QE report matches it;
//   8. the TCB status by Intel's matching algorithm (tcb.h).
// It returns the verified claims, whatever the TCB status. `CheckTdxPolicy` then applies the
// caller's policy (accepted statuses, TD attributes, expected MRCONFIGID/MROWNER/MROWNERCONFIG and
// REPORTDATA); `VerifyTdxEvidence` does both.
//
// Trusted: the pinned Intel SGX Root CA (or the roots the caller passes) and the time `at`; the
// wall clock is never read. Everything in the quote and the collateral is untrusted input.
// Thread safety: pure functions; the pinned root is initialised once, thread-safely.
#pragma once

#include <array>
#include <chrono>
#include <optional>
#include <span>
#include <vector>

#include <boost/json/object.hpp>

#include "openpcc/attest/tdx/collateral.h"
#include "openpcc/attest/tdx/pck.h"
#include "openpcc/attest/tdx/quote.h"
#include "openpcc/attest/tdx/tcb.h"
#include "openpcc/crypto/x509.h"

namespace openpcc::attest::tdx {

// Intel SGX Root CA (SHA-256 of the DER: 44a0196b2b99f889b8e149e95b807a350e7424964399e885a7cbb8ccfab674d3).
std::span<const crypto::Certificate> IntelSgxRoots();

// Collateral as Intel PCS serves it: the response bodies, and the issuer chains from the
// response headers (PEM or URL-encoded PEM). CRLs are DER or PEM.
struct TdxCollateral {
  ByteView tcb_info;
  ByteView tcb_info_chain;
  ByteView qe_identity;
  ByteView qe_identity_chain;
  std::optional<ByteView> pck_crl;
  std::optional<ByteView> pck_crl_chain;
  std::optional<ByteView> root_crl;
};

struct TdxPolicy {
  std::vector<TcbStatus> accepted_statuses{TcbStatus::kUpToDate};
  // DEBUG is always refused: a debug TD's memory and registers are open to the host.
  bool require_sept_ve_disable = true;
  std::optional<Mr48> mr_config_id;
  std::optional<Mr48> mr_owner;
  std::optional<Mr48> mr_owner_config;
  std::optional<std::array<uint8_t, 64>> report_data;
};

struct TdxClaims {
  uint16_t quote_version = 0;
  std::optional<uint16_t> body_type;
  TdReport report;
  std::array<uint8_t, 6> fmspc{};
  std::array<uint8_t, 2> pce_id{};
  uint16_t pce_svn = 0;
  uint16_t qe_isv_svn = 0;
  int tcb_evaluation_data_number = 0;
  TcbEvaluation tcb;

  // Hex for byte fields; names as in Intel's specification, lower case.
  boost::json::object ToJson() const;
};

// Steps 2–5 on a parsed quote (usable without collateral, e.g. to check a quote's origin).
// `crls` apply to every chain (the root CRL); the PCK CRL must be issued by the PCK's issuer, and
// its issuer chain, when given, must lead to `roots`. Returns the PCK's SGX extensions.
Result<PckExtensions> VerifyQuoteSignatures(const Quote& quote, std::chrono::sys_seconds at,
                                            std::span<const crypto::Certificate> roots,
                                            const std::vector<crypto::Crl>& crls,
                                            std::optional<ByteView> pck_crl = std::nullopt,
                                            std::optional<ByteView> pck_crl_chain = std::nullopt);
// Step 6's platform match: the TCB info's FMSPC and PCE-ID against the PCK certificate's.
Status CheckTcbInfoMatchesPck(const TcbInfo& tcb_info, const PckExtensions& pck);

// Step 1 for the collateral alone: what a client that verifies many quotes of one platform parses
// once and keeps (nothing here is verified yet). The SignedJson values point into
// `collateral.tcb_info` and `collateral.qe_identity`, which must outlive the result.
struct ParsedTdxCollateral {
  SignedJson tcb_info_json;
  TcbInfo tcb_info;
  std::vector<crypto::Certificate> tcb_info_chain;
  SignedJson qe_identity_json;
  QeIdentity qe_identity;
  std::vector<crypto::Certificate> qe_identity_chain;
  std::optional<crypto::Crl> pck_crl;
  std::vector<crypto::Certificate> pck_crl_chain;  // empty: not given
  std::vector<crypto::Crl> root_crls;              // the root CRL, when given
};
Result<ParsedTdxCollateral> ParseTdxCollateral(const TdxCollateral& collateral);

Result<TdxClaims> VerifyTdxQuote(ByteView quote, const TdxCollateral& collateral,
                                 std::chrono::sys_seconds at,
                                 std::span<const crypto::Certificate> roots = IntelSgxRoots());
// Steps 2–8 on a parsed quote and parsed collateral; the bytes overload above parses, then calls
// this. Every signature, chain, CRL and validity check still runs.
Result<TdxClaims> VerifyTdxQuote(const Quote& quote, const ParsedTdxCollateral& collateral,
                                 std::chrono::sys_seconds at,
                                 std::span<const crypto::Certificate> roots = IntelSgxRoots());
Status CheckTdxPolicy(const TdxClaims& claims, const TdxPolicy& policy);
Result<TdxClaims> VerifyTdxEvidence(ByteView quote, const TdxCollateral& collateral,
                                    const TdxPolicy& policy, std::chrono::sys_seconds at,
                                    std::span<const crypto::Certificate> roots = IntelSgxRoots());

}  // namespace openpcc::attest::tdx
