#include "catalog/catalog.h"

#include <fcntl.h>
#include <gtest/gtest.h>
#include <poll.h>
#include <signal.h>
#include <sqlite3.h>
#include <stdlib.h>
#include <sys/types.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <filesystem>
#include <fstream>
#include <random>
#include <set>
#include <string>
#include <thread>
#include <vector>

#include "catalog/fault_vfs.h"
#include "common/clock.h"
#include "common/strings.h"

namespace sluice {
namespace {

constexpr int64_t kStart = 1'600'000'000'000'000;
constexpr int64_t kNoLimit = 1'000'000;

using Tags = std::map<std::string, std::string>;

class CatalogTest : public ::testing::Test {
 protected:
  void SetUp() override {
    std::string tmpl = "/tmp/sluice_catalog_test_XXXXXX";
    ASSERT_NE(mkdtemp(tmpl.data()), nullptr) << "mkdtemp: " << errno;
    dir_ = tmpl;
    path_ = dir_ + "/catalog.db";
  }
  void TearDown() override {
    std::error_code ec;
    std::filesystem::remove_all(dir_, ec);
  }

  std::unique_ptr<Catalog> OpenOrDie(const std::string& path, const char* vfs = nullptr) {
    auto r = Catalog::Open(path, &clock_, vfs);
    EXPECT_TRUE(r.ok()) << r.status().ToString();
    if (!r.ok()) return nullptr;
    return std::move(r).value();
  }
  std::unique_ptr<Catalog> OpenOrDie() { return OpenOrDie(path_); }

  // Runs one statement on the database file with a separate raw connection.
  static int64_t RawInt(const std::string& path, const std::string& sql) {
    sqlite3* db = nullptr;
    EXPECT_EQ(sqlite3_open_v2(path.c_str(), &db, SQLITE_OPEN_READWRITE, nullptr), SQLITE_OK);
    sqlite3_stmt* stmt = nullptr;
    int64_t out = -1;
    if (sqlite3_prepare_v2(db, sql.c_str(), -1, &stmt, nullptr) == SQLITE_OK &&
        sqlite3_step(stmt) == SQLITE_ROW) {
      out = sqlite3_column_int64(stmt, 0);
    }
    sqlite3_finalize(stmt);
    sqlite3_close_v2(db);
    return out;
  }
  static std::string RawText(const std::string& path, const std::string& sql) {
    sqlite3* db = nullptr;
    EXPECT_EQ(sqlite3_open_v2(path.c_str(), &db, SQLITE_OPEN_READWRITE, nullptr), SQLITE_OK);
    sqlite3_stmt* stmt = nullptr;
    std::string out = "<no row>";
    if (sqlite3_prepare_v2(db, sql.c_str(), -1, &stmt, nullptr) == SQLITE_OK &&
        sqlite3_step(stmt) == SQLITE_ROW) {
      out = reinterpret_cast<const char*>(sqlite3_column_text(stmt, 0));
    }
    sqlite3_finalize(stmt);
    sqlite3_close_v2(db);
    return out;
  }
  static void RawExec(const std::string& path, const std::string& sql) {
    sqlite3* db = nullptr;
    int rc =
        sqlite3_open_v2(path.c_str(), &db, SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE, nullptr);
    char* err = nullptr;
    if (rc == SQLITE_OK) rc = sqlite3_exec(db, sql.c_str(), nullptr, nullptr, &err);
    std::string msg = err != nullptr ? err : sqlite3_errmsg(db);
    sqlite3_free(err);
    sqlite3_close_v2(db);
    ASSERT_EQ(rc, SQLITE_OK) << msg;
  }

  std::vector<std::string> Names(const std::vector<ResourceRecord>& records) {
    std::vector<std::string> out;
    for (const auto& r : records) out.push_back(r.name);
    return out;
  }

