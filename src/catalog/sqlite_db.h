// Small SQLite helpers shared by every durable SQLite database in Sluice (the catalog,
// the thing registry): opening with the durability settings, ordered migrations,
// prepared statements and transactions, all reporting Status (kCorruption for
// SQLITE_CORRUPT/NOTADB, kIoError otherwise). `label` names the database in messages.
// Thread-safety: none of these lock; callers serialise use of a connection.
#pragma once

#include <sqlite3.h>

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

#include "common/status.h"

namespace sluice::sqlite {

Status Error(sqlite3* db, int rc, std::string_view what);

// sqlite3_open_v2 + extended result codes + busy timeout + WAL (verified) +
// synchronous=FULL + foreign_keys=ON. The caller owns the returned handle.
Result<sqlite3*> OpenDurable(const std::string& path, const char* vfs_name, std::string_view label);

// Applies `migrations[user_version..count)` one per IMMEDIATE transaction together with the
// user_version bump; refuses a database newer than `count`. Returns the final version.
Result<int> Migrate(sqlite3* db, const char* const* migrations, int count, std::string_view label);

// Runs every statement of a constant SQL script (no parameters) in order.
Status ExecScript(sqlite3* db, std::string_view script);

// A prepared statement finalized on scope exit.
class Stmt {
 public:
  explicit Stmt(sqlite3* db) : db_(db) {}
  ~Stmt() { sqlite3_finalize(stmt_); }
  Stmt(const Stmt&) = delete;
  Stmt& operator=(const Stmt&) = delete;

  Status Prepare(std::string_view sql);
  Status Bind(int index, std::string_view value);
  Status Bind(int index, int64_t value);
  Status BindNull(int index);
  Status BindOpt(int index, const std::optional<std::string>& value) {
    return value ? Bind(index, std::string_view(*value)) : BindNull(index);
  }
  // true: a row is available; false: the statement is done.
  Result<bool> Step();
  // Runs a statement expected to produce no rows (rows are ignored).
  Status Run();
  Status Reset() {
    sqlite3_reset(stmt_);
    sqlite3_clear_bindings(stmt_);
    return Status::Ok();
  }
  std::string Text(int col) const;
  int64_t Int(int col) const { return sqlite3_column_int64(stmt_, col); }
  bool IsNull(int col) const { return sqlite3_column_type(stmt_, col) == SQLITE_NULL; }

 private:
  Status Check(int rc, const char* what);

  sqlite3* db_;
  sqlite3_stmt* stmt_ = nullptr;
};

Result<int64_t> QueryInt(sqlite3* db, std::string_view sql);

// An explicit transaction rolled back on scope exit unless committed.
class Transaction {
 public:
  explicit Transaction(sqlite3* db) : db_(db) {}
  ~Transaction();
  Transaction(const Transaction&) = delete;
  Transaction& operator=(const Transaction&) = delete;

  Status Begin(bool immediate = true);
  Status Commit();

 private:
  sqlite3* db_;
  bool open_ = false;
};

}  // namespace sluice::sqlite
