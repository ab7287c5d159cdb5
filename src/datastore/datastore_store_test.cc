#include "datastore/datastore_store.h"

#include <signal.h>
#include <sys/types.h>
#include <sys/wait.h>
#include <unistd.h>

#include <atomic>
#include <chrono>
#include <cstdio>
#include <filesystem>
#include <string>
#include <thread>
#include <vector>

#include <gtest/gtest.h>

#include "common/strings.h"

namespace sluice {
namespace {

using json = nlohmann::json;

constexpr int64_t kDay = 86400LL * 1000000;
// 2020-10-15 13:45:12.500 UTC
constexpr int64_t kArrival = 1602769512500000LL;

class DatastoreStoreTest : public ::testing::Test {
 protected:
  void SetUp() override {
    char tmpl[] = "/tmp/datastore_test_XXXXXX";
    ASSERT_NE(mkdtemp(tmpl), nullptr);
    dir_ = tmpl;
    Reopen();
  }
  void TearDown() override {
    store_.reset();
    std::error_code ec;
    std::filesystem::remove_all(dir_, ec);
  }
  void Reopen(DatastoreStoreOptions options = {}) {
    store_.reset();
    auto r = DatastoreStore::Open(dir_, &clock_, std::move(options));
    ASSERT_TRUE(r.ok()) << r.status().ToString();
    store_ = std::move(r).value();
  }
  QueryResult Q(const std::string& sql) {
    auto r = store_->Query(sql);
    EXPECT_TRUE(r.ok()) << sql << ": " << r.status().ToString();
    return r.ok() ? r.value() : QueryResult{};
  }
  // The single value of a one-row, one-column query ("NULL" for NULL).
  std::string One(const std::string& sql) {
    QueryResult r = Q(sql);
    if (r.rows.size() != 1 || r.rows[0].size() != 1)
      return "<" + std::to_string(r.rows.size()) + " rows>";
    return r.rows[0][0].value_or("NULL");
  }
  std::string ColumnType(const std::string& table, const std::string& column) {
    return One("SELECT data_type FROM duckdb_columns() WHERE table_name = '" + table +
               "' AND column_name = '" + column + "'");
  }
  std::vector<DatastoreRow> Rows(const std::vector<json>& messages, int64_t arrival = kArrival) {
    std::vector<DatastoreRow> rows;
    for (const json& m : messages) rows.push_back(DatastoreRow{m, arrival});
    return rows;
  }
  void Create(const std::string& name, const json& def = json::object()) {
    Status st = store_->CreateDatastore(name, def);
    ASSERT_TRUE(st.ok()) << st.ToString();
  }
  void AppendOk(const std::string& ds, const std::vector<json>& messages, uint64_t next,
                int64_t arrival = kArrival) {
    Status st = store_->Append(ds, "p1", Rows(messages, arrival), next);
    ASSERT_TRUE(st.ok()) << st.ToString();
  }
  uint64_t Rejected(const std::string& ds) {
    auto s = store_->Stats(ds);
    EXPECT_TRUE(s.ok()) << s.status().ToString();
    return s.ok() ? s->rejected_values : 0;
  }

