#include "api/router.h"

#include "api/errors.h"
#include "common/strings.h"

namespace sluice {

HttpResponse ApiService::AuthError(const Status& status) const { return JsonErrorResponse(status); }

void Router::RegisterService(std::unique_ptr<ApiService> service) {
  std::string name = service->signing_name();
  services_[name] = std::move(service);
}

void Router::RegisterPublic(const std::string& path, PublicHandler handler) {
  public_[path] = std::move(handler);
}

HttpResponse Router::Route(HttpRequest& req) const {
  std::string request_id = NewUuid();
  HttpResponse resp = RouteInner(req, request_id);
  resp.SetHeader("x-amzn-RequestId", request_id);
  return resp;
}

HttpResponse Router::RouteInner(HttpRequest& req, const std::string& request_id) const {
  std::string path = req.target.substr(0, req.target.find('?'));
  if (StartsWith(path, kPublicPrefix)) {
    auto it = public_.find(path.substr(std::string(kPublicPrefix).size()));
    if (it == public_.end()) {
      return JsonErrorResponse(404, "NotFoundException", "No such Sluice endpoint: " + path);
    }
    return it->second(req);
  }

  HttpRequestView view{req.method, req.target, req.headers, &req.body};
  // Pick the service first so an authentication failure is rendered in its dialect.
  std::optional<std::string> service = SigV4Verifier::PeekService(view);
  const ApiService* target = nullptr;
  if (service) {
    auto it = services_.find(*service);
    if (it != services_.end()) target = it->second.get();
  }

  Result<AuthContext> auth = verifier_->Verify(view);
  if (!auth.ok()) {
    return target ? target->AuthError(auth.status()) : JsonErrorResponse(auth.status());
  }
  auto it = services_.find(auth->service);
  if (it == services_.end()) {
    return JsonErrorResponse(
        400, "UnknownServiceException",
        "This Sluice server does not serve the '" + auth->service +
            "' API (credential scope service). Served: " + [this] {
              std::string s;
              for (const auto& [k, v] : services_) {
                s += (s.empty() ? "" : ", ") + k;
              }
              return s;
            }());
  }
  RequestContext ctx{request_id, std::move(auth).value()};
  return it->second->Handle(req, ctx);
}

}  // namespace sluice
