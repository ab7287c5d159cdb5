#include "things/iot_service.h"

#include <stdlib.h>

#include <filesystem>
#include <string>

#include <gtest/gtest.h>

#include "common/strings.h"

namespace sluice::things {
namespace {

using Json = nlohmann::json;

class IotServiceTest : public ::testing::Test {
 protected:
  void SetUp() override {
    char tmpl[] = "/tmp/sluice-iot-test-XXXXXX";
    ASSERT_NE(mkdtemp(tmpl), nullptr);
    dir_ = tmpl;
    auto r = ThingRegistry::Open(dir_ + "/things.db", &clock_, "us-east-1", "123456789012");
    ASSERT_TRUE(r.ok()) << r.status().ToString();
    registry_ = std::move(r).value();
    service_ = std::make_unique<IotService>(registry_.get());
  }
  void TearDown() override {
    service_.reset();
    registry_.reset();
    std::filesystem::remove_all(dir_);
  }

  HttpResponse Call(const std::string& method, const std::string& target,
                    const std::string& body = "") {
    HttpRequest req;
    req.method = method;
    req.target = target;
    req.body = body;
    RequestContext ctx;
    ctx.request_id = "req-1";
    return service_->Handle(req, ctx);
  }
  static Json Body(const HttpResponse& r) {
    return r.body.empty() ? Json() : Json::parse(r.body, nullptr, false);
  }
  static std::string ErrorType(const HttpResponse& r) {
    for (const auto& [k, v] : r.headers) {
      if (k == "x-amzn-ErrorType") return v;
    }
    return "";
  }
  // Asserts an error response whose header and body agree on `code`.
  static void ExpectError(const HttpResponse& r, int status, const std::string& code) {
    EXPECT_EQ(r.status, status) << r.body;
    EXPECT_EQ(ErrorType(r), code) << r.body;
    Json b = Body(r);
    EXPECT_EQ(b.value("__type", ""), code) << r.body;
    EXPECT_FALSE(b.value("message", "").empty()) << r.body;
  }

