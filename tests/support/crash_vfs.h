// tests/support/crash_vfs.h — a SQLite VFS that simulates power loss.
//
// It wraps the default VFS. Each file's contents live in memory (the "page cache"); writes,
// truncations and shared memory (-shm) touch only that image. xSync copies the image's dirty range
// to the real file and fsyncs it: only synced bytes reach the disk. CrashVfs::Crash() throws every
// image and shared-memory region away — what a power cut does to the page cache — and makes every
// file handle opened before it fail with SQLITE_IOERR (the machine is gone). Files opened after it
// start from what was synced. Locks go to the real files; directory operations (create, delete)
// are taken as durable.
//
// Thread safety: one global mutex serialises every VFS call and Crash().
#pragma once

namespace openpcc::testing {

class CrashVfs {
 public:
  static constexpr const char* kName = "openpcc-crash";
  // Registers the VFS (idempotent); not made the default.
  static void Register();
  static void Crash();
};

}  // namespace openpcc::testing
