#include "catalog/sqlite_db.h"

#include <climits>

#include "common/strings.h"

namespace sluice::sqlite {
namespace {

constexpr int kBusyTimeoutMillis = 5000;

}  // namespace

Status Error(sqlite3* db, int rc, std::string_view what) {
  std::string text(what);
  text += ": ";
  text += db != nullptr ? sqlite3_errmsg(db) : sqlite3_errstr(rc);
  text += " (";
  text += sqlite3_errstr(rc);
  text += ")";
  int primary = rc & 0xff;
  if (primary == SQLITE_CORRUPT || primary == SQLITE_NOTADB) return Status::Corruption(text);
  return Status::IoError(text);
}

Result<sqlite3*> OpenDurable(const std::string& path, const char* vfs_name,
                             std::string_view label) {
  std::string l(label);
  sqlite3* db = nullptr;
  int rc = sqlite3_open_v2(path.c_str(), &db, SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE, vfs_name);
  if (rc != SQLITE_OK) {
    Status st = Error(db, rc, l + ": open " + path);
    sqlite3_close_v2(db);
    return st;
  }
  sqlite3_extended_result_codes(db, 1);
  auto fail = [db](Status st) {
    sqlite3_close_v2(db);
    return st;
  };
  rc = sqlite3_busy_timeout(db, kBusyTimeoutMillis);
  if (rc != SQLITE_OK) return fail(Error(db, rc, l + ": busy_timeout"));
  {
    Stmt s(db);
    Status st = s.Prepare("PRAGMA journal_mode=WAL");
    if (!st.ok()) return fail(st);
    auto row = s.Step();
    if (!row.ok()) return fail(row.status());
    std::string mode = *row ? ToLower(s.Text(0)) : "";
    if (mode != "wal") {
      return fail(Status::IoError(l + ": could not enable WAL journal mode (got '" + mode + "')"));
    }
  }
  Status st = ExecScript(db, "PRAGMA synchronous=FULL; PRAGMA foreign_keys=ON;");
  if (!st.ok()) return fail(st);
  auto fk = QueryInt(db, "PRAGMA foreign_keys");
  if (!fk.ok()) return fail(fk.status());
  if (*fk != 1) return fail(Status::Internal(l + ": foreign keys unavailable"));
  return db;
}

Result<int> Migrate(sqlite3* db, const char* const* migrations, int count, std::string_view label) {
  std::string l(label);
  while (true) {
    Transaction txn(db);
    RETURN_IF_ERROR(txn.Begin(/*immediate=*/true));
    // Read inside the write transaction so concurrent openers cannot both apply a step.
    ASSIGN_OR_RETURN(int64_t version, QueryInt(db, "PRAGMA user_version"));
    if (version < 0) {
      return Status::Corruption(l + " schema version " + std::to_string(version) + " is invalid");
    }
    if (version > count) {
      return Status::Corruption(l + " schema version " + std::to_string(version) +
                                " is newer than this Sluice (" + std::to_string(count) + ")");
    }
    if (version == count) {
      RETURN_IF_ERROR(txn.Commit());
      return static_cast<int>(version);
    }
    Status st = ExecScript(db, migrations[version]);
    if (!st.ok()) {
      return Status(st.code(),
                    l + " migration " + std::to_string(version + 1) + " failed: " + st.message());
    }
    // PRAGMA takes no bound parameters; the value is an integer we computed.
    RETURN_IF_ERROR(ExecScript(db, "PRAGMA user_version=" + std::to_string(version + 1)));
    RETURN_IF_ERROR(txn.Commit());
  }
}

Status ExecScript(sqlite3* db, std::string_view script) {
  const char* p = script.data();
  const char* end = script.data() + script.size();
  while (p < end) {
    sqlite3_stmt* raw = nullptr;
    const char* tail = nullptr;
    int rc = sqlite3_prepare_v2(db, p, static_cast<int>(end - p), &raw, &tail);
    if (rc != SQLITE_OK) {
      sqlite3_finalize(raw);
      return Error(db, rc, "prepare script");
    }
    if (raw == nullptr) break;  // only whitespace or comments remained
    while ((rc = sqlite3_step(raw)) == SQLITE_ROW) {
    }
    sqlite3_finalize(raw);
    if (rc != SQLITE_DONE) return Error(db, rc, "run script");
    p = tail;
  }
  return Status::Ok();
}

Status Stmt::Check(int rc, const char* what) {
  if (rc != SQLITE_OK) return Error(db_, rc, what);
  return Status::Ok();
}

Status Stmt::Prepare(std::string_view sql) {
  if (sql.size() > INT_MAX) return Status::InvalidArgument("sqlite: statement too long");
  return Check(sqlite3_prepare_v2(db_, sql.data(), static_cast<int>(sql.size()), &stmt_, nullptr),
               "prepare");
}

Status Stmt::Bind(int index, std::string_view value) {
  if (value.size() > INT_MAX) return Status::InvalidArgument("sqlite: value too long");
  return Check(sqlite3_bind_text(stmt_, index, value.data(), static_cast<int>(value.size()),
                                 SQLITE_TRANSIENT),
               "bind");
}

Status Stmt::Bind(int index, int64_t value) {
  return Check(sqlite3_bind_int64(stmt_, index, value), "bind");
}

Status Stmt::BindNull(int index) { return Check(sqlite3_bind_null(stmt_, index), "bind"); }

Result<bool> Stmt::Step() {
  int rc = sqlite3_step(stmt_);
  if (rc == SQLITE_ROW) return true;
  if (rc == SQLITE_DONE) return false;
  return Error(db_, rc, "step");
}

Status Stmt::Run() {
  while (true) {
    ASSIGN_OR_RETURN(bool row, Step());
    if (!row) return Status::Ok();
  }
}

std::string Stmt::Text(int col) const {
  const unsigned char* p = sqlite3_column_text(stmt_, col);
  int n = sqlite3_column_bytes(stmt_, col);
  if (p == nullptr || n <= 0) return std::string();
  return std::string(reinterpret_cast<const char*>(p), static_cast<size_t>(n));
}

Result<int64_t> QueryInt(sqlite3* db, std::string_view sql) {
  Stmt s(db);
  RETURN_IF_ERROR(s.Prepare(sql));
  ASSIGN_OR_RETURN(bool row, s.Step());
  if (!row) return Status::Internal("sqlite: no row from " + std::string(sql));
  return s.Int(0);
}

Transaction::~Transaction() {
  if (open_ && !sqlite3_get_autocommit(db_)) {
    // Best effort; SQLite may already have rolled back after an I/O error.
    Status ignored = ExecScript(db_, "ROLLBACK");
    (void)ignored;
  }
}

Status Transaction::Begin(bool immediate) {
  RETURN_IF_ERROR(ExecScript(db_, immediate ? "BEGIN IMMEDIATE" : "BEGIN"));
  open_ = true;
  return Status::Ok();
}

Status Transaction::Commit() {
  Status st = ExecScript(db_, "COMMIT");
  if (st.ok()) open_ = false;
  return st;
}

}  // namespace sluice::sqlite
