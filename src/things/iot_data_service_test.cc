#include "things/iot_data_service.h"

#include "things/shadow_document.h"

#include <stdlib.h>

#include <filesystem>
#include <string>

#include <gtest/gtest.h>

#include "common/strings.h"

namespace sluice::things {
namespace {

using Json = nlohmann::json;

constexpr int64_t kNowSeconds = 1700000000;

class IotDataServiceTest : public ::testing::Test {
 protected:
  void SetUp() override {
    char tmpl[] = "/tmp/sluice-iotdata-test-XXXXXX";
    ASSERT_NE(mkdtemp(tmpl), nullptr);
    dir_ = tmpl;
    auto r = ThingRegistry::Open(dir_ + "/things.db", &clock_, "us-east-1", "123456789012");
    ASSERT_TRUE(r.ok()) << r.status().ToString();
    registry_ = std::move(r).value();
    service_ = std::make_unique<IotDataService>(registry_.get());
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
    return service_->Handle(req, ctx);
  }
  static Json Body(const HttpResponse& r) { return Json::parse(r.body, nullptr, false); }
  static void ExpectError(const HttpResponse& r, int status, const std::string& code) {
    EXPECT_EQ(r.status, status) << r.body;
    std::string header;
    for (const auto& [k, v] : r.headers) {
      if (k == "x-amzn-ErrorType") header = v;
    }
    EXPECT_EQ(header, code) << r.body;
    Json b = Body(r);
    EXPECT_EQ(b.value("__type", ""), code) << r.body;
    EXPECT_FALSE(b.value("message", "").empty()) << r.body;
  }

