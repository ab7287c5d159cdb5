#include "api/errors.h"

#include <nlohmann/json.hpp>

namespace sluice {

AwsErrorShape JsonErrorShapeFor(StatusCode code) {
  switch (code) {
    case StatusCode::kOk:
      return {200, ""};
    case StatusCode::kInvalidArgument:
      return {400, "InvalidRequestException"};
    case StatusCode::kNotFound:
      return {404, "ResourceNotFoundException"};
    case StatusCode::kAlreadyExists:
      return {409, "ResourceAlreadyExistsException"};
    case StatusCode::kLimitExceeded:
      return {410, "LimitExceededException"};
    case StatusCode::kThrottled:
      return {429, "ThrottlingException"};
    case StatusCode::kUnavailable:
      return {503, "ServiceUnavailableException"};
    case StatusCode::kMissingAuthentication:
      return {403, "MissingAuthenticationTokenException"};
    case StatusCode::kIncompleteSignature:
      return {403, "IncompleteSignatureException"};
    case StatusCode::kInvalidSignature:
      return {403, "InvalidSignatureException"};
    case StatusCode::kUnrecognizedClient:
      return {403, "UnrecognizedClientException"};
    case StatusCode::kIoError:
    case StatusCode::kCorruption:
    case StatusCode::kInternal:
      return {500, "InternalFailureException"};
  }
  return {500, "InternalFailureException"};
}

HttpResponse JsonErrorResponse(int http_status, const std::string& code,
                               const std::string& message) {
  nlohmann::json body = {{"__type", code}, {"message", message}};
  HttpResponse r = HttpResponse::Json(
      http_status, body.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace));
  r.headers.emplace_back("x-amzn-ErrorType", code);
  return r;
}

HttpResponse JsonErrorResponse(const Status& status) {
  AwsErrorShape shape = JsonErrorShapeFor(status.code());
  nlohmann::json body = {{"__type", shape.code}, {"message", status.message()}};
  if (status.code() == StatusCode::kAlreadyExists) {
    body["resourceId"] = status.resource_id();
    body["resourceArn"] = status.resource_arn();
  }
  HttpResponse r = HttpResponse::Json(
      shape.http_status, body.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace));
  r.headers.emplace_back("x-amzn-ErrorType", shape.code);
  return r;
}

}  // namespace sluice
