#include "things/iot_data_service.h"

#include <cerrno>
#include <cstdlib>

#include <nlohmann/json.hpp>

#include "api/errors.h"
#include "common/strings.h"
#include "things/shadow_document.h"

namespace sluice::things {

using Json = nlohmann::json;

struct IotDataService::Call {
  const HttpRequest& req;
  const RequestContext& ctx;
  ParsedTarget target;
  std::map<std::string, std::string> params;
};

namespace {

HttpResponse Document(const Json& doc) {
  return HttpResponse::Json(200, doc.dump(-1, ' ', false, Json::error_handler_t::replace));
}

HttpResponse Conflict() { return JsonErrorResponse(409, "ConflictException", "Version conflict"); }

HttpResponse TooLarge() {
  return JsonErrorResponse(413, "RequestEntityTooLargeException",
                           "The payload exceeds the maximum size allowed");
}

// Strict UTF-8 (no overlongs, no surrogates, at most U+10FFFF).
bool IsValidUtf8(const std::string& s) {
  size_t i = 0;
  const size_t n = s.size();
  while (i < n) {
    unsigned char c = static_cast<unsigned char>(s[i]);
    size_t len;
    uint32_t cp;
    if (c < 0x80) {
      ++i;
      continue;
    } else if ((c & 0xE0) == 0xC0) {
      len = 2;
      cp = c & 0x1F;
    } else if ((c & 0xF0) == 0xE0) {
      len = 3;
      cp = c & 0x0F;
    } else if ((c & 0xF8) == 0xF0) {
      len = 4;
      cp = c & 0x07;
    } else {
      return false;
    }
    if (i + len > n) return false;
    for (size_t k = 1; k < len; ++k) {
      unsigned char cc = static_cast<unsigned char>(s[i + k]);
      if ((cc & 0xC0) != 0x80) return false;
      cp = (cp << 6) | (cc & 0x3F);
    }
    if ((len == 2 && cp < 0x80) || (len == 3 && cp < 0x800) || (len == 4 && cp < 0x10000) ||
        cp > 0x10FFFF || (cp >= 0xD800 && cp <= 0xDFFF)) {
      return false;
    }
    i += len;
  }
  return true;
}

Status ValidateThingName(const std::string& name) {
  if (IsValidThingName(name)) return Status::Ok();
  return Status::InvalidArgument("1 validation error detected: Value '" + name +
                                 "' at 'thingName' failed to satisfy constraint: Member must "
                                 "satisfy regular expression pattern: [a-zA-Z0-9:_-]+ and have "
                                 "length between 1 and 128");
}

// The `name` query parameter: "" for the classic shadow.
Result<std::string> ShadowNameOf(const ParsedTarget& t) {
  auto v = t.Query("name");
  if (!v) return std::string();
  if (!IsValidShadowName(*v)) {
    return Status::InvalidArgument("1 validation error detected: Value '" + *v +
                                   "' at 'shadowName' failed to satisfy constraint: Member must "
                                   "satisfy regular expression pattern: [a-zA-Z0-9:_-]+ and have "
                                   "length between 1 and 64");
  }
  return *v;
}

HttpResponse NoShadow(const std::string& thing, const std::string& shadow) {
  std::string id = shadow.empty() ? thing : thing + "~" + shadow;
  return JsonErrorResponse(Status::NotFound("No shadow exists with name: '" + id + "'"));
}

}  // namespace

IotDataService::IotDataService(ThingRegistry* registry) : registry_(registry) {
  routes_.Add("GET", "/things/{thingName}/shadow", "GetThingShadow",
              &IotDataService::GetThingShadow);
  routes_.Add("POST", "/things/{thingName}/shadow", "UpdateThingShadow",
              &IotDataService::UpdateThingShadow);
  routes_.Add("DELETE", "/things/{thingName}/shadow", "DeleteThingShadow",
              &IotDataService::DeleteThingShadow);
  routes_.Add("GET", "/api/things/shadow/ListNamedShadowsForThing/{thingName}",
              "ListNamedShadowsForThing", &IotDataService::ListNamedShadowsForThing);
}

HttpResponse IotDataService::Handle(const HttpRequest& req, const RequestContext& ctx) {
  auto target = ParseTarget(req.target);
  if (!target) {
    return JsonErrorResponse(Status::InvalidArgument("Malformed percent-encoding in request URI"));
  }
  bool path_known = false;
  auto match = routes_.Find(req.method, target->segments, &path_known);
  if (!match) {
    if (path_known) {
      return JsonErrorResponse(405, "MethodNotAllowedException",
                               "Method " + req.method + " is not allowed on " + target->path);
    }
    std::string ops;
    for (const std::string& op : routes_.Operations()) ops += (ops.empty() ? "" : ", ") + op;
    return JsonErrorResponse(404, "UnknownOperationException",
                             "No AWS IoT data-plane operation served by Sluice matches " +
                                 req.method + " " + target->path + " (served: " + ops + ")");
  }
  Call call{req, ctx, std::move(*target), std::move(match->params)};
  Status st = ValidateThingName(call.params["thingName"]);
  if (!st.ok()) return JsonErrorResponse(st);
  try {
    return (this->*(match->handler))(call);
  } catch (const std::exception& e) {
    return JsonErrorResponse(Status::Internal(std::string("internal error: ") + e.what()));
  }
}

HttpResponse IotDataService::GetThingShadow(Call& c) {
  const std::string& thing = c.params["thingName"];
  auto shadow = ShadowNameOf(c.target);
  if (!shadow.ok()) return JsonErrorResponse(shadow.status());
  auto doc = registry_->GetShadowDocument(thing, *shadow);
  if (!doc.ok()) return JsonErrorResponse(doc.status());
  if (!*doc) return NoShadow(thing, *shadow);
  return Document(**doc);
}

HttpResponse IotDataService::UpdateThingShadow(Call& c) {
  const std::string& thing = c.params["thingName"];
  auto shadow = ShadowNameOf(c.target);
  if (!shadow.ok()) return JsonErrorResponse(shadow.status());
  const std::string& body = c.req.body;
  if (body.size() > kMaxBodyBytes) return TooLarge();
  if (!IsValidUtf8(body)) {
    return JsonErrorResponse(415, "UnsupportedDocumentEncodingException",
                             "Document encoding is not supported (expected UTF-8 JSON)");
  }
  if (Trim(body).empty()) {
    return JsonErrorResponse(Status::InvalidArgument("Missing required node: state"));
  }
  Json request = Json::parse(body, nullptr, /*allow_exceptions=*/false);
  if (request.is_discarded() || !request.is_object()) {
    return JsonErrorResponse(Status::InvalidArgument("Payload contains invalid json"));
  }
  Status st = shadow::ValidateUpdateRequest(request);
  if (!st.ok()) return JsonErrorResponse(st);
  if (shadow::StateBytes(request["state"]) > shadow::kMaxStateBytes) return TooLarge();
  auto result = registry_->UpdateShadow(thing, *shadow, request);
  if (!result.ok()) return JsonErrorResponse(result.status());
  switch (result->outcome) {
    case ShadowUpdateResult::Outcome::kVersionConflict:
      return Conflict();
    case ShadowUpdateResult::Outcome::kTooLarge:
      return TooLarge();
    case ShadowUpdateResult::Outcome::kAccepted:
      break;
  }
  return Document(result->accepted);
}

HttpResponse IotDataService::DeleteThingShadow(Call& c) {
  const std::string& thing = c.params["thingName"];
  auto shadow = ShadowNameOf(c.target);
  if (!shadow.ok()) return JsonErrorResponse(shadow.status());
  auto doc = registry_->DeleteShadow(thing, *shadow);
  if (!doc.ok()) return JsonErrorResponse(doc.status());
  if (!*doc) return NoShadow(thing, *shadow);
  return Document(**doc);
}

HttpResponse IotDataService::ListNamedShadowsForThing(Call& c) {
  const std::string& thing = c.params["thingName"];
  int page_size = kDefaultPageSize;
  if (auto v = c.target.Query("pageSize")) {
    errno = 0;
    char* end = nullptr;
    long n = std::strtol(v->c_str(), &end, 10);
    if (v->empty() || *end != '\0' || errno == ERANGE || n < 1 || n > kMaxPageSize) {
      return JsonErrorResponse(Status::InvalidArgument(
          "1 validation error detected: Value '" + *v +
          "' at 'pageSize' failed to satisfy constraint: Member must be an integer between 1 "
          "and " +
          std::to_string(kMaxPageSize)));
    }
    page_size = static_cast<int>(n);
  }
  auto page = registry_->ListNamedShadows(thing, c.target.Query("nextToken"), page_size);
  if (!page.ok()) return JsonErrorResponse(page.status());
  Json out = {{"results", page->names}, {"timestamp", registry_->NowSeconds()}};
  if (page->next_token) out["nextToken"] = *page->next_token;
  return Document(out);
}

}  // namespace sluice::things
