#include "support/crash_vfs.h"

#include <sqlite3.h>

#include <algorithm>
#include <atomic>
#include <cstring>
#include <map>
#include <memory>
#include <mutex>
#include <string>
#include <vector>

namespace openpcc::testing {
namespace {

struct FileImage {
  std::vector<char> data;
  size_t dirty_begin = SIZE_MAX;
  size_t dirty_end = 0;
  bool size_changed = false;
  std::vector<std::unique_ptr<char[]>> shm;  // shared-memory regions (volatile)
  int shm_region_size = 0;
};

std::mutex g_mu;
uint64_t g_generation = 0;
std::map<std::string, std::shared_ptr<FileImage>> g_images;  // by path
sqlite3_vfs* g_base = nullptr;
sqlite3_vfs g_vfs;

struct CrashFile {
  sqlite3_file base;
  sqlite3_file* real;  // opened through the default VFS (locks, durable writes)
  std::shared_ptr<FileImage> image;
  std::string path;
  uint64_t generation;
};

CrashFile* Cf(sqlite3_file* f) { return reinterpret_cast<CrashFile*>(f); }
bool Dead(CrashFile* f) { return f->generation != g_generation; }

int Close(sqlite3_file* f) {
  std::lock_guard lock(g_mu);
  CrashFile* cf = Cf(f);
  int rc = SQLITE_OK;
  if (cf->real->pMethods != nullptr) rc = cf->real->pMethods->xClose(cf->real);
  sqlite3_free(cf->real);
  cf->image.reset();
  cf->path.~basic_string();
  return rc;
}

int Read(sqlite3_file* f, void* buf, int amt, sqlite3_int64 off) {
  std::lock_guard lock(g_mu);
  CrashFile* cf = Cf(f);
  if (Dead(cf)) return SQLITE_IOERR_READ;
  const auto& d = cf->image->data;
  const size_t offset = static_cast<size_t>(off);
  const size_t want = static_cast<size_t>(amt);
  const size_t have = offset >= d.size() ? 0 : std::min(want, d.size() - offset);
  if (have > 0) std::memcpy(buf, d.data() + offset, have);
  if (have < want) {
    std::memset(static_cast<char*>(buf) + have, 0, want - have);
    return SQLITE_IOERR_SHORT_READ;
  }
  return SQLITE_OK;
}

int Write(sqlite3_file* f, const void* buf, int amt, sqlite3_int64 off) {
  std::lock_guard lock(g_mu);
  CrashFile* cf = Cf(f);
  if (Dead(cf)) return SQLITE_IOERR_WRITE;
  FileImage& img = *cf->image;
  const size_t offset = static_cast<size_t>(off);
  const size_t n = static_cast<size_t>(amt);
  if (img.data.size() < offset + n) {
    img.data.resize(offset + n, 0);
    img.size_changed = true;
  }
  std::memcpy(img.data.data() + offset, buf, n);
  img.dirty_begin = std::min(img.dirty_begin, offset);
  img.dirty_end = std::max(img.dirty_end, offset + n);
  return SQLITE_OK;
}

int Truncate(sqlite3_file* f, sqlite3_int64 size) {
  std::lock_guard lock(g_mu);
  CrashFile* cf = Cf(f);
  if (Dead(cf)) return SQLITE_IOERR_TRUNCATE;
  cf->image->data.resize(static_cast<size_t>(size));
  cf->image->size_changed = true;
  return SQLITE_OK;
}

int Sync(sqlite3_file* f, int flags) {
  std::lock_guard lock(g_mu);
  CrashFile* cf = Cf(f);
  if (Dead(cf)) return SQLITE_IOERR_FSYNC;
  FileImage& img = *cf->image;
  sqlite3_file* real = cf->real;
  if (img.size_changed) {
    if (real->pMethods->xTruncate(real, static_cast<sqlite3_int64>(img.data.size())) != SQLITE_OK) {
      return SQLITE_IOERR_FSYNC;
    }
  }
  const size_t end = std::min(img.dirty_end, img.data.size());
  if (img.dirty_begin < end) {
    if (real->pMethods->xWrite(real, img.data.data() + img.dirty_begin,
                               static_cast<int>(end - img.dirty_begin),
                               static_cast<sqlite3_int64>(img.dirty_begin)) != SQLITE_OK) {
      return SQLITE_IOERR_FSYNC;
    }
  }
  img.dirty_begin = SIZE_MAX;
  img.dirty_end = 0;
  img.size_changed = false;
  return real->pMethods->xSync(real, flags);
}

int FileSize(sqlite3_file* f, sqlite3_int64* size) {
  std::lock_guard lock(g_mu);
  CrashFile* cf = Cf(f);
  if (Dead(cf)) return SQLITE_IOERR_FSTAT;
  *size = static_cast<sqlite3_int64>(cf->image->data.size());
  return SQLITE_OK;
}

int Lock(sqlite3_file* f, int level) {
  std::lock_guard lock(g_mu);
  CrashFile* cf = Cf(f);
  if (Dead(cf)) return SQLITE_IOERR_LOCK;
  return cf->real->pMethods->xLock(cf->real, level);
}

int Unlock(sqlite3_file* f, int level) {
  std::lock_guard lock(g_mu);
  CrashFile* cf = Cf(f);
  return cf->real->pMethods->xUnlock(cf->real, level);
}

int CheckReservedLock(sqlite3_file* f, int* out) {
  std::lock_guard lock(g_mu);
  CrashFile* cf = Cf(f);
  if (Dead(cf)) return SQLITE_IOERR_CHECKRESERVEDLOCK;
  return cf->real->pMethods->xCheckReservedLock(cf->real, out);
}

int FileControl(sqlite3_file*, int, void*) { return SQLITE_NOTFOUND; }
int SectorSize(sqlite3_file*) { return 4096; }
int DeviceCharacteristics(sqlite3_file*) { return 0; }

// Shared memory lives only in the image: a crash loses it, as a power cut loses the -shm mapping.
int ShmMap(sqlite3_file* f, int region, int size, int extend, void volatile** out) {
  std::lock_guard lock(g_mu);
  CrashFile* cf = Cf(f);
  if (Dead(cf)) return SQLITE_IOERR_SHMMAP;
  FileImage& img = *cf->image;
  const size_t index = static_cast<size_t>(region);
  if (img.shm.size() <= index) {
    if (!extend) {
      *out = nullptr;
      return SQLITE_OK;
    }
    while (img.shm.size() <= index) {
      auto mem = std::make_unique<char[]>(static_cast<size_t>(size));
      std::memset(mem.get(), 0, static_cast<size_t>(size));
      img.shm.push_back(std::move(mem));
    }
    img.shm_region_size = size;
  }
  *out = img.shm[index].get();
  return SQLITE_OK;
}

// One connection per database in these tests, so shm locks are never contended.
int ShmLock(sqlite3_file* f, int, int, int) {
  std::lock_guard lock(g_mu);
  return Dead(Cf(f)) ? SQLITE_IOERR_SHMLOCK : SQLITE_OK;
}
void ShmBarrier(sqlite3_file*) { std::atomic_thread_fence(std::memory_order_seq_cst); }
int ShmUnmap(sqlite3_file* f, int delete_flag) {
  std::lock_guard lock(g_mu);
  CrashFile* cf = Cf(f);
  if (delete_flag && !Dead(cf)) cf->image->shm.clear();
  return SQLITE_OK;
}

const sqlite3_io_methods kMethods = {
    2,          Close,       Read,       Write,    Truncate,   Sync,
    FileSize,   Lock,        Unlock,     CheckReservedLock,    FileControl,
    SectorSize, DeviceCharacteristics,   ShmMap,   ShmLock,    ShmBarrier,
    ShmUnmap,   nullptr,     nullptr};

int Open(sqlite3_vfs*, sqlite3_filename name, sqlite3_file* f, int flags, int* out_flags) {
  std::lock_guard lock(g_mu);
  CrashFile* cf = Cf(f);
  cf->base.pMethods = nullptr;
  if (name == nullptr) return SQLITE_CANTOPEN;  // temp files are not used by the stores
  auto* real = static_cast<sqlite3_file*>(sqlite3_malloc(g_base->szOsFile));
  std::memset(real, 0, static_cast<size_t>(g_base->szOsFile));
  int rc = g_base->xOpen(g_base, name, real, flags, out_flags);
  if (rc != SQLITE_OK) {
    sqlite3_free(real);
    return rc;
  }
  std::string path(name);
  auto& image = g_images[path];
  if (!image) {
    image = std::make_shared<FileImage>();
    sqlite3_int64 size = 0;
    real->pMethods->xFileSize(real, &size);
    image->data.resize(static_cast<size_t>(size));
    if (size > 0) real->pMethods->xRead(real, image->data.data(), static_cast<int>(size), 0);
  }
  new (&cf->path) std::string(path);
  new (&cf->image) std::shared_ptr<FileImage>(image);
  cf->real = real;
  cf->generation = g_generation;
  cf->base.pMethods = &kMethods;
  return SQLITE_OK;
}

int Delete(sqlite3_vfs*, const char* name, int sync_dir) {
  std::lock_guard lock(g_mu);
  g_images.erase(name);
  return g_base->xDelete(g_base, name, sync_dir);
}

int Access(sqlite3_vfs*, const char* name, int flags, int* out) {
  std::lock_guard lock(g_mu);
  return g_base->xAccess(g_base, name, flags, out);
}

int FullPathname(sqlite3_vfs*, const char* name, int n, char* out) {
  return g_base->xFullPathname(g_base, name, n, out);
}
int Randomness(sqlite3_vfs*, int n, char* out) { return g_base->xRandomness(g_base, n, out); }
int Sleep(sqlite3_vfs*, int us) { return g_base->xSleep(g_base, us); }
int CurrentTime(sqlite3_vfs*, double* out) { return g_base->xCurrentTime(g_base, out); }
int GetLastError(sqlite3_vfs*, int n, char* out) { return g_base->xGetLastError(g_base, n, out); }
int CurrentTimeInt64(sqlite3_vfs*, sqlite3_int64* out) {
  return g_base->xCurrentTimeInt64(g_base, out);
}

}  // namespace

void CrashVfs::Register() {
  std::lock_guard lock(g_mu);
  if (g_base != nullptr) return;
  g_base = sqlite3_vfs_find(nullptr);
  std::memset(&g_vfs, 0, sizeof(g_vfs));
  g_vfs.iVersion = 2;
  g_vfs.szOsFile = static_cast<int>(sizeof(CrashFile));
  g_vfs.mxPathname = g_base->mxPathname;
  g_vfs.zName = kName;
  g_vfs.xOpen = Open;
  g_vfs.xDelete = Delete;
  g_vfs.xAccess = Access;
  g_vfs.xFullPathname = FullPathname;
  g_vfs.xRandomness = Randomness;
  g_vfs.xSleep = Sleep;
  g_vfs.xCurrentTime = CurrentTime;
  g_vfs.xGetLastError = GetLastError;
  g_vfs.xCurrentTimeInt64 = CurrentTimeInt64;
  sqlite3_vfs_register(&g_vfs, 0);
}

void CrashVfs::Crash() {
  std::lock_guard lock(g_mu);
  g_images.clear();
  ++g_generation;
}

}  // namespace openpcc::testing
