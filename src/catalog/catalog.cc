#include "catalog/catalog.h"

#include <sqlite3.h>

#include <climits>
#include <string_view>
#include <utility>

#include "catalog/sqlite_db.h"
#include "common/strings.h"

namespace sluice {
namespace {

// Ordered schema migrations. Entry i brings the database from user_version i to i+1.
// Append new entries; never edit or reorder an entry that has shipped.
constexpr const char* kMigrations[] = {
    // 1: definitions, their tags, account settings.
    R"sql(
CREATE TABLE resources (
  type TEXT NOT NULL,
  name TEXT NOT NULL,
  definition TEXT NOT NULL,
  creation_micros INTEGER NOT NULL,
  last_update_micros INTEGER NOT NULL,
  PRIMARY KEY (type, name)
);
CREATE TABLE tags (
  type TEXT NOT NULL,
  name TEXT NOT NULL,
  key TEXT NOT NULL,
  value TEXT NOT NULL,
  PRIMARY KEY (type, name, key),
  FOREIGN KEY (type, name) REFERENCES resources (type, name) ON DELETE CASCADE
);
CREATE TABLE settings (
  key TEXT PRIMARY KEY NOT NULL,
  value TEXT NOT NULL
);
)sql",
};
constexpr int kNumMigrations = static_cast<int>(std::size(kMigrations));

// Page tokens are base64 of this prefix, the type name, a separator and the last name
// returned, so a token from elsewhere (or for another type) is recognisably foreign.
constexpr std::string_view kTokenPrefix = "sluice.list.v1\x1f";
constexpr char kTokenSeparator = '\x1f';

using sqlite::ExecScript;
using sqlite::QueryInt;
using sqlite::Stmt;
using sqlite::Transaction;

std::string MakeToken(ResourceType type, const std::string& last_name) {
  std::string raw(kTokenPrefix);
  raw += ResourceTypeName(type);
  raw += kTokenSeparator;
  raw += last_name;
  return Base64Encode(raw);
}

Result<std::string> ParseToken(ResourceType type, const std::string& token) {
  Status invalid = Status::InvalidArgument("Invalid nextToken");
  auto decoded = Base64Decode(token);
  if (!decoded.ok() || Base64Encode(*decoded) != token) return invalid;
  std::string expected(kTokenPrefix);
  expected += ResourceTypeName(type);
  expected += kTokenSeparator;
  if (decoded->size() <= expected.size() || !StartsWith(*decoded, expected)) return invalid;
  return decoded->substr(expected.size());
}

std::string Describe(ResourceType type, const std::string& name) {
  return std::string(ResourceTypeName(type)) + " " + name;
}

Status NotFound(ResourceType type, const std::string& name) {
  return Status::NotFound(Describe(type, name) + " does not exist");
}

ResourceRecord RowToRecord(ResourceType type, const Stmt& s) {
  ResourceRecord r;
  r.type = type;
  r.name = s.Text(0);
  r.definition = s.Text(1);
  r.creation_micros = s.Int(2);
  r.last_update_micros = s.Int(3);
  return r;
}

constexpr const char* kSelectColumns =
    "SELECT name, definition, creation_micros, last_update_micros FROM resources ";

}  // namespace

const char* ResourceTypeName(ResourceType t) {
  switch (t) {
    case ResourceType::kChannel:
      return "channel";
    case ResourceType::kDatastore:
      return "datastore";
    case ResourceType::kPipeline:
      return "pipeline";
    case ResourceType::kDataset:
      return "dataset";
  }
  return "unknown";
}

Catalog::Catalog(sqlite3* db, const Clock* clock) : db_(db), clock_(clock) {}

Catalog::~Catalog() {
  MutexLock lock(&mu_);
  // close_v2 never fails for a valid handle; a failed final checkpoint just leaves the WAL
  // behind to be recovered at the next open.
  sqlite3_close_v2(db_);
  db_ = nullptr;
}

int Catalog::LatestSchemaVersion() { return kNumMigrations; }

int Catalog::schema_version() const { return schema_version_.load(); }

