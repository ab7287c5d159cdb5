#include "api/iotanalytics/validate.h"

#include <algorithm>
#include <ostream>
#include <set>
#include <string>
#include <utility>
#include <vector>

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include "scheduler/schedule_expression.h"

namespace sluice::iota {
namespace {

using ::testing::HasSubstr;

// ---------------------------------------------------------------------------------------------
// Fixtures: valid request bodies (several are AWS's own examples).

const char kRole[] = "arn:aws:iam::123456789012:role/service-role/myIoTAnalyticsRole";

Json ChannelBody() {
  return Json::parse(R"js({
    "channelName": "mychannel",
    "channelStorage": {"customerManagedS3": {
        "bucket": "my-bucket.1", "keyPrefix": "raw/data/",
        "roleArn": "arn:aws:iam::123456789012:role/service-role/myIoTAnalyticsRole"}},
    "retentionPeriod": {"numberOfDays": 3},
    "tags": [{"key": "Environment", "value": "Beta"}]
  })js");
}

Json DatastoreBody() {
  return Json::parse(R"js({
    "datastoreName": "mydatastore",
    "datastoreStorage": {"serviceManagedS3": {}},
    "retentionPeriod": {"numberOfDays": 90, "unlimited": false},
    "fileFormatConfiguration": {"parquetConfiguration": {"schemaDefinition": {"columns": [
        {"name": "temp_01", "type": "double"}, {"name": "_device", "type": "string"}]}}},
    "datastorePartitions": {"partitions": [
        {"attributePartition": {"attributeName": "device_id"}},
        {"timestampPartition": {"attributeName": "ts", "timestampFormat": "yyyy-MM-dd HH:mm:ss"}}]},
    "tags": [{"key": "k", "value": "v"}]
  })js");
}

// AWS CLI create-pipeline example: the datastore activity is listed before math.
Json AwsPipelineBody() {
  return Json::parse(R"js({
    "pipelineName": "mypipeline",
    "pipelineActivities": [
      {"channel": {"name": "myChannelActivity", "channelName": "mychannel",
                   "next": "myMathActivity"}},
      {"datastore": {"name": "myDatastoreActivity", "datastoreName": "mydatastore"}},
      {"math": {"name": "myMathActivity", "math": "((temp - 32) * 5.0) / 9.0",
                "attribute": "tempC", "next": "myDatastoreActivity"}}
    ],
    "tags": [{"key": "Environment", "value": "Beta"}]
  })js");
}

// Every activity kind, chained in list order; elements 1..10.
Json FullPipelineBody() {
  return Json::parse(R"js({
    "pipelineName": "full",
    "pipelineActivities": [
      {"channel": {"name": "a1", "channelName": "c1", "next": "a2"}},
      {"lambda": {"name": "a2", "lambdaName": "my-fn_1", "batchSize": 10, "next": "a3"}},
      {"addAttributes": {"name": "a3", "attributes": {"device.id": "id", "device.coord[0]": "lat"},
                         "next": "a4"}},
      {"removeAttributes": {"name": "a4", "attributes": ["tmp"], "next": "a5"}},
      {"selectAttributes": {"name": "a5", "attributes": ["id", "lat", "temp"], "next": "a6"}},
      {"filter": {"name": "a6", "filter": "temp > 40 AND hum < 20", "next": "a7"}},
      {"math": {"name": "a7", "attribute": "tempC", "math": "(temp - 32) / 1.8", "next": "a8"}},
      {"deviceRegistryEnrich": {"name": "a8", "attribute": "reg", "thingName": "device.thingName",
                                "roleArn": "arn:aws:iam::123456789012:role/enrich", "next": "a9"}},
      {"deviceShadowEnrich": {"name": "a9", "attribute": "shadow", "thingName": "thing",
                              "roleArn": "arn:aws:iam::123456789012:role/enrich", "next": "a10"}},
      {"datastore": {"name": "a10", "datastoreName": "d1"}}
    ]
  })js");
}

// AWS user guide Example 6 (SQL dataset with a delta window), plus the optional members.
Json SqlDatasetBody() {
  return Json::parse(R"js({
    "datasetName": "delta_window_example",
    "actions": [{
      "actionName": "delta_window_action",
      "queryAction": {
        "sqlQuery": "SELECT temperature, humidity, timestamp FROM my_datastore",
        "filters": [{"deltaTime": {"offsetSeconds": -180,
                                   "timeExpression": "from_unixtime(timestamp)"}}]}}],
    "contentDeliveryRules": [
      {"entryName": "someEntry", "destination": {"s3DestinationConfiguration": {
          "bucket": "my-bucket",
          "key": "dataset/mydataset/!{iotanalytics:scheduleTime}/!{iotanalytics:versionId}.csv",
          "glueConfiguration": {"tableName": "my table", "databaseName": "my_db"},
          "roleArn": "arn:aws:iam::123456789012:role/deliver"}}},
      {"destination": {"iotEventsDestinationConfiguration": {
          "inputName": "myInput_1", "roleArn": "arn:aws:iam::123456789012:role/deliver"}}}],
    "retentionPeriod": {"unlimited": true},
    "versioningConfiguration": {"maxVersions": 10},
    "lateDataRules": [{"ruleName": "demo_rule", "ruleConfiguration": {
        "deltaTimeSessionWindowConfiguration": {"timeoutInMinutes": 5}}}],
    "tags": [{"key": "Environment", "value": "Production"}]
  })js");
}

// Container dataset triggered by a SQL dataset, with one variable of each kind.
Json ContainerDatasetBody() {
  return Json::parse(R"js({
    "datasetName": "container_ds",
    "actions": [{
      "actionName": "ContainerActionDataset",
      "containerAction": {
        "image": "123456789012.dkr.ecr.us-west-2.amazonaws.com/notebook:latest",
        "executionRoleArn": "arn:aws:iam::123456789012:role/exec",
        "resourceConfiguration": {"computeType": "ACU_1", "volumeSizeInGB": 1},
        "variables": [
          {"name": "example_var", "stringValue": "hello world!"},
          {"name": "threshold", "doubleValue": 2.5},
          {"name": "source", "datasetContentVersionValue": {"datasetName": "delta_window_example"}},
          {"name": "custom_output", "outputFileUriValue": {"fileName": "output.txt"}}]}}],
    "triggers": [{"dataset": {"name": "delta_window_example"}}]
  })js");
}

Json LoggingBody() {
  return Json::parse(R"js({"loggingOptions": {
      "roleArn": "arn:aws:iam::123456789012:role/service-role/myIoTAnalyticsRole",
      "level": "ERROR", "enabled": true}})js");
}

// ---------------------------------------------------------------------------------------------
// Body mutation helpers (JSON pointers).

Json Set(Json body, const std::string& pointer, Json value) {
  body[Json::json_pointer(pointer)] = std::move(value);
  return body;
}

Json Del(Json body, const std::string& pointer) {
  return body.patch(Json::array({{{"op", "remove"}, {"path", pointer}}}));
}

std::string Rep(const std::string& s, size_t n) {
  std::string out;
  for (size_t i = 0; i < n; ++i) out += s;
  return out;
}

Json RepeatList(const Json& element, size_t n) {
  Json out = Json::array();
  for (size_t i = 0; i < n; ++i) out.push_back(element);
  return out;
}

// ---------------------------------------------------------------------------------------------
// Table of cases

enum class Op {
  kCreateChannel,
  kUpdateChannel,
  kCreateDatastore,
  kUpdateDatastore,
  kCreatePipeline,
  kUpdatePipeline,
  kCreateDataset,
  kUpdateDataset,
  kPutLogging,
  kTagList,
};

Status RunOp(Op op, const Json& body) {
  PipelineRefs refs;
  switch (op) {
    case Op::kCreateChannel:
      return ValidateCreateChannel(body);
    case Op::kUpdateChannel:
      return ValidateUpdateChannel(body);
    case Op::kCreateDatastore:
      return ValidateCreateDatastore(body);
    case Op::kUpdateDatastore:
      return ValidateUpdateDatastore(body);
    case Op::kCreatePipeline:
      return ValidateCreatePipeline(body, &refs);
    case Op::kUpdatePipeline:
      return ValidateUpdatePipeline(body, &refs);
    case Op::kCreateDataset:
      return ValidateCreateDataset(body);
    case Op::kUpdateDataset:
      return ValidateUpdateDataset(body);
    case Op::kPutLogging:
      return ValidatePutLoggingOptions(body);
    case Op::kTagList:
      return ValidateTagList("tags", body);
  }
  return Status::Internal("unreachable");
}

struct Case {
  std::string name;
  Op op;
  Json body;
  bool ok;
  std::string path;     // failing cases: the field path the message must quote
  std::string message;  // failing cases: exact message, when asserted
};

void PrintTo(const Case& c, std::ostream* os) { *os << c.name; }

Case Ok(std::string name, Op op, Json body) {
  return {std::move(name), op, std::move(body), true, "", ""};
}
Case Bad(std::string name, Op op, Json body, std::string path, std::string message = "") {
  return {std::move(name), op, std::move(body), false, std::move(path), std::move(message)};
}

std::string Aws(const std::string& value, const std::string& path, const std::string& rule) {
  return "1 validation error detected: Value '" + value + "' at '" + path +
         "' failed to satisfy constraint: " + rule;
}
std::string NotNull(const std::string& path) {
  return "1 validation error detected: Value null at '" + path +
         "' failed to satisfy constraint: Member must not be null";
}

const char kNamePattern[] =
    "Member must satisfy regular expression pattern: (^(?!_{2}))(^[a-zA-Z0-9_]+$)";

