#include "things/thing_registry.h"

#include <sqlite3.h>

#include <climits>
#include <string_view>
#include <utility>

#include "catalog/sqlite_db.h"
#include "common/strings.h"
#include "things/shadow_document.h"

namespace sluice {
namespace {

using Json = nlohmann::json;

// Ordered schema migrations. Entry i brings the database from user_version i to i+1.
// Append new entries; never edit or reorder an entry that has shipped.
constexpr const char* kMigrations[] = {
    // 1: registry entries, their attributes (one row each, for attribute filters), shadows.
    R"sql(
CREATE TABLE things (
  name TEXT PRIMARY KEY NOT NULL,
  thing_id TEXT NOT NULL UNIQUE,
  thing_type TEXT,
  version INTEGER NOT NULL,
  creation_micros INTEGER NOT NULL,
  last_update_micros INTEGER NOT NULL
);
CREATE TABLE thing_attributes (
  thing TEXT NOT NULL REFERENCES things (name) ON DELETE CASCADE,
  key TEXT NOT NULL,
  value TEXT NOT NULL,
  PRIMARY KEY (thing, key)
);
CREATE INDEX thing_attributes_by_key ON thing_attributes (key, value);
CREATE TABLE shadows (
  thing TEXT NOT NULL,
  shadow TEXT NOT NULL,
  document TEXT,
  version INTEGER NOT NULL,
  update_micros INTEGER NOT NULL,
  PRIMARY KEY (thing, shadow)
);
)sql",
};
constexpr int kNumMigrations = static_cast<int>(std::size(kMigrations));

// Page tokens are base64 of a kind-specific prefix and the last name returned.
constexpr std::string_view kThingTokenPrefix = "sluice.things.v1\x1f";
constexpr std::string_view kShadowTokenPrefix = "sluice.shadows.v1\x1f";

using sqlite::ExecScript;
using sqlite::QueryInt;
using sqlite::Stmt;
using sqlite::Transaction;

std::string MakeToken(std::string_view prefix, const std::string& last) {
  std::string raw(prefix);
  raw += last;
  return Base64Encode(raw);
}

Result<std::string> ParseToken(std::string_view prefix, const std::string& token) {
  Status invalid = Status::InvalidArgument("Invalid nextToken");
  auto decoded = Base64Decode(token);
  if (!decoded.ok() || Base64Encode(*decoded) != token) return invalid;
  if (decoded->size() <= prefix.size() || !StartsWith(*decoded, prefix)) return invalid;
  return decoded->substr(prefix.size());
}

bool MatchesNamePattern(const std::string& name, size_t max_len) {
  if (name.empty() || name.size() > max_len) return false;
  for (char c : name) {
    bool ok = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
              c == ':' || c == '_' || c == '-';
    if (!ok) return false;
  }
  return true;
}

Status InvalidThingName(const std::string& name) {
  return Status::InvalidArgument("Invalid thing name: '" + name + "'");
}

// Stored shadow: live document (state+metadata) or a tombstone.
struct ShadowRow {
  bool exists = false;  // a row is present (live or tombstone)
  bool live = false;
  Json state = Json::object();
  Json metadata = Json::object();
  int64_t version = 0;
  int64_t update_micros = 0;
};

Result<ShadowRow> LoadShadow(sqlite3* db, const std::string& thing, const std::string& shadow) {
  Stmt s(db);
  RETURN_IF_ERROR(s.Prepare(
      "SELECT document, version, update_micros FROM shadows WHERE thing = ?1 AND shadow = ?2"));
  RETURN_IF_ERROR(s.Bind(1, thing));
  RETURN_IF_ERROR(s.Bind(2, shadow));
  ASSIGN_OR_RETURN(bool row, s.Step());
  ShadowRow out;
  if (!row) return out;
  out.exists = true;
  out.version = s.Int(1);
  out.update_micros = s.Int(2);
  if (!s.IsNull(0)) {
    Json doc = Json::parse(s.Text(0), nullptr, /*allow_exceptions=*/false);
    if (doc.is_discarded() || !doc.is_object() || !doc.contains("state") ||
        !doc.contains("metadata") || !doc["state"].is_object() || !doc["metadata"].is_object()) {
      return Status::Corruption("things: stored shadow document for " + thing + " is unreadable");
    }
    out.live = true;
    out.state = doc["state"];
    out.metadata = doc["metadata"];
  }
  return out;
}

Status CheckAttributeCount(const std::optional<std::string>& thing_type,
                           const std::map<std::string, std::string>& attrs) {
  size_t limit =
      thing_type ? ThingRegistry::kMaxAttributesTyped : ThingRegistry::kMaxAttributesUntyped;
  if (attrs.size() > limit) {
    return Status::InvalidArgument("A thing " + std::string(thing_type ? "with" : "without") +
                                   " a thing type can have at most " + std::to_string(limit) +
                                   " attributes (got " + std::to_string(attrs.size()) + ")");
  }
  return Status::Ok();
}

}  // namespace

