// Retention: applies each channel's and datastore's retentionPeriod.numberOfDays. Channel
// logs drop whole old segments (no rewriting); datastores delete rows whose __dt day is
// older than the cut-off. Unlimited retention keeps everything.
// Threads: SweepRetention is called by the server's maintenance thread (see main.cc) and
// by tests; it only uses the thread-safe catalog and stores.
#pragma once

#include "catalog/catalog.h"
#include "channel/channel_store.h"
#include "common/clock.h"
#include "common/status.h"
#include "datastore/datastore_store.h"

namespace sluice {

struct RetentionSweepResult {
  int channels_swept = 0;
  int datastores_swept = 0;
};

// Returns the first error met, after trying every resource.
Result<RetentionSweepResult> SweepRetention(Catalog* catalog, ChannelStore* channels,
                                            DatastoreStore* datastores, const Clock* clock);

}  // namespace sluice