std::vector<Case> ChannelCases() {
  const Op c = Op::kCreateChannel;
  const Json b = ChannelBody();
  const std::string s3 = "/channelStorage/customerManagedS3";
  return {
      Ok("channel_full", c, b),
      Ok("channel_minimal", c, Json{{"channelName", "channel_channeltest"}}),
      Ok("channel_service_managed", c,
         Set(b, "/channelStorage", {{"serviceManagedS3", Json::object()}})),
      Ok("channel_name_underscore_start", c, Set(b, "/channelName", "_a1")),
      Ok("channel_name_128", c, Set(b, "/channelName", Rep("a", 128))),
      Bad("channel_name_pattern", c, Set(b, "/channelName", "a-b"), "channelName",
          Aws("a-b", "channelName", kNamePattern)),
      Bad("channel_name_double_underscore", c, Set(b, "/channelName", "__ab"), "channelName",
          Aws("__ab", "channelName", kNamePattern)),
      Bad("channel_name_empty", c, Set(b, "/channelName", ""), "channelName",
          Aws("", "channelName", "Member must have length greater than or equal to 1")),
      Bad("channel_name_129", c, Set(b, "/channelName", Rep("a", 129)), "channelName",
          Aws(Rep("a", 100) + "...", "channelName",
              "Member must have length less than or equal to 128")),
      Bad("channel_name_missing", c, Del(b, "/channelName"), "channelName", NotNull("channelName")),
      Bad("channel_name_null", c, Set(b, "/channelName", nullptr), "channelName",
          NotNull("channelName")),
      Bad("channel_name_not_string", c, Set(b, "/channelName", 5), "channelName",
          "Value at 'channelName' must be a string"),
      Bad("channel_storage_not_object", c, Set(b, "/channelStorage", "s3"), "channelStorage",
          "Value at 'channelStorage' must be an object"),
      Bad("channel_storage_both", c, Set(b, "/channelStorage/serviceManagedS3", Json::object()),
          "channelStorage",
          "Exactly one of [serviceManagedS3, customerManagedS3] must be set at 'channelStorage'"),
      Bad("channel_storage_none", c, Set(b, "/channelStorage", Json::object()), "channelStorage"),
      Bad("channel_service_managed_not_object", c,
          Set(b, "/channelStorage", {{"serviceManagedS3", Json::array()}}),
          "channelStorage.serviceManagedS3",
          "Value at 'channelStorage.serviceManagedS3' must be an object"),
      Bad("channel_bucket_missing", c, Del(b, s3 + "/bucket"),
          "channelStorage.customerManagedS3.bucket",
          NotNull("channelStorage.customerManagedS3.bucket")),
      Bad("channel_bucket_short", c, Set(b, s3 + "/bucket", "ab"),
          "channelStorage.customerManagedS3.bucket",
          Aws("ab", "channelStorage.customerManagedS3.bucket",
              "Member must have length greater than or equal to 3")),
      Bad("channel_bucket_long", c, Set(b, s3 + "/bucket", Rep("b", 256)),
          "channelStorage.customerManagedS3.bucket"),
      Bad("channel_bucket_pattern", c, Set(b, s3 + "/bucket", "my bucket"),
          "channelStorage.customerManagedS3.bucket",
          Aws("my bucket", "channelStorage.customerManagedS3.bucket",
              "Member must satisfy regular expression pattern: ^[a-zA-Z0-9.\\-_]*$")),
      Ok("channel_key_prefix_absent", c, Del(b, s3 + "/keyPrefix")),
      Bad("channel_key_prefix_no_slash", c, Set(b, s3 + "/keyPrefix", "raw"),
          "channelStorage.customerManagedS3.keyPrefix",
          Aws("raw", "channelStorage.customerManagedS3.keyPrefix",
              "Member must satisfy regular expression pattern: ^[a-zA-Z0-9!_.*'()/{}:-]*/$")),
      Bad("channel_key_prefix_bad_char", c, Set(b, s3 + "/keyPrefix", "a b/"),
          "channelStorage.customerManagedS3.keyPrefix"),
      Bad("channel_key_prefix_empty", c, Set(b, s3 + "/keyPrefix", ""),
          "channelStorage.customerManagedS3.keyPrefix"),
      Bad("channel_key_prefix_long", c, Set(b, s3 + "/keyPrefix", Rep("k", 255) + "/"),
          "channelStorage.customerManagedS3.keyPrefix"),
      Bad("channel_role_missing", c, Del(b, s3 + "/roleArn"),
          "channelStorage.customerManagedS3.roleArn",
          NotNull("channelStorage.customerManagedS3.roleArn")),
      Bad("channel_role_short", c, Set(b, s3 + "/roleArn", "arn:aws:iam::1:r"),
          "channelStorage.customerManagedS3.roleArn",
          Aws("arn:aws:iam::1:r", "channelStorage.customerManagedS3.roleArn",
              "Member must have length greater than or equal to 20")),
      Bad("channel_role_long", c, Set(b, s3 + "/roleArn", Rep("r", 2049)),
          "channelStorage.customerManagedS3.roleArn"),
      // RetentionPeriod
      Ok("retention_unlimited", c, Set(b, "/retentionPeriod", {{"unlimited", true}})),
      Ok("retention_false_with_days", c,
         Set(b, "/retentionPeriod", {{"unlimited", false}, {"numberOfDays", 3}})),
      Ok("retention_days_integral_float", c, Set(b, "/retentionPeriod/numberOfDays", 3.0)),
      Ok("retention_days_large", c, Set(b, "/retentionPeriod/numberOfDays", 2147483647)),
      Bad("retention_unlimited_and_days", c,
          Set(b, "/retentionPeriod", {{"unlimited", true}, {"numberOfDays", 3}}), "retentionPeriod",
          "Value at 'retentionPeriod' is invalid: numberOfDays must not be set when unlimited is "
          "true"),
      Bad("retention_false_alone", c, Set(b, "/retentionPeriod", {{"unlimited", false}}),
          "retentionPeriod",
          "Value at 'retentionPeriod' is invalid: numberOfDays is required unless unlimited is "
          "true"),
      Bad("retention_empty", c, Set(b, "/retentionPeriod", Json::object()), "retentionPeriod"),
      Bad("retention_days_zero", c, Set(b, "/retentionPeriod/numberOfDays", 0),
          "retentionPeriod.numberOfDays",
          Aws("0", "retentionPeriod.numberOfDays",
              "Member must have value greater than or equal to 1")),
      Bad("retention_days_negative", c, Set(b, "/retentionPeriod/numberOfDays", -4),
          "retentionPeriod.numberOfDays"),
      Bad("retention_days_too_big", c, Set(b, "/retentionPeriod/numberOfDays", 2147483648LL),
          "retentionPeriod.numberOfDays",
          Aws("2147483648", "retentionPeriod.numberOfDays",
              "Member must have value less than or equal to 2147483647")),
      Bad("retention_days_string", c, Set(b, "/retentionPeriod/numberOfDays", "3"),
          "retentionPeriod.numberOfDays",
          "Value at 'retentionPeriod.numberOfDays' must be an integer"),
      Bad("retention_days_fraction", c, Set(b, "/retentionPeriod/numberOfDays", 2.5),
          "retentionPeriod.numberOfDays",
          "Value at 'retentionPeriod.numberOfDays' must be an integer"),
      Bad("retention_unlimited_string", c, Set(b, "/retentionPeriod", {{"unlimited", "true"}}),
          "retentionPeriod.unlimited", "Value at 'retentionPeriod.unlimited' must be a boolean"),
      Bad("retention_not_object", c, Set(b, "/retentionPeriod", 30), "retentionPeriod",
          "Value at 'retentionPeriod' must be an object"),
      // Update
      Ok("update_channel_empty", Op::kUpdateChannel, Json::object()),
      Ok("update_channel_full", Op::kUpdateChannel, Del(Del(b, "/channelName"), "/tags")),
      Bad("update_channel_storage", Op::kUpdateChannel,
          Json{{"channelStorage", {{"customerManagedS3", {{"bucket", "bkt"}}}}}},
          "channelStorage.customerManagedS3.roleArn"),
      Bad("update_channel_retention", Op::kUpdateChannel,
          Json{{"retentionPeriod", {{"numberOfDays", 0}}}}, "retentionPeriod.numberOfDays"),
      Bad("channel_body_not_object", c, Json::array(), "", "Request body must be a JSON object"),
  };
}

std::vector<Case> TagCases() {
  const Op c = Op::kCreateChannel;
  const Json b = ChannelBody();
  const Op t = Op::kTagList;
  const Json tag = {{"key", "k"}, {"value", "v"}};
  Json fifty = Json::array();
  for (int i = 0; i < 50; ++i) fifty.push_back({{"key", "k" + std::to_string(i)}, {"value", "v"}});
  Json fifty_one = fifty;
  fifty_one.push_back({{"key", "extra"}, {"value", "v"}});
  return {
      Ok("tags_fifty", t, fifty),
      Ok("tags_value_256_code_points", t,
         Json::array({{{"key", "k"}, {"value", Rep("\xC3\xA9", 256)}}})),
      Bad("tags_fifty_one", t, fifty_one, "tags",
          "1 validation error detected: Value '" + fifty_one.dump().substr(0, 100) +
              "...' at 'tags' failed to satisfy constraint: Member must have length less than or "
              "equal to 50"),
      Bad("tags_empty", c, Set(b, "/tags", Json::array()), "tags",
          Aws("[]", "tags", "Member must have length greater than or equal to 1")),
      Bad("tags_null_direct", t, Json(), "tags", NotNull("tags")),
      Bad("tags_not_list", c, Set(b, "/tags", tag), "tags", "Value at 'tags' must be a list"),
      Bad("tags_element_not_object", c, Set(b, "/tags", Json::array({"k"})), "tags.1.member",
          "Value at 'tags.1.member' must be an object"),
      Bad("tags_key_empty", c, Set(b, "/tags/0/key", ""), "tags.1.member.key",
          Aws("", "tags.1.member.key", "Member must have length greater than or equal to 1")),
      Bad("tags_key_long", c, Set(b, "/tags/0/key", Rep("k", 257)), "tags.1.member.key"),
      Bad("tags_key_missing", c, Del(b, "/tags/0/key"), "tags.1.member.key",
          NotNull("tags.1.member.key")),
      Bad("tags_value_missing", c, Del(b, "/tags/0/value"), "tags.1.member.value",
          NotNull("tags.1.member.value")),
      Bad("tags_value_empty", c, Set(b, "/tags/0/value", ""), "tags.1.member.value"),
      Bad("tags_value_257_code_points", t,
          Json::array({tag, {{"key", "k2"}, {"value", Rep("\xC3\xA9", 257)}}}),
          "tags.2.member.value",
          Aws(Rep("\xC3\xA9", 100) + "...", "tags.2.member.value",
              "Member must have length less than or equal to 256")),
      Bad("tags_value_not_string", c, Set(b, "/tags/0/value", true), "tags.1.member.value",
          "Value at 'tags.1.member.value' must be a string"),
      Bad("tags_duplicate_key", t, Json::array({tag, {{"key", "x"}, {"value", "1"}}, tag}),
          "tags.3.member.key",
          "Value at 'tags.3.member.key' is invalid: duplicate tag key 'k' (also at "
          "tags.1.member)"),
  };
}