bool IsValidThingName(const std::string& name) { return MatchesNamePattern(name, 128); }
bool IsValidShadowName(const std::string& name) { return MatchesNamePattern(name, 64); }

ThingRegistry::ThingRegistry(sqlite3* db, const Clock* clock, std::string region,
                             std::string account_id)
    : db_(db), clock_(clock), region_(std::move(region)), account_id_(std::move(account_id)) {}

ThingRegistry::~ThingRegistry() {
  MutexLock lock(&mu_);
  sqlite3_close_v2(db_);
  db_ = nullptr;
}

int ThingRegistry::LatestSchemaVersion() { return kNumMigrations; }

Result<std::unique_ptr<ThingRegistry>> ThingRegistry::Open(const std::string& path,
                                                           const Clock* clock, std::string region,
                                                           std::string account_id) {
  if (clock == nullptr) return Status::InvalidArgument("things: clock is required");
  ASSIGN_OR_RETURN(sqlite3 * db, sqlite::OpenDurable(path, nullptr, "things.db"));
  std::unique_ptr<ThingRegistry> reg(
      new ThingRegistry(db, clock, std::move(region), std::move(account_id)));
  RETURN_IF_ERROR(reg->Migrate());
  return reg;
}

Status ThingRegistry::Migrate() {
  MutexLock lock(&mu_);
  return sqlite::Migrate(db_, kMigrations, kNumMigrations, "things.db").status();
}

std::string ThingRegistry::ThingArn(const std::string& name) const {
  return "arn:aws:iot:" + region_ + ":" + account_id_ + ":thing/" + name;
}

Json ThingRegistry::DescribeJson(const ThingRecord& r) const {
  Json out = Json::object();
  out["defaultClientId"] = r.name;
  out["thingName"] = r.name;
  out["thingId"] = r.thing_id;
  out["thingArn"] = ThingArn(r.name);
  if (r.thing_type) out["thingTypeName"] = *r.thing_type;
  out["attributes"] = Json(r.attributes);
  out["version"] = r.version;
  return out;
}

Result<std::optional<ThingRecord>> ThingRegistry::LoadThing(const std::string& name) {
  Stmt s(db_);
  RETURN_IF_ERROR(
      s.Prepare("SELECT thing_id, thing_type, version, creation_micros, last_update_micros "
                "FROM things WHERE name = ?1"));
  RETURN_IF_ERROR(s.Bind(1, name));
  ASSIGN_OR_RETURN(bool row, s.Step());
  if (!row) return std::optional<ThingRecord>();
  ThingRecord r;
  r.name = name;
  r.thing_id = s.Text(0);
  if (!s.IsNull(1)) r.thing_type = s.Text(1);
  r.version = s.Int(2);
  r.creation_micros = s.Int(3);
  r.last_update_micros = s.Int(4);
  Stmt a(db_);
  RETURN_IF_ERROR(a.Prepare("SELECT key, value FROM thing_attributes WHERE thing = ?1"));
  RETURN_IF_ERROR(a.Bind(1, name));
  while (true) {
    ASSIGN_OR_RETURN(bool more, a.Step());
    if (!more) break;
    r.attributes[a.Text(0)] = a.Text(1);
  }
  return std::optional<ThingRecord>(std::move(r));
}

Status ThingRegistry::WriteAttributes(const std::string& name,
                                      const std::map<std::string, std::string>& attrs) {
  {
    Stmt del(db_);
    RETURN_IF_ERROR(del.Prepare("DELETE FROM thing_attributes WHERE thing = ?1"));
    RETURN_IF_ERROR(del.Bind(1, name));
    RETURN_IF_ERROR(del.Run());
  }
  Stmt ins(db_);
  RETURN_IF_ERROR(
      ins.Prepare("INSERT INTO thing_attributes (thing, key, value) VALUES (?1, ?2, ?3)"));
  for (const auto& [key, value] : attrs) {
    RETURN_IF_ERROR(ins.Bind(1, name));
    RETURN_IF_ERROR(ins.Bind(2, key));
    RETURN_IF_ERROR(ins.Bind(3, value));
    RETURN_IF_ERROR(ins.Run());
    RETURN_IF_ERROR(ins.Reset());
  }
  return Status::Ok();
}

