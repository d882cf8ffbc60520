// tlog/log_policy.h — the client's view of the transparency log (DESIGN §2.6): which checkpoints
// to believe, how fresh they are, what is included, and what the log says about releases.
//
//  - LogPolicy: the log's origin and key, the witnesses (name and cosignature/v1 key) and the
//    t-of-n threshold (default 2), the freshness window (default 15 min).
//  - VerifyCheckpoint: the log's signature, then the witnesses' cosignatures; fewer than t valid
//    ones refuses the note. A cosignature by a configured witness that fails to verify refuses the
//    whole note (signed-note rule for known keys); unknown signature lines are ignored.
//    not_before = the oldest timestamp among the t newest valid cosignatures (the quorum that
//    makes the checkpoint freshest); CheckFreshness requires now - not_before <= max_age and
//    refuses quorum timestamps further in the future than max_clock_skew.
//  - VerifyInclusion: an entry proven (RFC 9162) against a verified checkpoint.
//  - CheckpointStore: the latest verified checkpoint per log, persisted (temporary file, fsync,
//    rename) under an exclusive flock of "<dir>/lock" shared by every process of the user (CLI and
//    proxy). A newer checkpoint is accepted only with a consistency proof from the stored one; a
//    smaller tree (rollback) or the same size with another root or a failed proof (fork) is refused,
//    and both notes are kept under "<dir>/evidence/" for the user to publish.
//    Several processes update the same store: a caller reads the stored size (Latest) before it
//    fetches a checkpoint, builds the proof from that size and passes it to Update. If another
//    process stored a different size in between, Update neither checks the proof against a
//    checkpoint it was not built from nor calls an older fetch a rollback: it answers "stored
//    checkpoint changed" (IsStoredCheckpointChanged), keeps no evidence, and the caller reads the
//    store and fetches again.
//  - ReleaseIndex: the log's entries read in order, verified under an EntryKeyring, and what the
//    client enforces from them: known releases, revocations, minimum-TCB notices, the directory.
//
// Thread safety: LogPolicy and verification functions are immutable/pure; a CheckpointStore may be
// used from several threads and processes (the flock serialises updates); a ReleaseIndex is
// single-threaded.
#pragma once

#include <chrono>
#include <filesystem>
#include <map>
#include <optional>
#include <set>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "openpcc/tlog/checkpoint.h"
#include "openpcc/tlog/cosignature.h"
#include "openpcc/tlog/entry.h"
#include "openpcc/tlog/release.h"

namespace openpcc::tlog {

struct LogPolicy {
  std::string origin;
  NoteVerifier log_key;
  std::vector<CosignatureVerifier> witnesses;
  size_t threshold = 2;
  std::chrono::seconds max_age{15 * 60};
  std::chrono::seconds max_clock_skew{5 * 60};

  // From vkeys (the log's: type 0x01, the witnesses': type 0x04). Needs 1 <= threshold <= witnesses
  // and distinct witness names.
  static Result<LogPolicy> Create(std::string_view origin, std::string_view log_vkey,
                                  std::span<const std::string> witness_vkeys, size_t threshold = 2);
};

struct VerifiedCheckpoint {
  Checkpoint checkpoint;
  std::string note;  // the complete note as verified
  std::chrono::sys_seconds not_before;
  std::vector<std::string> quorum;  // the witnesses whose cosignatures set not_before
};

Result<VerifiedCheckpoint> VerifyCheckpoint(const LogPolicy& policy, std::string_view note);
Status CheckFreshness(const LogPolicy& policy, const VerifiedCheckpoint& checkpoint, std::chrono::sys_seconds now);
Status VerifyInclusion(const VerifiedCheckpoint& checkpoint, ByteView entry, uint64_t index, std::span<const Hash> proof);

// Whether `error` (possibly wrapped by a caller's prefix) is CheckpointStore::Update's "stored
// checkpoint changed": nothing was refused; read the store, fetch and try again.
bool IsStoredCheckpointChanged(const Error& error);

class CheckpointStore {
 public:
  explicit CheckpointStore(std::filesystem::path dir) : dir_(std::move(dir)) {}

  // The stored checkpoint of the policy's log, re-verified (signature and quorum; not freshness).
  Result<std::optional<VerifiedCheckpoint>> Latest(const LogPolicy& policy) const;
  // Verifies `note` and makes it the latest if it is consistent with the stored one. `seen_size` is
  // the stored size the caller read (Latest; 0 when nothing was stored) before it fetched `note`,
  // and `proof` the consistency proof from `seen_size` to the note's size (empty when no proof is
  // needed). If the store no longer holds `seen_size` (another process updated it), the answer is
  // the "stored checkpoint changed" error unless the note is of the stored size (then it is
  // compared with the stored root as usual). `now` only names evidence files.
  Result<VerifiedCheckpoint> Update(const LogPolicy& policy, std::string_view note, uint64_t seen_size,
                                    std::span<const Hash> proof, std::chrono::sys_seconds now);
  std::filesystem::path evidence_dir() const { return dir_ / "evidence"; }

 private:
  std::filesystem::path StatePath(const LogPolicy& policy) const;
  Result<std::string> KeepEvidence(const LogPolicy& policy, std::string_view kind, std::string_view stored,
                                   std::string_view offered, std::chrono::sys_seconds now) const;
  std::filesystem::path dir_;
};

class ReleaseIndex {
 public:
  explicit ReleaseIndex(EntryKeyring keyring) : keyring_(std::move(keyring)) {}

  // Entry `index` of the log; entries must be added in log order from 0 (the client reads every
  // entry, so nothing can be hidden between two it has seen).
  Status Add(uint64_t index, ByteView entry);
  uint64_t next_index() const { return next_index_; }

  struct Release {
    uint64_t index;
    ReleaseManifest manifest;
  };
  const Release* FindRelease(ByteView release_id) const;
  bool IsRevoked(ByteView release_id) const;
  // The latest notice for the platform (a later notice replaces an earlier one).
  std::optional<MinimumTcb> MinimumTcbFor(std::string_view platform) const;
  struct Directory {
    uint64_t index;
    std::string body;  // canonical JSON, as logged
  };
  std::optional<Directory> LatestDirectory() const { return directory_; }
  const std::map<std::string, Release>& releases() const { return releases_; }  // by hex release id

 private:
  EntryKeyring keyring_;
  uint64_t next_index_ = 0;
  std::map<std::string, Release> releases_;
  std::map<std::string, Revocation> revocations_;
  std::map<std::string, MinimumTcb, std::less<>> minimum_tcb_;
  std::optional<Directory> directory_;
};

}  // namespace openpcc::tlog
