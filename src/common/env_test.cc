#include "common/env.h"

#include <gtest/gtest.h>
#include <sys/stat.h>

#include <filesystem>

namespace sluice {
namespace {

std::string TempDir() {
  std::string d =
      std::filesystem::temp_directory_path() / ("sluice_env_test_" + std::to_string(::getpid()));
  std::filesystem::remove_all(d);
  return d;
}

TEST(EnvTest, AtomicWriteAndRead) {
  Env* env = Env::Default();
  std::string dir = TempDir();
  ASSERT_TRUE(env->CreateDirs(dir).ok());
  std::string f = dir + "/a.txt";
  ASSERT_TRUE(env->WriteFileAtomic(f, "hello", 0600).ok());
  auto r = env->ReadFile(f);
  ASSERT_TRUE(r.ok());
  EXPECT_EQ(*r, "hello");
  struct stat st;
  ASSERT_EQ(::stat(f.c_str(), &st), 0);
  EXPECT_EQ(st.st_mode & 0777, 0600u);
  EXPECT_FALSE(env->FileExists(f + ".tmp"));
  std::filesystem::remove_all(dir);
}

TEST(EnvTest, FaultInjectionFailsWritesAndReads) {
  std::string dir = TempDir();
  FaultInjectionEnv env(Env::Default());
  ASSERT_TRUE(env.CreateDirs(dir).ok());
  env.FailWrites(true);
  Status st = env.WriteFileAtomic(dir + "/b", "x", 0600);
  EXPECT_EQ(st.code(), StatusCode::kIoError);
  EXPECT_FALSE(env.FileExists(dir + "/b"));
  env.FailWrites(false);
  ASSERT_TRUE(env.WriteFileAtomic(dir + "/b", "x", 0600).ok());
  env.FailReads(true);
  EXPECT_FALSE(env.ReadFile(dir + "/b").ok());
  std::filesystem::remove_all(dir);
}

TEST(EnvTest, ReadMissingFileIsIoError) {
  auto r = Env::Default()->ReadFile("/nonexistent/sluice/file");
  EXPECT_FALSE(r.ok());
  EXPECT_EQ(r.status().code(), StatusCode::kIoError);
}

}  // namespace
}  // namespace sluice