  FakeClock clock_{kNowSeconds * 1000000};
  std::string dir_;
  std::unique_ptr<ThingRegistry> registry_;
  std::unique_ptr<IotDataService> service_;
};

TEST_F(IotDataServiceTest, SigningName) { EXPECT_EQ(service_->signing_name(), "iotdata"); }

TEST_F(IotDataServiceTest, UpdateGetDeleteClassicShadow) {
  ExpectError(Call("GET", "/things/lamp/shadow"), 404, "ResourceNotFoundException");
  EXPECT_EQ(Body(Call("GET", "/things/lamp/shadow"))["message"],
            "No shadow exists with name: 'lamp'");

  HttpResponse r = Call("POST", "/things/lamp/shadow",
                        R"({"state":{"desired":{"on":true,"color":{"r":1}}},"clientToken":"ct"})");
  ASSERT_EQ(r.status, 200) << r.body;
  Json acc = Body(r);
  EXPECT_EQ(acc, Json::parse(R"({"state":{"desired":{"on":true,"color":{"r":1}}},
      "metadata":{"desired":{"on":{"timestamp":1700000000},"color":{"r":{"timestamp":1700000000}}}},
      "version":1,"timestamp":1700000000,"clientToken":"ct"})"));

  clock_.AdvanceSeconds(5);
  r = Call("POST", "/things/lamp/shadow", R"({"state":{"reported":{"on":false}},"version":1})");
  ASSERT_EQ(r.status, 200) << r.body;
  EXPECT_EQ(Body(r)["version"], 2);

  r = Call("GET", "/things/lamp/shadow");
  ASSERT_EQ(r.status, 200) << r.body;
  Json doc = Body(r);
  EXPECT_EQ(doc["state"]["delta"], Json::parse(R"({"on":true,"color":{"r":1}})"));
  EXPECT_EQ(doc["metadata"]["reported"]["on"]["timestamp"], kNowSeconds + 5);
  EXPECT_EQ(doc["version"], 2);
  EXPECT_EQ(doc["timestamp"], kNowSeconds + 5);

  r = Call("DELETE", "/things/lamp/shadow");
  ASSERT_EQ(r.status, 200) << r.body;
  EXPECT_EQ(Body(r), Json({{"version", 2}, {"timestamp", kNowSeconds + 5}}));
  ExpectError(Call("GET", "/things/lamp/shadow"), 404, "ResourceNotFoundException");
  ExpectError(Call("DELETE", "/things/lamp/shadow"), 404, "ResourceNotFoundException");
}

TEST_F(IotDataServiceTest, NamedShadows) {
  ASSERT_EQ(Call("POST", "/things/dev/shadow?name=cfg", R"({"state":{"reported":{"a":1}}})").status,
            200);
  ExpectError(Call("GET", "/things/dev/shadow"), 404, "ResourceNotFoundException");
  HttpResponse r = Call("GET", "/things/dev/shadow?name=cfg");
  ASSERT_EQ(r.status, 200) << r.body;
  EXPECT_EQ(Body(r)["state"]["reported"]["a"], 1);
  EXPECT_EQ(Body(Call("GET", "/things/dev/shadow?name=other"))["message"],
            "No shadow exists with name: 'dev~other'");
  ASSERT_EQ(Call("POST", "/things/dev/shadow?name=aux", R"({"state":{"reported":{"a":2}}})").status,
            200);
  ASSERT_EQ(Call("POST", "/things/dev/shadow", R"({"state":{"reported":{"a":3}}})").status, 200);

  r = Call("GET", "/api/things/shadow/ListNamedShadowsForThing/dev?pageSize=1");
  ASSERT_EQ(r.status, 200) << r.body;
  Json page = Body(r);
  EXPECT_EQ(page["results"], Json::array({"aux"}));
  EXPECT_EQ(page["timestamp"], kNowSeconds);
  ASSERT_TRUE(page.contains("nextToken"));
  r = Call("GET", "/api/things/shadow/ListNamedShadowsForThing/dev?nextToken=" +
                      UriEncode(page["nextToken"].get<std::string>(), false));
  page = Body(r);
  EXPECT_EQ(page["results"], Json::array({"cfg"}));
  EXPECT_FALSE(page.contains("nextToken"));
  ExpectError(Call("GET", "/api/things/shadow/ListNamedShadowsForThing/dev?pageSize=0"), 400,
              "InvalidRequestException");
  ExpectError(Call("GET", "/api/things/shadow/ListNamedShadowsForThing/dev?pageSize=101"), 400,
              "InvalidRequestException");

  ASSERT_EQ(Call("DELETE", "/things/dev/shadow?name=cfg").status, 200);
  EXPECT_EQ(Body(Call("GET", "/things/dev/shadow"))["state"]["reported"]["a"], 3);
  ExpectError(Call("GET", "/things/dev/shadow?name="), 400, "InvalidRequestException");
  ExpectError(Call("GET", "/things/dev/shadow?name=" + std::string(65, 'n')), 400,
              "InvalidRequestException");
}

TEST_F(IotDataServiceTest, ErrorClasses) {
  // Conflict.
  ASSERT_EQ(Call("POST", "/things/t/shadow", R"({"state":{"desired":{"a":1}}})").status, 200);
  ExpectError(Call("POST", "/things/t/shadow", R"({"state":{"desired":{"a":2}},"version":7})"), 409,
              "ConflictException");
  EXPECT_EQ(Body(Call("GET", "/things/t/shadow"))["state"]["desired"]["a"], 1);
  // Too large: the request state, then the body itself.
  std::string big(shadow::kMaxStateBytes, 'x');
  ExpectError(
      Call("POST", "/things/t/shadow", Json({{"state", {{"desired", {{"a", big}}}}}}).dump()), 413,
      "RequestEntityTooLargeException");
  ExpectError(Call("POST", "/things/t/shadow", std::string(IotDataService::kMaxBodyBytes + 1, ' ')),
              413, "RequestEntityTooLargeException");
  // Encoding.
  ExpectError(Call("POST", "/things/t/shadow", "{\"state\":{\"desired\":{\"a\":\"\xff\"}}}"), 415,
              "UnsupportedDocumentEncodingException");
  // Invalid requests.
  ExpectError(Call("POST", "/things/t/shadow", "{"), 400, "InvalidRequestException");
  ExpectError(Call("POST", "/things/t/shadow", ""), 400, "InvalidRequestException");
  ExpectError(Call("POST", "/things/t/shadow", R"({"desired":{}})"), 400,
              "InvalidRequestException");
  ExpectError(Call("POST", "/things/t/shadow", R"({"state":{"desired":[1]}})"), 400,
              "InvalidRequestException");
  ExpectError(Call("POST", "/things/t/shadow", R"({"state":{},"version":"x"})"), 400,
              "InvalidRequestException");
  ExpectError(Call("GET", "/things/bad%20name/shadow"), 400, "InvalidRequestException");
  // Routing.
  ExpectError(Call("PUT", "/things/t/shadow"), 405, "MethodNotAllowedException");
  ExpectError(Call("POST", "/topics/a"), 404, "UnknownOperationException");
  EXPECT_EQ(Body(Call("GET", "/things/t/shadow"))["version"], 1);
}

}  // namespace
}  // namespace sluice::things
