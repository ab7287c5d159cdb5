// DatastoreStore: every datastore as a DuckDB table in one DuckDB database
// (<dir>/datastores.duckdb), queried by its name (`SELECT * FROM mydatastore`).
//
// - Columns are the message attributes; the schema evolves as new attributes appear
//   (ALTER TABLE ADD COLUMN). A type conflict widens to a common type (BIGINT -> DOUBLE)
//   or to JSON; data is never dropped. Nested objects/arrays are stored as JSON and stay
//   queryable with DuckDB's JSON functions.
// - `__dt` (TIMESTAMP) is the ingestion day, 'YYYY-MM-DD 00:00:00' UTC.
// - parquetConfiguration.schemaDefinition columns are created up front with their types;
//   datastorePartitions add `__partition_<attr>` and `__year`/`__month`/`__day`/`__hour`.
// - Exactly once: Append writes the rows and the pipeline's next channel offset in one
//   DuckDB transaction (table __sluice_positions), so after a crash the pipeline resumes
//   from exactly the offset after the last committed batch.
//
// Threads: one writer connection guarded by a mutex (appends are serialised); Query uses
// its own connection per call, so readers see committed batches only and do not block
// appends for long (DuckDB MVCC).
#pragma once

#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "common/clock.h"
#include "common/status.h"

namespace sluice {

struct DatastoreRow {
  nlohmann::json attributes;  // a JSON object: the message after the pipeline
  int64_t arrival_micros = 0;  // channel arrival time; gives __dt
};

struct DatastoreStats {
  uint64_t rows = 0;
  uint64_t estimated_size_bytes = 0;
  std::optional<int64_t> last_append_micros;
};

struct QueryResult {
  std::vector<std::string> columns;
  std::vector<std::vector<std::optional<std::string>>> rows;  // values rendered as text
};

class DatastoreStore {
 public:
  static Result<std::unique_ptr<DatastoreStore>> Open(const std::string& dir, const Clock* clock);
  virtual ~DatastoreStore() = default;

  // `definition` is the catalog document: {"fileFormatConfiguration":..,
  // "datastorePartitions":..}. Idempotent.
  virtual Status CreateDatastore(const std::string& name, const nlohmann::json& definition) = 0;
  virtual Status DropDatastore(const std::string& name) = 0;

  // Appends rows and records `next_offset` as `pipeline`'s position, atomically.
  virtual Status Append(const std::string& datastore, const std::string& pipeline,
                        const std::vector<DatastoreRow>& rows, uint64_t next_offset) = 0;
  // The pipeline's committed position (nullopt if it never committed).
  virtual Result<std::optional<uint64_t>> Position(const std::string& datastore,
                                                   const std::string& pipeline) = 0;
  virtual Status SetPosition(const std::string& datastore, const std::string& pipeline,
                             uint64_t next_offset) = 0;

  virtual Result<DatastoreStats> Stats(const std::string& datastore) = 0;
  // Deletes rows whose __dt is older than the cut-off day.
  virtual Status ApplyRetention(const std::string& datastore, int64_t cutoff_micros) = 0;

  // Read-only SQL over all datastores (tests now; SQL datasets later).
  virtual Result<QueryResult> Query(const std::string& sql) = 0;
};

}  // namespace sluice