  FakeClock clock_{kStart};
  std::string dir_;
  std::string path_;
};

TEST_F(CatalogTest, CrudRoundTrip) {
  auto cat = OpenOrDie();
  ASSERT_NE(cat, nullptr);
  EXPECT_EQ(cat->schema_version(), 1);
  EXPECT_EQ(Catalog::LatestSchemaVersion(), 1);

  ASSERT_TRUE(cat->Create(ResourceType::kChannel, "c1", R"({"a":1})", {{"k", "v"}}, kNoLimit).ok());
  auto got = cat->Get(ResourceType::kChannel, "c1");
  ASSERT_TRUE(got.ok()) << got.status().ToString();
  EXPECT_EQ(got->type, ResourceType::kChannel);
  EXPECT_EQ(got->name, "c1");
  EXPECT_EQ(got->definition, R"({"a":1})");
  EXPECT_EQ(got->creation_micros, kStart);
  EXPECT_EQ(got->last_update_micros, kStart);

  clock_.AdvanceSeconds(10);
  ASSERT_TRUE(cat->Update(ResourceType::kChannel, "c1", R"({"a":2})").ok());
  got = cat->Get(ResourceType::kChannel, "c1");
  ASSERT_TRUE(got.ok());
  EXPECT_EQ(got->definition, R"({"a":2})");
  EXPECT_EQ(got->creation_micros, kStart);
  EXPECT_EQ(got->last_update_micros, kStart + 10'000'000);

  // Types are separate namespaces.
  EXPECT_EQ(cat->Get(ResourceType::kDatastore, "c1").status().code(), StatusCode::kNotFound);
  ASSERT_TRUE(cat->Create(ResourceType::kDatastore, "c1", "{}", {}, kNoLimit).ok());
  EXPECT_EQ(*cat->Count(ResourceType::kChannel), 1);
  EXPECT_EQ(*cat->Count(ResourceType::kDatastore), 1);
  EXPECT_EQ(*cat->Count(ResourceType::kPipeline), 0);

  ASSERT_TRUE(cat->Delete(ResourceType::kChannel, "c1").ok());
  auto missing = cat->Get(ResourceType::kChannel, "c1");
  EXPECT_EQ(missing.status().code(), StatusCode::kNotFound);
  EXPECT_NE(missing.status().message().find("c1"), std::string::npos);
  EXPECT_EQ(cat->Delete(ResourceType::kChannel, "c1").code(), StatusCode::kNotFound);
  EXPECT_EQ(cat->Update(ResourceType::kChannel, "c1", "{}").code(), StatusCode::kNotFound);
  EXPECT_TRUE(cat->Get(ResourceType::kDatastore, "c1").ok());
  EXPECT_EQ(*cat->Count(ResourceType::kChannel), 0);
}

TEST_F(CatalogTest, StoresArbitraryBytesInNamesAndDefinitions) {
  auto cat = OpenOrDie();
  ASSERT_NE(cat, nullptr);
  std::string name = "it's; DROP TABLE resources; --";
  std::string def = std::string("{\"x\":\"\xc3\xa9\"}") + std::string(100000, 'z');
  ASSERT_TRUE(cat->Create(ResourceType::kPipeline, name, def, {{"'", "\""}}, kNoLimit).ok());
  auto got = cat->Get(ResourceType::kPipeline, name);
  ASSERT_TRUE(got.ok());
  EXPECT_EQ(got->definition, def);
  EXPECT_EQ(*cat->GetTags(ResourceType::kPipeline, name), (Tags{{"'", "\""}}));
}

TEST_F(CatalogTest, DuplicateCreateIsRejectedAndChangesNothing) {
  auto cat = OpenOrDie();
  ASSERT_NE(cat, nullptr);
  ASSERT_TRUE(cat->Create(ResourceType::kDataset, "d", "first", {{"a", "1"}}, kNoLimit).ok());
  clock_.AdvanceSeconds(1);
  Status st = cat->Create(ResourceType::kDataset, "d", "second", {{"b", "2"}}, kNoLimit);
  EXPECT_EQ(st.code(), StatusCode::kAlreadyExists);
  EXPECT_NE(st.message().find("already exists"), std::string::npos) << st.message();
  auto got = cat->Get(ResourceType::kDataset, "d");
  ASSERT_TRUE(got.ok());
  EXPECT_EQ(got->definition, "first");
  EXPECT_EQ(got->last_update_micros, kStart);
  EXPECT_EQ(*cat->GetTags(ResourceType::kDataset, "d"), (Tags{{"a", "1"}}));
  EXPECT_EQ(*cat->Count(ResourceType::kDataset), 1);
}

TEST_F(CatalogTest, CountLimitIsEnforcedPerType) {
  auto cat = OpenOrDie();
  ASSERT_NE(cat, nullptr);
  for (int i = 0; i < 3; ++i) {
    ASSERT_TRUE(cat->Create(ResourceType::kChannel, "c" + std::to_string(i), "{}", {}, 3).ok());
  }
  Status st = cat->Create(ResourceType::kChannel, "c3", "{}", {{"t", "v"}}, 3);
  EXPECT_EQ(st.code(), StatusCode::kLimitExceeded) << st.ToString();
  EXPECT_EQ(cat->Get(ResourceType::kChannel, "c3").status().code(), StatusCode::kNotFound);
  // A duplicate is reported as such even at the limit.
  EXPECT_EQ(cat->Create(ResourceType::kChannel, "c0", "{}", {}, 3).code(),
            StatusCode::kAlreadyExists);
  // Other types have their own count.
  EXPECT_TRUE(cat->Create(ResourceType::kDatastore, "s", "{}", {}, 3).ok());
  EXPECT_EQ(cat->Create(ResourceType::kPipeline, "p", "{}", {}, 0).code(),
            StatusCode::kLimitExceeded);
  // Deleting frees a slot.
  ASSERT_TRUE(cat->Delete(ResourceType::kChannel, "c1").ok());
  EXPECT_TRUE(cat->Create(ResourceType::kChannel, "c3", "{}", {}, 3).ok());
  EXPECT_EQ(*cat->Count(ResourceType::kChannel), 3);
}

TEST_F(CatalogTest, ListPagesThroughAllNamesInOrder) {
  auto cat = OpenOrDie();
  ASSERT_NE(cat, nullptr);
  std::vector<std::string> names = {"m", "a", "zz", "b_2", "b_10", "Q", "c", "aa", "z"};
  for (const auto& n : names) {
    ASSERT_TRUE(cat->Create(ResourceType::kDatastore, n, "def-" + n, {}, kNoLimit).ok());
  }
  ASSERT_TRUE(cat->Create(ResourceType::kChannel, "b", "{}", {}, kNoLimit).ok());
  std::vector<std::string> sorted = names;
  std::sort(sorted.begin(), sorted.end());

  for (int max_results : {1, 2, 3, 9, 250}) {
    SCOPED_TRACE(max_results);
    std::vector<std::string> seen;
    std::optional<std::string> token;
    int pages = 0;
    do {
      auto page = cat->List(ResourceType::kDatastore, token, max_results);
      ASSERT_TRUE(page.ok()) << page.status().ToString();
      ++pages;
      ASSERT_LE(page->records.size(), static_cast<size_t>(max_results));
      ASSERT_FALSE(page->records.empty());
      for (const auto& r : page->records) {
        EXPECT_EQ(r.definition, "def-" + r.name);
        EXPECT_EQ(r.type, ResourceType::kDatastore);
        seen.push_back(r.name);
      }
      token = page->next_token;
      if (token.has_value()) EXPECT_EQ(page->records.size(), static_cast<size_t>(max_results));
      ASSERT_LE(pages, 20);
    } while (token.has_value());
    EXPECT_EQ(seen, sorted);
    EXPECT_EQ(pages, (static_cast<int>(names.size()) + max_results - 1) / max_results);
  }

  auto empty = cat->List(ResourceType::kDataset, std::nullopt, 5);
  ASSERT_TRUE(empty.ok());
  EXPECT_TRUE(empty->records.empty());
  EXPECT_FALSE(empty->next_token.has_value());

  auto all = cat->ListAll(ResourceType::kDatastore);
  ASSERT_TRUE(all.ok());
  EXPECT_EQ(Names(*all), sorted);
}

TEST_F(CatalogTest, ListTokenSurvivesDeletionOfItsAnchor) {
  auto cat = OpenOrDie();
  ASSERT_NE(cat, nullptr);
  for (const char* n : {"a", "b", "c", "d"}) {
    ASSERT_TRUE(cat->Create(ResourceType::kPipeline, n, "{}", {}, kNoLimit).ok());
  }
  auto first = cat->List(ResourceType::kPipeline, std::nullopt, 2);
  ASSERT_TRUE(first.ok());
  ASSERT_TRUE(first->next_token.has_value());
  ASSERT_TRUE(cat->Delete(ResourceType::kPipeline, "b").ok());
  auto second = cat->List(ResourceType::kPipeline, first->next_token, 2);
  ASSERT_TRUE(second.ok());
  EXPECT_EQ(Names(second->records), (std::vector<std::string>{"c", "d"}));
  EXPECT_FALSE(second->next_token.has_value());
}

TEST_F(CatalogTest, ListRejectsBadTokensAndSizes) {
  auto cat = OpenOrDie();
  ASSERT_NE(cat, nullptr);
  for (const char* n : {"a", "b", "c"}) {
    ASSERT_TRUE(cat->Create(ResourceType::kChannel, n, "{}", {}, kNoLimit).ok());
    ASSERT_TRUE(cat->Create(ResourceType::kDataset, n, "{}", {}, kNoLimit).ok());
  }
  auto page = cat->List(ResourceType::kChannel, std::nullopt, 1);
  ASSERT_TRUE(page.ok());
  ASSERT_TRUE(page->next_token.has_value());
  const std::string good = *page->next_token;

  std::string tampered = good;
  tampered[tampered.size() / 2] = tampered[tampered.size() / 2] == 'A' ? 'B' : 'A';
  std::vector<std::string> bad = {
      "",         "garbage",         "!!!!",
      "a",        Base64Encode("b"), Base64Encode("sluice.list.v1"),
      tampered,   good + "=",        good.substr(1),
      " " + good,
  };
  for (const auto& token : bad) {
    SCOPED_TRACE(token);
    auto r = cat->List(ResourceType::kChannel, token, 1);
    ASSERT_FALSE(r.ok());
    EXPECT_EQ(r.status().code(), StatusCode::kInvalidArgument);
    EXPECT_EQ(r.status().message(), "Invalid nextToken");
  }
  // A token is bound to the type it was issued for.
  auto other = cat->List(ResourceType::kDataset, good, 1);
  EXPECT_EQ(other.status().code(), StatusCode::kInvalidArgument);
  // The genuine token still works.
  auto next = cat->List(ResourceType::kChannel, good, 1);
  ASSERT_TRUE(next.ok());
  EXPECT_EQ(Names(next->records), (std::vector<std::string>{"b"}));

  EXPECT_EQ(cat->List(ResourceType::kChannel, std::nullopt, 0).status().code(),
            StatusCode::kInvalidArgument);
  EXPECT_EQ(cat->List(ResourceType::kChannel, std::nullopt, -3).status().code(),
            StatusCode::kInvalidArgument);
}

TEST_F(CatalogTest, TagsMergeRemoveAndCascade) {
  auto cat = OpenOrDie();
  ASSERT_NE(cat, nullptr);
  ASSERT_TRUE(
      cat->Create(ResourceType::kChannel, "c", "{}", {{"a", "1"}, {"b", "2"}}, kNoLimit).ok());
  ASSERT_TRUE(cat->Create(ResourceType::kChannel, "other", "{}", {{"a", "x"}}, kNoLimit).ok());
  EXPECT_EQ(*cat->GetTags(ResourceType::kChannel, "c"), (Tags{{"a", "1"}, {"b", "2"}}));

  clock_.AdvanceSeconds(5);
  ASSERT_TRUE(cat->PutTags(ResourceType::kChannel, "c", {{"b", "20"}, {"c", "3"}}).ok());
  EXPECT_EQ(*cat->GetTags(ResourceType::kChannel, "c"),
            (Tags{{"a", "1"}, {"b", "20"}, {"c", "3"}}));
  // Tagging does not count as an update of the definition.
  EXPECT_EQ(cat->Get(ResourceType::kChannel, "c")->last_update_micros, kStart);

  ASSERT_TRUE(cat->RemoveTags(ResourceType::kChannel, "c", {"a", "missing"}).ok());
  EXPECT_EQ(*cat->GetTags(ResourceType::kChannel, "c"), (Tags{{"b", "20"}, {"c", "3"}}));
  ASSERT_TRUE(cat->RemoveTags(ResourceType::kChannel, "c", {}).ok());
  ASSERT_TRUE(cat->PutTags(ResourceType::kChannel, "c", {}).ok());
  EXPECT_EQ(*cat->GetTags(ResourceType::kChannel, "other"), (Tags{{"a", "x"}}));

  // Absent resources.
  EXPECT_EQ(cat->PutTags(ResourceType::kChannel, "nope", {{"a", "1"}}).code(),
            StatusCode::kNotFound);
  EXPECT_EQ(cat->RemoveTags(ResourceType::kChannel, "nope", {"a"}).code(), StatusCode::kNotFound);
  EXPECT_EQ(cat->GetTags(ResourceType::kChannel, "nope").status().code(), StatusCode::kNotFound);
  EXPECT_EQ(cat->GetTags(ResourceType::kDatastore, "c").status().code(), StatusCode::kNotFound);

  // Delete cascades; a recreated resource starts without the old tags.
  ASSERT_TRUE(cat->Delete(ResourceType::kChannel, "c").ok());
  ASSERT_TRUE(cat->Create(ResourceType::kChannel, "c", "{}", {}, kNoLimit).ok());
  EXPECT_TRUE(cat->GetTags(ResourceType::kChannel, "c")->empty());
  cat.reset();
  EXPECT_EQ(RawInt(path_, "SELECT COUNT(*) FROM tags"), 1);  // only "other"'s tag
  EXPECT_EQ(RawInt(path_,
                   "SELECT COUNT(*) FROM tags t LEFT JOIN resources r "
                   "ON r.type = t.type AND r.name = t.name WHERE r.name IS NULL"),
            0);
}

TEST_F(CatalogTest, Settings) {
  auto cat = OpenOrDie();
  ASSERT_NE(cat, nullptr);
  auto none = cat->GetSetting("logging_options");
  ASSERT_TRUE(none.ok());
  EXPECT_FALSE(none->has_value());
  ASSERT_TRUE(cat->PutSetting("logging_options", R"({"level":"ERROR"})").ok());
  ASSERT_TRUE(cat->PutSetting("other", "x").ok());
  EXPECT_EQ(**cat->GetSetting("logging_options"), R"({"level":"ERROR"})");
  ASSERT_TRUE(cat->PutSetting("logging_options", "").ok());
  auto empty = cat->GetSetting("logging_options");
  ASSERT_TRUE(empty.ok());
  ASSERT_TRUE(empty->has_value());
  EXPECT_EQ(**empty, "");
  EXPECT_EQ(**cat->GetSetting("other"), "x");
}

TEST_F(CatalogTest, ReopenPreservesEverythingWithoutRerunningMigrations) {
  {
    auto cat = OpenOrDie();
    ASSERT_NE(cat, nullptr);
    ASSERT_TRUE(cat->Create(ResourceType::kChannel, "c", "cdef", {{"k", "v"}}, kNoLimit).ok());
    clock_.AdvanceSeconds(3);
    ASSERT_TRUE(cat->Create(ResourceType::kDataset, "d", "ddef", {}, kNoLimit).ok());
    ASSERT_TRUE(cat->PutSetting("logging_options", "L").ok());
  }
  EXPECT_EQ(RawInt(path_, "PRAGMA user_version"), 1);
  EXPECT_EQ(RawText(path_, "PRAGMA journal_mode"), "wal");
  int64_t objects = RawInt(path_, "SELECT COUNT(*) FROM sqlite_master");
  for (int i = 0; i < 2; ++i) {
    clock_.AdvanceSeconds(100);
    auto cat = OpenOrDie();
    ASSERT_NE(cat, nullptr);
    EXPECT_EQ(cat->schema_version(), 1);
    auto c = cat->Get(ResourceType::kChannel, "c");
    ASSERT_TRUE(c.ok());
    EXPECT_EQ(c->definition, "cdef");
    EXPECT_EQ(c->creation_micros, kStart);
    EXPECT_EQ(c->last_update_micros, kStart);
    auto d = cat->Get(ResourceType::kDataset, "d");
    ASSERT_TRUE(d.ok());
    EXPECT_EQ(d->creation_micros, kStart + 3'000'000);
    EXPECT_EQ(*cat->GetTags(ResourceType::kChannel, "c"), (Tags{{"k", "v"}}));
    EXPECT_EQ(**cat->GetSetting("logging_options"), "L");
  }
  EXPECT_EQ(RawInt(path_, "PRAGMA user_version"), 1);
  EXPECT_EQ(RawInt(path_, "SELECT COUNT(*) FROM sqlite_master"), objects);
}

TEST_F(CatalogTest, ResumesAnInterruptedMigrationHistory) {
  // A database at version 0 that already has unrelated content is migrated in place.
  RawExec(path_, "CREATE TABLE unrelated (x); PRAGMA user_version = 0;");
  auto cat = OpenOrDie();
  ASSERT_NE(cat, nullptr);
  EXPECT_EQ(cat->schema_version(), 1);
  EXPECT_TRUE(cat->Create(ResourceType::kChannel, "c", "{}", {}, kNoLimit).ok());
}

TEST_F(CatalogTest, RefusesNewerSchemaVersion) {
  { ASSERT_NE(OpenOrDie(), nullptr); }
  const int future = Catalog::LatestSchemaVersion() + 5;
  RawExec(path_, "PRAGMA user_version = " + std::to_string(future));
  auto r = Catalog::Open(path_, &clock_);
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.status().code(), StatusCode::kCorruption);
  EXPECT_EQ(r.status().message(), "catalog schema version " + std::to_string(future) +
                                      " is newer than this Sluice (" +
                                      std::to_string(Catalog::LatestSchemaVersion()) + ")");
  EXPECT_EQ(RawInt(path_, "PRAGMA user_version"), future);  // untouched
}

TEST_F(CatalogTest, NotADatabaseIsCorruption) {
  {
    std::ofstream out(path_, std::ios::binary);
    out << std::string(8192, 'G');
  }
  auto r = Catalog::Open(path_, &clock_);
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.status().code(), StatusCode::kCorruption) << r.status().ToString();
}

