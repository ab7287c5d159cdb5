#include "pipeline/activities.h"

#include <gtest/gtest.h>

#include "common/strings.h"
#include "pipeline/test_fakes.h"

namespace sluice::pipeline {
namespace {

using testing::FakeLambdaInvoker;
using testing::FakeThingLookup;

Json J(const char* text) { return Json::parse(text); }

std::vector<Json> Apply(const char* activity, std::vector<Json> in, ActivityContext& ctx) {
  auto out = ApplyActivity(J(activity), std::move(in), ctx);
  EXPECT_TRUE(out.ok()) << out.status().ToString();
  return out.ok() ? *out : std::vector<Json>{};
}

// --- table-driven single-message cases ------------------------------------------------

struct Case {
  const char* title;
  const char* activity;
  const char* input;
  const char* expected;  // nullptr: dropped
  const char* drop_reason;
};

const Case kCases[] = {
    {"AddAttributesUserGuide",
     R"({"addAttributes":{"name":"a","attributes":{"device.id":"id","device.coord[0]":"lat",
         "device.coord[1]":"lon"},"next":"b"}})",
     R"({"device":{"id":"device-123","coord":[47.6,-122.3]}})",
     R"({"device":{"id":"device-123","coord":[47.6,-122.3]},"id":"device-123","lat":47.6,
         "lon":-122.3})",
     nullptr},
    {"AddAttributesMissingPathAddsNothing",
     R"({"addAttributes":{"name":"a","attributes":{"device.serial":"serial",
         "device.coord[5]":"z"}}})",
     R"({"device":{"coord":[1]}})", R"({"device":{"coord":[1]}})", nullptr},
    {"AddAttributesCopiesObjects",
     R"({"addAttributes":{"name":"a","attributes":{"device":"copy"}}})", R"({"device":{"x":1}})",
     R"({"device":{"x":1},"copy":{"x":1}})", nullptr},
    {"AddAttributesLiteralDottedKey", R"({"addAttributes":{"name":"a","attributes":{"a.b":"c"}}})",
     R"({"a.b":5})", R"({"a.b":5,"c":5})", nullptr},
    {"RemoveAttributesUserGuide", R"({"removeAttributes":{"name":"r","attributes":["device"]}})",
     R"({"device":{"id":"device-123","coord":[47.6,-122.3]},"id":"device-123","lat":47.6,
         "lon":-122.3})",
     R"({"id":"device-123","lat":47.6,"lon":-122.3})", nullptr},
    {"RemoveAttributesNestedPath",
     R"({"removeAttributes":{"name":"r","attributes":["device.coord[0]","device.id"]}})",
     R"({"device":{"id":"x","coord":[1,2]},"t":1})", R"({"device":{"coord":[2]},"t":1})", nullptr},
    {"RemoveAttributesAbsentIsFine", R"({"removeAttributes":{"name":"r","attributes":["nope"]}})",
     R"({"t":1})", R"({"t":1})", nullptr},
    {"RemoveAttributesLeavingNothingDrops",
     R"({"removeAttributes":{"name":"r","attributes":["a","b"]}})", R"({"a":1,"b":2})", nullptr,
     kDropEmptyAfterRemove},
    {"SelectAttributesUserGuide",
     R"({"selectAttributes":{"name":"s","attributes":["device.temp","device.hum","light"]}})",
     R"({"device":{"id":"device-123","coord":[47.6,-122.3],"temp":50,"hum":40},"light":90})",
     R"({"temp":50,"hum":40,"light":90})", nullptr},
    {"SelectAttributesIndexUsesName",
     R"({"selectAttributes":{"name":"s","attributes":["device.coord[1]"]}})",
     R"({"device":{"coord":[1,2]}})", R"({"coord":2})", nullptr},
    {"SelectAttributesNothingSelectedDrops",
     R"({"selectAttributes":{"name":"s","attributes":["x.y"]}})", R"({"a":1})", nullptr,
     kDropEmptyAfterSelect},
    {"DeviceRegistryEnrich",
     R"({"deviceRegistryEnrich":{"name":"e","attribute":"metadata","thingName":"device.thingName",
         "roleArn":"arn:aws:iam::1:role/r"}})",
     R"({"temp":50,"device":{"thingName":"my-thing"}})",
     R"({"temp":50,"device":{"thingName":"my-thing"},"metadata":{"thingName":"my-thing",
         "version":1,"attributes":{}}})",
     nullptr},
    {"DeviceRegistryEnrichUnknownThingKeepsMessage",
     R"({"deviceRegistryEnrich":{"name":"e","attribute":"metadata","thingName":"device.thingName",
         "roleArn":"r"}})",
     R"({"device":{"thingName":"ghost"}})", R"({"device":{"thingName":"ghost"}})", nullptr},
    {"DeviceRegistryEnrichNoThingNameKeepsMessage",
     R"({"deviceRegistryEnrich":{"name":"e","attribute":"metadata","thingName":"device.thingName",
         "roleArn":"r"}})",
     R"({"device":{"thingName":7}})", R"({"device":{"thingName":7}})", nullptr},
    {"DeviceShadowEnrich",
     R"({"deviceShadowEnrich":{"name":"e","attribute":"shadow","thingName":"thing",
         "roleArn":"r"}})",
     R"({"thing":"my-thing"})",
     R"({"thing":"my-thing","shadow":{"state":{"reported":{"on":true}},"version":3}})", nullptr},
    {"DeviceShadowEnrichNoShadow",
     R"({"deviceShadowEnrich":{"name":"e","attribute":"shadow","thingName":"thing",
         "roleArn":"r"}})",
     R"({"thing":"other"})", R"({"thing":"other"})", nullptr},
    {"NonObjectDroppedAsInvalidJson", R"({"addAttributes":{"name":"a","attributes":{"x":"y"}}})",
     R"([1,2,3])", nullptr, kDropInvalidJson},
    {"StringMessageDroppedAsInvalidJson", R"({"removeAttributes":{"name":"r","attributes":["x"]}})",
     R"("bm90IGpzb24=")", nullptr, kDropInvalidJson},
};

