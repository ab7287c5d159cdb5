// Catalog: the durable home of resource *definitions* (channels, datastores, pipelines,
// datasets), their tags and the account's logging options. One SQLite database,
// <data-dir>/catalog.db, in WAL mode with synchronous=FULL: a create/update/delete is
// either fully there after kill -9 or not at all. The schema is versioned (PRAGMA
// user_version) and upgraded by ordered migrations at Open.
// Runtime state (channel offsets, dataset versions, runs, windows) gets its own tables in
// later issues; it does not live in the definition documents.
// Thread-safety: all methods are safe to call from any thread; a single internal mutex
// serialises access to the one connection.
#pragma once

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
  std::vector<ResourceRecord> records;  // ordered by name, ascending
  std::optional<std::string> next_token;  // opaque; pass back as `page_token`
};

class Catalog {
 public:
  // Opens or creates the database at `path`, running migrations. `vfs_name` selects a
  // registered sqlite3 VFS (nullptr = default); tests pass a fault-injecting one.
  static Result<std::unique_ptr<Catalog>> Open(const std::string& path, const Clock* clock,
                                               const char* vfs_name = nullptr);
  ~Catalog();

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

  Mutex mu_;
  sqlite3* db_ GUARDED_BY(mu_);
  const Clock* clock_;
};

}  // namespace sluice