TEST_F(CatalogTest, UnopenablePathIsIoError) {
  auto r = Catalog::Open(dir_ + "/no/such/dir/catalog.db", &clock_);
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.status().code(), StatusCode::kIoError) << r.status().ToString();
  EXPECT_FALSE(r.status().message().empty());
}

TEST_F(CatalogTest, ConcurrentCallersAreSerialised) {
  auto cat = OpenOrDie();
  ASSERT_NE(cat, nullptr);
  constexpr int kThreads = 4;
  constexpr int kEach = 25;
  std::vector<std::thread> threads;
  std::atomic<int> failures{0};
  for (int t = 0; t < kThreads; ++t) {
    threads.emplace_back([&, t] {
      for (int i = 0; i < kEach; ++i) {
        std::string name = "t" + std::to_string(t) + "_" + std::to_string(i);
        if (!cat->Create(ResourceType::kDatastore, name, "{}", {{"t", name}}, kNoLimit).ok()) {
          ++failures;
        }
        if (!cat->List(ResourceType::kDatastore, std::nullopt, 10).ok()) ++failures;
      }
    });
  }
  for (auto& th : threads) th.join();
  EXPECT_EQ(failures.load(), 0);
  EXPECT_EQ(*cat->Count(ResourceType::kDatastore), kThreads * kEach);
}