Result<ThingRecord> ThingRegistry::CreateThing(const std::string& name, const ThingSpec& spec) {
  if (!IsValidThingName(name)) return InvalidThingName(name);
  MutexLock lock(&mu_);
  Transaction txn(db_);
  RETURN_IF_ERROR(txn.Begin());
  ASSIGN_OR_RETURN(std::optional<ThingRecord> existing, LoadThing(name));
  if (existing) {
    if (existing->thing_type == spec.thing_type && existing->attributes == spec.attributes) {
      return std::move(*existing);
    }
    return Status::AlreadyExists("Thing " + name +
                                 " already exists in account with different attributes")
        .WithResource(existing->thing_id, ThingArn(name));
  }
  RETURN_IF_ERROR(CheckAttributeCount(spec.thing_type, spec.attributes));
  ThingRecord r;
  r.name = name;
  r.thing_id = NewUuid();
  r.thing_type = spec.thing_type;
  r.attributes = spec.attributes;
  r.version = 1;
  r.creation_micros = r.last_update_micros = clock_->NowMicros();
  {
    Stmt ins(db_);
    RETURN_IF_ERROR(
        ins.Prepare("INSERT INTO things (name, thing_id, thing_type, version, creation_micros, "
                    "last_update_micros) VALUES (?1, ?2, ?3, ?4, ?5, ?5)"));
    RETURN_IF_ERROR(ins.Bind(1, name));
    RETURN_IF_ERROR(ins.Bind(2, r.thing_id));
    RETURN_IF_ERROR(ins.BindOpt(3, r.thing_type));
    RETURN_IF_ERROR(ins.Bind(4, r.version));
    RETURN_IF_ERROR(ins.Bind(5, r.creation_micros));
    RETURN_IF_ERROR(ins.Run());
  }
  RETURN_IF_ERROR(WriteAttributes(name, r.attributes));
  RETURN_IF_ERROR(txn.Commit());
  return r;
}

Result<ThingRecord> ThingRegistry::GetThing(const std::string& name) {
  MutexLock lock(&mu_);
  ASSIGN_OR_RETURN(std::optional<ThingRecord> r, LoadThing(name));
  if (!r) return Status::NotFound("Thing " + name + " cannot be found.");
  return std::move(*r);
}

Result<WriteOutcome> ThingRegistry::UpdateThing(const std::string& name,
                                                const ThingUpdate& update) {
  if (update.thing_type && update.remove_thing_type) {
    return Status::InvalidArgument("Cannot both set a thing type and remove the thing type");
  }
  MutexLock lock(&mu_);
  Transaction txn(db_);
  RETURN_IF_ERROR(txn.Begin());
  ASSIGN_OR_RETURN(std::optional<ThingRecord> r, LoadThing(name));
  if (!r) return Status::NotFound("Thing " + name + " cannot be found.");
  if (update.expected_version && *update.expected_version != r->version) {
    return WriteOutcome::kVersionConflict;
  }
  if (update.thing_type) r->thing_type = update.thing_type;
  if (update.remove_thing_type) r->thing_type.reset();
  if (update.attributes) {
    std::map<std::string, std::string> attrs;
    if (update.merge) attrs = r->attributes;
    for (const auto& [key, value] : *update.attributes) {
      if (value.empty()) {
        attrs.erase(key);
      } else {
        attrs[key] = value;
      }
    }
    r->attributes = std::move(attrs);
  }
  RETURN_IF_ERROR(CheckAttributeCount(r->thing_type, r->attributes));
  if (update.attributes) RETURN_IF_ERROR(WriteAttributes(name, r->attributes));
  {
    Stmt up(db_);
    RETURN_IF_ERROR(
        up.Prepare("UPDATE things SET thing_type = ?2, version = version + 1, "
                   "last_update_micros = ?3 WHERE name = ?1"));
    RETURN_IF_ERROR(up.Bind(1, name));
    RETURN_IF_ERROR(up.BindOpt(2, r->thing_type));
    RETURN_IF_ERROR(up.Bind(3, clock_->NowMicros()));
    RETURN_IF_ERROR(up.Run());
  }
  RETURN_IF_ERROR(txn.Commit());
  return WriteOutcome::kDone;
}