std::string CaseName(const ::testing::TestParamInfo<Case>& info) { return info.param.title; }

class ActivityCaseFixture : public ::testing::TestWithParam<Case> {};

TEST_P(ActivityCaseFixture, WithThings) {
  const Case& c = GetParam();
  FakeThingLookup things;
  things.AddThing("my-thing", J(R"({"thingName":"my-thing","version":1,"attributes":{}})"));
  things.AddShadow("my-thing", J(R"({"state":{"reported":{"on":true}},"version":3})"));
  ActivityContext ctx;
  ctx.things = &things;
  std::vector<Json> out = Apply(c.activity, {J(c.input)}, ctx);
  if (c.expected == nullptr) {
    EXPECT_TRUE(out.empty());
    EXPECT_EQ(ctx.dropped[c.drop_reason], 1u);
  } else {
    ASSERT_EQ(out.size(), 1u);
    EXPECT_EQ(out[0], J(c.expected)) << out[0].dump();
  }
}

INSTANTIATE_TEST_SUITE_P(UserGuide, ActivityCaseFixture, ::testing::ValuesIn(kCases), CaseName);

// --- filter and math (AWS IoT SQL) ----------------------------------------------------

TEST(FilterActivity, UserGuideExpression) {
  ActivityContext ctx;
  std::vector<Json> in = {J(R"({"temp":45,"hum":10})"),    J(R"({"temp":45,"hum":30})"),
                          J(R"({"temp":30,"hum":10})"),    J(R"({"hum":10})"),
                          J(R"({"temp":"hot","hum":10})"), J(R"({"temp":41,"hum":19.5})")};
  auto out = Apply(R"({"filter":{"name":"f","filter":"temp > 40 AND hum < 20"}})", in, ctx);
  ASSERT_EQ(out.size(), 2u);
  EXPECT_EQ(out[0], in[0]);
  EXPECT_EQ(out[1], in[5]);
  EXPECT_EQ(ctx.dropped[kDropFiltered], 4u);
}

