// Request validation for the IoT Analytics control plane: every constraint in the service
// model (lengths, patterns, ranges, list sizes, required members, JSON types, exactly-one-of
// unions) plus the service-side rules that need no catalog lookup (pipeline activity graph,
// schedule expressions, trigger shape rules, late-data rules).
// Every failure is Status kInvalidArgument whose message names the field path and the rule,
// in AWS's wording, e.g.
//   1 validation error detected: Value 'a-b' at 'channelName' failed to satisfy constraint:
//   Member must satisfy regular expression pattern: (^(?!_{2}))(^[a-zA-Z0-9_]+$)
// Unknown JSON members are ignored, as AWS does.
// Thread-safety: pure functions.
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

// Names the pipeline refers to, for the caller's existence checks.
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

// {"tags": [{"key","value"}...]} 1-50, key/value 1-256.
Status ValidateTagList(const std::string& field, const Json& tags);
Status ValidatePutLoggingOptions(const Json& body);

}  // namespace sluice::iota