std::vector<Case> DatastoreCases() {
  const Op c = Op::kCreateDatastore;
  const Json b = DatastoreBody();
  const std::string cols = "/fileFormatConfiguration/parquetConfiguration/schemaDefinition/columns";
  const std::string cols_path =
      "fileFormatConfiguration.parquetConfiguration.schemaDefinition.columns";
  const std::string parts = "/datastorePartitions/partitions";
  const std::string parts_path = "datastorePartitions.partitions";
  const Json customer = {
      {"customerManagedS3", {{"bucket", "bkt"}, {"keyPrefix", "p/"}, {"roleArn", kRole}}}};
  const Json sitewise = {
      {"iotSiteWiseMultiLayerStorage",
       {{"customerManagedS3Storage", {{"bucket", "bkt"}, {"keyPrefix", "p/"}}}}}};
  const Json column = {{"name", "c"}, {"type", "int"}};
  const Json attr_part = {{"attributePartition", {{"attributeName", "a"}}}};
  const Json ts_part = {{"timestampPartition", {{"attributeName", "t"}}}};
  return {
      Ok("datastore_full", c, b),
      Ok("datastore_minimal", c, Json{{"datastoreName", "ds"}}),
      Ok("datastore_customer_s3", c, Set(b, "/datastoreStorage", customer)),
      Ok("datastore_sitewise", c, Set(b, "/datastoreStorage", sitewise)),
      Ok("datastore_json_format", c,
         Set(b, "/fileFormatConfiguration", {{"jsonConfiguration", Json::object()}})),
      Ok("datastore_parquet_no_schema", c,
         Set(b, "/fileFormatConfiguration", {{"parquetConfiguration", Json::object()}})),
      Ok("datastore_hundred_columns", c, Set(b, cols, RepeatList(column, 100))),
      Ok("datastore_no_partitions", c, Set(b, "/datastorePartitions", Json::object())),
      Ok("datastore_25_partitions", c, Set(b, parts, RepeatList(attr_part, 25))),
      Bad("datastore_name_missing", c, Del(b, "/datastoreName"), "datastoreName",
          NotNull("datastoreName")),
      Bad("datastore_name_pattern", c, Set(b, "/datastoreName", "my.store"), "datastoreName",
          Aws("my.store", "datastoreName", kNamePattern)),
      Bad("datastore_storage_two", c,
          Set(Set(b, "/datastoreStorage", customer), "/datastoreStorage/serviceManagedS3",
              Json::object()),
          "datastoreStorage",
          "Exactly one of [serviceManagedS3, customerManagedS3, iotSiteWiseMultiLayerStorage] "
          "must be set at 'datastoreStorage'"),
      Bad("datastore_storage_none", c, Set(b, "/datastoreStorage", Json::object()),
          "datastoreStorage"),
      Bad("datastore_service_managed_not_object", c,
          Set(b, "/datastoreStorage/serviceManagedS3", true), "datastoreStorage.serviceManagedS3"),
      Bad("datastore_customer_role_missing", c,
          Del(Set(b, "/datastoreStorage", customer), "/datastoreStorage/customerManagedS3/roleArn"),
          "datastoreStorage.customerManagedS3.roleArn",
          NotNull("datastoreStorage.customerManagedS3.roleArn")),
      Bad("datastore_customer_bucket_pattern", c,
          Set(Set(b, "/datastoreStorage", customer), "/datastoreStorage/customerManagedS3/bucket",
              "b/kt"),
          "datastoreStorage.customerManagedS3.bucket"),
      Bad("datastore_customer_prefix_pattern", c,
          Set(Set(b, "/datastoreStorage", customer),
              "/datastoreStorage/customerManagedS3/keyPrefix", "p"),
          "datastoreStorage.customerManagedS3.keyPrefix"),
      Bad("datastore_sitewise_storage_missing", c,
          Set(b, "/datastoreStorage", {{"iotSiteWiseMultiLayerStorage", Json::object()}}),
          "datastoreStorage.iotSiteWiseMultiLayerStorage.customerManagedS3Storage",
          NotNull("datastoreStorage.iotSiteWiseMultiLayerStorage.customerManagedS3Storage")),
      Bad("datastore_sitewise_bucket_short", c,
          Set(Set(b, "/datastoreStorage", sitewise),
              "/datastoreStorage/iotSiteWiseMultiLayerStorage/customerManagedS3Storage/bucket",
              "b"),
          "datastoreStorage.iotSiteWiseMultiLayerStorage.customerManagedS3Storage.bucket"),
      Bad("datastore_sitewise_prefix_pattern", c,
          Set(Set(b, "/datastoreStorage", sitewise),
              "/datastoreStorage/iotSiteWiseMultiLayerStorage/customerManagedS3Storage/keyPrefix",
              "x"),
          "datastoreStorage.iotSiteWiseMultiLayerStorage.customerManagedS3Storage.keyPrefix"),
      Bad("datastore_format_both", c,
          Set(b, "/fileFormatConfiguration/jsonConfiguration", Json::object()),
          "fileFormatConfiguration",
          "Exactly one of [jsonConfiguration, parquetConfiguration] must be set at "
          "'fileFormatConfiguration'"),
      Bad("datastore_format_none", c, Set(b, "/fileFormatConfiguration", Json::object()),
          "fileFormatConfiguration"),
      Bad("datastore_json_not_object", c,
          Set(b, "/fileFormatConfiguration", {{"jsonConfiguration", "yes"}}),
          "fileFormatConfiguration.jsonConfiguration",
          "Value at 'fileFormatConfiguration.jsonConfiguration' must be an object"),
      Bad("datastore_columns_101", c, Set(b, cols, RepeatList(column, 101)), cols_path),
      Bad("datastore_columns_not_list", c, Set(b, cols, column), cols_path),
      Bad("datastore_column_name_digit_start", c, Set(b, cols + "/0/name", "01_temp"),
          cols_path + ".1.member.name",
          Aws("01_temp", cols_path + ".1.member.name",
              "Member must satisfy regular expression pattern: "
              "^[A-Za-z_]([A-Za-z0-9]*|[A-Za-z0-9][A-Za-z0-9_]*)$")),
      Bad("datastore_column_name_double_underscore", c, Set(b, cols + "/1/name", "__temp"),
          cols_path + ".2.member.name"),
      Bad("datastore_column_name_dash", c, Set(b, cols + "/0/name", "temp-01"),
          cols_path + ".1.member.name"),
      Ok("datastore_column_name_single_letter", c, Set(b, cols + "/0/name", "t")),
      Bad("datastore_column_name_long", c, Set(b, cols + "/0/name", Rep("c", 256)),
          cols_path + ".1.member.name"),
      Bad("datastore_column_name_missing", c, Del(b, cols + "/0/name"),
          cols_path + ".1.member.name", NotNull(cols_path + ".1.member.name")),
      Bad("datastore_column_type_empty", c, Set(b, cols + "/0/type", ""),
          cols_path + ".1.member.type"),
      Bad("datastore_column_type_control_char", c, Set(b, cols + "/0/type", "in\nt"),
          cols_path + ".1.member.type"),
      Ok("datastore_column_type_struct", c,
         Set(b, cols + "/0/type", "struct<a:int,b:array<string>>")),
      Bad("datastore_partitions_26", c, Set(b, parts, RepeatList(attr_part, 26)), parts_path,
          std::string("1 validation error detected: Value '") +
              RepeatList(attr_part, 26).dump().substr(0, 100) + "...' at '" + parts_path +
              "' failed to satisfy constraint: Member must have length less than or equal to 25"),
      Bad("datastore_partition_empty", c, Set(b, parts + "/0", Json::object()),
          parts_path + ".1.member",
          "Exactly one of [attributePartition, timestampPartition] must be set at '" + parts_path +
              ".1.member'"),
      Bad("datastore_partition_both", c,
          Set(b, parts + "/0/timestampPartition", {{"attributeName", "t"}}),
          parts_path + ".1.member"),
      Bad("datastore_partition_attr_pattern", c,
          Set(b, parts + "/0/attributePartition/attributeName", "a-b"),
          parts_path + ".1.member.attributePartition.attributeName",
          Aws("a-b", parts_path + ".1.member.attributePartition.attributeName",
              "Member must satisfy regular expression pattern: ^[a-zA-Z0-9_]+$")),
      Bad("datastore_partition_attr_missing", c,
          Del(b, parts + "/1/timestampPartition/attributeName"),
          parts_path + ".2.member.timestampPartition.attributeName"),
      Bad("datastore_partition_attr_long", c,
          Set(b, parts + "/0/attributePartition/attributeName", Rep("a", 129)),
          parts_path + ".1.member.attributePartition.attributeName"),
      Bad("datastore_timestamp_format_empty", c,
          Set(b, parts + "/1/timestampPartition/timestampFormat", ""),
          parts_path + ".2.member.timestampPartition.timestampFormat"),
      Bad("datastore_timestamp_format_long", c,
          Set(b, parts + "/1/timestampPartition/timestampFormat", Rep("y", 51)),
          parts_path + ".2.member.timestampPartition.timestampFormat"),
      Bad("datastore_timestamp_format_pattern", c,
          Set(b, parts + "/1/timestampPartition/timestampFormat", "yyyy%MM"),
          parts_path + ".2.member.timestampPartition.timestampFormat",
          Aws("yyyy%MM", parts_path + ".2.member.timestampPartition.timestampFormat",
              "Member must satisfy regular expression pattern: ^[a-zA-Z0-9\\s\\[\\]_,.'/:-]*$")),
      Ok("datastore_timestamp_format_brackets", c,
         Set(b, parts + "/1/timestampPartition/timestampFormat", "[yyyy]/MM,dd'T'HH\t.ss")),
      Bad("datastore_two_timestamp_partitions", c,
          Set(b, parts, Json::array({ts_part, attr_part, ts_part})),
          parts_path + ".3.member.timestampPartition",
          "Value at '" + parts_path +
              ".3.member.timestampPartition' is invalid: only one timestampPartition is allowed "
              "per datastore"),
      Bad("datastore_retention_invalid", c, Set(b, "/retentionPeriod/numberOfDays", 0),
          "retentionPeriod.numberOfDays"),
      Bad("datastore_tags_invalid", c, Set(b, "/tags", Json::array()), "tags"),
      Ok("update_datastore", Op::kUpdateDatastore,
         Del(Del(Del(b, "/datastoreName"), "/tags"), "/datastorePartitions")),
      Bad("update_datastore_storage", Op::kUpdateDatastore,
          Json{{"datastoreStorage", {{"customerManagedS3", {{"bucket", "bkt"}}}}}},
          "datastoreStorage.customerManagedS3.roleArn"),
      Bad("update_datastore_format", Op::kUpdateDatastore,
          Json{{"fileFormatConfiguration", Json::object()}}, "fileFormatConfiguration"),
      Bad("update_datastore_retention", Op::kUpdateDatastore,
          Json{{"retentionPeriod", {{"unlimited", true}, {"numberOfDays", 1}}}}, "retentionPeriod"),
  };
}

