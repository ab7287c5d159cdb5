#include "pipeline/lambda.h"

#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <spawn.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/types.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <chrono>
#include <cstring>

extern char** environ;

namespace sluice::pipeline {
namespace {

using Json = nlohmann::json;

// Owns a file descriptor.
class Fd {
 public:
  Fd() = default;
  explicit Fd(int fd) : fd_(fd) {}
  ~Fd() { Close(); }
  Fd(const Fd&) = delete;
  Fd& operator=(const Fd&) = delete;
  int get() const { return fd_; }
  bool open() const { return fd_ >= 0; }
  void Reset(int fd) {
    Close();
    fd_ = fd;
  }
  void Close() {
    if (fd_ >= 0) ::close(fd_);
    fd_ = -1;
  }

 private:
  int fd_ = -1;
};

int64_t SteadyMs() {
  return std::chrono::duration_cast<std::chrono::milliseconds>(
             std::chrono::steady_clock::now().time_since_epoch())
      .count();
}

std::string Errno(const std::string& what) { return what + ": " + std::strerror(errno); }

bool MakePipe(Fd* read_end, Fd* write_end) {
  int p[2];
  if (::pipe2(p, O_CLOEXEC) != 0) return false;
  read_end->Reset(p[0]);
  write_end->Reset(p[1]);
  return true;
}

void SetNonBlocking(int fd) {
  int flags = ::fcntl(fd, F_GETFL);
  if (flags >= 0) ::fcntl(fd, F_SETFL, flags | O_NONBLOCK);
}

int PidfdOpen(pid_t pid) {
#ifdef SYS_pidfd_open
  long fd = ::syscall(SYS_pidfd_open, pid, 0);
  if (fd >= 0) ::fcntl(static_cast<int>(fd), F_SETFD, FD_CLOEXEC);
  return static_cast<int>(fd);
#else
  (void)pid;
  return -1;
#endif
}

// True if the child has terminated (it stays a zombie: not reaped).
bool ChildExited(pid_t pid) {
  siginfo_t info;
  std::memset(&info, 0, sizeof(info));
  if (::waitid(P_PID, static_cast<id_t>(pid), &info, WEXITED | WNOHANG | WNOWAIT) != 0) {
    return errno == ECHILD;
  }
  return info.si_pid == pid;
}

// Blocks SIGPIPE in this thread for the scope, so writing to a pipe whose reader has gone
// yields EPIPE instead of killing the process; a SIGPIPE raised meanwhile is consumed.
class ScopedBlockSigpipe {
 public:
  ScopedBlockSigpipe() {
    sigset_t set;
    sigemptyset(&set);
    sigaddset(&set, SIGPIPE);
    sigset_t pending;
    sigemptyset(&pending);
    ::sigpending(&pending);
    was_pending_ = sigismember(&pending, SIGPIPE) == 1;
    ::pthread_sigmask(SIG_BLOCK, &set, &old_);
  }
  ~ScopedBlockSigpipe() {
    if (!was_pending_) {
      sigset_t set;
      sigemptyset(&set);
      sigaddset(&set, SIGPIPE);
      struct timespec zero = {0, 0};
      while (::sigtimedwait(&set, nullptr, &zero) > 0) {
      }
    }
    ::pthread_sigmask(SIG_SETMASK, &old_, nullptr);
  }
  ScopedBlockSigpipe(const ScopedBlockSigpipe&) = delete;
  ScopedBlockSigpipe& operator=(const ScopedBlockSigpipe&) = delete;

