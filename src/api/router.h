// Router: the single front door. Every request arrives here from the HTTP server.
//  - Paths under /_sluice/ are Sluice's own unauthenticated endpoints (health now; metrics
//    and console later). The prefix cannot collide with an S3 bucket (bucket names cannot
//    contain '_') nor with any AWS API path.
//  - Everything else must carry a valid SigV4 signature. The credential scope's service
//    name ("iotanalytics", "s3", "execute-api", "iotdata") selects the ApiService that
//    handles the request. New APIs slot in by RegisterService; the core does not change.
// Every response gets an x-amzn-RequestId header.
// Thread-safety: register everything before the server starts; Route is then called
// concurrently from I/O threads and only reads the registries.
#pragma once

#include <functional>
#include <map>
#include <memory>
#include <string>

#include "api/http.h"
#include "api/sigv4.h"

namespace sluice {

struct RequestContext {
  std::string request_id;
  AuthContext auth;
};

class ApiService {
 public:
  virtual ~ApiService() = default;
  // The SigV4 credential-scope service name this service answers.
  virtual std::string signing_name() const = 0;
  // Renders an authentication failure in this API's error dialect (JSON by default;
  // S3 overrides with XML).
  virtual HttpResponse AuthError(const Status& status) const;
  virtual HttpResponse Handle(const HttpRequest& req, const RequestContext& ctx) = 0;
};

using PublicHandler = std::function<HttpResponse(const HttpRequest&)>;

class Router {
 public:
  explicit Router(const SigV4Verifier* verifier) : verifier_(verifier) {}

  static constexpr const char* kPublicPrefix = "/_sluice/";

  void RegisterService(std::unique_ptr<ApiService> service);
  // `path` is relative to kPublicPrefix, e.g. "health".
  void RegisterPublic(const std::string& path, PublicHandler handler);

  HttpResponse Route(HttpRequest& req) const;

 private:
  HttpResponse RouteInner(HttpRequest& req, const std::string& request_id) const;

  const SigV4Verifier* verifier_;
  std::map<std::string, std::unique_ptr<ApiService>> services_;
  std::map<std::string, PublicHandler> public_;
};

}  // namespace sluice