TEST(FilterActivity, MissingAttributeIsFalse) {
  ActivityContext ctx;
  auto out = Apply(R"({"filter":{"name":"f","filter":"device.temp > 40"}})",
                   {J(R"({"device":{}})"), J(R"({"device":{"temp":50}})")}, ctx);
  ASSERT_EQ(out.size(), 1u);
  EXPECT_EQ(out[0]["device"]["temp"], 50);
  EXPECT_EQ(ctx.dropped[kDropFiltered], 1u);
}

TEST(FilterActivity, BadExpressionDoesNotCompile) {
  auto c = CompiledActivity::Compile(J(R"({"filter":{"name":"f","filter":"temp > "}})"));
  ASSERT_FALSE(c.ok());
  EXPECT_EQ(c.status().code(), StatusCode::kInvalidArgument);
  EXPECT_NE(c.status().message().find("filter activity 'f'"), std::string::npos)
      << c.status().message();
}

TEST(MathActivity, RunPipelineActivityExample) {
  ActivityContext ctx;
  auto out = Apply(
      R"({"math":{"name":"MyMathActivity","math":"((temp - 32) * 5.0) / 9.0","attribute":"tempC"}})",
      {J(R"({"humidity":52,"temp":68})"), J(R"({"humidity":52,"temp":32})")}, ctx);
  ASSERT_EQ(out.size(), 2u);
  EXPECT_EQ(EncodePayload(out[0]), R"({"humidity":52,"temp":68,"tempC":20})");
  EXPECT_EQ(EncodePayload(out[1]), R"({"humidity":52,"temp":32,"tempC":0})");
}

TEST(MathActivity, UserGuideExampleAndUndefined) {
  ActivityContext ctx;
  auto out = Apply(R"({"math":{"name":"m","math":"(tempF - 32) / 2","attribute":"tempC"}})",
                   {J(R"({"tempF":50})"), J(R"({"other":1})"), J(R"({"tempF":"abc"})")}, ctx);
  ASSERT_EQ(out.size(), 3u);
  EXPECT_EQ(out[0], J(R"({"tempF":50,"tempC":9})"));
  EXPECT_EQ(out[1], J(R"({"other":1})"));  // Undefined: attribute not set, message kept
  EXPECT_FALSE(out[2].contains("tempC"));
  EXPECT_TRUE(ctx.dropped.empty());
}

TEST(MathActivity, FractionalResultStaysDouble) {
  ActivityContext ctx;
  // (SQL 2016-03-23: 4.0 is the Int 4 and Int / Int is Int, so use a real fraction.)
  auto out = Apply(R"({"math":{"name":"m","math":"a * 1.5 + 0.25","attribute":"r"}})",
                   {J(R"({"a":1})")}, ctx);
  ASSERT_EQ(out.size(), 1u);
  EXPECT_DOUBLE_EQ(out[0]["r"].get<double>(), 1.75);
}

// --- lambda ---------------------------------------------------------------------------

TEST(LambdaActivity, BatchesOfBatchSize) {
  FakeLambdaInvoker lambdas;
  ActivityContext ctx;
  ctx.lambdas = &lambdas;
  std::vector<Json> in;
  for (int i = 0; i < 7; ++i) in.push_back({{"i", i}});
  auto out = Apply(R"({"lambda":{"name":"l","lambdaName":"fn","batchSize":3}})", in, ctx);
  ASSERT_EQ(out.size(), 7u);
  EXPECT_EQ(out[6], J(R"({"i":6,"by":"fn"})"));
  EXPECT_EQ(lambdas.batch_sizes(), (std::vector<size_t>{3, 3, 1}));
}