Result<WriteOutcome> ThingRegistry::DeleteThing(const std::string& name,
                                                std::optional<int64_t> expected_version) {
  MutexLock lock(&mu_);
  Transaction txn(db_);
  RETURN_IF_ERROR(txn.Begin());
  ASSIGN_OR_RETURN(std::optional<ThingRecord> r, LoadThing(name));
  if (!r) return WriteOutcome::kDone;
  if (expected_version && *expected_version != r->version) return WriteOutcome::kVersionConflict;
  Stmt del(db_);
  RETURN_IF_ERROR(del.Prepare("DELETE FROM things WHERE name = ?1"));
  RETURN_IF_ERROR(del.Bind(1, name));
  RETURN_IF_ERROR(del.Run());
  RETURN_IF_ERROR(txn.Commit());
  return WriteOutcome::kDone;
}

Result<ThingPage> ThingRegistry::ListThings(const ThingFilter& filter,
                                            const std::optional<std::string>& token,
                                            int max_results) {
  if (max_results < 1) return Status::InvalidArgument("maxResults must be at least 1");
  if (filter.attribute_value && !filter.attribute_name) {
    return Status::InvalidArgument("attributeValue requires attributeName");
  }
  std::string after;
  if (token) {
    ASSIGN_OR_RETURN(after, ParseToken(kThingTokenPrefix, *token));
  }
  std::vector<std::string> names;
  {
    MutexLock lock(&mu_);
    // One read transaction so the page is a consistent snapshot.
    RETURN_IF_ERROR(ExecScript(db_, "BEGIN"));
    struct EndRead {
      sqlite3* db;
      ~EndRead() {
        Status ignored = ExecScript(db, "COMMIT");
        (void)ignored;
      }
    } end_read{db_};
    std::string sql = "SELECT t.name FROM things t WHERE t.name > ?1";
    if (filter.thing_type) sql += " AND t.thing_type = ?2";
    if (filter.attribute_name) {
      sql += " AND EXISTS (SELECT 1 FROM thing_attributes a WHERE a.thing = t.name AND a.key = ?3";
      if (filter.attribute_value) {
        sql += filter.attribute_value_prefix ? " AND substr(a.value, 1, length(?4)) = ?4"
                                             : " AND a.value = ?4";
      }
      sql += ")";
    }
    sql += " ORDER BY t.name LIMIT ?5";
    Stmt s(db_);
    RETURN_IF_ERROR(s.Prepare(sql));
    RETURN_IF_ERROR(s.Bind(1, after));
    if (filter.thing_type) RETURN_IF_ERROR(s.Bind(2, *filter.thing_type));
    if (filter.attribute_name) RETURN_IF_ERROR(s.Bind(3, *filter.attribute_name));
    if (filter.attribute_value) RETURN_IF_ERROR(s.Bind(4, *filter.attribute_value));
    RETURN_IF_ERROR(s.Bind(5, static_cast<int64_t>(max_results) + 1));
    while (true) {
      ASSIGN_OR_RETURN(bool row, s.Step());
      if (!row) break;
      names.push_back(s.Text(0));
    }
    ThingPage page;
    bool more = names.size() > static_cast<size_t>(max_results);
    if (more) names.resize(static_cast<size_t>(max_results));
    for (const std::string& n : names) {
      ASSIGN_OR_RETURN(std::optional<ThingRecord> r, LoadThing(n));
      if (r) page.things.push_back(std::move(*r));
    }
    if (more && !names.empty()) page.next_token = MakeToken(kThingTokenPrefix, names.back());
    return page;
  }
}

Result<std::optional<Json>> ThingRegistry::GetShadowDocument(const std::string& thing,
                                                             const std::string& shadow) {
  MutexLock lock(&mu_);
  ASSIGN_OR_RETURN(ShadowRow row, LoadShadow(db_, thing, shadow));
  if (!row.live) return std::optional<Json>();
  return std::optional<Json>(
      shadow::GetDocument(row.state, row.metadata, row.version, clock_->NowSeconds()));
}

