// IotService: the AWS IoT control-plane subset Sluice serves (restJson1, SigV4 signing
// name "execute-api", boto3 client "iot"): CreateThing, DescribeThing, UpdateThing,
// DeleteThing, ListThings. Routes live in one RestRoutes table built in the constructor,
// so further operations (topic rules) are one Add() line and one handler each.
// Owns the wire shapes and request validation (model patterns and ranges); persistence
// and versioning are ThingRegistry's. Errors use the IoT model's exception names.
// Thread-safety: Handle() may run concurrently; the registry is thread-safe and the
// routing table is immutable after construction.
// Ownership: `registry` is not owned and must outlive the service.
#pragma once

#include <string>

#include <nlohmann/json.hpp>

#include "api/router.h"
#include "things/rest_routes.h"
#include "things/thing_registry.h"

namespace sluice::things {

class IotService final : public ApiService {
 public:
  static constexpr int kDefaultMaxResults = 50;
  static constexpr int kMaxMaxResults = 250;

  explicit IotService(ThingRegistry* registry);

  std::string signing_name() const override { return "execute-api"; }
  HttpResponse Handle(const HttpRequest& req, const RequestContext& ctx) override;

  struct Call;  // one request being handled (defined in the .cc)

 private:
  using Handler = HttpResponse (IotService::*)(Call&);

  HttpResponse CreateThing(Call& c);
  HttpResponse DescribeThing(Call& c);
  HttpResponse UpdateThing(Call& c);
  HttpResponse DeleteThing(Call& c);
  HttpResponse ListThings(Call& c);

  ThingRegistry* registry_;
  RestRoutes<Handler> routes_;
};

}  // namespace sluice::things