std::vector<Case> PipelineCases() {
  const Op c = Op::kCreatePipeline;
  const Json aws = AwsPipelineBody();
  const Json f = FullPipelineBody();
  const std::string A = "/pipelineActivities";
  const std::string P = "pipelineActivities";
  auto act = [&](int i, const std::string& kind) {  // 1-based element path
    return P + "." + std::to_string(i) + ".member." + kind;
  };
  Json attrs51 = Json::object();
  for (int i = 0; i < 51; ++i) attrs51["a" + std::to_string(i)] = "b" + std::to_string(i);
  Json list51 = Json::array();
  for (int i = 0; i < 51; ++i) list51.push_back("a" + std::to_string(i));
  return {
      Ok("pipeline_aws_example", c, aws),
      Ok("pipeline_all_activities", c, f),
      Ok("pipeline_channel_to_datastore", c,
         Json{{"pipelineName", "p"},
              {"pipelineActivities",
               {{{"datastore", {{"name", "d"}, {"datastoreName", "ds"}}}},
                {{"channel", {{"name", "c"}, {"channelName", "ch"}, {"next", "d"}}}}}}}),
      Bad("pipeline_name_pattern", c, Set(aws, "/pipelineName", "my pipeline"), "pipelineName",
          Aws("my pipeline", "pipelineName", kNamePattern)),
      Bad("pipeline_name_missing", c, Del(aws, "/pipelineName"), "pipelineName",
          NotNull("pipelineName")),
      Bad("pipeline_activities_missing", c, Del(aws, A), P, NotNull(P)),
      Bad("pipeline_activities_empty", c, Set(aws, A, Json::array()), P,
          Aws("[]", P, "Member must have length greater than or equal to 1")),
      Bad("pipeline_activities_26", c, Set(aws, A, RepeatList(aws["pipelineActivities"][1], 26)),
          P),
      Bad("pipeline_activities_not_list", c, Set(aws, A, Json::object()), P,
          "Value at 'pipelineActivities' must be a list"),
      Bad("pipeline_element_not_object", c, Set(aws, A + "/1", "datastore"), P + ".2.member",
          "Value at 'pipelineActivities.2.member' must be an object"),
      Bad("pipeline_element_no_activity", c, Set(aws, A + "/1", Json::object()), P + ".2.member",
          "Exactly one of [channel, lambda, datastore, addAttributes, removeAttributes, "
          "selectAttributes, filter, math, deviceRegistryEnrich, deviceShadowEnrich] must be set "
          "at 'pipelineActivities.2.member'"),
      Bad("pipeline_element_two_activities", c,
          Set(aws, A + "/2/filter", {{"name", "f"}, {"filter", "x > 1"}}), P + ".3.member"),
      Bad("pipeline_activity_not_object", c, Set(aws, A + "/2/math", "x"), act(3, "math"),
          "Value at 'pipelineActivities.3.member.math' must be an object"),
      // channel / datastore activities
      Bad("pipeline_channel_name_pattern", c, Set(aws, A + "/0/channel/channelName", "a-b"),
          act(1, "channel.channelName"),
          Aws("a-b", "pipelineActivities.1.member.channel.channelName", kNamePattern)),
      Bad("pipeline_channel_name_missing", c, Del(aws, A + "/0/channel/channelName"),
          act(1, "channel.channelName"), NotNull(act(1, "channel.channelName"))),
      Bad("pipeline_datastore_name_missing", c, Del(aws, A + "/1/datastore/datastoreName"),
          act(2, "datastore.datastoreName"), NotNull(act(2, "datastore.datastoreName"))),
      Bad("pipeline_datastore_name_pattern", c, Set(aws, A + "/1/datastore/datastoreName", "__d"),
          act(2, "datastore.datastoreName")),
      Bad("pipeline_activity_name_empty", c, Set(f, A + "/2/addAttributes/name", ""),
          act(3, "addAttributes.name"),
          Aws("", act(3, "addAttributes.name"),
              "Member must have length greater than or equal to 1")),
      Bad("pipeline_activity_name_long", c, Set(f, A + "/5/filter/name", Rep("n", 129)),
          act(6, "filter.name")),
      Bad("pipeline_activity_name_missing", c, Del(aws, A + "/2/math/name"), act(3, "math.name"),
          NotNull(act(3, "math.name"))),
      Bad("pipeline_next_empty", c, Set(f, A + "/3/removeAttributes/next", ""),
          act(4, "removeAttributes.next")),
      Bad("pipeline_next_not_string", c, Set(f, A + "/3/removeAttributes/next", 5),
          act(4, "removeAttributes.next")),
      // lambda
      Bad("pipeline_lambda_batch_zero", c, Set(f, A + "/1/lambda/batchSize", 0),
          act(2, "lambda.batchSize"),
          Aws("0", act(2, "lambda.batchSize"),
              "Member must have value greater than or equal to 1")),
      Bad("pipeline_lambda_batch_1001", c, Set(f, A + "/1/lambda/batchSize", 1001),
          act(2, "lambda.batchSize"),
          Aws("1001", act(2, "lambda.batchSize"),
              "Member must have value less than or equal to 1000")),
      Ok("pipeline_lambda_batch_1000", c, Set(f, A + "/1/lambda/batchSize", 1000)),
      Bad("pipeline_lambda_batch_missing", c, Del(f, A + "/1/lambda/batchSize"),
          act(2, "lambda.batchSize"), NotNull(act(2, "lambda.batchSize"))),
      Bad("pipeline_lambda_batch_string", c, Set(f, A + "/1/lambda/batchSize", "10"),
          act(2, "lambda.batchSize")),
      Bad("pipeline_lambda_name_pattern", c, Set(f, A + "/1/lambda/lambdaName", "my fn"),
          act(2, "lambda.lambdaName"),
          Aws("my fn", act(2, "lambda.lambdaName"),
              "Member must satisfy regular expression pattern: ^[a-zA-Z0-9_-]+$")),
      Bad("pipeline_lambda_name_long", c, Set(f, A + "/1/lambda/lambdaName", Rep("l", 65)),
          act(2, "lambda.lambdaName")),
      Ok("pipeline_lambda_name_64", c, Set(f, A + "/1/lambda/lambdaName", Rep("l", 64))),
      Bad("pipeline_lambda_name_empty", c, Set(f, A + "/1/lambda/lambdaName", ""),
          act(2, "lambda.lambdaName")),
      // addAttributes (map)
      Bad("pipeline_add_attributes_empty", c,
          Set(f, A + "/2/addAttributes/attributes", Json::object()),
          act(3, "addAttributes.attributes"),
          Aws("{}", act(3, "addAttributes.attributes"),
              "Member must have length greater than or equal to 1")),
      Bad("pipeline_add_attributes_51", c, Set(f, A + "/2/addAttributes/attributes", attrs51),
          act(3, "addAttributes.attributes")),
      Bad("pipeline_add_attributes_value_empty", c,
          Set(f, A + "/2/addAttributes/attributes/device.id", ""),
          act(3, "addAttributes.attributes.device.id")),
      Bad("pipeline_add_attributes_value_not_string", c,
          Set(f, A + "/2/addAttributes/attributes/device.id", 1),
          act(3, "addAttributes.attributes.device.id")),
      Bad("pipeline_add_attributes_key_empty", c, Set(f, A + "/2/addAttributes/attributes/", "x"),
          act(3, "addAttributes.attributes"),
          Aws("{\"\":\"x\",\"device.coord[0]\":\"lat\",\"device.id\":\"id\"}",
              act(3, "addAttributes.attributes"),
              "Map keys must satisfy constraint: [Member must have length greater than or equal "
              "to 1]")),
      Bad("pipeline_add_attributes_list", c, Set(f, A + "/2/addAttributes/attributes", list51),
          act(3, "addAttributes.attributes")),
      Bad("pipeline_add_attributes_missing", c, Del(f, A + "/2/addAttributes/attributes"),
          act(3, "addAttributes.attributes")),
      // removeAttributes / selectAttributes (list)
      Bad("pipeline_remove_attributes_empty", c,
          Set(f, A + "/3/removeAttributes/attributes", Json::array()),
          act(4, "removeAttributes.attributes")),
      Bad("pipeline_remove_attributes_51", c, Set(f, A + "/3/removeAttributes/attributes", list51),
          act(4, "removeAttributes.attributes")),
      Bad("pipeline_remove_attributes_element_empty", c,
          Set(f, A + "/3/removeAttributes/attributes/0", ""),
          act(4, "removeAttributes.attributes.1.member"),
          Aws("", act(4, "removeAttributes.attributes.1.member"),
              "Member must have length greater than or equal to 1")),
      Bad("pipeline_remove_attributes_element_number", c,
          Set(f, A + "/3/removeAttributes/attributes/0", 7),
          act(4, "removeAttributes.attributes.1.member")),
      Bad("pipeline_select_attributes_element_long", c,
          Set(f, A + "/4/selectAttributes/attributes/2", Rep("x", 257)),
          act(5, "selectAttributes.attributes.3.member")),
      Bad("pipeline_select_attributes_missing", c, Del(f, A + "/4/selectAttributes/attributes"),
          act(5, "selectAttributes.attributes")),
      // filter / math
      Bad("pipeline_filter_empty", c, Set(f, A + "/5/filter/filter", ""), act(6, "filter.filter")),
      Bad("pipeline_filter_long", c, Set(f, A + "/5/filter/filter", Rep("f", 257)),
          act(6, "filter.filter")),
      Ok("pipeline_filter_256", c, Set(f, A + "/5/filter/filter", Rep("f", 256))),
      Bad("pipeline_math_missing", c, Del(f, A + "/6/math/math"), act(7, "math.math"),
          NotNull(act(7, "math.math"))),
      Bad("pipeline_math_long", c, Set(f, A + "/6/math/math", Rep("1", 257)), act(7, "math.math")),
      Bad("pipeline_math_attribute_empty", c, Set(f, A + "/6/math/attribute", ""),
          act(7, "math.attribute")),
      // enrich
      Bad("pipeline_registry_role_short", c, Set(f, A + "/7/deviceRegistryEnrich/roleArn", "arn"),
          act(8, "deviceRegistryEnrich.roleArn")),
      Bad("pipeline_registry_thing_missing", c, Del(f, A + "/7/deviceRegistryEnrich/thingName"),
          act(8, "deviceRegistryEnrich.thingName")),
      Bad("pipeline_shadow_attribute_long", c,
          Set(f, A + "/8/deviceShadowEnrich/attribute", Rep("s", 257)),
          act(9, "deviceShadowEnrich.attribute")),
      Bad("pipeline_shadow_role_missing", c, Del(f, A + "/8/deviceShadowEnrich/roleArn"),
          act(9, "deviceShadowEnrich.roleArn")),
      // graph
      Bad("pipeline_duplicate_activity_name", c, Set(f, A + "/4/selectAttributes/name", "a2"),
          act(5, "selectAttributes.name"),
          "Value at 'pipelineActivities.5.member.selectAttributes.name' is invalid: activity name "
          "'a2' is already used by pipelineActivities.2.member.lambda"),
      Bad("pipeline_two_channels", c,
          Set(aws, A + "/3",
              {{"channel", {{"name", "c2"}, {"channelName", "x"}, {"next", "myMathActivity"}}}}),
          act(4, "channel"),
          "Value at 'pipelineActivities.4.member.channel' is invalid: a pipeline must have "
          "exactly one channel activity; 'myChannelActivity' and 'c2' are both channel "
          "activities"),
      Bad("pipeline_no_channel", c,
          Set(aws, A + "/0",
              {{"filter",
                {{"name", "myChannelActivity"}, {"filter", "a > 1"}, {"next", "myMathActivity"}}}}),
          P,
          "Value at 'pipelineActivities' is invalid: a pipeline must have exactly one channel "
          "activity"),
      Bad("pipeline_no_datastore", c,
          Set(aws, A + "/1", {{"filter", {{"name", "myDatastoreActivity"}, {"filter", "a > 1"}}}}),
          P,
          "Value at 'pipelineActivities' is invalid: a pipeline must have exactly one datastore "
          "activity"),
      Bad("pipeline_two_datastores", c,
          Set(aws, A + "/3", {{"datastore", {{"name", "d2"}, {"datastoreName", "x"}}}}),
          act(4, "datastore")),
      Bad("pipeline_next_unknown", c, Set(aws, A + "/2/math/next", "nowhere"), act(3, "math.next"),
          "Value at 'pipelineActivities.3.member.math.next' is invalid: activity 'myMathActivity' "
          "names next activity 'nowhere' which does not exist"),
      Bad("pipeline_next_self", c, Set(aws, A + "/2/math/next", "myMathActivity"),
          act(3, "math.next"),
          "Value at 'pipelineActivities.3.member.math.next' is invalid: activity 'myMathActivity' "
          "names itself as its next activity"),
      Bad("pipeline_datastore_has_next", c, Set(aws, A + "/1/datastore/next", "myMathActivity"),
          act(2, "datastore.next"),
          "Value at 'pipelineActivities.2.member.datastore.next' is invalid: the datastore "
          "activity 'myDatastoreActivity' ends the pipeline and must not have a next activity"),
      Bad("pipeline_chain_stops_early", c, Del(aws, A + "/2/math/next"), act(3, "math"),
          "Value at 'pipelineActivities.3.member.math' is invalid: activity 'myMathActivity' has "
          "no next activity; the chain from channel activity 'myChannelActivity' must end at "
          "datastore activity 'myDatastoreActivity'"),
      Bad("pipeline_channel_without_next", c, Del(aws, A + "/0/channel/next"), act(1, "channel")),
      Bad("pipeline_orphan_activity", c, Set(aws, A + "/0/channel/next", "myDatastoreActivity"),
          act(3, "math"),
          "Value at 'pipelineActivities.3.member.math' is invalid: activity 'myMathActivity' is "
          "not reachable from channel activity 'myChannelActivity'"),
      Bad("pipeline_cycle", c, Set(f, A + "/4/selectAttributes/next", "a3"), P),
      Bad("pipeline_cycle_to_channel", c, Set(aws, A + "/2/math/next", "myChannelActivity"), P,
          "Value at 'pipelineActivities' is invalid: the activities form a cycle at activity "
          "'myChannelActivity'; the chain from channel activity 'myChannelActivity' must end at "
          "datastore activity 'myDatastoreActivity'"),
      Bad("pipeline_cycle_mid_chain", c,
          Set(Set(aws, A + "/3",
                  {{"filter", {{"name", "f"}, {"filter", "a > 1"}, {"next", "myMathActivity"}}}}),
              A + "/2/math/next", "f"),
          P),
      Bad("pipeline_tags_invalid", c, Set(aws, "/tags/0/key", ""), "tags.1.member.key"),
      Ok("update_pipeline", Op::kUpdatePipeline, Del(Del(aws, "/pipelineName"), "/tags")),
      Bad("update_pipeline_missing_activities", Op::kUpdatePipeline, Json::object(), P, NotNull(P)),
      Bad("update_pipeline_graph", Op::kUpdatePipeline, Del(aws, A + "/2/math/next"),
          act(3, "math")),
  };
}

