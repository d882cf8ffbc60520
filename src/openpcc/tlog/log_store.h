// tlog/log_store.h — the durable, append-only transparency log behind `openpcc tlog`.
//
// Append(batch) validates every entry (the configured acceptor, e.g. EntryKeyring::Verify), writes
// them to the log, makes them durable, and publishes a new checkpoint signed by the log key; the
// returned checkpoint is the acknowledgement. Reads serve the C2SP tlog-tiles resources by path
// (ReadPath: "checkpoint", "tile/<L>/<N>[.p/<W>]", "tile/entries/<N>[.p/<W>]"), so an HTTP layer
// is a thin mapping, and proofs for witnesses and clients.
//
// On disk, in `dir`:
//   entries     every entry in log order as u16 length || bytes (the entry-bundle encoding);
//               append-only, the authoritative record
//   checkpoint  the latest signed checkpoint (log signature only), replaced atomically
//   cosignatures  the current checkpoint's text, a blank line, and its witness cosignature lines
//   cosigned    the served checkpoint (below): the newest one that reached the witness quorum,
//               with its cosignatures, as a complete note
//   tile/...    full tiles and full entry bundles; derived data, checked and rewritten on open.
//               Partial tiles are served from memory (a prefix of what the store has).
//   lock        flock: one process per log directory
//
// Crash safety. Append writes the entries, fdatasyncs them, writes tiles, then replaces the
// checkpoint (temp file, fsync, rename, fsync dir), and only then returns. Open reads the
// checkpoint (size N, root R), takes the first N entries of `entries`, checks that their Merkle
// root is R, cuts off anything after them (an unacknowledged, possibly torn batch), and rebuilds
// the tiles. So every acknowledged entry survives (it was durable before its checkpoint was), and
// the recovered tree is the last published one — never a different tree of the same or a larger
// size — so it is consistent with every checkpoint ever returned. A published checkpoint is only
// ever read from the file, so no signed-but-unpersisted checkpoint can escape.
//
// The served checkpoint. A new checkpoint carries only the log's signature until the witnesses
// have cosigned it, and clients refuse it until then (DESIGN §2.6). So with witnesses configured,
// CheckpointNote (GET /checkpoint) keeps serving the newest checkpoint that `witness_quorum`
// distinct configured witnesses have cosigned, with its cosignatures, until the new one has that
// many; tiles and entries of its (smaller) tree stay readable, as prefixes of the current ones.
// Before any checkpoint reached the quorum, and for a log without witnesses, the newest is served.
// The appender gets the newest one in AppendResult (its inclusion proofs are against it), and the
// witnesses get it from LatestCheckpointNote.
//
// Thread safety: all methods may be called from several threads; one mutex serialises them (reads
// wait while an append is making its batch durable).
#pragma once

#include <cstdint>
#include <filesystem>
#include <functional>
#include <memory>
#include <mutex>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "openpcc/tlog/checkpoint.h"
#include "openpcc/tlog/cosignature.h"
#include "openpcc/tlog/durable_file.h"
#include "openpcc/tlog/merkle.h"
#include "openpcc/tlog/note.h"
#include "openpcc/tlog/tiles.h"

namespace openpcc::tlog {

// Points in Append at which a crash test can stop the process (the hook may SIGKILL itself).
enum class CrashPoint {
  kAfterWrite,       // entries written, not yet fsynced
  kAfterFsync,       // entries durable, no checkpoint yet
  kAfterCheckpoint,  // new checkpoint durable, Append not yet returned (not acknowledged)
};

struct LogStoreOptions {
  std::filesystem::path dir;
  std::string origin;  // checkpoint origin; also the log key's name
  // Checks an entry before it is accepted (e.g. EntryKeyring::Verify); empty accepts any entry.
  std::function<Status(ByteView entry)> accept;
  size_t max_batch = 4096;
  // Witnesses whose cosignatures the log collects and serves.
  std::vector<CosignatureVerifier> witnesses;
  // How many distinct `witnesses` must cosign a checkpoint before it is served (1..witnesses).
  size_t witness_quorum = 1;
  // Tests only: called at each CrashPoint of every Append.
  std::function<void(CrashPoint)> crash_hook;
};

struct AppendResult {
  uint64_t first_index = 0;  // index of the batch's first entry
  uint64_t tree_size = 0;
  std::string checkpoint_note;  // the signed checkpoint that includes the batch
};

class LogStore {
 public:
  // Opens (or creates, if `dir` holds no checkpoint) the log, recovering as described above.
  static Result<std::unique_ptr<LogStore>> Open(LogStoreOptions options, NoteSigner log_signer);

  Result<AppendResult> Append(std::span<const Bytes> entries);

  // The newest checkpoint (the last one appended).
  Checkpoint checkpoint() const;
  // The served checkpoint note (see above): the newest one that reached the witness quorum, with
  // its cosignatures; the newest one if none did yet or no witness is configured.
  std::string CheckpointNote() const;
  // The newest checkpoint note with the cosignatures collected for it so far (what the witnesses
  // are asked to cosign).
  std::string LatestCheckpointNote() const;
  // "checkpoint" or a tile / entry bundle path (tlog/tiles.h). kOutOfRange for a resource the
  // published tree does not (yet) contain.
  Result<Bytes> ReadPath(std::string_view path) const;
  Result<Bytes> ReadEntry(uint64_t index) const;
  // Proofs within the published tree.
  Result<std::vector<Hash>> InclusionProof(uint64_t index, uint64_t tree_size) const;
  Result<std::vector<Hash>> ConsistencyProof(uint64_t old_size, uint64_t new_size) const;

  // Records a witness's cosignature lines for the current checkpoint (each must verify under a
  // configured witness); a newer cosignature by the same witness replaces the older one.
  Status AddCosignatures(std::string_view signature_lines);

  ~LogStore();

 private:
  LogStore(LogStoreOptions options, NoteSigner signer, FileLock lock);
  class Source;
  Status Recover();
  Status CreateEmpty();
  Status AddLeaf(const Bytes& entry, bool check_existing);
  Status WriteDerived(const std::filesystem::path& path, ByteView contents, bool check_existing);
  Result<Bytes> ReadHashTile(int level, uint64_t index, uint32_t width, uint64_t tree_size) const;
  Result<Bytes> ReadBundle(uint64_t index, uint32_t width, uint64_t tree_size) const;
  Result<std::string> PublishCheckpoint(uint64_t size);
  Status PersistCosignatures();
  std::string LatestNoteLocked() const;
  size_t CosignedByLocked() const;  // distinct configured witnesses in cosignatures_
  Status RecoverServed(uint64_t tree_size);

  LogStoreOptions options_;
  NoteSigner signer_;
  NoteVerifier verifier_;
  FileLock lock_;
  mutable std::mutex mu_;
  int entries_fd_ = -1;
  uint64_t entries_end_ = 0;  // byte offset after the last entry
  uint64_t size_ = 0;         // entries in the tree (memory)
  Checkpoint checkpoint_;     // published
  std::string checkpoint_note_;
  std::vector<NoteSignature> cosignatures_;
  std::string served_note_;  // the newest checkpoint that reached the quorum; empty if none did
  std::vector<std::vector<Hash>> partial_tiles_;  // per tile level: hashes of the incomplete tile
  std::vector<Bytes> partial_bundle_;
  bool failed_ = false;  // an append failed half-way: the store must be reopened
};

}  // namespace openpcc::tlog
