// Catalog: the durable home of resource *definitions* (channels, datastores, pipelines,
// datasets), their tags and the account's logging options. One SQLite database,
// <data-dir>/catalog.db, in WAL mode with synchronous=FULL: a create/update/delete is
// either fully there after kill -9 or not at all. The schema is versioned (PRAGMA
// user_version) and upgraded by ordered migrations at Open.
// Runtime state (channel offsets, dataset versions, runs, windows) gets its own tables in
// later issues; it does not live in the definition documents.
//
// Schema evolution: the migrations are an ordered list in catalog.cc (kMigrations). Step i
// (1-based) runs in its own IMMEDIATE transaction together with `PRAGMA user_version = i`,
// so a crash mid-upgrade leaves the database at version i-1 and the step simply runs again
// at the next Open. To add tables or columns, append a migration; never edit an applied
// one (a database that already ran it would never see the edit). A database whose
// user_version is newer than the list is refused with kCorruption, never touched.
//
// Errors: every SQLite failure becomes kIoError carrying SQLite's message, except
// SQLITE_CORRUPT / SQLITE_NOTADB which become kCorruption. Nothing here throws.
//
// Thread-safety: all methods are safe to call from any thread; a single internal mutex
// serialises access to the one connection. Ownership: the Catalog owns its connection;
// `clock` is borrowed and must outlive the Catalog. One Catalog per database file per
// process.
#pragma once

#include <atomic>
#include <cstdint>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "common/clock.h"
#include "common/status.h"
#include "common/thread_annotations.h"

struct sqlite3;

namespace sluice {

enum class ResourceType { kChannel, kDatastore, kPipeline, kDataset };
const char* ResourceTypeName(ResourceType t);  // "channel", "datastore", "pipeline", "dataset"

struct ResourceRecord {
  ResourceType type = ResourceType::kChannel;
  std::string name;
  std::string definition;  // JSON document owned by the api layer (opaque to the catalog)
  int64_t creation_micros = 0;
  int64_t last_update_micros = 0;
};

struct ListPage {
  std::vector<ResourceRecord> records;    // ordered by name, ascending
  std::optional<std::string> next_token;  // opaque; pass back as `page_token`
};

class Catalog {
 public:
  // Opens or creates the database at `path`, running migrations. `vfs_name` selects a
  // registered sqlite3 VFS (nullptr = default); tests pass a fault-injecting one.
  static Result<std::unique_ptr<Catalog>> Open(const std::string& path, const Clock* clock,
                                               const char* vfs_name = nullptr);
  ~Catalog();
  Catalog(const Catalog&) = delete;
  Catalog& operator=(const Catalog&) = delete;

  // The schema version this binary migrates to (the number of known migrations).
  static int LatestSchemaVersion();
  int schema_version() const;

  // Inserts a resource and its tags in one transaction. Fails with kAlreadyExists if
  // (type, name) exists, kLimitExceeded if `max_count` resources of this type exist.
  // Sets creation/last-update time from the clock.
  Status Create(ResourceType type, const std::string& name, const std::string& definition,
                const std::map<std::string, std::string>& tags, int64_t max_count);
  Result<ResourceRecord> Get(ResourceType type, const std::string& name);
  // Replaces the definition and bumps last_update. kNotFound if absent.
  Status Update(ResourceType type, const std::string& name, const std::string& definition);
  // Deletes the resource and its tags. kNotFound if absent.
  Status Delete(ResourceType type, const std::string& name);
  // Pages through resources of a type by name. `page_token` must be a token this method
  // returned (kInvalidArgument otherwise). 1 <= max_results.
  Result<ListPage> List(ResourceType type, const std::optional<std::string>& page_token,
                        int max_results);
  Result<std::vector<ResourceRecord>> ListAll(ResourceType type);
  Result<int64_t> Count(ResourceType type);

  // Tags: merged (TagResource overwrites same keys), removed, listed. kNotFound if the
  // resource is absent.
  Status PutTags(ResourceType type, const std::string& name,
                 const std::map<std::string, std::string>& tags);
  Status RemoveTags(ResourceType type, const std::string& name,
                    const std::vector<std::string>& keys);
  Result<std::map<std::string, std::string>> GetTags(ResourceType type, const std::string& name);

  // Account-level settings (e.g. "logging_options" -> JSON). nullopt if never set.
  Status PutSetting(const std::string& key, const std::string& value);
  Result<std::optional<std::string>> GetSetting(const std::string& key);

 private:
  Catalog(sqlite3* db, const Clock* clock);
  Status Migrate() EXCLUDES(mu_);
  // kNotFound unless (type, name) exists. Called inside a transaction.
  Status CheckExists(ResourceType type, const std::string& name) REQUIRES(mu_);

  Mutex mu_;
  sqlite3* db_ GUARDED_BY(mu_);
  const Clock* clock_;
  std::atomic<int> schema_version_{0};  // set by Migrate; read lock-free
};

}  // namespace sluice
