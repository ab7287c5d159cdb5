#include "server/credentials.h"

#include <nlohmann/json.hpp>

#include "common/strings.h"

namespace sluice {

std::optional<Credential> StaticCredentialProvider::Lookup(const std::string& id) const {
  if (ConstantTimeEquals(id, root_.access_key_id)) return root_;
  return std::nullopt;
}

namespace {

std::string RandomFrom(const std::string& alphabet, size_t n) {
  std::string bytes = RandomBytes(n);
  std::string out;
  for (unsigned char b : bytes) out.push_back(alphabet[b % alphabet.size()]);
  return out;
}

}  // namespace

Result<LoadedCredentials> LoadOrCreateRootCredentials(Env* env, const std::string& data_dir,
                                                      const std::string& env_id,
                                                      const std::string& env_secret) {
  if (!env_id.empty() || !env_secret.empty()) {
    if (env_id.empty() || env_secret.empty()) {
      return Status::InvalidArgument(
          "set both SLUICE_ACCESS_KEY_ID and SLUICE_SECRET_ACCESS_KEY, or neither");
    }
    return LoadedCredentials{{env_id, env_secret, ""}, false, ""};
  }
  std::string path = data_dir + "/credentials";
  if (env->FileExists(path)) {
    ASSIGN_OR_RETURN(std::string text, env->ReadFile(path));
    nlohmann::json j = nlohmann::json::parse(text, nullptr, false);
    if (j.is_discarded() || !j.is_object() || !j.contains("accessKeyId") ||
        !j.contains("secretAccessKey") || !j["accessKeyId"].is_string() ||
        !j["secretAccessKey"].is_string()) {
      return Status::Corruption(path + " is not a valid credentials file");
    }
    return LoadedCredentials{
        {j["accessKeyId"].get<std::string>(), j["secretAccessKey"].get<std::string>(), ""},
        false,
        path};
  }
  Credential c;
  c.access_key_id = "SLUI" + RandomFrom("ABCDEFGHIJKLMNOPQRSTUVWXYZ234567", 16);
  c.secret_access_key =
      RandomFrom("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/", 40);
  nlohmann::json j = {{"accessKeyId", c.access_key_id}, {"secretAccessKey", c.secret_access_key}};
  RETURN_IF_ERROR(env->WriteFileAtomic(path, j.dump(2) + "\n", 0600));
  return LoadedCredentials{c, true, path};
}

}  // namespace sluice