Result<ShadowUpdateResult> ThingRegistry::UpdateShadow(const std::string& thing,
                                                       const std::string& shadow,
                                                       const Json& request) {
  if (!IsValidThingName(thing)) return InvalidThingName(thing);
  if (!shadow.empty() && !IsValidShadowName(shadow)) {
    return Status::InvalidArgument("Invalid shadow name: '" + shadow + "'");
  }
  RETURN_IF_ERROR(shadow::ValidateUpdateRequest(request));
  MutexLock lock(&mu_);
  Transaction txn(db_);
  RETURN_IF_ERROR(txn.Begin());
  ASSIGN_OR_RETURN(ShadowRow row, LoadShadow(db_, thing, shadow));
  int64_t now_micros = clock_->NowMicros();
  int64_t current = 0;
  if (row.live) {
    current = row.version;
  } else if (row.exists && now_micros - row.update_micros < kShadowVersionMemoryMicros) {
    current = row.version;
  }
  ShadowUpdateResult result;
  if (request.contains("version") && request["version"].get<int64_t>() != current) {
    result.outcome = ShadowUpdateResult::Outcome::kVersionConflict;
    return result;
  }
  int64_t ts = now_micros / 1000000;
  Json state = row.state;
  Json metadata = row.metadata;
  shadow::ApplyUpdate(request["state"], ts, &state, &metadata);
  if (shadow::StateBytes(state) > shadow::kMaxStateBytes) {
    result.outcome = ShadowUpdateResult::Outcome::kTooLarge;
    return result;
  }
  int64_t version = current + 1;
  Json doc = {{"state", state}, {"metadata", metadata}};
  {
    Stmt up(db_);
    RETURN_IF_ERROR(
        up.Prepare("INSERT INTO shadows (thing, shadow, document, version, update_micros) "
                   "VALUES (?1, ?2, ?3, ?4, ?5) ON CONFLICT (thing, shadow) DO UPDATE SET "
                   "document = excluded.document, version = excluded.version, "
                   "update_micros = excluded.update_micros"));
    RETURN_IF_ERROR(up.Bind(1, thing));
    RETURN_IF_ERROR(up.Bind(2, shadow));
    RETURN_IF_ERROR(up.Bind(3, doc.dump(-1, ' ', false, Json::error_handler_t::replace)));
    RETURN_IF_ERROR(up.Bind(4, version));
    RETURN_IF_ERROR(up.Bind(5, now_micros));
    RETURN_IF_ERROR(up.Run());
  }
  RETURN_IF_ERROR(txn.Commit());
  result.accepted = shadow::AcceptedDocument(request, version, ts);
  return result;
}

Result<std::optional<Json>> ThingRegistry::DeleteShadow(const std::string& thing,
                                                        const std::string& shadow) {
  MutexLock lock(&mu_);
  Transaction txn(db_);
  RETURN_IF_ERROR(txn.Begin());
  ASSIGN_OR_RETURN(ShadowRow row, LoadShadow(db_, thing, shadow));
  if (!row.live) return std::optional<Json>();
  int64_t now_micros = clock_->NowMicros();
  {
    Stmt up(db_);
    RETURN_IF_ERROR(
        up.Prepare("UPDATE shadows SET document = NULL, update_micros = ?3 "
                   "WHERE thing = ?1 AND shadow = ?2"));
    RETURN_IF_ERROR(up.Bind(1, thing));
    RETURN_IF_ERROR(up.Bind(2, shadow));
    RETURN_IF_ERROR(up.Bind(3, now_micros));
    RETURN_IF_ERROR(up.Run());
  }
  RETURN_IF_ERROR(txn.Commit());
  return std::optional<Json>(Json{{"version", row.version}, {"timestamp", now_micros / 1000000}});
}

Result<ThingRegistry::ShadowNamePage> ThingRegistry::ListNamedShadows(
    const std::string& thing, const std::optional<std::string>& token, int page_size) {
  if (page_size < 1) return Status::InvalidArgument("pageSize must be at least 1");
  std::string after;
  if (token) {
    ASSIGN_OR_RETURN(after, ParseToken(kShadowTokenPrefix, *token));
  }
  MutexLock lock(&mu_);
  Stmt s(db_);
  RETURN_IF_ERROR(
      s.Prepare("SELECT shadow FROM shadows WHERE thing = ?1 AND shadow > ?2 AND shadow <> '' "
                "AND document IS NOT NULL ORDER BY shadow LIMIT ?3"));
  RETURN_IF_ERROR(s.Bind(1, thing));
  RETURN_IF_ERROR(s.Bind(2, after));
  RETURN_IF_ERROR(s.Bind(3, static_cast<int64_t>(page_size) + 1));
  ShadowNamePage page;
  while (true) {
    ASSIGN_OR_RETURN(bool row, s.Step());
    if (!row) break;
    page.names.push_back(s.Text(0));
  }
  if (page.names.size() > static_cast<size_t>(page_size)) {
    page.names.resize(static_cast<size_t>(page_size));
    page.next_token = MakeToken(kShadowTokenPrefix, page.names.back());
  }
  return page;
}

Result<std::optional<Json>> ThingRegistry::DescribeThing(const std::string& name) {
  MutexLock lock(&mu_);
  ASSIGN_OR_RETURN(std::optional<ThingRecord> r, LoadThing(name));
  if (!r) return std::optional<Json>();
  return std::optional<Json>(DescribeJson(*r));
}

Result<std::optional<Json>> ThingRegistry::GetShadow(const std::string& name) {
  return GetShadowDocument(name, "");
}

}  // namespace sluice