  std::string dir_;
  FakeClock clock_{kArrival + 1000};
  std::unique_ptr<DatastoreStore> store_;
};

TEST_F(DatastoreStoreTest, CreateAppendQuery) {
  Create("ds1");
  EXPECT_EQ(One("SELECT count(*) FROM ds1"), "0");
  auto pos = store_->Position("ds1", "p1");
  ASSERT_TRUE(pos.ok());
  EXPECT_FALSE(pos->has_value());

  AppendOk("ds1", {{{"a", 1}, {"b", "x"}}, {{"a", 2}, {"b", nullptr}}, {{"a", 3}}}, 3);
  QueryResult r = Q("SELECT a, b FROM ds1 ORDER BY a");
  ASSERT_EQ(r.columns, (std::vector<std::string>{"a", "b"}));
  ASSERT_EQ(r.rows.size(), 3u);
  EXPECT_EQ(r.rows[0][0], "1");
  EXPECT_EQ(r.rows[0][1], "x");
  EXPECT_EQ(r.rows[1][1], std::nullopt);
  EXPECT_EQ(r.rows[2][1], std::nullopt);
  EXPECT_EQ(ColumnType("ds1", "a"), "BIGINT");
  EXPECT_EQ(ColumnType("ds1", "b"), "VARCHAR");

  pos = store_->Position("ds1", "p1");
  ASSERT_TRUE(pos.ok());
  EXPECT_EQ(pos->value_or(0), 3u);
  EXPECT_FALSE(store_->Position("ds1", "other")->has_value());

  auto stats = store_->Stats("ds1");
  ASSERT_TRUE(stats.ok());
  EXPECT_EQ(stats->rows, 3u);
  EXPECT_GT(stats->estimated_size_bytes, 0u);
  EXPECT_EQ(stats->last_append_micros, clock_.NowMicros());
  EXPECT_EQ(stats->rejected_values, 0u);

  ASSERT_TRUE(store_->SetPosition("ds1", "p1", 42).ok());
  EXPECT_EQ(store_->Position("ds1", "p1")->value_or(0), 42u);
  // Idempotent create keeps the data.
  Create("ds1");
  EXPECT_EQ(One("SELECT count(*) FROM ds1"), "3");
}

TEST_F(DatastoreStoreTest, MissingDatastore) {
  EXPECT_EQ(store_->Append("nope", "p", Rows({{{"a", 1}}}), 1).code(), StatusCode::kNotFound);
  EXPECT_EQ(store_->Position("nope", "p").status().code(), StatusCode::kNotFound);
  EXPECT_EQ(store_->SetPosition("nope", "p", 1).code(), StatusCode::kNotFound);
  EXPECT_EQ(store_->Stats("nope").status().code(), StatusCode::kNotFound);
  EXPECT_EQ(store_->ApplyRetention("nope", 0).code(), StatusCode::kNotFound);
  EXPECT_TRUE(store_->DropDatastore("nope").ok());
}

TEST_F(DatastoreStoreTest, NamesDifferingOnlyInCaseConflict) {
  Create("Sensors");
  EXPECT_EQ(store_->CreateDatastore("sensors", json::object()).code(), StatusCode::kAlreadyExists);
  EXPECT_EQ(store_->CreateDatastore("__x", json::object()).code(), StatusCode::kInvalidArgument);
  // A datastore name that needs quoting.
  Create("select");
  AppendOk("select", {{{"v", 1}}}, 1);
  EXPECT_EQ(One("SELECT count(*) FROM \"select\""), "1");
}

TEST_F(DatastoreStoreTest, QueryIsReadOnlySingleSelect) {
  Create("ds");
  AppendOk("ds", {{{"a", 1}}}, 1);
  EXPECT_EQ(store_->Query("DELETE FROM ds").status().code(), StatusCode::kInvalidArgument);
  EXPECT_EQ(store_->Query("SELECT 1; SELECT 2").status().code(), StatusCode::kInvalidArgument);
  EXPECT_EQ(store_->Query("DROP TABLE ds").status().code(), StatusCode::kInvalidArgument);
  EXPECT_EQ(store_->Query("SELEC 1").status().code(), StatusCode::kInvalidArgument);
  EXPECT_FALSE(store_->Query("SELECT * FROM read_csv('/etc/hostname')").ok());
  EXPECT_EQ(One("SELECT count(*) FROM ds"), "1");
  // Every type renders as text, like CAST(x AS VARCHAR).
  QueryResult r =
      Q("SELECT [1, 2] AS l, {'k': 'v'} AS s, MAP {'a': 1} AS m, INTERVAL 90 MINUTE AS i, "
        "'ab'::BLOB AS b, 1.50::DECIMAL(4,2) AS d, gen_random_uuid() IS NOT NULL AS u, "
        "TIMESTAMPTZ '2020-01-01 00:00:00+00' AS tz, "
        "170141183460469231731687303715884105727::HUGEINT AS h, "
        "[[1], NULL] AS ll, NULL::INTEGER[] AS nl, TIME '01:02:03' AS t, 'x' AS l");
  std::vector<std::string> names = {"l",  "s", "m",  "i",  "b", "d", "u",
                                    "tz", "h", "ll", "nl", "t", "l"};
  EXPECT_EQ(r.columns, names);
  std::vector<std::optional<std::string>> want = {"[1, 2]",
                                                  "{'k': v}",
                                                  "{a=1}",
                                                  "01:30:00",
                                                  "ab",
                                                  "1.50",
                                                  "true",
                                                  "2020-01-01 00:00:00+00",
                                                  "170141183460469231731687303715884105727",
                                                  "[[1], NULL]",
                                                  std::nullopt,
                                                  "01:02:03",
                                                  "x"};
  ASSERT_EQ(r.rows.size(), 1u);
  EXPECT_EQ(r.rows[0], want);
  // Row order of ORDER BY survives, also with nested columns.
  r = Q("SELECT range AS n, [range] AS l FROM range(2000) ORDER BY range DESC");
  ASSERT_EQ(r.rows.size(), 2000u);
  bool ordered = true;
  for (size_t k = 0; k < r.rows.size(); ++k) {
    if (r.rows[k][0] != std::to_string(1999 - k)) ordered = false;
  }
  EXPECT_TRUE(ordered);
}

TEST_F(DatastoreStoreTest, SchemaEvolution) {
  Create("ds");
  AppendOk("ds", {{{"n", 1}, {"s", 5}}}, 1);
  EXPECT_EQ(ColumnType("ds", "n"), "BIGINT");
  // New column appears; BIGINT widens to DOUBLE and keeps the old value.
  AppendOk("ds", {{{"n", 2.5}, {"extra", true}}}, 2);
  EXPECT_EQ(ColumnType("ds", "n"), "DOUBLE");
  EXPECT_EQ(ColumnType("ds", "extra"), "BOOLEAN");
  QueryResult r = Q("SELECT n, extra FROM ds ORDER BY n");
  ASSERT_EQ(r.rows.size(), 2u);
  EXPECT_EQ(r.rows[0][0], "1.0");
  EXPECT_EQ(r.rows[0][1], std::nullopt);
  EXPECT_EQ(r.rows[1][0], "2.5");
  EXPECT_EQ(r.rows[1][1], "true");
  // Integer into a DOUBLE column stays DOUBLE.
  AppendOk("ds", {{{"n", 7}}}, 3);
  EXPECT_EQ(ColumnType("ds", "n"), "DOUBLE");
  // String vs number: both kept as VARCHAR.
  AppendOk("ds", {{{"s", "abc"}}, {{"s", {{"k", 1}}}}}, 4);
  EXPECT_EQ(ColumnType("ds", "s"), "VARCHAR");
  r = Q("SELECT s FROM ds WHERE s IS NOT NULL ORDER BY s");
  ASSERT_EQ(r.rows.size(), 3u);
  EXPECT_EQ(r.rows[0][0], "5");
  EXPECT_EQ(r.rows[1][0], "abc");
  EXPECT_EQ(r.rows[2][0], "{\"k\":1}");
  // Conflicts within one batch are resolved before appending.
  AppendOk("ds", {{{"m", 1}}, {{"m", false}}, {{"m", nullptr}}}, 5);
  EXPECT_EQ(ColumnType("ds", "m"), "VARCHAR");
  EXPECT_EQ(One("SELECT string_agg(m, ',' ORDER BY m) FROM ds"), "1,false");
  // An attribute that is only ever null creates no column.
  AppendOk("ds", {{{"nothing", nullptr}}}, 6);
  EXPECT_EQ(One("SELECT count(*) FROM duckdb_columns() WHERE table_name = 'ds' AND "
                "column_name = 'nothing'"),
            "0");
  EXPECT_EQ(One("SELECT count(*) FROM ds"), "9");
  EXPECT_EQ(Rejected("ds"), 0u);
}

TEST_F(DatastoreStoreTest, NestedObjectsAreJson) {
  Create("ds");
  AppendOk("ds", {{{"obj", {{"b", {{"c", 7}}}}}, {"arr", {1, 2, 3}}}}, 1);
  EXPECT_EQ(ColumnType("ds", "obj"), "JSON");
  EXPECT_EQ(ColumnType("ds", "arr"), "JSON");
  EXPECT_EQ(One("SELECT json_extract(obj, '$.b.c') FROM ds"), "7");
  EXPECT_EQ(One("SELECT json_extract_string(obj, '$.b') FROM ds"), "{\"c\":7}");
  EXPECT_EQ(One("SELECT json_array_length(arr) FROM ds"), "3");
  // A second object keeps the JSON type; a string widens to VARCHAR, still JSON-queryable.
  AppendOk("ds", {{{"obj", {{"b", 1}}}}}, 2);
  EXPECT_EQ(ColumnType("ds", "obj"), "JSON");
  AppendOk("ds", {{{"obj", "plain"}}}, 3);
  EXPECT_EQ(ColumnType("ds", "obj"), "VARCHAR");
  EXPECT_EQ(One("SELECT json_extract(obj, '$.b.c') FROM ds WHERE obj LIKE '{%' AND "
                "json_extract(obj, '$.b.c') IS NOT NULL"),
            "7");
}

TEST_F(DatastoreStoreTest, AttributeNamesAreCaseInsensitive) {
  Create("ds");
  AppendOk("ds", {{{"Temp", 1}}}, 1);
  AppendOk("ds", {{{"TEMP", 2}}, {{"temp", 3}}}, 2);
  EXPECT_EQ(One("SELECT count(*) FROM duckdb_columns() WHERE table_name = 'ds' AND "
                "lower(column_name) = 'temp'"),
            "1");
  EXPECT_EQ(One("SELECT column_name FROM duckdb_columns() WHERE table_name = 'ds' AND "
                "lower(column_name) = 'temp'"),
            "Temp");
  EXPECT_EQ(One("SELECT sum(temp) FROM ds"), "6");
  // Both spellings in one message: the first is kept, the other is counted.
  AppendOk("ds", {{{"TEMP", 10}, {"temp", 20}}}, 3);
  EXPECT_EQ(One("SELECT count(*) FROM ds WHERE temp IN (10, 20)"), "1");
  EXPECT_EQ(Rejected("ds"), 1u);
}

TEST_F(DatastoreStoreTest, DtIsTheUtcArrivalDay) {
  Create("ds");
  AppendOk("ds", {{{"a", 1}}}, 1, kArrival);
  AppendOk("ds", {{{"a", 2}}}, 2, -3600LL * 1000000);  // 1969-12-31 23:00
  AppendOk("ds", {{{"a", 3}}}, 3, 0);
  QueryResult r = Q("SELECT CAST(__dt AS VARCHAR), typeof(__dt) FROM ds ORDER BY a");
  ASSERT_EQ(r.rows.size(), 3u);
  EXPECT_EQ(r.rows[0][0], "2020-10-15 00:00:00");
  EXPECT_EQ(r.rows[0][1], "TIMESTAMP");
  EXPECT_EQ(r.rows[1][0], "1969-12-31 00:00:00");
  EXPECT_EQ(r.rows[2][0], "1970-01-01 00:00:00");
  // Attributes colliding with system columns are not stored and are counted.
  AppendOk("ds", {{{"__dt", "x"}, {"a", 4}}}, 4);
  EXPECT_EQ(One("SELECT CAST(__dt AS VARCHAR) FROM ds WHERE a = 4"), "2020-10-15 00:00:00");
  EXPECT_EQ(Rejected("ds"), 1u);
  // A row that is not an object is stored with __dt only and counted.
  AppendOk("ds", {json::array({1, 2})}, 5);
  EXPECT_EQ(One("SELECT count(*) FROM ds WHERE a IS NULL"), "1");
  EXPECT_EQ(Rejected("ds"), 2u);
}

TEST_F(DatastoreStoreTest, FailedAppendChangesNothing) {
  std::string fail_stage;
  DatastoreStoreOptions options;
  options.fault_hook = [&fail_stage](std::string_view stage) {
    return stage == fail_stage ? Status::IoError("injected at " + std::string(stage))
                               : Status::Ok();
  };
  Reopen(options);
  Create("ds");
  AppendOk("ds", {{{"a", 1}}, {{"a", 2}}}, 2);
  uint64_t size_before = store_->Stats("ds")->estimated_size_bytes;
  for (const char* stage : {"schema", "rows", "position"}) {
    SCOPED_TRACE(stage);
    fail_stage = stage;
    // New column, widening and rows in the failed batch.
    Status st = store_->Append("ds", "p1", Rows({{{"a", 1.5}, {"fresh", "x"}}, {{"a", 3}}}), 9);
    EXPECT_EQ(st.code(), StatusCode::kIoError) << st.ToString();
    EXPECT_EQ(One("SELECT count(*) FROM ds"), "2");
    EXPECT_EQ(store_->Position("ds", "p1")->value_or(0), 2u);
    EXPECT_EQ(ColumnType("ds", "a"), "BIGINT");
    EXPECT_EQ(One("SELECT count(*) FROM duckdb_columns() WHERE table_name = 'ds' AND "
                  "column_name = 'fresh'"),
              "0");
    EXPECT_EQ(store_->Stats("ds")->estimated_size_bytes, size_before);
  }
  // After the failures the store still works and the schema cache is right.
  fail_stage.clear();
  AppendOk("ds", {{{"a", 1.5}, {"fresh", "x"}}}, 3);
  EXPECT_EQ(ColumnType("ds", "a"), "DOUBLE");
  EXPECT_EQ(One("SELECT fresh FROM ds WHERE a = 1.5"), "x");
  EXPECT_EQ(store_->Position("ds", "p1")->value_or(0), 3u);
}

TEST_F(DatastoreStoreTest, ReopenKeepsDataPositionsAndSchema) {
  Create("ds", {{"datastorePartitions",
                 {{"partitions", {{{"timestampPartition", {{"attributeName", "ts"}}}}}}}}});
  AppendOk("ds", {{{"a", 1}, {"ts", 1602769512}}}, 5);
  Reopen();
  EXPECT_EQ(store_->Position("ds", "p1")->value_or(0), 5u);
  EXPECT_EQ(One("SELECT a FROM ds"), "1");
  // The schema cache is rebuilt: widening and partitions still work.
  AppendOk("ds", {{{"a", 2.5}, {"ts", 1602769512}}}, 6);
  EXPECT_EQ(ColumnType("ds", "a"), "DOUBLE");
  EXPECT_EQ(One("SELECT count(*) FROM ds WHERE __year = 2020 AND __hour = 13"), "2");
  EXPECT_EQ(store_->Stats("ds")->rows, 2u);
}

TEST_F(DatastoreStoreTest, ParquetSchemaColumns) {
  json columns = json::array();
  for (auto [name, type] : std::vector<std::pair<std::string, std::string>>{
           {"device_id", "string"},
           {"count", "int"},
           {"big", "bigint"},
           {"temp", "double"},
           {"f", "float"},
           {"ok", "boolean"},
           {"at", "timestamp"},
           {"day", "date"},
           {"price", "decimal(5,2)"},
           {"tags", "array<string>"},
           {"props", "struct<a:int,b:map<string,int>>"},
       }) {
    columns.push_back({{"name", name}, {"type", type}});
  }
  json def = {{"fileFormatConfiguration",
               {{"parquetConfiguration", {{"schemaDefinition", {{"columns", columns}}}}}}}};
  Create("pq", def);
  EXPECT_EQ(ColumnType("pq", "device_id"), "VARCHAR");
  EXPECT_EQ(ColumnType("pq", "count"), "INTEGER");
  EXPECT_EQ(ColumnType("pq", "big"), "BIGINT");
  EXPECT_EQ(ColumnType("pq", "temp"), "DOUBLE");
  EXPECT_EQ(ColumnType("pq", "f"), "FLOAT");
  EXPECT_EQ(ColumnType("pq", "ok"), "BOOLEAN");
  EXPECT_EQ(ColumnType("pq", "at"), "TIMESTAMP");
  EXPECT_EQ(ColumnType("pq", "day"), "DATE");
  EXPECT_EQ(ColumnType("pq", "price"), "DECIMAL(5,2)");
  EXPECT_EQ(ColumnType("pq", "tags"), "JSON");
  EXPECT_EQ(ColumnType("pq", "props"), "JSON");

  AppendOk("pq",
           {{{"device_id", 17},
             {"count", "12"},
             {"big", 9000000000LL},
             {"temp", 20},
             {"f", 1.5},
             {"ok", "true"},
             {"at", "2020-10-15T13:45:12.5Z"},
             {"day", "2020-10-15"},
             {"price", 123.456},
             {"tags", {"a", "b"}},
             {"props", {{"a", 1}}},
             {"unlisted", "kept"}}},
           1);
  QueryResult r =
      Q("SELECT device_id, count, big, temp, f, ok, CAST(\"at\" AS VARCHAR), CAST(day AS VARCHAR), "
        "CAST(price AS VARCHAR), json_extract_string(tags, '$[1]'), json_extract(props, '$.a'), "
        "unlisted FROM pq");
  ASSERT_EQ(r.rows.size(), 1u);
  std::vector<std::optional<std::string>> want = {
      "17",         "12",     "9000000000", "20.0", "1.5", "true", "2020-10-15 13:45:12.5",
      "2020-10-15", "123.46", "b",          "1",    "kept"};
  EXPECT_EQ(r.rows[0], want);
  EXPECT_EQ(Rejected("pq"), 0u);

  // Values that do not convert become NULL and are counted; declared types never change.
  AppendOk("pq",
           {{{"count", "abc"},
             {"big", 1.5},
             {"ok", 3},
             {"at", 12},
             {"price", 12345.6},
             {"temp", "hot"},
             {"device_id", "d2"}}},
           2);
  EXPECT_EQ(Rejected("pq"), 6u);
  r = Q("SELECT count, big, ok, \"at\", price, temp FROM pq WHERE device_id = 'd2'");
  ASSERT_EQ(r.rows.size(), 1u);
  for (const auto& v : r.rows[0]) EXPECT_EQ(v, std::nullopt);
  EXPECT_EQ(ColumnType("pq", "count"), "INTEGER");
  EXPECT_EQ(ColumnType("pq", "unlisted"), "VARCHAR");

  // Re-creating with an added column adds it; unsupported types are rejected.
  columns.push_back({{"name", "added"}, {"type", "smallint"}});
  def["fileFormatConfiguration"]["parquetConfiguration"]["schemaDefinition"]["columns"] = columns;
  Create("pq", def);
  EXPECT_EQ(ColumnType("pq", "added"), "SMALLINT");
  json bad = {
      {"fileFormatConfiguration",
       {{"parquetConfiguration",
         {{"schemaDefinition", {{"columns", {{{"name", "x"}, {"type", "uniontype<int>"}}}}}}}}}}};
  EXPECT_EQ(store_->CreateDatastore("bad", bad).code(), StatusCode::kInvalidArgument);
  bad["fileFormatConfiguration"]["parquetConfiguration"]["schemaDefinition"]["columns"] = {
      {{"name", "x"}, {"type", "decimal(40,2)"}}};
  EXPECT_EQ(store_->CreateDatastore("bad", bad).code(), StatusCode::kInvalidArgument);
  EXPECT_FALSE(store_->Stats("bad").ok());
}

TEST_F(DatastoreStoreTest, PartitionColumns) {
  json def = {{"datastorePartitions",
               {{"partitions",
                 {{{"attributePartition", {{"attributeName", "device"}}}},
                  {{"timestampPartition", {{"attributeName", "ts"}}}}}}}}};
  Create("part", def);
  // 2020-10-15 13:45:12 UTC
  AppendOk("part",
           {{{"Device", "d1"}, {"ts", 1602769512}},
            {{"device", "d2"}, {"ts", "1602769512.9"}},
            {{"device", "d3"}},
            {{"device", "d4"}, {"ts", "not a time"}}},
           1);
  QueryResult r =
      Q("SELECT __partition_device, __year, __month, __day, __hour, typeof(__year) FROM part "
        "ORDER BY __partition_device");
  ASSERT_EQ(r.rows.size(), 4u);
  std::vector<std::optional<std::string>> d1 = {"d1", "2020", "10", "15", "13", "INTEGER"};
  EXPECT_EQ(r.rows[0], d1);
  EXPECT_EQ(r.rows[1][4], "13");
  EXPECT_EQ(r.rows[2][1], std::nullopt);  // no timestamp attribute
  EXPECT_EQ(r.rows[3][1], std::nullopt);  // unparseable: counted
  EXPECT_EQ(Rejected("part"), 1u);
  EXPECT_EQ(One("SELECT count(*) FROM part WHERE device = __partition_device"), "4");

  json fmt = {
      {"datastorePartitions",
       {{"partitions",
         {{{"timestampPartition",
            {{"attributeName", "when"}, {"timestampFormat", "yyyy-MM-dd'T'HH:mm:ss"}}}}}}}}};
  Create("fmt", fmt);
  json fmt2 = fmt;
  fmt2["datastorePartitions"]["partitions"][0]["timestampPartition"]["timestampFormat"] =
      "yyyy-MM-dd HH:mm:ss";
  Create("fmt2", fmt2);
  AppendOk("fmt", {{{"when", "2021-02-28T23:59:58"}}, {{"when", "2021-02-29T00:00:00"}}}, 1);
  AppendOk("fmt2", {{{"when", "2019-01-02 03:04:05"}}}, 1);
  EXPECT_EQ(One("SELECT concat_ws('/', __year, __month, __day, __hour) FROM fmt WHERE __year "
                "IS NOT NULL"),
            "2021/2/28/23");
  EXPECT_EQ(Rejected("fmt"), 1u);  // Feb 29 2021 does not exist
  EXPECT_EQ(One("SELECT concat_ws('/', __year, __month, __day, __hour) FROM fmt2"), "2019/1/2/3");

  json offset = fmt;
  offset["datastorePartitions"]["partitions"][0]["timestampPartition"]["timestampFormat"] =
      "yyyy-MM-dd'T'HH:mm:ss.SSSXXX";
  Create("offs", offset);
  AppendOk("offs", {{{"when", "2021-01-01T01:30:00.123+02:00"}}}, 1);
  EXPECT_EQ(One("SELECT concat_ws('/', __year, __month, __day, __hour) FROM offs"),
            "2020/12/31/23");

  // Unsupported patterns and two timestamp partitions are rejected at create time.
  json unsupported = fmt;
  unsupported["datastorePartitions"]["partitions"][0]["timestampPartition"]["timestampFormat"] =
      "MMM dd yyyy";
  EXPECT_EQ(store_->CreateDatastore("u1", unsupported).code(), StatusCode::kInvalidArgument);
  unsupported["datastorePartitions"]["partitions"][0]["timestampPartition"]["timestampFormat"] =
      "yyyy-MM-dd[ HH]";
  EXPECT_EQ(store_->CreateDatastore("u2", unsupported).code(), StatusCode::kInvalidArgument);
  json two = {{"datastorePartitions",
               {{"partitions",
                 {{{"timestampPartition", {{"attributeName", "a"}}}},
                  {{"timestampPartition", {{"attributeName", "b"}}}}}}}}};
  EXPECT_EQ(store_->CreateDatastore("u3", two).code(), StatusCode::kInvalidArgument);
  // A partition attribute that is a parquet column gets the column's type.
  json typed = {{"fileFormatConfiguration",
                 {{"parquetConfiguration",
                   {{"schemaDefinition", {{"columns", {{{"name", "n"}, {"type", "int"}}}}}}}}}},
                {"datastorePartitions",
                 {{"partitions", {{{"attributePartition", {{"attributeName", "n"}}}}}}}}};
  Create("typed", typed);
  EXPECT_EQ(ColumnType("typed", "__partition_n"), "INTEGER");
  AppendOk("typed", {{{"n", "5"}}}, 1);
  EXPECT_EQ(One("SELECT __partition_n + n FROM typed"), "10");
}

TEST_F(DatastoreStoreTest, RetentionDeletesOldDays) {
  Create("ds");
  int64_t day0 = (kArrival / kDay) * kDay;
  AppendOk("ds", {{{"d", 0}}, {{"d", 0}}}, 1, day0 + 5);
  AppendOk("ds", {{{"d", 1}}}, 2, day0 + kDay + 10);
  AppendOk("ds", {{{"d", 2}}}, 3, day0 + 2 * kDay + 7);
  uint64_t size_before = store_->Stats("ds")->estimated_size_bytes;
  ASSERT_TRUE(store_->ApplyRetention("ds", day0 + kDay + 5 * 3600LL * 1000000).ok());
  EXPECT_EQ(One("SELECT string_agg(CAST(d AS VARCHAR), ',' ORDER BY d) FROM ds"), "1,2");
  auto stats = store_->Stats("ds");
  EXPECT_EQ(stats->rows, 2u);
  EXPECT_LT(stats->estimated_size_bytes, size_before);
  EXPECT_GT(stats->estimated_size_bytes, 0u);
  // Retention keeps the position.
  EXPECT_EQ(store_->Position("ds", "p1")->value_or(0), 3u);
  ASSERT_TRUE(store_->ApplyRetention("ds", day0 + 10 * kDay).ok());
  EXPECT_EQ(store_->Stats("ds")->rows, 0u);
}

TEST_F(DatastoreStoreTest, DropRemovesTableAndPositions) {
  Create("ds");
  Create("keep");
  AppendOk("ds", {{{"a", 1}}}, 7);
  AppendOk("keep", {{{"a", 1}}}, 3);
  ASSERT_TRUE(store_->DropDatastore("ds").ok());
  EXPECT_FALSE(store_->Query("SELECT * FROM ds").ok());
  EXPECT_EQ(store_->Stats("ds").status().code(), StatusCode::kNotFound);
  EXPECT_EQ(One("SELECT count(*) FROM __sluice_positions WHERE datastore = 'ds'"), "0");
  EXPECT_EQ(store_->Position("keep", "p1")->value_or(0), 3u);
  // The name can be reused and starts empty.
  Create("ds");
  EXPECT_FALSE(store_->Position("ds", "p1")->has_value());
  AppendOk("ds", {{{"b", "x"}}}, 1);
  EXPECT_EQ(One("SELECT count(*) FROM duckdb_columns() WHERE table_name = 'ds'"), "2");
  EXPECT_EQ(store_->Position("ds", "p1")->value_or(0), 1u);
}

TEST_F(DatastoreStoreTest, ConcurrentReaderNeverSeesPartialBatches) {
  Create("ds");
  constexpr int kBatch = 37;
  constexpr int kBatches = 60;
  std::atomic<bool> done{false};
  std::atomic<int> bad{0};
  std::atomic<int> reads{0};
  std::vector<json> first;
  for (int i = 0; i < kBatch; ++i) first.push_back({{"batch", 0}, {"i", i}});
  AppendOk("ds", first, 1);
  std::thread reader([&] {
    int64_t last = 0;
    while (!done.load()) {
      auto r = store_->Query("SELECT count(*), count(DISTINCT batch) FROM ds");
      if (!r.ok() || r->rows.size() != 1) {
        ADD_FAILURE() << r.status().ToString();
        ++bad;
        continue;
      }
      int64_t n = std::stoll(r->rows[0][0].value_or("-1"));
      int64_t batches = std::stoll(r->rows[0][1].value_or("-1"));
      if (n % kBatch != 0 || n / kBatch != batches || n < last) {
        ADD_FAILURE() << "saw " << n << " rows in " << batches << " batches after " << last;
        ++bad;
      }
      last = n;
      ++reads;
    }
  });
  for (int b = 1; b < kBatches; ++b) {
    std::vector<json> messages;
    for (int i = 0; i < kBatch; ++i) {
      json m = {{"batch", b}, {"i", i}};
      if (b % 10 == 3) m["late_" + std::to_string(b)] = "new column";  // schema changes too
      messages.push_back(m);
    }
    AppendOk("ds", messages, static_cast<uint64_t>(b + 1));
  }
  done = true;
  reader.join();
  EXPECT_EQ(bad.load(), 0);
  EXPECT_GT(reads.load(), 0);
  EXPECT_EQ(One("SELECT count(*) FROM ds"), std::to_string(kBatch * kBatches));
}

TEST_F(DatastoreStoreTest, KillNineKeepsRowsAndPositionTogether) {
  Create("ds");
  store_.reset();  // the child opens the database itself
  constexpr int kRows = 25;
  int fds[2];
  ASSERT_EQ(pipe(fds), 0);
  pid_t pid = fork();
  ASSERT_GE(pid, 0);
  if (pid == 0) {
    close(fds[0]);
    FakeClock clock(kArrival);
    auto store = DatastoreStore::Open(dir_, &clock);
    if (!store.ok()) _exit(2);
    for (uint64_t batch = 1;; ++batch) {
      std::vector<DatastoreRow> rows;
      for (int i = 0; i < kRows; ++i) {
        rows.push_back(
            DatastoreRow{{{"batch", batch}, {"i", i}, {"pad", std::string(64, 'x')}}, kArrival});
      }
      if (!(*store)->Append("ds", "p1", rows, batch).ok()) _exit(3);
      if (write(fds[1], &batch, sizeof(batch)) != sizeof(batch)) _exit(4);
    }
  }
  close(fds[1]);
  uint64_t acked = 0;
  uint64_t value = 0;
  while (acked < 20 && read(fds[0], &value, sizeof(value)) == sizeof(value)) acked = value;
  ASSERT_EQ(kill(pid, SIGKILL), 0);
  int status = 0;
  ASSERT_EQ(waitpid(pid, &status, 0), pid);
  EXPECT_TRUE(WIFSIGNALED(status)) << "child exited with " << WEXITSTATUS(status);
  while (read(fds[0], &value, sizeof(value)) == sizeof(value)) acked = value;
  close(fds[0]);
  ASSERT_GE(acked, 20u);

  Reopen();
  auto pos = store_->Position("ds", "p1");
  ASSERT_TRUE(pos.ok()) << pos.status().ToString();
  ASSERT_TRUE(pos->has_value());
  uint64_t p = pos->value();
  EXPECT_TRUE(p == acked || p == acked + 1) << "position " << p << " acked " << acked;
  EXPECT_EQ(One("SELECT count(*) FROM ds"), std::to_string(p * kRows));
  EXPECT_EQ(One("SELECT count(DISTINCT batch) FROM ds"), std::to_string(p));
  EXPECT_EQ(One("SELECT max(batch) FROM ds"), std::to_string(p));
  // And it keeps going.
  AppendOk("ds", {{{"batch", p + 1}}}, p + 1);
  EXPECT_EQ(store_->Position("ds", "p1")->value_or(0), p + 1);
}

TEST_F(DatastoreStoreTest, AppendThroughput) {
  Create("ds");
  constexpr int kBatches = 100;
  constexpr int kRows = 100;
  std::vector<std::vector<DatastoreRow>> batches;
  for (int b = 0; b < kBatches; ++b) {
    std::vector<DatastoreRow> rows;
    for (int i = 0; i < kRows; ++i) {
      rows.push_back(DatastoreRow{{{"device", "dev" + std::to_string(i % 10)},
                                   {"temp", 20.5 + i},
                                   {"n", b * kRows + i},
                                   {"ok", i % 2 == 0}},
                                  kArrival});
    }
    batches.push_back(std::move(rows));
  }
  auto start = std::chrono::steady_clock::now();
  for (int b = 0; b < kBatches; ++b) {
    ASSERT_TRUE(store_->Append("ds", "p1", batches[b], b + 1).ok());
  }
  double secs = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  std::printf("[ perf     ] appended %d rows in 100-row batches: %.0f rows/s\n", kBatches * kRows,
              kBatches * kRows / secs);
  EXPECT_EQ(store_->Stats("ds")->rows, static_cast<uint64_t>(kBatches * kRows));
}

}  // namespace
}  // namespace sluice
