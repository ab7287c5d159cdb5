#include "pipeline/pipeline_manager.h"

#include <unistd.h>

#include <filesystem>
#include <memory>

#include <gtest/gtest.h>

#include "common/strings.h"
#include "pipeline/test_fakes.h"

namespace sluice::pipeline {
namespace {

using testing::FakeChannelStore;
using testing::FakeDatastoreStore;
using testing::FakeLambdaInvoker;
using testing::FakeThingLookup;

constexpr int64_t kWaitMs = 10000;

Json J(const char* text) { return Json::parse(text); }

Json Definition(const std::string& middle = "", const std::string& channel = "ch",
                const std::string& datastore = "ds") {
  // middle: comma-separated activities, the first named "m0", chained m0 -> m1 -> ... -> d.
  Json acts = Json::array();
  Json mids = middle.empty() ? Json::array() : Json::parse("[" + middle + "]");
  std::string first = mids.empty() ? "d" : "m0";
  acts.push_back({{"channel", {{"name", "c"}, {"channelName", channel}, {"next", first}}}});
  for (size_t i = 0; i < mids.size(); ++i) {
    Json a = mids[i];
    Json& body = a.begin().value();
    body["name"] = "m" + std::to_string(i);
    body["next"] = i + 1 < mids.size() ? "m" + std::to_string(i + 1) : "d";
    acts.push_back(a);
  }
  acts.push_back({{"datastore", {{"name", "d"}, {"datastoreName", datastore}}}});
  return {{"activities", acts}};
}

std::vector<std::string> Seq(int from, int to) {
  std::vector<std::string> out;
  for (int i = from; i < to; ++i) out.push_back(R"({"seq":)" + std::to_string(i) + "}");
  return out;
}

class PipelineManagerTest : public ::testing::Test {
 protected:
  void SetUp() override {
    ASSERT_TRUE(channels_.CreateChannel("ch").ok());
    ASSERT_TRUE(channels_.CreateChannel("ch2").ok());
    ASSERT_TRUE(datastores_.CreateDatastore("ds", Json::object()).ok());
    ASSERT_TRUE(datastores_.CreateDatastore("ds2", Json::object()).ok());
    char tmpl[] = "/tmp/sluice-pipeline-XXXXXX";
    ASSERT_NE(::mkdtemp(tmpl), nullptr);
    state_dir_ = tmpl;
    manager_ = NewManager();
  }
  void TearDown() override {
    manager_.reset();
    std::filesystem::remove_all(state_dir_);
  }

  std::unique_ptr<PipelineManager> NewManager() {
    PipelineManagerOptions o;
    o.idle_wait_micros = 50000;
    o.batch_max_messages = 100;
    o.max_backoff_ms = 50;
    o.state_dir = state_dir_;
    return std::make_unique<PipelineManager>(&channels_, &datastores_, &things_, &lambdas_, &clock_,
                                             o);
  }

  std::vector<int> SeqValues(const std::string& ds = "ds") {
    std::vector<int> out;
    for (const Json& r : datastores_.Rows(ds)) out.push_back(r.value("seq", -1));
    return out;
  }
  static std::vector<int> Range(int from, int to) {
    std::vector<int> v;
    for (int i = from; i < to; ++i) v.push_back(i);
    return v;
  }

