// ThingRegistry: a small persistent AWS IoT thing registry and device-shadow store
// (<data-dir>/things.db, SQLite). It backs the pipeline's deviceRegistryEnrich /
// deviceShadowEnrich activities and is reachable through the AWS IoT API subset the SDKs
// call: CreateThing/DescribeThing/UpdateThing/DeleteThing/ListThings (signing scope
// `execute-api`) and GetThingShadow/UpdateThingShadow/DeleteThingShadow (`iotdata`).
// Thread-safety: all methods may be called from any thread.
#pragma once

#include <memory>
#include <optional>
#include <string>

#include <nlohmann/json.hpp>

#include "common/clock.h"
#include "common/status.h"

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

class ThingRegistry : public ThingLookup {
 public:
  static Result<std::unique_ptr<ThingRegistry>> Open(const std::string& path, const Clock* clock,
                                                     std::string region,
                                                     std::string account_id);
};

}  // namespace sluice