Result<std::unique_ptr<Catalog>> Catalog::Open(const std::string& path, const Clock* clock,
                                               const char* vfs_name) {
  if (clock == nullptr) return Status::InvalidArgument("catalog: clock is required");
  ASSIGN_OR_RETURN(sqlite3 * db, sqlite::OpenDurable(path, vfs_name, "catalog"));
  std::unique_ptr<Catalog> catalog(new Catalog(db, clock));
  RETURN_IF_ERROR(catalog->Migrate());
  return catalog;
}

Status Catalog::Migrate() {
  MutexLock lock(&mu_);
  ASSIGN_OR_RETURN(int version, sqlite::Migrate(db_, kMigrations, kNumMigrations, "catalog"));
  schema_version_.store(version);
  return Status::Ok();
}

Status Catalog::CheckExists(ResourceType type, const std::string& name) {
  Stmt s(db_);
  RETURN_IF_ERROR(s.Prepare("SELECT 1 FROM resources WHERE type = ?1 AND name = ?2"));
  RETURN_IF_ERROR(s.Bind(1, ResourceTypeName(type)));
  RETURN_IF_ERROR(s.Bind(2, name));
  ASSIGN_OR_RETURN(bool row, s.Step());
  if (!row) return NotFound(type, name);
  return Status::Ok();
}

Status Catalog::Create(ResourceType type, const std::string& name, const std::string& definition,
                       const std::map<std::string, std::string>& tags, int64_t max_count) {
  MutexLock lock(&mu_);
  Transaction txn(db_);
  RETURN_IF_ERROR(txn.Begin(/*immediate=*/true));
  Status exists = CheckExists(type, name);
  if (exists.ok()) return Status::AlreadyExists(Describe(type, name) + " already exists");
  if (exists.code() != StatusCode::kNotFound) return exists;
  {
    Stmt count(db_);
    RETURN_IF_ERROR(count.Prepare("SELECT COUNT(*) FROM resources WHERE type = ?1"));
    RETURN_IF_ERROR(count.Bind(1, ResourceTypeName(type)));
    ASSIGN_OR_RETURN(bool row, count.Step());
    int64_t n = row ? count.Int(0) : 0;
    if (n >= max_count) {
      return Status::LimitExceeded("limit of " + std::to_string(max_count) + " " +
                                   ResourceTypeName(type) + "s reached");
    }
  }
  int64_t now = clock_->NowMicros();
  {
    Stmt ins(db_);
    RETURN_IF_ERROR(
        ins.Prepare("INSERT INTO resources (type, name, definition, creation_micros, "
                    "last_update_micros) VALUES (?1, ?2, ?3, ?4, ?4)"));
    RETURN_IF_ERROR(ins.Bind(1, ResourceTypeName(type)));
    RETURN_IF_ERROR(ins.Bind(2, name));
    RETURN_IF_ERROR(ins.Bind(3, definition));
    RETURN_IF_ERROR(ins.Bind(4, now));
    RETURN_IF_ERROR(ins.Run());
  }
  if (!tags.empty()) {
    Stmt tag(db_);
    RETURN_IF_ERROR(
        tag.Prepare("INSERT INTO tags (type, name, key, value) VALUES (?1, ?2, ?3, ?4)"));
    for (const auto& [key, value] : tags) {
      RETURN_IF_ERROR(tag.Bind(1, ResourceTypeName(type)));
      RETURN_IF_ERROR(tag.Bind(2, name));
      RETURN_IF_ERROR(tag.Bind(3, key));
      RETURN_IF_ERROR(tag.Bind(4, value));
      RETURN_IF_ERROR(tag.Run());
      RETURN_IF_ERROR(tag.Reset());
    }
  }
  return txn.Commit();
}

