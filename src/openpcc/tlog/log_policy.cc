#include "openpcc/tlog/log_policy.h"

#include <algorithm>
#include <system_error>

#include "openpcc/crypto/hash.h"
#include "openpcc/tlog/durable_file.h"

namespace openpcc::tlog {
namespace {

Error PolicyError(ErrorCode code, const std::string& what) { return Error(code, "log policy: " + what); }

constexpr std::string_view kStoredCheckpointChanged = "stored checkpoint changed";

}  // namespace

bool IsStoredCheckpointChanged(const Error& error) {
  return error.code() == ErrorCode::kFailedPrecondition &&
         error.message().find("log policy: " + std::string(kStoredCheckpointChanged)) != std::string::npos;
}

Result<LogPolicy> LogPolicy::Create(std::string_view origin, std::string_view log_vkey,
                                    std::span<const std::string> witness_vkeys, size_t threshold) {
  OPENPCC_ASSIGN_OR_RETURN(auto log_key, NoteVerifier::FromVkey(log_vkey));
  LogPolicy policy{std::string(origin), std::move(log_key), {}, threshold};
  std::set<std::string> names;
  for (const auto& vkey : witness_vkeys) {
    OPENPCC_ASSIGN_OR_RETURN(auto w, CosignatureVerifier::FromVkey(vkey));
    if (!names.insert(w.name()).second) return PolicyError(ErrorCode::kInvalidArgument, "witness " + w.name() + " listed twice");
    policy.witnesses.push_back(std::move(w));
  }
  if (threshold == 0 || threshold > policy.witnesses.size()) {
    return PolicyError(ErrorCode::kInvalidArgument, "threshold " + std::to_string(threshold) + " is not in 1.." +
                                                        std::to_string(policy.witnesses.size()));
  }
  return policy;
}

Result<VerifiedCheckpoint> VerifyCheckpoint(const LogPolicy& policy, std::string_view note) {
  auto verified = VerifyCheckpointNote(note, policy.origin, policy.log_key);
  if (!verified.ok()) return PolicyError(verified.error().code(), verified.error().message());
  struct Valid {
    uint64_t timestamp;
    std::string name;
  };
  std::vector<Valid> valid;
  for (const auto& witness : policy.witnesses) {
    std::optional<uint64_t> newest;
    for (const auto& sig : verified->note.signatures) {
      if (!witness.Matches(sig)) continue;
      auto timestamp = witness.Verify(verified->note.text, sig);
      if (!timestamp.ok()) return PolicyError(timestamp.error().code(), timestamp.error().message());
      newest = std::max(newest.value_or(0), *timestamp);
    }
    if (newest) valid.push_back({*newest, witness.name()});
  }
  if (valid.size() < policy.threshold) {
    return PolicyError(ErrorCode::kAuthenticationFailed, "checkpoint has " + std::to_string(valid.size()) +
                                                             " valid witness cosignatures, the policy requires " +
                                                             std::to_string(policy.threshold));
  }
  // The quorum that makes the checkpoint freshest: the `threshold` newest cosignatures.
  std::sort(valid.begin(), valid.end(), [](const Valid& a, const Valid& b) { return a.timestamp > b.timestamp; });
  VerifiedCheckpoint out{verified->checkpoint, std::string(note), {}, {}};
  for (size_t i = 0; i < policy.threshold; ++i) out.quorum.push_back(valid[i].name);
  const uint64_t oldest = valid[policy.threshold - 1].timestamp;
  out.not_before = std::chrono::sys_seconds(std::chrono::seconds(static_cast<int64_t>(oldest)));
  return out;
}

Status CheckFreshness(const LogPolicy& policy, const VerifiedCheckpoint& checkpoint, std::chrono::sys_seconds now) {
  if (checkpoint.not_before > now + policy.max_clock_skew) {
    return PolicyError(ErrorCode::kFailedPrecondition, "checkpoint cosignatures are dated " +
                                                           std::to_string((checkpoint.not_before - now).count()) +
                                                           " s in the future (clock skew above " +
                                                           std::to_string(policy.max_clock_skew.count()) + " s)");
  }
  if (now - checkpoint.not_before > policy.max_age) {
    return PolicyError(ErrorCode::kFailedPrecondition, "checkpoint is stale: its quorum cosigned " +
                                                           std::to_string((now - checkpoint.not_before).count()) +
                                                           " s ago, the limit is " + std::to_string(policy.max_age.count()) + " s");
  }
  return OkStatus();
}

Status VerifyInclusion(const VerifiedCheckpoint& checkpoint, ByteView entry, uint64_t index, std::span<const Hash> proof) {
  const Hash leaf = LeafHash(entry);
  auto status = tlog::VerifyInclusion(index, checkpoint.checkpoint.size, View(leaf), proof, View(checkpoint.checkpoint.root));
  if (!status.ok()) {
    return PolicyError(status.error().code(), "entry " + std::to_string(index) + " is not proven in the log of size " +
                                                  std::to_string(checkpoint.checkpoint.size) + ": " + status.error().message());
  }
  return OkStatus();
}

std::filesystem::path CheckpointStore::StatePath(const LogPolicy& policy) const {
  return dir_ / (HexEncode(crypto::Sha256(AsBytes(policy.origin))) + ".checkpoint");
}

Result<std::optional<VerifiedCheckpoint>> CheckpointStore::Latest(const LogPolicy& policy) const {
  std::error_code ec;
  std::filesystem::create_directories(dir_, ec);
  OPENPCC_ASSIGN_OR_RETURN(auto lock, FileLock::Acquire(dir_ / "lock", /*exclusive=*/false, /*try_only=*/false));
  OPENPCC_ASSIGN_OR_RETURN(auto file, ReadFileIfExists(StatePath(policy), 64 * 1024));
  if (!file) return std::optional<VerifiedCheckpoint>();
  auto verified = VerifyCheckpoint(policy, AsChars(*file));
  if (!verified.ok()) return PolicyError(verified.error().code(), "stored checkpoint: " + verified.error().message());
  return std::optional<VerifiedCheckpoint>(std::move(verified).value());
}

Result<std::string> CheckpointStore::KeepEvidence(const LogPolicy& policy, std::string_view kind, std::string_view stored,
                                                  std::string_view offered, std::chrono::sys_seconds now) const {
  std::error_code ec;
  std::filesystem::create_directories(evidence_dir(), ec);
  if (ec) return PolicyError(ErrorCode::kInternal, "create " + evidence_dir().string() + ": " + ec.message());
  // The offered note's hash keeps two refusals within the same second apart.
  const std::string base = (evidence_dir() / (std::to_string(now.time_since_epoch().count()) + "-" + std::string(kind) + "-" +
                                              HexEncode(ByteView(crypto::Sha256(AsBytes(policy.origin))).first(4)) + "-" +
                                              HexEncode(ByteView(crypto::Sha256(AsBytes(offered))).first(4))))
                               .string();
  OPENPCC_RETURN_IF_ERROR(WriteFileAtomic(base + "-verified.note", AsBytes(stored)));
  OPENPCC_RETURN_IF_ERROR(WriteFileAtomic(base + "-offered.note", AsBytes(offered)));
  return base;
}

Result<VerifiedCheckpoint> CheckpointStore::Update(const LogPolicy& policy, std::string_view note, uint64_t seen_size,
                                                   std::span<const Hash> proof, std::chrono::sys_seconds now) {
  OPENPCC_ASSIGN_OR_RETURN(auto next, VerifyCheckpoint(policy, note));
  std::error_code ec;
  std::filesystem::create_directories(dir_, ec);
  if (ec) return PolicyError(ErrorCode::kInternal, "create " + dir_.string() + ": " + ec.message());
  OPENPCC_ASSIGN_OR_RETURN(auto lock, FileLock::Acquire(dir_ / "lock", /*exclusive=*/true, /*try_only=*/false));
  OPENPCC_ASSIGN_OR_RETURN(auto file, ReadFileIfExists(StatePath(policy), 64 * 1024));
  if (!file && seen_size != 0) {
    return PolicyError(ErrorCode::kFailedPrecondition, std::string(kStoredCheckpointChanged) + ": size " +
                                                           std::to_string(seen_size) +
                                                           " was read, but none is stored now; read it and fetch again");
  }
  if (file) {
    auto stored = VerifyCheckpoint(policy, AsChars(*file));
    if (!stored.ok()) return PolicyError(stored.error().code(), "stored checkpoint: " + stored.error().message());
    const Checkpoint& old = stored->checkpoint;
    const Checkpoint& neu = next.checkpoint;
    // Another process stored a checkpoint after the caller read `seen_size`: the proof was built
    // for another tree, and a smaller offer may just be an older fetch. Neither is misbehaviour
    // of the log, so nothing is refused and no evidence is kept. A note of the stored size is
    // still compared with it below (another root for that size is a fork whenever it was fetched).
    if (old.size != seen_size && neu.size != old.size) {
      return PolicyError(ErrorCode::kFailedPrecondition,
                         std::string(kStoredCheckpointChanged) + ": size " + std::to_string(old.size) +
                             " was stored by another process after size " + std::to_string(seen_size) +
                             " was read; read it and fetch again");
    }
    if (neu.size < old.size) {
      OPENPCC_ASSIGN_OR_RETURN(auto where, KeepEvidence(policy, "rollback", stored->note, note, now));
      return PolicyError(ErrorCode::kFailedPrecondition,
                         "rollback refused: the log offers size " + std::to_string(neu.size) +
                             ", smaller than the verified size " + std::to_string(old.size) +
                             "; both checkpoints kept in " + where + "-*.note");
    }
    std::optional<std::string> fork;
    if (neu.size == old.size && neu.root != old.root) {
      fork = "the log offers another root hash for size " + std::to_string(neu.size);
    } else if (neu.size > old.size && old.size > 0 && proof.empty()) {
      return PolicyError(ErrorCode::kFailedPrecondition, "size " + std::to_string(neu.size) +
                                                             " needs a consistency proof from the verified size " +
                                                             std::to_string(old.size));
    } else if (neu.size > old.size && old.size > 0) {
      auto consistent = VerifyConsistency(old.size, neu.size, proof, View(old.root), View(neu.root));
      if (!consistent.ok()) {
        fork = "size " + std::to_string(neu.size) + " is not proven consistent with the verified size " +
               std::to_string(old.size) + " (" + consistent.error().message() + ")";
      }
    }
    if (fork) {
      OPENPCC_ASSIGN_OR_RETURN(auto where, KeepEvidence(policy, "fork", stored->note, note, now));
      return PolicyError(ErrorCode::kAuthenticationFailed,
                         "fork refused: " + *fork + "; both checkpoints kept in " + where + "-*.note");
    }
    // The same checkpoint is stored again only if it is fresher (newer cosignatures).
    if (neu.size == old.size && next.not_before <= stored->not_before) return next;
  }
  OPENPCC_RETURN_IF_ERROR(WriteFileAtomic(StatePath(policy), AsBytes(note), /*durable=*/true));
  return next;
}

Status ReleaseIndex::Add(uint64_t index, ByteView entry) {
  if (index != next_index_) {
    return PolicyError(ErrorCode::kInvalidArgument, "entry " + std::to_string(index) + " added, expected entry " +
                                                        std::to_string(next_index_) + " (entries are read in order)");
  }
  auto verified = keyring_.Verify(entry);
  if (!verified.ok()) {
    return PolicyError(verified.error().code(), "log entry " + std::to_string(index) + ": " + verified.error().message());
  }
  switch (verified->kind) {
    case EntryKind::kReleaseManifest: {
      OPENPCC_ASSIGN_OR_RETURN(auto manifest, ParseReleaseManifest(verified->body));
      releases_[HexEncode(ReleaseIdOfBody(verified->body_text))] = Release{index, std::move(manifest)};
      break;
    }
    case EntryKind::kRevocation: {
      OPENPCC_ASSIGN_OR_RETURN(auto revocation, ParseRevocation(verified->body));
      revocations_[HexEncode(revocation.release_id)] = std::move(revocation);
      break;
    }
    case EntryKind::kMinimumTcb: {
      OPENPCC_ASSIGN_OR_RETURN(auto notice, ParseMinimumTcb(verified->body));
      minimum_tcb_[notice.platform] = notice;
      break;
    }
    case EntryKind::kNodeDirectory:
      directory_ = Directory{index, verified->body_text};
      break;
  }
  ++next_index_;
  return OkStatus();
}

const ReleaseIndex::Release* ReleaseIndex::FindRelease(ByteView release_id) const {
  const auto it = releases_.find(HexEncode(release_id));
  return it == releases_.end() ? nullptr : &it->second;
}

bool ReleaseIndex::IsRevoked(ByteView release_id) const { return revocations_.count(HexEncode(release_id)) != 0; }

std::optional<MinimumTcb> ReleaseIndex::MinimumTcbFor(std::string_view platform) const {
  const auto it = minimum_tcb_.find(platform);
  if (it == minimum_tcb_.end()) return std::nullopt;
  return it->second;
}

}  // namespace openpcc::tlog