std::vector<Case> DatasetCases() {
  const Op c = Op::kCreateDataset;
  const Json s = SqlDatasetBody();
  const Json k = ContainerDatasetBody();
  const std::string q = "/actions/0/queryAction";
  const std::string qp = "actions.1.member.queryAction";
  const std::string ca = "/actions/0/containerAction";
  const std::string cp = "actions.1.member.containerAction";
  const std::string v = ca + "/variables";
  const std::string vp = cp + ".variables";
  const std::string s3 = "/contentDeliveryRules/0/destination/s3DestinationConfiguration";
  const std::string s3p = "contentDeliveryRules.1.member.destination.s3DestinationConfiguration";
  const std::string ie = "/contentDeliveryRules/1/destination/iotEventsDestinationConfiguration";
  const std::string iep =
      "contentDeliveryRules.2.member.destination.iotEventsDestinationConfiguration";
  const std::string ld = "/lateDataRules/0";
  const std::string ldp = "lateDataRules.1.member";
  const Json sql_no_filter = Del(Del(s, q + "/filters"), "/lateDataRules");
  const Json dataset_trigger = {{"dataset", {{"name", "other"}}}};
  const Json schedule_trigger = {{"schedule", {{"expression", "cron(0 12 * * ? *)"}}}};
  const Json variable = {{"name", "x"}, {"stringValue", "y"}};
  Json vars50 = Json::array();
  for (int i = 0; i < 51; ++i)
    vars50.push_back({{"name", "v" + std::to_string(i)}, {"doubleValue", i}});
  Json vars51 = vars50;
  vars50.erase(vars50.size() - 1);
  const Json rule = s["contentDeliveryRules"][0];
  return {
      Ok("dataset_sql_delta_window", c, s),
      Ok("dataset_container", c, k),
      Ok("dataset_cli_example", c, Json::parse(R"js({"datasetName": "mydataset",
          "actions": [{"actionName": "myDatasetAction",
                       "queryAction": {"sqlQuery": "SELECT * FROM mydatastore"}}],
          "retentionPeriod": {"unlimited": true},
          "tags": [{"key": "Environment", "value": "Production"}]})js")),
      Ok("dataset_action_name_absent", c, Del(s, "/actions/0/actionName")),
      Ok("dataset_filters_empty", c, Del(Set(s, q + "/filters", Json::array()), "/lateDataRules")),
      Ok("dataset_offset_positive", c, Set(s, q + "/filters/0/deltaTime/offsetSeconds", 60)),
      Bad("dataset_name_missing", c, Del(s, "/datasetName"), "datasetName", NotNull("datasetName")),
      Bad("dataset_name_pattern", c, Set(s, "/datasetName", "my-dataset"), "datasetName",
          Aws("my-dataset", "datasetName", kNamePattern)),
      // actions
      Bad("dataset_actions_missing", c, Del(s, "/actions"), "actions", NotNull("actions")),
      Bad("dataset_actions_empty", c, Set(s, "/actions", Json::array()), "actions",
          Aws("[]", "actions", "Member must have length greater than or equal to 1")),
      Bad("dataset_actions_two", c, Set(k, "/actions/1", k["actions"][0]), "actions"),
      Bad("dataset_action_name_pattern", c, Set(s, "/actions/0/actionName", "a-b"),
          "actions.1.member.actionName",
          Aws("a-b", "actions.1.member.actionName",
              "Member must satisfy regular expression pattern: ^[a-zA-Z0-9_]+$")),
      Bad("dataset_action_name_long", c, Set(s, "/actions/0/actionName", Rep("a", 129)),
          "actions.1.member.actionName"),
      Bad("dataset_action_none", c, Del(s, q), "actions.1.member",
          "Exactly one of [queryAction, containerAction] must be set at 'actions.1.member'"),
      Bad("dataset_action_both", c, Set(k, "/actions/0/queryAction", {{"sqlQuery", "SELECT 1"}}),
          "actions.1.member"),
      // queryAction
      Bad("dataset_sql_empty", c, Set(s, q + "/sqlQuery", ""), qp + ".sqlQuery",
          Aws("", qp + ".sqlQuery", "Member must have length greater than or equal to 1")),
      Bad("dataset_sql_missing", c, Del(s, q + "/sqlQuery"), qp + ".sqlQuery",
          NotNull(qp + ".sqlQuery")),
      Bad("dataset_sql_not_string", c, Set(s, q + "/sqlQuery", Json::array()), qp + ".sqlQuery"),
      Bad("dataset_filters_two", c,
          Set(s, q + "/filters/1", s["actions"][0]["queryAction"]["filters"][0]), qp + ".filters"),
      Bad("dataset_filter_empty", c, Set(s, q + "/filters/0", Json::object()),
          qp + ".filters.1.member",
          "Exactly one of [deltaTime] must be set at '" + qp + ".filters.1.member'"),
      Bad("dataset_offset_missing", c, Del(s, q + "/filters/0/deltaTime/offsetSeconds"),
          qp + ".filters.1.member.deltaTime.offsetSeconds",
          NotNull(qp + ".filters.1.member.deltaTime.offsetSeconds")),
      Bad("dataset_offset_string", c, Set(s, q + "/filters/0/deltaTime/offsetSeconds", "-180"),
          qp + ".filters.1.member.deltaTime.offsetSeconds",
          "Value at '" + qp + ".filters.1.member.deltaTime.offsetSeconds' must be an integer"),
      Bad("dataset_time_expression_missing", c, Del(s, q + "/filters/0/deltaTime/timeExpression"),
          qp + ".filters.1.member.deltaTime.timeExpression"),
      Bad("dataset_time_expression_number", c, Set(s, q + "/filters/0/deltaTime/timeExpression", 1),
          qp + ".filters.1.member.deltaTime.timeExpression"),
      // containerAction
      Bad("dataset_image_empty", c, Set(k, ca + "/image", ""), cp + ".image"),
      Bad("dataset_image_long", c, Set(k, ca + "/image", Rep("i", 256)), cp + ".image",
          Aws(Rep("i", 100) + "...", cp + ".image",
              "Member must have length less than or equal to 255")),
      Ok("dataset_image_255", c, Set(k, ca + "/image", Rep("i", 255))),
      Bad("dataset_image_missing", c, Del(k, ca + "/image"), cp + ".image", NotNull(cp + ".image")),
      Bad("dataset_exec_role_short", c, Set(k, ca + "/executionRoleArn", "arn:aws:iam::1"),
          cp + ".executionRoleArn"),
      Bad("dataset_exec_role_missing", c, Del(k, ca + "/executionRoleArn"),
          cp + ".executionRoleArn"),
      Bad("dataset_resource_config_missing", c, Del(k, ca + "/resourceConfiguration"),
          cp + ".resourceConfiguration", NotNull(cp + ".resourceConfiguration")),
      Bad("dataset_compute_type_enum", c,
          Set(k, ca + "/resourceConfiguration/computeType", "ACU_3"),
          cp + ".resourceConfiguration.computeType",
          Aws("ACU_3", cp + ".resourceConfiguration.computeType",
              "Member must satisfy enum value set: [ACU_1, ACU_2]")),
      Ok("dataset_compute_type_acu2", c,
         Set(k, ca + "/resourceConfiguration/computeType", "ACU_2")),
      Bad("dataset_compute_type_missing", c, Del(k, ca + "/resourceConfiguration/computeType"),
          cp + ".resourceConfiguration.computeType"),
      Bad("dataset_volume_zero", c, Set(k, ca + "/resourceConfiguration/volumeSizeInGB", 0),
          cp + ".resourceConfiguration.volumeSizeInGB"),
      Bad("dataset_volume_51", c, Set(k, ca + "/resourceConfiguration/volumeSizeInGB", 51),
          cp + ".resourceConfiguration.volumeSizeInGB",
          Aws("51", cp + ".resourceConfiguration.volumeSizeInGB",
              "Member must have value less than or equal to 50")),
      Ok("dataset_volume_50", c, Set(k, ca + "/resourceConfiguration/volumeSizeInGB", 50)),
      // variables
      Ok("dataset_variables_50", c, Set(k, v, vars50)),
      Ok("dataset_variable_string_empty", c, Set(k, v + "/0/stringValue", "")),
      Ok("dataset_variable_string_1024", c, Set(k, v + "/0/stringValue", Rep("s", 1024))),
      Bad("dataset_variables_51", c, Set(k, v, vars51), vp),
      Bad("dataset_variable_string_1025", c, Set(k, v + "/0/stringValue", Rep("s", 1025)),
          vp + ".1.member.stringValue"),
      Bad("dataset_variable_name_empty", c, Set(k, v + "/0/name", ""), vp + ".1.member.name"),
      Bad("dataset_variable_name_long", c, Set(k, v + "/0/name", Rep("n", 257)),
          vp + ".1.member.name"),
      Bad("dataset_variable_name_missing", c, Del(k, v + "/0/name"), vp + ".1.member.name",
          NotNull(vp + ".1.member.name")),
      Bad("dataset_variable_two_kinds", c, Set(k, v + "/0/doubleValue", 1.5), vp + ".1.member",
          "Exactly one of [stringValue, doubleValue, datasetContentVersionValue, "
          "outputFileUriValue] must be set at '" +
              vp + ".1.member'"),
      Bad("dataset_variable_no_kind", c, Set(k, v + "/0", {{"name", "x"}}), vp + ".1.member"),
      Bad("dataset_variable_double_string", c, Set(k, v + "/1/doubleValue", "2.5"),
          vp + ".2.member.doubleValue",
          "Value at '" + vp + ".2.member.doubleValue' must be a number"),
      Ok("dataset_variable_double_integer", c, Set(k, v + "/1/doubleValue", 3)),
      Bad("dataset_variable_dataset_name_pattern", c,
          Set(k, v + "/2/datasetContentVersionValue/datasetName", "a-b"),
          vp + ".3.member.datasetContentVersionValue.datasetName"),
      Bad("dataset_variable_dataset_name_missing", c,
          Set(k, v + "/2/datasetContentVersionValue", Json::object()),
          vp + ".3.member.datasetContentVersionValue.datasetName"),
      Bad("dataset_variable_file_name_pattern", c,
          Set(k, v + "/3/outputFileUriValue/fileName", "out/put.txt"),
          vp + ".4.member.outputFileUriValue.fileName",
          Aws("out/put.txt", vp + ".4.member.outputFileUriValue.fileName",
              "Member must satisfy regular expression pattern: [\\w\\.-]{1,255}")),
      Bad("dataset_variable_file_name_empty", c, Set(k, v + "/3/outputFileUriValue/fileName", ""),
          vp + ".4.member.outputFileUriValue.fileName"),
      Bad("dataset_variable_file_name_long", c,
          Set(k, v + "/3/outputFileUriValue/fileName", Rep("f", 256)),
          vp + ".4.member.outputFileUriValue.fileName"),
      Ok("dataset_variable_file_name_255", c,
         Set(k, v + "/3/outputFileUriValue/fileName", Rep("f", 251) + ".txt")),
      Bad("dataset_variable_output_not_object", c, Set(k, v + "/3/outputFileUriValue", "x.txt"),
          vp + ".4.member.outputFileUriValue"),
      Bad("dataset_variable_duplicate_name", c, Set(k, v + "/2/name", "example_var"),
          vp + ".3.member.name",
          "Value at '" + vp +
              ".3.member.name' is invalid: variable name 'example_var' is already "
              "used by " +
              vp + ".1.member"),
      Bad("dataset_variable_not_object", c, Set(k, v + "/0", "x"), vp + ".1.member"),
      // triggers (shape and the documented rules)
      Bad("dataset_triggers_six", c, Set(s, "/triggers", RepeatList(schedule_trigger, 6)),
          "triggers",
          "1 validation error detected: Value '" +
              RepeatList(schedule_trigger, 6).dump().substr(0, 100) +
              "...' at 'triggers' failed to satisfy constraint: Member must have length less than "
              "or equal to 5"),
      Bad("dataset_trigger_empty", c, Set(k, "/triggers/0", Json::object()), "triggers.1.member",
          "Exactly one of [schedule, dataset] must be set at 'triggers.1.member'"),
      Bad("dataset_trigger_not_object", c, Set(k, "/triggers/0", "daily"), "triggers.1.member"),
      Bad("dataset_trigger_both_keys", c,
          Set(k, "/triggers/0/schedule", {{"expression", "cron(0 12 * * ? *)"}}), "",
          "Exactly one trigger type should be provided"),
      Bad("dataset_trigger_mixed", c, Set(k, "/triggers/1", schedule_trigger), "",
          "Exactly one trigger type should be provided"),
      Bad("dataset_trigger_two_datasets", c,
          Set(k, "/triggers/1", {{"dataset", {{"name", "another"}}}}), "",
          "There can only be one triggering dataset"),
      Bad("dataset_trigger_dataset_on_sql", c, Set(s, "/triggers", Json::array({dataset_trigger})),
          "", "Triggering dataset can only be added on a container dataset"),
      Bad("dataset_trigger_dataset_name_pattern", c, Set(k, "/triggers/0/dataset/name", "a b"),
          "triggers.1.member.dataset.name",
          Aws("a b", "triggers.1.member.dataset.name", kNamePattern)),
      Bad("dataset_trigger_dataset_name_missing", c, Set(k, "/triggers/0/dataset", Json::object()),
          "triggers.1.member.dataset.name", NotNull("triggers.1.member.dataset.name")),
      Bad("dataset_trigger_schedule_expression_missing", c,
          Set(s, "/triggers", Json::array({{{"schedule", Json::object()}}})),
          "triggers.1.member.schedule.expression",
          NotNull("triggers.1.member.schedule.expression")),
      Bad("dataset_trigger_schedule_not_object", c,
          Set(s, "/triggers", Json::array({{{"schedule", "cron(0 12 * * ? *)"}}})),
          "triggers.1.member.schedule"),
      // content delivery rules
      Bad("dataset_delivery_21", c, Set(s, "/contentDeliveryRules", RepeatList(rule, 21)),
          "contentDeliveryRules"),
      Ok("dataset_delivery_20", c, Set(s, "/contentDeliveryRules", RepeatList(rule, 20))),
      Bad("dataset_delivery_entry_name_type", c, Set(s, "/contentDeliveryRules/0/entryName", 3),
          "contentDeliveryRules.1.member.entryName"),
      Bad("dataset_delivery_destination_missing", c, Del(s, "/contentDeliveryRules/0/destination"),
          "contentDeliveryRules.1.member.destination",
          NotNull("contentDeliveryRules.1.member.destination")),
      Bad("dataset_delivery_destination_empty", c,
          Set(s, "/contentDeliveryRules/0/destination", Json::object()),
          "contentDeliveryRules.1.member.destination",
          "Exactly one of [iotEventsDestinationConfiguration, s3DestinationConfiguration] must be "
          "set at 'contentDeliveryRules.1.member.destination'"),
      Bad("dataset_delivery_destination_both", c,
          Set(s, "/contentDeliveryRules/0/destination/iotEventsDestinationConfiguration",
              s["contentDeliveryRules"][1]["destination"]["iotEventsDestinationConfiguration"]),
          "contentDeliveryRules.1.member.destination"),
      Bad("dataset_iot_events_input_pattern", c, Set(s, ie + "/inputName", "1input"),
          iep + ".inputName",
          Aws("1input", iep + ".inputName",
              "Member must satisfy regular expression pattern: ^[a-zA-Z][a-zA-Z0-9_]*$")),
      Bad("dataset_iot_events_input_long", c, Set(s, ie + "/inputName", Rep("i", 129)),
          iep + ".inputName"),
      Bad("dataset_iot_events_input_missing", c, Del(s, ie + "/inputName"), iep + ".inputName"),
      Bad("dataset_iot_events_role_missing", c, Del(s, ie + "/roleArn"), iep + ".roleArn"),
      Bad("dataset_s3_bucket_short", c, Set(s, s3 + "/bucket", "ab"), s3p + ".bucket"),
      Bad("dataset_s3_bucket_pattern", c, Set(s, s3 + "/bucket", "b/b"), s3p + ".bucket"),
      Bad("dataset_s3_key_empty", c, Set(s, s3 + "/key", ""), s3p + ".key"),
      Bad("dataset_s3_key_long", c, Set(s, s3 + "/key", Rep("k", 256)), s3p + ".key"),
      Bad("dataset_s3_key_pattern", c, Set(s, s3 + "/key", "a b.csv"), s3p + ".key",
          Aws("a b.csv", s3p + ".key",
              "Member must satisfy regular expression pattern: ^[a-zA-Z0-9!_.*'()/{}:-]*$")),
      Bad("dataset_s3_role_short", c, Set(s, s3 + "/roleArn", "r"), s3p + ".roleArn"),
      Ok("dataset_s3_no_glue", c, Del(s, s3 + "/glueConfiguration")),
      Bad("dataset_glue_table_missing", c, Del(s, s3 + "/glueConfiguration/tableName"),
          s3p + ".glueConfiguration.tableName"),
      Bad("dataset_glue_table_empty", c, Set(s, s3 + "/glueConfiguration/tableName", ""),
          s3p + ".glueConfiguration.tableName"),
      Bad("dataset_glue_database_long", c,
          Set(s, s3 + "/glueConfiguration/databaseName", Rep("d", 151)),
          s3p + ".glueConfiguration.databaseName"),
      Bad("dataset_glue_database_control_char", c,
          Set(s, s3 + "/glueConfiguration/databaseName", "db\x01"),
          s3p + ".glueConfiguration.databaseName"),
      // retention / versioning
      Bad("dataset_retention_both", c, Set(s, "/retentionPeriod/numberOfDays", 5),
          "retentionPeriod"),
      Ok("dataset_versioning_unlimited", c,
         Set(s, "/versioningConfiguration", {{"unlimited", true}})),
      Ok("dataset_versioning_1000", c, Set(s, "/versioningConfiguration/maxVersions", 1000)),
      Bad("dataset_versioning_1001", c, Set(s, "/versioningConfiguration/maxVersions", 1001),
          "versioningConfiguration.maxVersions",
          Aws("1001", "versioningConfiguration.maxVersions",
              "Member must have value less than or equal to 1000")),
      Bad("dataset_versioning_zero", c, Set(s, "/versioningConfiguration/maxVersions", 0),
          "versioningConfiguration.maxVersions"),
      Bad("dataset_versioning_unlimited_and_max", c,
          Set(s, "/versioningConfiguration", {{"unlimited", true}, {"maxVersions", 3}}),
          "versioningConfiguration",
          "Value at 'versioningConfiguration' is invalid: maxVersions must not be set when "
          "unlimited is true"),
      Bad("dataset_versioning_false_alone", c,
          Set(s, "/versioningConfiguration", {{"unlimited", false}}), "versioningConfiguration"),
      // late data rules
      Ok("dataset_late_rule_name_absent", c, Del(s, ld + "/ruleName")),
      Bad("dataset_late_rules_empty", c, Set(s, "/lateDataRules", Json::array()), "lateDataRules"),
      Bad("dataset_late_rules_two", c, Set(s, "/lateDataRules/1", s["lateDataRules"][0]),
          "lateDataRules"),
      Bad("dataset_late_rule_name_pattern", c, Set(s, ld + "/ruleName", "demo rule"),
          ldp + ".ruleName"),
      Bad("dataset_late_rule_name_empty", c, Set(s, ld + "/ruleName", ""), ldp + ".ruleName"),
      Bad("dataset_late_rule_config_missing", c, Del(s, ld + "/ruleConfiguration"),
          ldp + ".ruleConfiguration", NotNull(ldp + ".ruleConfiguration")),
      Bad("dataset_late_rule_config_empty", c, Set(s, ld + "/ruleConfiguration", Json::object()),
          ldp + ".ruleConfiguration",
          "Exactly one of [deltaTimeSessionWindowConfiguration] must be set at '" + ldp +
              ".ruleConfiguration'"),
      Bad("dataset_late_rule_timeout_61", c,
          Set(s, ld + "/ruleConfiguration/deltaTimeSessionWindowConfiguration/timeoutInMinutes",
              61),
          ldp + ".ruleConfiguration.deltaTimeSessionWindowConfiguration.timeoutInMinutes",
          Aws("61", ldp + ".ruleConfiguration.deltaTimeSessionWindowConfiguration.timeoutInMinutes",
              "Member must have value less than or equal to 60")),
      Bad("dataset_late_rule_timeout_zero", c,
          Set(s, ld + "/ruleConfiguration/deltaTimeSessionWindowConfiguration/timeoutInMinutes", 0),
          ldp + ".ruleConfiguration.deltaTimeSessionWindowConfiguration.timeoutInMinutes"),
      Ok("dataset_late_rule_timeout_60", c,
         Set(s, ld + "/ruleConfiguration/deltaTimeSessionWindowConfiguration/timeoutInMinutes",
             60)),
      Bad("dataset_late_rules_without_delta_time", c,
          Set(sql_no_filter, "/lateDataRules", s["lateDataRules"]), "lateDataRules",
          "Value at 'lateDataRules' is invalid: lateDataRules require a queryAction with a "
          "deltaTime filter"),
      Bad("dataset_late_rules_on_container", c, Set(k, "/lateDataRules", s["lateDataRules"]),
          "lateDataRules"),
      Bad("dataset_tags_invalid", c, Set(s, "/tags/0/value", ""), "tags.1.member.value"),
      // update
      Ok("update_dataset_sql", Op::kUpdateDataset, Del(Del(s, "/datasetName"), "/tags")),
      Ok("update_dataset_container", Op::kUpdateDataset, Del(k, "/datasetName")),
      Bad("update_dataset_actions_missing", Op::kUpdateDataset, Json::object(), "actions",
          NotNull("actions")),
      Bad("update_dataset_trigger_rule", Op::kUpdateDataset,
          Set(Del(s, "/datasetName"), "/triggers", Json::array({dataset_trigger})), "",
          "Triggering dataset can only be added on a container dataset"),
  };
}