// ---- fault injection ----

Tags ManyTags(const std::string& prefix, int n) {
  Tags tags;
  for (int i = 0; i < n; ++i) tags["key" + std::to_string(i)] = prefix + std::to_string(i);
  return tags;
}

TEST_F(CatalogTest, FailedWritesReturnErrorsAndCatalogRecovers) {
  FaultVfs* vfs = FaultVfs::Install("sluice-catalog-fault-a");
  ASSERT_NE(vfs, nullptr);
  vfs->Clear();
  auto cat = OpenOrDie(path_, vfs->name());
  ASSERT_NE(cat, nullptr);
  ASSERT_TRUE(cat->Create(ResourceType::kChannel, "a", "adef", {{"k", "v"}}, kNoLimit).ok());
  ASSERT_TRUE(cat->PutSetting("s", "1").ok());

  int64_t before = vfs->injected_failures();
  vfs->FailWritesAfter(0);
  Status st = cat->Create(ResourceType::kChannel, "b", "bdef", {{"k", "v"}}, kNoLimit);
  EXPECT_EQ(st.code(), StatusCode::kIoError) << st.ToString();
  EXPECT_GT(vfs->injected_failures(), before);
  EXPECT_NE(cat->Update(ResourceType::kChannel, "a", "changed").code(), StatusCode::kOk);
  EXPECT_NE(cat->PutTags(ResourceType::kChannel, "a", {{"k", "w"}}).code(), StatusCode::kOk);
  EXPECT_NE(cat->RemoveTags(ResourceType::kChannel, "a", {"k"}).code(), StatusCode::kOk);
  EXPECT_NE(cat->Delete(ResourceType::kChannel, "a").code(), StatusCode::kOk);
  EXPECT_NE(cat->PutSetting("s", "2").code(), StatusCode::kOk);

  // Reads still see the last committed state while the fault persists.
  auto a = cat->Get(ResourceType::kChannel, "a");
  ASSERT_TRUE(a.ok()) << a.status().ToString();
  EXPECT_EQ(a->definition, "adef");
  EXPECT_EQ(*cat->GetTags(ResourceType::kChannel, "a"), (Tags{{"k", "v"}}));
  EXPECT_EQ(cat->Get(ResourceType::kChannel, "b").status().code(), StatusCode::kNotFound);
  EXPECT_EQ(**cat->GetSetting("s"), "1");

  vfs->Clear();
  ASSERT_TRUE(cat->Create(ResourceType::kChannel, "b", "bdef", {{"k", "v"}}, kNoLimit).ok());
  ASSERT_TRUE(cat->Update(ResourceType::kChannel, "a", "changed").ok());
  ASSERT_TRUE(cat->PutSetting("s", "2").ok());
  cat.reset();

  cat = OpenOrDie(path_, vfs->name());
  ASSERT_NE(cat, nullptr);
  EXPECT_EQ(cat->Get(ResourceType::kChannel, "a")->definition, "changed");
  EXPECT_EQ(cat->Get(ResourceType::kChannel, "b")->definition, "bdef");
  EXPECT_EQ(*cat->GetTags(ResourceType::kChannel, "b"), (Tags{{"k", "v"}}));
  EXPECT_EQ(**cat->GetSetting("s"), "2");
}

