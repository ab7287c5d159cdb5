// DatastoreStore: every datastore as a DuckDB table in one DuckDB database
// (<dir>/datastores.duckdb), queried by its name (`SELECT * FROM mydatastore`).
//
// - Columns are the message attributes; the schema evolves as new attributes appear
//   (ALTER TABLE ADD COLUMN). A type conflict widens to a common type (BIGINT -> DOUBLE)
//   or to VARCHAR holding JSON text; data is never dropped. Nested objects/arrays are stored as
//   JSON and stay queryable with DuckDB's JSON functions.
// - `__dt` (TIMESTAMP) is the ingestion day, 'YYYY-MM-DD 00:00:00' UTC.
// - parquetConfiguration.schemaDefinition columns are created up front with their types;
//   datastorePartitions add `__partition_<attr>` and `__year`/`__month`/`__day`/`__hour`.
// - Exactly once: Append writes the rows and the pipeline's next channel offset in one
//   DuckDB transaction (table __sluice_positions), so after a crash the pipeline resumes
//   from exactly the offset after the last committed batch.
//
// Typing rules (what Append does with each top-level attribute of a row):
// - Inferred columns (JSON datastores, and attributes not in a parquet schema): the JSON
//   kind gives the type: boolean -> BOOLEAN, integer -> BIGINT (unsigned above INT64_MAX ->
//   DOUBLE), other number -> DOUBLE, string -> VARCHAR, object/array -> JSON (DuckDB's JSON
//   type), null -> no type information (no column is created for an attribute that was only
//   ever null). On a conflict the column widens with ALTER COLUMN TYPE: BIGINT+DOUBLE ->
//   DOUBLE; any other mix -> VARCHAR, holding strings as-is and every other value as its
//   JSON text (so json_extract still works on it). Old values are converted by DuckDB's
//   cast (a BIGINT 5 that went through DOUBLE reads back as '5.0').
// - Attribute names are case-insensitive (`foo` and `FOO` are one column, spelt as first
//   seen). A second spelling of the same name within one message is rejected (see below).
// - Parquet datastores: schemaDefinition columns are created with fixed types (Glue/Athena
//   type -> DuckDB: string/varchar(n)/char(n)/binary -> VARCHAR, tinyint, smallint,
//   int/integer -> INTEGER, bigint, float/real -> FLOAT, double, boolean, timestamp, date,
//   decimal[(p[,s])] -> DECIMAL(p,s) (default (10,0)), array<..>/map<..>/struct<..> -> JSON).
//   The AWS docs do not say that attributes outside the schema are discarded, so they are
//   kept as inferred columns. A value that does not convert to its column's fixed type is
//   stored as NULL and counted in DatastoreStats::rejected_values (never silently).
//   Conversions: integers from integral numbers or integer strings (range-checked), floats
//   from numbers or numeric strings, booleans from true/false or "true"/"false", TIMESTAMP
//   from 'YYYY-MM-DD[( |T)HH:MM[:SS[.f]]][Z|+HH:MM]' strings, DATE from 'YYYY-MM-DD',
//   DECIMAL from numbers or numeric strings that fit, VARCHAR from anything (JSON text),
//   JSON from anything.
// - Partitions: attributePartition -> column `__partition_<attributeName>` holding a copy
//   of the attribute (same typing rules; the schema type when the attribute is a schema
//   column). timestampPartition -> INTEGER columns `__year`, `__month`, `__day`, `__hour`
//   (UTC) from the attribute: epoch seconds (number or numeric string) by default, or a
//   string parsed with timestampFormat. Supported DateTimeFormatter letters: yyyy/uuuu/yy,
//   M/MM, d/dd, H/HH, m/mm, s/ss, S..S (fraction), X/XX/XXX (offset or 'Z'), Z (+HHMM);
//   quoted literals ('T', '' for a quote) and the punctuation - : / . , _ space. Anything
//   else (text months, am/pm, zone names, optional sections [...]) is rejected by
//   CreateDatastore with kInvalidArgument. An attribute that is absent or null gives NULL
//   partitions; one that does not parse gives NULL partitions and counts as rejected.
// - rejected_values also counts attributes whose name collides with a system column
//   (`__dt`, `__year`.., `__partition_<attr>`) and rows that are not JSON objects (stored
//   as a row with only `__dt`).
// - estimated_size_bytes is maintained per append as the uncompressed size of the stored
//   values (8 bytes per number/timestamp, text length for strings); retention scales it by
//   the fraction of rows kept.
//
// Threads: the store owns the duckdb_database, one writer connection and a pool of read
// connections. The writer connection and the per-datastore schema cache are guarded by
// mu_ (CreateDatastore, DropDatastore, Append, Position, SetPosition, Stats and
// ApplyRetention are serialised); Query takes a pooled read connection (pool guarded by
// its own mutex) and runs one SELECT in a read-only transaction, so readers see committed
// batches only and do not block appends (DuckDB MVCC). All methods may be called from any
// thread. Open a directory from at most one store (and one process) at a time. The
// database is opened with external access disabled, so SQL cannot read or write files.
#pragma once

