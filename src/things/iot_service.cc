#include "things/iot_service.h"

#include <cerrno>
#include <cstdlib>

#include "api/errors.h"
#include "common/strings.h"

namespace sluice::things {

using Json = nlohmann::json;

struct IotService::Call {
  const HttpRequest& req;
  const RequestContext& ctx;
  ParsedTarget target;
  std::map<std::string, std::string> params;
  Json body;  // parsed JSON body ({} when empty)
};

namespace {

constexpr const char* kNamePattern = "[a-zA-Z0-9:_-]+";
constexpr const char* kAttrNamePattern = "[a-zA-Z0-9_.,@/:#-]+";
constexpr const char* kAttrValuePattern = "[a-zA-Z0-9_.,@/:#-]*";
constexpr size_t kMaxAttrNameLen = 128;
constexpr size_t kMaxAttrValueLen = 800;

HttpResponse JsonOk(const Json& body) {
  return HttpResponse::Json(200, body.dump(-1, ' ', false, Json::error_handler_t::replace));
}

Status ValidationError(const std::string& value, const std::string& field,
                       const std::string& constraint) {
  return Status::InvalidArgument("1 validation error detected: Value '" + value + "' at '" + field +
                                 "' failed to satisfy constraint: " + constraint);
}

bool IsAttrChar(char c) {
  return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '_' ||
         c == '.' || c == ',' || c == '@' || c == '/' || c == ':' || c == '#' || c == '-';
}

bool AllAttrChars(const std::string& s) {
  for (char c : s) {
    if (!IsAttrChar(c)) return false;
  }
  return true;
}

Status ValidateName(const std::string& field, const std::string& value) {
  if (value.empty()) {
    return ValidationError(value, field, "Member must have length greater than or equal to 1");
  }
  if (value.size() > 128) {
    return ValidationError(value, field, "Member must have length less than or equal to 128");
  }
  if (!IsValidThingName(value)) {
    return ValidationError(
        value, field,
        std::string("Member must satisfy regular expression pattern: ") + kNamePattern);
  }
  return Status::Ok();
}

Status ValidateAttrName(const std::string& field, const std::string& name) {
  if (name.empty() || !AllAttrChars(name)) {
    return ValidationError(
        name, field,
        std::string("Member must satisfy regular expression pattern: ") + kAttrNamePattern);
  }
  if (name.size() > kMaxAttrNameLen) {
    return ValidationError(name, field, "Member must have length less than or equal to 128");
  }
  return Status::Ok();
}

Status ValidateAttrValue(const std::string& field, const std::string& value) {
  if (!AllAttrChars(value)) {
    return ValidationError(
        value, field,
        std::string("Member must satisfy regular expression pattern: ") + kAttrValuePattern);
  }
  if (value.size() > kMaxAttrValueLen) {
    return ValidationError(value, field, "Member must have length less than or equal to 800");
  }
  return Status::Ok();
}

// Optional string member; InvalidArgument when present with another type.
Result<std::optional<std::string>> OptString(const Json& body, const char* key) {
  if (!body.contains(key) || body[key].is_null()) return std::optional<std::string>();
  if (!body[key].is_string()) {
    return Status::InvalidArgument(std::string("Member '") + key + "' must be a string");
  }
  return std::optional<std::string>(body[key].get<std::string>());
}

Result<bool> OptBool(const Json& body, const char* key) {
  if (!body.contains(key) || body[key].is_null()) return false;
  if (!body[key].is_boolean()) {
    return Status::InvalidArgument(std::string("Member '") + key + "' must be a boolean");
  }
  return body[key].get<bool>();
}

struct AttributePayload {
  std::optional<std::map<std::string, std::string>> attributes;
  bool merge = false;
};

Result<AttributePayload> ParseAttributePayload(const Json& body) {
  AttributePayload out;
  if (!body.contains("attributePayload") || body["attributePayload"].is_null()) return out;
  const Json& p = body["attributePayload"];
  if (!p.is_object()) return Status::InvalidArgument("attributePayload must be an object");
  ASSIGN_OR_RETURN(out.merge, OptBool(p, "merge"));
  if (!p.contains("attributes") || p["attributes"].is_null()) return out;
  const Json& a = p["attributes"];
  if (!a.is_object()) {
    return Status::InvalidArgument("attributePayload.attributes must be a map of strings");
  }
  std::map<std::string, std::string> attrs;
  for (const auto& [key, value] : a.items()) {
    RETURN_IF_ERROR(ValidateAttrName("attributePayload.attributes.key", key));
    if (!value.is_string()) {
      return Status::InvalidArgument("Attribute '" + key + "' must have a string value");
    }
    const std::string& v = value.get_ref<const std::string&>();
    RETURN_IF_ERROR(ValidateAttrValue("attributePayload.attributes." + key, v));
    attrs[key] = v;
  }
  out.attributes = std::move(attrs);
  return out;
}

Result<std::optional<int64_t>> ParseLongQuery(const ParsedTarget& t, const std::string& name) {
  auto v = t.Query(name);
  if (!v) return std::optional<int64_t>();
  errno = 0;
  char* end = nullptr;
  long long n = std::strtoll(v->c_str(), &end, 10);
  if (v->empty() || *end != '\0' || errno == ERANGE) {
    return Status::InvalidArgument("Value '" + *v + "' at '" + name + "' must be an integer");
  }
  return std::optional<int64_t>(static_cast<int64_t>(n));
}

HttpResponse VersionConflict(const std::string& name) {
  return JsonErrorResponse(
      409, "VersionConflictException",
      "The version for thing " + name + " does not match the expected version.");
}

}  // namespace

IotService::IotService(ThingRegistry* registry) : registry_(registry) {
  routes_.Add("POST", "/things/{thingName}", "CreateThing", &IotService::CreateThing);
  routes_.Add("GET", "/things/{thingName}", "DescribeThing", &IotService::DescribeThing);
  routes_.Add("PATCH", "/things/{thingName}", "UpdateThing", &IotService::UpdateThing);
  routes_.Add("DELETE", "/things/{thingName}", "DeleteThing", &IotService::DeleteThing);
  routes_.Add("GET", "/things", "ListThings", &IotService::ListThings);
}

HttpResponse IotService::Handle(const HttpRequest& req, const RequestContext& ctx) {
  auto target = ParseTarget(req.target);
  if (!target) {
    return JsonErrorResponse(Status::InvalidArgument("Malformed percent-encoding in request URI"));
  }
  bool path_known = false;
  auto match = routes_.Find(req.method, target->segments, &path_known);
  if (!match) {
    std::string ops;
    for (const std::string& op : routes_.Operations()) ops += (ops.empty() ? "" : ", ") + op;
    return JsonErrorResponse(path_known ? 405 : 404,
                             path_known ? "MethodNotAllowedException" : "UnknownOperationException",
                             "No AWS IoT operation served by Sluice matches " + req.method + " " +
                                 target->path + " (served: " + ops + ")");
  }
  Json body = Json::object();
  if (!req.body.empty()) {
    body = Json::parse(req.body, nullptr, /*allow_exceptions=*/false);
    if (body.is_discarded()) {
      return JsonErrorResponse(Status::InvalidArgument("Request body is not valid JSON"));
    }
    if (!body.is_object()) {
      return JsonErrorResponse(Status::InvalidArgument("Request body must be a JSON object"));
    }
  }
  Call call{req, ctx, std::move(*target), std::move(match->params), std::move(body)};
  try {
    return (this->*(match->handler))(call);
  } catch (const std::exception& e) {
    return JsonErrorResponse(Status::Internal(std::string("internal error: ") + e.what()));
  }
}

HttpResponse IotService::CreateThing(Call& c) {
  const std::string& name = c.params["thingName"];
  Status st = ValidateName("thingName", name);
  if (!st.ok()) return JsonErrorResponse(st);
  ThingSpec spec;
  auto type = OptString(c.body, "thingTypeName");
  if (!type.ok()) return JsonErrorResponse(type.status());
  if (*type) {
    st = ValidateName("thingTypeName", **type);
    if (!st.ok()) return JsonErrorResponse(st);
    spec.thing_type = *type;
  }
  auto billing = OptString(c.body, "billingGroupName");
  if (!billing.ok()) return JsonErrorResponse(billing.status());
  if (*billing) {
    return JsonErrorResponse(Status::InvalidArgument(
        "Billing groups are not supported by this Sluice server (billingGroupName '" + **billing +
        "')"));
  }
  auto payload = ParseAttributePayload(c.body);
  if (!payload.ok()) return JsonErrorResponse(payload.status());
  if (payload->attributes) spec.attributes = *payload->attributes;
  auto rec = registry_->CreateThing(name, spec);
  if (!rec.ok()) return JsonErrorResponse(rec.status());
  return JsonOk({{"thingName", rec->name},
                 {"thingArn", registry_->ThingArn(rec->name)},
                 {"thingId", rec->thing_id}});
}

HttpResponse IotService::DescribeThing(Call& c) {
  const std::string& name = c.params["thingName"];
  Status st = ValidateName("thingName", name);
  if (!st.ok()) return JsonErrorResponse(st);
  auto rec = registry_->GetThing(name);
  if (!rec.ok()) return JsonErrorResponse(rec.status());
  return JsonOk(registry_->DescribeJson(*rec));
}

HttpResponse IotService::UpdateThing(Call& c) {
  const std::string& name = c.params["thingName"];
  Status st = ValidateName("thingName", name);
  if (!st.ok()) return JsonErrorResponse(st);
  ThingUpdate update;
  auto type = OptString(c.body, "thingTypeName");
  if (!type.ok()) return JsonErrorResponse(type.status());
  if (*type) {
    st = ValidateName("thingTypeName", **type);
    if (!st.ok()) return JsonErrorResponse(st);
    update.thing_type = *type;
  }
  auto remove = OptBool(c.body, "removeThingType");
  if (!remove.ok()) return JsonErrorResponse(remove.status());
  update.remove_thing_type = *remove;
  if (update.thing_type && update.remove_thing_type) {
    return JsonErrorResponse(Status::InvalidArgument(
        "Cannot specify both thingTypeName and removeThingType in the same request"));
  }
  if (c.body.contains("expectedVersion") && !c.body["expectedVersion"].is_null()) {
    const Json& v = c.body["expectedVersion"];
    if (!v.is_number_integer()) {
      return JsonErrorResponse(Status::InvalidArgument("expectedVersion must be an integer"));
    }
    update.expected_version = v.get<int64_t>();
  }
  auto payload = ParseAttributePayload(c.body);
  if (!payload.ok()) return JsonErrorResponse(payload.status());
  update.attributes = payload->attributes;
  update.merge = payload->merge;
  auto outcome = registry_->UpdateThing(name, update);
  if (!outcome.ok()) return JsonErrorResponse(outcome.status());
  if (*outcome == WriteOutcome::kVersionConflict) return VersionConflict(name);
  return JsonOk(Json::object());
}

HttpResponse IotService::DeleteThing(Call& c) {
  const std::string& name = c.params["thingName"];
  Status st = ValidateName("thingName", name);
  if (!st.ok()) return JsonErrorResponse(st);
  auto expected = ParseLongQuery(c.target, "expectedVersion");
  if (!expected.ok()) return JsonErrorResponse(expected.status());
  auto outcome = registry_->DeleteThing(name, *expected);
  if (!outcome.ok()) return JsonErrorResponse(outcome.status());
  if (*outcome == WriteOutcome::kVersionConflict) return VersionConflict(name);
  return JsonOk(Json::object());
}

HttpResponse IotService::ListThings(Call& c) {
  int max_results = kDefaultMaxResults;
  if (auto v = c.target.Query("maxResults")) {
    errno = 0;
    char* end = nullptr;
    long n = std::strtol(v->c_str(), &end, 10);
    if (v->empty() || *end != '\0' || errno == ERANGE) {
      return JsonErrorResponse(
          Status::InvalidArgument("Value '" + *v + "' at 'maxResults' must be an integer"));
    }
    if (n < 1) {
      return JsonErrorResponse(
          ValidationError(*v, "maxResults", "Member must have value greater than or equal to 1"));
    }
    if (n > kMaxMaxResults) {
      return JsonErrorResponse(
          ValidationError(*v, "maxResults", "Member must have value less than or equal to 250"));
    }
    max_results = static_cast<int>(n);
  }
  ThingFilter filter;
  if (auto v = c.target.Query("attributeName")) {
    Status st = ValidateAttrName("attributeName", *v);
    if (!st.ok()) return JsonErrorResponse(st);
    filter.attribute_name = *v;
  }
  if (auto v = c.target.Query("attributeValue")) {
    Status st = ValidateAttrValue("attributeValue", *v);
    if (!st.ok()) return JsonErrorResponse(st);
    if (!filter.attribute_name) {
      return JsonErrorResponse(
          Status::InvalidArgument("attributeValue can only be used together with attributeName"));
    }
    filter.attribute_value = *v;
  }
  if (auto v = c.target.Query("thingTypeName")) {
    Status st = ValidateName("thingTypeName", *v);
    if (!st.ok()) return JsonErrorResponse(st);
    filter.thing_type = *v;
  }
  if (auto v = c.target.Query("usePrefixAttributeValue")) {
    if (*v != "true" && *v != "false") {
      return JsonErrorResponse(Status::InvalidArgument(
          "Value '" + *v + "' at 'usePrefixAttributeValue' must be a boolean (true or false)"));
    }
    filter.attribute_value_prefix = *v == "true";
    if (filter.attribute_value_prefix && !filter.attribute_value) {
      return JsonErrorResponse(Status::InvalidArgument(
          "usePrefixAttributeValue requires attributeName and attributeValue"));
    }
  }
  auto page = registry_->ListThings(filter, c.target.Query("nextToken"), max_results);
  if (!page.ok()) return JsonErrorResponse(page.status());
  Json things = Json::array();
  for (const ThingRecord& r : page->things) {
    Json t = {{"thingName", r.name},
              {"thingArn", registry_->ThingArn(r.name)},
              {"attributes", Json(r.attributes)},
              {"version", r.version}};
    if (r.thing_type) t["thingTypeName"] = *r.thing_type;
    things.push_back(std::move(t));
  }
  Json out = {{"things", std::move(things)}};
  if (page->next_token) out["nextToken"] = *page->next_token;
  return JsonOk(out);
}

}  // namespace sluice::things