TEST(LambdaActivity, DecodesNonJsonPayloads) {
  FakeLambdaInvoker lambdas;
  ActivityContext ctx;
  ctx.lambdas = &lambdas;
  Json raw = DecodePayload(std::string("\x01\x02 binary", 9));
  ASSERT_TRUE(raw.is_string());
  auto out = Apply(R"({"lambda":{"name":"l","lambdaName":"fn","batchSize":10}})", {raw}, ctx);
  ASSERT_EQ(out.size(), 1u);
  EXPECT_EQ(out[0]["decoded"], raw);
}

TEST(LambdaActivity, FailureDropsBatchRecordsOrigins) {
  FakeLambdaInvoker lambdas;
  lambdas.SetFailing(true);
  ActivityContext ctx;
  ctx.lambdas = &lambdas;
  std::vector<Json> in = {J(R"({"a":1})"), J(R"({"a":2})"), J(R"({"a":3})")};
  ctx.origins = {{10, 10, 100}, {12, 12, 101}, {13, 13, 102}};
  auto out = Apply(R"({"lambda":{"name":"l","lambdaName":"fn","batchSize":2}})", in, ctx);
  EXPECT_TRUE(out.empty());
  EXPECT_TRUE(ctx.origins.empty());
  EXPECT_EQ(ctx.dropped[kDropLambdaFailed], 3u);
  ASSERT_EQ(ctx.lambda_failures.size(), 2u);
  EXPECT_EQ(ctx.lambda_failures[0].activity_name, "l");
  EXPECT_EQ(ctx.lambda_failures[0].lambda_name, "fn");
  EXPECT_EQ(ctx.lambda_failures[0].message_count, 2u);
  ASSERT_TRUE(ctx.lambda_failures[0].origin.has_value());
  EXPECT_EQ(ctx.lambda_failures[0].origin->first_offset, 10u);
  EXPECT_EQ(ctx.lambda_failures[0].origin->last_offset, 12u);
  EXPECT_EQ(ctx.lambda_failures[1].origin->first_offset, 13u);
  EXPECT_NE(ctx.log.find("exited with status 1"), std::string::npos) << ctx.log;
}

TEST(LambdaActivity, NoInvokerConfiguredFails) {
  ActivityContext ctx;
  auto out =
      Apply(R"({"lambda":{"name":"l","lambdaName":"fn","batchSize":2}})", {J(R"({"a":1})")}, ctx);
  EXPECT_TRUE(out.empty());
  EXPECT_EQ(ctx.dropped[kDropLambdaFailed], 1u);
}

// --- compile errors, paths, origins -----------------------------------------------------

TEST(CompileActivity, Errors) {
  const char* bad[] = {
      R"({})",
      R"({"math":{"name":"m","math":"a"},"filter":{"name":"f","filter":"a"}})",
      R"({"teleport":{"name":"x"}})",
      R"({"math":{"math":"a","attribute":"b"}})",
      R"({"math":{"name":"m","math":"a"}})",
      R"({"lambda":{"name":"l","lambdaName":"fn","batchSize":0}})",
      R"({"lambda":{"name":"l","lambdaName":"fn","batchSize":1001}})",
      R"({"addAttributes":{"name":"a","attributes":{}}})",
      R"({"addAttributes":{"name":"a","attributes":{"a..b":"c"}}})",
      R"({"removeAttributes":{"name":"r","attributes":["a[x]"]}})",
      R"({"selectAttributes":{"name":"s","attributes":"a"}})",
      R"({"deviceShadowEnrich":{"name":"e","attribute":"s"}})",
  };
  for (const char* b : bad) {
    auto c = CompiledActivity::Compile(J(b));
    EXPECT_FALSE(c.ok()) << b;
    if (!c.ok()) EXPECT_EQ(c.status().code(), StatusCode::kInvalidArgument) << b;
  }
}

