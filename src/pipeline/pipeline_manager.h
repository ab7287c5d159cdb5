// PipelineManager: runs every active pipeline, carrying each message of its channel through
// the activity chain into its datastore exactly once; pipeline reprocessing; and
// RunPipelineActivity.
//
// Exactly once: a pipeline's position (the next channel offset to read) is stored by the
// DatastoreStore beside the rows, and every batch is committed with
// DatastoreStore::Append(rows, pipeline, next_offset) — rows and position in one
// transaction. A worker that crashes or fails mid-batch re-reads the batch from the
// committed position, so no message is lost or stored twice. A new pipeline (Create) starts
// at the channel's end offset at creation, recorded immediately with SetPosition, so a
// restart neither skips nor repeats; Start (server restart) resumes from the stored position.
//
// Lambda failures: the failed messages are dropped from the batch (counted as
// "lambda_failed"), the position still advances (the pipeline is never stuck on a broken
// function), and a failure event in the EventBridge "IoT Analytics Pipeline Failure
// Notification" format is recorded. Its detail.channel-messages.s3paths name the channel
// offsets to replay as `channel/<channel>/offsets/<first>-<last>` (inclusive offsets; there
// are no channel objects in S3 here), which StartReprocessingPaths accepts.
//
// Reprocessing re-runs the (current) chain over a range of channel offsets and appends the
// results to the datastore again (as AWS does: data is re-ingested); it never moves the live
// position. Its progress is committed under the position key `<pipeline>/reprocess/<id>`,
// so a reprocessing interrupted by a shutdown resumes at the next Start. Summaries
// ({id, status, creationTime} plus the offset ranges) are kept per pipeline in
// <state_dir>/<pipeline>.reprocessing.json, written atomically through Env (in memory only
// when state_dir is empty).
//
// Threads: one worker thread per running pipeline, plus one thread per RUNNING
// reprocessing. On the 2-core target workers spend their time blocked in
// ChannelStore::WaitForData (bounded by `idle_wait_micros`, so Stop is prompt), so a
// thread per pipeline costs little and keeps pipelines independent (a slow lambda in one
// does not delay another). The manager's `mu_` guards the pipeline map; each pipeline's
// own mutex guards its definition, counters, failure events and reprocessing summaries.
// All public methods may be called from any thread. The ChannelStore, DatastoreStore,
// ThingLookup, LambdaInvoker, Clock and Env must outlive the manager; call Shutdown()
// (or destroy the manager) before ChannelStore::Shutdown().
#pragma once

#include <cstdint>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "channel/channel_store.h"
#include "common/clock.h"
#include "common/env.h"
#include "common/status.h"
#include "common/thread_annotations.h"
#include "datastore/datastore_store.h"
#include "pipeline/activities.h"
#include "pipeline/lambda.h"
#include "things/thing_registry.h"

namespace sluice::pipeline {

struct PipelineManagerOptions {
  size_t batch_max_messages = 1000;                // per channel read / datastore append
  size_t batch_max_bytes = 4u << 20;               // payload bytes per read
  int64_t idle_wait_micros = 250000;               // WaitForData timeout: bounds Stop latency
  int64_t lambda_timeout_ms = 300000;              // per invocation inside pipelines
  int64_t run_activity_lambda_timeout_ms = 30000;  // RunPipelineActivity (AWS: < 30 s)
  int64_t max_backoff_ms = 5000;                   // retry delay cap after storage errors
  size_t max_failure_events = 100;                 // kept per pipeline, newest last
  size_t max_reprocessing_summaries = 100;         // kept per pipeline
  std::string region = "us-east-1";                // for ARNs in failure events
  std::string account_id = "123456789012";
  std::string state_dir;  // reprocessing summaries; "" = memory only
  Env* env = nullptr;     // null: Env::Default()
};

struct ReprocessingSummary {
  std::string id;
  std::string status;  // RUNNING | SUCCEEDED | CANCELLED | FAILED
  int64_t creation_micros = 0;
  std::string message;  // why it FAILED (not part of the AWS shape)
  // {"id", "status", "creationTime" (epoch seconds, fractional)} as DescribePipeline shows.
  nlohmann::json ToJson() const;
};

struct PipelineStatus {
  std::string name;
  std::string channel;
  std::string datastore;
  std::optional<uint64_t> position;         // next channel offset the live pipeline reads
  uint64_t messages_read = 0;               // channel messages processed (committed batches)
  uint64_t messages_written = 0;            // rows appended to the datastore
  uint64_t messages_reprocessed = 0;        // channel messages re-read by reprocessing
  uint64_t lambda_failures = 0;             // failed lambda invocations
  std::map<std::string, uint64_t> dropped;  // reason -> messages (see activities.h)
  std::string last_error;                   // "" if none
  std::optional<int64_t> last_error_micros;
  std::vector<ReprocessingSummary> reprocessing;  // oldest first
  // Everything above as JSON (an extension block the service may expose).
  nlohmann::json ToJson() const;
};

class PipelineManager {
 public:
  PipelineManager(ChannelStore* channels, DatastoreStore* datastores, ThingLookup* things,
                  LambdaInvoker* lambdas, const Clock* clock, PipelineManagerOptions options);
  ~PipelineManager();  // Shutdown()
  PipelineManager(const PipelineManager&) = delete;
  PipelineManager& operator=(const PipelineManager&) = delete;