std::vector<Case> LoggingCases() {
  const Op c = Op::kPutLogging;
  const Json b = LoggingBody();
  return {
      Ok("logging_valid", c, b),
      Ok("logging_disabled", c, Set(b, "/loggingOptions/enabled", false)),
      Bad("logging_missing", c, Json::object(), "loggingOptions", NotNull("loggingOptions")),
      Bad("logging_not_object", c, Set(b, "/loggingOptions", "on"), "loggingOptions"),
      Bad("logging_level_enum", c, Set(b, "/loggingOptions/level", "INFO"), "loggingOptions.level",
          Aws("INFO", "loggingOptions.level", "Member must satisfy enum value set: [ERROR]")),
      Bad("logging_level_missing", c, Del(b, "/loggingOptions/level"), "loggingOptions.level",
          NotNull("loggingOptions.level")),
      Bad("logging_enabled_string", c, Set(b, "/loggingOptions/enabled", "true"),
          "loggingOptions.enabled", "Value at 'loggingOptions.enabled' must be a boolean"),
      Bad("logging_enabled_missing", c, Del(b, "/loggingOptions/enabled"),
          "loggingOptions.enabled"),
      Bad("logging_role_short", c, Set(b, "/loggingOptions/roleArn", "arn:aws:iam::1:role"),
          "loggingOptions.roleArn"),
      Bad("logging_role_missing", c, Del(b, "/loggingOptions/roleArn"), "loggingOptions.roleArn"),
  };
}

