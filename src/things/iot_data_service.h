// IotDataService: the AWS IoT data-plane subset Sluice serves (restJson1, SigV4 signing
// name "iotdata", boto3 client "iot-data"): GetThingShadow, UpdateThingShadow,
// DeleteThingShadow (classic shadow, or a named one with ?name=) and
// ListNamedShadowsForThing. Request and response bodies are the shadow documents
// themselves. Owns the wire rules (body size, encoding, JSON) and the iot-data error
// names (InvalidRequestException 400, ResourceNotFoundException 404, ConflictException
// 409, RequestEntityTooLargeException 413, UnsupportedDocumentEncodingException 415);
// the shadow algebra is shadow_document.h, persistence ThingRegistry.
// Thread-safety: Handle() may run concurrently (see IotService).
// Ownership: `registry` is not owned and must outlive the service.
#pragma once

#include <cstddef>
#include <string>

#include "api/router.h"
#include "things/rest_routes.h"
#include "things/thing_registry.h"

namespace sluice::things {

class IotDataService final : public ApiService {
 public:
  // Bodies beyond this are refused before parsing (the state limit is 8 KB; this leaves
  // room for whitespace and metadata a client might echo back).
  static constexpr size_t kMaxBodyBytes = 64 * 1024;
  static constexpr int kDefaultPageSize = 25;
  static constexpr int kMaxPageSize = 100;

  explicit IotDataService(ThingRegistry* registry);

  std::string signing_name() const override { return "iotdata"; }
  HttpResponse Handle(const HttpRequest& req, const RequestContext& ctx) override;

  struct Call;

 private:
  using Handler = HttpResponse (IotDataService::*)(Call&);

  HttpResponse GetThingShadow(Call& c);
  HttpResponse UpdateThingShadow(Call& c);
  HttpResponse DeleteThingShadow(Call& c);
  HttpResponse ListNamedShadowsForThing(Call& c);

  ThingRegistry* registry_;
  RestRoutes<Handler> routes_;
};

}  // namespace sluice::things