Result<ResourceRecord> Catalog::Get(ResourceType type, const std::string& name) {
  MutexLock lock(&mu_);
  Stmt s(db_);
  RETURN_IF_ERROR(s.Prepare(std::string(kSelectColumns) + "WHERE type = ?1 AND name = ?2"));
  RETURN_IF_ERROR(s.Bind(1, ResourceTypeName(type)));
  RETURN_IF_ERROR(s.Bind(2, name));
  ASSIGN_OR_RETURN(bool row, s.Step());
  if (!row) return NotFound(type, name);
  return RowToRecord(type, s);
}

Status Catalog::Update(ResourceType type, const std::string& name, const std::string& definition) {
  MutexLock lock(&mu_);
  Stmt s(db_);
  RETURN_IF_ERROR(
      s.Prepare("UPDATE resources SET definition = ?3, last_update_micros = ?4 "
                "WHERE type = ?1 AND name = ?2"));
  RETURN_IF_ERROR(s.Bind(1, ResourceTypeName(type)));
  RETURN_IF_ERROR(s.Bind(2, name));
  RETURN_IF_ERROR(s.Bind(3, definition));
  RETURN_IF_ERROR(s.Bind(4, clock_->NowMicros()));
  RETURN_IF_ERROR(s.Run());
  if (sqlite3_changes(db_) == 0) return NotFound(type, name);
  return Status::Ok();
}

Status Catalog::Delete(ResourceType type, const std::string& name) {
  MutexLock lock(&mu_);
  Stmt s(db_);
  RETURN_IF_ERROR(s.Prepare("DELETE FROM resources WHERE type = ?1 AND name = ?2"));
  RETURN_IF_ERROR(s.Bind(1, ResourceTypeName(type)));
  RETURN_IF_ERROR(s.Bind(2, name));
  RETURN_IF_ERROR(s.Run());
  // Counts only rows deleted directly; the cascaded tag rows are not included.
  if (sqlite3_changes(db_) == 0) return NotFound(type, name);
  return Status::Ok();
}

Result<ListPage> Catalog::List(ResourceType type, const std::optional<std::string>& page_token,
                               int max_results) {
  if (max_results < 1) return Status::InvalidArgument("maxResults must be at least 1");
  std::optional<std::string> after;
  if (page_token.has_value()) {
    ASSIGN_OR_RETURN(after, ParseToken(type, *page_token));
  }
  MutexLock lock(&mu_);
  Stmt s(db_);
  RETURN_IF_ERROR(s.Prepare(std::string(kSelectColumns) +
                            "WHERE type = ?1 AND (?2 IS NULL OR name > ?2) "
                            "ORDER BY name LIMIT ?3"));
  RETURN_IF_ERROR(s.Bind(1, ResourceTypeName(type)));
  if (after.has_value()) RETURN_IF_ERROR(s.Bind(2, *after));
  // One extra row tells whether another page exists.
  RETURN_IF_ERROR(s.Bind(3, static_cast<int64_t>(max_results) + 1));
  ListPage page;
  while (true) {
    ASSIGN_OR_RETURN(bool row, s.Step());
    if (!row) break;
    if (page.records.size() == static_cast<size_t>(max_results)) {
      page.next_token = MakeToken(type, page.records.back().name);
      break;
    }
    page.records.push_back(RowToRecord(type, s));
  }
  return page;
}

Result<std::vector<ResourceRecord>> Catalog::ListAll(ResourceType type) {
  MutexLock lock(&mu_);
  Stmt s(db_);
  RETURN_IF_ERROR(s.Prepare(std::string(kSelectColumns) + "WHERE type = ?1 ORDER BY name"));
  RETURN_IF_ERROR(s.Bind(1, ResourceTypeName(type)));
  std::vector<ResourceRecord> out;
  while (true) {
    ASSIGN_OR_RETURN(bool row, s.Step());
    if (!row) break;
    out.push_back(RowToRecord(type, s));
  }
  return out;
}

Result<int64_t> Catalog::Count(ResourceType type) {
  MutexLock lock(&mu_);
  Stmt s(db_);
  RETURN_IF_ERROR(s.Prepare("SELECT COUNT(*) FROM resources WHERE type = ?1"));
  RETURN_IF_ERROR(s.Bind(1, ResourceTypeName(type)));
  ASSIGN_OR_RETURN(bool row, s.Step());
  return row ? s.Int(0) : int64_t{0};
}