TEST_F(CatalogTest, MigrationFailingMidwayIsRetriedAtNextOpen) {
  FaultVfs* vfs = FaultVfs::Install("sluice-catalog-fault-d");
  ASSERT_NE(vfs, nullptr);
  for (int64_t writes_ok : {0, 2}) {
    SCOPED_TRACE(writes_ok);
    const std::string path = dir_ + "/migrate" + std::to_string(writes_ok) + ".db";
    vfs->FailWritesAfter(writes_ok);
    auto failed = Catalog::Open(path, &clock_, vfs->name());
    vfs->Clear();
    ASSERT_FALSE(failed.ok());
    EXPECT_EQ(failed.status().code(), StatusCode::kIoError) << failed.status().ToString();
    auto cat = OpenOrDie(path, vfs->name());
    ASSERT_NE(cat, nullptr);
    EXPECT_EQ(cat->schema_version(), Catalog::LatestSchemaVersion());
    EXPECT_TRUE(cat->Create(ResourceType::kChannel, "c", "{}", {{"k", "v"}}, kNoLimit).ok());
  }
}

TEST_F(CatalogTest, TornTransactionIsAbsentAfterReopen) {
  FaultVfs* vfs = FaultVfs::Install("sluice-catalog-fault-b");
  ASSERT_NE(vfs, nullptr);
  vfs->Clear();
  {
    auto cat = OpenOrDie(path_, vfs->name());
    ASSERT_NE(cat, nullptr);
    ASSERT_TRUE(cat->Create(ResourceType::kChannel, "a", "adef", ManyTags("a", 3), kNoLimit).ok());
  }
  // A large create spans many WAL frames; let some of its writes land before failing.
  const std::string big(64 * 1024, 'x');
  int round = 0;
  for (int64_t writes_ok : {0, 1, 2, 5, 9}) {
    SCOPED_TRACE(writes_ok);
    const std::string name = "big" + std::to_string(round++);
    {
      auto cat = OpenOrDie(path_, vfs->name());
      ASSERT_NE(cat, nullptr);
      int64_t before = vfs->injected_failures();
      vfs->FailWritesAfter(writes_ok);
      Status st = cat->Create(ResourceType::kDatastore, name, big, ManyTags(name, 40), kNoLimit);
      EXPECT_EQ(st.code(), StatusCode::kIoError) << st.ToString();
      EXPECT_GT(vfs->injected_failures(), before);
      // The catalog is closed with the fault still active: its final checkpoint fails too
      // and the WAL, partial frames included, is left for the next open to recover.
    }
    vfs->Clear();
    auto cat = OpenOrDie(path_, vfs->name());
    ASSERT_NE(cat, nullptr);
    auto a = cat->Get(ResourceType::kChannel, "a");
    ASSERT_TRUE(a.ok()) << a.status().ToString();
    EXPECT_EQ(a->definition, "adef");
    EXPECT_EQ(*cat->GetTags(ResourceType::kChannel, "a"), ManyTags("a", 3));
    EXPECT_EQ(cat->Get(ResourceType::kDatastore, name).status().code(), StatusCode::kNotFound);
    EXPECT_EQ(*cat->Count(ResourceType::kDatastore), round - 1);
    // Works again once the fault is gone.
    ASSERT_TRUE(
        cat->Create(ResourceType::kDatastore, name, big, ManyTags(name, 40), kNoLimit).ok());
    EXPECT_EQ(*cat->GetTags(ResourceType::kDatastore, name), ManyTags(name, 40));
  }
  EXPECT_EQ(RawText(path_, "PRAGMA integrity_check"), "ok");
}

