// Pipeline activities: the message transformations of AWS IoT Analytics pipelines
// (addAttributes, removeAttributes, selectAttributes, filter, math, lambda,
// deviceRegistryEnrich, deviceShadowEnrich) and the chain that orders them from the
// `channel` activity to the `datastore` activity by `next`. The channel and datastore
// ends are not transformations; PipelineManager reads and writes them.
//
// Messages are JSON values. A channel payload becomes a message with DecodePayload: the
// parsed JSON when the payload is valid JSON, otherwise a JSON string holding the
// payload's base64 (what a decoding `lambda` receives, as in AWS's example). Every
// non-lambda activity requires a JSON object and drops anything else as "invalid_json".
//
// Attribute paths (`device.id`, `device.coord[0]`, `a[1].b`): dot-separated names, each
// optionally followed by [index]. A top-level attribute whose name is exactly the path
// string (e.g. a key that contains a dot) takes precedence.
//
// Drops are never silent: each dropped message is counted in ActivityContext::dropped by
// reason (see the kDrop* constants) and described in ActivityContext::log.
//
// Threads: CompiledActivity / ActivityChain are immutable after compilation and may be
// shared by threads. An ActivityContext belongs to one caller (one batch) at a time.
#pragma once

#include <atomic>
#include <cstdint>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include <nlohmann/json.hpp>

#include "common/status.h"
#include "pipeline/lambda.h"
#include "things/thing_registry.h"

namespace sluice::pipeline {

using Json = nlohmann::json;

// Drop reasons (keys of ActivityContext::dropped and of PipelineStatus::dropped).
inline constexpr char kDropInvalidJson[] = "invalid_json";             // not a JSON object
inline constexpr char kDropFiltered[] = "filtered";                    // filter was not true
inline constexpr char kDropEmptyAfterRemove[] = "empty_after_remove";  // removeAttributes
inline constexpr char kDropEmptyAfterSelect[] = "empty_after_select";  // selectAttributes
inline constexpr char kDropEmptyMessage[] = "empty_message";           // {} reached the datastore
inline constexpr char kDropLambdaFailed[] = "lambda_failed";           // function failed
inline constexpr char kDropActivityError[] = "activity_error";         // activity unusable

// The channel messages one pipeline message derives from (kept through the chain so a
// lambda failure can name the offsets to reprocess, and rows get an arrival time).
struct Origin {
  uint64_t first_offset = 0;
  uint64_t last_offset = 0;
  int64_t arrival_micros = 0;
};

// One failed lambda invocation during a batch.
struct LambdaFailure {
  std::string activity_name;
  std::string lambda_name;
  std::string message;           // the invoker's error
  size_t message_count = 0;      // messages in the failed invocation (all dropped)
  std::optional<Origin> origin;  // covering range, when origins are tracked
};

struct ActivityContext {
  ThingLookup* things = nullptr;              // enrich activities; null: enrich adds nothing
  LambdaInvoker* lambdas = nullptr;           // lambda activities; null: lambda fails
  int64_t lambda_timeout_ms = 300000;         // per invocation
  const std::atomic<bool>* cancel = nullptr;  // passed to the invoker

  std::string log;                          // human-readable notes (RunPipelineActivity)
  std::map<std::string, uint64_t> dropped;  // reason -> messages dropped
  std::vector<LambdaFailure> lambda_failures;

  // Optional: when non-empty it is kept parallel to the messages by every activity.
  std::vector<Origin> origins;

  void Drop(const std::string& reason, uint64_t n = 1) { dropped[reason] += n; }
  void Log(const std::string& line) {
    if (!log.empty()) log += '\n';
    log += line;
  }
};

// Payload bytes -> message (see the header comment) and message -> payload bytes.
Json DecodePayload(std::string_view payload);
std::string EncodePayload(const Json& message);

// A parsed attribute path.
class AttributePath {
 public:
  struct Step {
    bool is_index = false;
    std::string key;   // when !is_index
    size_t index = 0;  // when is_index
  };
  static Result<AttributePath> Parse(const std::string& text);

  // The value at the path, or null if absent.
  const Json* Find(const Json& message) const;
  // Removes the value at the path; false if absent.
  bool Remove(Json& message) const;
  // The name of the last named segment (`device.coord[0]` -> "coord").
  const std::string& LastName() const { return last_name_; }
  const std::string& text() const { return text_; }

 private:
  std::string text_;
  std::vector<Step> steps_;
  std::string last_name_;
};

// One activity, parsed once (expressions compiled, paths parsed).
class CompiledActivity {
 public:
  struct Impl;
  enum class Kind {
    kChannel,
    kDatastore,
    kAddAttributes,
    kRemoveAttributes,
    kSelectAttributes,
    kFilter,
    kMath,
    kLambda,
    kDeviceRegistryEnrich,
    kDeviceShadowEnrich,
  };

  // `activity` is one PipelineActivity element, e.g. {"math": {...}}. kInvalidArgument for
  // an unknown key, missing members, a bad path or an expression that does not parse.
  static Result<CompiledActivity> Compile(const Json& activity);

  // Applies the activity to `messages`. Errors only for activities that cannot be applied
  // (channel / datastore); per-message outcomes (drops, lambda failures) go to `ctx`.
  Result<std::vector<Json>> Apply(std::vector<Json> messages, ActivityContext& ctx) const;

  Kind kind() const;
  const std::string& key() const;   // "math", "lambda", ...
  const std::string& name() const;  // the activity's `name`
  const std::optional<std::string>& next() const;
  // For channel / datastore / lambda activities: channelName / datastoreName / lambdaName.
  const std::string& target() const;

 private:
  std::shared_ptr<const Impl> impl_;
};

// One-shot form: compile `activity` and apply it.
Result<std::vector<Json>> ApplyActivity(const Json& activity, std::vector<Json> messages,
                                        ActivityContext& ctx);

// A pipeline definition ({"activities": [...]}) ordered from channel to datastore.
struct ActivityChain {
  std::string channel;                  // channelName of the channel activity
  std::string datastore;                // datastoreName of the datastore activity
  std::vector<CompiledActivity> steps;  // the activities between them, in `next` order

  // kInvalidArgument when there is not exactly one channel activity, a `next` is
  // missing/unknown/cyclic, the chain does not end at a datastore activity, or an
  // activity does not compile. (The service validates the graph first; this is also
  // what it can call to reject an expression that does not parse.)
  static Result<ActivityChain> Compile(const Json& definition);

  // Runs `steps` in order, then drops what the datastore cannot store (non-objects as
  // invalid_json, empty objects as empty_message).
  std::vector<Json> Run(std::vector<Json> messages, ActivityContext& ctx) const;
};

}  // namespace sluice::pipeline
