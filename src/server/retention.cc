#include "server/retention.h"

#include <nlohmann/json.hpp>

namespace sluice {
namespace {

// Cut-off in micros for a definition's retentionPeriod, or nullopt when unlimited.
std::optional<int64_t> Cutoff(const std::string& definition, const Clock* clock) {
  auto def = nlohmann::json::parse(definition, nullptr, false);
  if (def.is_discarded() || !def.is_object() || !def.contains("retentionPeriod")) {
    return std::nullopt;
  }
  const auto& r = def["retentionPeriod"];
  if (!r.is_object() || !r.contains("numberOfDays") || !r["numberOfDays"].is_number_integer()) {
    return std::nullopt;
  }
  int64_t days = r["numberOfDays"].get<int64_t>();
  if (days < 1) return std::nullopt;
  return clock->NowMicros() - days * 86400LL * 1000000LL;
}

}  // namespace

Result<RetentionSweepResult> SweepRetention(Catalog* catalog, ChannelStore* channels,
                                            DatastoreStore* datastores, const Clock* clock) {
  RetentionSweepResult out;
  Status first = Status::Ok();
  auto keep = [&first](const Status& st) {
    if (first.ok() && !st.ok()) first = st;
  };
  if (channels != nullptr) {
    auto recs = catalog->ListAll(ResourceType::kChannel);
    if (!recs.ok()) return recs.status();
    for (const auto& rec : *recs) {
      if (auto cut = Cutoff(rec.definition, clock)) {
        keep(channels->ApplyRetention(rec.name, *cut));
        ++out.channels_swept;
      }
    }
  }
  if (datastores != nullptr) {
    auto recs = catalog->ListAll(ResourceType::kDatastore);
    if (!recs.ok()) return recs.status();
    for (const auto& rec : *recs) {
      if (auto cut = Cutoff(rec.definition, clock)) {
        keep(datastores->ApplyRetention(rec.name, *cut));
        ++out.datastores_swept;
      }
    }
  }
  if (!first.ok()) return first;
  return out;
}

}  // namespace sluice
