#include "iotsql/path.h"

#include <gtest/gtest.h>

#include <string>

namespace sluice::iotsql {
namespace {

Json Msg(const char* text) { return Json::parse(text); }

TEST(ParsePath, Steps) {
  auto steps = ParsePath("a.b[1][2].c");
  ASSERT_TRUE(steps.has_value());
  ASSERT_EQ(steps->size(), 5u);
  EXPECT_EQ(std::get<std::string>((*steps)[0]), "a");
  EXPECT_EQ(std::get<std::string>((*steps)[1]), "b");
  EXPECT_EQ(std::get<size_t>((*steps)[2]), 1u);
  EXPECT_EQ(std::get<size_t>((*steps)[3]), 2u);
  EXPECT_EQ(std::get<std::string>((*steps)[4]), "c");
}

TEST(ParsePath, Malformed) {
  for (const char* bad : {"", ".", "a.", ".a", "a..b", "a[", "a[]", "a[x]", "a[1", "[0]", "a]",
                          "a[1]b", "a[-1]", "a[99999999999999999999999]"}) {
    EXPECT_FALSE(ParsePath(bad).has_value()) << bad;
  }
}

// ITA add-attributes / select-attributes examples (§6 #66, #68).
TEST(GetPath, DocExamples) {
  Json m = Msg(R"({"device":{"id":"device-123","coord":[47.6152543,-122.3354883]}})");
  EXPECT_EQ(GetPath(m, "device.id"), Json("device-123"));
  EXPECT_EQ(GetPath(m, "device.coord[0]")->dump(), "47.6152543");
  EXPECT_EQ(GetPath(m, "device.coord[1]")->dump(), "-122.3354883");
  Json m2 = Msg(
      R"({"device":{"id":"device-123","coord":[47.6152543,-122.3354883],"temp":50,"hum":40},"light":90})");
  EXPECT_EQ(GetPath(m2, "device.temp"), Json(50));
  EXPECT_EQ(GetPath(m2, "device.hum"), Json(40));
  EXPECT_EQ(GetPath(m2, "light"), Json(90));
  EXPECT_EQ(GetPath(m2, "device"), m2["device"]);
}

TEST(GetPath, MissingAndWrongTypes) {
  Json m = Msg(R"({"a":{"b":[1,{"c":null}]},"s":"str"})");
  EXPECT_EQ(GetPath(m, "a.b[1].c"), Json(nullptr));  // present, null
  EXPECT_FALSE(GetPath(m, "a.b[2]").has_value());
  EXPECT_FALSE(GetPath(m, "a.x").has_value());
  EXPECT_FALSE(GetPath(m, "a[0]").has_value());     // index into an object
  EXPECT_FALSE(GetPath(m, "a.b.c").has_value());    // key into an array
  EXPECT_FALSE(GetPath(m, "s.len").has_value());    // key into a string
  EXPECT_FALSE(GetPath(m, "A").has_value());        // case-sensitive
  EXPECT_FALSE(GetPath(m, "a..b").has_value());     // malformed
  EXPECT_FALSE(GetPath(Json(5), "a").has_value());  // message not an object
}

TEST(SetPath, TopLevelAndOverwrite) {
  Json m = Msg(R"({"tempF":50})");
  ASSERT_TRUE(SetPath(&m, "tempC", Json(10)));
  EXPECT_EQ(m, Msg(R"({"tempF":50,"tempC":10})"));
  ASSERT_TRUE(SetPath(&m, "tempC", Json(11)));
  EXPECT_EQ(m, Msg(R"({"tempF":50,"tempC":11})"));
}

TEST(SetPath, CreatesIntermediateObjects) {
  Json m = Json::object();
  ASSERT_TRUE(SetPath(&m, "a.b.c", Json("x")));
  EXPECT_EQ(m, Msg(R"({"a":{"b":{"c":"x"}}})"));
  ASSERT_TRUE(SetPath(&m, "a.b.d", Json(1)));
  EXPECT_EQ(m, Msg(R"({"a":{"b":{"c":"x","d":1}}})"));
  Json null_message;  // null becomes an object
  ASSERT_TRUE(SetPath(&null_message, "k", Json(true)));
  EXPECT_EQ(null_message, Msg(R"({"k":true})"));
}

TEST(SetPath, IndexesAndExplicitNull) {
  Json m = Msg(R"({"a":[1,2],"n":null})");
  ASSERT_TRUE(SetPath(&m, "a[1]", Json(20)));
  EXPECT_EQ(m["a"], Msg("[1,20]"));
  ASSERT_TRUE(SetPath(&m, "a[3]", Json(4)));
  EXPECT_EQ(m["a"], Msg("[1,20,null,4]"));
  ASSERT_TRUE(SetPath(&m, "n.x", Json(1)));
  EXPECT_EQ(m["n"], Msg(R"({"x":1})"));
  ASSERT_TRUE(SetPath(&m, "list[1].v", Json(2)));
  EXPECT_EQ(m["list"], Msg(R"([null,{"v":2}])"));
}

TEST(SetPath, FailsWithoutChangingTheMessage) {
  Json m = Msg(R"({"a":5,"b":{"c":[1]},"s":"x"})");
  const Json before = m;
  EXPECT_FALSE(SetPath(&m, "a.b", Json(1)));           // 5 is not an object
  EXPECT_FALSE(SetPath(&m, "b.c.d", Json(1)));         // array is not an object
  EXPECT_FALSE(SetPath(&m, "b[0]", Json(1)));          // object is not an array
  EXPECT_FALSE(SetPath(&m, "s[0]", Json(1)));          // string is not an array
  EXPECT_FALSE(SetPath(&m, "new.x[10001]", Json(1)));  // index too large to create
  EXPECT_FALSE(SetPath(&m, "b.c[10001]", Json(1)));
  EXPECT_FALSE(SetPath(&m, "bad..path", Json(1)));
  EXPECT_FALSE(SetPath(nullptr, "a", Json(1)));
  EXPECT_EQ(m, before);
  Json scalar = Json(3);
  EXPECT_FALSE(SetPath(&scalar, "a", Json(1)));
  EXPECT_EQ(scalar, Json(3));
}

TEST(RemovePath, DocExampleAndNested) {
  // §6 #66 then #67.
  Json m = Msg(R"({"device":{"id":"device-123","coord":[47.6152543,-122.3354883]}})");
  ASSERT_TRUE(SetPath(&m, "id", *GetPath(m, "device.id")));
  ASSERT_TRUE(SetPath(&m, "lat", *GetPath(m, "device.coord[0]")));
  ASSERT_TRUE(SetPath(&m, "lon", *GetPath(m, "device.coord[1]")));
  EXPECT_TRUE(RemovePath(&m, "device"));
  EXPECT_EQ(m, Msg(R"({"id":"device-123","lat":47.6152543,"lon":-122.3354883})"));

  Json n = Msg(R"({"a":{"b":1,"c":[1,2,3]}})");
  EXPECT_TRUE(RemovePath(&n, "a.b"));
  EXPECT_TRUE(RemovePath(&n, "a.c[1]"));
  EXPECT_EQ(n, Msg(R"({"a":{"c":[1,3]}})"));
  EXPECT_FALSE(RemovePath(&n, "a.b"));
  EXPECT_FALSE(RemovePath(&n, "a.c[5]"));
  EXPECT_FALSE(RemovePath(&n, "x.y"));
  EXPECT_FALSE(RemovePath(&n, "a."));
}

}  // namespace
}  // namespace sluice::iotsql