 private:
  sigset_t old_;
  bool was_pending_ = false;
};

std::string Excerpt(const std::string& s, size_t n) {
  std::string t = s.size() > n ? s.substr(0, n) + "..." : s;
  // Keep the message printable on one line.
  for (char& c : t) {
    if (c == '\n' || c == '\r' || c == '\t') c = ' ';
  }
  while (!t.empty() && t.back() == ' ') t.pop_back();
  return t;
}

}  // namespace

bool IsValidLambdaName(const std::string& name) {
  if (name.empty() || name.size() > 64) return false;
  return std::all_of(name.begin(), name.end(), [](char c) {
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '_' ||
           c == '-';
  });
}

Result<Json> ProcessLambdaInvoker::Invoke(const std::string& name, const Json& messages,
                                          int64_t timeout_ms, const std::atomic<bool>* cancel) {
  if (!IsValidLambdaName(name)) {
    return Status::InvalidArgument("Invalid lambda function name '" + name +
                                   "': expected 1-64 characters of [a-zA-Z0-9_-]");
  }
  if (!messages.is_array()) {
    return Status::InvalidArgument("Lambda input must be a JSON array of messages");
  }
  const std::string path = dir_ + "/" + name;
  struct stat st;
  if (::stat(path.c_str(), &st) != 0 || !S_ISREG(st.st_mode) || ::access(path.c_str(), X_OK) != 0) {
    return Status::NotFound("Lambda function '" + name + "' not found: no executable file " + path);
  }
  const std::string input = messages.dump(-1, ' ', false, Json::error_handler_t::replace);

  Fd in_r, in_w, out_r, out_w, err_r, err_w;
  if (!MakePipe(&in_r, &in_w) || !MakePipe(&out_r, &out_w) || !MakePipe(&err_r, &err_w)) {
    return Status::Internal(Errno("Cannot create pipes for lambda function '" + name + "'"));
  }

  posix_spawn_file_actions_t actions;
  posix_spawn_file_actions_init(&actions);
  posix_spawn_file_actions_adddup2(&actions, in_r.get(), 0);
  posix_spawn_file_actions_adddup2(&actions, out_w.get(), 1);
  posix_spawn_file_actions_adddup2(&actions, err_w.get(), 2);
  posix_spawnattr_t attr;
  posix_spawnattr_init(&attr);
  posix_spawnattr_setflags(&attr,
                           POSIX_SPAWN_SETPGROUP | POSIX_SPAWN_SETSIGMASK | POSIX_SPAWN_SETSIGDEF);
  posix_spawnattr_setpgroup(&attr, 0);
  sigset_t mask;
  sigemptyset(&mask);
  posix_spawnattr_setsigmask(&attr, &mask);
  sigset_t defaults;
  sigemptyset(&defaults);
  for (int sig : {SIGPIPE, SIGINT, SIGTERM, SIGHUP, SIGQUIT, SIGCHLD, SIGUSR1, SIGUSR2}) {
    sigaddset(&defaults, sig);
  }
  posix_spawnattr_setsigdefault(&attr, &defaults);

  std::string path_copy = path;
  char* argv[] = {path_copy.data(), nullptr};
  pid_t pid = -1;
  int rc = ::posix_spawn(&pid, path.c_str(), &actions, &attr, argv, environ);
  posix_spawn_file_actions_destroy(&actions);
  posix_spawnattr_destroy(&attr);
  if (rc != 0) {
    return Status::Internal("Cannot start lambda function '" + name + "' (" + path +
                            "): " + std::strerror(rc));
  }
  in_r.Close();
  out_w.Close();
  err_w.Close();
  SetNonBlocking(in_w.get());
  SetNonBlocking(out_r.get());
  SetNonBlocking(err_r.get());
  Fd pidfd(PidfdOpen(pid));

  ScopedBlockSigpipe block_sigpipe;
  std::string out, err;
  size_t written = 0;
  bool exited = false, reaped = false, timed_out = false, cancelled = false,
       too_much_output = false;
  int wait_status = 0;
  const int64_t deadline = SteadyMs() + std::max<int64_t>(timeout_ms, 0);
  if (input.empty()) in_w.Close();

  // Kills the whole process group while the leader is still a zombie (so its id cannot
  // have been reused), then reaps the leader.
  auto kill_and_reap = [&]() {
    if (reaped) return;
    ::kill(-pid, SIGKILL);
    while (::waitpid(pid, &wait_status, 0) < 0 && errno == EINTR) {
    }
    reaped = true;
  };

  char buf[65536];
  while (out_r.open() || err_r.open() || !exited) {
    if (!exited && !pidfd.open() && ChildExited(pid)) exited = true;
    if (exited && !reaped) kill_and_reap();  // strays in the group must not hold the pipes
    if (!out_r.open() && !err_r.open() && exited) break;

    int64_t now = SteadyMs();
    if (now >= deadline) {
      timed_out = true;
      break;
    }
    if (cancel != nullptr && cancel->load()) {
      cancelled = true;
      break;
    }
    int64_t wait = deadline - now;
    if (cancel != nullptr) wait = std::min<int64_t>(wait, 100);
    if (!pidfd.open() && !exited) wait = std::min<int64_t>(wait, 10);

    pollfd fds[4];
    int n = 0;
    int in_i = -1, out_i = -1, err_i = -1, pid_i = -1;
    if (in_w.open()) {
      in_i = n;
      fds[n++] = {in_w.get(), POLLOUT, 0};
    }
    if (out_r.open()) {
      out_i = n;
      fds[n++] = {out_r.get(), POLLIN, 0};
    }
    if (err_r.open()) {
      err_i = n;
      fds[n++] = {err_r.get(), POLLIN, 0};
    }
    if (pidfd.open() && !exited) {
      pid_i = n;
      fds[n++] = {pidfd.get(), POLLIN, 0};
    }
    int pr = ::poll(fds, static_cast<nfds_t>(n), static_cast<int>(wait));
    if (pr < 0) {
      if (errno == EINTR) continue;
      kill_and_reap();
      return Status::Internal(Errno("poll on lambda function '" + name + "'"));
    }
    if (pr == 0) continue;

    if (in_i >= 0 && fds[in_i].revents != 0) {
      ssize_t w = ::write(in_w.get(), input.data() + written, input.size() - written);
      if (w > 0) {
        written += static_cast<size_t>(w);
        if (written == input.size()) in_w.Close();
      } else if (w < 0 && errno != EAGAIN && errno != EINTR) {
        in_w.Close();  // EPIPE: the function does not read its input; that is its business
      }
    }
    if (out_i >= 0 && fds[out_i].revents != 0) {
      for (;;) {
        ssize_t r = ::read(out_r.get(), buf, sizeof(buf));
        if (r > 0) {
          out.append(buf, static_cast<size_t>(r));
          if (out.size() > kMaxStdoutBytes) {
            too_much_output = true;
            break;
          }
          continue;
        }
        if (r == 0 || (errno != EAGAIN && errno != EINTR)) out_r.Close();
        if (r < 0 && errno == EINTR) continue;
        break;
      }
      if (too_much_output) break;
    }
    if (err_i >= 0 && fds[err_i].revents != 0) {
      for (;;) {
        ssize_t r = ::read(err_r.get(), buf, sizeof(buf));
        if (r > 0) {
          size_t keep = std::min(static_cast<size_t>(r),
                                 kMaxStderrBytes - std::min(kMaxStderrBytes, err.size()));
          err.append(buf, keep);
          continue;
        }
        if (r == 0 || (errno != EAGAIN && errno != EINTR)) err_r.Close();
        if (r < 0 && errno == EINTR) continue;
        break;
      }
    }
    if (pid_i >= 0 && fds[pid_i].revents != 0) exited = true;
  }
  kill_and_reap();

  const std::string who = "Lambda function '" + name + "'";
  std::string err_text = Excerpt(err, kMaxStderrBytes);
  std::string err_suffix = err_text.empty() ? "" : ": " + err_text;
  if (timed_out) {
    return Status::Unavailable(who + " timed out after " + std::to_string(timeout_ms) +
                               " ms and was killed" + err_suffix);
  }
  if (cancelled) return Status::Unavailable(who + " was cancelled (pipeline stopping)");
  if (too_much_output) {
    return Status::Internal(who + " wrote more than " + std::to_string(kMaxStdoutBytes) +
                            " bytes to stdout");
  }
  if (WIFSIGNALED(wait_status)) {
    return Status::Internal(who + " was killed by signal " + std::to_string(WTERMSIG(wait_status)) +
                            err_suffix);
  }
  if (!WIFEXITED(wait_status) || WEXITSTATUS(wait_status) != 0) {
    return Status::Internal(who + " exited with status " +
                            std::to_string(WEXITSTATUS(wait_status)) + err_suffix);
  }
  Json result = Json::parse(out, nullptr, false);
  if (result.is_discarded()) {
    return Status::Internal(who + " returned invalid output (expected a JSON array on stdout): '" +
                            Excerpt(out, 200) + "'");
  }
  if (!result.is_array()) {
    return Status::Internal(who + " returned a JSON " + std::string(result.type_name()) +
                            " instead of a JSON array of messages");
  }
  return result;
}

}  // namespace sluice::pipeline