TEST_F(CatalogTest, FailedSyncIsReportedAndNotVisible) {
  FaultVfs* vfs = FaultVfs::Install("sluice-catalog-fault-c");
  ASSERT_NE(vfs, nullptr);
  vfs->Clear();
  auto cat = OpenOrDie(path_, vfs->name());
  ASSERT_NE(cat, nullptr);
  ASSERT_TRUE(cat->Create(ResourceType::kChannel, "a", "adef", {{"k", "v"}}, kNoLimit).ok());

  int64_t before = vfs->injected_failures();
  vfs->FailSyncs(true);
  Status st = cat->Create(ResourceType::kChannel, "b", "bdef", {{"k", "v"}}, kNoLimit);
  EXPECT_EQ(st.code(), StatusCode::kIoError) << st.ToString();
  EXPECT_GT(vfs->injected_failures(), before);
  EXPECT_EQ(cat->Get(ResourceType::kChannel, "b").status().code(), StatusCode::kNotFound);
  EXPECT_EQ(cat->Get(ResourceType::kChannel, "a")->definition, "adef");

  vfs->Clear();
  ASSERT_TRUE(cat->Create(ResourceType::kChannel, "c", "cdef", {}, kNoLimit).ok());
  cat.reset();
  cat = OpenOrDie(path_, vfs->name());
  ASSERT_NE(cat, nullptr);
  EXPECT_EQ(Names(*cat->ListAll(ResourceType::kChannel)), (std::vector<std::string>{"a", "c"}));
  EXPECT_EQ(*cat->GetTags(ResourceType::kChannel, "a"), (Tags{{"k", "v"}}));
}

