// Env: the seam between Sluice and the filesystem. Everything that touches files
// (credentials, the catalog's SQLite VFS, later channel segments and objects) goes
// through an Env so tests can make any operation fail.
// Thread-safety: implementations must be safe to call from any thread.
#pragma once

#include <string>
#include <vector>

#include "common/status.h"

namespace sluice {

class Env {
 public:
  virtual ~Env() = default;

  virtual Status CreateDirs(const std::string& path) = 0;
  virtual bool FileExists(const std::string& path) = 0;
  virtual Result<std::string> ReadFile(const std::string& path) = 0;
  // Writes to a temp file, fsyncs it, renames over `path`, fsyncs the directory.
  virtual Status WriteFileAtomic(const std::string& path, const std::string& data, int mode) = 0;
  virtual Status RemoveFile(const std::string& path) = 0;

  // The process-wide real filesystem.
  static Env* Default();
};

// Wraps another Env and fails chosen operations; for tests.
class FaultInjectionEnv final : public Env {
 public:
  explicit FaultInjectionEnv(Env* base) : base_(base) {}
  void FailWrites(bool fail) { fail_writes_ = fail; }
  void FailReads(bool fail) { fail_reads_ = fail; }

  Status CreateDirs(const std::string& path) override;
  bool FileExists(const std::string& path) override { return base_->FileExists(path); }
  Result<std::string> ReadFile(const std::string& path) override;
  Status WriteFileAtomic(const std::string& path, const std::string& data, int mode) override;
  Status RemoveFile(const std::string& path) override;

 private:
  Env* base_;
  bool fail_writes_ = false;
  bool fail_reads_ = false;
};

}  // namespace sluice
