#include "openpcc/tlog/log_store.h"

#include <fcntl.h>
#include <unistd.h>

#include <cerrno>
#include <set>
#include <string>
#include <system_error>

#include "openpcc/wire/byte_reader.h"
#include "openpcc/wire/byte_writer.h"

namespace openpcc::tlog {
namespace {

namespace fs = std::filesystem;

constexpr size_t kMaxCheckpointFile = 64 * 1024;

Error StoreError(ErrorCode code, const std::string& what) { return Error(code, "log: " + what); }

Status PwriteAll(int fd, ByteView data, uint64_t offset) {
  size_t done = 0;
  while (done < data.size()) {
    const ssize_t n = ::pwrite(fd, data.data() + done, data.size() - done, static_cast<off_t>(offset + done));
    if (n < 0) {
      if (errno == EINTR) continue;
      return ErrnoError("log: write entries");
    }
    done += static_cast<size_t>(n);
  }
  return OkStatus();
}

// Reads u16-length-prefixed records from a file descriptor, in chunks.
class RecordReader {
 public:
  explicit RecordReader(int fd) : fd_(fd) {}
  // 1 = a record, 0 = clean end or a torn record at the end, -1 = read error.
  int Next(Bytes* out) {
    if (!Fill(2)) return error_ ? -1 : 0;
    const size_t length = (size_t{buffer_[pos_]} << 8) | buffer_[pos_ + 1];
    if (!Fill(2 + length)) return error_ ? -1 : 0;
    out->assign(buffer_.begin() + static_cast<ptrdiff_t>(pos_ + 2),
                buffer_.begin() + static_cast<ptrdiff_t>(pos_ + 2 + length));
    pos_ += 2 + length;
    offset_ += 2 + length;
    return 1;
  }
  uint64_t offset() const { return offset_; }  // after the last record returned

 private:
  bool Fill(size_t want) {
    while (buffer_.size() - pos_ < want) {
      if (pos_ > 0) {
        buffer_.erase(buffer_.begin(), buffer_.begin() + static_cast<ptrdiff_t>(pos_));
        pos_ = 0;
      }
      uint8_t chunk[1 << 16];
      const ssize_t n = ::read(fd_, chunk, sizeof(chunk));
      if (n < 0) {
        if (errno == EINTR) continue;
        error_ = true;
        return false;
      }
      if (n == 0) return false;
      buffer_.insert(buffer_.end(), chunk, chunk + n);
    }
    return true;
  }
  int fd_;
  Bytes buffer_;
  size_t pos_ = 0;
  uint64_t offset_ = 0;
  bool error_ = false;
};

}  // namespace

// Tiles of the tree of `tree_size` leaves, served from the store (full tiles from disk, the
// incomplete ones from memory).
class LogStore::Source : public TileSource {
 public:
  Source(const LogStore& store, uint64_t tree_size) : store_(store), tree_size_(tree_size) {}
  Result<Bytes> ReadTile(const TileCoord& tile) override {
    if (tile.entries) return store_.ReadBundle(tile.index, tile.width, tree_size_);
    return store_.ReadHashTile(tile.level, tile.index, tile.width, tree_size_);
  }

