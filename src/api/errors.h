// The one place where internal Status codes become AWS error shapes on the wire.
// JSON services (restJson1: iotanalytics, iot control plane, iotdata) get
//   status per the model, header x-amzn-ErrorType: <Code>, body {"__type":"<Code>","message":...}
// (+ resourceId/resourceArn for ResourceAlreadyExistsException). Authentication failures
// are HTTP 403 with the codes real clients expect.
// Thread-safety: pure functions.
#pragma once

#include <string>

#include "api/http.h"
#include "common/status.h"

namespace sluice {

struct AwsErrorShape {
  int http_status;
  std::string code;  // e.g. "ResourceNotFoundException"
};

AwsErrorShape JsonErrorShapeFor(StatusCode code);

// Full error response for a JSON (restJson1) service.
HttpResponse JsonErrorResponse(const Status& status);

// An error with an explicit AWS code (for codes not derived from a Status, e.g.
// UnknownOperationException).
HttpResponse JsonErrorResponse(int http_status, const std::string& code,
                               const std::string& message);

}  // namespace sluice
