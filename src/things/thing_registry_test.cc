#include "things/thing_registry.h"

#include <sqlite3.h>
#include <stdlib.h>

#include <filesystem>
#include <string>

#include <gtest/gtest.h>

namespace sluice {
namespace {

using Json = nlohmann::json;

constexpr int64_t kStart = int64_t{1700000000} * 1000000;

class ThingRegistryTest : public ::testing::Test {
 protected:
  void SetUp() override {
    char tmpl[] = "/tmp/sluice-things-test-XXXXXX";
    ASSERT_NE(mkdtemp(tmpl), nullptr);
    dir_ = tmpl;
    path_ = dir_ + "/things.db";
    Reopen();
  }
  void TearDown() override {
    reg_.reset();
    std::filesystem::remove_all(dir_);
  }
  void Reopen() {
    reg_.reset();
    auto r = ThingRegistry::Open(path_, &clock_, "eu-west-1", "111122223333");
    ASSERT_TRUE(r.ok()) << r.status().ToString();
    reg_ = std::move(r).value();
  }
  ThingRecord MustCreate(const std::string& name, ThingSpec spec = {}) {
    auto r = reg_->CreateThing(name, spec);
    EXPECT_TRUE(r.ok()) << r.status().ToString();
    return r.ok() ? *r : ThingRecord{};
  }
  Json MustUpdateShadow(const std::string& thing, const std::string& shadow, const char* req) {
    auto r = reg_->UpdateShadow(thing, shadow, Json::parse(req));
    EXPECT_TRUE(r.ok()) << r.status().ToString();
    if (!r.ok()) return Json();
    EXPECT_EQ(r->outcome, ShadowUpdateResult::Outcome::kAccepted);
    return r->accepted;
  }

