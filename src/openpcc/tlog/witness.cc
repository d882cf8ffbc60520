#include "openpcc/tlog/witness.h"

#include <system_error>

#include "openpcc/crypto/hash.h"
#include "openpcc/tlog/durable_file.h"

namespace openpcc::tlog {
namespace {

Error WitnessError(ErrorCode code, const std::string& what) { return Error(code, "witness: " + what); }

}  // namespace

std::filesystem::path Witness::StatePath(std::string_view origin) const {
  // Origins are arbitrary text; the file is named by their hash.
  return dir_ / (HexEncode(crypto::Sha256(AsBytes(origin))) + ".checkpoint");
}

Result<std::unique_ptr<Witness>> Witness::Open(std::filesystem::path state_dir, Cosigner cosigner,
                                               std::vector<WitnessedLog> logs) {
  std::error_code ec;
  std::filesystem::create_directories(state_dir, ec);
  if (ec) return WitnessError(ErrorCode::kInternal, "create " + state_dir.string() + ": " + ec.message());
  auto lock = FileLock::Acquire(state_dir / "lock", /*exclusive=*/true, /*try_only=*/true);
  if (!lock.ok()) {
    if (lock.error().code() != ErrorCode::kFailedPrecondition) return WitnessError(lock.error().code(), lock.error().message());
    return WitnessError(ErrorCode::kFailedPrecondition, "state directory " + state_dir.string() +
                                                            " is in use by another witness (" + (state_dir / "lock").string() +
                                                            " is locked); give each witness its own --dir");
  }
  std::unique_ptr<Witness> w(new Witness(std::move(state_dir), std::move(lock).value(), std::move(cosigner), std::move(logs)));
  for (const auto& log : w->logs_) {
    OPENPCC_ASSIGN_OR_RETURN(auto file, ReadFileIfExists(w->StatePath(log.origin), 64 * 1024));
    if (!file) continue;
    auto verified = VerifyCheckpointNote(AsChars(*file), log.origin, log.log_key);
    if (!verified.ok()) {
      return WitnessError(ErrorCode::kFailedPrecondition, "stored state of " + log.origin + ": " + verified.error().message());
    }
    w->last_[log.origin] = verified->checkpoint;
  }
  return w;
}

Result<NoteSignature> Witness::Cosign(std::string_view checkpoint_note, uint64_t old_size, std::span<const Hash> proof,
                                      std::chrono::sys_seconds now) {
  OPENPCC_ASSIGN_OR_RETURN(auto note, ParseNote(checkpoint_note));
  OPENPCC_ASSIGN_OR_RETURN(auto unverified, ParseCheckpointText(note.text));
  const WitnessedLog* log = nullptr;
  for (const auto& l : logs_) {
    if (l.origin == unverified.origin) log = &l;
  }
  if (log == nullptr) return WitnessError(ErrorCode::kUnknownKey, "log \"" + unverified.origin + "\" is not witnessed here");
  auto verified = VerifyCheckpointNote(checkpoint_note, log->origin, log->log_key);
  if (!verified.ok()) return WitnessError(verified.error().code(), verified.error().message());
  const Checkpoint& next = verified->checkpoint;

  std::lock_guard<std::mutex> guard(mu_);
  const auto it = last_.find(log->origin);
  if (it == last_.end()) {
    if (old_size != 0) {
      return WitnessError(ErrorCode::kFailedPrecondition, "old size " + std::to_string(old_size) +
                                                              " given, but no checkpoint of " + log->origin +
                                                              " was seen yet (last seen size 0)");
    }
  } else {
    const Checkpoint& last = it->second;
    if (old_size != last.size) {
      return WitnessError(ErrorCode::kFailedPrecondition, "old size " + std::to_string(old_size) +
                                                              " is not the last seen size " + std::to_string(last.size));
    }
    if (next.size < last.size) {
      return WitnessError(ErrorCode::kFailedPrecondition, "rollback refused: size " + std::to_string(next.size) +
                                                              " is smaller than the last seen size " + std::to_string(last.size));
    }
    if (next.size == last.size && next.root != last.root) {
      return WitnessError(ErrorCode::kAuthenticationFailed, "fork refused: size " + std::to_string(next.size) +
                                                                " was seen with another root hash");
    }
    if (last.size > 0 && next.size > last.size) {
      auto consistent = VerifyConsistency(last.size, next.size, proof, View(last.root), View(next.root));
      if (!consistent.ok()) {
        return WitnessError(ErrorCode::kAuthenticationFailed, "fork refused: " + consistent.error().message());
      }
    }
  }
  // Persist before cosigning: a cosignature must never be given for a state that a crash forgets.
  if (it == last_.end() || it->second != next) {
    OPENPCC_RETURN_IF_ERROR(WriteFileAtomic(StatePath(log->origin), AsBytes(checkpoint_note), /*durable=*/true));
    last_[log->origin] = next;
  }
  const auto seconds = now.time_since_epoch().count();
  if (seconds < 0) return WitnessError(ErrorCode::kInvalidArgument, "time before 1970");
  return cosigner_.Cosign(note.text, static_cast<uint64_t>(seconds));
}

std::optional<Checkpoint> Witness::LastSeen(std::string_view origin) const {
  std::lock_guard<std::mutex> guard(mu_);
  const auto it = last_.find(origin);
  if (it == last_.end()) return std::nullopt;
  return it->second;
}

}  // namespace openpcc::tlog
