#include "openpcc/services/node/log_freshness.h"

#include "openpcc/attest/bundle_builder.h"

namespace openpcc::services::node {

Result<bool> LogFreshness::Refresh(std::chrono::sys_seconds now) {
  OPENPCC_ASSIGN_OR_RETURN(std::string note, fetch_());
  OPENPCC_ASSIGN_OR_RETURN(tlog::VerifiedCheckpoint verified, tlog::VerifyCheckpoint(policy_, note));
  OPENPCC_RETURN_IF_ERROR(tlog::CheckFreshness(policy_, verified, now));
  std::lock_guard lock(mu_);
  if (verified.checkpoint.size < size_) {
    return Error(ErrorCode::kFailedPrecondition,
                 "log freshness: the log's checkpoint (size " + std::to_string(verified.checkpoint.size) +
                     ") is smaller than the one already verified (size " + std::to_string(size_) + ")");
  }
  const bool changed = verified.note != note_;
  note_ = std::move(verified.note);
  size_ = verified.checkpoint.size;
  return changed;
}

attest::BundleFreshness LogFreshness::Current() const {
  std::lock_guard lock(mu_);
  if (note_.empty()) {
    attest::BundleFreshness empty;
    empty.binding.kind = attest::FreshnessKind::kLogCheckpoint;
    return empty;
  }
  return attest::FreshnessFromCheckpoint(note_);
}

uint64_t LogFreshness::size() const {
  std::lock_guard lock(mu_);
  return size_;
}

}  // namespace openpcc::services::node
