#include "server/credentials.h"

#include <gtest/gtest.h>
#include <sys/stat.h>
#include <unistd.h>

#include <filesystem>

namespace sluice {
namespace {

std::string FreshDir(const char* tag) {
  std::string d = std::filesystem::temp_directory_path() /
                  (std::string("sluice_cred_") + tag + "_" + std::to_string(::getpid()));
  std::filesystem::remove_all(d);
  std::filesystem::create_directories(d);
  return d;
}

TEST(CredentialsTest, EnvironmentWins) {
  std::string dir = FreshDir("env");
  auto c = LoadOrCreateRootCredentials(Env::Default(), dir, "AKID", "SECRET");
  ASSERT_TRUE(c.ok());
  EXPECT_EQ(c->root.access_key_id, "AKID");
  EXPECT_FALSE(c->generated);
  EXPECT_FALSE(std::filesystem::exists(dir + "/credentials"));
  EXPECT_FALSE(LoadOrCreateRootCredentials(Env::Default(), dir, "AKID", "").ok());
}

TEST(CredentialsTest, GeneratedOnceWithMode0600) {
  std::string dir = FreshDir("gen");
  auto a = LoadOrCreateRootCredentials(Env::Default(), dir, "", "");
  ASSERT_TRUE(a.ok()) << a.status().ToString();
  EXPECT_TRUE(a->generated);
  EXPECT_EQ(a->root.access_key_id.size(), 20u);
  EXPECT_EQ(a->root.secret_access_key.size(), 40u);
  struct stat st;
  ASSERT_EQ(::stat((dir + "/credentials").c_str(), &st), 0);
  EXPECT_EQ(st.st_mode & 0777, 0600u);
  auto b = LoadOrCreateRootCredentials(Env::Default(), dir, "", "");
  ASSERT_TRUE(b.ok());
  EXPECT_FALSE(b->generated);
  EXPECT_EQ(b->root.access_key_id, a->root.access_key_id);
  EXPECT_EQ(b->root.secret_access_key, a->root.secret_access_key);
}

TEST(CredentialsTest, WriteFailureIsReported) {
  std::string dir = FreshDir("fail");
  FaultInjectionEnv env(Env::Default());
  env.FailWrites(true);
  auto a = LoadOrCreateRootCredentials(&env, dir, "", "");
  ASSERT_FALSE(a.ok());
  EXPECT_EQ(a.status().code(), StatusCode::kIoError);
}

TEST(CredentialsTest, CorruptFileIsReported) {
  std::string dir = FreshDir("bad");
  ASSERT_TRUE(Env::Default()->WriteFileAtomic(dir + "/credentials", "{nope", 0600).ok());
  auto a = LoadOrCreateRootCredentials(Env::Default(), dir, "", "");
  ASSERT_FALSE(a.ok());
  EXPECT_EQ(a.status().code(), StatusCode::kCorruption);
}

TEST(CredentialsTest, ProviderLooksUpRootOnly) {
  StaticCredentialProvider p(Credential{"AKID", "S", ""});
  EXPECT_TRUE(p.Lookup("AKID").has_value());
  EXPECT_FALSE(p.Lookup("OTHER").has_value());
}

}  // namespace
}  // namespace sluice