 private:
  const LogStore& store_;
  uint64_t tree_size_;
};

LogStore::LogStore(LogStoreOptions options, NoteSigner signer, FileLock lock)
    : options_(std::move(options)), signer_(std::move(signer)), verifier_(signer_.verifier()), lock_(std::move(lock)) {}

LogStore::~LogStore() {
  if (entries_fd_ >= 0) ::close(entries_fd_);
}

Result<std::unique_ptr<LogStore>> LogStore::Open(LogStoreOptions options, NoteSigner log_signer) {
  if (log_signer.name() != options.origin) {
    return StoreError(ErrorCode::kInvalidArgument, "log key name \"" + log_signer.name() +
                                                       "\" is not the origin \"" + options.origin + "\"");
  }
  if (!options.witnesses.empty() && (options.witness_quorum == 0 || options.witness_quorum > options.witnesses.size())) {
    return StoreError(ErrorCode::kInvalidArgument, "witness quorum " + std::to_string(options.witness_quorum) +
                                                       " is not in 1.." + std::to_string(options.witnesses.size()));
  }
  std::set<std::string> witness_names;
  for (const auto& w : options.witnesses) {
    // A witness listed twice would count twice toward the quorum.
    if (!witness_names.insert(w.name()).second) {
      return StoreError(ErrorCode::kInvalidArgument, "witness " + w.name() + " is listed twice");
    }
  }
  std::error_code ec;
  fs::create_directories(options.dir, ec);
  if (ec) return StoreError(ErrorCode::kInternal, "create " + options.dir.string() + ": " + ec.message());
  OPENPCC_ASSIGN_OR_RETURN(auto lock, FileLock::Acquire(options.dir / "lock", true, true));
  std::unique_ptr<LogStore> store(new LogStore(std::move(options), std::move(log_signer), std::move(lock)));
  const fs::path entries = store->options_.dir / "entries";
  store->entries_fd_ = ::open(entries.c_str(), O_RDWR | O_CREAT | O_CLOEXEC, 0644);
  if (store->entries_fd_ < 0) return ErrnoError("log: open " + entries.string());
  if (fs::exists(store->options_.dir / "checkpoint")) {
    OPENPCC_RETURN_IF_ERROR(store->Recover());
  } else {
    OPENPCC_RETURN_IF_ERROR(store->CreateEmpty());
  }
  return store;
}

Status LogStore::CreateEmpty() {
  if (::ftruncate(entries_fd_, 0) != 0 || ::fsync(entries_fd_) != 0) return ErrnoError("log: reset entries");
  OPENPCC_RETURN_IF_ERROR(FsyncDirectory(options_.dir));
  if (auto note = PublishCheckpoint(0); !note.ok()) return std::move(note).error();
  return OkStatus();
}

Status LogStore::Recover() {
  OPENPCC_ASSIGN_OR_RETURN(auto file, ReadFileIfExists(options_.dir / "checkpoint", kMaxCheckpointFile));
  if (!file) return StoreError(ErrorCode::kFailedPrecondition, "checkpoint file vanished");
  auto verified = VerifyCheckpointNote(AsChars(*file), options_.origin, verifier_);
  if (!verified.ok()) return StoreError(verified.error().code(), "stored checkpoint: " + verified.error().message());
  const uint64_t n = verified->checkpoint.size;

  RecordReader reader(entries_fd_);
  Bytes entry;
  while (size_ < n) {
    const int rc = reader.Next(&entry);
    if (rc < 0) return ErrnoError("log: read entries");
    if (rc == 0) {
      return StoreError(ErrorCode::kFailedPrecondition,
                        "entries file holds " + std::to_string(size_) + " complete entries but the checkpoint covers " +
                            std::to_string(n) + ": acknowledged entries are missing");
    }
    OPENPCC_RETURN_IF_ERROR(AddLeaf(entry, /*check_existing=*/true));
  }
  entries_end_ = reader.offset();
  // Whatever follows was never acknowledged (no checkpoint covers it): cut it off.
  if (::ftruncate(entries_fd_, static_cast<off_t>(entries_end_)) != 0 || ::fsync(entries_fd_) != 0) {
    return ErrnoError("log: truncate unacknowledged entries");
  }
  Source source(*this, n);
  TileHashReader hashes(n, source);
  OPENPCC_ASSIGN_OR_RETURN(Hash root, TreeRoot(n, hashes));
  if (root != verified->checkpoint.root) {
    return StoreError(ErrorCode::kFailedPrecondition, "the first " + std::to_string(n) +
                                                          " entries do not hash to the stored checkpoint's root");
  }
  checkpoint_ = verified->checkpoint;
  checkpoint_note_ = std::string(AsChars(*file));

  // Cosignatures are kept only if they are for this checkpoint and still verify.
  OPENPCC_ASSIGN_OR_RETURN(auto cosigs, ReadFileIfExists(options_.dir / "cosignatures", kMaxCheckpointFile));
  const std::string text = FormatCheckpointText(checkpoint_) + "\n";
  if (cosigs && AsChars(*cosigs).substr(0, text.size()) == text && cosigs->size() > text.size()) {
    auto lines = ParseSignatureLines(AsChars(*cosigs).substr(text.size()));
    if (lines.ok()) {
      for (const auto& sig : *lines) {
        for (const auto& w : options_.witnesses) {
          if (w.Matches(sig) && w.Verify(FormatCheckpointText(checkpoint_), sig).ok()) cosignatures_.push_back(sig);
        }
      }
    }
  }
  if (!options_.witnesses.empty() && CosignedByLocked() >= options_.witness_quorum) {
    served_note_ = LatestNoteLocked();
  } else if (!options_.witnesses.empty()) {
    // Derived data: if it does not check out, the newest checkpoint is served until the witnesses
    // cosign it (what a log without a served checkpoint does anyway).
    if (!RecoverServed(n).ok()) served_note_.clear();
  }
  return OkStatus();
}

Status LogStore::RecoverServed(uint64_t tree_size) {
  OPENPCC_ASSIGN_OR_RETURN(auto file, ReadFileIfExists(options_.dir / "cosigned", kMaxCheckpointFile));
  if (!file) return OkStatus();
  OPENPCC_ASSIGN_OR_RETURN(auto verified, VerifyCheckpointNote(AsChars(*file), options_.origin, verifier_));
  const Checkpoint& c = verified.checkpoint;
  if (c.size > tree_size) return StoreError(ErrorCode::kFailedPrecondition, "cosigned checkpoint beyond the tree");
  // It must be a checkpoint of this tree: its root is the root of the first c.size entries.
  Source source(*this, tree_size);
  TileHashReader hashes(c.size, source);
  OPENPCC_ASSIGN_OR_RETURN(Hash root, TreeRoot(c.size, hashes));
  if (root != c.root) return StoreError(ErrorCode::kFailedPrecondition, "cosigned checkpoint is of another tree");
  // Keep the log's signature and the configured witnesses' valid cosignatures, one per witness.
  Note kept{verified.note.text, {}};
  size_t witnesses = 0;
  for (const auto& sig : verified.note.signatures) {
    if (verifier_.Matches(sig)) kept.signatures.push_back(sig);
  }
  for (const auto& w : options_.witnesses) {
    for (const auto& sig : verified.note.signatures) {
      if (w.Matches(sig) && w.Verify(verified.note.text, sig).ok()) {
        kept.signatures.push_back(sig);
        ++witnesses;
        break;
      }
    }
  }
  if (witnesses < options_.witness_quorum) return StoreError(ErrorCode::kFailedPrecondition, "cosigned checkpoint below the quorum");
  served_note_ = FormatNote(kept);
  return OkStatus();
}

std::string LogStore::LatestNoteLocked() const {
  std::string out = checkpoint_note_;
  for (const auto& sig : cosignatures_) out += FormatSignatureLine(sig);
  return out;
}

size_t LogStore::CosignedByLocked() const {
  size_t n = 0;
  for (const auto& w : options_.witnesses) {
    for (const auto& sig : cosignatures_) {
      if (w.Matches(sig)) {
        ++n;
        break;
      }
    }
  }
  return n;
}

Status LogStore::WriteDerived(const fs::path& path, ByteView contents, bool check_existing) {
  if (check_existing) {
    auto existing = ReadFileIfExists(path, contents.size() + 1);
    if (existing.ok() && existing->has_value() && **existing == ToBytes(contents)) return OkStatus();
  }
  std::error_code ec;
  fs::create_directories(path.parent_path(), ec);
  if (ec) return StoreError(ErrorCode::kInternal, "create " + path.parent_path().string() + ": " + ec.message());
  // Not fsynced: tiles are derived from the durable entries and checked on every open.
  return WriteFileAtomic(path, contents, /*durable=*/false);
}

Status LogStore::AddLeaf(const Bytes& entry, bool check_existing) {
  partial_bundle_.push_back(entry);
  ++size_;
  if (partial_bundle_.size() == kTileWidth) {
    OPENPCC_ASSIGN_OR_RETURN(auto bundle, EncodeEntryBundle(partial_bundle_));
    const TileCoord coord{true, 0, size_ / kTileWidth - 1, kTileWidth};
    OPENPCC_RETURN_IF_ERROR(WriteDerived(options_.dir / TilePath(coord), bundle, check_existing));
    partial_bundle_.clear();
  }
  Hash h = LeafHash(entry);
  for (int level = 0;; ++level) {
    if (partial_tiles_.size() <= static_cast<size_t>(level)) partial_tiles_.emplace_back();
    auto& tile = partial_tiles_[static_cast<size_t>(level)];
    tile.push_back(h);
    if (tile.size() < kTileWidth) break;
    const uint64_t hashes_at_level = size_ >> (kTileHeight * level);
    const TileCoord coord{false, level, hashes_at_level / kTileWidth - 1, kTileWidth};
    OPENPCC_RETURN_IF_ERROR(WriteDerived(options_.dir / TilePath(coord), EncodeTile(tile), check_existing));
    h = RootFromLeafHashes(tile);
    tile.clear();
  }
  return OkStatus();
}

Result<Bytes> LogStore::ReadHashTile(int level, uint64_t index, uint32_t width, uint64_t tree_size) const {
  const TileCoord coord{false, level, index, width};
  const int shift = kTileHeight * level;
  const uint64_t available = shift >= 64 ? 0 : tree_size >> shift;
  if (width == 0 || width > kTileWidth || index > available / kTileWidth ||
      index * kTileWidth + width > available) {
    return StoreError(ErrorCode::kOutOfRange, TilePath(coord) + " is not in the tree of size " + std::to_string(tree_size));
  }
  const uint64_t full_now = (shift >= 64 ? 0 : size_ >> shift) / kTileWidth;
  if (index < full_now) {
    const TileCoord full{false, level, index, kTileWidth};
    OPENPCC_ASSIGN_OR_RETURN(auto bytes, ReadFileIfExists(options_.dir / TilePath(full), kTileWidth * kHashLength));
    if (!bytes || bytes->size() != kTileWidth * kHashLength) {
      return StoreError(ErrorCode::kInternal, TilePath(full) + " is missing or short");
    }
    bytes->resize(size_t{width} * kHashLength);
    return std::move(*bytes);
  }
  if (partial_tiles_.size() <= static_cast<size_t>(level) ||
      partial_tiles_[static_cast<size_t>(level)].size() < width) {
    return StoreError(ErrorCode::kInternal, TilePath(coord) + " is not held in memory");
  }
  const auto& partial = partial_tiles_[static_cast<size_t>(level)];
  return EncodeTile(std::span<const Hash>(partial).first(width));
}

Result<Bytes> LogStore::ReadBundle(uint64_t index, uint32_t width, uint64_t tree_size) const {
  const TileCoord coord{true, 0, index, width};
  if (width == 0 || width > kTileWidth || index > tree_size / kTileWidth || index * kTileWidth + width > tree_size) {
    return StoreError(ErrorCode::kOutOfRange, TilePath(coord) + " is not in the tree of size " + std::to_string(tree_size));
  }
  if (index < size_ / kTileWidth) {
    const TileCoord full{true, 0, index, kTileWidth};
    OPENPCC_ASSIGN_OR_RETURN(auto bytes, ReadFileIfExists(options_.dir / TilePath(full), kTileWidth * (kMaxEntrySize + 2)));
    if (!bytes) return StoreError(ErrorCode::kInternal, TilePath(full) + " is missing");
    if (width == kTileWidth) return std::move(*bytes);
    OPENPCC_ASSIGN_OR_RETURN(auto entries, ParseEntryBundle(*bytes, kTileWidth));
    return EncodeEntryBundle(std::span<const Bytes>(entries).first(width));
  }
  return EncodeEntryBundle(std::span<const Bytes>(partial_bundle_).first(width));
}

Result<std::string> LogStore::PublishCheckpoint(uint64_t size) {
  Source source(*this, size);
  TileHashReader hashes(size, source);
  OPENPCC_ASSIGN_OR_RETURN(Hash root, TreeRoot(size, hashes));
  Checkpoint c{options_.origin, size, root, {}};
  OPENPCC_ASSIGN_OR_RETURN(auto note, SignCheckpoint(c, signer_));
  OPENPCC_RETURN_IF_ERROR(WriteFileAtomic(options_.dir / "checkpoint", AsBytes(note), /*durable=*/true));
  checkpoint_ = std::move(c);
  checkpoint_note_ = note;
  cosignatures_.clear();
  return note;
}

Result<AppendResult> LogStore::Append(std::span<const Bytes> entries) {
  std::lock_guard<std::mutex> guard(mu_);
  if (failed_) return StoreError(ErrorCode::kFailedPrecondition, "an earlier append failed; reopen the log");
  if (entries.empty()) return StoreError(ErrorCode::kInvalidArgument, "empty batch");
  if (entries.size() > options_.max_batch) {
    return StoreError(ErrorCode::kOutOfRange, "batch of " + std::to_string(entries.size()) + " entries exceeds " +
                                                  std::to_string(options_.max_batch));
  }
  wire::ByteWriter records;
  for (size_t i = 0; i < entries.size(); ++i) {
    if (options_.accept) {
      if (auto status = options_.accept(entries[i]); !status.ok()) {
        return StoreError(status.error().code(), "entry " + std::to_string(i) + " of the batch refused: " +
                                                     status.error().message());
      }
    }
    if (!records.WriteU16Prefixed(entries[i])) {
      return StoreError(ErrorCode::kOutOfRange, "entry " + std::to_string(i) + " is longer than 65535 bytes");
    }
  }
  failed_ = true;  // until the batch is published
  OPENPCC_RETURN_IF_ERROR(PwriteAll(entries_fd_, records.view(), entries_end_));
  if (options_.crash_hook) options_.crash_hook(CrashPoint::kAfterWrite);
  if (::fdatasync(entries_fd_) != 0) return ErrnoError("log: fdatasync entries");
  if (options_.crash_hook) options_.crash_hook(CrashPoint::kAfterFsync);
  const uint64_t first = size_;
  for (const auto& e : entries) OPENPCC_RETURN_IF_ERROR(AddLeaf(e, /*check_existing=*/false));
  if (auto note = PublishCheckpoint(size_); !note.ok()) return std::move(note).error();
  entries_end_ += records.size();
  failed_ = false;
  if (options_.crash_hook) options_.crash_hook(CrashPoint::kAfterCheckpoint);
  AppendResult result;
  result.first_index = first;
  result.tree_size = size_;
  result.checkpoint_note = checkpoint_note_;
  return result;
}

Checkpoint LogStore::checkpoint() const {
  std::lock_guard<std::mutex> guard(mu_);
  return checkpoint_;
}

std::string LogStore::CheckpointNote() const {
  std::lock_guard<std::mutex> guard(mu_);
  if (served_note_.empty()) return LatestNoteLocked();
  return served_note_;
}

std::string LogStore::LatestCheckpointNote() const {
  std::lock_guard<std::mutex> guard(mu_);
  return LatestNoteLocked();
}

Result<Bytes> LogStore::ReadPath(std::string_view path) const {
  if (path == "checkpoint") return ToBytes(CheckpointNote());
  OPENPCC_ASSIGN_OR_RETURN(auto coord, ParseTilePath(path));
  std::lock_guard<std::mutex> guard(mu_);
  if (coord.entries) return ReadBundle(coord.index, coord.width, checkpoint_.size);
  return ReadHashTile(coord.level, coord.index, coord.width, checkpoint_.size);
}

Result<Bytes> LogStore::ReadEntry(uint64_t index) const {
  std::lock_guard<std::mutex> guard(mu_);
  if (index >= checkpoint_.size) {
    return StoreError(ErrorCode::kOutOfRange, "entry " + std::to_string(index) + " is not in the tree of size " +
                                                  std::to_string(checkpoint_.size));
  }
  const uint64_t bundle = index / kTileWidth;
  const auto width = static_cast<uint32_t>(std::min<uint64_t>(kTileWidth, checkpoint_.size - bundle * kTileWidth));
  OPENPCC_ASSIGN_OR_RETURN(auto bytes, ReadBundle(bundle, width, checkpoint_.size));
  OPENPCC_ASSIGN_OR_RETURN(auto entries, ParseEntryBundle(bytes, width));
  return std::move(entries[index % kTileWidth]);
}

Result<std::vector<Hash>> LogStore::InclusionProof(uint64_t index, uint64_t tree_size) const {
  std::lock_guard<std::mutex> guard(mu_);
  if (tree_size > checkpoint_.size) {
    return StoreError(ErrorCode::kOutOfRange, "tree size " + std::to_string(tree_size) + " is beyond the log's " +
                                                  std::to_string(checkpoint_.size));
  }
  Source source(*this, tree_size);
  TileHashReader hashes(tree_size, source);
  return tlog::InclusionProof(index, tree_size, hashes);
}

Result<std::vector<Hash>> LogStore::ConsistencyProof(uint64_t old_size, uint64_t new_size) const {
  std::lock_guard<std::mutex> guard(mu_);
  if (new_size > checkpoint_.size) {
    return StoreError(ErrorCode::kOutOfRange, "tree size " + std::to_string(new_size) + " is beyond the log's " +
                                                  std::to_string(checkpoint_.size));
  }
  if (old_size == new_size) return std::vector<Hash>();
  Source source(*this, new_size);
  TileHashReader hashes(new_size, source);
  return tlog::ConsistencyProof(old_size, new_size, hashes);
}

Status LogStore::AddCosignatures(std::string_view signature_lines) {
  OPENPCC_ASSIGN_OR_RETURN(auto sigs, ParseSignatureLines(signature_lines));
  std::lock_guard<std::mutex> guard(mu_);
  const std::string text = FormatCheckpointText(checkpoint_);
  for (const auto& sig : sigs) {
    const CosignatureVerifier* witness = nullptr;
    for (const auto& w : options_.witnesses) {
      if (w.Matches(sig)) witness = &w;
    }
    if (witness == nullptr) return StoreError(ErrorCode::kUnknownKey, "cosignature by unknown witness " + sig.name);
    OPENPCC_ASSIGN_OR_RETURN(uint64_t timestamp, witness->Verify(text, sig));
    bool replaced = false;
    for (auto& existing : cosignatures_) {
      if (!witness->Matches(existing)) continue;
      replaced = true;
      auto old_timestamp = witness->Verify(text, existing);
      if (!old_timestamp.ok() || *old_timestamp <= timestamp) existing = sig;
    }
    if (!replaced) cosignatures_.push_back(sig);
  }
  OPENPCC_RETURN_IF_ERROR(PersistCosignatures());
  if (CosignedByLocked() >= options_.witness_quorum) {
    // The newest checkpoint reached the quorum (or a cosignature of it was refreshed). It is made
    // durable before it is served: a client that stored it must never see this log serve an older
    // one after a crash, which it would rightly report as a rollback.
    std::string note = LatestNoteLocked();
    OPENPCC_RETURN_IF_ERROR(WriteFileAtomic(options_.dir / "cosigned", AsBytes(note), /*durable=*/true));
    served_note_ = std::move(note);
  }
  return OkStatus();
}

Status LogStore::PersistCosignatures() {
  std::string contents = FormatCheckpointText(checkpoint_) + "\n";
  for (const auto& sig : cosignatures_) contents += FormatSignatureLine(sig);
  return WriteFileAtomic(options_.dir / "cosignatures", AsBytes(contents), /*durable=*/false);
}

}  // namespace openpcc::tlog
