// Lambda functions for pipeline `lambda` activities. There is no AWS Lambda in Sluice:
// a `lambdaName` names an executable file <lambda-dir>/<lambdaName>. One invocation runs
// the file once with the JSON array of messages on stdin; it must write a JSON array on
// stdout and exit with status 0 before the timeout. Its stderr (first 4 KB) is kept for
// the error message of a failed invocation.
//
// Process handling: the child is started with posix_spawn in its own process group, with
// stdin/stdout/stderr connected to pipes; the parent polls all pipes against a deadline
// (no thread per pipe). On timeout or cancellation the whole process group is killed
// (SIGKILL) and reaped, so a hung function leaves nothing behind.
//
// Threads: LambdaInvoker implementations must be safe to call from any thread
// concurrently. ProcessLambdaInvoker holds only its immutable directory and is.
#pragma once

#include <atomic>
#include <cstdint>
#include <string>

#include <nlohmann/json.hpp>

#include "common/status.h"

namespace sluice::pipeline {

class LambdaInvoker {
 public:
  virtual ~LambdaInvoker() = default;

  // Runs function `name` on `messages` (a JSON array) and returns its output array.
  // `cancel`, when not null, is checked while waiting: once it becomes true the call
  // ends promptly with kUnavailable (used so that stopping a pipeline does not wait for
  // a slow function). Errors:
  //   kInvalidArgument  `name` is not a valid function name, or `messages` not an array
  //   kNotFound         no executable file for `name`
  //   kUnavailable      timed out (the process group was killed), or cancelled
  //   kInternal         the process failed to start, exited non-zero / by a signal, or
  //                     wrote something other than a JSON array
  virtual Result<nlohmann::json> Invoke(const std::string& name, const nlohmann::json& messages,
                                        int64_t timeout_ms,
                                        const std::atomic<bool>* cancel = nullptr) = 0;
};

class ProcessLambdaInvoker final : public LambdaInvoker {
 public:
  // `dir` holds the executables (the server's --lambda-dir, default <data-dir>/lambdas).
  explicit ProcessLambdaInvoker(std::string dir) : dir_(std::move(dir)) {}

  Result<nlohmann::json> Invoke(const std::string& name, const nlohmann::json& messages,
                                int64_t timeout_ms,
                                const std::atomic<bool>* cancel = nullptr) override;

  const std::string& dir() const { return dir_; }

  // Limits on what a function may write.
  static constexpr size_t kMaxStdoutBytes = 64u << 20;
  static constexpr size_t kMaxStderrBytes = 4096;

 private:
  const std::string dir_;
};

// Lambda names follow the AWS model: 1-64 characters of [a-zA-Z0-9_-].
bool IsValidLambdaName(const std::string& name);

}  // namespace sluice::pipeline
