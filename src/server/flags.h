// Command-line flags for `sluice serve`. Every flag also has an environment variable;
// precedence: flag > environment > default.
// Thread-safety: parsed once on the main thread before anything starts.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "common/status.h"

namespace sluice {

struct ServeConfig {
  std::string data_dir = "./sluice-data";
  std::string listen = "127.0.0.1:8480";
  std::string region = "us-east-1";
  std::string account_id = "123456789012";
  int64_t max_channels = 50;
  int64_t max_datastores = 25;
  int64_t max_pipelines = 100;
  int64_t max_datasets = 100;
  int64_t max_body_bytes = 32ll << 20;
  int64_t request_timeout_seconds = 60;
  int64_t io_threads = 2;
  std::string lambda_dir;  // "" = <data-dir>/lambdas
};

struct FlagSpec {
  const char* flag;  // "--data-dir"
  const char* env;   // "SLUICE_DATA_DIR"
  const char* help;
};

const std::vector<FlagSpec>& ServeFlags();
std::string ServeHelp();

// Parses argv (after "serve") plus the environment. `getenv` is injectable for tests.
Result<ServeConfig> ParseServeFlags(const std::vector<std::string>& args,
                                    const char* (*getenv_fn)(const char*));

// "host:port" -> parts; port 0..65535. Accepts "[::1]:8480".
Status SplitHostPort(const std::string& listen, std::string* host, int* port);

}  // namespace sluice
