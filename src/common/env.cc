#include "common/env.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <sstream>

namespace sluice {
namespace {

Status Errno(const std::string& what, const std::string& path) {
  return Status::IoError(what + " " + path + ": " + std::strerror(errno));
}

Status FsyncDir(const std::string& dir) {
  int fd = ::open(dir.empty() ? "." : dir.c_str(), O_RDONLY | O_DIRECTORY);
  if (fd < 0) return Errno("open dir", dir);
  int rc = ::fsync(fd);
  ::close(fd);
  if (rc != 0) return Errno("fsync dir", dir);
  return Status::Ok();
}

class PosixEnv final : public Env {
 public:
  Status CreateDirs(const std::string& path) override {
    std::error_code ec;
    std::filesystem::create_directories(path, ec);
    if (ec) return Status::IoError("create directory " + path + ": " + ec.message());
    return Status::Ok();
  }

  bool FileExists(const std::string& path) override {
    struct stat st;
    return ::stat(path.c_str(), &st) == 0;
  }

  Result<std::string> ReadFile(const std::string& path) override {
    std::ifstream in(path, std::ios::binary);
    if (!in) return Errno("open", path);
    std::ostringstream ss;
    ss << in.rdbuf();
    if (in.bad()) return Errno("read", path);
    return ss.str();
  }

  Status WriteFileAtomic(const std::string& path, const std::string& data, int mode) override {
    std::string tmp = path + ".tmp";
    int fd = ::open(tmp.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, mode);
    if (fd < 0) return Errno("create", tmp);
    size_t off = 0;
    while (off < data.size()) {
      ssize_t n = ::write(fd, data.data() + off, data.size() - off);
      if (n < 0) {
        if (errno == EINTR) continue;
        Status st = Errno("write", tmp);
        ::close(fd);
        return st;
      }
      off += static_cast<size_t>(n);
    }
    if (::fchmod(fd, static_cast<mode_t>(mode)) != 0 || ::fsync(fd) != 0) {
      Status st = Errno("sync", tmp);
      ::close(fd);
      return st;
    }
    ::close(fd);
    if (::rename(tmp.c_str(), path.c_str()) != 0) return Errno("rename", tmp);
    return FsyncDir(std::filesystem::path(path).parent_path().string());
  }

  Status RemoveFile(const std::string& path) override {
    if (::unlink(path.c_str()) != 0 && errno != ENOENT) return Errno("remove", path);
    return Status::Ok();
  }
};

}  // namespace

Env* Env::Default() {
  static PosixEnv env;
  return &env;
}

Status FaultInjectionEnv::CreateDirs(const std::string& path) {
  if (fail_writes_) return Status::IoError("injected failure: create directory " + path);
  return base_->CreateDirs(path);
}

Result<std::string> FaultInjectionEnv::ReadFile(const std::string& path) {
  if (fail_reads_) return Status::IoError("injected failure: read " + path);
  return base_->ReadFile(path);
}

Status FaultInjectionEnv::WriteFileAtomic(const std::string& path, const std::string& data,
                                          int mode) {
  if (fail_writes_) return Status::IoError("injected failure: write " + path);
  return base_->WriteFileAtomic(path, data, mode);
}

Status FaultInjectionEnv::RemoveFile(const std::string& path) {
  if (fail_writes_) return Status::IoError("injected failure: remove " + path);
  return base_->RemoveFile(path);
}

}  // namespace sluice
