// DuckDB implementation of DatastoreStore. See datastore_store.h for the storage model,
// typing rules and threading.
#include "datastore/datastore_store.h"

#include <duckdb.h>

#include <cctype>
#include <cerrno>
#include <charconv>
#include <cmath>
#include <cstdlib>
#include <filesystem>
#include <limits>
#include <map>
#include <set>
#include <unordered_map>
#include <utility>
#include <variant>

#include "common/strings.h"
#include "common/thread_annotations.h"

namespace sluice {
namespace {

using json = nlohmann::json;

constexpr int64_t kMicrosPerSecond = 1000000;
constexpr int64_t kMicrosPerDay = 86400 * kMicrosPerSecond;
constexpr size_t kMaxIdleReaders = 4;

const char* const kPositionsTable = "__sluice_positions";
const char* const kDatastoresTable = "__sluice_datastores";
const char* const kDtColumn = "__dt";
const char* const kPartitionPrefix = "__partition_";
const char* const kTimeColumns[] = {"__year", "__month", "__day", "__hour"};

int64_t FloorDiv(int64_t a, int64_t b) {
  int64_t q = a / b;
  if ((a % b != 0) && ((a < 0) != (b < 0))) --q;
  return q;
}

std::string QuoteIdent(std::string_view name) {
  std::string out = "\"";
  for (char c : name) {
    if (c == '"') out += '"';
    out += c;
  }
  out += '"';
  return out;
}

// ---------------------------------------------------------------------------------------
// Thin RAII helpers over the DuckDB C API.

class DuckResult {
 public:
  DuckResult() = default;
  ~DuckResult() { duckdb_destroy_result(&r_); }
  DuckResult(const DuckResult&) = delete;
  DuckResult& operator=(const DuckResult&) = delete;
  duckdb_result* get() { return &r_; }

 private:
  duckdb_result r_{};
};

class DuckPrepared {
 public:
  DuckPrepared() = default;
  ~DuckPrepared() {
    if (p_ != nullptr) duckdb_destroy_prepare(&p_);
  }
  DuckPrepared(const DuckPrepared&) = delete;
  DuckPrepared& operator=(const DuckPrepared&) = delete;
  duckdb_prepared_statement* out() { return &p_; }
  duckdb_prepared_statement get() const { return p_; }

 private:
  duckdb_prepared_statement p_ = nullptr;
};

class DuckAppender {
 public:
  DuckAppender() = default;
  ~DuckAppender() {
    if (a_ != nullptr) duckdb_appender_destroy(&a_);
  }
  DuckAppender(const DuckAppender&) = delete;
  DuckAppender& operator=(const DuckAppender&) = delete;
  duckdb_appender* out() { return &a_; }
  duckdb_appender get() const { return a_; }
  std::string Error() const {
    if (a_ == nullptr) return "appender not created";
    duckdb_error_data e = duckdb_appender_error_data(a_);
    std::string msg = (e != nullptr && duckdb_error_data_has_error(e))
                          ? duckdb_error_data_message(e)
                          : "appender error";
    if (e != nullptr) duckdb_destroy_error_data(&e);
    return msg;
  }

