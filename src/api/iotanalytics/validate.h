// Request validation for the IoT Analytics control plane: every constraint in the service
// model (lengths, patterns, ranges, list sizes, required members, JSON types, exactly-one-of
// unions) plus the service-side rules that need no catalog lookup (pipeline activity graph,
// schedule expressions, trigger shape rules, late-data rules).
// Every failure is Status kInvalidArgument whose message names the field path and the rule,
// in AWS's wording, e.g.
//   1 validation error detected: Value 'a-b' at 'channelName' failed to satisfy constraint:
//   Member must satisfy regular expression pattern: (^(?!_{2}))(^[a-zA-Z0-9_]+$)
// Unknown JSON members are ignored, as AWS does; a JSON null counts as an absent member.
// Validation stops at the first error. Message forms:
//   model constraints (AWS coral wording, echoed values cut to 100 code points + "..."):
//     1 validation error detected: Value null at 'x.y' failed to satisfy constraint: Member must
//     not be null
//     ... Member must have length greater than or equal to N   (strings: Unicode code points;
//     ... Member must have length less than or equal to N       lists and maps: element count)
//     ... Member must have value greater than or equal to N / less than or equal to N
//     ... Member must satisfy enum value set: [ACU_1, ACU_2]
//   wrong JSON type:       Value at 'x.y' must be a string|an integer|a number|a boolean|
//                          an object|a list
//   unions:                Exactly one of [a, b] must be set at 'x.y'
//   other service rules:   Value at 'x.y' is invalid: <rule, naming the activity/variable/...>
//   trigger rules:         the AWS texts below, verbatim, no path
//   schedule expressions:  ScheduleExpression::Parse's message, verbatim
// Field paths use the request member names; list elements are 1-based with ".member"
// (e.g. 'pipelineActivities.2.member.math.math', 'actions.1.member.queryAction.sqlQuery').
// Integers must be 32-bit (an integral float such as 3.0 is accepted).
// Thread-safety: pure functions; no exception escapes.
#pragma once

#include <set>
#include <string>

#include <nlohmann/json.hpp>

#include "common/status.h"

namespace sluice::iota {

using Json = nlohmann::json;

// Resource names (channel/datastore/pipeline/dataset): 1-128, (^(?!_{2}))(^[a-zA-Z0-9_]+$).
// `field` is the member name used in the message (e.g. "channelName").
Status ValidateResourceName(const std::string& field, const Json& value);

Status ValidateCreateChannel(const Json& body);
Status ValidateUpdateChannel(const Json& body);
Status ValidateCreateDatastore(const Json& body);
Status ValidateUpdateDatastore(const Json& body);

// Names the pipeline refers to, for the caller's existence checks. Cleared and refilled by
// the pipeline validators; complete only when they return OK. `refs` may be null.
struct PipelineRefs {
  std::set<std::string> channels;
  std::set<std::string> datastores;
};
// Validates `pipelineActivities` (+ name and tags on create): each element exactly one
// activity key; activity members; unique activity names; exactly one `channel` activity
// which starts the chain; `next` names exist; the chain from the channel activity is
// acyclic, visits every activity and ends at exactly one `datastore` activity; 1-25
// activities.
Status ValidateCreatePipeline(const Json& body, PipelineRefs* refs);
Status ValidateUpdatePipeline(const Json& body, PipelineRefs* refs);

// Datasets: actions (exactly 1; exactly one of queryAction/containerAction), triggers
// (0-5; each exactly one of schedule/dataset; schedule expressions parsed with
// ScheduleExpression), contentDeliveryRules, retentionPeriod, versioningConfiguration,
// lateDataRules (require a deltaTime filter), tags on create. Also the trigger rules that
// need no lookup, with the exact AWS texts:
//   "Exactly one trigger type should be provided"          (schedule + dataset triggers)
//   "There can only be one triggering dataset"             (two dataset triggers)
//   "Triggering dataset can only be added on a container dataset" (dataset trigger on SQL)
Status ValidateCreateDataset(const Json& body);
Status ValidateUpdateDataset(const Json& body);

// `tags` is the list itself ([{"key","value"}...]): 1-50 entries, key/value 1-256, keys
// unique. A null `tags` is reported as a missing required member named `field`.
Status ValidateTagList(const std::string& field, const Json& tags);
Status ValidatePutLoggingOptions(const Json& body);

}  // namespace sluice::iota
