#include "server/retention.h"

#include <gtest/gtest.h>
#include <unistd.h>

#include <filesystem>

namespace sluice {
namespace {

constexpr int64_t kDay = 86400LL * 1000000LL;

struct RetentionTest : ::testing::Test {
  std::string dir;
  FakeClock clock{1764000000LL * 1000000};
  std::unique_ptr<Catalog> catalog;
  std::unique_ptr<ChannelStore> channels;
  std::unique_ptr<DatastoreStore> datastores;

  void SetUp() override {
    dir = std::filesystem::temp_directory_path() /
          ("sluice_retention_" + std::to_string(::getpid()) + "_" +
           ::testing::UnitTest::GetInstance()->current_test_info()->name());
    std::filesystem::remove_all(dir);
    std::filesystem::create_directories(dir);
    catalog = std::move(Catalog::Open(dir + "/catalog.db", &clock)).value();
    ChannelStoreOptions copts;
    copts.segment_bytes = 512;  // roll often so whole segments can be dropped
    channels = std::move(ChannelStore::Open(dir + "/channels", &clock, copts)).value();
    datastores = std::move(DatastoreStore::Open(dir + "/datastores", &clock)).value();
  }
  void TearDown() override {
    channels->Shutdown();
    std::filesystem::remove_all(dir);
  }

  void PutChannel(const std::string& name, int n) {
    for (int i = 0; i < n; ++i) {
      auto r = channels->Append(name, {{std::to_string(i), std::string(100, 'x')}});
      ASSERT_TRUE(r.ok()) << r.status().ToString();
    }
  }
};

TEST_F(RetentionTest, ChannelDropsOldSegmentsOnlyWhenLimited) {
  ASSERT_TRUE(catalog
                  ->Create(ResourceType::kChannel, "short",
                           R"({"retentionPeriod":{"numberOfDays":1,"unlimited":false}})", {}, 10)
                  .ok());
  ASSERT_TRUE(catalog
                  ->Create(ResourceType::kChannel, "forever",
                           R"({"retentionPeriod":{"unlimited":true}})", {}, 10)
                  .ok());
  ASSERT_TRUE(channels->CreateChannel("short").ok());
  ASSERT_TRUE(channels->CreateChannel("forever").ok());
  PutChannel("short", 20);
  PutChannel("forever", 20);
  clock.AdvanceMicros(2 * kDay);
  PutChannel("short", 5);
  PutChannel("forever", 5);

  auto r = SweepRetention(catalog.get(), channels.get(), datastores.get(), &clock);
  ASSERT_TRUE(r.ok()) << r.status().ToString();
  EXPECT_EQ(r->channels_swept, 1);
  auto s = channels->Stats("short");
  ASSERT_TRUE(s.ok());
  // Whole segments go: old records sharing a segment with new ones stay.
  EXPECT_GT(s->first_offset, 12u) << "the two-day-old segments are gone";
  EXPECT_LE(s->first_offset, 20u) << "nothing new was dropped";
  EXPECT_EQ(s->end_offset, 25u);
  auto f = channels->Stats("forever");
  ASSERT_TRUE(f.ok());
  EXPECT_EQ(f->first_offset, 0u);
}

TEST_F(RetentionTest, DatastoreDeletesOldDays) {
  nlohmann::json def = {{"retentionPeriod", {{"numberOfDays", 3}, {"unlimited", false}}}};
  ASSERT_TRUE(catalog->Create(ResourceType::kDatastore, "ds", def.dump(), {}, 10).ok());
  ASSERT_TRUE(datastores->CreateDatastore("ds", def).ok());
  int64_t old_t = clock.NowMicros();
  ASSERT_TRUE(datastores->Append("ds", "p", {{{{"v", 1}}, old_t}}, 1).ok());
  clock.AdvanceMicros(10 * kDay);
  ASSERT_TRUE(datastores->Append("ds", "p", {{{{"v", 2}}, clock.NowMicros()}}, 2).ok());
  auto r = SweepRetention(catalog.get(), channels.get(), datastores.get(), &clock);
  ASSERT_TRUE(r.ok()) << r.status().ToString();
  EXPECT_EQ(r->datastores_swept, 1);
  auto q = datastores->Query("SELECT v FROM ds ORDER BY v");
  ASSERT_TRUE(q.ok()) << q.status().ToString();
  ASSERT_EQ(q->rows.size(), 1u);
  EXPECT_EQ(q->rows[0][0].value(), "2");
}

}  // namespace
}  // namespace sluice
