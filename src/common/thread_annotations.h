// Clang thread-safety annotations (-Wthread-safety). No-ops on other compilers.
#pragma once

#include <mutex>

#if defined(__clang__)
#define SLUICE_TSA(x) __attribute__((x))
#else
#define SLUICE_TSA(x)
#endif

#define CAPABILITY(x) SLUICE_TSA(capability(x))
#define SCOPED_CAPABILITY SLUICE_TSA(scoped_lockable)
#define GUARDED_BY(x) SLUICE_TSA(guarded_by(x))
#define PT_GUARDED_BY(x) SLUICE_TSA(pt_guarded_by(x))
#define REQUIRES(...) SLUICE_TSA(requires_capability(__VA_ARGS__))
#define EXCLUDES(...) SLUICE_TSA(locks_excluded(__VA_ARGS__))
#define ACQUIRE(...) SLUICE_TSA(acquire_capability(__VA_ARGS__))
#define RELEASE(...) SLUICE_TSA(release_capability(__VA_ARGS__))
#define NO_THREAD_SAFETY_ANALYSIS SLUICE_TSA(no_thread_safety_analysis)

namespace sluice {

// std::mutex with capability annotations so GUARDED_BY works under clang.
class CAPABILITY("mutex") Mutex {
 public:
  void lock() ACQUIRE() { mu_.lock(); }
  void unlock() RELEASE() { mu_.unlock(); }
  std::mutex& native() { return mu_; }

 private:
  std::mutex mu_;
};

class SCOPED_CAPABILITY MutexLock {
 public:
  explicit MutexLock(Mutex* mu) ACQUIRE(mu) : mu_(mu) { mu_->lock(); }
  ~MutexLock() RELEASE() { mu_->unlock(); }
  MutexLock(const MutexLock&) = delete;
  MutexLock& operator=(const MutexLock&) = delete;

 private:
  Mutex* mu_;
};

}  // namespace sluice
