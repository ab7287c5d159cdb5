#include "api/router.h"

#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include "api/errors.h"

namespace sluice {
namespace {

class Keys : public CredentialProvider {
 public:
  std::optional<Credential> Lookup(const std::string& id) const override {
    if (id == "AKID") return Credential{"AKID", "secret", ""};
    return std::nullopt;
  }
};

class EchoService : public ApiService {
 public:
  explicit EchoService(std::string name) : name_(std::move(name)) {}
  std::string signing_name() const override { return name_; }
  HttpResponse Handle(const HttpRequest& req, const RequestContext& ctx) override {
    ++calls;
    return HttpResponse::Json(200, "{\"service\":\"" + ctx.auth.service + "\"}");
  }
  int calls = 0;

 private:
  std::string name_;
};

struct Fixture : ::testing::Test {
  Keys keys;
  FakeClock clock{1440938160LL * 1000000};
  SigV4Verifier verifier{&keys, &clock};
  Router router{&verifier};
  EchoService* iota = nullptr;
  EchoService* s3 = nullptr;

  void SetUp() override {
    auto a = std::make_unique<EchoService>("iotanalytics");
    auto b = std::make_unique<EchoService>("s3");
    iota = a.get();
    s3 = b.get();
    router.RegisterService(std::move(a));
    router.RegisterService(std::move(b));
    router.RegisterPublic("health", [](const HttpRequest&) {
      return HttpResponse::Json(200, "{\"status\":\"ok\"}");
    });
  }

  HttpRequest Signed(const std::string& service, const std::string& target) {
    HttpRequest req;
    req.method = "GET";
    req.target = target;
    req.headers = {{"Host", "127.0.0.1:8480"}};
    HttpRequestView view{req.method, req.target, req.headers, &req.body};
    SignOptions o;
    o.service = service;
    o.now_seconds = clock.NowSeconds();
    o.s3_style = service == "s3";
    SignRequest(&view, Credential{"AKID", "secret", ""}, o);
    req.headers = view.headers;
    return req;
  }
};

TEST_F(Fixture, RoutesByCredentialScope) {
  HttpRequest a = Signed("iotanalytics", "/channels");
  HttpResponse ra = router.Route(a);
  EXPECT_EQ(ra.status, 200);
  EXPECT_EQ(iota->calls, 1);
  EXPECT_EQ(s3->calls, 0);
  HttpRequest b = Signed("s3", "/bucket/key");
  EXPECT_EQ(router.Route(b).status, 200);
  EXPECT_EQ(s3->calls, 1);
}

TEST_F(Fixture, EveryResponseHasRequestId) {
  HttpRequest unsigned_req;
  unsigned_req.method = "GET";
  unsigned_req.target = "/channels";
  HttpResponse r = router.Route(unsigned_req);
  bool found = false;
  for (auto& [k, v] : r.headers) found |= (k == "x-amzn-RequestId" && v.size() == 36);
  EXPECT_TRUE(found);
  EXPECT_EQ(r.status, 403);
  EXPECT_EQ(nlohmann::json::parse(r.body)["__type"], "MissingAuthenticationTokenException");
  EXPECT_EQ(iota->calls, 0);
}

TEST_F(Fixture, UnknownServiceIsRejectedAfterAuth) {
  HttpRequest a = Signed("dynamodb", "/");
  HttpResponse r = router.Route(a);
  EXPECT_EQ(r.status, 400);
  EXPECT_EQ(nlohmann::json::parse(r.body)["__type"], "UnknownServiceException");
}

TEST_F(Fixture, PublicPrefixNeedsNoAuth) {
  HttpRequest h;
  h.method = "GET";
  h.target = "/_sluice/health";
  EXPECT_EQ(router.Route(h).status, 200);
  h.target = "/_sluice/nope";
  EXPECT_EQ(router.Route(h).status, 404);
}

TEST(ErrorsTest, AlreadyExistsCarriesResource) {
  HttpResponse r = JsonErrorResponse(Status::AlreadyExists("dup").WithResource("c1", "arn:c1"));
  EXPECT_EQ(r.status, 409);
  auto j = nlohmann::json::parse(r.body);
  EXPECT_EQ(j["__type"], "ResourceAlreadyExistsException");
  EXPECT_EQ(j["resourceId"], "c1");
  EXPECT_EQ(j["resourceArn"], "arn:c1");
  EXPECT_EQ(JsonErrorResponse(Status::LimitExceeded("x")).status, 410);
  EXPECT_EQ(JsonErrorResponse(Status::NotFound("x")).status, 404);
  EXPECT_EQ(JsonErrorResponse(Status::InvalidArgument("x")).status, 400);
  EXPECT_EQ(JsonErrorResponse(Status(StatusCode::kInvalidSignature, "x")).status, 403);
}

}  // namespace
}  // namespace sluice
