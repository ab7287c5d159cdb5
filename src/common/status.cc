#include "common/status.h"

namespace sluice {

const char* StatusCodeName(StatusCode code) {
  switch (code) {
    case StatusCode::kOk:
      return "OK";
    case StatusCode::kInvalidArgument:
      return "InvalidArgument";
    case StatusCode::kNotFound:
      return "NotFound";
    case StatusCode::kAlreadyExists:
      return "AlreadyExists";
    case StatusCode::kLimitExceeded:
      return "LimitExceeded";
    case StatusCode::kThrottled:
      return "Throttled";
    case StatusCode::kUnavailable:
      return "Unavailable";
    case StatusCode::kMissingAuthentication:
      return "MissingAuthentication";
    case StatusCode::kIncompleteSignature:
      return "IncompleteSignature";
    case StatusCode::kInvalidSignature:
      return "InvalidSignature";
    case StatusCode::kUnrecognizedClient:
      return "UnrecognizedClient";
    case StatusCode::kIoError:
      return "IoError";
    case StatusCode::kCorruption:
      return "Corruption";
    case StatusCode::kInternal:
      return "Internal";
  }
  return "Unknown";
}

std::string Status::ToString() const {
  if (ok()) return "OK";
  return std::string(StatusCodeName(code_)) + ": " + message_;
}

}  // namespace sluice