TEST(CompileActivity, ChannelAndDatastoreCannotBeApplied) {
  ActivityContext ctx;
  auto out = ApplyActivity(J(R"({"channel":{"name":"c","channelName":"ch"}})"), {}, ctx);
  ASSERT_FALSE(out.ok());
  EXPECT_EQ(out.status().code(), StatusCode::kInvalidArgument);
}

TEST(AttributePathTest, ParseFindRemove) {
  Json m = J(R"({"a":{"b":[{"c":1},{"c":[5,6]}]},"x":2})");
  struct P {
    const char* path;
    const char* value;  // nullptr: absent
  } cases[] = {{"a.b[0].c", "1"},   {"a.b[1].c[1]", "6"}, {"x", "2"},
               {"a.b[2]", nullptr}, {"x.y", nullptr},     {"a.b.c", nullptr}};
  for (const auto& c : cases) {
    auto p = AttributePath::Parse(c.path);
    ASSERT_TRUE(p.ok()) << c.path;
    const Json* v = p->Find(m);
    if (c.value == nullptr) {
      EXPECT_EQ(v, nullptr) << c.path;
    } else {
      ASSERT_NE(v, nullptr) << c.path;
      EXPECT_EQ(*v, J(c.value)) << c.path;
    }
  }
  for (const char* bad : {"", "a.", ".a", "a..b", "a[", "a[]", "a[-1]", "[0]", "a]b"}) {
    EXPECT_FALSE(AttributePath::Parse(bad).ok()) << bad;
  }
  auto p = AttributePath::Parse("a.b[1].c[0]");
  ASSERT_TRUE(p.ok());
  EXPECT_EQ(p->LastName(), "c");
  EXPECT_TRUE(p->Remove(m));
  EXPECT_EQ(m["a"]["b"][1]["c"], J("[6]"));
  EXPECT_FALSE(AttributePath::Parse("zz")->Remove(m));
}

TEST(Payloads, DecodeAndEncode) {
  EXPECT_EQ(DecodePayload(R"({"a":1})"), J(R"({"a":1})"));
  EXPECT_EQ(DecodePayload("[1]"), J("[1]"));
  Json raw = DecodePayload("not json {");
  ASSERT_TRUE(raw.is_string());
  EXPECT_EQ(raw.get<std::string>(), Base64Encode("not json {"));
  EXPECT_EQ(EncodePayload(J(R"({"b":"x","a":1})")), R"({"a":1,"b":"x"})");
}

// --- chains ---------------------------------------------------------------------------

TEST(ActivityChainTest, OrdersByNextNotListOrder) {
  Json def = J(R"({"activities":[
      {"datastore":{"name":"store","datastoreName":"ds"}},
      {"removeAttributes":{"name":"rm","attributes":["device"],"next":"store"}},
      {"channel":{"name":"src","channelName":"ch","next":"add"}},
      {"addAttributes":{"name":"add","attributes":{"device.id":"id"},"next":"rm"}}]})");
  auto chain = ActivityChain::Compile(def);
  ASSERT_TRUE(chain.ok()) << chain.status().ToString();
  EXPECT_EQ(chain->channel, "ch");
  EXPECT_EQ(chain->datastore, "ds");
  ASSERT_EQ(chain->steps.size(), 2u);
  EXPECT_EQ(chain->steps[0].name(), "add");
  EXPECT_EQ(chain->steps[1].name(), "rm");

  ActivityContext ctx;
  ctx.origins = {{0, 0, 1}, {1, 1, 2}, {2, 2, 3}, {3, 3, 4}};
  auto out = chain->Run({J(R"({"device":{"id":"d1"}})"), J(R"({"device":{}})"), J("5"),
                         J(R"({"device":{"id":"d4"},"t":1})")},
                        ctx);
  ASSERT_EQ(out.size(), 2u);
  EXPECT_EQ(out[0], J(R"({"id":"d1"})"));
  EXPECT_EQ(out[1], J(R"({"id":"d4","t":1})"));
  ASSERT_EQ(ctx.origins.size(), 2u);
  EXPECT_EQ(ctx.origins[0].first_offset, 0u);
  EXPECT_EQ(ctx.origins[1].first_offset, 3u);
  EXPECT_EQ(ctx.dropped[kDropEmptyAfterRemove], 1u);
  EXPECT_EQ(ctx.dropped[kDropInvalidJson], 1u);
}