  FakeClock clock_{1700000000000000};
  FakeChannelStore channels_{&clock_};
  FakeDatastoreStore datastores_;
  FakeThingLookup things_;
  FakeLambdaInvoker lambdas_;
  std::string state_dir_;
  std::unique_ptr<PipelineManager> manager_;
};

TEST_F(PipelineManagerTest, MessagesArriveExactlyOnceInOrder) {
  ASSERT_TRUE(manager_->Create("p", Definition()).ok());
  for (int i = 0; i < 250; i += 50) channels_.Put("ch", Seq(i, i + 50));
  ASSERT_TRUE(manager_->WaitForPosition("p", 250, kWaitMs));
  EXPECT_EQ(SeqValues(), Range(0, 250));
  auto st = manager_->GetStatus("p");
  ASSERT_TRUE(st.ok());
  EXPECT_EQ(st->messages_read, 250u);
  EXPECT_EQ(st->messages_written, 250u);
  EXPECT_EQ(st->position, 250u);
  EXPECT_EQ(st->channel, "ch");
  EXPECT_EQ(st->datastore, "ds");
  EXPECT_TRUE(st->dropped.empty());
}

TEST_F(PipelineManagerTest, RowsCarryArrivalTime) {
  ASSERT_TRUE(manager_->Create("p", Definition()).ok());
  channels_.Put("ch", Seq(0, 1));
  ASSERT_TRUE(manager_->WaitForPosition("p", 1, kWaitMs));
  auto rows = datastores_.RawRows("ds");
  ASSERT_EQ(rows.size(), 1u);
  EXPECT_EQ(rows[0].arrival_micros, clock_.NowMicros());
}

TEST_F(PipelineManagerTest, NewPipelineStartsAtChannelEnd) {
  channels_.Put("ch", Seq(0, 10));
  ASSERT_TRUE(manager_->Create("p", Definition()).ok());
  auto st = manager_->GetStatus("p");
  channels_.Put("ch", Seq(10, 15));
  ASSERT_TRUE(manager_->WaitForPosition("p", 15, kWaitMs));
  EXPECT_EQ(SeqValues(), Range(10, 15));
}

TEST_F(PipelineManagerTest, CreateTwiceAndUnknownPipeline) {
  ASSERT_TRUE(manager_->Create("p", Definition()).ok());
  EXPECT_EQ(manager_->Create("p", Definition()).code(), StatusCode::kAlreadyExists);
  EXPECT_EQ(manager_->Update("nope", Definition()).code(), StatusCode::kNotFound);
  EXPECT_EQ(manager_->Stop("nope").code(), StatusCode::kNotFound);
  EXPECT_EQ(manager_->GetStatus("nope").status().code(), StatusCode::kNotFound);
  EXPECT_EQ(manager_->Create("q", Json::object()).code(), StatusCode::kInvalidArgument);
}

TEST_F(PipelineManagerTest, UpdateAppliesToLaterMessages) {
  ASSERT_TRUE(manager_->Create("p", Definition()).ok());
  channels_.Put("ch", Seq(0, 5));
  ASSERT_TRUE(manager_->WaitForPosition("p", 5, kWaitMs));
  ASSERT_TRUE(
      manager_->Update("p", Definition(R"({"addAttributes":{"attributes":{"seq":"copy"}}})")).ok());
  channels_.Put("ch", Seq(5, 10));
  ASSERT_TRUE(manager_->WaitForPosition("p", 10, kWaitMs));
  auto rows = datastores_.Rows("ds");
  ASSERT_EQ(rows.size(), 10u);
  for (int i = 0; i < 10; ++i) {
    EXPECT_EQ(rows[i].contains("copy"), i >= 5) << rows[i].dump();
  }
}

TEST_F(PipelineManagerTest, UpdateToAnotherDatastoreContinues) {
  ASSERT_TRUE(manager_->Create("p", Definition()).ok());
  channels_.Put("ch", Seq(0, 3));
  ASSERT_TRUE(manager_->WaitForPosition("p", 3, kWaitMs));
  ASSERT_TRUE(manager_->Update("p", Definition("", "ch", "ds2")).ok());
  channels_.Put("ch", Seq(3, 6));
  ASSERT_TRUE(manager_->WaitForPosition("p", 6, kWaitMs));
  EXPECT_EQ(SeqValues("ds"), Range(0, 3));
  EXPECT_EQ(SeqValues("ds2"), Range(3, 6));
}

TEST_F(PipelineManagerTest, StopStopsTheWorker) {
  ASSERT_TRUE(manager_->Create("p", Definition()).ok());
  channels_.Put("ch", Seq(0, 3));
  ASSERT_TRUE(manager_->WaitForPosition("p", 3, kWaitMs));
  ASSERT_TRUE(manager_->Stop("p").ok());  // joins the worker
  int appends = datastores_.append_calls();
  channels_.Put("ch", Seq(3, 6));
  EXPECT_EQ(manager_->GetStatus("p").status().code(), StatusCode::kNotFound);
  EXPECT_EQ(datastores_.append_calls(), appends);
  EXPECT_EQ(SeqValues(), Range(0, 3));
  // Recreating the pipeline starts at the channel end again (not at the old position).
  ASSERT_TRUE(manager_->Create("p", Definition()).ok());
  channels_.Put("ch", Seq(6, 7));
  ASSERT_TRUE(manager_->WaitForPosition("p", 7, kWaitMs));
  EXPECT_EQ(SeqValues(), (std::vector<int>{0, 1, 2, 6}));
}

TEST_F(PipelineManagerTest, RestartResumesFromCommittedPosition) {
  ASSERT_TRUE(manager_->Create("p", Definition()).ok());
  channels_.Put("ch", Seq(0, 120));
  ASSERT_TRUE(manager_->WaitForPosition("p", 120, kWaitMs));
  manager_->Shutdown();
  channels_.Put("ch", Seq(120, 200));  // arrives while the server is down
  manager_ = NewManager();
  ASSERT_TRUE(manager_->Start("p", Definition()).ok());
  ASSERT_TRUE(manager_->WaitForPosition("p", 200, kWaitMs));
  EXPECT_EQ(SeqValues(), Range(0, 200));
}

TEST_F(PipelineManagerTest, StartWithoutStoredPositionStartsAtEnd) {
  channels_.Put("ch", Seq(0, 4));
  ASSERT_TRUE(manager_->Start("p", Definition()).ok());
  ASSERT_TRUE(manager_->WaitForPosition("p", 4, kWaitMs));  // resolved to the end
  channels_.Put("ch", Seq(4, 6));
  ASSERT_TRUE(manager_->WaitForPosition("p", 6, kWaitMs));
  EXPECT_EQ(SeqValues(), Range(4, 6));
}

TEST_F(PipelineManagerTest, StorageFailuresRetryWithoutDuplicates) {
  ASSERT_TRUE(manager_->Create("p", Definition()).ok());
  datastores_.FailAppends(3);
  channels_.FailReads(2);
  channels_.Put("ch", Seq(0, 30));
  ASSERT_TRUE(manager_->WaitForPosition("p", 30, kWaitMs));
  EXPECT_EQ(SeqValues(), Range(0, 30));
  auto st = manager_->GetStatus("p");
  ASSERT_TRUE(st.ok());
  EXPECT_NE(st->last_error.find("injected"), std::string::npos) << st->last_error;
  EXPECT_EQ(st->messages_read, 30u);
}

TEST_F(PipelineManagerTest, DropsAreCountedByReason) {
  ASSERT_TRUE(
      manager_->Create("p", Definition(R"({"removeAttributes":{"attributes":["gone"]}})")).ok());
  channels_.Put("ch", {"not json", "[1,2]", R"({"gone":1})", "{}", R"({"seq":1})"});
  ASSERT_TRUE(manager_->WaitForPosition("p", 5, kWaitMs));
  auto st = manager_->GetStatus("p");
  ASSERT_TRUE(st.ok());
  EXPECT_EQ(st->messages_read, 5u);
  EXPECT_EQ(st->messages_written, 1u);
  EXPECT_EQ(st->dropped[kDropInvalidJson], 2u);
  EXPECT_EQ(st->dropped[kDropEmptyAfterRemove], 2u);
  Json j = st->ToJson();
  EXPECT_EQ(j["dropped"]["invalid_json"], 2);
  EXPECT_EQ(SeqValues(), (std::vector<int>{1}));
}

TEST_F(PipelineManagerTest, LambdaFailureRecordsEventAdvancesAndCanBeReplayed) {
  lambdas_.SetFailing(true);
  ASSERT_TRUE(
      manager_->Create("p", Definition(R"({"lambda":{"lambdaName":"fn","batchSize":2}})")).ok());
  channels_.Put("ch", Seq(0, 3));
  ASSERT_TRUE(manager_->WaitForPosition("p", 3, kWaitMs));
  EXPECT_TRUE(datastores_.Rows("ds").empty());
  auto st = manager_->GetStatus("p");
  ASSERT_TRUE(st.ok());
  EXPECT_EQ(st->dropped[kDropLambdaFailed], 3u);
  EXPECT_EQ(st->lambda_failures, 2u);
  EXPECT_NE(st->last_error.find("exited with status 1"), std::string::npos);

  auto events = manager_->FailureEvents("p");
  ASSERT_TRUE(events.ok());
  ASSERT_EQ(events->size(), 2u);
  const Json& e = (*events)[0];
  EXPECT_EQ(e["detail-type"], "IoT Analytics Pipeline Failure Notification");
  EXPECT_EQ(e["source"], "aws.iotanalytics");
  EXPECT_EQ(e["version"], "0");
  EXPECT_EQ(e["resources"][0], "arn:aws:iotanalytics:us-east-1:123456789012:pipeline/p");
  EXPECT_EQ(e["detail"]["error-code"], "LAMBDA_FAILURE");
  EXPECT_EQ(e["detail"]["pipeline-name"], "p");
  EXPECT_EQ(e["detail"]["activity-name"], "m0");
  EXPECT_EQ(e["detail"]["event-detail-version"], "1.0");
  EXPECT_EQ(e["detail"]["lambda-function-arn"],
            "arn:aws:lambda:us-east-1:123456789012:function:fn");
  EXPECT_EQ(e["detail"]["channel-messages"]["s3paths"][0], "channel/ch/offsets/0-1");
  EXPECT_EQ((*events)[1]["detail"]["channel-messages"]["s3paths"][0], "channel/ch/offsets/2-2");
  EXPECT_TRUE(ParseIso8601Micros(e["time"].get<std::string>()).has_value());

  // The function is fixed; the failed messages are replayed from the event's paths.
  lambdas_.SetFailing(false);
  std::vector<std::string> paths;
  for (const Json& ev : *events) paths.push_back(ev["detail"]["channel-messages"]["s3paths"][0]);
  auto id = manager_->StartReprocessingPaths("p", paths);
  ASSERT_TRUE(id.ok()) << id.status().ToString();
  ASSERT_TRUE(manager_->WaitForReprocessing("p", *id, kWaitMs));
  EXPECT_EQ(SeqValues(), Range(0, 3));
  auto sums = manager_->ReprocessingSummaries("p");
  ASSERT_TRUE(sums.ok());
  ASSERT_EQ(sums->size(), 1u);
  EXPECT_EQ((*sums)[0].status, "SUCCEEDED");
}

TEST_F(PipelineManagerTest, ReprocessingPathsRejectsForeignPaths) {
  ASSERT_TRUE(manager_->Create("p", Definition()).ok());
  for (const char* bad :
       {"00:00:00/1582940490000_1582940520000_123456789012_mychannel_0_2118.0.json.gz",
        "channel/other/offsets/0-1", "channel/ch/offsets/5-1", "channel/ch/offsets/x-1"}) {
    auto id = manager_->StartReprocessingPaths("p", {bad});
    ASSERT_FALSE(id.ok()) << bad;
    EXPECT_EQ(id.status().code(), StatusCode::kInvalidArgument);
  }
}

TEST_F(PipelineManagerTest, ReprocessesArrivalTimeRangeWithoutMovingLivePosition) {
  // Offsets 0-9 arrive at t0, 10-19 at t0+1h, 20-29 at t0+2h (before the pipeline exists).
  const int64_t t0 = clock_.NowMicros();
  const int64_t hour = int64_t{3600} * 1000000;
  channels_.Put("ch", Seq(0, 10));
  clock_.AdvanceMicros(hour);
  channels_.Put("ch", Seq(10, 20));
  clock_.AdvanceMicros(hour);
  channels_.Put("ch", Seq(20, 30));
  ASSERT_TRUE(manager_->Create("p", Definition()).ok());
  EXPECT_EQ(manager_->GetStatus("p")->position, 30u);

  auto id = manager_->StartReprocessing("p", t0 + hour, t0 + 2 * hour);
  ASSERT_TRUE(id.ok()) << id.status().ToString();
  ASSERT_TRUE(manager_->WaitForReprocessing("p", *id, kWaitMs));
  EXPECT_EQ(SeqValues(), Range(10, 20));
  EXPECT_EQ(manager_->GetStatus("p")->position, 30u);

  // No range: everything, again (reprocessing re-ingests).
  auto all = manager_->StartReprocessing("p", std::nullopt, std::nullopt);
  ASSERT_TRUE(all.ok());
  ASSERT_TRUE(manager_->WaitForReprocessing("p", *all, kWaitMs));
  std::vector<int> expected = Range(10, 20);
  for (int i : Range(0, 30)) expected.push_back(i);
  EXPECT_EQ(SeqValues(), expected);

  auto st = manager_->GetStatus("p");
  ASSERT_TRUE(st.ok());
  EXPECT_EQ(st->messages_reprocessed, 40u);
  EXPECT_EQ(st->messages_read, 0u);
  ASSERT_EQ(st->reprocessing.size(), 2u);
  EXPECT_EQ(st->reprocessing[0].id, *id);
  EXPECT_EQ(st->reprocessing[0].status, "SUCCEEDED");
  Json summary = st->reprocessing[0].ToJson();
  EXPECT_EQ(summary["id"], *id);
  EXPECT_EQ(summary["status"], "SUCCEEDED");
  EXPECT_TRUE(summary["creationTime"].is_number());

  EXPECT_EQ(manager_->StartReprocessing("p", t0 + hour, t0).status().code(),
            StatusCode::kInvalidArgument);
  EXPECT_EQ(manager_->StartReprocessing("nope", {}, {}).status().code(), StatusCode::kNotFound);
}

TEST_F(PipelineManagerTest, OneRunningReprocessingAndCancel) {
  channels_.Put("ch", Seq(0, 10));
  ASSERT_TRUE(
      manager_->Create("p", Definition(R"({"lambda":{"lambdaName":"fn","batchSize":5}})")).ok());
  lambdas_.SetBlocked(true);
  auto id = manager_->StartReprocessing("p", {}, {});
  ASSERT_TRUE(id.ok());
  ASSERT_TRUE(lambdas_.WaitForCalls(1, kWaitMs));  // in flight
  auto second = manager_->StartReprocessing("p", {}, {});
  EXPECT_EQ(second.status().code(), StatusCode::kAlreadyExists);

  EXPECT_EQ(manager_->CancelReprocessing("p", "no-such-id").code(), StatusCode::kNotFound);
  ASSERT_TRUE(manager_->CancelReprocessing("p", *id).ok());
  EXPECT_TRUE(manager_->CancelReprocessing("p", *id).ok());  // idempotent
  auto sums = manager_->ReprocessingSummaries("p");
  ASSERT_TRUE(sums.ok());
  EXPECT_EQ((*sums)[0].status, "CANCELLED");
  lambdas_.SetBlocked(false);

  // A new one may start now and runs to completion.
  auto third = manager_->StartReprocessing("p", {}, {});
  ASSERT_TRUE(third.ok()) << third.status().ToString();
  ASSERT_TRUE(manager_->WaitForReprocessing("p", *third, kWaitMs));
  sums = manager_->ReprocessingSummaries("p");
  ASSERT_EQ(sums->size(), 2u);
  EXPECT_EQ((*sums)[0].status, "CANCELLED");
  EXPECT_EQ((*sums)[1].status, "SUCCEEDED");
  EXPECT_EQ(manager_->CancelReprocessing("p", *third).code(), StatusCode::kInvalidArgument);
  EXPECT_EQ(datastores_.Rows("ds").size(), 10u);
}

TEST_F(PipelineManagerTest, RunningReprocessingResumesAfterRestart) {
  channels_.Put("ch", Seq(0, 10));
  ASSERT_TRUE(
      manager_->Create("p", Definition(R"({"lambda":{"lambdaName":"fn","batchSize":5}})")).ok());
  lambdas_.SetBlocked(true);
  auto id = manager_->StartReprocessing("p", {}, {});
  ASSERT_TRUE(id.ok());
  ASSERT_TRUE(lambdas_.WaitForCalls(1, kWaitMs));
  manager_->Shutdown();  // cancels the in-flight batch: nothing committed, still RUNNING
  lambdas_.SetBlocked(false);
  EXPECT_TRUE(datastores_.Rows("ds").empty());

  manager_ = NewManager();
  ASSERT_TRUE(
      manager_->Start("p", Definition(R"({"lambda":{"lambdaName":"fn","batchSize":5}})")).ok());
  ASSERT_TRUE(manager_->WaitForReprocessing("p", *id, kWaitMs));
  auto sums = manager_->ReprocessingSummaries("p");
  ASSERT_TRUE(sums.ok());
  ASSERT_EQ(sums->size(), 1u);
  EXPECT_EQ((*sums)[0].id, *id);
  EXPECT_EQ((*sums)[0].status, "SUCCEEDED");
  EXPECT_EQ(SeqValues(), Range(0, 10));

  // Summaries survive a restart; Stop (DeletePipeline) removes them.
  manager_ = NewManager();
  ASSERT_TRUE(manager_->Start("p", Definition()).ok());
  EXPECT_EQ(manager_->ReprocessingSummaries("p")->size(), 1u);
  ASSERT_TRUE(manager_->Stop("p").ok());
  ASSERT_TRUE(manager_->Start("p", Definition()).ok());
  EXPECT_TRUE(manager_->ReprocessingSummaries("p")->empty());
}

TEST_F(PipelineManagerTest, StopIsPromptWithAHungLambda) {
  ASSERT_TRUE(
      manager_->Create("p", Definition(R"({"lambda":{"lambdaName":"fn","batchSize":5}})")).ok());
  lambdas_.SetBlocked(true);
  channels_.Put("ch", Seq(0, 2));
  ASSERT_TRUE(lambdas_.WaitForCalls(1, kWaitMs));
  ASSERT_TRUE(manager_->Stop("p").ok());  // would hang here if the lambda were not cancelled
  EXPECT_TRUE(datastores_.Rows("ds").empty());
  // Nothing was committed for the cancelled batch: a restart processes it.
  lambdas_.SetBlocked(false);
  ASSERT_TRUE(manager_->Start("p", Definition()).ok());
  ASSERT_TRUE(manager_->WaitForPosition("p", 2, kWaitMs));
  EXPECT_EQ(SeqValues(), Range(0, 2));
}

TEST_F(PipelineManagerTest, EnrichUsesThingLookup) {
  things_.AddThing("t1", J(R"({"thingName":"t1","attributes":{"room":"a"}})"));
  ASSERT_TRUE(manager_
                  ->Create("p", Definition(R"({"deviceRegistryEnrich":{"attribute":"meta",
                              "thingName":"device","roleArn":"r"}})"))
                  .ok());
  channels_.Put("ch", {R"({"device":"t1"})", R"({"device":"t2"})"});
  ASSERT_TRUE(manager_->WaitForPosition("p", 2, kWaitMs));
  auto rows = datastores_.Rows("ds");
  ASSERT_EQ(rows.size(), 2u);
  EXPECT_EQ(rows[0]["meta"]["attributes"]["room"], "a");
  EXPECT_FALSE(rows[1].contains("meta"));
}

TEST_F(PipelineManagerTest, RunActivity) {
  std::string log;
  auto out =
      manager_->RunActivity(J(R"({"addAttributes":{"name":"a","attributes":{"device.id":"id"}}})"),
                            {R"({"device":{"id":"x"}})", "not json"}, &log);
  ASSERT_TRUE(out.ok());
  ASSERT_EQ(out->size(), 1u);
  EXPECT_EQ((*out)[0]["id"], "x");
  EXPECT_NE(log.find("Payload 1 is not a JSON object"), std::string::npos) << log;

  auto ch =
      manager_->RunActivity(J(R"({"channel":{"name":"c","channelName":"ch"}})"), {"{}"}, &log);
  ASSERT_FALSE(ch.ok());
  EXPECT_EQ(ch.status().code(), StatusCode::kInvalidArgument);
  EXPECT_NE(ch.status().message().find("'channel'"), std::string::npos);
  auto ds =
      manager_->RunActivity(J(R"({"datastore":{"name":"d","datastoreName":"ds"}})"), {"{}"}, &log);
  EXPECT_EQ(ds.status().code(), StatusCode::kInvalidArgument);

  lambdas_.SetFailing(true);
  log.clear();
  auto lam = manager_->RunActivity(J(R"({"lambda":{"name":"l","lambdaName":"fn","batchSize":1}})"),
                                   {"{}"}, &log);
  ASSERT_TRUE(lam.ok());
  EXPECT_TRUE(lam->empty());
  EXPECT_NE(log.find("exited with status 1"), std::string::npos) << log;
}

TEST_F(PipelineManagerTest, RunActivityMathAndBadExpression) {
  std::string log;
  auto out = manager_->RunActivity(
      J(R"({"math":{"name":"MyMathActivity","math":"((temp - 32) * 5.0) / 9.0","attribute":"tempC"}})"),
      {R"({"humidity": 52, "temp": 68 })", R"({"humidity": 52, "temp": 32 })"}, &log);
  ASSERT_TRUE(out.ok());
  ASSERT_EQ(out->size(), 2u);
  EXPECT_EQ(EncodePayload((*out)[0]), R"({"humidity":52,"temp":68,"tempC":20})");
  EXPECT_EQ(EncodePayload((*out)[1]), R"({"humidity":52,"temp":32,"tempC":0})");
  EXPECT_EQ(log, "");

  auto bad = manager_->RunActivity(J(R"({"filter":{"name":"f","filter":"temp >"}})"), {"{}"}, &log);
  ASSERT_TRUE(bad.ok());
  EXPECT_TRUE(bad->empty());
  EXPECT_NE(log.find("filter activity 'f'"), std::string::npos) << log;
}

}  // namespace
}  // namespace sluice::pipeline