  FakeClock clock_{kStart};
  std::string dir_;
  std::string path_;
  std::unique_ptr<ThingRegistry> reg_;
};

TEST_F(ThingRegistryTest, NamePatterns) {
  EXPECT_TRUE(IsValidThingName("a:b_c-D9"));
  EXPECT_TRUE(IsValidThingName(std::string(128, 'x')));
  EXPECT_FALSE(IsValidThingName(std::string(129, 'x')));
  EXPECT_FALSE(IsValidThingName(""));
  EXPECT_FALSE(IsValidThingName("a b"));
  EXPECT_FALSE(IsValidThingName("a/b"));
  EXPECT_TRUE(IsValidShadowName(std::string(64, 'x')));
  EXPECT_FALSE(IsValidShadowName(std::string(65, 'x')));
  EXPECT_FALSE(IsValidShadowName("$x"));
}

TEST_F(ThingRegistryTest, CreateDescribeAndIdempotentCreate) {
  ThingSpec spec;
  spec.thing_type = "sensor";
  spec.attributes = {{"floor", "3"}};
  ThingRecord r = MustCreate("dev1", spec);
  EXPECT_EQ(r.name, "dev1");
  EXPECT_EQ(r.thing_id.size(), 36u);
  EXPECT_EQ(r.version, 1);
  EXPECT_EQ(reg_->ThingArn("dev1"), "arn:aws:iot:eu-west-1:111122223333:thing/dev1");

  auto got = reg_->GetThing("dev1");
  ASSERT_TRUE(got.ok());
  EXPECT_EQ(got->thing_id, r.thing_id);
  EXPECT_EQ(got->thing_type, std::optional<std::string>("sensor"));
  EXPECT_EQ(got->attributes, spec.attributes);

  // Same configuration again: the existing thing, unchanged.
  ThingRecord again = MustCreate("dev1", spec);
  EXPECT_EQ(again.thing_id, r.thing_id);
  EXPECT_EQ(again.version, 1);

  // Different configuration: already exists, naming the existing thing.
  spec.attributes["floor"] = "4";
  auto conflict = reg_->CreateThing("dev1", spec);
  ASSERT_FALSE(conflict.ok());
  EXPECT_EQ(conflict.status().code(), StatusCode::kAlreadyExists);
  EXPECT_EQ(conflict.status().resource_id(), r.thing_id);
  EXPECT_EQ(conflict.status().resource_arn(), reg_->ThingArn("dev1"));

  auto desc = reg_->DescribeThing("dev1");
  ASSERT_TRUE(desc.ok());
  ASSERT_TRUE(desc->has_value());
  EXPECT_EQ(**desc, Json({{"defaultClientId", "dev1"},
                          {"thingName", "dev1"},
                          {"thingId", r.thing_id},
                          {"thingArn", reg_->ThingArn("dev1")},
                          {"thingTypeName", "sensor"},
                          {"attributes", {{"floor", "3"}}},
                          {"version", 1}}));
  auto none = reg_->DescribeThing("nope");
  ASSERT_TRUE(none.ok());
  EXPECT_FALSE(none->has_value());
  EXPECT_EQ(reg_->GetThing("nope").status().code(), StatusCode::kNotFound);
  EXPECT_EQ(reg_->CreateThing("bad name", {}).status().code(), StatusCode::kInvalidArgument);
}

TEST_F(ThingRegistryTest, UpdateVersionsAttributesAndType) {
  ThingSpec spec;
  spec.attributes = {{"a", "1"}, {"b", "2"}};
  MustCreate("t", spec);

  ThingUpdate merge;
  merge.attributes = std::map<std::string, std::string>{{"b", ""}, {"c", "3"}};
  merge.merge = true;
  auto out = reg_->UpdateThing("t", merge);
  ASSERT_TRUE(out.ok()) << out.status().ToString();
  EXPECT_EQ(*out, WriteOutcome::kDone);
  auto r = reg_->GetThing("t");
  EXPECT_EQ(r->attributes, (std::map<std::string, std::string>{{"a", "1"}, {"c", "3"}}));
  EXPECT_EQ(r->version, 2);

  ThingUpdate replace;
  replace.attributes = std::map<std::string, std::string>{{"z", "9"}, {"y", ""}};
  replace.thing_type = "kind";
  replace.expected_version = 2;
  ASSERT_EQ(*reg_->UpdateThing("t", replace), WriteOutcome::kDone);
  r = reg_->GetThing("t");
  EXPECT_EQ(r->attributes, (std::map<std::string, std::string>{{"z", "9"}}));
  EXPECT_EQ(r->thing_type, std::optional<std::string>("kind"));
  EXPECT_EQ(r->version, 3);

  // A stale expected version changes nothing.
  ThingUpdate stale;
  stale.remove_thing_type = true;
  stale.expected_version = 2;
  ASSERT_EQ(*reg_->UpdateThing("t", stale), WriteOutcome::kVersionConflict);
  EXPECT_EQ(reg_->GetThing("t")->version, 3);
  stale.expected_version = 3;
  ASSERT_EQ(*reg_->UpdateThing("t", stale), WriteOutcome::kDone);
  r = reg_->GetThing("t");
  EXPECT_FALSE(r->thing_type.has_value());
  EXPECT_EQ(r->version, 4);
  EXPECT_EQ(r->attributes.size(), 1u);  // untouched without an attribute payload

  ThingUpdate both;
  both.thing_type = "x";
  both.remove_thing_type = true;
  EXPECT_EQ(reg_->UpdateThing("t", both).status().code(), StatusCode::kInvalidArgument);
  EXPECT_EQ(reg_->UpdateThing("missing", ThingUpdate{}).status().code(), StatusCode::kNotFound);
}

TEST_F(ThingRegistryTest, AttributeQuota) {
  ThingSpec spec;
  spec.attributes = {{"a", "1"}, {"b", "2"}, {"c", "3"}, {"d", "4"}};
  EXPECT_EQ(reg_->CreateThing("untyped", spec).status().code(), StatusCode::kInvalidArgument);
  spec.thing_type = "typed";
  MustCreate("typed", spec);
  ThingUpdate drop_type;
  drop_type.remove_thing_type = true;
  EXPECT_EQ(reg_->UpdateThing("typed", drop_type).status().code(), StatusCode::kInvalidArgument);
  EXPECT_EQ(reg_->GetThing("typed")->version, 1);
}

TEST_F(ThingRegistryTest, DeleteWithAndWithoutExpectedVersion) {
  MustCreate("d");
  EXPECT_EQ(*reg_->DeleteThing("d", 7), WriteOutcome::kVersionConflict);
  EXPECT_TRUE(reg_->GetThing("d").ok());
  EXPECT_EQ(*reg_->DeleteThing("d", 1), WriteOutcome::kDone);
  EXPECT_EQ(reg_->GetThing("d").status().code(), StatusCode::kNotFound);
  // Absent things delete successfully.
  EXPECT_EQ(*reg_->DeleteThing("d", std::nullopt), WriteOutcome::kDone);
  // The name is free again, with a new id.
  MustCreate("d");
  EXPECT_EQ(reg_->GetThing("d")->version, 1);
}

TEST_F(ThingRegistryTest, ListPagingAndFilters) {
  for (int i = 0; i < 5; ++i) {
    ThingSpec spec;
    spec.attributes = {{"site", i % 2 == 0 ? "north-1" : "south-1"}};
    if (i < 2) spec.thing_type = "pump";
    MustCreate("thing" + std::to_string(i), spec);
  }
  std::vector<std::string> seen;
  std::optional<std::string> token;
  int pages = 0;
  do {
    auto page = reg_->ListThings({}, token, 2);
    ASSERT_TRUE(page.ok()) << page.status().ToString();
    for (const auto& t : page->things) seen.push_back(t.name);
    token = page->next_token;
    ++pages;
  } while (token);
  EXPECT_EQ(pages, 3);
  EXPECT_EQ(seen, (std::vector<std::string>{"thing0", "thing1", "thing2", "thing3", "thing4"}));

  auto exact = reg_->ListThings({}, std::nullopt, 5);
  EXPECT_EQ(exact->things.size(), 5u);
  EXPECT_FALSE(exact->next_token.has_value());

  ThingFilter f;
  f.attribute_name = "site";
  f.attribute_value = "north-1";
  auto north = reg_->ListThings(f, std::nullopt, 10);
  ASSERT_EQ(north->things.size(), 3u);
  EXPECT_EQ(north->things[1].name, "thing2");
  f.attribute_value = "south";
  EXPECT_TRUE(reg_->ListThings(f, std::nullopt, 10)->things.empty());
  f.attribute_value_prefix = true;
  EXPECT_EQ(reg_->ListThings(f, std::nullopt, 10)->things.size(), 2u);

  ThingFilter by_type;
  by_type.thing_type = "pump";
  EXPECT_EQ(reg_->ListThings(by_type, std::nullopt, 10)->things.size(), 2u);

  ThingFilter name_only;
  name_only.attribute_name = "site";
  EXPECT_EQ(reg_->ListThings(name_only, std::nullopt, 10)->things.size(), 5u);

  EXPECT_EQ(reg_->ListThings({}, std::string("garbage"), 2).status().code(),
            StatusCode::kInvalidArgument);
  ThingFilter value_only;
  value_only.attribute_value = "x";
  EXPECT_EQ(reg_->ListThings(value_only, std::nullopt, 2).status().code(),
            StatusCode::kInvalidArgument);
}

TEST_F(ThingRegistryTest, ShadowLifecycle) {
  auto none = reg_->GetShadow("lamp");
  ASSERT_TRUE(none.ok());
  EXPECT_FALSE(none->has_value());

  Json acc = MustUpdateShadow("lamp", "", R"({"state":{"desired":{"on":true,"level":5}},
                                             "clientToken":"c1"})");
  EXPECT_EQ(acc["version"], 1);
  EXPECT_EQ(acc["timestamp"], kStart / 1000000);
  EXPECT_EQ(acc["clientToken"], "c1");

