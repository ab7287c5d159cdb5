#include "server/flags.h"

#include <cstdlib>
#include <map>
#include <sstream>

namespace sluice {

const std::vector<FlagSpec>& ServeFlags() {
  static const std::vector<FlagSpec> kFlags = {
      {"--data-dir", "SLUICE_DATA_DIR",
       "Directory for all state: catalog.db, credentials. Default ./sluice-data"},
      {"--listen", "SLUICE_LISTEN",
       "HOST:PORT to serve every API on. Port 0 picks a free port. Default 127.0.0.1:8480"},
      {"--region", "SLUICE_REGION", "Region used in ARNs. Default us-east-1"},
      {"--account-id", "SLUICE_ACCOUNT_ID", "Account id used in ARNs. Default 123456789012"},
      {"--max-channels", "SLUICE_MAX_CHANNELS", "Channel quota. Default 50"},
      {"--max-datastores", "SLUICE_MAX_DATASTORES", "Datastore quota. Default 25"},
      {"--max-pipelines", "SLUICE_MAX_PIPELINES", "Pipeline quota. Default 100"},
      {"--max-datasets", "SLUICE_MAX_DATASETS", "Dataset quota. Default 100"},
      {"--max-body-bytes", "SLUICE_MAX_BODY_BYTES",
       "Largest accepted request body. Default 33554432 (32 MiB)"},
      {"--request-timeout-seconds", "SLUICE_REQUEST_TIMEOUT_SECONDS",
       "A request's headers and body must arrive within this time. Default 60"},
      {"--io-threads", "SLUICE_IO_THREADS", "HTTP worker threads. Default 2"},
      {"--lambda-dir", "SLUICE_LAMBDA_DIR",
       "Directory of pipeline lambda functions: lambdaName X runs the executable DIR/X with "
       "a JSON array of messages on stdin and reads the resulting array from stdout. "
       "Default DATA_DIR/lambdas"},
  };
  return kFlags;
}

std::string ServeHelp() {
  std::ostringstream os;
  os << "usage: sluice serve [flags]\n\n"
        "Runs the whole Sluice server (IoT Analytics API; later S3, IoT rules, IoT data)\n"
        "on one port. Requests are routed by their SigV4 credential scope.\n\n"
        "Flags (each also read from the environment variable shown):\n";
  for (const auto& f : ServeFlags()) {
    os << "  " << f.flag << " VALUE   [" << f.env << "]\n      " << f.help << "\n";
  }
  os << "\nCredentials:\n"
        "  SLUICE_ACCESS_KEY_ID / SLUICE_SECRET_ACCESS_KEY set the root key pair. When unset,\n"
        "  a pair is generated on first start, saved in DATA_DIR/credentials (mode 0600)\n"
        "  and printed once.\n\n"
        "Unauthenticated endpoint: GET /_sluice/health\n"
        "SIGTERM or SIGINT shuts down cleanly.\n";
  return os.str();
}

namespace {

Status ParseInt(const std::string& name, const std::string& v, int64_t lo, int64_t* out) {
  char* end = nullptr;
  long long n = std::strtoll(v.c_str(), &end, 10);
  if (v.empty() || *end != '\0' || n < lo) {
    return Status::InvalidArgument(name + " must be an integer >= " + std::to_string(lo) +
                                   ", got '" + v + "'");
  }
  *out = n;
  return Status::Ok();
}

Status Apply(ServeConfig* c, const std::string& flag, const std::string& v) {
  if (flag == "--data-dir") {
    if (v.empty()) return Status::InvalidArgument("--data-dir must not be empty");
    c->data_dir = v;
  } else if (flag == "--listen") {
    std::string host;
    int port;
    RETURN_IF_ERROR(SplitHostPort(v, &host, &port));
    c->listen = v;
  } else if (flag == "--region") {
    if (v.empty()) return Status::InvalidArgument("--region must not be empty");
    c->region = v;
  } else if (flag == "--account-id") {
    if (v.size() != 12 || v.find_first_not_of("0123456789") != std::string::npos) {
      return Status::InvalidArgument("--account-id must be 12 digits, got '" + v + "'");
    }
    c->account_id = v;
  } else if (flag == "--max-channels") {
    return ParseInt(flag, v, 0, &c->max_channels);
  } else if (flag == "--max-datastores") {
    return ParseInt(flag, v, 0, &c->max_datastores);
  } else if (flag == "--max-pipelines") {
    return ParseInt(flag, v, 0, &c->max_pipelines);
  } else if (flag == "--max-datasets") {
    return ParseInt(flag, v, 0, &c->max_datasets);
  } else if (flag == "--max-body-bytes") {
    return ParseInt(flag, v, 1024, &c->max_body_bytes);
  } else if (flag == "--request-timeout-seconds") {
    return ParseInt(flag, v, 1, &c->request_timeout_seconds);
  } else if (flag == "--io-threads") {
    return ParseInt(flag, v, 1, &c->io_threads);
  } else if (flag == "--lambda-dir") {
    if (v.empty()) return Status::InvalidArgument("--lambda-dir must not be empty");
    c->lambda_dir = v;
  } else {
    return Status::InvalidArgument("unknown flag " + flag + " (see sluice serve --help)");
  }
  return Status::Ok();
}

}  // namespace

Status SplitHostPort(const std::string& listen, std::string* host, int* port) {
  size_t colon = listen.rfind(':');
  if (colon == std::string::npos || colon == 0 || colon + 1 == listen.size()) {
    return Status::InvalidArgument("--listen must be HOST:PORT, got '" + listen + "'");
  }
  std::string h = listen.substr(0, colon);
  if (h.size() >= 2 && h.front() == '[' && h.back() == ']') h = h.substr(1, h.size() - 2);
  int64_t p;
  Status st = ParseInt("--listen port", listen.substr(colon + 1), 0, &p);
  if (!st.ok() || p > 65535) {
    return Status::InvalidArgument("--listen port must be 0-65535, got '" + listen + "'");
  }
  *host = h;
  *port = static_cast<int>(p);
  return Status::Ok();
}

Result<ServeConfig> ParseServeFlags(const std::vector<std::string>& args,
                                    const char* (*getenv_fn)(const char*)) {
  ServeConfig c;
  for (const auto& f : ServeFlags()) {
    const char* v = getenv_fn(f.env);
    if (v != nullptr && *v != '\0') {
      Status st = Apply(&c, f.flag, v);
      if (!st.ok()) return Status::InvalidArgument(std::string(f.env) + ": " + st.message());
    }
  }
  for (size_t i = 0; i < args.size(); ++i) {
    std::string a = args[i];
    std::string value;
    size_t eq = a.find('=');
    if (a.rfind("--", 0) != 0) return Status::InvalidArgument("unexpected argument '" + a + "'");
    if (eq != std::string::npos) {
      value = a.substr(eq + 1);
      a = a.substr(0, eq);
    } else {
      if (i + 1 >= args.size()) return Status::InvalidArgument(a + " needs a value");
      value = args[++i];
    }
    RETURN_IF_ERROR(Apply(&c, a, value));
  }
  return c;
}

}  // namespace sluice