std::vector<Case> AllCases() {
  std::vector<Case> all;
  for (auto* make :
       {&ChannelCases, &TagCases, &DatastoreCases, &PipelineCases, &DatasetCases, &LoggingCases}) {
    std::vector<Case> part = (*make)();
    all.insert(all.end(), part.begin(), part.end());
  }
  return all;
}

class ValidateTableTest : public ::testing::TestWithParam<Case> {};

TEST_P(ValidateTableTest, Check) {
  const Case& c = GetParam();
  const Status st = RunOp(c.op, c.body);
  if (c.ok) {
    EXPECT_TRUE(st.ok()) << st.ToString();
    return;
  }
  ASSERT_FALSE(st.ok()) << "expected a failure at '" << c.path << "'";
  EXPECT_EQ(st.code(), StatusCode::kInvalidArgument) << st.ToString();
  ASSERT_FALSE(c.path.empty() && c.message.empty()) << "case asserts nothing";
  if (!c.path.empty()) EXPECT_THAT(st.message(), HasSubstr("'" + c.path + "'"));
  if (!c.message.empty()) EXPECT_EQ(st.message(), c.message);
}

INSTANTIATE_TEST_SUITE_P(All, ValidateTableTest, ::testing::ValuesIn(AllCases()),
                         [](const ::testing::TestParamInfo<Case>& info) {
                           return info.param.name;
                         });

