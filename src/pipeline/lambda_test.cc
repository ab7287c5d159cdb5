#include "pipeline/lambda.h"

#include <signal.h>
#include <sys/stat.h>
#include <unistd.h>

#include <chrono>
#include <cstdlib>
#include <filesystem>
#include <fstream>

#include <gtest/gtest.h>

namespace sluice::pipeline {
namespace {

using Json = nlohmann::json;

class LambdaTest : public ::testing::Test {
 protected:
  void SetUp() override {
    char tmpl[] = "/tmp/sluice-lambda-XXXXXX";
    ASSERT_NE(::mkdtemp(tmpl), nullptr);
    dir_ = tmpl;
  }
  void TearDown() override { std::filesystem::remove_all(dir_); }

  void Script(const std::string& name, const std::string& body, bool executable = true) {
    std::string path = dir_ + "/" + name;
    std::ofstream(path) << "#!/bin/sh\n" << body << "\n";
    ::chmod(path.c_str(), executable ? 0755 : 0644);
  }

  static int64_t NowMs() {
    return std::chrono::duration_cast<std::chrono::milliseconds>(
               std::chrono::steady_clock::now().time_since_epoch())
        .count();
  }

  std::string dir_;
};

TEST_F(LambdaTest, EchoRoundTrip) {
  Script("echo", "exec cat");
  ProcessLambdaInvoker inv(dir_);
  Json in = Json::array({{{"a", 1}}, {{"b", "x"}}});
  auto out = inv.Invoke("echo", in, 5000);
  ASSERT_TRUE(out.ok()) << out.status().ToString();
  EXPECT_EQ(*out, in);
}

TEST_F(LambdaTest, LargeInputAndOutput) {
  Script("echo", "exec cat");
  ProcessLambdaInvoker inv(dir_);
  Json in = Json::array();
  for (int i = 0; i < 1000; ++i) in.push_back({{"i", i}, {"pad", std::string(1000, 'x')}});
  auto out = inv.Invoke("echo", in, 10000);
  ASSERT_TRUE(out.ok()) << out.status().ToString();
  EXPECT_EQ(*out, in);
}

TEST_F(LambdaTest, TransformsAndMayChangeCount) {
  Script("two", R"(cat >/dev/null; printf '[{"x":1},{"x":2}]')");
  ProcessLambdaInvoker inv(dir_);
  auto out = inv.Invoke("two", Json::array({Json::object()}), 5000);
  ASSERT_TRUE(out.ok()) << out.status().ToString();
  EXPECT_EQ(*out, Json::parse(R"([{"x":1},{"x":2}])"));
}

TEST_F(LambdaTest, IgnoresInputWithoutSigpipe) {
  // Does not read stdin: the 1 MB write hits a closed pipe and must not kill the test.
  Script("noread", "echo '[]'");
  ProcessLambdaInvoker inv(dir_);
  Json in = Json::array();
  for (int i = 0; i < 200; ++i) in.push_back({{"pad", std::string(5000, 'y')}});
  auto out = inv.Invoke("noread", in, 5000);
  ASSERT_TRUE(out.ok()) << out.status().ToString();
  EXPECT_EQ(*out, Json::array());
}

TEST_F(LambdaTest, CrashReportsStatusAndStderr) {
  Script("crash", "cat >/dev/null; echo 'Temp unavailable' >&2; exit 3");
  ProcessLambdaInvoker inv(dir_);
  auto out = inv.Invoke("crash", Json::array(), 5000);
  ASSERT_FALSE(out.ok());
  EXPECT_EQ(out.status().code(), StatusCode::kInternal);
  EXPECT_NE(out.status().message().find("exited with status 3"), std::string::npos)
      << out.status().message();
  EXPECT_NE(out.status().message().find("Temp unavailable"), std::string::npos);
}

TEST_F(LambdaTest, KilledBySignal) {
  Script("segv", "kill -SEGV $$");
  ProcessLambdaInvoker inv(dir_);
  auto out = inv.Invoke("segv", Json::array(), 5000);
  ASSERT_FALSE(out.ok());
  EXPECT_NE(out.status().message().find("killed by signal " + std::to_string(SIGSEGV)),
            std::string::npos)
      << out.status().message();
}

TEST_F(LambdaTest, StderrIsCappedAt4K) {
  Script("noisy", "head -c 100000 /dev/zero | tr '\\0' e >&2; exit 1");
  ProcessLambdaInvoker inv(dir_);
  auto out = inv.Invoke("noisy", Json::array(), 5000);
  ASSERT_FALSE(out.ok());
  EXPECT_LT(out.status().message().size(), 4096u + 200u);
}

TEST_F(LambdaTest, HangTimesOutAndKillsProcessGroup) {
  // The function starts a background child (same process group) that writes its pid.
  std::string pidfile = dir_ + "/child.pid";
  Script("hang", "sleep 1000 & echo $! > " + pidfile + "; wait");
  ProcessLambdaInvoker inv(dir_);
  int64_t start = NowMs();
  auto out = inv.Invoke("hang", Json::array(), 300);
  int64_t took = NowMs() - start;
  ASSERT_FALSE(out.ok());
  EXPECT_EQ(out.status().code(), StatusCode::kUnavailable);
  EXPECT_NE(out.status().message().find("timed out after 300 ms"), std::string::npos)
      << out.status().message();
  EXPECT_LT(took, 5000);
  // The grandchild was killed with the group (it may be a zombie briefly: reaped by init).
  std::ifstream in(pidfile);
  pid_t child = 0;
  in >> child;
  ASSERT_GT(child, 0);
  bool gone = false;
  for (int64_t deadline = NowMs() + 5000; NowMs() < deadline;) {
    std::ifstream stat("/proc/" + std::to_string(child) + "/stat");
    std::string line;
    if (!stat || !std::getline(stat, line) || line.find(") Z") != std::string::npos) {
      gone = true;
      break;
    }
  }
  EXPECT_TRUE(gone);
}

TEST_F(LambdaTest, CancelEndsPromptly) {
  Script("hang", "exec sleep 1000");
  ProcessLambdaInvoker inv(dir_);
  std::atomic<bool> cancel{true};
  int64_t start = NowMs();
  auto out = inv.Invoke("hang", Json::array(), 60000, &cancel);
  ASSERT_FALSE(out.ok());
  EXPECT_NE(out.status().message().find("cancelled"), std::string::npos);
  EXPECT_LT(NowMs() - start, 5000);
}

TEST_F(LambdaTest, GarbageOutput) {
  Script("garbage", "cat >/dev/null; echo 'this is not json'");
  ProcessLambdaInvoker inv(dir_);
  auto out = inv.Invoke("garbage", Json::array(), 5000);
  ASSERT_FALSE(out.ok());
  EXPECT_EQ(out.status().code(), StatusCode::kInternal);
  EXPECT_NE(out.status().message().find("invalid output"), std::string::npos);
  EXPECT_NE(out.status().message().find("this is not json"), std::string::npos);
}

TEST_F(LambdaTest, ObjectInsteadOfArray) {
  Script("obj", "cat >/dev/null; echo '{\"a\":1}'");
  ProcessLambdaInvoker inv(dir_);
  auto out = inv.Invoke("obj", Json::array(), 5000);
  ASSERT_FALSE(out.ok());
  EXPECT_NE(out.status().message().find("instead of a JSON array"), std::string::npos);
}

TEST_F(LambdaTest, MissingOrNotExecutable) {
  Script("plain", "echo '[]'", /*executable=*/false);
  ProcessLambdaInvoker inv(dir_);
  auto missing = inv.Invoke("nope", Json::array(), 5000);
  ASSERT_FALSE(missing.ok());
  EXPECT_EQ(missing.status().code(), StatusCode::kNotFound);
  EXPECT_NE(missing.status().message().find(dir_ + "/nope"), std::string::npos);
  auto plain = inv.Invoke("plain", Json::array(), 5000);
  ASSERT_FALSE(plain.ok());
  EXPECT_EQ(plain.status().code(), StatusCode::kNotFound);
}

TEST_F(LambdaTest, RejectsBadNames) {
  ProcessLambdaInvoker inv(dir_);
  for (const char* bad : {"", "../etc/passwd", "a/b", ".", "x y"}) {
    auto out = inv.Invoke(bad, Json::array(), 1000);
    ASSERT_FALSE(out.ok()) << bad;
    EXPECT_EQ(out.status().code(), StatusCode::kInvalidArgument) << bad;
  }
  EXPECT_TRUE(IsValidLambdaName("my-function_2"));
  EXPECT_FALSE(IsValidLambdaName(std::string(65, 'a')));
}

}  // namespace
}  // namespace sluice::pipeline
