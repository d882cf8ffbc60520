// tlog/witness.h — the witness state machine behind `openpcc witness` (C2SP tlog-cosignature v1).
//
// For each log it is configured with (origin and log key), the witness keeps the last checkpoint it
// cosigned, persisted atomically (temporary file, fsync, rename) in its state directory before any
// cosignature leaves it. Cosign(note, old_size, proof, now):
//   - the note must carry a valid signature by the log's key and name a configured origin;
//   - `old_size` must be the size the witness last saw (else kFailedPrecondition naming that size,
//     so the log can retry with the right proof — tlog-witness's 409 Conflict);
//   - a smaller tree is a rollback, the same size with another root or a failing RFC 9162
//     consistency proof is a fork: both refused, the stored state unchanged;
//   - otherwise the new checkpoint is stored and cosigned with timestamp `now`.
// Cosigning the same checkpoint again with a newer timestamp is how freshness advances while the
// log does not grow (DESIGN §2.4). The first checkpoint of a log is trusted on first use.
//
// One witness per state directory: Open takes an exclusive flock of "<dir>/lock" for the witness's
// lifetime and fails, naming the directory, while another witness holds it — two witnesses sharing
// state would each cosign from a view the other overwrites.
//
// Thread safety: Cosign and LastSeen may be called from several threads (one mutex).
#pragma once

#include <chrono>
#include <filesystem>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <span>
#include <string>
#include <vector>

#include "openpcc/tlog/checkpoint.h"
#include "openpcc/tlog/cosignature.h"
#include "openpcc/tlog/durable_file.h"

namespace openpcc::tlog {

struct WitnessedLog {
  std::string origin;
  NoteVerifier log_key;
};

class Witness {
 public:
  static Result<std::unique_ptr<Witness>> Open(std::filesystem::path state_dir, Cosigner cosigner,
                                               std::vector<WitnessedLog> logs);

  // The cosignature line(s) to append to the checkpoint (one Ed25519 cosignature/v1 line).
  Result<NoteSignature> Cosign(std::string_view checkpoint_note, uint64_t old_size, std::span<const Hash> proof,
                               std::chrono::sys_seconds now);
  std::optional<Checkpoint> LastSeen(std::string_view origin) const;
  const Cosigner& cosigner() const { return cosigner_; }

 private:
  Witness(std::filesystem::path dir, FileLock lock, Cosigner cosigner, std::vector<WitnessedLog> logs)
      : dir_(std::move(dir)), lock_(std::move(lock)), cosigner_(std::move(cosigner)), logs_(std::move(logs)) {}
  std::filesystem::path StatePath(std::string_view origin) const;

  std::filesystem::path dir_;
  FileLock lock_;
  Cosigner cosigner_;
  std::vector<WitnessedLog> logs_;
  mutable std::mutex mu_;
  std::map<std::string, Checkpoint, std::less<>> last_;
};

}  // namespace openpcc::tlog