TEST(ValidateTableNames, Unique) {
  std::set<std::string> names;
  for (const Case& c : AllCases()) EXPECT_TRUE(names.insert(c.name).second) << c.name;
}

// ---------------------------------------------------------------------------------------------
// Focused tests

TEST(ValidateResourceNameTest, Rules) {
  EXPECT_TRUE(ValidateResourceName("channelName", "mychannel").ok());
  EXPECT_TRUE(ValidateResourceName("channelName", "_x").ok());
  EXPECT_EQ(ValidateResourceName("channelName", "a-b").message(),
            "1 validation error detected: Value 'a-b' at 'channelName' failed to satisfy "
            "constraint: Member must satisfy regular expression pattern: "
            "(^(?!_{2}))(^[a-zA-Z0-9_]+$)");
  EXPECT_EQ(ValidateResourceName("channelName", "").message(),
            "1 validation error detected: Value '' at 'channelName' failed to satisfy constraint: "
            "Member must have length greater than or equal to 1");
  EXPECT_EQ(ValidateResourceName("datasetName", Json()).message(),
            "1 validation error detected: Value null at 'datasetName' failed to satisfy "
            "constraint: Member must not be null");
  EXPECT_EQ(ValidateResourceName("datasetName", 12).message(),
            "Value at 'datasetName' must be a string");
  // Non-ASCII letters are not in [a-zA-Z0-9_].
  EXPECT_FALSE(ValidateResourceName("pipelineName", "caf\xC3\xA9").ok());
}

TEST(ValidatePipelineTest, FillsRefs) {
  PipelineRefs refs;
  refs.channels.insert("stale");
  ASSERT_TRUE(ValidateCreatePipeline(AwsPipelineBody(), &refs).ok());
  EXPECT_EQ(refs.channels, std::set<std::string>({"mychannel"}));
  EXPECT_EQ(refs.datastores, std::set<std::string>({"mydatastore"}));

  ASSERT_TRUE(ValidateUpdatePipeline(FullPipelineBody(), &refs).ok());
  EXPECT_EQ(refs.channels, std::set<std::string>({"c1"}));
  EXPECT_EQ(refs.datastores, std::set<std::string>({"d1"}));
}

TEST(ValidatePipelineTest, NullRefsAllowed) {
  EXPECT_TRUE(ValidateCreatePipeline(AwsPipelineBody(), nullptr).ok());
}

TEST(ValidatePipelineTest, ListOrderIsIrrelevant) {
  Json body = FullPipelineBody();
  Json& acts = body["pipelineActivities"];
  std::reverse(acts.begin(), acts.end());
  EXPECT_TRUE(ValidateCreatePipeline(body, nullptr).ok());
  std::swap(acts[0], acts[4]);
  EXPECT_TRUE(ValidateCreatePipeline(body, nullptr).ok());
}

TEST(ValidatePipelineTest, GraphMessagesNameActivities) {
  Json body = FullPipelineBody();
  // a5 -> a3 closes a loop a3 -> a4 -> a5 -> a3.
  body["pipelineActivities"][4]["selectAttributes"]["next"] = "a3";
  Status st = ValidateCreatePipeline(body, nullptr);
  ASSERT_FALSE(st.ok());
  EXPECT_THAT(st.message(), HasSubstr("cycle at activity 'a3'"));
  EXPECT_THAT(st.message(), HasSubstr("'a1'"));
  EXPECT_THAT(st.message(), HasSubstr("'a10'"));
}

TEST(ValidateDatasetTest, ScheduleTriggersUseScheduleExpression) {
  Json body = SqlDatasetBody();
  body["triggers"] = Json::array({{{"schedule", {{"expression", "cron(0/15 * * * ? *)"}}}}});
  EXPECT_TRUE(ValidateCreateDataset(body).ok()) << ValidateCreateDataset(body).ToString();
  body["triggers"][0]["schedule"]["expression"] = "cron(0 12 * * ? *)";
  EXPECT_TRUE(ValidateCreateDataset(body).ok());
  body["triggers"][0]["schedule"]["expression"] = "rate(1 day)";
  EXPECT_TRUE(ValidateCreateDataset(body).ok());
  body["triggers"] = Json::array({{{"schedule", {{"expression", "cron(0 12 * * ? *)"}}}},
                                  {{"schedule", {{"expression", "cron(30 1 * * ? *)"}}}}});
  EXPECT_TRUE(ValidateCreateDataset(body).ok());

  for (const char* bad : {"cron(0 25 * * ? *)", "every day", "rate(0 minutes)", ""}) {
    body["triggers"] = Json::array({{{"schedule", {{"expression", bad}}}}});
    Result<ScheduleExpression> parsed = ScheduleExpression::Parse(bad);
    ASSERT_FALSE(parsed.ok()) << bad;
    Status st = ValidateCreateDataset(body);
    ASSERT_FALSE(st.ok()) << bad;
    EXPECT_EQ(st.code(), StatusCode::kInvalidArgument);
    EXPECT_EQ(st.message(), parsed.status().message());
    EXPECT_FALSE(st.message().empty());
  }
  // An invalid schedule in the second trigger is found too.
  body["triggers"] = Json::array({{{"schedule", {{"expression", "cron(0 12 * * ? *)"}}}},
                                  {{"schedule", {{"expression", "cron(0 25 * * ? *)"}}}}});
  EXPECT_FALSE(ValidateCreateDataset(body).ok());
}

TEST(ValidateDatasetTest, ContainerWithScheduleTrigger) {
  Json body = ContainerDatasetBody();
  body["triggers"] = Json::array({{{"schedule", {{"expression", "cron(0 12 * * ? *)"}}}}});
  EXPECT_TRUE(ValidateCreateDataset(body).ok()) << ValidateCreateDataset(body).ToString();
}

TEST(ValidateEchoTest, ValuesAreTruncated) {
  const std::string value = Rep("x", 300);
  Status st = ValidateCreateChannel(Json{{"channelName", value}});
  ASSERT_FALSE(st.ok());
  EXPECT_THAT(st.message(), HasSubstr("Value '" + Rep("x", 100) + "...' at 'channelName'"));
  EXPECT_LT(st.message().size(), 250u);
}

TEST(ValidateRobustnessTest, NoExceptionEscapes) {
  // Invalid UTF-8 inside an echoed structure must not throw from dump().
  Json tags = Json::array();
  for (int i = 0; i < 51; ++i) tags.push_back({{"key", std::string("\xFF\xFE")}, {"value", "v"}});
  Status st = ValidateTagList("tags", tags);
  EXPECT_EQ(st.code(), StatusCode::kInvalidArgument);
  EXPECT_THAT(st.message(), HasSubstr("'tags'"));
  // Scalars and arrays as bodies.
  for (const Json& body : {Json(), Json(1), Json("x"), Json::array()}) {
    EXPECT_EQ(ValidateCreateChannel(body).code(), StatusCode::kInvalidArgument);
    EXPECT_EQ(ValidateUpdateChannel(body).code(), StatusCode::kInvalidArgument);
    EXPECT_EQ(ValidateCreateDatastore(body).code(), StatusCode::kInvalidArgument);
    EXPECT_EQ(ValidateUpdateDatastore(body).code(), StatusCode::kInvalidArgument);
    EXPECT_EQ(ValidateCreatePipeline(body, nullptr).code(), StatusCode::kInvalidArgument);
    EXPECT_EQ(ValidateUpdatePipeline(body, nullptr).code(), StatusCode::kInvalidArgument);
    EXPECT_EQ(ValidateCreateDataset(body).code(), StatusCode::kInvalidArgument);
    EXPECT_EQ(ValidateUpdateDataset(body).code(), StatusCode::kInvalidArgument);
    EXPECT_EQ(ValidatePutLoggingOptions(body).code(), StatusCode::kInvalidArgument);
  }
  // Members of unexpected types everywhere.
  Json weird = Json::parse(R"js({"datasetName": "d", "actions": [{"queryAction": 1}],
      "triggers": 5, "contentDeliveryRules": "x", "lateDataRules": {}})js");
  EXPECT_EQ(ValidateCreateDataset(weird).code(), StatusCode::kInvalidArgument);
}

TEST(ValidateUnknownMembersTest, Ignored) {
  Json body = ChannelBody();
  body["somethingNew"] = {{"x", 1}};
  body["channelStorage"]["customerManagedS3"]["extra"] = true;
  EXPECT_TRUE(ValidateCreateChannel(body).ok());
}

}  // namespace
}  // namespace sluice::iota
