#include "api/iotanalytics/service.h"

#include <algorithm>
#include <cctype>
#include <functional>
#include <mutex>
#include <set>

#include "api/errors.h"
#include "api/iotanalytics/validate.h"
#include "common/strings.h"
#include "pipeline/activities.h"

namespace sluice::iota {

using Json = nlohmann::json;

struct IotAnalyticsService::Call {
  const HttpRequest& req;
  const RequestContext& ctx;
  ParsedTarget target;
  Json body;  // parsed JSON body ({} when empty)
};

namespace {

constexpr int kDefaultMaxResults = 100;

double Seconds(int64_t micros) { return static_cast<double>(micros) / 1e6; }

HttpResponse JsonOk(int status, const Json& body) {
  return HttpResponse::Json(status, body.dump(-1, ' ', false, Json::error_handler_t::replace));
}

HttpResponse Empty(int status) {
  HttpResponse r;
  r.status = status;
  return r;
}

const char* TypeNoun(ResourceType t) {
  switch (t) {
    case ResourceType::kChannel:
      return "Channel";
    case ResourceType::kDatastore:
      return "Datastore";
    case ResourceType::kPipeline:
      return "Pipeline";
    case ResourceType::kDataset:
      return "Dataset";
  }
  return "Resource";
}

const char* NameField(ResourceType t) {
  switch (t) {
    case ResourceType::kChannel:
      return "channelName";
    case ResourceType::kDatastore:
      return "datastoreName";
    case ResourceType::kPipeline:
      return "pipelineName";
    case ResourceType::kDataset:
      return "datasetName";
  }
  return "name";
}

// Canonical retention: {"unlimited":true} or {"numberOfDays":N,"unlimited":false}.
Json NormalizeRetention(const Json& r) {
  if (r.contains("numberOfDays") && !r["numberOfDays"].is_null()) {
    return Json{{"numberOfDays", r["numberOfDays"]}, {"unlimited", false}};
  }
  return Json{{"unlimited", true}};
}

Json NormalizeVersioning(const Json& v) {
  if (v.contains("maxVersions") && !v["maxVersions"].is_null()) {
    return Json{{"maxVersions", v["maxVersions"]}, {"unlimited", false}};
  }
  return Json{{"unlimited", true}};
}

bool Has(const Json& j, const char* key) {
  return j.is_object() && j.contains(key) && !j[key].is_null();
}

// The one key of a one-member union object (validated before we get here).
std::string UnionKey(const Json& j) {
  for (auto it = j.begin(); it != j.end(); ++it) {
    if (!it.value().is_null()) return it.key();
  }
  return "";
}

Result<std::map<std::string, std::string>> TagMap(const Json& tags) {
  std::map<std::string, std::string> out;
  if (!tags.is_array()) return out;
  for (const Json& t : tags) out[t["key"].get<std::string>()] = t["value"].get<std::string>();
  return out;
}

Result<int> ParseMaxResults(const ParsedTarget& t) {
  auto v = t.Query("maxResults");
  if (!v) return kDefaultMaxResults;
  char* end = nullptr;
  long n = std::strtol(v->c_str(), &end, 10);
  if (v->empty() || *end != '\0') {
    return Status::InvalidArgument("Value '" + *v + "' at 'maxResults' must be an integer");
  }
  if (n < 1) {
    return Status::InvalidArgument(
        "1 validation error detected: Value '" + *v +
        "' at 'maxResults' failed to satisfy constraint: Member must have value greater than or "
        "equal to 1");
  }
  if (n > 250) {
    return Status::InvalidArgument(
        "1 validation error detected: Value '" + *v +
        "' at 'maxResults' failed to satisfy constraint: Member must have value less than or "
        "equal to 250");
  }
  return static_cast<int>(n);
}

Result<bool> ParseBoolQuery(const ParsedTarget& t, const std::string& name) {
  auto v = t.Query(name);
  if (!v) return false;
  if (*v == "true") return true;
  if (*v == "false") return false;
  return Status::InvalidArgument("Value '" + *v + "' at '" + name +
                                 "' must be a boolean (true or false)");
}

Json StorageSummary(const Json& storage) {
  // Summary variants carry the same members (all optional); service-managed is {}.
  return storage;
}

}  // namespace

IotAnalyticsService::IotAnalyticsService(Catalog* catalog, const Clock* clock,
                                         IotAnalyticsConfig config, DataPlane data_plane)
    : catalog_(catalog), clock_(clock), config_(std::move(config)), dp_(data_plane) {}

std::string IotAnalyticsService::Arn(ResourceType type, const std::string& name) const {
  return "arn:aws:iotanalytics:" + config_.region + ":" + config_.account_id + ":" +
         ResourceTypeName(type) + "/" + name;
}

HttpResponse IotAnalyticsService::Handle(const HttpRequest& req, const RequestContext& ctx) {
  auto target = ParseTarget(req.target);
  if (!target) {
    return JsonErrorResponse(Status::InvalidArgument("Malformed percent-encoding in request URI"));
  }
  Json body = Json::object();
  if (!req.body.empty()) {
    body = Json::parse(req.body, nullptr, /*allow_exceptions=*/false);
    if (body.is_discarded()) {
      return JsonErrorResponse(Status::InvalidArgument("Request body is not valid JSON"));
    }
    if (!body.is_object()) {
      return JsonErrorResponse(Status::InvalidArgument("Request body must be a JSON object"));
    }
  }
  Call call{req, ctx, std::move(*target), std::move(body)};
  try {
    return Dispatch(call);
  } catch (const std::exception& e) {
    // A shape we failed to anticipate must not take the server down.
    return JsonErrorResponse(Status::Internal(std::string("internal error: ") + e.what()));
  }
}

HttpResponse IotAnalyticsService::Dispatch(Call& c) {
  const std::string& m = c.req.method;
  const auto& s = c.target.segments;
  auto is = [&](const char* method, size_t n) { return m == method && s.size() == n; };

  if (s.empty()) return JsonErrorResponse(404, "UnknownOperationException", "Unknown operation");
  const std::string& root = s[0];

  auto resource_routes = [&](ResourceType type, auto create, auto list, auto describe,
                             auto update) -> std::optional<HttpResponse> {
    if (is("POST", 1)) return (this->*create)(c);
    if (is("GET", 1)) return (this->*list)(c);
    if (s.size() == 2) {
      Status st = ValidateResourceName(NameField(type), Json(s[1]));
      if (!st.ok()) return JsonErrorResponse(st);
      if (m == "GET") return (this->*describe)(c, s[1]);
      if (m == "PUT") return (this->*update)(c, s[1]);
      if (m == "DELETE") return DeleteResource(c, type, s[1]);
    }
    return std::nullopt;
  };

  std::optional<HttpResponse> r;
  if (root == "channels") {
    r = resource_routes(ResourceType::kChannel, &IotAnalyticsService::CreateChannel,
                        &IotAnalyticsService::ListChannels, &IotAnalyticsService::DescribeChannel,
                        &IotAnalyticsService::UpdateChannel);
    if (!r && is("GET", 3) && s[2] == "sample") {
      Status st = ValidateResourceName("channelName", Json(s[1]));
      if (!st.ok()) return JsonErrorResponse(st);
      return SampleChannelData(c, s[1]);
    }
  } else if (root == "datastores") {
    r = resource_routes(ResourceType::kDatastore, &IotAnalyticsService::CreateDatastore,
                        &IotAnalyticsService::ListDatastores,
                        &IotAnalyticsService::DescribeDatastore,
                        &IotAnalyticsService::UpdateDatastore);
  } else if (root == "pipelines") {
    r = resource_routes(ResourceType::kPipeline, &IotAnalyticsService::CreatePipeline,
                        &IotAnalyticsService::ListPipelines, &IotAnalyticsService::DescribePipeline,
                        &IotAnalyticsService::UpdatePipeline);
    if (!r && (is("POST", 3) || is("DELETE", 4)) && s[2] == "reprocessing") {
      Status st = ValidateResourceName("pipelineName", Json(s[1]));
      if (!st.ok()) return JsonErrorResponse(st);
      if (m == "POST") return StartPipelineReprocessing(c, s[1]);
      return CancelPipelineReprocessing(c, s[1], s[3]);
    }
  } else if (root == "datasets") {
    r = resource_routes(ResourceType::kDataset, &IotAnalyticsService::CreateDataset,
                        &IotAnalyticsService::ListDatasets, &IotAnalyticsService::DescribeDataset,
                        &IotAnalyticsService::UpdateDataset);
    if (!r && s.size() == 3 && s[2] == "content") {
      if (m == "POST") return NotAvailableYet("CreateDatasetContent");
      if (m == "GET") return NotAvailableYet("GetDatasetContent");
      if (m == "DELETE") return NotAvailableYet("DeleteDatasetContent");
    }
    if (!r && is("GET", 3) && s[2] == "contents") return NotAvailableYet("ListDatasetContents");
  } else if (root == "messages" && is("POST", 2) && s[1] == "batch") {
    return BatchPutMessage(c);
  } else if (root == "pipelineactivities" && is("POST", 2) && s[1] == "run") {
    return RunPipelineActivity(c);
  } else if (root == "tags" && s.size() == 1) {
    if (m == "POST") return TagResource(c);
    if (m == "DELETE") return UntagResource(c);
    if (m == "GET") return ListTagsForResource(c);
  } else if (root == "logging" && s.size() == 1) {
    if (m == "PUT") return PutLoggingOptions(c);
    if (m == "GET") return DescribeLoggingOptions(c);
  }
  if (r) return std::move(*r);
  return JsonErrorResponse(404, "UnknownOperationException",
                           "No IoT Analytics operation matches " + m + " " + c.target.path);
}

Json IotAnalyticsService::SizeStatistics(double size_bytes) const {
  return {{"size",
           {{"estimatedSizeInBytes", size_bytes},
            {"estimatedOn", clock_->NowEpochSecondsFractional()}}}};
}

HttpResponse IotAnalyticsService::CreateError(const Status& st, ResourceType type,
                                              const std::string& name, int64_t limit) const {
  if (st.code() == StatusCode::kAlreadyExists) {
    return JsonErrorResponse(
        Status::AlreadyExists("A resource with the name " + name + " already exists.")
            .WithResource(name, Arn(type, name)));
  }
  if (st.code() == StatusCode::kLimitExceeded) {
    return JsonErrorResponse(Status::LimitExceeded(std::string(TypeNoun(type)) + " limit of " +
                                                   std::to_string(limit) + " reached"));
  }
  return JsonErrorResponse(st);
}

HttpResponse IotAnalyticsService::NotAvailableYet(const std::string& operation) {
  return JsonErrorResponse(Status::InvalidArgument(
      operation +
      " is not available yet on this Sluice server: this release implements the "
      "control plane only (channels, datastores, pipelines, datasets, tags, "
      "logging options)."));
}

// ---------------------------------------------------------------------------------------
// Channels

HttpResponse IotAnalyticsService::CreateChannel(Call& c) {
  Status st = ValidateCreateChannel(c.body);
  if (!st.ok()) return JsonErrorResponse(st);
  std::string name = c.body["channelName"].get<std::string>();
  Json def = {
      {"storage", Has(c.body, "channelStorage") ? c.body["channelStorage"]
                                                : Json{{"serviceManagedS3", Json::object()}}},
      {"retentionPeriod", NormalizeRetention(c.body.value("retentionPeriod", Json::object()))}};
  auto tags = TagMap(c.body.value("tags", Json()));
  MutexLock l(&mutation_mu_);
  std::unique_lock<std::shared_mutex> lifecycle(channel_lifecycle_mu_);
  if (dp_.channels != nullptr) {
    if (catalog_->Get(ResourceType::kChannel, name).ok()) {
      return CreateError(Status::AlreadyExists(name), ResourceType::kChannel, name, 0);
    }
    // A log left behind by an interrupted delete must not reappear under the new channel.
    st = dp_.channels->DropChannel(name);
    if (st.ok()) st = dp_.channels->CreateChannel(name);
    if (!st.ok()) return JsonErrorResponse(st);
  }
  st = catalog_->Create(ResourceType::kChannel, name, def.dump(), *tags, config_.max_channels);
  if (!st.ok()) return CreateError(st, ResourceType::kChannel, name, config_.max_channels);
  return JsonOk(201, {{"channelName", name},
                      {"channelArn", Arn(ResourceType::kChannel, name)},
                      {"retentionPeriod", def["retentionPeriod"]}});
}

HttpResponse IotAnalyticsService::DescribeChannel(Call& c, const std::string& name) {
  auto stats = ParseBoolQuery(c.target, "includeStatistics");
  if (!stats.ok()) return JsonErrorResponse(stats.status());
  auto rec = catalog_->Get(ResourceType::kChannel, name);
  if (!rec.ok()) return JsonErrorResponse(rec.status());
  Json def = Json::parse(rec->definition);
  Json out = {{"channel",
               {{"name", name},
                {"storage", def["storage"]},
                {"arn", Arn(ResourceType::kChannel, name)},
                {"status", "ACTIVE"},
                {"retentionPeriod", def["retentionPeriod"]},
                {"creationTime", Seconds(rec->creation_micros)},
                {"lastUpdateTime", Seconds(rec->last_update_micros)}}}};
  double size = 0;
  if (dp_.channels != nullptr) {
    auto cs = dp_.channels->Stats(name);
    if (cs.ok()) {
      size = static_cast<double>(cs->size_bytes);
      if (cs->last_arrival_micros) {
        out["channel"]["lastMessageArrivalTime"] = Seconds(*cs->last_arrival_micros);
      }
    }
  }
  if (*stats) out["statistics"] = SizeStatistics(size);
  return JsonOk(200, out);
}

HttpResponse IotAnalyticsService::ListResources(
    Call& c, ResourceType type, const char* member,
    const std::function<Json(const ResourceRecord&, Json def)>& summarize) {
  auto max = ParseMaxResults(c.target);
  if (!max.ok()) return JsonErrorResponse(max.status());
  auto page = catalog_->List(type, c.target.Query("nextToken"), *max);
  if (!page.ok()) return JsonErrorResponse(page.status());
  Json list = Json::array();
  for (const auto& rec : page->records) list.push_back(summarize(rec, Json::parse(rec.definition)));
  Json out = {{member, list}};
  if (page->next_token) out["nextToken"] = *page->next_token;
  return JsonOk(200, out);
}

HttpResponse IotAnalyticsService::ListChannels(Call& c) {
  return ListResources(c, ResourceType::kChannel, "channelSummaries",
                       [&](const ResourceRecord& rec, Json def) -> Json {
                         return {{"channelName", rec.name},
                                 {"channelStorage", StorageSummary(def["storage"])},
                                 {"status", "ACTIVE"},
                                 {"creationTime", Seconds(rec.creation_micros)},
                                 {"lastUpdateTime", Seconds(rec.last_update_micros)}};
                       });
}

HttpResponse IotAnalyticsService::UpdateChannel(Call& c, const std::string& name) {
  Status st = ValidateUpdateChannel(c.body);
  if (!st.ok()) return JsonErrorResponse(st);
  MutexLock l(&mutation_mu_);
  auto rec = catalog_->Get(ResourceType::kChannel, name);
  if (!rec.ok()) return JsonErrorResponse(rec.status());
  Json def = Json::parse(rec->definition);
  if (Has(c.body, "channelStorage")) {
    std::string now = UnionKey(c.body["channelStorage"]), before = UnionKey(def["storage"]);
    if (now != before) {
      return JsonErrorResponse(Status::InvalidArgument("channelStorage cannot change from " +
                                                       before + " to " + now +
                                                       " after the channel is created"));
    }
    def["storage"] = c.body["channelStorage"];
  }
  if (Has(c.body, "retentionPeriod"))
    def["retentionPeriod"] = NormalizeRetention(c.body["retentionPeriod"]);
  st = catalog_->Update(ResourceType::kChannel, name, def.dump());
  if (!st.ok()) return JsonErrorResponse(st);
  return Empty(200);
}

// ---------------------------------------------------------------------------------------
// Datastores

HttpResponse IotAnalyticsService::CreateDatastore(Call& c) {
  Status st = ValidateCreateDatastore(c.body);
  if (!st.ok()) return JsonErrorResponse(st);
  std::string name = c.body["datastoreName"].get<std::string>();
  Json def = {
      {"storage", Has(c.body, "datastoreStorage") ? c.body["datastoreStorage"]
                                                  : Json{{"serviceManagedS3", Json::object()}}},
      {"retentionPeriod", NormalizeRetention(c.body.value("retentionPeriod", Json::object()))},
      {"fileFormatConfiguration", Has(c.body, "fileFormatConfiguration")
                                      ? c.body["fileFormatConfiguration"]
                                      : Json{{"jsonConfiguration", Json::object()}}}};
  if (Has(c.body, "datastorePartitions"))
    def["datastorePartitions"] = c.body["datastorePartitions"];
  auto tags = TagMap(c.body.value("tags", Json()));
  MutexLock l(&mutation_mu_);
  if (dp_.datastores != nullptr) {
    if (catalog_->Get(ResourceType::kDatastore, name).ok()) {
      return CreateError(Status::AlreadyExists(name), ResourceType::kDatastore, name, 0);
    }
    // A table left behind by an interrupted delete must not reappear.
    st = dp_.datastores->DropDatastore(name);
    if (st.ok()) st = dp_.datastores->CreateDatastore(name, def);
    if (!st.ok()) return JsonErrorResponse(st);
  }
  st = catalog_->Create(ResourceType::kDatastore, name, def.dump(), *tags, config_.max_datastores);
  if (!st.ok()) return CreateError(st, ResourceType::kDatastore, name, config_.max_datastores);
  return JsonOk(201, {{"datastoreName", name},
                      {"datastoreArn", Arn(ResourceType::kDatastore, name)},
                      {"retentionPeriod", def["retentionPeriod"]}});
}

HttpResponse IotAnalyticsService::DescribeDatastore(Call& c, const std::string& name) {
  auto stats = ParseBoolQuery(c.target, "includeStatistics");
  if (!stats.ok()) return JsonErrorResponse(stats.status());
  auto rec = catalog_->Get(ResourceType::kDatastore, name);
  if (!rec.ok()) return JsonErrorResponse(rec.status());
  Json def = Json::parse(rec->definition);
  Json ds = {{"name", name},
             {"storage", def["storage"]},
             {"arn", Arn(ResourceType::kDatastore, name)},
             {"status", "ACTIVE"},
             {"retentionPeriod", def["retentionPeriod"]},
             {"creationTime", Seconds(rec->creation_micros)},
             {"lastUpdateTime", Seconds(rec->last_update_micros)},
             {"fileFormatConfiguration", def["fileFormatConfiguration"]}};
  if (def.contains("datastorePartitions")) ds["datastorePartitions"] = def["datastorePartitions"];
  Json out = {{"datastore", ds}};
  double size = 0;
  if (dp_.datastores != nullptr) {
    auto ds_stats = dp_.datastores->Stats(name);
    if (ds_stats.ok()) {
      size = static_cast<double>(ds_stats->estimated_size_bytes);
      if (ds_stats->last_append_micros) {
        out["datastore"]["lastMessageArrivalTime"] = Seconds(*ds_stats->last_append_micros);
      }
    }
  }
  if (*stats) out["statistics"] = SizeStatistics(size);
  return JsonOk(200, out);
}

HttpResponse IotAnalyticsService::ListDatastores(Call& c) {
  return ListResources(
      c, ResourceType::kDatastore, "datastoreSummaries",
      [&](const ResourceRecord& rec, Json def) -> Json {
        Json s = {
            {"datastoreName", rec.name},
            {"datastoreStorage", StorageSummary(def["storage"])},
            {"status", "ACTIVE"},
            {"creationTime", Seconds(rec.creation_micros)},
            {"lastUpdateTime", Seconds(rec.last_update_micros)},
            {"fileFormatType",
             Has(def["fileFormatConfiguration"], "parquetConfiguration") ? "PARQUET" : "JSON"}};
        if (def.contains("datastorePartitions"))
          s["datastorePartitions"] = def["datastorePartitions"];
        return s;
      });
}

HttpResponse IotAnalyticsService::UpdateDatastore(Call& c, const std::string& name) {
  Status st = ValidateUpdateDatastore(c.body);
  if (!st.ok()) return JsonErrorResponse(st);
  MutexLock l(&mutation_mu_);
  auto rec = catalog_->Get(ResourceType::kDatastore, name);
  if (!rec.ok()) return JsonErrorResponse(rec.status());
  Json def = Json::parse(rec->definition);
  if (Has(c.body, "datastoreStorage")) {
    std::string now = UnionKey(c.body["datastoreStorage"]), before = UnionKey(def["storage"]);
    if (now != before) {
      return JsonErrorResponse(Status::InvalidArgument("datastoreStorage cannot change from " +
                                                       before + " to " + now +
                                                       " after the datastore is created"));
    }
    def["storage"] = c.body["datastoreStorage"];
  }
  if (Has(c.body, "fileFormatConfiguration")) {
    std::string now = UnionKey(c.body["fileFormatConfiguration"]);
    std::string before = UnionKey(def["fileFormatConfiguration"]);
    if (now != before) {
      return JsonErrorResponse(
          Status::InvalidArgument("fileFormatConfiguration cannot change from " + before + " to " +
                                  now + " after the datastore is created"));
    }
    def["fileFormatConfiguration"] = c.body["fileFormatConfiguration"];
  }
  if (Has(c.body, "retentionPeriod"))
    def["retentionPeriod"] = NormalizeRetention(c.body["retentionPeriod"]);
  st = catalog_->Update(ResourceType::kDatastore, name, def.dump());
  if (!st.ok()) return JsonErrorResponse(st);
  return Empty(200);
}

// ---------------------------------------------------------------------------------------
// Pipelines

Status IotAnalyticsService::CheckPipelineRefs(const Json& body) const {
  PipelineRefs refs;
  // Validation already ran; this only collects names.
  Status st =
      ValidateUpdatePipeline(Json{{"pipelineActivities", body["pipelineActivities"]}}, &refs);
  if (!st.ok()) return st;
  for (const std::string& ch : refs.channels) {
    auto rec = catalog_->Get(ResourceType::kChannel, ch);
    if (rec.status().code() == StatusCode::kNotFound) {
      return Status::InvalidArgument("pipelineActivities: the channel activity reads channel '" +
                                     ch + "', which does not exist");
    }
    if (!rec.ok()) return rec.status();
  }
  for (const std::string& ds : refs.datastores) {
    auto rec = catalog_->Get(ResourceType::kDatastore, ds);
    if (rec.status().code() == StatusCode::kNotFound) {
      return Status::InvalidArgument(
          "pipelineActivities: the datastore activity writes datastore '" + ds +
          "', which does not exist");
    }
    if (!rec.ok()) return rec.status();
  }
  return Status::Ok();
}

Status IotAnalyticsService::CompilePipeline(const Json& def) const {
  if (dp_.pipelines == nullptr) return Status::Ok();
  auto chain = pipeline::ActivityChain::Compile(def);
  if (!chain.ok()) {
    return Status::InvalidArgument("pipelineActivities: " + chain.status().message());
  }
  return Status::Ok();
}

Json IotAnalyticsService::ReprocessingSummaries(const std::string& name) const {
  Json out = Json::array();
  if (dp_.pipelines == nullptr) return out;
  auto sums = dp_.pipelines->ReprocessingSummaries(name);
  if (!sums.ok()) return out;
  for (const auto& s : *sums) out.push_back(s.ToJson());
  return out;
}

HttpResponse IotAnalyticsService::CreatePipeline(Call& c) {
  PipelineRefs refs;
  Status st = ValidateCreatePipeline(c.body, &refs);
  if (!st.ok()) return JsonErrorResponse(st);
  st = CheckPipelineRefs(c.body);
  if (!st.ok()) return JsonErrorResponse(st);
  std::string name = c.body["pipelineName"].get<std::string>();
  Json def = {{"activities", c.body["pipelineActivities"]}};
  st = CompilePipeline(def);
  if (!st.ok()) return JsonErrorResponse(st);
  auto tags = TagMap(c.body.value("tags", Json()));
  MutexLock l(&mutation_mu_);
  st = catalog_->Create(ResourceType::kPipeline, name, def.dump(), *tags, config_.max_pipelines);
  if (!st.ok()) return CreateError(st, ResourceType::kPipeline, name, config_.max_pipelines);
  if (dp_.pipelines != nullptr) {
    // Starts at the channel's current end; history is reached by reprocessing.
    st = dp_.pipelines->Create(name, def);
    if (!st.ok()) {
      (void)catalog_->Delete(ResourceType::kPipeline, name);
      return JsonErrorResponse(st);
    }
  }
  return JsonOk(201, {{"pipelineName", name}, {"pipelineArn", Arn(ResourceType::kPipeline, name)}});
}

HttpResponse IotAnalyticsService::DescribePipeline(Call& c, const std::string& name) {
  auto rec = catalog_->Get(ResourceType::kPipeline, name);
  if (!rec.ok()) return JsonErrorResponse(rec.status());
  Json def = Json::parse(rec->definition);
  return JsonOk(200, {{"pipeline",
                       {{"name", name},
                        {"arn", Arn(ResourceType::kPipeline, name)},
                        {"activities", def["activities"]},
                        {"reprocessingSummaries", ReprocessingSummaries(name)},
                        {"creationTime", Seconds(rec->creation_micros)},
                        {"lastUpdateTime", Seconds(rec->last_update_micros)}}}});
}

HttpResponse IotAnalyticsService::ListPipelines(Call& c) {
  return ListResources(c, ResourceType::kPipeline, "pipelineSummaries",
                       [&](const ResourceRecord& rec, Json def) -> Json {
                         return {{"pipelineName", rec.name},
                                 {"reprocessingSummaries", ReprocessingSummaries(rec.name)},
                                 {"creationTime", Seconds(rec.creation_micros)},
                                 {"lastUpdateTime", Seconds(rec.last_update_micros)}};
                       });
}

HttpResponse IotAnalyticsService::UpdatePipeline(Call& c, const std::string& name) {
  PipelineRefs refs;
  Status st = ValidateUpdatePipeline(c.body, &refs);
  if (!st.ok()) return JsonErrorResponse(st);
  st = CheckPipelineRefs(c.body);
  if (!st.ok()) return JsonErrorResponse(st);
  Json def = {{"activities", c.body["pipelineActivities"]}};
  st = CompilePipeline(def);
  if (!st.ok()) return JsonErrorResponse(st);
  MutexLock l(&mutation_mu_);
  st = catalog_->Update(ResourceType::kPipeline, name, def.dump());
  if (!st.ok()) return JsonErrorResponse(st);
  if (dp_.pipelines != nullptr) {
    // Takes effect for messages read after this point; no restart.
    st = dp_.pipelines->Update(name, def);
    if (st.code() == StatusCode::kNotFound) st = dp_.pipelines->Start(name, def);
    if (!st.ok()) return JsonErrorResponse(st);
  }
  return Empty(200);
}

// ---------------------------------------------------------------------------------------
// Pipelines: running activities and reprocessing

HttpResponse IotAnalyticsService::RunPipelineActivity(Call& c) {
  if (dp_.pipelines == nullptr) return NotAvailableYet("RunPipelineActivity");
  if (!Has(c.body, "pipelineActivity")) {
    return JsonErrorResponse(Status::InvalidArgument(
        "1 validation error detected: Value null at 'pipelineActivity' failed to satisfy "
        "constraint: Member must not be null"));
  }
  if (!Has(c.body, "payloads")) {
    return JsonErrorResponse(Status::InvalidArgument(
        "1 validation error detected: Value null at 'payloads' failed to satisfy constraint: "
        "Member must not be null"));
  }
  const Json& payloads = c.body["payloads"];
  if (!payloads.is_array() || payloads.empty() || payloads.size() > 10) {
    return JsonErrorResponse(Status::InvalidArgument(
        "1 validation error detected: Value at 'payloads' failed to satisfy constraint: Member "
        "must have length between 1 and 10"));
  }
  std::vector<std::string> raw;
  for (size_t i = 0; i < payloads.size(); ++i) {
    auto d = payloads[i].is_string() ? Base64Decode(payloads[i].get_ref<const std::string&>())
                                     : Result<std::string>(Status::InvalidArgument("not a string"));
    if (!d.ok()) {
      return JsonErrorResponse(Status::InvalidArgument(
          "Value at 'payloads." + std::to_string(i + 1) + ".member' must be base64-encoded"));
    }
    raw.push_back(std::move(d).value());
  }
  // The activity is validated like one element of a pipeline's activity list.
  Json one = c.body["pipelineActivity"];
  if (one.is_object() && (Has(one, "channel") || Has(one, "datastore"))) {
    return JsonErrorResponse(Status::InvalidArgument(
        "pipelineActivity: channel and datastore activities cannot be run by "
        "RunPipelineActivity"));
  }
  if (auto compiled = pipeline::CompiledActivity::Compile(one); !compiled.ok()) {
    return JsonErrorResponse(
        Status::InvalidArgument("pipelineActivity: " + compiled.status().message()));
  }
  std::string log;
  auto out = dp_.pipelines->RunActivity(one, raw, &log);
  if (!out.ok()) return JsonErrorResponse(out.status());
  Json encoded = Json::array();
  for (const Json& m : *out) encoded.push_back(Base64Encode(pipeline::EncodePayload(m)));
  return JsonOk(200, {{"payloads", encoded}, {"logResult", log}});
}

HttpResponse IotAnalyticsService::StartPipelineReprocessing(Call& c, const std::string& name) {
  if (dp_.pipelines == nullptr) return NotAvailableYet("StartPipelineReprocessing");
  if (!catalog_->Get(ResourceType::kPipeline, name).ok()) {
    return JsonErrorResponse(Status::NotFound("Pipeline " + name + " does not exist"));
  }
  std::optional<int64_t> start, end;
  for (const char* key : {"startTime", "endTime"}) {
    if (!Has(c.body, key)) continue;
    if (!c.body[key].is_number()) {
      return JsonErrorResponse(Status::InvalidArgument(std::string("Value at '") + key +
                                                       "' must be a timestamp (epoch seconds)"));
    }
    int64_t micros = static_cast<int64_t>(c.body[key].get<double>() * 1e6);
    (std::string(key) == "startTime" ? start : end) = micros;
  }
  if (start && end && *start >= *end) {
    return JsonErrorResponse(Status::InvalidArgument("startTime must be before endTime"));
  }
  Result<std::string> id = Status::Internal("unset");
  if (Has(c.body, "channelMessages")) {
    if (start || end) {
      return JsonErrorResponse(
          Status::InvalidArgument("Specify either startTime/endTime or channelMessages, not both"));
    }
    const Json& cm = c.body["channelMessages"];
    if (!Has(cm, "s3Paths") || !cm["s3Paths"].is_array() || cm["s3Paths"].empty() ||
        cm["s3Paths"].size() > 100) {
      return JsonErrorResponse(Status::InvalidArgument(
          "1 validation error detected: Value at 'channelMessages.s3Paths' failed to satisfy "
          "constraint: Member must have length between 1 and 100"));
    }
    std::vector<std::string> paths;
    for (const Json& p : cm["s3Paths"]) {
      if (!p.is_string() || p.get_ref<const std::string&>().empty() ||
          p.get_ref<const std::string&>().size() > 1024) {
        return JsonErrorResponse(Status::InvalidArgument(
            "Value at 'channelMessages.s3Paths' must hold strings of 1-1024 characters"));
      }
      paths.push_back(p.get<std::string>());
    }
    id = dp_.pipelines->StartReprocessingPaths(name, paths);
  } else {
    id = dp_.pipelines->StartReprocessing(name, start, end);
  }
  if (id.status().code() == StatusCode::kAlreadyExists) {
    return JsonErrorResponse(
        Status::AlreadyExists("A reprocessing is already running for pipeline " + name)
            .WithResource(name, Arn(ResourceType::kPipeline, name)));
  }
  if (!id.ok()) return JsonErrorResponse(id.status());
  return JsonOk(200, {{"reprocessingId", *id}});
}

HttpResponse IotAnalyticsService::CancelPipelineReprocessing(Call& c, const std::string& name,
                                                             const std::string& id) {
  if (dp_.pipelines == nullptr) return NotAvailableYet("CancelPipelineReprocessing");
  if (!catalog_->Get(ResourceType::kPipeline, name).ok()) {
    return JsonErrorResponse(Status::NotFound("Pipeline " + name + " does not exist"));
  }
  Status st = dp_.pipelines->CancelReprocessing(name, id);
  if (st.code() == StatusCode::kNotFound) {
    return JsonErrorResponse(
        Status::NotFound("Reprocessing " + id + " does not exist for pipeline " + name));
  }
  if (!st.ok()) return JsonErrorResponse(st);
  return Empty(200);
}

// ---------------------------------------------------------------------------------------
// Datasets

namespace {

bool IsContainerAction(const Json& actions) {
  return actions.is_array() && !actions.empty() && Has(actions[0], "containerAction");
}

std::optional<std::string> TriggeringDataset(const Json& triggers) {
  if (!triggers.is_array()) return std::nullopt;
  for (const Json& t : triggers) {
    if (Has(t, "dataset")) return t["dataset"]["name"].get<std::string>();
  }
  return std::nullopt;
}

// The stored definition: what DescribeDataset echoes, with AWS's defaults filled in.
Json DatasetDefinition(const Json& body) {
  Json actions = body["actions"];
  for (Json& a : actions) {
    if (Has(a, "queryAction") && !Has(a["queryAction"], "filters")) {
      a["queryAction"]["filters"] = Json::array();
    }
    if (Has(a, "containerAction") && !Has(a["containerAction"], "variables")) {
      a["containerAction"]["variables"] = Json::array();
    }
  }
  Json def = {{"actions", actions},
              {"triggers", Has(body, "triggers") ? body["triggers"] : Json::array()},
              {"contentDeliveryRules",
               Has(body, "contentDeliveryRules") ? body["contentDeliveryRules"] : Json::array()}};
  if (Has(body, "retentionPeriod")) {
    def["retentionPeriod"] = NormalizeRetention(body["retentionPeriod"]);
  }
  if (Has(body, "versioningConfiguration")) {
    def["versioningConfiguration"] = NormalizeVersioning(body["versioningConfiguration"]);
  }
  if (Has(body, "lateDataRules")) def["lateDataRules"] = body["lateDataRules"];
  return def;
}

}  // namespace

Status IotAnalyticsService::CheckDatasetTriggers(const std::string& dataset_name,
                                                 const Json& actions, const Json& triggers) {
  auto all = catalog_->ListAll(ResourceType::kDataset);
  if (!all.ok()) return all.status();

  // A dataset that others depend on must stay a SQL dataset.
  if (IsContainerAction(actions)) {
    std::vector<std::string> dependents;
    for (const auto& rec : *all) {
      Json def = Json::parse(rec.definition);
      auto src = TriggeringDataset(def["triggers"]);
      if (src && *src == dataset_name && rec.name != dataset_name) dependents.push_back(rec.name);
    }
    if (!dependents.empty()) {
      std::string names;
      for (const auto& d : dependents) names += (names.empty() ? "" : ", ") + d;
      return Status::InvalidArgument("Dataset " + dataset_name + " triggers other datasets (" +
                                     names + "), so its action must remain a queryAction");
    }
  }

  auto src = TriggeringDataset(triggers);
  if (!src) return Status::Ok();
  if (*src == dataset_name) {
    return Status::InvalidArgument(
        "A dataset cannot be triggered by itself (triggers.dataset.name '" + *src + "')");
  }
  const ResourceRecord* source = nullptr;
  int64_t dependents = 0;
  for (const auto& rec : *all) {
    if (rec.name == *src) source = &rec;
    if (rec.name == dataset_name) continue;
    Json def = Json::parse(rec.definition);
    auto other_src = TriggeringDataset(def["triggers"]);
    if (other_src && *other_src == *src) ++dependents;
  }
  if (source == nullptr) {
    return Status::InvalidArgument("The triggering dataset " + *src +
                                   " does not exist (triggers.dataset.name)");
  }
  if (IsContainerAction(Json::parse(source->definition)["actions"])) {
    return Status::InvalidArgument("The triggering dataset " + *src +
                                   " cannot be triggered by a container dataset");
  }
  if (dependents >= config_.max_datasets_triggered_per_dataset) {
    return Status::InvalidArgument(std::to_string(dependents) +
                                   " datasets are already dependent on " + *src + " dataset.");
  }
  return Status::Ok();
}

HttpResponse IotAnalyticsService::CreateDataset(Call& c) {
  Status st = ValidateCreateDataset(c.body);
  if (!st.ok()) return JsonErrorResponse(st);
  std::string name = c.body["datasetName"].get<std::string>();
  Json def = DatasetDefinition(c.body);
  auto tags = TagMap(c.body.value("tags", Json()));
  MutexLock l(&mutation_mu_);
  // Existence first, so a duplicate name reports ResourceAlreadyExists, not a trigger error.
  auto existing = catalog_->Get(ResourceType::kDataset, name);
  if (existing.ok()) {
    return JsonErrorResponse(
        Status::AlreadyExists("A resource with the name " + name + " already exists.")
            .WithResource(name, Arn(ResourceType::kDataset, name)));
  }
  st = CheckDatasetTriggers(name, def["actions"], def["triggers"]);
  if (!st.ok()) return JsonErrorResponse(st);
  st = catalog_->Create(ResourceType::kDataset, name, def.dump(), *tags, config_.max_datasets);
  if (!st.ok()) return CreateError(st, ResourceType::kDataset, name, config_.max_datasets);
  Json out = {{"datasetName", name}, {"datasetArn", Arn(ResourceType::kDataset, name)}};
  if (def.contains("retentionPeriod")) out["retentionPeriod"] = def["retentionPeriod"];
  return JsonOk(201, out);
}

HttpResponse IotAnalyticsService::DescribeDataset(Call& c, const std::string& name) {
  auto rec = catalog_->Get(ResourceType::kDataset, name);
  if (!rec.ok()) return JsonErrorResponse(rec.status());
  Json def = Json::parse(rec->definition);
  Json ds = {{"name", name},
             {"arn", Arn(ResourceType::kDataset, name)},
             {"actions", def["actions"]},
             {"triggers", def["triggers"]},
             {"contentDeliveryRules", def["contentDeliveryRules"]},
             {"status", "ACTIVE"},
             {"creationTime", Seconds(rec->creation_micros)},
             {"lastUpdateTime", Seconds(rec->last_update_micros)},
             {"retentionPeriod", def.contains("retentionPeriod")
                                     ? def["retentionPeriod"]
                                     : Json{{"numberOfDays", 90}, {"unlimited", false}}}};
  if (def.contains("versioningConfiguration")) {
    ds["versioningConfiguration"] = def["versioningConfiguration"];
  }
  if (def.contains("lateDataRules")) ds["lateDataRules"] = def["lateDataRules"];
  return JsonOk(200, {{"dataset", ds}});
}

HttpResponse IotAnalyticsService::ListDatasets(Call& c) {
  return ListResources(
      c, ResourceType::kDataset, "datasetSummaries",
      [&](const ResourceRecord& rec, Json def) -> Json {
        Json actions = Json::array();
        for (const Json& a : def["actions"]) {
          actions.push_back({{"actionName", a.value("actionName", "")},
                             {"actionType", Has(a, "containerAction") ? "CONTAINER" : "QUERY"}});
        }
        return {{"datasetName", rec.name},
                {"status", "ACTIVE"},
                {"creationTime", Seconds(rec.creation_micros)},
                {"lastUpdateTime", Seconds(rec.last_update_micros)},
                {"triggers", def["triggers"]},
                {"actions", actions}};
      });
}

HttpResponse IotAnalyticsService::UpdateDataset(Call& c, const std::string& name) {
  Status st = ValidateUpdateDataset(c.body);
  if (!st.ok()) return JsonErrorResponse(st);
  Json def = DatasetDefinition(c.body);
  MutexLock l(&mutation_mu_);
  auto rec = catalog_->Get(ResourceType::kDataset, name);
  if (!rec.ok()) return JsonErrorResponse(rec.status());
  st = CheckDatasetTriggers(name, def["actions"], def["triggers"]);
  if (!st.ok()) return JsonErrorResponse(st);
  st = catalog_->Update(ResourceType::kDataset, name, def.dump());
  if (!st.ok()) return JsonErrorResponse(st);
  return Empty(200);
}

// ---------------------------------------------------------------------------------------
// Delete, tags, logging

HttpResponse IotAnalyticsService::DeleteResource(Call& c, ResourceType type,
                                                 const std::string& name) {
  MutexLock l(&mutation_mu_);
  std::unique_lock<std::shared_mutex> lifecycle(channel_lifecycle_mu_);
  Status st = catalog_->Delete(type, name);
  if (st.ok() && type == ResourceType::kChannel && dp_.channels != nullptr) {
    // The catalog no longer has the channel; a failure here leaves an orphan log that the
    // next CreateChannel of this name drops.
    (void)dp_.channels->DropChannel(name);
  }
  if (st.ok() && type == ResourceType::kPipeline && dp_.pipelines != nullptr) {
    (void)dp_.pipelines->Stop(name);
  }
  if (st.ok() && type == ResourceType::kDatastore && dp_.datastores != nullptr) {
    (void)dp_.datastores->DropDatastore(name);
  }
  if (st.code() == StatusCode::kNotFound) {
    return JsonErrorResponse(
        Status::NotFound(std::string(TypeNoun(type)) + " " + name + " does not exist"));
  }
  if (!st.ok()) return JsonErrorResponse(st);
  return Empty(204);
}

Result<std::pair<ResourceType, std::string>> IotAnalyticsService::ParseArn(
    const std::string& arn) const {
  auto bad = [&] {
    return Status::InvalidArgument(
        "1 validation error detected: Value '" + arn.substr(0, 200) +
        "' at 'resourceArn' failed to satisfy constraint: Member must be an IoT Analytics ARN "
        "of the form arn:aws:iotanalytics:<region>:<account>:<channel|datastore|pipeline|"
        "dataset>/<name>");
  };
  if (arn.size() < 20 || arn.size() > 2048) return bad();
  std::vector<std::string> parts = Split(arn, ':');
  if (parts.size() != 6 || parts[0] != "arn" || parts[2] != "iotanalytics") return bad();
  size_t slash = parts[5].find('/');
  if (slash == std::string::npos) return bad();
  std::string kind = parts[5].substr(0, slash), name = parts[5].substr(slash + 1);
  ResourceType type;
  if (kind == "channel") {
    type = ResourceType::kChannel;
  } else if (kind == "datastore") {
    type = ResourceType::kDatastore;
  } else if (kind == "pipeline") {
    type = ResourceType::kPipeline;
  } else if (kind == "dataset") {
    type = ResourceType::kDataset;
  } else {
    return bad();
  }
  if (parts[3] != config_.region || parts[4] != config_.account_id) {
    return Status::NotFound("Resource " + arn + " does not exist (this server is region " +
                            config_.region + ", account " + config_.account_id + ")");
  }
  return std::make_pair(type, name);
}

HttpResponse IotAnalyticsService::TagResource(Call& c) {
  auto arn = c.target.Query("resourceArn");
  if (!arn) {
    return JsonErrorResponse(Status::InvalidArgument(
        "1 validation error detected: Value null at 'resourceArn' failed to satisfy "
        "constraint: Member must not be null"));
  }
  auto res = ParseArn(*arn);
  if (!res.ok()) return JsonErrorResponse(res.status());
  if (!c.body.contains("tags")) {
    return JsonErrorResponse(Status::InvalidArgument(
        "1 validation error detected: Value null at 'tags' failed to satisfy constraint: "
        "Member must not be null"));
  }
  Status st = ValidateTagList("tags", c.body["tags"]);
  if (!st.ok()) return JsonErrorResponse(st);
  auto tags = TagMap(c.body["tags"]);
  MutexLock l(&mutation_mu_);
  auto existing = catalog_->GetTags(res->first, res->second);
  if (existing.status().code() == StatusCode::kNotFound) {
    return JsonErrorResponse(Status::NotFound("Resource " + *arn + " does not exist"));
  }
  if (!existing.ok()) return JsonErrorResponse(existing.status());
  std::map<std::string, std::string> merged = *existing;
  for (const auto& [k, v] : *tags) merged[k] = v;
  if (static_cast<int64_t>(merged.size()) > config_.max_tags_per_resource) {
    return JsonErrorResponse(Status::LimitExceeded(
        "A resource can have at most " + std::to_string(config_.max_tags_per_resource) +
        " tags; this request would leave " + std::to_string(merged.size())));
  }
  st = catalog_->PutTags(res->first, res->second, *tags);
  if (!st.ok()) return JsonErrorResponse(st);
  return Empty(204);
}

HttpResponse IotAnalyticsService::UntagResource(Call& c) {
  auto arn = c.target.Query("resourceArn");
  if (!arn) {
    return JsonErrorResponse(Status::InvalidArgument(
        "1 validation error detected: Value null at 'resourceArn' failed to satisfy "
        "constraint: Member must not be null"));
  }
  auto res = ParseArn(*arn);
  if (!res.ok()) return JsonErrorResponse(res.status());
  std::vector<std::string> keys = c.target.QueryAll("tagKeys");
  if (keys.empty() || keys.size() > 50) {
    return JsonErrorResponse(Status::InvalidArgument(
        "1 validation error detected: Value at 'tagKeys' failed to satisfy constraint: Member "
        "must have length between 1 and 50"));
  }
  for (const auto& k : keys) {
    if (k.empty() || k.size() > 256) {
      return JsonErrorResponse(Status::InvalidArgument(
          "1 validation error detected: Value '" + k.substr(0, 100) +
          "' at 'tagKeys' failed to satisfy constraint: Member must have length between 1 and "
          "256"));
    }
  }
  MutexLock l(&mutation_mu_);
  Status st = catalog_->RemoveTags(res->first, res->second, keys);
  if (st.code() == StatusCode::kNotFound) {
    return JsonErrorResponse(Status::NotFound("Resource " + *arn + " does not exist"));
  }
  if (!st.ok()) return JsonErrorResponse(st);
  return Empty(204);
}

HttpResponse IotAnalyticsService::ListTagsForResource(Call& c) {
  auto arn = c.target.Query("resourceArn");
  if (!arn) {
    return JsonErrorResponse(Status::InvalidArgument(
        "1 validation error detected: Value null at 'resourceArn' failed to satisfy "
        "constraint: Member must not be null"));
  }
  auto res = ParseArn(*arn);
  if (!res.ok()) return JsonErrorResponse(res.status());
  auto tags = catalog_->GetTags(res->first, res->second);
  if (tags.status().code() == StatusCode::kNotFound) {
    return JsonErrorResponse(Status::NotFound("Resource " + *arn + " does not exist"));
  }
  if (!tags.ok()) return JsonErrorResponse(tags.status());
  Json list = Json::array();
  for (const auto& [k, v] : *tags) list.push_back({{"key", k}, {"value", v}});
  return JsonOk(200, {{"tags", list}});
}

HttpResponse IotAnalyticsService::PutLoggingOptions(Call& c) {
  Status st = ValidatePutLoggingOptions(c.body);
  if (!st.ok()) return JsonErrorResponse(st);
  const Json& lo = c.body["loggingOptions"];
  Json stored = {{"roleArn", lo["roleArn"]}, {"level", lo["level"]}, {"enabled", lo["enabled"]}};
  st = catalog_->PutSetting("logging_options", stored.dump());
  if (!st.ok()) return JsonErrorResponse(st);
  return Empty(200);
}

HttpResponse IotAnalyticsService::DescribeLoggingOptions(Call& c) {
  auto v = catalog_->GetSetting("logging_options");
  if (!v.ok()) return JsonErrorResponse(v.status());
  if (!v->has_value()) {
    return JsonErrorResponse(
        Status::NotFound("Logging options have not been set; call PutLoggingOptions first"));
  }
  return JsonOk(200, {{"loggingOptions", Json::parse(**v)}});
}

// ---------------------------------------------------------------------------------------
// Data plane: messages in

namespace {

constexpr size_t kMaxMessagesPerBatch = 100;
constexpr size_t kMaxPayloadBytes = 128 * 1024;

// Payload field names (BatchPutMessage documentation, payload-syntax.md):
// ^[A-Za-z_]([A-Za-z0-9]*|[A-Za-z0-9][A-Za-z0-9_]*)$, at most 255 characters, compared
// case-insensitively. Only top-level names are checked.
bool ValidFieldName(const std::string& n) {
  if (n.empty() || n.size() > 255) return false;
  auto alnum = [](char ch) { return std::isalnum(static_cast<unsigned char>(ch)) != 0; };
  if (!(std::isalpha(static_cast<unsigned char>(n[0])) || n[0] == '_')) return false;
  if (n.size() == 1) return true;
  if (!alnum(n[1])) return false;
  for (size_t i = 2; i < n.size(); ++i) {
    if (!alnum(n[i]) && n[i] != '_') return false;
  }
  return true;
}

// Collects the top-level member names of a JSON text without building a document. The
// parse is nlohmann's own (same lexer and grammar as Json::parse), so exactly the texts
// Json::parse accepts are accepted here.
class TopLevelKeys final : public nlohmann::json_sax<Json> {
 public:
  explicit TopLevelKeys(std::vector<std::string>* keys) : keys_(keys) {}
  bool null() override { return true; }
  bool boolean(bool) override { return true; }
  bool number_integer(number_integer_t) override { return true; }
  bool number_unsigned(number_unsigned_t) override { return true; }
  bool number_float(number_float_t, const string_t&) override { return true; }
  bool string(string_t&) override { return true; }
  bool binary(binary_t&) override { return true; }
  bool start_object(std::size_t) override {
    ++depth_;
    return true;
  }
  bool key(string_t& k) override {
    if (depth_ == 1) keys_->push_back(k);
    return true;
  }
  bool end_object() override {
    --depth_;
    return true;
  }
  bool start_array(std::size_t) override {
    ++depth_;
    return true;
  }
  bool end_array() override {
    --depth_;
    return true;
  }
  bool parse_error(std::size_t, const std::string&, const nlohmann::detail::exception&) override {
    return false;
  }

