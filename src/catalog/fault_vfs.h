// FaultVfs: a test-only sqlite3 VFS that wraps the default VFS and can be told to fail
// writes and syncs, so tests can prove the catalog survives I/O errors. Every file opened
// through it forwards to the default VFS's file; only xWrite and xSync consult the fault
// settings. Register once with Install() and pass name() as Catalog::Open's vfs_name.
// Thread-safety: the fault settings are atomics and may be changed from any thread while
// SQLite uses the VFS. Ownership: installed instances live until process exit (SQLite
// keeps a pointer to the registered VFS).
#pragma once

#include <atomic>
#include <cstdint>

namespace sluice {

class FaultVfs {
 public:
  // Registers (on first call for `name`) and returns the VFS named `name`. Not the default
  // VFS; callers select it by name. Returns nullptr if registration fails.
  static FaultVfs* Install(const char* name);

  const char* name() const { return name_; }

  // The next `n` writes succeed, then every write fails with SQLITE_IOERR_WRITE until
  // Clear(). n = 0 fails the very next write.
  void FailWritesAfter(int64_t n) { writes_before_failure_.store(n); }
  // Every xSync fails with SQLITE_IOERR_FSYNC until Clear().
  void FailSyncs(bool fail) { fail_syncs_.store(fail); }
  // Stops injecting faults.
  void Clear() {
    writes_before_failure_.store(-1);
    fail_syncs_.store(false);
  }
  // Number of failures injected since Install (writes + syncs).
  int64_t injected_failures() const { return injected_.load(); }

  // Consulted by the wrapped file methods.
  bool ShouldFailWrite();
  bool ShouldFailSync();

 private:
  explicit FaultVfs(const char* name) : name_(name) {}

  const char* name_;
  std::atomic<int64_t> writes_before_failure_{-1};  // -1: never fail
  std::atomic<bool> fail_syncs_{false};
  std::atomic<int64_t> injected_{0};
};

}  // namespace sluice
