// tlog/durable_file.h — the few file operations the log, the witness and the client log policy
// rely on for crash safety: whole-file atomic replacement (temporary file, fsync, rename, fsync of
// the directory), bounded whole-file reads, and an advisory lock shared between processes.
//
// Thread safety: functions are; a FileLock is owned by one thread at a time.
#pragma once

#include <filesystem>
#include <optional>
#include <string>
#include <string_view>

#include "openpcc/util/bytes.h"
#include "openpcc/util/result.h"

namespace openpcc::tlog {

// Replaces `path` with `contents` so that a crash leaves either the old file or the new one:
// write to "<path>.tmp", fsync it (when `durable`), rename over `path`, fsync the directory (when
// `durable`). Without `durable` the replacement is atomic for processes but not across power loss.
Status WriteFileAtomic(const std::filesystem::path& path, ByteView contents, bool durable = true);
// The file's contents, or nullopt if it does not exist; fails if it is larger than `max_bytes`.
Result<std::optional<Bytes>> ReadFileIfExists(const std::filesystem::path& path, size_t max_bytes);
Status FsyncDirectory(const std::filesystem::path& dir);

// flock(2) on a lock file, exclusive or shared, released on destruction. Blocks unless `try_only`.
class FileLock {
 public:
  static Result<FileLock> Acquire(const std::filesystem::path& path, bool exclusive, bool try_only);
  FileLock(FileLock&& other) noexcept : fd_(other.fd_) { other.fd_ = -1; }
  FileLock& operator=(FileLock&& other) noexcept;
  FileLock(const FileLock&) = delete;
  FileLock& operator=(const FileLock&) = delete;
  ~FileLock();

 private:
  explicit FileLock(int fd) : fd_(fd) {}
  int fd_ = -1;
};

// "<what>: <strerror(errno)>" as a kInternal error.
Error ErrnoError(const std::string& what);

}  // namespace openpcc::tlog