// ---- crash durability ----

std::string CrashName(int i) {
  char buf[16];
  std::snprintf(buf, sizeof(buf), "r%05d", i);
  return buf;
}
std::string CrashDefinition(const std::string& name) {
  // Sizes vary so records straddle page boundaries differently.
  size_t pad = (std::hash<std::string>()(name) % 3000) + 10;
  return "{\"name\":\"" + name + "\",\"pad\":\"" + std::string(pad, 'p') + "\"}";
}
Tags CrashTags(const std::string& name) { return ManyTags(name + "-", 5); }

// Child side: create resources forever-ish, acknowledging each on `fd` once Create is OK.
[[noreturn]] void RunCrashChild(const std::string& path, int fd, int n) {
  FakeClock clock(kStart);
  auto cat = Catalog::Open(path, &clock);
  if (!cat.ok()) _exit(3);
  for (int i = 0; i < n; ++i) {
    std::string name = CrashName(i);
    if (!(*cat)
             ->Create(ResourceType::kChannel, name, CrashDefinition(name), CrashTags(name),
                      kNoLimit)
             .ok()) {
      _exit(4);
    }
    std::string line = std::to_string(i) + "\n";
    if (write(fd, line.data(), line.size()) != static_cast<ssize_t>(line.size())) _exit(5);
  }
  _exit(0);
}

