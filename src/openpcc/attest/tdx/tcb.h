// attest/tdx/tcb.h — Intel's TCB status evaluation for TDX, as pure functions.
//
// Given verified collateral and the platform's values, decide what Intel says about this TCB:
//  1. Platform level: walk TCB info's levels in order (Intel signs them highest first). A level
//     matches when every SGX TCB component SVN and the PCESVN from the PCK certificate are >= the
//     level's and every TEE_TCB_SVN byte of the TD report is >= its tdxtcbcomponents — except bytes
//     0 and 1 when TEE_TCB_SVN[1] (the TDX module major version) is not 0, because those belong to
//     the TDX module identity. The first match gives the status; none means NoMatchingLevel.
//  2. TDX module: with TEE_TCB_SVN[1] = 0 the `tdxModule` mrsigner/attributes must match
//     MRSIGNERSEAM/SEAMATTRIBUTES; otherwise the identity "TDX_<major, 2 digits>" must match and its
//     levels give the module status for ISVSVN = TEE_TCB_SVN[0]. A module OutOfDate makes
//     UpToDate/SWHardeningNeeded OutOfDate and Configuration* OutOfDateConfigurationNeeded.
//  3. QE identity: MRSIGNER, ISVPRODID, masked MISCSELECT and ATTRIBUTES must match; the first level
//     with ISVSVN <= the QE's gives the QE status, which converges the same way (Revoked wins).
// Intel's TD-relaunch advice (TEE_TCB_SVN2 of TDX 1.5) is not evaluated.
//
// Thread safety: pure functions.
#pragma once

#include <optional>
#include <string>
#include <vector>

#include "openpcc/attest/tdx/collateral.h"
#include "openpcc/attest/tdx/pck.h"
#include "openpcc/attest/tdx/quote.h"

namespace openpcc::attest::tdx {

struct TcbEvaluation {
  TcbStatus status = TcbStatus::kNoMatchingLevel;  // after convergence with module and QE
  std::optional<TcbStatus> platform_status;        // the matched level's, if any
  std::optional<std::string> platform_tcb_date;
  std::vector<std::string> advisory_ids;
  std::optional<std::string> tdx_module_id;        // "TDX_01", … for TDX 1.5+ modules
  std::optional<TcbStatus> tdx_module_status;
  TcbStatus qe_status = TcbStatus::kNoMatchingLevel;
};

// Step 3's identity match and the QE's status (kNoMatchingLevel when no level covers its ISVSVN).
// Fails when the QE is not the one Intel's identity describes.
Result<TcbStatus> EvaluateQeIdentity(const QeIdentity& identity, const SgxReport& qe_report);

// Steps 1–2 and the convergence with `qe_status`. Fails when the TCB info is not TDX v3 or the TDX
// module's signer or attributes differ from the collateral's.
Result<TcbEvaluation> EvaluateTdxTcb(const TcbInfo& tcb_info, const PckExtensions& pck,
                                     const TdReport& report, TcbStatus qe_status);

}  // namespace openpcc::attest::tdx
