// ThingRegistry: a small persistent AWS IoT thing registry and device-shadow store
// (<data-dir>/things.db, SQLite). It backs the pipeline's deviceRegistryEnrich /
// deviceShadowEnrich activities and is reachable through the AWS IoT API subset the SDKs
// call: CreateThing/DescribeThing/UpdateThing/DeleteThing/ListThings (signing scope
// `execute-api`) and GetThingShadow/UpdateThingShadow/DeleteThingShadow (`iotdata`).
//
// The registry owns persistence and the read-modify-write sequences (versions, shadow
// merges) so each write is one durable SQLite transaction (WAL, synchronous=FULL). Wire
// concerns (HTTP, error dialects, request limits) live in iot_service.h and
// iot_data_service.h; the shadow document algebra lives in shadow_document.h.
//
// As in AWS, shadows are independent of registry entries: a shadow may exist for a name
// that is not registered, and DeleteThing leaves the thing's shadows alone.
//
// Thread-safety: all methods may be called from any thread (one connection, one mutex).
// Ownership: Open() returns the sole owner of the database handle; `clock` must outlive it.
#pragma once

#include <cstdint>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "common/clock.h"
#include "common/status.h"
#include "common/thread_annotations.h"

struct sqlite3;

namespace sluice {

// What the pipeline needs; ThingRegistry implements it, tests can fake it.
class ThingLookup {
 public:
  virtual ~ThingLookup() = default;
  // DescribeThing output: {defaultClientId, thingName, thingId, thingArn, thingTypeName?,
  // attributes, version}. nullopt if the thing does not exist.
  virtual Result<std::optional<nlohmann::json>> DescribeThing(const std::string& name) = 0;
  // The classic shadow document: {state:{desired,reported,delta?}, metadata, version,
  // timestamp}. nullopt if the thing has no shadow.
  virtual Result<std::optional<nlohmann::json>> GetShadow(const std::string& name) = 0;
};

// [a-zA-Z0-9:_-]{1,128}: thing names, thing type names (AWS model pattern).
bool IsValidThingName(const std::string& name);
// [a-zA-Z0-9:_-]{1,64}: named-shadow names.
bool IsValidShadowName(const std::string& name);

struct ThingRecord {
  std::string name;
  std::string thing_id;  // UUID assigned at creation
  std::optional<std::string> thing_type;
  std::map<std::string, std::string> attributes;
  int64_t version = 0;  // 1 at creation, +1 per update
  int64_t creation_micros = 0;
  int64_t last_update_micros = 0;
};

// The configuration CreateThing compares to decide "same thing again" vs "conflict".
struct ThingSpec {
  std::optional<std::string> thing_type;
  std::map<std::string, std::string> attributes;
};

struct ThingUpdate {
  std::optional<std::string> thing_type;  // set (replace) the type
  bool remove_thing_type = false;         // clear the type
  // Absent: attributes unchanged. Present: replace (merge=false) or merge (merge=true).
  // In both modes an empty value removes that attribute.
  std::optional<std::map<std::string, std::string>> attributes;
  bool merge = false;
  std::optional<int64_t> expected_version;
};

// Conditional writes report a version mismatch as an outcome, not an error.
enum class WriteOutcome { kDone, kVersionConflict };

struct ThingFilter {
  std::optional<std::string> attribute_name;
  std::optional<std::string> attribute_value;  // requires attribute_name
  bool attribute_value_prefix = false;         // usePrefixAttributeValue
  std::optional<std::string> thing_type;
};

struct ThingPage {
  std::vector<ThingRecord> things;
  std::optional<std::string> next_token;
};

struct ShadowUpdateResult {
  enum class Outcome { kAccepted, kVersionConflict, kTooLarge };
  Outcome outcome = Outcome::kAccepted;
  // kAccepted: the /update/accepted document {state, metadata, version, timestamp,
  // clientToken?}.
  nlohmann::json accepted;
};

class ThingRegistry : public ThingLookup {
 public:
  static Result<std::unique_ptr<ThingRegistry>> Open(const std::string& path, const Clock* clock,
                                                     std::string region, std::string account_id);
  ~ThingRegistry() override;
  ThingRegistry(const ThingRegistry&) = delete;
  ThingRegistry& operator=(const ThingRegistry&) = delete;

  static int LatestSchemaVersion();
  // A deleted shadow's version carries over to a re-created one within this window.
  static constexpr int64_t kShadowVersionMemoryMicros = int64_t{48} * 3600 * 1000000;
  // AWS quotas: attributes per thing without / with a thing type (InvalidArgument beyond).
  static constexpr size_t kMaxAttributesUntyped = 3;
  static constexpr size_t kMaxAttributesTyped = 50;

  std::string ThingArn(const std::string& name) const;
  int64_t NowSeconds() const { return clock_->NowSeconds(); }
  // The DescribeThing wire shape of a record.
  nlohmann::json DescribeJson(const ThingRecord& r) const;

  // --- registry ---
  // Creates the thing, or returns the existing one when `spec` matches it exactly.
  // kAlreadyExists (with resource id/arn) when it exists with a different spec.
  Result<ThingRecord> CreateThing(const std::string& name, const ThingSpec& spec);
  // kNotFound when absent.
  Result<ThingRecord> GetThing(const std::string& name);
  // kNotFound when absent.
  Result<WriteOutcome> UpdateThing(const std::string& name, const ThingUpdate& update);
  // Deleting an absent thing succeeds (as in AWS); an expected_version still must match an
  // existing thing's version.
  Result<WriteOutcome> DeleteThing(const std::string& name,
                                   std::optional<int64_t> expected_version);
  // Ordered by name. `token` comes from a previous page with the same filter.
  Result<ThingPage> ListThings(const ThingFilter& filter, const std::optional<std::string>& token,
                               int max_results);

  // --- shadows ("" = the classic, unnamed shadow) ---
  // The GET document {state:{desired?,reported?,delta?}, metadata:{desired?,reported?},
  // version, timestamp}; nullopt when the shadow does not exist.
  Result<std::optional<nlohmann::json>> GetShadowDocument(const std::string& thing,
                                                          const std::string& shadow);
  // `request` is the parsed request state document, already validated with
  // shadow::ValidateUpdateRequest.
  Result<ShadowUpdateResult> UpdateShadow(const std::string& thing, const std::string& shadow,
                                          const nlohmann::json& request);
  // The /delete/accepted document {version, timestamp}; nullopt when there was no shadow.
  Result<std::optional<nlohmann::json>> DeleteShadow(const std::string& thing,
                                                     const std::string& shadow);
  // Named shadows (never the classic one) of `thing`, ordered by name.
  struct ShadowNamePage {
    std::vector<std::string> names;
    std::optional<std::string> next_token;
  };
  Result<ShadowNamePage> ListNamedShadows(const std::string& thing,
                                          const std::optional<std::string>& token, int page_size);

  // --- ThingLookup ---
  Result<std::optional<nlohmann::json>> DescribeThing(const std::string& name) override;
  Result<std::optional<nlohmann::json>> GetShadow(const std::string& name) override;

 private:
  ThingRegistry(sqlite3* db, const Clock* clock, std::string region, std::string account_id);
  Status Migrate();
  Result<std::optional<ThingRecord>> LoadThing(const std::string& name) REQUIRES(mu_);
  Status WriteAttributes(const std::string& name, const std::map<std::string, std::string>& attrs)
      REQUIRES(mu_);

  Mutex mu_;
  sqlite3* db_ GUARDED_BY(mu_);
  const Clock* clock_;
  const std::string region_;
  const std::string account_id_;
};

}  // namespace sluice
