#include "server/flags.h"

#include <gtest/gtest.h>

#include <map>

namespace sluice {
namespace {

std::map<std::string, std::string>* g_env;
const char* FakeGetenv(const char* name) {
  auto it = g_env->find(name);
  return it == g_env->end() ? nullptr : it->second.c_str();
}

struct FlagsTest : ::testing::Test {
  std::map<std::string, std::string> env;
  void SetUp() override { g_env = &env; }
};

TEST_F(FlagsTest, Defaults) {
  auto c = ParseServeFlags({}, FakeGetenv);
  ASSERT_TRUE(c.ok());
  EXPECT_EQ(c->data_dir, "./sluice-data");
  EXPECT_EQ(c->listen, "127.0.0.1:8480");
  EXPECT_EQ(c->region, "us-east-1");
  EXPECT_EQ(c->account_id, "123456789012");
  EXPECT_EQ(c->max_channels, 50);
  EXPECT_EQ(c->max_datastores, 25);
}

TEST_F(FlagsTest, FlagBeatsEnvBeatsDefault) {
  env["SLUICE_REGION"] = "eu-west-1";
  env["SLUICE_DATA_DIR"] = "/from/env";
  auto c = ParseServeFlags({"--data-dir", "/from/flag", "--max-channels=3"}, FakeGetenv);
  ASSERT_TRUE(c.ok()) << c.status().ToString();
  EXPECT_EQ(c->data_dir, "/from/flag");
  EXPECT_EQ(c->region, "eu-west-1");
  EXPECT_EQ(c->max_channels, 3);
}

TEST_F(FlagsTest, EveryFlagHasAnEnvVariableAndHelp) {
  std::string help = ServeHelp();
  for (const auto& f : ServeFlags()) {
    EXPECT_NE(help.find(f.flag), std::string::npos) << f.flag;
    EXPECT_NE(help.find(f.env), std::string::npos) << f.env;
  }
}

TEST_F(FlagsTest, BadValuesAreExplained) {
  auto a = ParseServeFlags({"--listen", "nope"}, FakeGetenv);
  ASSERT_FALSE(a.ok());
  EXPECT_NE(a.status().message().find("HOST:PORT"), std::string::npos);
  auto b = ParseServeFlags({"--account-id", "12"}, FakeGetenv);
  ASSERT_FALSE(b.ok());
  EXPECT_NE(b.status().message().find("12 digits"), std::string::npos);
  auto c = ParseServeFlags({"--bogus", "1"}, FakeGetenv);
  ASSERT_FALSE(c.ok());
  EXPECT_NE(c.status().message().find("unknown flag --bogus"), std::string::npos);
  auto d = ParseServeFlags({"--max-datasets"}, FakeGetenv);
  EXPECT_FALSE(d.ok());
  env["SLUICE_MAX_PIPELINES"] = "x";
  auto e = ParseServeFlags({}, FakeGetenv);
  ASSERT_FALSE(e.ok());
  EXPECT_NE(e.status().message().find("SLUICE_MAX_PIPELINES"), std::string::npos);
}

TEST_F(FlagsTest, SplitHostPort) {
  std::string h;
  int p;
  ASSERT_TRUE(SplitHostPort("127.0.0.1:0", &h, &p).ok());
  EXPECT_EQ(h, "127.0.0.1");
  EXPECT_EQ(p, 0);
  ASSERT_TRUE(SplitHostPort("[::1]:8480", &h, &p).ok());
  EXPECT_EQ(h, "::1");
  EXPECT_EQ(p, 8480);
  EXPECT_FALSE(SplitHostPort("h:70000", &h, &p).ok());
  EXPECT_FALSE(SplitHostPort(":80", &h, &p).ok());
}

}  // namespace
}  // namespace sluice
