// Root credentials for the server. Taken from SLUICE_ACCESS_KEY_ID /
// SLUICE_SECRET_ACCESS_KEY when set; otherwise loaded from <data-dir>/credentials, or
// generated there (mode 0600) on first start and printed once.
// Later issues add short-lived session credentials (containers) to the same provider.
// Thread-safety: immutable after Load; Lookup may be called from any thread.
#pragma once

#include <optional>
#include <string>

#include "api/sigv4.h"
#include "common/env.h"

namespace sluice {

class StaticCredentialProvider final : public CredentialProvider {
 public:
  explicit StaticCredentialProvider(Credential root) : root_(std::move(root)) {}
  std::optional<Credential> Lookup(const std::string& access_key_id) const override;
  const Credential& root() const { return root_; }

 private:
  Credential root_;
};

struct LoadedCredentials {
  Credential root;
  bool generated = false;  // true on the first start that created them
  std::string path;        // where they are stored ("" when from the environment)
};

// `env_id`/`env_secret` are the values of the environment variables (empty = unset).
Result<LoadedCredentials> LoadOrCreateRootCredentials(Env* env, const std::string& data_dir,
                                                      const std::string& env_id,
                                                      const std::string& env_secret);

}  // namespace sluice
