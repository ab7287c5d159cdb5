#include "catalog/fault_vfs.h"

#include <sqlite3.h>

#include <cstring>
#include <map>
#include <mutex>
#include <string>

namespace sluice {
namespace {

// Layout of one open file: our header, then the wrapped VFS's file object.
struct FaultFile {
  sqlite3_file base;  // base.pMethods points at one of the wrapping method tables
  FaultVfs* owner;
  sqlite3_file* real;
};

struct Registered {
  std::string name;
  sqlite3_vfs vfs;
  FaultVfs* fault;
  sqlite3_vfs* inner;
  sqlite3_io_methods methods[3];  // indexed by the wrapped file's iVersion - 1
};

sqlite3_file* Real(sqlite3_file* f) { return reinterpret_cast<FaultFile*>(f)->real; }
FaultVfs* Owner(sqlite3_file* f) { return reinterpret_cast<FaultFile*>(f)->owner; }
Registered* Reg(sqlite3_vfs* vfs) { return static_cast<Registered*>(vfs->pAppData); }
sqlite3_vfs* Inner(sqlite3_vfs* vfs) { return Reg(vfs)->inner; }

int FileClose(sqlite3_file* f) {
  sqlite3_file* real = Real(f);
  int rc = real->pMethods != nullptr ? real->pMethods->xClose(real) : SQLITE_OK;
  f->pMethods = nullptr;
  return rc;
}
int FileRead(sqlite3_file* f, void* buf, int amt, sqlite3_int64 off) {
  return Real(f)->pMethods->xRead(Real(f), buf, amt, off);
}
int FileWrite(sqlite3_file* f, const void* buf, int amt, sqlite3_int64 off) {
  if (Owner(f)->ShouldFailWrite()) return SQLITE_IOERR_WRITE;
  return Real(f)->pMethods->xWrite(Real(f), buf, amt, off);
}
int FileTruncate(sqlite3_file* f, sqlite3_int64 size) {
  return Real(f)->pMethods->xTruncate(Real(f), size);
}
int FileSync(sqlite3_file* f, int flags) {
  if (Owner(f)->ShouldFailSync()) return SQLITE_IOERR_FSYNC;
  return Real(f)->pMethods->xSync(Real(f), flags);
}
int FileSize(sqlite3_file* f, sqlite3_int64* size) {
  return Real(f)->pMethods->xFileSize(Real(f), size);
}
int FileLock(sqlite3_file* f, int level) { return Real(f)->pMethods->xLock(Real(f), level); }
int FileUnlock(sqlite3_file* f, int level) { return Real(f)->pMethods->xUnlock(Real(f), level); }
int FileCheckReservedLock(sqlite3_file* f, int* out) {
  return Real(f)->pMethods->xCheckReservedLock(Real(f), out);
}
int FileControl(sqlite3_file* f, int op, void* arg) {
  return Real(f)->pMethods->xFileControl(Real(f), op, arg);
}
int FileSectorSize(sqlite3_file* f) { return Real(f)->pMethods->xSectorSize(Real(f)); }
int FileDeviceCharacteristics(sqlite3_file* f) {
  return Real(f)->pMethods->xDeviceCharacteristics(Real(f));
}
int FileShmMap(sqlite3_file* f, int region, int size, int extend, void volatile** out) {
  return Real(f)->pMethods->xShmMap(Real(f), region, size, extend, out);
}
int FileShmLock(sqlite3_file* f, int offset, int n, int flags) {
  return Real(f)->pMethods->xShmLock(Real(f), offset, n, flags);
}
void FileShmBarrier(sqlite3_file* f) { Real(f)->pMethods->xShmBarrier(Real(f)); }
int FileShmUnmap(sqlite3_file* f, int delete_flag) {
  return Real(f)->pMethods->xShmUnmap(Real(f), delete_flag);
}
int FileFetch(sqlite3_file* f, sqlite3_int64 off, int amt, void** out) {
  return Real(f)->pMethods->xFetch(Real(f), off, amt, out);
}
int FileUnfetch(sqlite3_file* f, sqlite3_int64 off, void* p) {
  return Real(f)->pMethods->xUnfetch(Real(f), off, p);
}

void FillMethods(sqlite3_io_methods* m, int version) {
  std::memset(m, 0, sizeof(*m));
  m->iVersion = version;
  m->xClose = FileClose;
  m->xRead = FileRead;
  m->xWrite = FileWrite;
  m->xTruncate = FileTruncate;
  m->xSync = FileSync;
  m->xFileSize = FileSize;
  m->xLock = FileLock;
  m->xUnlock = FileUnlock;
  m->xCheckReservedLock = FileCheckReservedLock;
  m->xFileControl = FileControl;
  m->xSectorSize = FileSectorSize;
  m->xDeviceCharacteristics = FileDeviceCharacteristics;
  if (version >= 2) {
    m->xShmMap = FileShmMap;
    m->xShmLock = FileShmLock;
    m->xShmBarrier = FileShmBarrier;
    m->xShmUnmap = FileShmUnmap;
  }
  if (version >= 3) {
    m->xFetch = FileFetch;
    m->xUnfetch = FileUnfetch;
  }
}

int VfsOpen(sqlite3_vfs* vfs, const char* name, sqlite3_file* f, int flags, int* out_flags) {
  Registered* reg = Reg(vfs);
  FaultFile* ff = reinterpret_cast<FaultFile*>(f);
  ff->base.pMethods = nullptr;
  ff->owner = reg->fault;
  ff->real = reinterpret_cast<sqlite3_file*>(reinterpret_cast<char*>(f) + sizeof(FaultFile));
  std::memset(ff->real, 0, static_cast<size_t>(reg->inner->szOsFile));
  int rc = reg->inner->xOpen(reg->inner, name, ff->real, flags, out_flags);
  const sqlite3_io_methods* inner_methods = ff->real->pMethods;
  if (inner_methods != nullptr) {
    int version = inner_methods->iVersion;
    if (version < 1) version = 1;
    if (version > 3) version = 3;
    ff->base.pMethods = &reg->methods[version - 1];
  }
  return rc;
}

int VfsDelete(sqlite3_vfs* vfs, const char* name, int sync_dir) {
  return Inner(vfs)->xDelete(Inner(vfs), name, sync_dir);
}
int VfsAccess(sqlite3_vfs* vfs, const char* name, int flags, int* out) {
  return Inner(vfs)->xAccess(Inner(vfs), name, flags, out);
}
int VfsFullPathname(sqlite3_vfs* vfs, const char* name, int n, char* out) {
  return Inner(vfs)->xFullPathname(Inner(vfs), name, n, out);
}
void* VfsDlOpen(sqlite3_vfs* vfs, const char* name) {
  return Inner(vfs)->xDlOpen(Inner(vfs), name);
}
void VfsDlError(sqlite3_vfs* vfs, int n, char* out) { Inner(vfs)->xDlError(Inner(vfs), n, out); }
void (*VfsDlSym(sqlite3_vfs* vfs, void* handle, const char* sym))(void) {
  return Inner(vfs)->xDlSym(Inner(vfs), handle, sym);
}
void VfsDlClose(sqlite3_vfs* vfs, void* handle) { Inner(vfs)->xDlClose(Inner(vfs), handle); }
int VfsRandomness(sqlite3_vfs* vfs, int n, char* out) {
  return Inner(vfs)->xRandomness(Inner(vfs), n, out);
}
int VfsSleep(sqlite3_vfs* vfs, int micros) { return Inner(vfs)->xSleep(Inner(vfs), micros); }
int VfsCurrentTime(sqlite3_vfs* vfs, double* out) {
  return Inner(vfs)->xCurrentTime(Inner(vfs), out);
}
int VfsGetLastError(sqlite3_vfs* vfs, int n, char* out) {
  return Inner(vfs)->xGetLastError(Inner(vfs), n, out);
}
int VfsCurrentTimeInt64(sqlite3_vfs* vfs, sqlite3_int64* out) {
  return Inner(vfs)->xCurrentTimeInt64(Inner(vfs), out);
}

}  // namespace

bool FaultVfs::ShouldFailWrite() {
  int64_t n = writes_before_failure_.load();
  while (n > 0) {
    if (writes_before_failure_.compare_exchange_weak(n, n - 1)) return false;
  }
  if (n == 0) {
    injected_.fetch_add(1);
    return true;
  }
  return false;
}

bool FaultVfs::ShouldFailSync() {
  if (!fail_syncs_.load()) return false;
  injected_.fetch_add(1);
  return true;
}

FaultVfs* FaultVfs::Install(const char* name) {
  static std::mutex mu;
  static std::map<std::string, Registered*>* registry = new std::map<std::string, Registered*>();
  std::lock_guard<std::mutex> lock(mu);
  auto it = registry->find(name);
  if (it != registry->end()) return it->second->fault;

  if (sqlite3_initialize() != SQLITE_OK) return nullptr;
  sqlite3_vfs* inner = sqlite3_vfs_find(nullptr);
  if (inner == nullptr) return nullptr;
  // Deliberately leaked: SQLite holds these pointers for the life of the process.
  auto* reg = new Registered();
  reg->name = name;
  reg->fault = new FaultVfs(reg->name.c_str());
  reg->inner = inner;
  for (int v = 1; v <= 3; ++v) FillMethods(&reg->methods[v - 1], v);

  sqlite3_vfs& vfs = reg->vfs;
  std::memset(&vfs, 0, sizeof(vfs));
  vfs.iVersion = inner->iVersion >= 2 ? 2 : 1;
  vfs.szOsFile = static_cast<int>(sizeof(FaultFile)) + inner->szOsFile;
  vfs.mxPathname = inner->mxPathname;
  vfs.zName = reg->name.c_str();
  vfs.pAppData = reg;
  vfs.xOpen = VfsOpen;
  vfs.xDelete = VfsDelete;
  vfs.xAccess = VfsAccess;
  vfs.xFullPathname = VfsFullPathname;
  vfs.xDlOpen = VfsDlOpen;
  vfs.xDlError = VfsDlError;
  vfs.xDlSym = VfsDlSym;
  vfs.xDlClose = VfsDlClose;
  vfs.xRandomness = VfsRandomness;
  vfs.xSleep = VfsSleep;
  vfs.xCurrentTime = VfsCurrentTime;
  vfs.xGetLastError = VfsGetLastError;
  if (vfs.iVersion >= 2) vfs.xCurrentTimeInt64 = VfsCurrentTimeInt64;
  if (sqlite3_vfs_register(&vfs, /*makeDflt=*/0) != SQLITE_OK) return nullptr;
  (*registry)[name] = reg;
  return reg->fault;
}

}  // namespace sluice