  // CreatePipeline: a new pipeline starting at the channel's current end. `definition` is
  // the catalog document {"activities": [...]}. kInvalidArgument if it does not compile,
  // kAlreadyExists if running. Storage errors while recording the start position do not fail
  // the call (the worker retries and reports them in last_error).
  Status Create(const std::string& name, const nlohmann::json& definition);
  // Server start: resume a pipeline from its committed position (the channel's end if it
  // never committed) and resume its RUNNING reprocessing, if any.
  Status Start(const std::string& name, const nlohmann::json& definition);
  // UpdatePipeline: the new chain applies to batches read after this call; no restart.
  // A changed channel starts at that channel's end; a changed datastore continues from the
  // current position. kNotFound if not running.
  Status Update(const std::string& name, const nlohmann::json& definition);
  // DeletePipeline: stops the worker and any reprocessing (joined before returning) and
  // removes the reprocessing summaries file. kNotFound if not running.
  Status Stop(const std::string& name);
  // Server exit: stops and joins everything; state stays for the next Start. Idempotent.
  void Shutdown();

  Result<PipelineStatus> GetStatus(const std::string& name);
  // The newest failure events (EventBridge JSON, reference 5.11), oldest first.
  Result<std::vector<nlohmann::json>> FailureEvents(const std::string& name);
  Result<std::vector<ReprocessingSummary>> ReprocessingSummaries(const std::string& name);

  // StartPipelineReprocessing over arrival times [start, end) (either may be absent: from
  // the oldest retained message / up to the channel's end now). Returns the reprocessing id.
  // kNotFound: pipeline not running; kAlreadyExists: one is RUNNING for the pipeline.
  Result<std::string> StartReprocessing(const std::string& pipeline,
                                        std::optional<int64_t> start_micros,
                                        std::optional<int64_t> end_micros);
  // StartPipelineReprocessing with channelMessages.s3Paths: only the offset paths of failure
  // events (`channel/<channel>/offsets/<first>-<last>`) for the pipeline's channel are
  // understood; anything else is kInvalidArgument with a message saying so.
  Result<std::string> StartReprocessingPaths(const std::string& pipeline,
                                             const std::vector<std::string>& s3_paths);
  // CancelPipelineReprocessing. kNotFound for an unknown id; OK if already CANCELLED;
  // kInvalidArgument if it already SUCCEEDED or FAILED.
  Status CancelReprocessing(const std::string& pipeline, const std::string& id);

  // RunPipelineActivity: one activity over raw payloads. kInvalidArgument for channel,
  // datastore or unknown activities. A failing expression or function, or a payload that
  // is not JSON, is not an error: it is described in *log (logResult) and the affected
  // messages are absent from the result.
  Result<std::vector<nlohmann::json>> RunActivity(const nlohmann::json& activity,
                                                  const std::vector<std::string>& payloads,
                                                  std::string* log);

  // For tests and tools: block until the live position of `name` is >= offset / the
  // reprocessing is no longer RUNNING, or the timeout passes. Return whether it happened.
  bool WaitForPosition(const std::string& name, uint64_t offset, int64_t timeout_ms);
  bool WaitForReprocessing(const std::string& name, const std::string& id, int64_t timeout_ms);

 private:
  struct Pipeline;
  struct Job;

  Status Launch(const std::string& name, const nlohmann::json& definition, bool fresh,
                std::optional<uint64_t> position);
  std::shared_ptr<Pipeline> Find(const std::string& name);
  void RunWorker(Pipeline* p);
  void RunReprocessing(Pipeline* p, std::string id);
  Result<std::string> StartJob(const std::string& pipeline,
                               std::vector<std::pair<uint64_t, uint64_t>> ranges);
  void StopPipeline(Pipeline* p);
  nlohmann::json FailureEvent(const std::string& pipeline, const std::string& channel,
                              const LambdaFailure& failure) const;

  ChannelStore* const channels_;
  DatastoreStore* const datastores_;
  ThingLookup* const things_;
  LambdaInvoker* const lambdas_;
  const Clock* const clock_;
  const PipelineManagerOptions options_;
  Env* const env_;

  Mutex mu_;
  std::map<std::string, std::shared_ptr<Pipeline>> pipelines_ GUARDED_BY(mu_);
};

}  // namespace sluice::pipeline
