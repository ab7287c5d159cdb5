// IotAnalyticsService: the AWS IoT Analytics REST API (restJson1, signing name
// "iotanalytics"). Owns the mapping between the wire shapes and the catalog's definition
// documents, and the service-side rules that need the catalog (referenced channels and
// datastores exist, dataset-trigger dependencies, tag and resource quotas).
// Request validation lives in validate.h; error rendering in api/errors.h.
//
// Threads: Handle() runs on HTTP I/O threads, concurrently. Catalog calls are thread-safe;
// `mutation_mu_` serialises the check-then-write sequences that span several catalog calls
// (dataset trigger dependencies, tag quota) so two concurrent requests cannot both pass a
// check that only one of them may pass.
#pragma once

#include <functional>
#include <memory>
#include <shared_mutex>
#include <string>

#include <nlohmann/json.hpp>

#include "api/router.h"
#include "catalog/catalog.h"
#include "channel/channel_store.h"
#include "common/clock.h"
#include "common/thread_annotations.h"
#include "datastore/datastore_store.h"
#include "pipeline/pipeline_manager.h"

namespace sluice::iota {

struct IotAnalyticsConfig {
  std::string region = "us-east-1";
  std::string account_id = "123456789012";
  int64_t max_channels = 50;
  int64_t max_datastores = 25;
  int64_t max_pipelines = 100;
  int64_t max_datasets = 100;
  int64_t max_datasets_triggered_per_dataset = 10;
  int64_t max_tags_per_resource = 50;
};

// The runtime subsystems behind the data-plane operations. A null member means that
// capability is not wired in; its operations answer "not available".
struct DataPlane {
  ChannelStore* channels = nullptr;
  DatastoreStore* datastores = nullptr;
  pipeline::PipelineManager* pipelines = nullptr;
};

class IotAnalyticsService final : public ApiService {
 public:
  IotAnalyticsService(Catalog* catalog, const Clock* clock, IotAnalyticsConfig config,
                      DataPlane data_plane = {});

  std::string signing_name() const override { return "iotanalytics"; }
  HttpResponse Handle(const HttpRequest& req, const RequestContext& ctx) override;

  std::string Arn(ResourceType type, const std::string& name) const;

  struct Call;  // one request being handled (defined in the .cc)

 private:
  HttpResponse Dispatch(Call& call);

  // Channels
  HttpResponse CreateChannel(Call& c);
  HttpResponse DescribeChannel(Call& c, const std::string& name);
  HttpResponse ListChannels(Call& c);
  HttpResponse UpdateChannel(Call& c, const std::string& name);
  // Datastores
  HttpResponse CreateDatastore(Call& c);
  HttpResponse DescribeDatastore(Call& c, const std::string& name);
  HttpResponse ListDatastores(Call& c);
  HttpResponse UpdateDatastore(Call& c, const std::string& name);
  // Pipelines
  HttpResponse CreatePipeline(Call& c);
  HttpResponse DescribePipeline(Call& c, const std::string& name);
  HttpResponse ListPipelines(Call& c);
  HttpResponse UpdatePipeline(Call& c, const std::string& name);
  // Datasets
  HttpResponse CreateDataset(Call& c);
  HttpResponse DescribeDataset(Call& c, const std::string& name);
  HttpResponse ListDatasets(Call& c);
  HttpResponse UpdateDataset(Call& c, const std::string& name);
  // Shared
  HttpResponse DeleteResource(Call& c, ResourceType type, const std::string& name);
  // Paged List*: `summarize` turns one catalog record into its summary shape.
  HttpResponse ListResources(
      Call& c, ResourceType type, const char* member,
      const std::function<nlohmann::json(const ResourceRecord&, nlohmann::json def)>& summarize);
  HttpResponse TagResource(Call& c);
  HttpResponse UntagResource(Call& c);
  HttpResponse ListTagsForResource(Call& c);
  HttpResponse PutLoggingOptions(Call& c);
  HttpResponse DescribeLoggingOptions(Call& c);
  HttpResponse NotAvailableYet(const std::string& operation);
  // DescribeChannel/DescribeDatastore `statistics` for an estimate made now.
  nlohmann::json SizeStatistics(double size_bytes) const;
  HttpResponse CreateError(const Status& st, ResourceType type, const std::string& name,
                           int64_t limit) const;
  // Data plane
  HttpResponse BatchPutMessage(Call& c);
  HttpResponse SampleChannelData(Call& c, const std::string& name);
  HttpResponse RunPipelineActivity(Call& c);
  HttpResponse StartPipelineReprocessing(Call& c, const std::string& name);
  HttpResponse CancelPipelineReprocessing(Call& c, const std::string& name, const std::string& id);
  Status CompilePipeline(const nlohmann::json& def) const;
  nlohmann::json ReprocessingSummaries(const std::string& name) const;

  Status CheckPipelineRefs(const nlohmann::json& body) const;
  Status CheckDatasetTriggers(const std::string& dataset_name, const nlohmann::json& actions,
                              const nlohmann::json& triggers) REQUIRES(mutation_mu_);
  Result<std::pair<ResourceType, std::string>> ParseArn(const std::string& arn) const;

  Catalog* catalog_;
  const Clock* clock_;
  IotAnalyticsConfig config_;
  DataPlane dp_;
  Mutex mutation_mu_;
  // Shared by BatchPutMessage, exclusive for channel create/delete: no message is
  // acknowledged into a channel log that is being dropped.
  std::shared_mutex channel_lifecycle_mu_;
};

}  // namespace sluice::iota