  FakeClock clock_{int64_t{1700000000} * 1000000};
  std::string dir_;
  std::unique_ptr<ThingRegistry> registry_;
  std::unique_ptr<IotService> service_;
};

TEST_F(IotServiceTest, SigningName) { EXPECT_EQ(service_->signing_name(), "execute-api"); }

TEST_F(IotServiceTest, CreateDescribeUpdateDelete) {
  HttpResponse r =
      Call("POST", "/things/pump-1",
           R"({"thingTypeName":"pump","attributePayload":{"attributes":{"site":"n1"}}})");
  ASSERT_EQ(r.status, 200) << r.body;
  Json created = Body(r);
  EXPECT_EQ(created["thingName"], "pump-1");
  EXPECT_EQ(created["thingArn"], "arn:aws:iot:us-east-1:123456789012:thing/pump-1");
  EXPECT_EQ(created["thingId"].get<std::string>().size(), 36u);
  EXPECT_EQ(created.size(), 3u);

  // Same config again is idempotent.
  r = Call("POST", "/things/pump-1",
           R"({"thingTypeName":"pump","attributePayload":{"attributes":{"site":"n1"}}})");
  ASSERT_EQ(r.status, 200) << r.body;
  EXPECT_EQ(Body(r)["thingId"], created["thingId"]);

  r = Call("GET", "/things/pump-1");
  ASSERT_EQ(r.status, 200) << r.body;
  EXPECT_EQ(Body(r), Json({{"defaultClientId", "pump-1"},
                           {"thingName", "pump-1"},
                           {"thingId", created["thingId"]},
                           {"thingArn", created["thingArn"]},
                           {"thingTypeName", "pump"},
                           {"attributes", {{"site", "n1"}}},
                           {"version", 1}}));

  r = Call("PATCH", "/things/pump-1",
           R"({"attributePayload":{"attributes":{"floor":"2"},"merge":true},"expectedVersion":1})");
  ASSERT_EQ(r.status, 200) << r.body;
  EXPECT_EQ(Body(r), Json::object());
  Json d = Body(Call("GET", "/things/pump-1"));
  EXPECT_EQ(d["attributes"], Json({{"site", "n1"}, {"floor", "2"}}));
  EXPECT_EQ(d["version"], 2);

  r = Call("PATCH", "/things/pump-1", R"({"removeThingType":true})");
  ASSERT_EQ(r.status, 200) << r.body;
  d = Body(Call("GET", "/things/pump-1"));
  EXPECT_FALSE(d.contains("thingTypeName"));
  EXPECT_EQ(d["version"], 3);

  r = Call("DELETE", "/things/pump-1?expectedVersion=3");
  ASSERT_EQ(r.status, 200) << r.body;
  ExpectError(Call("GET", "/things/pump-1"), 404, "ResourceNotFoundException");
  // Deleting again succeeds, as in AWS.
  EXPECT_EQ(Call("DELETE", "/things/pump-1").status, 200);
}

TEST_F(IotServiceTest, CreateWithEmptyBodyAndDifferentConfigConflict) {
  ASSERT_EQ(Call("POST", "/things/a").status, 200);
  Json d = Body(Call("GET", "/things/a"));
  EXPECT_EQ(d["attributes"], Json::object());
  HttpResponse r = Call("POST", "/things/a", R"({"attributePayload":{"attributes":{"k":"v"}}})");
  ExpectError(r, 409, "ResourceAlreadyExistsException");
  Json b = Body(r);
  EXPECT_EQ(b["resourceId"], d["thingId"]);
  EXPECT_EQ(b["resourceArn"], d["thingArn"]);
}

TEST_F(IotServiceTest, VersionConflicts) {
  ASSERT_EQ(Call("POST", "/things/v").status, 200);
  ExpectError(Call("PATCH", "/things/v", R"({"expectedVersion":5})"), 409,
              "VersionConflictException");
  ExpectError(Call("DELETE", "/things/v?expectedVersion=2"), 409, "VersionConflictException");
  EXPECT_EQ(Body(Call("GET", "/things/v"))["version"], 1);
}

TEST_F(IotServiceTest, InvalidRequests) {
  ExpectError(Call("POST", "/things/bad%20name"), 400, "InvalidRequestException");
  ExpectError(Call("POST", "/things/" + std::string(129, 'a')), 400, "InvalidRequestException");
  ExpectError(Call("GET", "/things/a%2Fb"), 400, "InvalidRequestException");
  ExpectError(Call("POST", "/things/x", "not json"), 400, "InvalidRequestException");
  ExpectError(Call("POST", "/things/x", "[1]"), 400, "InvalidRequestException");
  ExpectError(Call("POST", "/things/x", R"({"thingTypeName":7})"), 400, "InvalidRequestException");
  ExpectError(Call("POST", "/things/x", R"({"thingTypeName":"bad type"})"), 400,
              "InvalidRequestException");
  ExpectError(Call("POST", "/things/x", R"({"attributePayload":{"attributes":{"k":1}}})"), 400,
              "InvalidRequestException");
  ExpectError(Call("POST", "/things/x", R"({"attributePayload":{"attributes":{"k":"a b"}}})"), 400,
              "InvalidRequestException");
  ExpectError(Call("POST", "/things/x", R"({"attributePayload":{"attributes":{"":"v"}}})"), 400,
              "InvalidRequestException");
  ExpectError(Call("POST", "/things/x", R"({"attributePayload":[]})"), 400,
              "InvalidRequestException");
  ExpectError(Call("POST", "/things/x", R"({"billingGroupName":"bg"})"), 400,
              "InvalidRequestException");
  // Quota: three attributes without a thing type.
  ExpectError(Call("POST", "/things/x",
                   R"({"attributePayload":{"attributes":{"a":"1","b":"2","c":"3","d":"4"}}})"),
              400, "InvalidRequestException");
  EXPECT_EQ(
      Call(
          "POST", "/things/x",
          R"({"thingTypeName":"t","attributePayload":{"attributes":{"a":"1","b":"2","c":"3","d":"4"}}})")
          .status,
      200);
  ExpectError(Call("PATCH", "/things/x", R"({"thingTypeName":"t","removeThingType":true})"), 400,
              "InvalidRequestException");
  ExpectError(Call("PATCH", "/things/x", R"({"expectedVersion":"1"})"), 400,
              "InvalidRequestException");
  ExpectError(Call("PATCH", "/things/x", R"({"removeThingType":"yes"})"), 400,
              "InvalidRequestException");
  ExpectError(Call("DELETE", "/things/x?expectedVersion=abc"), 400, "InvalidRequestException");
  ExpectError(Call("GET", "/things/%zz"), 400, "InvalidRequestException");
  ExpectError(Call("PATCH", "/things/missing", "{}"), 404, "ResourceNotFoundException");
}

TEST_F(IotServiceTest, UnknownRoutes) {
  ExpectError(Call("GET", "/rules"), 404, "UnknownOperationException");
  ExpectError(Call("PUT", "/things/x"), 405, "MethodNotAllowedException");
}

TEST_F(IotServiceTest, ListThingsPagingAndFilters) {
  for (int i = 0; i < 5; ++i) {
    std::string body = R"({"attributePayload":{"attributes":{"site":")" +
                       std::string(i < 3 ? "north-" : "south-") + std::to_string(i) + R"("}}})";
    ASSERT_EQ(Call("POST", "/things/t" + std::to_string(i), body).status, 200);
  }
  HttpResponse r = Call("GET", "/things?maxResults=2");
  ASSERT_EQ(r.status, 200) << r.body;
  Json page = Body(r);
  ASSERT_EQ(page["things"].size(), 2u);
  Json first = page["things"][0];
  EXPECT_EQ(first, Json({{"thingName", "t0"},
                         {"thingArn", "arn:aws:iot:us-east-1:123456789012:thing/t0"},
                         {"attributes", {{"site", "north-0"}}},
                         {"version", 1}}));
  std::vector<std::string> names;
  std::string token = page["nextToken"];
  for (const Json& t : page["things"]) names.push_back(t["thingName"]);
  while (!token.empty()) {
    std::string target = "/things?maxResults=2&nextToken=" + UriEncode(token, false);
    page = Body(Call("GET", target));
    for (const Json& t : page["things"]) names.push_back(t["thingName"]);
    token = page.value("nextToken", "");
  }
  EXPECT_EQ(names, (std::vector<std::string>{"t0", "t1", "t2", "t3", "t4"}));

  page = Body(
      Call("GET", "/things?attributeName=site&attributeValue=north&usePrefixAttributeValue=true"));
  EXPECT_EQ(page["things"].size(), 3u);
  EXPECT_FALSE(page.contains("nextToken"));
  page = Body(Call("GET", "/things?attributeName=site&attributeValue=south-4"));
  ASSERT_EQ(page["things"].size(), 1u);
  EXPECT_EQ(page["things"][0]["thingName"], "t4");
  page = Body(Call("GET", "/things?thingTypeName=none"));
  EXPECT_EQ(page["things"], Json::array());

  ExpectError(Call("GET", "/things?maxResults=0"), 400, "InvalidRequestException");
  ExpectError(Call("GET", "/things?maxResults=251"), 400, "InvalidRequestException");
  ExpectError(Call("GET", "/things?maxResults=x"), 400, "InvalidRequestException");
  ExpectError(Call("GET", "/things?attributeValue=x"), 400, "InvalidRequestException");
  ExpectError(Call("GET", "/things?nextToken=bogus"), 400, "InvalidRequestException");
  ExpectError(Call("GET", "/things?usePrefixAttributeValue=maybe"), 400, "InvalidRequestException");
  ExpectError(Call("GET", "/things?attributeName=a%20b"), 400, "InvalidRequestException");
}

}  // namespace
}  // namespace sluice::things