  clock_.AdvanceSeconds(10);
  acc = MustUpdateShadow("lamp", "", R"({"state":{"reported":{"on":true,"level":3}},"version":1})");
  EXPECT_EQ(acc["version"], 2);

  auto doc = reg_->GetShadow("lamp");
  ASSERT_TRUE(doc.ok());
  ASSERT_TRUE(doc->has_value());
  Json d = **doc;
  EXPECT_EQ(d["state"]["desired"], Json({{"on", true}, {"level", 5}}));
  EXPECT_EQ(d["state"]["reported"], Json({{"on", true}, {"level", 3}}));
  EXPECT_EQ(d["state"]["delta"], Json({{"level", 5}}));
  EXPECT_EQ(d["metadata"]["desired"]["level"]["timestamp"], kStart / 1000000);
  EXPECT_EQ(d["metadata"]["reported"]["level"]["timestamp"], kStart / 1000000 + 10);
  EXPECT_EQ(d["version"], 2);

  // Wrong version: conflict, nothing changes.
  auto conflict = reg_->UpdateShadow("lamp", "", Json::parse(R"({"state":{"desired":{"on":false}},
                                                                  "version":1})"));
  ASSERT_TRUE(conflict.ok());
  EXPECT_EQ(conflict->outcome, ShadowUpdateResult::Outcome::kVersionConflict);
  EXPECT_EQ((**reg_->GetShadow("lamp"))["version"], 2);

