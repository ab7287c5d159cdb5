// The pipeline runner over the real ChannelStore, DatastoreStore (DuckDB), IoT SQL and a
// real lambda executable.
#include <sys/stat.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>
#include <memory>

#include <gtest/gtest.h>

#include "channel/channel_store.h"
#include "datastore/datastore_store.h"
#include "pipeline/pipeline_manager.h"
#include "pipeline/test_fakes.h"

namespace sluice::pipeline {
namespace {

constexpr int64_t kWaitMs = 20000;

class PipelineIntegrationTest : public ::testing::Test {
 protected:
  void SetUp() override {
    char tmpl[] = "/tmp/sluice-pipeline-it-XXXXXX";
    ASSERT_NE(::mkdtemp(tmpl), nullptr);
    dir_ = tmpl;
    std::filesystem::create_directories(dir_ + "/lambdas");
    std::string script = dir_ + "/lambdas/tag";
    // Adds "tagged":true to every message (sed over the compact JSON array).
    std::ofstream(script) << "#!/bin/sh\nsed 's/}/,\"tagged\":true}/g'\n";
    ::chmod(script.c_str(), 0755);
    invoker_ = std::make_unique<ProcessLambdaInvoker>(dir_ + "/lambdas");
    Open();
    ASSERT_TRUE(channels_->CreateChannel("ch").ok());
    ASSERT_TRUE(datastores_->CreateDatastore("ds", Json::object()).ok());
  }
  void TearDown() override {
    Close();
    std::filesystem::remove_all(dir_);
  }

  void Open() {
    auto ch = ChannelStore::Open(dir_ + "/channels", &clock_);
    ASSERT_TRUE(ch.ok()) << ch.status().ToString();
    channels_ = std::move(ch).value();
    auto ds = DatastoreStore::Open(dir_ + "/datastores", &clock_);
    ASSERT_TRUE(ds.ok()) << ds.status().ToString();
    datastores_ = std::move(ds).value();
    PipelineManagerOptions o;
    o.state_dir = dir_ + "/pipelines";
    o.idle_wait_micros = 100000;
    manager_ = std::make_unique<PipelineManager>(channels_.get(), datastores_.get(), &things_,
                                                 invoker_.get(), &clock_, o);
  }
  void Close() {
    if (manager_) manager_->Shutdown();
    manager_.reset();
    if (channels_) channels_->Shutdown();
    channels_.reset();
    datastores_.reset();
  }

  uint64_t Put(const std::vector<std::string>& payloads) {
    std::vector<IncomingMessage> in;
    for (const auto& p : payloads) in.push_back({"m" + std::to_string(next_id_++), p});
    auto r = channels_->Append("ch", std::move(in));
    EXPECT_TRUE(r.ok()) << r.status().ToString();
    return r.ok() && !r->empty() ? r->back() + 1 : 0;
  }

  std::vector<std::vector<std::string>> Query(const std::string& sql) {
    auto r = datastores_->Query(sql);
    EXPECT_TRUE(r.ok()) << sql << ": " << r.status().ToString();
    std::vector<std::vector<std::string>> out;
    if (!r.ok()) return out;
    for (const auto& row : r->rows) {
      std::vector<std::string> v;
      for (const auto& c : row) v.push_back(c.value_or("NULL"));
      out.push_back(v);
    }
    return out;
  }

  static Json Definition() {
    return Json::parse(R"({"activities":[
      {"datastore":{"name":"store","datastoreName":"ds"}},
      {"channel":{"name":"src","channelName":"ch","next":"hot"}},
      {"filter":{"name":"hot","filter":"temp > 40 AND hum < 20","next":"celsius"}},
      {"math":{"name":"celsius","math":"((temp - 32) * 5.0) / 9.0","attribute":"tempC",
               "next":"promote"}},
      {"addAttributes":{"name":"promote","attributes":{"device.id":"id","device.coord[0]":"lat"},
                        "next":"strip"}},
      {"removeAttributes":{"name":"strip","attributes":["device"],"next":"tag"}},
      {"lambda":{"name":"tag","lambdaName":"tag","batchSize":2,"next":"store"}}]})");
  }