Status Catalog::PutTags(ResourceType type, const std::string& name,
                        const std::map<std::string, std::string>& tags) {
  MutexLock lock(&mu_);
  Transaction txn(db_);
  RETURN_IF_ERROR(txn.Begin(/*immediate=*/true));
  RETURN_IF_ERROR(CheckExists(type, name));
  Stmt s(db_);
  RETURN_IF_ERROR(
      s.Prepare("INSERT INTO tags (type, name, key, value) VALUES (?1, ?2, ?3, ?4) "
                "ON CONFLICT (type, name, key) DO UPDATE SET value = excluded.value"));
  for (const auto& [key, value] : tags) {
    RETURN_IF_ERROR(s.Bind(1, ResourceTypeName(type)));
    RETURN_IF_ERROR(s.Bind(2, name));
    RETURN_IF_ERROR(s.Bind(3, key));
    RETURN_IF_ERROR(s.Bind(4, value));
    RETURN_IF_ERROR(s.Run());
    RETURN_IF_ERROR(s.Reset());
  }
  return txn.Commit();
}

Status Catalog::RemoveTags(ResourceType type, const std::string& name,
                           const std::vector<std::string>& keys) {
  MutexLock lock(&mu_);
  Transaction txn(db_);
  RETURN_IF_ERROR(txn.Begin(/*immediate=*/true));
  RETURN_IF_ERROR(CheckExists(type, name));
  Stmt s(db_);
  RETURN_IF_ERROR(s.Prepare("DELETE FROM tags WHERE type = ?1 AND name = ?2 AND key = ?3"));
  for (const std::string& key : keys) {
    RETURN_IF_ERROR(s.Bind(1, ResourceTypeName(type)));
    RETURN_IF_ERROR(s.Bind(2, name));
    RETURN_IF_ERROR(s.Bind(3, key));
    RETURN_IF_ERROR(s.Run());
    RETURN_IF_ERROR(s.Reset());
  }
  return txn.Commit();
}

Result<std::map<std::string, std::string>> Catalog::GetTags(ResourceType type,
                                                            const std::string& name) {
  MutexLock lock(&mu_);
  Transaction txn(db_);  // one snapshot for the existence check and the tag rows
  RETURN_IF_ERROR(txn.Begin(/*immediate=*/false));
  RETURN_IF_ERROR(CheckExists(type, name));
  Stmt s(db_);
  RETURN_IF_ERROR(s.Prepare("SELECT key, value FROM tags WHERE type = ?1 AND name = ?2"));
  RETURN_IF_ERROR(s.Bind(1, ResourceTypeName(type)));
  RETURN_IF_ERROR(s.Bind(2, name));
  std::map<std::string, std::string> out;
  while (true) {
    ASSIGN_OR_RETURN(bool row, s.Step());
    if (!row) break;
    out[s.Text(0)] = s.Text(1);
  }
  RETURN_IF_ERROR(txn.Commit());
  return out;
}

Status Catalog::PutSetting(const std::string& key, const std::string& value) {
  MutexLock lock(&mu_);
  Stmt s(db_);
  RETURN_IF_ERROR(
      s.Prepare("INSERT INTO settings (key, value) VALUES (?1, ?2) "
                "ON CONFLICT (key) DO UPDATE SET value = excluded.value"));
  RETURN_IF_ERROR(s.Bind(1, key));
  RETURN_IF_ERROR(s.Bind(2, value));
  return s.Run();
}

Result<std::optional<std::string>> Catalog::GetSetting(const std::string& key) {
  MutexLock lock(&mu_);
  Stmt s(db_);
  RETURN_IF_ERROR(s.Prepare("SELECT value FROM settings WHERE key = ?1"));
  RETURN_IF_ERROR(s.Bind(1, key));
  ASSIGN_OR_RETURN(bool row, s.Step());
  if (!row) return std::optional<std::string>();
  return std::optional<std::string>(s.Text(0));
}

}  // namespace sluice