TEST_F(CatalogTest, KillNineKeepsEveryAcknowledgedCreateWhole) {
  std::random_device rd;
  const uint32_t seed = rd();
  SCOPED_TRACE("seed " + std::to_string(seed));
  std::mt19937 rng(seed);
  constexpr int kN = 400;
  for (int round = 0; round < 5; ++round) {
    SCOPED_TRACE("round " + std::to_string(round));
    const std::string path = dir_ + "/crash" + std::to_string(round) + ".db";
    const int kill_after = std::uniform_int_distribution<int>(1, 80)(rng);
    int fds[2];
    ASSERT_EQ(pipe(fds), 0);
    pid_t pid = fork();
    ASSERT_GE(pid, 0);
    if (pid == 0) {
      close(fds[0]);
      RunCrashChild(path, fds[1], kN);
    }
    close(fds[1]);

    std::vector<int> acked;
    std::string pending;
    bool killed = false;
    while (true) {
      pollfd p{fds[0], POLLIN, 0};
      int r = poll(&p, 1, 60'000);  // a safety net only; acks normally arrive in ms
      if (r < 0 && errno == EINTR) continue;
      ASSERT_GT(r, 0) << "child produced no ack within a minute";
      char chunk[512];
      ssize_t got = read(fds[0], chunk, sizeof(chunk));
      if (got < 0 && errno == EINTR) continue;
      ASSERT_GE(got, 0);
      if (got == 0) break;  // child gone and pipe drained
      pending.append(chunk, static_cast<size_t>(got));
      size_t nl;
      while ((nl = pending.find('\n')) != std::string::npos) {
        acked.push_back(std::stoi(pending.substr(0, nl)));
        pending.erase(0, nl + 1);
      }
      if (!killed && static_cast<int>(acked.size()) >= kill_after) {
        ASSERT_EQ(kill(pid, SIGKILL), 0);
        killed = true;
      }
    }
    close(fds[0]);
    int status = 0;
    ASSERT_EQ(waitpid(pid, &status, 0), pid);
    if (WIFEXITED(status)) {
      ASSERT_EQ(WEXITSTATUS(status), 0) << "child failed";  // finished before the kill
    } else {
      ASSERT_TRUE(WIFSIGNALED(status));
      EXPECT_EQ(WTERMSIG(status), SIGKILL);
    }
    ASSERT_GE(static_cast<int>(acked.size()), kill_after);
    for (size_t i = 0; i < acked.size(); ++i) ASSERT_EQ(acked[i], static_cast<int>(i));

    auto cat = OpenOrDie(path);
    ASSERT_NE(cat, nullptr);
    for (int i : acked) {
      std::string name = CrashName(i);
      auto r = cat->Get(ResourceType::kChannel, name);
      ASSERT_TRUE(r.ok()) << name << ": " << r.status().ToString();
      EXPECT_EQ(r->definition, CrashDefinition(name));
      EXPECT_EQ(*cat->GetTags(ResourceType::kChannel, name), CrashTags(name));
    }
    auto all = cat->ListAll(ResourceType::kChannel);
    ASSERT_TRUE(all.ok());
    // At most one create can have committed without its ack reaching the pipe.
    EXPECT_LE(all->size(), acked.size() + 1);
    for (const auto& rec : *all) {
      EXPECT_EQ(rec.definition, CrashDefinition(rec.name)) << rec.name;
      EXPECT_EQ(*cat->GetTags(ResourceType::kChannel, rec.name), CrashTags(rec.name)) << rec.name;
    }
    cat.reset();
    EXPECT_EQ(RawText(path, "PRAGMA integrity_check"), "ok");
  }
}

}  // namespace
}  // namespace sluice
