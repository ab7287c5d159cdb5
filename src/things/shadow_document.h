// Device-shadow document algebra (pure functions, no I/O): validating an update request,
// merging its `state` into the stored state with AWS semantics, stamping per-leaf
// `metadata` timestamps, computing `delta`, and rendering the accepted/GET documents.
//
// Stored form of one shadow: state = {desired?: object, reported?: object} and metadata of
// the same shape, where every leaf value is replaced by {"timestamp": epoch-seconds} and
// every array by an array of per-element metadata.
// Merge rules: a null value deletes that key (a null section deletes the whole section, a
// null `state` deletes both); objects merge recursively; any other value (scalars, arrays)
// replaces. Objects left empty by a merge are pruned, so are empty sections.
// Delta: the desired keys whose values differ from reported (recursing into objects;
// arrays compare whole). Numbers compare by value (1 == 1.0).
// Thread-safety: pure functions.
#pragma once

#include <cstddef>
#include <cstdint>

#include <nlohmann/json.hpp>

#include "common/status.h"

namespace sluice::shadow {

// Compact-serialised size limit of the desired+reported state (AWS: 8 KB).
inline constexpr size_t kMaxStateBytes = 8 * 1024;
// Object nesting allowed inside desired/reported (a key directly under desired is level 1).
inline constexpr int kMaxDepth = 6;
inline constexpr size_t kMaxClientTokenBytes = 64;

// Checks a parsed UpdateThingShadow body: a JSON object with `state` (object or null;
// members only `desired`/`reported`, each an object or null), optional `version`
// (non-negative integer) and `clientToken` (string of at most 64 bytes); nesting limit.
// Other top-level members are ignored. InvalidArgument with an AWS-like message.
Status ValidateUpdateRequest(const nlohmann::json& request);

// Compact serialised size of a state object (what kMaxStateBytes limits).
size_t StateBytes(const nlohmann::json& state);

// Merges `request_state` (the request's `state` member; may be null) into `state` and
// `metadata` (both objects; updated in place), stamping touched leaves with `ts`.
void ApplyUpdate(const nlohmann::json& request_state, int64_t ts, nlohmann::json* state,
                 nlohmann::json* metadata);

// Metadata for a value: leaves (and nulls) -> {"timestamp": ts}; objects recurse; arrays
// become arrays of per-element metadata.
nlohmann::json Stamp(const nlohmann::json& value, int64_t ts);

// The desired-vs-reported difference; an empty object when there is none.
nlohmann::json Delta(const nlohmann::json& desired, const nlohmann::json& reported);

// The /update/accepted document for `request` that produced `version` at `ts`.
nlohmann::json AcceptedDocument(const nlohmann::json& request, int64_t version, int64_t ts);

// The GET document: {state:{desired?,reported?,delta?}, metadata:{desired?,reported?},
// version, timestamp}.
nlohmann::json GetDocument(const nlohmann::json& state, const nlohmann::json& metadata,
                           int64_t version, int64_t ts);

}  // namespace sluice::shadow