  FakeClock clock_{1602769512500000};  // 2020-10-15 13:45:12.5 UTC
  testing::FakeThingLookup things_;
  std::string dir_;
  std::unique_ptr<ProcessLambdaInvoker> invoker_;
  std::unique_ptr<ChannelStore> channels_;
  std::unique_ptr<DatastoreStore> datastores_;
  std::unique_ptr<PipelineManager> manager_;
  int next_id_ = 0;
};

TEST_F(PipelineIntegrationTest, ActivitiesIntoDuckDbExactlyOnceAcrossRestart) {
  ASSERT_TRUE(manager_->Create("p", Definition()).ok());
  uint64_t end = Put({
      R"({"temp":104,"hum":10,"device":{"id":"a","coord":[47.5,-122.3]}})",
      R"({"temp":50,"hum":30,"device":{"id":"b","coord":[1,2]}})",  // filtered (hum)
      R"({"temp":68,"hum":5,"device":{"id":"c","coord":[3.25,4]}})", "this is not json",
      R"({"hum":5,"device":{"id":"d"}})",  // temp missing: Undefined, filtered
  });
  ASSERT_TRUE(manager_->WaitForPosition("p", end, kWaitMs));
  EXPECT_EQ(Query("SELECT id, tempC, lat, tagged FROM ds ORDER BY id"),
            (std::vector<std::vector<std::string>>{{"a", "40", "47.5", "true"},
                                                   {"c", "20", "3.25", "true"}}));
  EXPECT_EQ(Query("SELECT CAST(__dt AS VARCHAR) FROM ds LIMIT 1")[0][0], "2020-10-15 00:00:00");
  auto st = manager_->GetStatus("p");
  ASSERT_TRUE(st.ok());
  EXPECT_EQ(st->dropped[kDropFiltered], 2u);
  EXPECT_EQ(st->dropped[kDropInvalidJson], 1u);

  // Restart everything; messages put meanwhile are processed once, nothing is repeated.
  Close();
  Open();
  ASSERT_TRUE(channels_->CreateChannel("ch").ok());
  end = Put({R"({"temp":212,"hum":1,"device":{"id":"e","coord":[5,6]}})"});
  ASSERT_TRUE(manager_->Start("p", Definition()).ok());
  ASSERT_TRUE(manager_->WaitForPosition("p", end, kWaitMs));
  EXPECT_EQ(Query("SELECT id, tempC FROM ds ORDER BY id"),
            (std::vector<std::vector<std::string>>{{"a", "40"}, {"c", "20"}, {"e", "100"}}));

  // Reprocessing everything appends the matching rows again; the live position stays.
  auto id = manager_->StartReprocessing("p", std::nullopt, std::nullopt);
  ASSERT_TRUE(id.ok()) << id.status().ToString();
  ASSERT_TRUE(manager_->WaitForReprocessing("p", *id, kWaitMs));
  EXPECT_EQ(Query("SELECT id, count(*) FROM ds GROUP BY id ORDER BY id"),
            (std::vector<std::vector<std::string>>{{"a", "2"}, {"c", "2"}, {"e", "2"}}));
  EXPECT_EQ(manager_->GetStatus("p")->position, end);
  EXPECT_EQ(manager_->ReprocessingSummaries("p")->at(0).status, "SUCCEEDED");
}

TEST_F(PipelineIntegrationTest, RunActivityWithRealLambdaAndExpression) {
  std::string log;
  auto out = manager_->RunActivity(
      Json::parse(R"({"lambda":{"name":"l","lambdaName":"tag","batchSize":10}})"), {R"({"a":1})"},
      &log);
  ASSERT_TRUE(out.ok());
  ASSERT_EQ(out->size(), 1u);
  EXPECT_EQ((*out)[0], Json::parse(R"({"a":1,"tagged":true})"));
  EXPECT_EQ(log, "");

  out = manager_->RunActivity(
      Json::parse(R"({"lambda":{"name":"l","lambdaName":"missing","batchSize":10}})"),
      {R"({"a":1})"}, &log);
  ASSERT_TRUE(out.ok());
  EXPECT_TRUE(out->empty());
  EXPECT_NE(log.find("not found"), std::string::npos) << log;
}

}  // namespace
}  // namespace sluice::pipeline