 private:
  duckdb_appender a_ = nullptr;
};

Status StatusFromResult(duckdb_result* r, std::string_view what) {
  const char* msg = duckdb_result_error(r);
  std::string text = std::string(what) + ": " + (msg != nullptr ? msg : "unknown DuckDB error");
  if (duckdb_result_error_type(r) == DUCKDB_ERROR_IO) return Status::IoError(std::move(text));
  return Status::Internal(std::move(text));
}

using Param = std::variant<std::string, int64_t, uint64_t>;

// Renders every value of a materialised result as text.
QueryResult CollectResult(duckdb_result* r) {
  QueryResult out;
  idx_t ncols = duckdb_column_count(r);
  idx_t nrows = duckdb_row_count(r);
  out.columns.reserve(ncols);
  for (idx_t c = 0; c < ncols; ++c) {
    const char* name = duckdb_column_name(r, c);
    out.columns.emplace_back(name != nullptr ? name : "");
  }
  out.rows.reserve(nrows);
  for (idx_t row = 0; row < nrows; ++row) {
    std::vector<std::optional<std::string>> values;
    values.reserve(ncols);
    for (idx_t c = 0; c < ncols; ++c) {
      if (duckdb_value_is_null(r, c, row)) {
        values.emplace_back(std::nullopt);
        continue;
      }
      duckdb_string s = duckdb_value_string(r, c, row);
      if (s.data == nullptr) {
        values.emplace_back(std::nullopt);
        continue;
      }
      values.emplace_back(std::string(s.data, s.size));
      duckdb_free(s.data);
    }
    out.rows.push_back(std::move(values));
  }
  return out;
}

Status BindParams(duckdb_prepared_statement ps, const std::vector<Param>& params,
                  const std::string& sql) {
  if (duckdb_clear_bindings(ps) == DuckDBError) return Status::Internal(sql + ": cannot reset");
  for (size_t i = 0; i < params.size(); ++i) {
    idx_t idx = i + 1;
    duckdb_state st = DuckDBError;
    if (const auto* s = std::get_if<std::string>(&params[i])) {
      st = duckdb_bind_varchar_length(ps, idx, s->data(), s->size());
    } else if (const auto* v = std::get_if<int64_t>(&params[i])) {
      st = duckdb_bind_int64(ps, idx, *v);
    } else if (const auto* u = std::get_if<uint64_t>(&params[i])) {
      st = duckdb_bind_uint64(ps, idx, *u);
    }
    if (st == DuckDBError) return Status::Internal(sql + ": cannot bind parameter");
  }
  return Status::Ok();
}

// Executes a prepared statement with `params`. Fills `out` and `changed` if given.
Status ExecPrepared(duckdb_prepared_statement ps, const std::string& sql,
                    const std::vector<Param>& params, QueryResult* out, uint64_t* changed) {
  RETURN_IF_ERROR(BindParams(ps, params, sql));
  DuckResult result;
  if (duckdb_execute_prepared(ps, result.get()) == DuckDBError) {
    return StatusFromResult(result.get(), sql);
  }
  if (changed != nullptr) *changed = duckdb_rows_changed(result.get());
  if (out != nullptr) *out = CollectResult(result.get());
  return Status::Ok();
}

// Runs one statement, binding `params` ($1.. in order). Fills `out` and `changed` if given.
Status Run(duckdb_connection con, const std::string& sql, const std::vector<Param>& params = {},
           QueryResult* out = nullptr, uint64_t* changed = nullptr) {
  if (params.empty()) {
    DuckResult result;
    if (duckdb_query(con, sql.c_str(), result.get()) == DuckDBError) {
      return StatusFromResult(result.get(), sql);
    }
    if (changed != nullptr) *changed = duckdb_rows_changed(result.get());
    if (out != nullptr) *out = CollectResult(result.get());
    return Status::Ok();
  }
  DuckPrepared ps;
  if (duckdb_prepare(con, sql.c_str(), ps.out()) == DuckDBError) {
    const char* err = duckdb_prepare_error(ps.get());
    return Status::Internal(sql + ": " + (err != nullptr ? err : "prepare failed"));
  }
  return ExecPrepared(ps.get(), sql, params, out, changed);
}

// ---------------------------------------------------------------------------------------
// Types.

// JSON kinds that drive inference.
enum class Kind { kNull, kBoolean, kBigint, kDouble, kVarchar, kJson };

const char* KindType(Kind k) {
  switch (k) {
    case Kind::kBoolean:
      return "BOOLEAN";
    case Kind::kBigint:
      return "BIGINT";
    case Kind::kDouble:
      return "DOUBLE";
    case Kind::kVarchar:
      return "VARCHAR";
    case Kind::kJson:
      return "JSON";
    case Kind::kNull:
      break;
  }
  return "";
}

Kind KindOf(const json& v) {
  switch (v.type()) {
    case json::value_t::boolean:
      return Kind::kBoolean;
    case json::value_t::number_integer:
      return Kind::kBigint;
    case json::value_t::number_unsigned:
      return v.get<uint64_t>() > static_cast<uint64_t>(std::numeric_limits<int64_t>::max())
                 ? Kind::kDouble
                 : Kind::kBigint;
    case json::value_t::number_float:
      return Kind::kDouble;
    case json::value_t::string:
      return Kind::kVarchar;
    case json::value_t::object:
    case json::value_t::array:
      return Kind::kJson;
    default:
      return Kind::kNull;
  }
}

// The type an inferred column must have to hold both `current` and a value of kind `k`.
std::string WidenType(const std::string& current, Kind k) {
  std::string t = KindType(k);
  if (current.empty() || current == t) return t;
  if ((current == "BIGINT" && t == "DOUBLE") || (current == "DOUBLE" && t == "BIGINT")) {
    return "DOUBLE";
  }
  return "VARCHAR";
}

// Maps a Glue/Athena column type to a DuckDB type.
Result<std::string> MapDeclaredType(const std::string& glue) {
  std::string t = ToLower(Trim(glue));
  if (t == "string" || t == "binary") return std::string("VARCHAR");
  if (StartsWith(t, "varchar") || StartsWith(t, "char")) {
    std::string rest = Trim(t.substr(StartsWith(t, "varchar") ? 7 : 4));
    if (rest.empty() || (rest.front() == '(' && rest.back() == ')')) return std::string("VARCHAR");
  }
  if (t == "tinyint") return std::string("TINYINT");
  if (t == "smallint") return std::string("SMALLINT");
  if (t == "int" || t == "integer") return std::string("INTEGER");
  if (t == "bigint") return std::string("BIGINT");
  if (t == "float" || t == "real") return std::string("FLOAT");
  if (t == "double") return std::string("DOUBLE");
  if (t == "boolean") return std::string("BOOLEAN");
  if (t == "timestamp") return std::string("TIMESTAMP");
  if (t == "date") return std::string("DATE");
  if (StartsWith(t, "decimal")) {
    std::string rest = Trim(t.substr(7));
    int p = 10;
    int s = 0;
    if (!rest.empty()) {
      if (rest.front() != '(' || rest.back() != ')') {
        return Status::InvalidArgument("unsupported column type: " + glue);
      }
      std::vector<std::string> parts = Split(rest.substr(1, rest.size() - 2), ',');
      if (parts.empty() || parts.size() > 2) {
        return Status::InvalidArgument("unsupported column type: " + glue);
      }
      auto parse = [](const std::string& x, int* v) {
        std::string y = Trim(x);
        auto [ptr, ec] = std::from_chars(y.data(), y.data() + y.size(), *v);
        return ec == std::errc() && ptr == y.data() + y.size() && !y.empty();
      };
      if (!parse(parts[0], &p) || (parts.size() == 2 && !parse(parts[1], &s))) {
        return Status::InvalidArgument("unsupported column type: " + glue);
      }
    }
    if (p < 1 || p > 38 || s < 0 || s > p) {
      return Status::InvalidArgument("decimal precision must be 1..38 and scale 0..precision: " +
                                     glue);
    }
    return "DECIMAL(" + std::to_string(p) + "," + std::to_string(s) + ")";
  }
  if (StartsWith(t, "array<") || StartsWith(t, "map<") || StartsWith(t, "struct<")) {
    int depth = 0;
    for (char c : t) {
      if (c == '<') ++depth;
      if (c == '>' && --depth < 0) break;
    }
    if (depth == 0 && t.back() == '>') return std::string("JSON");
  }
  return Status::InvalidArgument("unsupported column type: " + glue);
}

// ---------------------------------------------------------------------------------------
// Time parsing.

bool ParseDigits(std::string_view s, size_t* pos, size_t min_n, size_t max_n, int64_t* out) {
  size_t start = *pos;
  int64_t v = 0;
  while (*pos < s.size() && *pos - start < max_n && s[*pos] >= '0' && s[*pos] <= '9') {
    v = v * 10 + (s[*pos] - '0');
    ++*pos;
  }
  if (*pos - start < min_n) {
    *pos = start;
    return false;
  }
  *out = v;
  return true;
}

bool ValidCivil(int64_t y, int64_t mo, int64_t d, int64_t h, int64_t mi, int64_t sec) {
  if (mo < 1 || mo > 12 || d < 1 || h < 0 || h > 23 || mi < 0 || mi > 59 || sec < 0 || sec > 59) {
    return false;
  }
  static const int kDays[] = {31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};
  bool leap = (y % 4 == 0 && y % 100 != 0) || y % 400 == 0;
  int64_t max_d = kDays[mo - 1] + ((mo == 2 && leap) ? 1 : 0);
  return d <= max_d;
}

int64_t CivilMicros(int64_t y, int64_t mo, int64_t d, int64_t h, int64_t mi, int64_t s,
                    int64_t frac_micros) {
  int64_t days = DaysFromCivil(y, static_cast<unsigned>(mo), static_cast<unsigned>(d));
  return ((days * 86400) + h * 3600 + mi * 60 + s) * kMicrosPerSecond + frac_micros;
}

// Parses an offset at `pos`: 'Z', +HH, +HHMM, +HH:MM. Returns seconds east of UTC.
bool ParseOffset(std::string_view s, size_t* pos, bool allow_z, int64_t* offset_seconds) {
  if (*pos >= s.size()) return false;
  if (allow_z && s[*pos] == 'Z') {
    ++*pos;
    *offset_seconds = 0;
    return true;
  }
  if (s[*pos] != '+' && s[*pos] != '-') return false;
  int sign = s[*pos] == '-' ? -1 : 1;
  size_t p = *pos + 1;
  int64_t hh = 0;
  int64_t mm = 0;
  if (!ParseDigits(s, &p, 2, 2, &hh)) return false;
  if (p < s.size() && s[p] == ':') {
    ++p;
    if (!ParseDigits(s, &p, 2, 2, &mm)) return false;
  } else {
    size_t q = p;
    if (ParseDigits(s, &q, 2, 2, &mm)) p = q;
  }
  if (hh > 18 || mm > 59) return false;
  *pos = p;
  *offset_seconds = sign * (hh * 3600 + mm * 60);
  return true;
}

// 'YYYY-MM-DD[( |T)HH:MM[:SS[.f]]][Z|+HH[:MM]]' -> epoch micros.
std::optional<int64_t> ParseTimestampText(std::string_view s) {
  size_t p = 0;
  int64_t y = 0, mo = 0, d = 0, h = 0, mi = 0, sec = 0, frac = 0;
  if (!ParseDigits(s, &p, 4, 4, &y) || p >= s.size() || s[p++] != '-' ||
      !ParseDigits(s, &p, 2, 2, &mo) || p >= s.size() || s[p++] != '-' ||
      !ParseDigits(s, &p, 2, 2, &d)) {
    return std::nullopt;
  }
  int64_t offset = 0;
  if (p < s.size() && (s[p] == ' ' || s[p] == 'T')) {
    ++p;
    if (!ParseDigits(s, &p, 2, 2, &h) || p >= s.size() || s[p++] != ':' ||
        !ParseDigits(s, &p, 2, 2, &mi)) {
      return std::nullopt;
    }
    if (p < s.size() && s[p] == ':') {
      ++p;
      if (!ParseDigits(s, &p, 2, 2, &sec)) return std::nullopt;
      if (p < s.size() && s[p] == '.') {
        ++p;
        size_t start = p;
        int64_t digits = 0;
        if (!ParseDigits(s, &p, 1, 9, &digits)) return std::nullopt;
        size_t n = p - start;
        while (n < 6) {
          digits *= 10;
          ++n;
        }
        while (n > 6) {
          digits /= 10;
          --n;
        }
        frac = digits;
      }
    }
    if (p < s.size() && !ParseOffset(s, &p, true, &offset)) return std::nullopt;
  }
  if (p != s.size() || !ValidCivil(y, mo, d, h, mi, sec)) return std::nullopt;
  return CivilMicros(y, mo, d, h, mi, sec, frac) - offset * kMicrosPerSecond;
}

// A compiled subset of java.time.format.DateTimeFormatter patterns.
struct FormatToken {
  enum Type {
    kLiteral,
    kYear4,
    kYear2,
    kMonth,
    kDay,
    kHour,
    kMinute,
    kSecond,
    kFraction,
    kOffsetX,
    kOffsetZ
  };
  Type type;
  std::string literal;  // kLiteral
  size_t width = 0;     // digits: 1 = 1-2 digits (M, d, H..), 2 = exactly 2; fraction: count
};

Result<std::vector<FormatToken>> CompileFormat(const std::string& pattern) {
  std::vector<FormatToken> out;
  size_t i = 0;
  auto unsupported = [&](const std::string& what) {
    return Status::InvalidArgument("unsupported timestampFormat '" + pattern + "': " + what +
                                   " (supported: yyyy uuuu yy M MM d dd H HH m mm s ss S.. X XX "
                                   "XXX Z, quoted literals and - : / . , _ space)");
  };
  while (i < pattern.size()) {
    char c = pattern[i];
    if (c == '\'') {
      std::string lit;
      ++i;
      if (i < pattern.size() && pattern[i] == '\'') {  // '' is a quote
        out.push_back({FormatToken::kLiteral, "'", 0});
        ++i;
        continue;
      }
      bool closed = false;
      while (i < pattern.size()) {
        if (pattern[i] == '\'') {
          if (i + 1 < pattern.size() && pattern[i + 1] == '\'') {
            lit += '\'';
            i += 2;
            continue;
          }
          closed = true;
          ++i;
          break;
        }
        lit += pattern[i++];
      }
      if (!closed) return unsupported("unterminated quote");
      out.push_back({FormatToken::kLiteral, lit, 0});
      continue;
    }
    if ((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z')) {
      size_t n = 1;
      while (i + n < pattern.size() && pattern[i + n] == c) ++n;
      i += n;
      FormatToken t{FormatToken::kLiteral, "", n};
      switch (c) {
        case 'y':
        case 'u':
          if (n == 4) {
            t.type = FormatToken::kYear4;
          } else if (n == 2) {
            t.type = FormatToken::kYear2;
          } else {
            return unsupported(std::string(n, c));
          }
          break;
        case 'M':
        case 'd':
        case 'H':
        case 'm':
        case 's':
          if (n > 2) return unsupported(std::string(n, c));
          t.type = c == 'M'   ? FormatToken::kMonth
                   : c == 'd' ? FormatToken::kDay
                   : c == 'H' ? FormatToken::kHour
                   : c == 'm' ? FormatToken::kMinute
                              : FormatToken::kSecond;
          break;
        case 'S':
          if (n > 9) return unsupported(std::string(n, c));
          t.type = FormatToken::kFraction;
          break;
        case 'X':
          if (n > 3) return unsupported(std::string(n, c));
          t.type = FormatToken::kOffsetX;
          break;
        case 'Z':
          if (n > 3) return unsupported(std::string(n, c));
          t.type = FormatToken::kOffsetZ;
          break;
        default:
          return unsupported(std::string(n, c));
      }
      out.push_back(t);
      continue;
    }
    if (c == '-' || c == ':' || c == '/' || c == '.' || c == ',' || c == '_' || c == ' ') {
      out.push_back({FormatToken::kLiteral, std::string(1, c), 0});
      ++i;
      continue;
    }
    return unsupported(std::string("'") + c + "'");
  }
  return out;
}

std::optional<int64_t> ParseWithFormat(const std::vector<FormatToken>& tokens, std::string_view s) {
  size_t p = 0;
  int64_t y = 1970, mo = 1, d = 1, h = 0, mi = 0, sec = 0, frac = 0, offset = 0;
  for (const FormatToken& t : tokens) {
    switch (t.type) {
      case FormatToken::kLiteral:
        if (s.substr(p, t.literal.size()) != t.literal) return std::nullopt;
        p += t.literal.size();
        break;
      case FormatToken::kYear4:
        if (!ParseDigits(s, &p, 4, 4, &y)) return std::nullopt;
        break;
      case FormatToken::kYear2:
        if (!ParseDigits(s, &p, 2, 2, &y)) return std::nullopt;
        y += 2000;
        break;
      case FormatToken::kMonth:
      case FormatToken::kDay:
      case FormatToken::kHour:
      case FormatToken::kMinute:
      case FormatToken::kSecond: {
        int64_t v = 0;
        if (!ParseDigits(s, &p, t.width, 2, &v)) return std::nullopt;
        if (t.type == FormatToken::kMonth) mo = v;
        if (t.type == FormatToken::kDay) d = v;
        if (t.type == FormatToken::kHour) h = v;
        if (t.type == FormatToken::kMinute) mi = v;
        if (t.type == FormatToken::kSecond) sec = v;
        break;
      }
      case FormatToken::kFraction: {
        int64_t v = 0;
        if (!ParseDigits(s, &p, t.width, t.width, &v)) return std::nullopt;
        size_t n = t.width;
        while (n < 6) {
          v *= 10;
          ++n;
        }
        while (n > 6) {
          v /= 10;
          --n;
        }
        frac = v;
        break;
      }
      case FormatToken::kOffsetX:
        if (!ParseOffset(s, &p, true, &offset)) return std::nullopt;
        break;
      case FormatToken::kOffsetZ:
        if (!ParseOffset(s, &p, false, &offset)) return std::nullopt;
        break;
    }
  }
  if (p != s.size() || !ValidCivil(y, mo, d, h, mi, sec)) return std::nullopt;
  return CivilMicros(y, mo, d, h, mi, sec, frac) - offset * kMicrosPerSecond;
}

// JSON text that never throws (invalid UTF-8 is replaced).
std::string DumpJson(const json& v) {
  return v.dump(-1, ' ', false, json::error_handler_t::replace);
}

bool ParseFullDouble(const std::string& s, double* out) {
  if (s.empty() || std::isspace(static_cast<unsigned char>(s.front()))) return false;
  errno = 0;
  char* end = nullptr;
  double v = std::strtod(s.c_str(), &end);
  if (end != s.c_str() + s.size() || errno == ERANGE || !std::isfinite(v)) return false;
  *out = v;
  return true;
}

bool ParseFullInt(const std::string& s, int64_t* out) {
  const char* b = s.data();
  const char* e = s.data() + s.size();
  if (b != e && *b == '+') ++b;
  auto [ptr, ec] = std::from_chars(b, e, *out);
  return ec == std::errc() && ptr == e && b != e;
}

// ---------------------------------------------------------------------------------------
// Values ready for the appender.

struct Cell {
  enum Type { kNull, kBool, kInt, kDouble, kText, kTimestamp, kDate } type = kNull;
  bool b = false;
  int64_t i = 0;  // kInt, kTimestamp (micros), kDate (days)
  double d = 0;
  std::string s;
};

uint64_t CellBytes(const Cell& c) {
  switch (c.type) {
    case Cell::kNull:
      return 0;
    case Cell::kBool:
      return 1;
    case Cell::kText:
      return c.s.size();
    default:
      return 8;
  }
}

// Converts `v` (non-null) to a value of DuckDB type `type`. nullopt = does not convert.
std::optional<Cell> Convert(const json& v, const std::string& type) {
  Cell c;
  if (type == "VARCHAR") {
    c.type = Cell::kText;
    c.s = v.is_string() ? v.get<std::string>() : DumpJson(v);
    return c;
  }
  if (type == "JSON") {
    c.type = Cell::kText;
    c.s = DumpJson(v);
    return c;
  }
  if (type == "BOOLEAN") {
    if (v.is_boolean()) {
      c.type = Cell::kBool;
      c.b = v.get<bool>();
      return c;
    }
    if (v.is_string()) {
      std::string t = ToLower(v.get<std::string>());
      if (t == "true" || t == "false") {
        c.type = Cell::kBool;
        c.b = t == "true";
        return c;
      }
    }
    return std::nullopt;
  }
  if (type == "BIGINT" || type == "INTEGER" || type == "SMALLINT" || type == "TINYINT") {
    int64_t x = 0;
    if (v.is_number_integer() && !v.is_number_unsigned()) {
      x = v.get<int64_t>();
    } else if (v.is_number_unsigned()) {
      uint64_t u = v.get<uint64_t>();
      if (u > static_cast<uint64_t>(std::numeric_limits<int64_t>::max())) return std::nullopt;
      x = static_cast<int64_t>(u);
    } else if (v.is_number_float()) {
      double f = v.get<double>();
      if (!std::isfinite(f) || f != std::trunc(f) || f < -9.2e18 || f > 9.2e18) {
        return std::nullopt;
      }
      x = static_cast<int64_t>(f);
    } else if (v.is_string()) {
      if (!ParseFullInt(v.get<std::string>(), &x)) return std::nullopt;
    } else {
      return std::nullopt;
    }
    int64_t lo = std::numeric_limits<int64_t>::min();
    int64_t hi = std::numeric_limits<int64_t>::max();
    if (type == "INTEGER") {
      lo = std::numeric_limits<int32_t>::min();
      hi = std::numeric_limits<int32_t>::max();
    } else if (type == "SMALLINT") {
      lo = std::numeric_limits<int16_t>::min();
      hi = std::numeric_limits<int16_t>::max();
    } else if (type == "TINYINT") {
      lo = std::numeric_limits<int8_t>::min();
      hi = std::numeric_limits<int8_t>::max();
    }
    if (x < lo || x > hi) return std::nullopt;
    c.type = Cell::kInt;
    c.i = x;
    return c;
  }
  if (type == "DOUBLE" || type == "FLOAT" || StartsWith(type, "DECIMAL(")) {
    double x = 0;
    std::string text;
    if (v.is_number()) {
      x = v.get<double>();
      text = DumpJson(v);
    } else if (v.is_string()) {
      text = v.get<std::string>();
      if (!ParseFullDouble(text, &x)) return std::nullopt;
    } else {
      return std::nullopt;
    }
    if (!std::isfinite(x)) return std::nullopt;
    if (type == "FLOAT" && std::fabs(x) > std::numeric_limits<float>::max()) return std::nullopt;
    if (StartsWith(type, "DECIMAL(")) {
      int p = 0;
      int s = 0;
      if (std::sscanf(type.c_str(), "DECIMAL(%d,%d)", &p, &s) != 2) return std::nullopt;
      long double scaled = std::round(std::fabs(static_cast<long double>(x)) *
                                      std::pow(10.0L, static_cast<long double>(s)));
      if (scaled >= std::pow(10.0L, static_cast<long double>(p))) return std::nullopt;
      // Exact decimal text when it is plain digits; otherwise the double.
      bool plain = !text.empty();
      for (size_t k = 0; k < text.size(); ++k) {
        char ch = text[k];
        if (!((ch >= '0' && ch <= '9') || ch == '.' || (k == 0 && (ch == '-' || ch == '+')))) {
          plain = false;
        }
      }
      if (plain) {
        c.type = Cell::kText;
        c.s = text;
        return c;
      }
    }
    c.type = Cell::kDouble;
    c.d = x;
    return c;
  }
  if (type == "TIMESTAMP") {
    if (!v.is_string()) return std::nullopt;
    std::optional<int64_t> t = ParseTimestampText(v.get<std::string>());
    if (!t) return std::nullopt;
    c.type = Cell::kTimestamp;
    c.i = *t;
    return c;
  }
  if (type == "DATE") {
    if (!v.is_string()) return std::nullopt;
    std::string s = v.get<std::string>();
    if (s.size() != 10) return std::nullopt;
    std::optional<int64_t> t = ParseTimestampText(s);
    if (!t) return std::nullopt;
    c.type = Cell::kDate;
    c.i = FloorDiv(*t, kMicrosPerDay);
    return c;
  }
  return std::nullopt;
}

duckdb_state AppendCell(duckdb_appender a, const Cell& c) {
  switch (c.type) {
    case Cell::kNull:
      return duckdb_append_null(a);
    case Cell::kBool:
      return duckdb_append_bool(a, c.b);
    case Cell::kInt:
      return duckdb_append_int64(a, c.i);
    case Cell::kDouble:
      return duckdb_append_double(a, c.d);
    case Cell::kText:
      return duckdb_append_varchar_length(a, c.s.data(), c.s.size());
    case Cell::kTimestamp:
      return duckdb_append_timestamp(a, duckdb_timestamp{c.i});
    case Cell::kDate:
      return duckdb_append_date(a, duckdb_date{static_cast<int32_t>(c.i)});
  }
  return DuckDBError;
}

// ---------------------------------------------------------------------------------------
// Datastore definitions.

struct Definition {
  std::vector<std::pair<std::string, std::string>> declared;  // name, DuckDB type
  std::vector<std::string> attribute_partitions;              // attribute names
  std::optional<std::string> ts_attribute;
  std::optional<std::string> ts_format;  // nullopt = epoch seconds
  std::vector<FormatToken> ts_tokens;
};

Result<Definition> ParseDefinition(const json& def) {
  Definition out;
  if (def.is_null()) return out;
  if (!def.is_object()) return Status::InvalidArgument("datastore definition must be an object");
  std::set<std::string> seen;
  auto ffc = def.find("fileFormatConfiguration");
  if (ffc != def.end() && ffc->is_object()) {
    auto pq = ffc->find("parquetConfiguration");
    if (pq != ffc->end() && pq->is_object()) {
      auto sd = pq->find("schemaDefinition");
      if (sd != pq->end() && sd->is_object()) {
        auto cols = sd->find("columns");
        if (cols != sd->end()) {
          if (!cols->is_array()) return Status::InvalidArgument("columns must be a list");
          for (const json& col : *cols) {
            if (!col.is_object() || !col.contains("name") || !col["name"].is_string() ||
                !col.contains("type") || !col["type"].is_string()) {
              return Status::InvalidArgument("each column needs a string name and type");
            }
            std::string name = col["name"].get<std::string>();
            if (name.empty() || StartsWith(name, "__")) {
              return Status::InvalidArgument("invalid column name: " + name);
            }
            if (!seen.insert(ToLower(name)).second) {
              return Status::InvalidArgument("duplicate column name: " + name);
            }
            ASSIGN_OR_RETURN(std::string type, MapDeclaredType(col["type"].get<std::string>()));
            out.declared.emplace_back(name, type);
          }
        }
      }
    }
  }
  auto dp = def.find("datastorePartitions");
  if (dp != def.end() && dp->is_object()) {
    auto parts = dp->find("partitions");
    if (parts != dp->end()) {
      if (!parts->is_array()) return Status::InvalidArgument("partitions must be a list");
      std::set<std::string> attrs;
      for (const json& part : *parts) {
        if (!part.is_object()) return Status::InvalidArgument("partition must be an object");
        bool has_attr = part.contains("attributePartition");
        bool has_ts = part.contains("timestampPartition");
        if (has_attr == has_ts) {
          return Status::InvalidArgument(
              "a partition needs exactly one of attributePartition or timestampPartition");
        }
        const json& p = has_attr ? part["attributePartition"] : part["timestampPartition"];
        if (!p.is_object() || !p.contains("attributeName") || !p["attributeName"].is_string() ||
            p["attributeName"].get<std::string>().empty()) {
          return Status::InvalidArgument("partition needs an attributeName");
        }
        std::string attr = p["attributeName"].get<std::string>();
        if (has_attr) {
          if (!attrs.insert(ToLower(attr)).second) {
            return Status::InvalidArgument("duplicate attribute partition: " + attr);
          }
          out.attribute_partitions.push_back(attr);
          continue;
        }
        if (out.ts_attribute) {
          return Status::InvalidArgument("only one timestamp partition is allowed");
        }
        out.ts_attribute = attr;
        if (p.contains("timestampFormat") && !p["timestampFormat"].is_null()) {
          if (!p["timestampFormat"].is_string()) {
            return Status::InvalidArgument("timestampFormat must be a string");
          }
          out.ts_format = p["timestampFormat"].get<std::string>();
          ASSIGN_OR_RETURN(out.ts_tokens, CompileFormat(*out.ts_format));
        }
      }
    }
  }
  return out;
}

// Epoch micros of a timestamp-partition attribute value.
std::optional<int64_t> PartitionTime(const Definition& def, const json& v) {
  if (!def.ts_format) {
    double secs = 0;
    if (v.is_number()) {
      secs = v.get<double>();
    } else if (v.is_string()) {
      if (!ParseFullDouble(v.get<std::string>(), &secs)) return std::nullopt;
    } else {
      return std::nullopt;
    }
    if (!std::isfinite(secs) || std::fabs(secs) > 1e14) return std::nullopt;
    if (v.is_number_integer()) return v.get<int64_t>() * kMicrosPerSecond;
    return static_cast<int64_t>(std::floor(secs * 1e6));
  }
  if (!v.is_string()) return std::nullopt;
  return ParseWithFormat(def.ts_tokens, v.get<std::string>());
}

// ---------------------------------------------------------------------------------------
// Per-datastore schema cache.

struct ColumnInfo {
  std::string name;  // as stored
  std::string type;  // DuckDB type text
  enum Role { kInferred, kFixed, kDt, kTime } role = kInferred;
  std::string source_lower;  // attribute (lower case) whose value fills it; empty for system
};

struct TableState {
  std::string name;
  Definition def;
  std::vector<ColumnInfo> columns;                            // table order
  std::unordered_map<std::string, size_t> by_lower;           // lower(column name) -> index
  std::unordered_map<std::string, std::string> partition_of;  // lower(attr) -> column lower
};

bool IsSystemLower(const TableState& t, const std::string& lower) {
  if (lower == kDtColumn) return true;
  if (t.def.ts_attribute) {
    for (const char* c : kTimeColumns) {
      if (lower == c) return true;
    }
  }
  for (const std::string& a : t.def.attribute_partitions) {
    if (lower == ToLower(kPartitionPrefix + a)) return true;
  }
  return false;
}

class DuckDatastoreStore final : public DatastoreStore {
 public:
  DuckDatastoreStore(const Clock* clock, DatastoreStoreOptions options)
      : clock_(clock), options_(std::move(options)) {}

  ~DuckDatastoreStore() override {
    {
      MutexLock lock(&pool_mu_);
      for (duckdb_connection& c : idle_readers_) duckdb_disconnect(&c);
      idle_readers_.clear();
    }
    {
      MutexLock lock(&mu_);
      for (auto& [sql, ps] : prepared_) duckdb_destroy_prepare(&ps);
      prepared_.clear();
      if (writer_ != nullptr) duckdb_disconnect(&writer_);
    }
    if (db_ != nullptr) duckdb_close(&db_);
  }

  Status Init(const std::string& dir) {
    std::error_code ec;
    std::filesystem::create_directories(dir, ec);
    if (ec) return Status::IoError("cannot create " + dir + ": " + ec.message());
    std::string path = (std::filesystem::path(dir) / "datastores.duckdb").string();
    duckdb_config config = nullptr;
    if (duckdb_create_config(&config) == DuckDBError) {
      return Status::Internal("duckdb_create_config failed");
    }
    bool ok = duckdb_set_config(config, "enable_external_access", "false") == DuckDBSuccess &&
              duckdb_set_config(config, "autoinstall_known_extensions", "false") == DuckDBSuccess;
    char* err = nullptr;
    duckdb_state st = ok ? duckdb_open_ext(path.c_str(), &db_, config, &err) : DuckDBError;
    duckdb_destroy_config(&config);
    if (!ok) return Status::Internal("cannot configure DuckDB");
    if (st == DuckDBError) {
      std::string msg = err != nullptr ? err : "unknown error";
      if (err != nullptr) duckdb_free(err);
      db_ = nullptr;
      return Status::IoError("cannot open " + path + ": " + msg);
    }
    MutexLock lock(&mu_);
    if (duckdb_connect(db_, &writer_) == DuckDBError) {
      writer_ = nullptr;
      return Status::Internal("cannot connect to DuckDB");
    }
    RETURN_IF_ERROR(Run(writer_, "SET TimeZone = 'UTC'"));
    RETURN_IF_ERROR(Run(writer_, std::string("CREATE TABLE IF NOT EXISTS ") + kPositionsTable +
                                     " (datastore VARCHAR, pipeline VARCHAR, next_offset "
                                     "UBIGINT, PRIMARY KEY (datastore, pipeline))"));
    RETURN_IF_ERROR(Run(writer_, std::string("CREATE TABLE IF NOT EXISTS ") + kDatastoresTable +
                                     " (name VARCHAR PRIMARY KEY, definition VARCHAR, "
                                     "rejected_values UBIGINT, estimated_bytes UBIGINT, "
                                     "last_append_micros BIGINT)"));
    return Status::Ok();
  }

  Status CreateDatastore(const std::string& name, const json& definition) override {
    if (name.empty() || StartsWith(name, "__") || name.find('\0') != std::string::npos) {
      return Status::InvalidArgument("invalid datastore name: " + name);
    }
    Definition def;
    try {
      ASSIGN_OR_RETURN(def, ParseDefinition(definition));
    } catch (const std::exception& e) {
      return Status::InvalidArgument(std::string("invalid datastore definition: ") + e.what());
    }
    std::string def_text = definition.is_null() ? "{}" : DumpJson(definition);
    MutexLock lock(&mu_);
    QueryResult existing;
    RETURN_IF_ERROR(
        Run(writer_,
            std::string("SELECT name FROM ") + kDatastoresTable + " WHERE lower(name) = lower($1)",
            {name}, &existing));
    if (!existing.rows.empty() && existing.rows[0][0] != name) {
      return Status::AlreadyExists("datastore " + *existing.rows[0][0] +
                                   " exists (names are case-insensitive)");
    }
    tables_.erase(name);
    RETURN_IF_ERROR(Run(writer_, "BEGIN TRANSACTION"));
    Status st = CreateInTxn(name, def, def_text, !existing.rows.empty());
    if (st.ok()) st = Run(writer_, "COMMIT");
    if (!st.ok()) (void)Run(writer_, "ROLLBACK");
    return st;
  }

  Status DropDatastore(const std::string& name) override {
    MutexLock lock(&mu_);
    tables_.erase(name);
    RETURN_IF_ERROR(Run(writer_, "BEGIN TRANSACTION"));
    Status st = Run(writer_, "DROP TABLE IF EXISTS " + QuoteIdent(name));
    if (st.ok()) {
      st = Run(writer_, std::string("DELETE FROM ") + kPositionsTable + " WHERE datastore = $1",
               {name});
    }
    if (st.ok()) {
      st =
          Run(writer_, std::string("DELETE FROM ") + kDatastoresTable + " WHERE name = $1", {name});
    }
    if (st.ok()) st = Run(writer_, "COMMIT");
    if (!st.ok()) (void)Run(writer_, "ROLLBACK");
    return st;
  }

  Status Append(const std::string& datastore, const std::string& pipeline,
                const std::vector<DatastoreRow>& rows, uint64_t next_offset) override {
    MutexLock lock(&mu_);
    ASSIGN_OR_RETURN(TableState * table, LoadTable(datastore));
    RETURN_IF_ERROR(Run(writer_, "BEGIN TRANSACTION"));
    Status st;
    try {
      st = AppendInTxn(table, pipeline, rows, next_offset);
    } catch (const std::exception& e) {
      st = Status::Internal(std::string("append failed: ") + e.what());
    }
    if (st.ok()) st = Run(writer_, "COMMIT");
    if (!st.ok()) {
      (void)Run(writer_, "ROLLBACK");
      tables_.erase(datastore);  // schema changes were rolled back too
    }
    return st;
  }

  Result<std::optional<uint64_t>> Position(const std::string& datastore,
                                           const std::string& pipeline) override {
    MutexLock lock(&mu_);
    ASSIGN_OR_RETURN(TableState * table, LoadTable(datastore));
    (void)table;
    QueryResult r;
    RETURN_IF_ERROR(Run(writer_,
                        std::string("SELECT next_offset FROM ") + kPositionsTable +
                            " WHERE datastore = $1 AND pipeline = $2",
                        {datastore, pipeline}, &r));
    if (r.rows.empty() || !r.rows[0][0]) return std::optional<uint64_t>();
    return std::optional<uint64_t>(std::stoull(*r.rows[0][0]));
  }

  Status SetPosition(const std::string& datastore, const std::string& pipeline,
                     uint64_t next_offset) override {
    MutexLock lock(&mu_);
    ASSIGN_OR_RETURN(TableState * table, LoadTable(datastore));
    (void)table;
    return UpsertPosition(datastore, pipeline, next_offset);
  }

  Result<DatastoreStats> Stats(const std::string& datastore) override {
    MutexLock lock(&mu_);
    ASSIGN_OR_RETURN(TableState * table, LoadTable(datastore));
    QueryResult count;
    RETURN_IF_ERROR(Run(writer_, "SELECT count(*) FROM " + QuoteIdent(table->name), {}, &count));
    QueryResult meta;
    RETURN_IF_ERROR(Run(writer_,
                        std::string("SELECT rejected_values, estimated_bytes, last_append_micros "
                                    "FROM ") +
                            kDatastoresTable + " WHERE name = $1",
                        {datastore}, &meta));
    DatastoreStats stats;
    try {
      stats.rows = std::stoull(count.rows.at(0).at(0).value_or("0"));
      if (!meta.rows.empty()) {
        stats.rejected_values = std::stoull(meta.rows[0][0].value_or("0"));
        stats.estimated_size_bytes = std::stoull(meta.rows[0][1].value_or("0"));
        if (meta.rows[0][2]) stats.last_append_micros = std::stoll(*meta.rows[0][2]);
      }
    } catch (const std::exception& e) {
      return Status::Internal(std::string("bad stats row: ") + e.what());
    }
    return stats;
  }

  Status ApplyRetention(const std::string& datastore, int64_t cutoff_micros) override {
    MutexLock lock(&mu_);
    ASSIGN_OR_RETURN(TableState * table, LoadTable(datastore));
    int64_t cutoff_day = FloorDiv(cutoff_micros, kMicrosPerDay) * kMicrosPerDay;
    RETURN_IF_ERROR(Run(writer_, "BEGIN TRANSACTION"));
    QueryResult before;
    uint64_t deleted = 0;
    std::string tq = QuoteIdent(table->name);
    Status st = Run(writer_, "SELECT count(*) FROM " + tq, {}, &before);
    if (st.ok()) {
      st = Run(writer_, "DELETE FROM " + tq + " WHERE \"__dt\" < make_timestamp($1)", {cutoff_day},
               nullptr, &deleted);
    }
    if (st.ok() && deleted > 0) {
      uint64_t total = std::stoull(before.rows.at(0).at(0).value_or("0"));
      uint64_t kept = total - deleted;
      st = Run(writer_,
               std::string("UPDATE ") + kDatastoresTable +
                   " SET estimated_bytes = CAST(estimated_bytes * ($1::DOUBLE / $2::DOUBLE) AS "
                   "UBIGINT) WHERE name = $3",
               {kept, std::max<uint64_t>(total, 1), datastore});
    }
    if (st.ok()) st = Run(writer_, "COMMIT");
    if (!st.ok()) (void)Run(writer_, "ROLLBACK");
    return st;
  }

  Result<QueryResult> Query(const std::string& sql) override {
    ASSIGN_OR_RETURN(duckdb_connection con, TakeReader());
    Result<QueryResult> r = QueryOn(con, sql);
    ReturnReader(con);
    return r;
  }

 private:
  Result<duckdb_connection> TakeReader() {
    {
      MutexLock lock(&pool_mu_);
      if (!idle_readers_.empty()) {
        duckdb_connection c = idle_readers_.back();
        idle_readers_.pop_back();
        return c;
      }
    }
    duckdb_connection c = nullptr;
    if (duckdb_connect(db_, &c) == DuckDBError) return Status::Internal("cannot connect");
    Status st = Run(c, "SET TimeZone = 'UTC'");
    if (!st.ok()) {
      duckdb_disconnect(&c);
      return st;
    }
    return c;
  }

  void ReturnReader(duckdb_connection c) {
    MutexLock lock(&pool_mu_);
    if (idle_readers_.size() < kMaxIdleReaders) {
      idle_readers_.push_back(c);
    } else {
      duckdb_disconnect(&c);
    }
  }

  // True if duckdb_value_string renders this type (nested types, TIMESTAMPTZ etc. it does not).
  static bool RendersDirectly(duckdb_type t) {
    switch (t) {
      case DUCKDB_TYPE_BOOLEAN:
      case DUCKDB_TYPE_TINYINT:
      case DUCKDB_TYPE_SMALLINT:
      case DUCKDB_TYPE_INTEGER:
      case DUCKDB_TYPE_BIGINT:
      case DUCKDB_TYPE_UTINYINT:
      case DUCKDB_TYPE_USMALLINT:
      case DUCKDB_TYPE_UINTEGER:
      case DUCKDB_TYPE_UBIGINT:
      case DUCKDB_TYPE_HUGEINT:
      case DUCKDB_TYPE_FLOAT:
      case DUCKDB_TYPE_DOUBLE:
      case DUCKDB_TYPE_DECIMAL:
      case DUCKDB_TYPE_VARCHAR:
      case DUCKDB_TYPE_BLOB:
      case DUCKDB_TYPE_DATE:
      case DUCKDB_TYPE_TIME:
      case DUCKDB_TYPE_TIMESTAMP:
      case DUCKDB_TYPE_INTERVAL:
        return true;
      default:
        return false;
    }
  }

  // Prepares `sql` as the only statement; it must be a SELECT without parameters.
  static Status PrepareSelect(duckdb_connection con, const std::string& sql, DuckPrepared* ps) {
    duckdb_extracted_statements extracted = nullptr;
    idx_t n = duckdb_extract_statements(con, sql.c_str(), &extracted);
    struct ExtractedGuard {
      duckdb_extracted_statements* e;
      ~ExtractedGuard() { duckdb_destroy_extracted(e); }
    } guard{&extracted};
    if (n == 0) {
      const char* err = duckdb_extract_statements_error(extracted);
      return Status::InvalidArgument(err != nullptr ? err : "no SQL statement");
    }
    if (n != 1) return Status::InvalidArgument("exactly one SQL statement is allowed");
    if (duckdb_prepare_extracted_statement(con, extracted, 0, ps->out()) == DuckDBError) {
      const char* err = duckdb_prepare_error(ps->get());
      return Status::InvalidArgument(err != nullptr ? err : "cannot prepare query");
    }
    if (duckdb_prepared_statement_type(ps->get()) != DUCKDB_STATEMENT_TYPE_SELECT) {
      return Status::InvalidArgument("only SELECT statements are allowed");
    }
    if (duckdb_nparams(ps->get()) != 0) {
      return Status::InvalidArgument("query parameters are not supported");
    }
    return Status::Ok();
  }

  static Result<QueryResult> ExecuteSelect(duckdb_connection con, const std::string& sql) {
    DuckPrepared ps;
    RETURN_IF_ERROR(PrepareSelect(con, sql, &ps));
    idx_t ncols = duckdb_prepared_statement_column_count(ps.get());
    std::vector<std::string> names;
    bool direct = true;
    for (idx_t c = 0; c < ncols; ++c) {
      const char* name = duckdb_prepared_statement_column_name(ps.get(), c);
      names.emplace_back(name != nullptr ? name : "");
      if (name != nullptr) duckdb_free(const_cast<char*>(name));  // caller-owned copy
      if (!RendersDirectly(duckdb_prepared_statement_column_type(ps.get(), c))) direct = false;
    }
    DuckPrepared wrapped;
    duckdb_prepared_statement run = ps.get();
    if (!direct) {
      // Let DuckDB cast every column to VARCHAR; the column names stay the original ones.
      std::string inner = sql;
      while (!inner.empty() &&
             (std::isspace(static_cast<unsigned char>(inner.back())) || inner.back() == ';')) {
        inner.pop_back();
      }
      std::string text = "SELECT CAST(COLUMNS(*) AS VARCHAR) FROM (" + inner + "\n) AS __sluice_q";
      if (duckdb_prepare(con, text.c_str(), wrapped.out()) == DuckDBError) {
        const char* err = duckdb_prepare_error(wrapped.get());
        return Status::InvalidArgument(err != nullptr ? err : "cannot render query result");
      }
      run = wrapped.get();
    }
    DuckResult result;
    if (duckdb_execute_prepared(run, result.get()) == DuckDBError) {
      Status st = StatusFromResult(result.get(), "query failed");
      if (st.code() == StatusCode::kIoError) return st;
      return Status::InvalidArgument(st.message());
    }
    QueryResult out = CollectResult(result.get());
    if (out.columns.size() == names.size()) out.columns = std::move(names);
    return out;
  }

  static Result<QueryResult> QueryOn(duckdb_connection con, const std::string& sql) {
    RETURN_IF_ERROR(Run(con, "BEGIN TRANSACTION READ ONLY"));
    Result<QueryResult> out = ExecuteSelect(con, sql);
    Status rb = Run(con, "ROLLBACK");
    if (!rb.ok() && out.ok()) return rb;
    return out;
  }

  // Runs `sql` on the writer through a statement prepared once (hot path of Append).
  Status RunCached(const std::string& sql, const std::vector<Param>& params,
                   uint64_t* changed = nullptr) REQUIRES(mu_) {
    auto it = prepared_.find(sql);
    if (it == prepared_.end()) {
      duckdb_prepared_statement ps = nullptr;
      if (duckdb_prepare(writer_, sql.c_str(), &ps) == DuckDBError) {
        const char* err = duckdb_prepare_error(ps);
        Status st = Status::Internal(sql + ": " + (err != nullptr ? err : "prepare failed"));
        duckdb_destroy_prepare(&ps);
        return st;
      }
      it = prepared_.emplace(sql, ps).first;
    }
    return ExecPrepared(it->second, sql, params, nullptr, changed);
  }

  // UPDATE, then INSERT if there was no row: much cheaper in DuckDB than ON CONFLICT.
  Status UpsertPosition(const std::string& datastore, const std::string& pipeline,
                        uint64_t next_offset) REQUIRES(mu_) {
    uint64_t changed = 0;
    RETURN_IF_ERROR(RunCached(std::string("UPDATE ") + kPositionsTable +
                                  " SET next_offset = $1 WHERE datastore = $2 AND pipeline = $3",
                              {next_offset, datastore, pipeline}, &changed));
    if (changed > 0) return Status::Ok();
    return RunCached(std::string("INSERT INTO ") + kPositionsTable + " VALUES ($1, $2, $3)",
                     {datastore, pipeline, next_offset});
  }

  Status Hook(std::string_view stage) {
    if (!options_.fault_hook) return Status::Ok();
    return options_.fault_hook(stage);
  }

  Status CreateInTxn(const std::string& name, const Definition& def, const std::string& def_text,
                     bool exists) REQUIRES(mu_) {
    std::string tq = QuoteIdent(name);
    if (!exists) {
      std::string sql = "CREATE TABLE " + tq + " (\"__dt\" TIMESTAMP";
      if (def.ts_attribute) {
        for (const char* c : kTimeColumns) sql += ", " + QuoteIdent(c) + " INTEGER";
      }
      sql += ")";
      RETURN_IF_ERROR(Run(writer_, sql));
      RETURN_IF_ERROR(Run(
          writer_, std::string("INSERT INTO ") + kDatastoresTable + " VALUES ($1, $2, 0, 0, NULL)",
          {name, def_text}));
    } else {
      RETURN_IF_ERROR(
          Run(writer_,
              std::string("UPDATE ") + kDatastoresTable + " SET definition = $1 WHERE name = $2",
              {def_text, name}));
    }
    // Schema columns (and partition copies of schema columns) that are not there yet.
    QueryResult cols;
    RETURN_IF_ERROR(Run(writer_,
                        "SELECT lower(column_name) FROM duckdb_columns() WHERE schema_name = "
                        "'main' AND table_name = $1",
                        {name}, &cols));
    std::set<std::string> have;
    for (auto& row : cols.rows) have.insert(row[0].value_or(""));
    std::vector<std::pair<std::string, std::string>> wanted = def.declared;
    for (const std::string& attr : def.attribute_partitions) {
      for (const auto& [col, type] : def.declared) {
        if (ToLower(col) == ToLower(attr)) wanted.emplace_back(kPartitionPrefix + attr, type);
      }
    }
    if (def.ts_attribute) {
      for (const char* c : kTimeColumns) wanted.emplace_back(c, "INTEGER");
    }
    for (const auto& [col, type] : wanted) {
      if (have.count(ToLower(col)) != 0) continue;
      RETURN_IF_ERROR(
          Run(writer_, "ALTER TABLE " + tq + " ADD COLUMN " + QuoteIdent(col) + " " + type));
      have.insert(ToLower(col));
    }
    return Status::Ok();
  }

  // Returns the cached schema of `name`, loading it from the database if needed.
  Result<TableState*> LoadTable(const std::string& name) REQUIRES(mu_) {
    auto it = tables_.find(name);
    if (it != tables_.end()) return it->second.get();
    QueryResult meta;
    RETURN_IF_ERROR(
        Run(writer_, std::string("SELECT definition FROM ") + kDatastoresTable + " WHERE name = $1",
            {name}, &meta));
    if (meta.rows.empty()) return Status::NotFound("datastore " + name + " does not exist");
    auto table = std::make_unique<TableState>();
    table->name = name;
    try {
      json def = json::parse(meta.rows[0][0].value_or("{}"));
      ASSIGN_OR_RETURN(table->def, ParseDefinition(def));
    } catch (const std::exception& e) {
      return Status::Corruption("bad stored definition of " + name + ": " + e.what());
    }
    QueryResult cols;
    RETURN_IF_ERROR(Run(writer_,
                        "SELECT column_name, data_type FROM duckdb_columns() WHERE schema_name = "
                        "'main' AND table_name = $1 ORDER BY column_index",
                        {name}, &cols));
    if (cols.rows.empty()) return Status::Corruption("table of datastore " + name + " is missing");
    std::unordered_map<std::string, std::string> declared;
    for (const auto& [col, type] : table->def.declared) declared[ToLower(col)] = type;
    for (const std::string& attr : table->def.attribute_partitions) {
      table->partition_of[ToLower(attr)] = ToLower(kPartitionPrefix + attr);
    }
    for (auto& row : cols.rows) {
      ColumnInfo c;
      c.name = row[0].value_or("");
      c.type = row[1].value_or("");
      std::string lower = ToLower(c.name);
      c.source_lower = lower;
      if (lower == kDtColumn) {
        c.role = ColumnInfo::kDt;
        c.source_lower.clear();
      } else if (table->def.ts_attribute && (lower == "__year" || lower == "__month" ||
                                             lower == "__day" || lower == "__hour")) {
        c.role = ColumnInfo::kTime;
        c.source_lower.clear();
      } else {
        std::string source = lower;
        for (const auto& [attr, col] : table->partition_of) {
          if (col == lower) source = attr;
        }
        c.source_lower = source;
        auto d = declared.find(source);
        if (d != declared.end()) {
          c.role = ColumnInfo::kFixed;
          c.type = d->second;
        } else if (c.type == "BOOLEAN" || c.type == "BIGINT" || c.type == "DOUBLE" ||
                   c.type == "VARCHAR" || c.type == "JSON") {
          c.role = ColumnInfo::kInferred;
        } else {
          c.role = ColumnInfo::kFixed;
        }
      }
      table->by_lower[lower] = table->columns.size();
      table->columns.push_back(std::move(c));
    }
    TableState* raw = table.get();
    tables_[name] = std::move(table);
    return raw;
  }

  // Fast conversions for the common inferred types; anything else goes through Convert.
  enum class FastType { kNone, kVarchar, kBigint, kDouble, kBoolean };
  static FastType FastTypeOf(const std::string& type) {
    if (type == "VARCHAR") return FastType::kVarchar;
    if (type == "BIGINT") return FastType::kBigint;
    if (type == "DOUBLE") return FastType::kDouble;
    if (type == "BOOLEAN") return FastType::kBoolean;
    return FastType::kNone;
  }

  Status AppendInTxn(TableState* table, const std::string& pipeline,
                     const std::vector<DatastoreRow>& rows, uint64_t next_offset) REQUIRES(mu_) {
    const std::string tq = QuoteIdent(table->name);
    uint64_t rejected = 0;
    // Pass 1: per row, the attribute (by lower-case name) -> value; schema changes.
    // Attribute names repeat from row to row, so each distinct spelling is lower-cased and
    // classified once per batch, and each distinct lower-case name gets a slot number.
    struct SpellingInfo {
      int slot = -1;  // -1: a system column name (rejected)
      std::string lower;
      const std::string* partition_col = nullptr;  // lower-case partition column, if any
      uint8_t planned_kinds = 0;                   // kinds already passed to plan()
    };
    std::unordered_map<std::string, SpellingInfo> spellings;
    std::unordered_map<std::string, int> slot_of;  // lower -> slot
    std::vector<std::vector<std::pair<int, const json*>>> values(rows.size());
    std::vector<size_t> slot_row;                      // slot -> 1 + last row that set it
    std::map<std::string, std::string> new_cols;       // lower -> spelling (first seen)
    std::map<std::string, std::string> planned_types;  // lower column -> type
    auto plan = [&](const std::string& col_lower, const std::string& spelling, Kind k) {
      if (k == Kind::kNull) return;
      auto it = table->by_lower.find(col_lower);
      if (it != table->by_lower.end()) {
        const ColumnInfo& c = table->columns[it->second];
        if (c.role != ColumnInfo::kInferred) return;
        auto p = planned_types.find(col_lower);
        std::string cur = p != planned_types.end() ? p->second : c.type;
        planned_types[col_lower] = WidenType(cur, k);
        return;
      }
      new_cols.emplace(col_lower, spelling);
      planned_types[col_lower] = WidenType(planned_types[col_lower], k);
    };
    for (size_t r = 0; r < rows.size(); ++r) {
      const json& attrs = rows[r].attributes;
      if (!attrs.is_object()) {
        ++rejected;
        continue;
      }
      values[r].reserve(attrs.size());
      for (auto it = attrs.begin(); it != attrs.end(); ++it) {
        const std::string& key = it.key();
        auto sp = spellings.find(key);
        if (sp == spellings.end()) {
          SpellingInfo info;
          info.lower = ToLower(key);
          if (!info.lower.empty() && !IsSystemLower(*table, info.lower)) {
            auto [s, inserted] = slot_of.emplace(info.lower, static_cast<int>(slot_of.size()));
            if (inserted) slot_row.push_back(0);
            info.slot = s->second;
            auto part = table->partition_of.find(info.lower);
            if (part != table->partition_of.end()) info.partition_col = &part->second;
          }
          sp = spellings.emplace(key, std::move(info)).first;
        }
        SpellingInfo& info = sp->second;
        if (info.slot < 0 || slot_row[static_cast<size_t>(info.slot)] == r + 1) {
          ++rejected;
          continue;
        }
        slot_row[static_cast<size_t>(info.slot)] = r + 1;
        values[r].emplace_back(info.slot, &it.value());
        // Widening depends only on the set of kinds seen, so each (spelling, kind) is
        // planned once.
        Kind k = KindOf(it.value());
        uint8_t bit = static_cast<uint8_t>(1u << static_cast<unsigned>(k));
        if ((info.planned_kinds & bit) != 0) continue;
        info.planned_kinds |= bit;
        plan(info.lower, key, k);
        if (info.partition_col != nullptr) {
          plan(*info.partition_col,
               std::string(kPartitionPrefix) + PartitionSpelling(*table, info.lower), k);
        }
      }
    }
    // Apply schema changes: widen existing inferred columns, then add new ones.
    for (const auto& [lower, type] : planned_types) {
      auto it = table->by_lower.find(lower);
      if (it == table->by_lower.end()) continue;
      ColumnInfo& c = table->columns[it->second];
      if (c.type == type) continue;
      RETURN_IF_ERROR(Run(
          writer_, "ALTER TABLE " + tq + " ALTER COLUMN " + QuoteIdent(c.name) + " TYPE " + type));
      c.type = type;
    }
    for (const auto& [lower, spelling] : new_cols) {
      const std::string& type = planned_types[lower];
      RETURN_IF_ERROR(
          Run(writer_, "ALTER TABLE " + tq + " ADD COLUMN " + QuoteIdent(spelling) + " " + type));
      ColumnInfo c;
      c.name = spelling;
      c.type = type;
      c.role = ColumnInfo::kInferred;
      c.source_lower = lower;
      for (const auto& [attr, col] : table->partition_of) {
        if (col == lower) c.source_lower = attr;
      }
      table->by_lower[lower] = table->columns.size();
      table->columns.push_back(std::move(c));
    }
    RETURN_IF_ERROR(Hook("schema"));

    // Pass 2: append.
    uint64_t bytes = 0;
    if (!rows.empty()) {
      DuckAppender app;
      if (duckdb_appender_create(writer_, nullptr, table->name.c_str(), app.out()) == DuckDBError) {
        return Status::Internal("cannot create appender for " + table->name + ": " + app.Error());
      }
      if (duckdb_appender_column_count(app.get()) != table->columns.size()) {
        return Status::Internal("schema cache of " + table->name + " is stale");
      }
      // Per column: the slot of the attribute that fills it, its fast conversion and, for
      // time partition columns, which part (0 year, 1 month, 2 day, 3 hour).
      const size_t ncols = table->columns.size();
      std::vector<int> col_slot(ncols, -1);
      std::vector<FastType> col_fast(ncols, FastType::kNone);
      std::vector<int> col_time(ncols, 3);
      for (size_t ci = 0; ci < ncols; ++ci) {
        const ColumnInfo& c = table->columns[ci];
        if (c.role == ColumnInfo::kTime) {
          std::string lower = ToLower(c.name);
          col_time[ci] = lower == "__year" ? 0 : lower == "__month" ? 1 : lower == "__day" ? 2 : 3;
          continue;
        }
        if (c.role == ColumnInfo::kDt) continue;
        auto s = slot_of.find(c.source_lower);
        if (s != slot_of.end()) col_slot[ci] = s->second;
        col_fast[ci] = FastTypeOf(c.type);
      }
      int ts_slot = -1;
      if (table->def.ts_attribute) {
        auto s = slot_of.find(ToLower(*table->def.ts_attribute));
        if (s != slot_of.end()) ts_slot = s->second;
      }
      std::vector<const json*> row_values(slot_of.size(), nullptr);
      auto append_failed = [&](const ColumnInfo& c) {
        return Status::Internal("append to " + table->name + "." + c.name +
                                " failed: " + app.Error());
      };
      for (size_t r = 0; r < rows.size(); ++r) {
        for (const auto& [slot, v] : values[r]) row_values[static_cast<size_t>(slot)] = v;
        std::optional<int64_t> part_time;
        if (ts_slot >= 0) {
          const json* v = row_values[static_cast<size_t>(ts_slot)];
          if (v != nullptr && !v->is_null()) {
            part_time = PartitionTime(table->def, *v);
            if (!part_time) ++rejected;
          }
        }
        int64_t parts[4] = {0, 0, 0, 0};  // year, month, day, hour
        if (part_time) {
          int64_t day = FloorDiv(*part_time, kMicrosPerDay);
          int64_t y = 0;
          unsigned m = 0, d = 0;
          CivilFromDays(day, &y, &m, &d);
          parts[0] = y;
          parts[1] = m;
          parts[2] = d;
          parts[3] = (*part_time - day * kMicrosPerDay) / (3600 * kMicrosPerSecond);
        }
        for (size_t ci = 0; ci < ncols; ++ci) {
          const ColumnInfo& c = table->columns[ci];
          duckdb_state ds = DuckDBSuccess;
          switch (c.role) {
            case ColumnInfo::kDt:
              bytes += 8;
              ds = duckdb_append_timestamp(
                  app.get(), duckdb_timestamp{FloorDiv(rows[r].arrival_micros, kMicrosPerDay) *
                                              kMicrosPerDay});
              break;
            case ColumnInfo::kTime:
              if (part_time) {
                bytes += 8;
                ds = duckdb_append_int64(app.get(), parts[col_time[ci]]);
              } else {
                ds = duckdb_append_null(app.get());
              }
              break;
            case ColumnInfo::kInferred:
            case ColumnInfo::kFixed: {
              const json* v =
                  col_slot[ci] < 0 ? nullptr : row_values[static_cast<size_t>(col_slot[ci])];
              if (v == nullptr || v->is_null()) {
                ds = duckdb_append_null(app.get());
                break;
              }
              // Fast paths: exactly what Convert gives for these (type, value) pairs.
              FastType f = col_fast[ci];
              if (f == FastType::kVarchar && v->is_string()) {
                const std::string& s = v->get_ref<const std::string&>();
                bytes += s.size();
                ds = duckdb_append_varchar_length(app.get(), s.data(), s.size());
                break;
              }
              if (f == FastType::kBigint && v->is_number_integer() && !v->is_number_unsigned()) {
                bytes += 8;
                ds = duckdb_append_int64(app.get(), v->get<int64_t>());
                break;
              }
              if (f == FastType::kDouble && v->is_number()) {
                double x = v->get<double>();
                if (std::isfinite(x)) {
                  bytes += 8;
                  ds = duckdb_append_double(app.get(), x);
                } else {
                  ++rejected;
                  ds = duckdb_append_null(app.get());
                }
                break;
              }
              if (f == FastType::kBoolean && v->is_boolean()) {
                bytes += 1;
                ds = duckdb_append_bool(app.get(), v->get<bool>());
                break;
              }
              Cell cell;
              std::optional<Cell> converted = Convert(*v, c.type);
              if (converted) {
                cell = std::move(*converted);
              } else {
                ++rejected;
              }
              bytes += CellBytes(cell);
              ds = AppendCell(app.get(), cell);
              break;
            }
          }
          if (ds == DuckDBError) return append_failed(c);
        }
        for (const auto& [slot, v] : values[r]) row_values[static_cast<size_t>(slot)] = nullptr;
        if (duckdb_appender_end_row(app.get()) == DuckDBError) {
          return Status::Internal("append to " + table->name + " failed: " + app.Error());
        }
      }
      if (duckdb_appender_close(app.get()) == DuckDBError) {
        return Status::IoError("append to " + table->name + " failed: " + app.Error());
      }
    }
    RETURN_IF_ERROR(Hook("rows"));
    RETURN_IF_ERROR(UpsertPosition(table->name, pipeline, next_offset));
    // Typed parameters: an untyped `col + $1` makes DuckDB re-bind the statement on every
    // execution.
    RETURN_IF_ERROR(RunCached(std::string("UPDATE ") + kDatastoresTable +
                                  " SET rejected_values = rejected_values + $1::UBIGINT, "
                                  "estimated_bytes = estimated_bytes + $2::UBIGINT, "
                                  "last_append_micros = $3::BIGINT WHERE name = $4::VARCHAR",
                              {rejected, bytes, clock_->NowMicros(), table->name}));
    return Hook("position");
  }

  // The spelling of the partition column for attribute `lower` as written in the definition.
  static std::string PartitionSpelling(const TableState& t, const std::string& lower) {
    for (const std::string& a : t.def.attribute_partitions) {
      if (ToLower(a) == lower) return a;
    }
    return lower;
  }

  const Clock* const clock_;
  const DatastoreStoreOptions options_;
  duckdb_database db_ = nullptr;  // set once in Init; duckdb_database is thread-safe

  Mutex mu_;
  duckdb_connection writer_ GUARDED_BY(mu_) = nullptr;
  std::unordered_map<std::string, std::unique_ptr<TableState>> tables_ GUARDED_BY(mu_);
  std::unordered_map<std::string, duckdb_prepared_statement> prepared_ GUARDED_BY(mu_);

  Mutex pool_mu_;
  std::vector<duckdb_connection> idle_readers_ GUARDED_BY(pool_mu_);
};

}  // namespace

Result<std::unique_ptr<DatastoreStore>> DatastoreStore::Open(const std::string& dir,
                                                             const Clock* clock) {
  return Open(dir, clock, DatastoreStoreOptions());
}

Result<std::unique_ptr<DatastoreStore>> DatastoreStore::Open(const std::string& dir,
                                                             const Clock* clock,
                                                             DatastoreStoreOptions options) {
  auto store = std::make_unique<DuckDatastoreStore>(clock, std::move(options));
  try {
    RETURN_IF_ERROR(store->Init(dir));
  } catch (const std::exception& e) {
    return Status::Internal(std::string("cannot open datastore store: ") + e.what());
  }
  return std::unique_ptr<DatastoreStore>(std::move(store));
}

}  // namespace sluice