#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include <nlohmann/json.hpp>

#include "common/clock.h"
#include "common/status.h"

namespace sluice {

struct DatastoreRow {
  nlohmann::json attributes;   // a JSON object: the message after the pipeline
  int64_t arrival_micros = 0;  // channel arrival time; gives __dt
};

struct DatastoreStats {
  uint64_t rows = 0;
  uint64_t estimated_size_bytes = 0;
  std::optional<int64_t> last_append_micros;
  // Attribute values that could not be stored as-is (see the typing rules above).
  uint64_t rejected_values = 0;
};

struct DatastoreStoreOptions {
  // Test seam for failure injection. Append calls it inside its transaction with the
  // stage "schema" (after schema changes), "rows" (after the rows are appended) and
  // "position" (after the position is written, before COMMIT); a non-OK status makes
  // Append roll back and return that status.
  std::function<Status(std::string_view stage)> fault_hook;
};

struct QueryResult {
  std::vector<std::string> columns;
  std::vector<std::vector<std::optional<std::string>>> rows;  // values rendered as text
};

class DatastoreStore {
 public:
  // Opens (creating if needed) <dir>/datastores.duckdb. `clock` must outlive the store.
  static Result<std::unique_ptr<DatastoreStore>> Open(const std::string& dir, const Clock* clock);
  static Result<std::unique_ptr<DatastoreStore>> Open(const std::string& dir, const Clock* clock,
                                                      DatastoreStoreOptions options);
  virtual ~DatastoreStore() = default;

  // `definition` is the catalog document: {"fileFormatConfiguration":..,
  // "datastorePartitions":..}. Idempotent: creating an existing datastore again stores the
  // new definition and adds schema columns that are missing (existing column types stay).
  // kAlreadyExists if a datastore whose name differs only in case exists (DuckDB table
  // names are case-insensitive); kInvalidArgument for an unsupported type or format.
  virtual Status CreateDatastore(const std::string& name, const nlohmann::json& definition) = 0;
  // Drops the table, its positions and its metadata. Dropping an absent datastore is OK.
  virtual Status DropDatastore(const std::string& name) = 0;

  // Appends rows and records `next_offset` as `pipeline`'s position, atomically: on any
  // error (kIoError for storage failures, kInternal otherwise) neither becomes visible.
  // kNotFound if the datastore does not exist (also for Position, SetPosition, Stats and
  // ApplyRetention).
  virtual Status Append(const std::string& datastore, const std::string& pipeline,
                        const std::vector<DatastoreRow>& rows, uint64_t next_offset) = 0;
  // The pipeline's committed position (nullopt if it never committed).
  virtual Result<std::optional<uint64_t>> Position(const std::string& datastore,
                                                   const std::string& pipeline) = 0;
  virtual Status SetPosition(const std::string& datastore, const std::string& pipeline,
                             uint64_t next_offset) = 0;

  virtual Result<DatastoreStats> Stats(const std::string& datastore) = 0;
  // Deletes rows whose __dt is older than the cut-off day (__dt < the UTC day of
  // cutoff_micros).
  virtual Status ApplyRetention(const std::string& datastore, int64_t cutoff_micros) = 0;

  // Read-only SQL over all datastores (tests now; SQL datasets later). Exactly one SELECT
  // statement (kInvalidArgument otherwise or when DuckDB rejects it); values rendered as
  // DuckDB's VARCHAR cast, NULL -> nullopt. Session time zone is UTC.
  virtual Result<QueryResult> Query(const std::string& sql) = 0;
};

}  // namespace sluice