 private:
  std::vector<std::string>* keys_;
  int depth_ = 0;
};

// The problem with the payload's top-level field names, "" if none (or if the payload is
// not JSON or not an object). Names are checked in the order a parsed object iterates them
// (sorted, a repeated name counted once), so the first problem reported is the same one.
std::string FieldNameProblem(const std::string& payload, std::vector<std::string>* keys) {
  keys->clear();
  TopLevelKeys sax(keys);
  bool ok = false;
  try {
    ok = Json::sax_parse(payload.begin(), payload.end(), &sax);
  } catch (const std::exception&) {
    ok = false;
  }
  if (!ok || keys->empty()) return "";
  std::sort(keys->begin(), keys->end());
  keys->erase(std::unique(keys->begin(), keys->end()), keys->end());
  std::set<std::string> seen;
  for (const std::string& k : *keys) {
    if (!ValidFieldName(k)) {
      return "payload field name '" + k.substr(0, 100) +
             "' must match ^[A-Za-z_]([A-Za-z0-9]*|[A-Za-z0-9][A-Za-z0-9_]*)$ and be at most "
             "255 characters";
    }
    if (!seen.insert(ToLower(k)).second) {
      return "payload field names are case-insensitive; '" + k.substr(0, 100) + "' appears twice";
    }
  }
  return "";
}

Status BadBatch(const std::string& what) {
  return Status::InvalidArgument("1 validation error detected: " + what);
}

}  // namespace

HttpResponse IotAnalyticsService::BatchPutMessage(Call& c) {
  if (dp_.channels == nullptr) return NotAvailableYet("BatchPutMessage");
  Status st = ValidateResourceName("channelName",
                                   c.body.contains("channelName") ? c.body["channelName"] : Json());
  if (!st.ok()) return JsonErrorResponse(st);
  if (!c.body.contains("messages") || c.body["messages"].is_null()) {
    return JsonErrorResponse(
        BadBatch("Value null at 'messages' failed to satisfy constraint: Member must not be null"));
  }
  const Json& messages = c.body["messages"];
  if (!messages.is_array()) {
    return JsonErrorResponse(Status::InvalidArgument("Value at 'messages' must be a list"));
  }
  if (messages.empty() || messages.size() > kMaxMessagesPerBatch) {
    return JsonErrorResponse(BadBatch(
        "Value at 'messages' failed to satisfy constraint: Member must have length between 1 "
        "and 100 (got " +
        std::to_string(messages.size()) + ")"));
  }
  // Structure first: any malformed entry fails the whole call, as the model requires.
  for (size_t i = 0; i < messages.size(); ++i) {
    const Json& m = messages[i];
    std::string at = "messages." + std::to_string(i + 1) + ".member";
    if (!m.is_object()) {
      return JsonErrorResponse(Status::InvalidArgument("Value at '" + at + "' must be an object"));
    }
    if (!m.contains("messageId") || m["messageId"].is_null()) {
      return JsonErrorResponse(BadBatch("Value null at '" + at +
                                        ".messageId' failed to satisfy constraint: Member must "
                                        "not be null"));
    }
    if (!m["messageId"].is_string()) {
      return JsonErrorResponse(
          Status::InvalidArgument("Value at '" + at + ".messageId' must be a string"));
    }
    const std::string& id = m["messageId"].get_ref<const std::string&>();
    if (id.empty() || id.size() > 128) {
      return JsonErrorResponse(BadBatch(
          "Value '" + id.substr(0, 100) + "' at '" + at +
          ".messageId' failed to satisfy constraint: Member must have length between 1 and 128"));
    }
    for (unsigned char ch : id) {
      if (ch > 0x7f) {
        return JsonErrorResponse(BadBatch("Value at '" + at +
                                          ".messageId' failed to satisfy constraint: Member "
                                          "must satisfy regular expression pattern: \\p{ASCII}*"));
      }
    }
    if (!m.contains("payload") || m["payload"].is_null()) {
      return JsonErrorResponse(BadBatch("Value null at '" + at +
                                        ".payload' failed to satisfy constraint: Member must "
                                        "not be null"));
    }
    if (!m["payload"].is_string()) {
      return JsonErrorResponse(
          Status::InvalidArgument("Value at '" + at + ".payload' must be a base64-encoded string"));
    }
  }
  // Then each message on its own: problems are reported per message, the rest accepted.
  Json errors = Json::array();
  std::vector<IncomingMessage> accepted;
  accepted.reserve(messages.size());
  std::set<std::string> ids;
  std::vector<std::string> keys;  // scratch for FieldNameProblem
  auto reject = [&](const std::string& id, const char* code, const std::string& msg) {
    errors.push_back({{"messageId", id}, {"errorCode", code}, {"errorMessage", msg}});
  };
  for (const Json& m : messages) {
    const std::string& id = m["messageId"].get_ref<const std::string&>();
    if (!ids.insert(id).second) {
      reject(id, "DuplicateMessageIdException",
             "messageId '" + id + "' appears more than once in this batch");
      continue;
    }
    auto payload = Base64Decode(m["payload"].get_ref<const std::string&>());
    if (!payload.ok()) {
      reject(id, "InvalidPayloadException", "payload is not valid base64");
      continue;
    }
    if (payload->size() > kMaxPayloadBytes) {
      reject(id, "PayloadTooLargeException",
             "payload is " + std::to_string(payload->size()) +
                 " bytes; the limit is 131072 bytes (128 KB)");
      continue;
    }
    std::string problem = FieldNameProblem(*payload, &keys);
    if (!problem.empty()) {
      reject(id, "InvalidPayloadException", problem);
      continue;
    }
    accepted.push_back({id, std::move(payload).value()});
  }
  if (!accepted.empty()) {
    std::shared_lock<std::shared_mutex> lifecycle(channel_lifecycle_mu_);
    std::string channel = c.body["channelName"].get<std::string>();
    auto offsets = dp_.channels->Append(channel, std::move(accepted));
    if (offsets.status().code() == StatusCode::kNotFound) {
      return JsonErrorResponse(Status::NotFound("Channel " + channel + " does not exist"));
    }
    if (!offsets.ok()) {
      // Nothing of this call was stored: fail it whole so the client retries it.
      return JsonErrorResponse(
          Status::Unavailable("messages were not stored: " + offsets.status().message()));
    }
  } else {
    std::string channel = c.body["channelName"].get<std::string>();
    auto stats = dp_.channels->Stats(channel);
    if (stats.status().code() == StatusCode::kNotFound) {
      return JsonErrorResponse(Status::NotFound("Channel " + channel + " does not exist"));
    }
  }
  return JsonOk(200, {{"batchPutMessageErrorEntries", errors}});
}

HttpResponse IotAnalyticsService::SampleChannelData(Call& c, const std::string& name) {
  if (dp_.channels == nullptr) return NotAvailableYet("SampleChannelData");
  int max_messages = 10;
  if (auto v = c.target.Query("maxMessages")) {
    char* end = nullptr;
    long n = std::strtol(v->c_str(), &end, 10);
    if (v->empty() || *end != '\0' || n < 1 || n > 10) {
      return JsonErrorResponse(BadBatch("Value '" + v->substr(0, 20) +
                                        "' at 'maxMessages' failed to satisfy constraint: "
                                        "Member must have value between 1 and 10"));
    }
    max_messages = static_cast<int>(n);
  }
  std::optional<int64_t> start, end;
  for (const char* key : {"startTime", "endTime"}) {
    auto v = c.target.Query(key);
    if (!v) continue;
    auto t = ParseIso8601Micros(*v);
    if (!t) {
      return JsonErrorResponse(
          Status::InvalidArgument("Value '" + v->substr(0, 64) + "' at '" + key +
                                  "' must be an ISO-8601 timestamp such as 2020-01-02T03:04:05Z"));
    }
    (std::string(key) == "startTime" ? start : end) = *t;
  }
  if (start && end && *start >= *end) {
    return JsonErrorResponse(Status::InvalidArgument("startTime must be before endTime"));
  }
  if (!catalog_->Get(ResourceType::kChannel, name).ok()) {
    return JsonErrorResponse(Status::NotFound("Channel " + name + " does not exist"));
  }
  auto stats = dp_.channels->Stats(name);
  if (!stats.ok()) return JsonErrorResponse(stats.status());
  uint64_t lo = stats->first_offset, hi = stats->end_offset;
  if (start) {
    auto o = dp_.channels->OffsetAtOrAfter(name, *start);
    if (!o.ok()) return JsonErrorResponse(o.status());
    lo = std::max(lo, *o);
  }
  if (end) {
    auto o = dp_.channels->OffsetAtOrAfter(name, *end);
    if (!o.ok()) return JsonErrorResponse(o.status());
    hi = std::min(hi, *o);
  }
  Json payloads = Json::array();
  if (hi > lo) {
    // The most recent messages of the window.
    uint64_t from = hi - lo > static_cast<uint64_t>(max_messages) ? hi - max_messages : lo;
    auto msgs = dp_.channels->Read(name, from, static_cast<size_t>(hi - from), 16u << 20);
    if (!msgs.ok()) return JsonErrorResponse(msgs.status());
    for (const auto& m : *msgs) {
      if (m.offset >= hi) break;
      payloads.push_back(Base64Encode(m.payload));
    }
  }
  return JsonOk(200, {{"payloads", payloads}});
}

}  // namespace sluice::iota
