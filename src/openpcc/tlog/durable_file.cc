#include "openpcc/tlog/durable_file.h"

#include <fcntl.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>

namespace openpcc::tlog {
namespace {

Status WriteAll(int fd, ByteView data, const std::string& what) {
  size_t done = 0;
  while (done < data.size()) {
    const ssize_t n = ::write(fd, data.data() + done, data.size() - done);
    if (n < 0) {
      if (errno == EINTR) continue;
      return ErrnoError("write " + what);
    }
    done += static_cast<size_t>(n);
  }
  return OkStatus();
}

}  // namespace

Error ErrnoError(const std::string& what) {
  return Error(ErrorCode::kInternal, what + ": " + std::strerror(errno));
}

Status FsyncDirectory(const std::filesystem::path& dir) {
  const int fd = ::open(dir.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  if (fd < 0) return ErrnoError("open directory " + dir.string());
  const int rc = ::fsync(fd);
  ::close(fd);
  if (rc != 0) return ErrnoError("fsync directory " + dir.string());
  return OkStatus();
}

Status WriteFileAtomic(const std::filesystem::path& path, ByteView contents, bool durable) {
  const std::filesystem::path tmp = path.string() + ".tmp";
  const int fd = ::open(tmp.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
  if (fd < 0) return ErrnoError("create " + tmp.string());
  Status status = WriteAll(fd, contents, tmp.string());
  if (status.ok() && durable && ::fsync(fd) != 0) status = ErrnoError("fsync " + tmp.string());
  ::close(fd);
  if (!status.ok()) return status;
  if (::rename(tmp.c_str(), path.c_str()) != 0) return ErrnoError("rename " + tmp.string());
  if (durable) {
    const auto parent = path.has_parent_path() ? path.parent_path() : std::filesystem::path(".");
    OPENPCC_RETURN_IF_ERROR(FsyncDirectory(parent));
  }
  return OkStatus();
}

Result<std::optional<Bytes>> ReadFileIfExists(const std::filesystem::path& path, size_t max_bytes) {
  const int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) {
    if (errno == ENOENT) return std::optional<Bytes>();
    return ErrnoError("open " + path.string());
  }
  Bytes out;
  uint8_t buffer[65536];
  while (true) {
    const ssize_t n = ::read(fd, buffer, sizeof(buffer));
    if (n < 0) {
      if (errno == EINTR) continue;
      ::close(fd);
      return ErrnoError("read " + path.string());
    }
    if (n == 0) break;
    if (out.size() + static_cast<size_t>(n) > max_bytes) {
      ::close(fd);
      return Error(ErrorCode::kOutOfRange, path.string() + " is larger than " + std::to_string(max_bytes) + " bytes");
    }
    out.insert(out.end(), buffer, buffer + n);
  }
  ::close(fd);
  return std::optional<Bytes>(std::move(out));
}

Result<FileLock> FileLock::Acquire(const std::filesystem::path& path, bool exclusive, bool try_only) {
  const int fd = ::open(path.c_str(), O_RDWR | O_CREAT | O_CLOEXEC, 0644);
  if (fd < 0) return ErrnoError("open lock " + path.string());
  int op = exclusive ? LOCK_EX : LOCK_SH;
  if (try_only) op |= LOCK_NB;
  while (::flock(fd, op) != 0) {
    if (errno == EINTR) continue;
    const bool busy = errno == EWOULDBLOCK;
    Error error = busy ? Error(ErrorCode::kFailedPrecondition, path.string() + " is locked by another process")
                       : ErrnoError("flock " + path.string());
    ::close(fd);
    return error;
  }
  return FileLock(fd);
}

FileLock& FileLock::operator=(FileLock&& other) noexcept {
  if (this != &other) {
    if (fd_ >= 0) ::close(fd_);
    fd_ = other.fd_;
    other.fd_ = -1;
  }
  return *this;
}

FileLock::~FileLock() {
  if (fd_ >= 0) ::close(fd_);  // closing the last descriptor releases the flock
}

}  // namespace openpcc::tlog
