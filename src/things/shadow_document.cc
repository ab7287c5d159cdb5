#include "things/shadow_document.h"

#include <algorithm>
#include <cstdint>
#include <string>

namespace sluice::shadow {

using Json = nlohmann::json;

namespace {

constexpr const char* kSections[] = {"desired", "reported"};

// Deepest object nesting below `v` (an object directly holding scalars is 1).
int ObjectDepth(const Json& v) {
  if (v.is_object()) {
    int deepest = 0;
    for (const auto& [k, child] : v.items()) deepest = std::max(deepest, ObjectDepth(child));
    return 1 + deepest;
  }
  if (v.is_array()) {
    int deepest = 0;
    for (const Json& child : v) deepest = std::max(deepest, ObjectDepth(child));
    return deepest;
  }
  return 0;
}

std::string Dump(const Json& j) { return j.dump(-1, ' ', false, Json::error_handler_t::replace); }

// Merges object `patch` into object `target`, keeping `meta` (an object) in step.
void MergeObject(const Json& patch, int64_t ts, Json* target, Json* meta) {
  for (const auto& [key, value] : patch.items()) {
    if (value.is_null()) {
      target->erase(key);
      meta->erase(key);
      continue;
    }
    if (value.is_object()) {
      Json& t = (*target)[key];
      Json& m = (*meta)[key];
      if (!t.is_object()) {
        t = Json::object();
        m = Json::object();
      } else if (!m.is_object()) {
        m = Json::object();
      }
      MergeObject(value, ts, &t, &m);
      if (t.empty()) {
        target->erase(key);
        meta->erase(key);
      }
      continue;
    }
    (*target)[key] = value;
    (*meta)[key] = Stamp(value, ts);
  }
}

}  // namespace

Status ValidateUpdateRequest(const Json& request) {
  if (!request.is_object()) return Status::InvalidArgument("Payload contains invalid json");
  if (!request.contains("state")) return Status::InvalidArgument("Missing required node: state");
  const Json& state = request["state"];
  if (!state.is_null() && !state.is_object()) {
    return Status::InvalidArgument("State node must be an object");
  }
  if (state.is_object()) {
    for (const auto& [key, value] : state.items()) {
      if (key != "desired" && key != "reported") {
        return Status::InvalidArgument("State contains an invalid node: '" + key + "'");
      }
      if (!value.is_null() && !value.is_object()) {
        return Status::InvalidArgument(std::string(key == "desired" ? "Desired" : "Reported") +
                                       " node must be an object");
      }
      if (ObjectDepth(value) > kMaxDepth) {
        return Status::InvalidArgument("JSON contains too many levels of nesting; maximum is " +
                                       std::to_string(kMaxDepth));
      }
    }
  }
  if (request.contains("version")) {
    const Json& v = request["version"];
    if (!v.is_number_integer() ||
        (v.is_number_integer() && !v.is_number_unsigned() && v.get<int64_t>() < 0)) {
      return Status::InvalidArgument("Invalid version: must be a non-negative integer");
    }
    if (v.is_number_unsigned() && v.get<uint64_t>() > static_cast<uint64_t>(INT64_MAX)) {
      return Status::InvalidArgument("Invalid version: out of range");
    }
  }
  if (request.contains("clientToken")) {
    const Json& t = request["clientToken"];
    if (!t.is_string()) return Status::InvalidArgument("clientToken must be a string");
    if (t.get_ref<const std::string&>().size() > kMaxClientTokenBytes) {
      return Status::InvalidArgument("clientToken must be at most " +
                                     std::to_string(kMaxClientTokenBytes) + " bytes");
    }
  }
  return Status::Ok();
}

size_t StateBytes(const Json& state) { return Dump(state).size(); }

Json Stamp(const Json& value, int64_t ts) {
  if (value.is_object()) {
    Json out = Json::object();
    for (const auto& [key, child] : value.items()) out[key] = Stamp(child, ts);
    return out;
  }
  if (value.is_array()) {
    Json out = Json::array();
    for (const Json& child : value) out.push_back(Stamp(child, ts));
    return out;
  }
  return Json{{"timestamp", ts}};
}

void ApplyUpdate(const Json& request_state, int64_t ts, Json* state, Json* metadata) {
  if (!state->is_object()) *state = Json::object();
  if (!metadata->is_object()) *metadata = Json::object();
  if (request_state.is_null()) {
    *state = Json::object();
    *metadata = Json::object();
    return;
  }
  if (!request_state.is_object()) return;
  for (const char* section : kSections) {
    if (!request_state.contains(section)) continue;
    const Json& patch = request_state[section];
    if (patch.is_null()) {
      state->erase(section);
      metadata->erase(section);
      continue;
    }
    if (!patch.is_object()) continue;
    Json& s = (*state)[section];
    Json& m = (*metadata)[section];
    if (!s.is_object()) s = Json::object();
    if (!m.is_object()) m = Json::object();
    MergeObject(patch, ts, &s, &m);
    if (s.empty()) {
      state->erase(section);
      metadata->erase(section);
    }
  }
}

Json Delta(const Json& desired, const Json& reported) {
  Json out = Json::object();
  if (!desired.is_object()) return out;
  for (const auto& [key, want] : desired.items()) {
    if (!reported.is_object() || !reported.contains(key)) {
      out[key] = want;
      continue;
    }
    const Json& have = reported[key];
    if (want.is_object() && have.is_object()) {
      Json sub = Delta(want, have);
      if (!sub.empty()) out[key] = std::move(sub);
      continue;
    }
    if (want != have) out[key] = want;
  }
  return out;
}

Json AcceptedDocument(const Json& request, int64_t version, int64_t ts) {
  Json state = request.contains("state") ? request["state"] : Json();
  Json doc = Json::object();
  doc["state"] = state.is_null() ? Json() : state;
  doc["metadata"] = state.is_object() ? Stamp(state, ts) : Json::object();
  doc["version"] = version;
  doc["timestamp"] = ts;
  if (request.contains("clientToken")) doc["clientToken"] = request["clientToken"];
  return doc;
}

Json GetDocument(const Json& state, const Json& metadata, int64_t version, int64_t ts) {
  Json out_state = state.is_object() ? state : Json::object();
  if (out_state.contains("desired") && out_state.contains("reported")) {
    Json delta = Delta(out_state["desired"], out_state["reported"]);
    if (!delta.empty()) out_state["delta"] = std::move(delta);
  } else if (out_state.contains("desired")) {
    // Nothing reported yet: everything desired is outstanding.
    out_state["delta"] = out_state["desired"];
  }
  Json doc = Json::object();
  doc["state"] = std::move(out_state);
  doc["metadata"] = metadata.is_object() ? metadata : Json::object();
  doc["version"] = version;
  doc["timestamp"] = ts;
  return doc;
}

}  // namespace sluice::shadow