  // null deletes a key; the delta disappears when desired == reported.
  MustUpdateShadow("lamp", "", R"({"state":{"desired":{"level":null}}})");
  d = **reg_->GetShadow("lamp");
  EXPECT_EQ(d["state"]["desired"], Json({{"on", true}}));
  EXPECT_FALSE(d["state"].contains("delta"));
  EXPECT_FALSE(d["metadata"]["desired"].contains("level"));
  EXPECT_EQ(d["version"], 3);

  auto del = reg_->DeleteShadow("lamp", "");
  ASSERT_TRUE(del.ok());
  ASSERT_TRUE(del->has_value());
  EXPECT_EQ((**del)["version"], 3);
  EXPECT_FALSE(reg_->GetShadow("lamp")->has_value());
  EXPECT_FALSE(reg_->DeleteShadow("lamp", "")->has_value());

  // Re-created within 48 hours: the version continues.
  clock_.AdvanceSeconds(3600);
  acc = MustUpdateShadow("lamp", "", R"({"state":{"reported":{"on":false}}})");
  EXPECT_EQ(acc["version"], 4);
  d = **reg_->GetShadow("lamp");
  EXPECT_FALSE(d["state"].contains("desired"));  // the old state is gone
  ASSERT_TRUE(reg_->DeleteShadow("lamp", "")->has_value());
  // More than 48 hours later: it starts over.
  clock_.AdvanceMicros(ThingRegistry::kShadowVersionMemoryMicros + 1);
  acc = MustUpdateShadow("lamp", "", R"({"state":{"reported":{"on":false}}})");
  EXPECT_EQ(acc["version"], 1);
}

TEST_F(ThingRegistryTest, ShadowVersionCheckOnNewShadowAndSizeLimit) {
  auto r = reg_->UpdateShadow("s", "", Json::parse(R"({"state":{"desired":{"a":1}},"version":3})"));
  ASSERT_TRUE(r.ok());
  EXPECT_EQ(r->outcome, ShadowUpdateResult::Outcome::kVersionConflict);
  EXPECT_FALSE(reg_->GetShadow("s")->has_value());

  // Two updates that are each small but together exceed the state limit.
  std::string big(5000, 'x');
  ASSERT_EQ(reg_->UpdateShadow("s", "", {{"state", {{"desired", {{"a", big}}}}}})->outcome,
            ShadowUpdateResult::Outcome::kAccepted);
  auto too = reg_->UpdateShadow("s", "", {{"state", {{"reported", {{"b", big}}}}}});
  ASSERT_TRUE(too.ok());
  EXPECT_EQ(too->outcome, ShadowUpdateResult::Outcome::kTooLarge);
  EXPECT_EQ((**reg_->GetShadow("s"))["version"], 1);

  EXPECT_EQ(reg_->UpdateShadow("s", "", Json::parse(R"({"nostate":1})")).status().code(),
            StatusCode::kInvalidArgument);
  EXPECT_EQ(reg_->UpdateShadow("bad name", "", Json::parse(R"({"state":{}})")).status().code(),
            StatusCode::kInvalidArgument);
}

TEST_F(ThingRegistryTest, NamedShadowsAreSeparateAndListed) {
  MustUpdateShadow("dev", "", R"({"state":{"reported":{"x":1}}})");
  MustUpdateShadow("dev", "b", R"({"state":{"reported":{"x":2}}})");
  MustUpdateShadow("dev", "a", R"({"state":{"reported":{"x":3}}})");
  MustUpdateShadow("dev", "c", R"({"state":{"reported":{"x":4}}})");
  MustUpdateShadow("other", "z", R"({"state":{"reported":{"x":5}}})");
  EXPECT_EQ((**reg_->GetShadowDocument("dev", "a"))["state"]["reported"]["x"], 3);
  EXPECT_EQ((**reg_->GetShadow("dev"))["state"]["reported"]["x"], 1);
  ASSERT_TRUE(reg_->DeleteShadow("dev", "c")->has_value());

  auto page = reg_->ListNamedShadows("dev", std::nullopt, 1);
  ASSERT_TRUE(page.ok());
  EXPECT_EQ(page->names, std::vector<std::string>{"a"});
  ASSERT_TRUE(page->next_token);
  page = reg_->ListNamedShadows("dev", page->next_token, 1);
  EXPECT_EQ(page->names, std::vector<std::string>{"b"});
  EXPECT_FALSE(page->next_token.has_value());
  EXPECT_TRUE(reg_->ListNamedShadows("nobody", std::nullopt, 5)->names.empty());
  EXPECT_EQ(reg_->ListNamedShadows("dev", std::string("bad"), 5).status().code(),
            StatusCode::kInvalidArgument);
}

TEST_F(ThingRegistryTest, ShadowsAreIndependentOfRegistryEntries) {
  MustCreate("dev");
  MustUpdateShadow("dev", "", R"({"state":{"reported":{"x":1}}})");
  ASSERT_EQ(*reg_->DeleteThing("dev", std::nullopt), WriteOutcome::kDone);
  EXPECT_TRUE(reg_->GetShadow("dev")->has_value());
}

TEST_F(ThingRegistryTest, EverythingSurvivesReopen) {
  ThingSpec spec;
  spec.thing_type = "t";
  spec.attributes = {{"k", "v"}};
  ThingRecord r = MustCreate("keep", spec);
  ThingUpdate up;
  up.attributes = std::map<std::string, std::string>{{"k2", "v2"}};
  up.merge = true;
  ASSERT_EQ(*reg_->UpdateThing("keep", up), WriteOutcome::kDone);
  MustUpdateShadow("keep", "", R"({"state":{"desired":{"a":1},"reported":{"a":2}}})");
  MustUpdateShadow("keep", "named", R"({"state":{"reported":{"b":1}}})");
  Json before = **reg_->GetShadow("keep");
  Reopen();
  auto got = reg_->GetThing("keep");
  ASSERT_TRUE(got.ok());
  EXPECT_EQ(got->thing_id, r.thing_id);
  EXPECT_EQ(got->version, 2);
  EXPECT_EQ(got->attributes, (std::map<std::string, std::string>{{"k", "v"}, {"k2", "v2"}}));
  EXPECT_EQ(**reg_->GetShadow("keep"), before);
  EXPECT_EQ(reg_->ListNamedShadows("keep", std::nullopt, 5)->names,
            std::vector<std::string>{"named"});
}

TEST_F(ThingRegistryTest, SchemaVersionAndDurabilitySettings) {
  reg_.reset();
  sqlite3* db = nullptr;
  ASSERT_EQ(sqlite3_open(path_.c_str(), &db), SQLITE_OK);
  auto query = [&](const char* sql) {
    sqlite3_stmt* st = nullptr;
    EXPECT_EQ(sqlite3_prepare_v2(db, sql, -1, &st, nullptr), SQLITE_OK);
    EXPECT_EQ(sqlite3_step(st), SQLITE_ROW);
    std::string out = reinterpret_cast<const char*>(sqlite3_column_text(st, 0));
    sqlite3_finalize(st);
    return out;
  };
  EXPECT_EQ(query("PRAGMA user_version"), std::to_string(ThingRegistry::LatestSchemaVersion()));
  EXPECT_EQ(query("PRAGMA journal_mode"), "wal");
  // A database from a newer Sluice is refused rather than misread.
  EXPECT_EQ(sqlite3_exec(db, "PRAGMA user_version=99", nullptr, nullptr, nullptr), SQLITE_OK);
  sqlite3_close(db);
  auto r = ThingRegistry::Open(path_, &clock_, "r", "a");
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.status().code(), StatusCode::kCorruption);
  EXPECT_EQ(ThingRegistry::Open(path_, nullptr, "r", "a").status().code(),
            StatusCode::kInvalidArgument);
}

}  // namespace
}  // namespace sluice
