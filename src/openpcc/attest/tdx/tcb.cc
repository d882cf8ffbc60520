#include "openpcc/attest/tdx/tcb.h"

#include <cstdio>

namespace openpcc::attest::tdx {
namespace {

bool LevelMatches(const TcbLevel& level, const PckExtensions& pck, const Svn16& tee_tcb_svn) {
  for (size_t i = 0; i < 16; ++i) {
    if (pck.tcb_components[i] < level.sgx_components[i]) return false;
  }
  if (pck.pce_svn < level.pce_svn) return false;
  if (!level.tdx_components) return false;
  size_t first = tee_tcb_svn[1] != 0 ? 2 : 0;
  for (size_t i = first; i < 16; ++i) {
    if (tee_tcb_svn[i] < (*level.tdx_components)[i]) return false;
  }
  return true;
}

template <size_t N>
bool MaskedEqual(const std::array<uint8_t, N>& value, const std::array<uint8_t, N>& mask,
                 const std::array<uint8_t, N>& expected) {
  for (size_t i = 0; i < N; ++i) {
    if ((value[i] & mask[i]) != expected[i]) return false;
  }
  return true;
}

// A module or QE being out of date lowers the platform status; Revoked overrides everything.
TcbStatus Converge(TcbStatus platform, TcbStatus component) {
  if (component == TcbStatus::kRevoked) return TcbStatus::kRevoked;
  if (component == TcbStatus::kNoMatchingLevel) return TcbStatus::kNoMatchingLevel;
  if (component == TcbStatus::kOutOfDate || component == TcbStatus::kOutOfDateConfigurationNeeded) {
    if (platform == TcbStatus::kUpToDate || platform == TcbStatus::kSWHardeningNeeded) {
      return TcbStatus::kOutOfDate;
    }
    if (platform == TcbStatus::kConfigurationNeeded ||
        platform == TcbStatus::kConfigurationAndSWHardeningNeeded) {
      return TcbStatus::kOutOfDateConfigurationNeeded;
    }
  }
  return platform;
}

Result<TcbStatus> ModuleStatus(const TcbInfo& info, const TdReport& report, TcbEvaluation& eval) {
  uint8_t major = report.tee_tcb_svn[1];
  const TdxModuleIdentity* identity = nullptr;
  if (major == 0) {
    if (!info.tdx_module) {
      return Error(ErrorCode::kMalformed, "tdx: TCB info has no tdxModule for a TDX 1.0 module");
    }
    identity = &*info.tdx_module;
  } else {
    char id[16];
    std::snprintf(id, sizeof(id), "TDX_%02u", static_cast<unsigned>(major));
    eval.tdx_module_id = id;
    for (const TdxModuleIdentity& m : info.tdx_module_identities) {
      if (m.id == id) identity = &m;
    }
    if (identity == nullptr) return TcbStatus::kNoMatchingLevel;  // Intel: not supported
  }
  if (identity->mr_signer != report.mr_signer_seam) {
    return Error(ErrorCode::kAuthenticationFailed,
                 "tdx: TDX module: MRSIGNERSEAM does not match the TCB info's tdx module mrsigner");
  }
  if (!MaskedEqual(report.seam_attributes_raw, identity->attributes_mask, identity->attributes)) {
    return Error(ErrorCode::kAuthenticationFailed,
                 "tdx: TDX module: SEAMATTRIBUTES do not match the TCB info's tdx module attributes");
  }
  if (major == 0) return TcbStatus::kUpToDate;  // TDX 1.0: identity only, no levels
  for (const IsvSvnLevel& level : identity->levels) {
    if (level.isv_svn <= report.tee_tcb_svn[0]) return level.status;
  }
  return TcbStatus::kNoMatchingLevel;
}

}  // namespace

Result<TcbStatus> EvaluateQeIdentity(const QeIdentity& identity, const SgxReport& qe) {
  if (identity.id != "TD_QE") {
    return Error(ErrorCode::kUnsupported,
                 "tdx: QE identity id \"" + identity.id + "\" (expected TD_QE)");
  }
  if (identity.mr_signer != qe.mr_signer) {
    return Error(ErrorCode::kAuthenticationFailed,
                 "tdx: QE identity: QE report MRSIGNER does not match the identity's mrsigner");
  }
  if (identity.isv_prod_id != qe.isv_prod_id) {
    return Error(ErrorCode::kAuthenticationFailed,
                 "tdx: QE identity: QE report ISVPRODID " + std::to_string(qe.isv_prod_id) +
                     " (expected " + std::to_string(identity.isv_prod_id) + ")");
  }
  if ((qe.misc_select & identity.misc_select_mask) != identity.misc_select) {
    return Error(ErrorCode::kAuthenticationFailed,
                 "tdx: QE identity: masked MISCSELECT does not match the identity's miscselect");
  }
  if (!MaskedEqual(qe.attributes, identity.attributes_mask, identity.attributes)) {
    return Error(ErrorCode::kAuthenticationFailed,
                 "tdx: QE identity: masked ATTRIBUTES do not match the identity's attributes");
  }
  for (const IsvSvnLevel& level : identity.levels) {
    if (level.isv_svn <= qe.isv_svn) return level.status;
  }
  return TcbStatus::kNoMatchingLevel;
}

Result<TcbEvaluation> EvaluateTdxTcb(const TcbInfo& info, const PckExtensions& pck,
                                     const TdReport& report, TcbStatus qe_status) {
  if (info.id != "TDX" || info.version < 3) {
    return Error(ErrorCode::kUnsupported, "tdx: TCB info is id \"" + info.id + "\" version " +
                                              std::to_string(info.version) +
                                              " (expected TDX TCB info, version 3)");
  }
  TcbEvaluation eval;
  eval.qe_status = qe_status;
  const TcbLevel* matched = nullptr;
  for (const TcbLevel& level : info.levels) {
    if (LevelMatches(level, pck, report.tee_tcb_svn)) {
      matched = &level;
      break;
    }
  }
  OPENPCC_ASSIGN_OR_RETURN(TcbStatus module, ModuleStatus(info, report, eval));
  eval.tdx_module_status = module;
  if (matched == nullptr) {
    eval.status = TcbStatus::kNoMatchingLevel;
    return eval;
  }
  eval.platform_status = matched->status;
  eval.platform_tcb_date = matched->tcb_date;
  eval.advisory_ids = matched->advisory_ids;
  eval.status = Converge(Converge(matched->status, module), qe_status);
  return eval;
}

}  // namespace openpcc::attest::tdx