TEST(ActivityChainTest, LambdaFirstDecodesThenRestApplies) {
  FakeLambdaInvoker lambdas;
  ActivityContext ctx;
  ctx.lambdas = &lambdas;
  auto chain = ActivityChain::Compile(J(R"({"activities":[
      {"channel":{"name":"c","channelName":"ch","next":"l"}},
      {"lambda":{"name":"l","lambdaName":"dec","batchSize":5,"next":"s"}},
      {"selectAttributes":{"name":"s","attributes":["by"],"next":"d"}},
      {"datastore":{"name":"d","datastoreName":"ds"}}]})"));
  ASSERT_TRUE(chain.ok()) << chain.status().ToString();
  auto out = chain->Run({DecodePayload("\xff\xfe raw")}, ctx);
  ASSERT_EQ(out.size(), 1u);
  EXPECT_EQ(out[0], J(R"({"by":"dec"})"));
}

TEST(ActivityChainTest, EndOfChainDropsNonObjectsAndEmpties) {
  auto chain = ActivityChain::Compile(J(R"({"activities":[
      {"channel":{"name":"c","channelName":"ch","next":"d"}},
      {"datastore":{"name":"d","datastoreName":"ds"}}]})"));
  ASSERT_TRUE(chain.ok());
  ActivityContext ctx;
  auto out = chain->Run({DecodePayload("garbage"), J("{}"), J(R"({"ok":true})")}, ctx);
  ASSERT_EQ(out.size(), 1u);
  EXPECT_EQ(ctx.dropped[kDropInvalidJson], 1u);
  EXPECT_EQ(ctx.dropped[kDropEmptyMessage], 1u);
}

TEST(ActivityChainTest, CompileErrors) {
  const char* bad[] = {
      R"({})",
      R"({"activities":[]})",
      R"({"activities":[{"datastore":{"name":"d","datastoreName":"ds"}}]})",
      R"({"activities":[{"channel":{"name":"c","channelName":"ch"}},
                        {"datastore":{"name":"d","datastoreName":"ds"}}]})",
      R"({"activities":[{"channel":{"name":"c","channelName":"ch","next":"zz"}},
                        {"datastore":{"name":"d","datastoreName":"ds"}}]})",
      R"({"activities":[{"channel":{"name":"c","channelName":"ch","next":"a"}},
                        {"addAttributes":{"name":"a","attributes":{"x":"y"},"next":"b"}},
                        {"addAttributes":{"name":"b","attributes":{"x":"y"},"next":"a"}},
                        {"datastore":{"name":"d","datastoreName":"ds"}}]})",
      R"({"activities":[{"channel":{"name":"c","channelName":"ch","next":"d"}},
                        {"channel":{"name":"c2","channelName":"ch","next":"d"}},
                        {"datastore":{"name":"d","datastoreName":"ds"}}]})",
      R"({"activities":[{"channel":{"name":"c","channelName":"ch","next":"f"}},
                        {"filter":{"name":"f","filter":"a >","next":"d"}},
                        {"datastore":{"name":"d","datastoreName":"ds"}}]})",
  };
  for (const char* b : bad) {
    auto c = ActivityChain::Compile(J(b));
    EXPECT_FALSE(c.ok()) << b;
  }
}

}  // namespace
}  // namespace sluice::pipeline
