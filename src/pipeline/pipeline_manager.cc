#include "pipeline/pipeline_manager.h"

#include <algorithm>
#include <chrono>
#include <condition_variable>
#include <deque>
#include <thread>
#include <utility>

#include "common/strings.h"

namespace sluice::pipeline {
namespace {

using SteadyTime = std::chrono::steady_clock::time_point;
using OffsetRanges = std::vector<std::pair<uint64_t, uint64_t>>;  // [first, end)

constexpr char kRunning[] = "RUNNING";
constexpr char kSucceeded[] = "SUCCEEDED";
constexpr char kCancelled[] = "CANCELLED";
constexpr char kFailed[] = "FAILED";
constexpr int kReprocessingAttempts = 5;  // storage errors tolerated per batch

SteadyTime DeadlineAfterMs(int64_t ms) {
  return std::chrono::steady_clock::now() + std::chrono::milliseconds(std::max<int64_t>(ms, 0));
}

double EpochSeconds(int64_t micros) { return static_cast<double>(micros) / 1e6; }

std::string OffsetPath(const std::string& channel, uint64_t first, uint64_t last) {
  return "channel/" + channel + "/offsets/" + std::to_string(first) + "-" + std::to_string(last);
}

bool ParseU64(const std::string& s, uint64_t* out) {
  if (s.empty() || s.size() > 19) return false;
  uint64_t v = 0;
  for (char c : s) {
    if (c < '0' || c > '9') return false;
    v = v * 10 + static_cast<uint64_t>(c - '0');
  }
  *out = v;
  return true;
}

// Sorts and merges half-open ranges.
OffsetRanges Normalize(OffsetRanges ranges) {
  std::sort(ranges.begin(), ranges.end());
  OffsetRanges out;
  for (const auto& r : ranges) {
    if (r.first >= r.second) continue;
    if (!out.empty() && r.first <= out.back().second) {
      out.back().second = std::max(out.back().second, r.second);
    } else {
      out.push_back(r);
    }
  }
  return out;
}

}  // namespace

// ---------------------------------------------------------------------------------------
// Shapes

nlohmann::json ReprocessingSummary::ToJson() const {
  return {{"id", id}, {"status", status}, {"creationTime", EpochSeconds(creation_micros)}};
}

nlohmann::json PipelineStatus::ToJson() const {
  Json j = {{"name", name},
            {"channel", channel},
            {"datastore", datastore},
            {"messagesRead", messages_read},
            {"messagesWritten", messages_written},
            {"messagesReprocessed", messages_reprocessed},
            {"lambdaFailures", lambda_failures},
            {"dropped", dropped}};
  j["position"] = position ? Json(*position) : Json();
  if (!last_error.empty()) {
    j["lastError"] = last_error;
    if (last_error_micros) j["lastErrorTime"] = EpochSeconds(*last_error_micros);
  }
  Json r = Json::array();
  for (const auto& s : reprocessing) r.push_back(s.ToJson());
  j["reprocessingSummaries"] = r;
  return j;
}

// ---------------------------------------------------------------------------------------
// Per-pipeline state

struct PipelineManager::Job {
  ReprocessingSummary summary;
  std::string channel;
  std::string datastore;
  OffsetRanges ranges;  // normalized, half-open
  std::shared_ptr<std::atomic<bool>> cancel = std::make_shared<std::atomic<bool>>(false);
};

struct PipelineManager::Pipeline {
  // Threads are always joined by StopPipeline before the last reference goes away.
  explicit Pipeline(std::string n) : name(std::move(n)) {}

  const std::string name;
  std::atomic<bool> stop{false};  // set once, by StopPipeline; read by every thread

  Mutex mu;
  std::condition_variable cv;  // waited on with mu.native(): progress, stop

  std::shared_ptr<const ActivityChain> chain GUARDED_BY(mu);
  bool fresh GUARDED_BY(mu) = false;  // start at the channel end, ignoring stored positions
  bool stopped GUARDED_BY(mu) = false;
  std::optional<uint64_t> position GUARDED_BY(mu);
  std::string position_channel GUARDED_BY(mu);
  uint64_t messages_read GUARDED_BY(mu) = 0;
  uint64_t messages_written GUARDED_BY(mu) = 0;
  uint64_t messages_reprocessed GUARDED_BY(mu) = 0;
  uint64_t lambda_failures GUARDED_BY(mu) = 0;
  std::map<std::string, uint64_t> dropped GUARDED_BY(mu);
  std::string last_error GUARDED_BY(mu);
  std::optional<int64_t> last_error_micros GUARDED_BY(mu);
  std::deque<Json> failures GUARDED_BY(mu);
  std::vector<Job> jobs GUARDED_BY(mu);  // oldest first

  // Thread handles: created by Launch/StartJob, moved out and joined by StopPipeline (or
  // by StartJob for a finished reprocessing thread).
  std::thread worker GUARDED_BY(mu);
  std::thread reprocessor GUARDED_BY(mu);

  std::string StatePath(const std::string& dir) const {
    return dir + "/" + name + ".reprocessing.json";
  }

  // Waits on cv until notified or `deadline`; the caller holds mu (through MutexLock).
  void WaitUntil(SteadyTime deadline) REQUIRES(mu) {
    std::unique_lock<std::mutex> ul(mu.native(), std::adopt_lock);
    cv.wait_until(ul, deadline);
    ul.release();
  }

  // Writes the reprocessing summaries file (atomically); no-op without a state dir.
  Status PersistJobs(Env* env, const std::string& dir, size_t max_jobs) REQUIRES(mu) {
    while (jobs.size() > max_jobs && jobs.front().summary.status != kRunning) {
      jobs.erase(jobs.begin());
    }
    if (dir.empty()) return Status::Ok();
    Json list = Json::array();
    for (const Job& j : jobs) {
      Json ranges = Json::array();
      for (const auto& r : j.ranges) ranges.push_back({r.first, r.second});
      list.push_back({{"id", j.summary.id},
                      {"status", j.summary.status},
                      {"creationMicros", j.summary.creation_micros},
                      {"message", j.summary.message},
                      {"channel", j.channel},
                      {"datastore", j.datastore},
                      {"ranges", ranges}});
    }
    RETURN_IF_ERROR(env->CreateDirs(dir));
    return env->WriteFileAtomic(StatePath(dir), Json{{"jobs", list}}.dump(), 0644);
  }

  // Folds one committed batch into the counters and failure events.
  void Account(size_t read, bool reprocessing, size_t written, const ActivityContext& ctx,
               std::vector<Json> events, size_t max_events, int64_t now_micros) EXCLUDES(mu) {
    {
      MutexLock l(&mu);
      (reprocessing ? messages_reprocessed : messages_read) += read;
      messages_written += written;
      lambda_failures += ctx.lambda_failures.size();
      for (const auto& [reason, n] : ctx.dropped) dropped[reason] += n;
      if (!ctx.lambda_failures.empty()) {
        last_error = ctx.lambda_failures.back().message;
        last_error_micros = now_micros;
      }
      for (Json& e : events) {
        failures.push_back(std::move(e));
        while (failures.size() > max_events) failures.pop_front();
      }
    }
    cv.notify_all();
  }

  void RecordError(const std::string& message, int64_t now_micros) EXCLUDES(mu) {
    MutexLock l(&mu);
    last_error = message;
    last_error_micros = now_micros;
  }
};

// ---------------------------------------------------------------------------------------
// Construction / lifecycle

PipelineManager::PipelineManager(ChannelStore* channels, DatastoreStore* datastores,
                                 ThingLookup* things, LambdaInvoker* lambdas, const Clock* clock,
                                 PipelineManagerOptions options)
    : channels_(channels),
      datastores_(datastores),
      things_(things),
      lambdas_(lambdas),
      clock_(clock),
      options_(std::move(options)),
      env_(options_.env != nullptr ? options_.env : Env::Default()) {}

PipelineManager::~PipelineManager() { Shutdown(); }

std::shared_ptr<PipelineManager::Pipeline> PipelineManager::Find(const std::string& name) {
  MutexLock l(&mu_);
  auto it = pipelines_.find(name);
  if (it == pipelines_.end()) return nullptr;
  return it->second;
}

Status PipelineManager::Create(const std::string& name, const nlohmann::json& definition) {
  auto chain = ActivityChain::Compile(definition);
  if (!chain.ok()) return chain.status();
  if (Find(name) != nullptr) {
    return Status::AlreadyExists("Pipeline " + name + " is already running");
  }
  // A new pipeline starts at the channel's end now; record it before returning so that
  // messages put after CreatePipeline returns are processed, even across a restart.
  std::optional<uint64_t> position;
  auto stats = channels_->Stats(chain->channel);
  if (stats.ok() && datastores_->SetPosition(chain->datastore, name, stats->end_offset).ok()) {
    position = stats->end_offset;
  }
  if (!options_.state_dir.empty()) {
    // A pipeline of the same name may have been deleted while the server was down.
    (void)env_->RemoveFile(options_.state_dir + "/" + name + ".reprocessing.json");
  }
  return Launch(name, definition, /*fresh=*/!position.has_value(), position);
}

Status PipelineManager::Start(const std::string& name, const nlohmann::json& definition) {
  return Launch(name, definition, /*fresh=*/false, std::nullopt);
}

Status PipelineManager::Launch(const std::string& name, const nlohmann::json& definition,
                               bool fresh, std::optional<uint64_t> position) {
  auto chain = ActivityChain::Compile(definition);
  if (!chain.ok()) return chain.status();
  auto p = std::make_shared<Pipeline>(name);

  // Reprocessing summaries from a previous run.
  std::vector<Job> jobs;
  if (!options_.state_dir.empty()) {
    std::string path = p->StatePath(options_.state_dir);
    if (env_->FileExists(path)) {
      auto text = env_->ReadFile(path);
      Json doc = text.ok() ? Json::parse(*text, nullptr, false) : Json();
      if (doc.is_object() && doc.contains("jobs") && doc["jobs"].is_array()) {
        for (const Json& j : doc["jobs"]) {
          if (!j.is_object()) continue;
          Job job;
          job.summary.id = j.value("id", "");
          job.summary.status = j.value("status", kFailed);
          job.summary.creation_micros = j.value("creationMicros", int64_t{0});
          job.summary.message = j.value("message", "");
          job.channel = j.value("channel", "");
          job.datastore = j.value("datastore", "");
          if (j.contains("ranges") && j["ranges"].is_array()) {
            for (const Json& r : j["ranges"]) {
              if (r.is_array() && r.size() == 2 && r[0].is_number_unsigned() &&
                  r[1].is_number_unsigned()) {
                job.ranges.emplace_back(r[0].get<uint64_t>(), r[1].get<uint64_t>());
              }
            }
          }
          if (!job.summary.id.empty()) jobs.push_back(std::move(job));
        }
      }
    }
  }

  MutexLock l(&mu_);
  if (pipelines_.count(name) != 0) {
    return Status::AlreadyExists("Pipeline " + name + " is already running");
  }
  {
    MutexLock pl(&p->mu);
    p->chain = std::make_shared<const ActivityChain>(std::move(chain).value());
    p->fresh = fresh;
    p->position = position;
    p->jobs = std::move(jobs);
    p->worker = std::thread([this, raw = p.get()] { RunWorker(raw); });
    auto running = std::find_if(p->jobs.begin(), p->jobs.end(),
                                [](const Job& j) { return j.summary.status == kRunning; });
    if (running != p->jobs.end()) {
      std::string id = running->summary.id;
      p->reprocessor = std::thread([this, raw = p.get(), id] { RunReprocessing(raw, id); });
    }
  }
  pipelines_[name] = std::move(p);
  return Status::Ok();
}

Status PipelineManager::Update(const std::string& name, const nlohmann::json& definition) {
  auto chain = ActivityChain::Compile(definition);
  if (!chain.ok()) return chain.status();
  auto p = Find(name);
  if (p == nullptr) return Status::NotFound("Pipeline " + name + " is not running");
  {
    MutexLock l(&p->mu);
    p->chain = std::make_shared<const ActivityChain>(std::move(chain).value());
  }
  p->cv.notify_all();
  return Status::Ok();
}

void PipelineManager::StopPipeline(Pipeline* p) {
  std::thread worker, reprocessor;
  {
    MutexLock l(&p->mu);
    p->stopped = true;
    p->stop.store(true);
    for (Job& j : p->jobs) j.cancel->store(true);
    worker = std::move(p->worker);
    reprocessor = std::move(p->reprocessor);
  }
  p->cv.notify_all();
  if (worker.joinable()) worker.join();
  if (reprocessor.joinable()) reprocessor.join();
}

Status PipelineManager::Stop(const std::string& name) {
  std::shared_ptr<Pipeline> p;
  {
    MutexLock l(&mu_);
    auto it = pipelines_.find(name);
    if (it == pipelines_.end()) return Status::NotFound("Pipeline " + name + " is not running");
    p = std::move(it->second);
    pipelines_.erase(it);
  }
  StopPipeline(p.get());
  if (!options_.state_dir.empty()) {
    Status st = env_->RemoveFile(p->StatePath(options_.state_dir));
    if (!st.ok()) return st;
  }
  return Status::Ok();
}

void PipelineManager::Shutdown() {
  std::map<std::string, std::shared_ptr<Pipeline>> all;
  {
    MutexLock l(&mu_);
    all.swap(pipelines_);
  }
  // Signal every pipeline first so they all wind down in parallel, then join.
  for (auto& [name, p] : all) {
    MutexLock l(&p->mu);
    p->stop.store(true);
    for (Job& j : p->jobs) j.cancel->store(true);
  }
  for (auto& [name, p] : all) {
    p->cv.notify_all();
    StopPipeline(p.get());
  }
}

// ---------------------------------------------------------------------------------------
// Observers

Result<PipelineStatus> PipelineManager::GetStatus(const std::string& name) {
  auto p = Find(name);
  if (p == nullptr) return Status::NotFound("Pipeline " + name + " is not running");
  MutexLock l(&p->mu);
  PipelineStatus s;
  s.name = name;
  s.channel = p->chain->channel;
  s.datastore = p->chain->datastore;
  s.position = p->position;
  s.messages_read = p->messages_read;
  s.messages_written = p->messages_written;
  s.messages_reprocessed = p->messages_reprocessed;
  s.lambda_failures = p->lambda_failures;
  s.dropped = p->dropped;
  s.last_error = p->last_error;
  s.last_error_micros = p->last_error_micros;
  for (const Job& j : p->jobs) s.reprocessing.push_back(j.summary);
  return s;
}

Result<std::vector<nlohmann::json>> PipelineManager::FailureEvents(const std::string& name) {
  auto p = Find(name);
  if (p == nullptr) return Status::NotFound("Pipeline " + name + " is not running");
  MutexLock l(&p->mu);
  return std::vector<Json>(p->failures.begin(), p->failures.end());
}

Result<std::vector<ReprocessingSummary>> PipelineManager::ReprocessingSummaries(
    const std::string& name) {
  auto p = Find(name);
  if (p == nullptr) return Status::NotFound("Pipeline " + name + " is not running");
  MutexLock l(&p->mu);
  std::vector<ReprocessingSummary> out;
  for (const Job& j : p->jobs) out.push_back(j.summary);
  return out;
}

bool PipelineManager::WaitForPosition(const std::string& name, uint64_t offset,
                                      int64_t timeout_ms) {
  auto p = Find(name);
  if (p == nullptr) return false;
  SteadyTime deadline = DeadlineAfterMs(timeout_ms);
  MutexLock l(&p->mu);
  while (!(p->position && *p->position >= offset)) {
    if (std::chrono::steady_clock::now() >= deadline || p->stopped) return false;
    p->WaitUntil(deadline);
  }
  return true;
}

bool PipelineManager::WaitForReprocessing(const std::string& name, const std::string& id,
                                          int64_t timeout_ms) {
  auto p = Find(name);
  if (p == nullptr) return false;
  SteadyTime deadline = DeadlineAfterMs(timeout_ms);
  MutexLock l(&p->mu);
  while (true) {
    auto it = std::find_if(p->jobs.begin(), p->jobs.end(),
                           [&](const Job& j) { return j.summary.id == id; });
    if (it == p->jobs.end()) return false;
    if (it->summary.status != kRunning) return true;
    if (std::chrono::steady_clock::now() >= deadline || p->stopped) return false;
    p->WaitUntil(deadline);
  }
}

// ---------------------------------------------------------------------------------------
// Batches

namespace {

// Runs `chain` over channel messages and turns the survivors into datastore rows.
std::vector<DatastoreRow> ProcessBatch(const ActivityChain& chain,
                                       const std::vector<ChannelMessage>& batch,
                                       ActivityContext& ctx) {
  std::vector<Json> messages;
  messages.reserve(batch.size());
  ctx.origins.clear();
  ctx.origins.reserve(batch.size());
  for (const ChannelMessage& m : batch) {
    messages.push_back(DecodePayload(m.payload));
    ctx.origins.push_back(Origin{m.offset, m.offset, m.arrival_micros});
  }
  std::vector<Json> out = chain.Run(std::move(messages), ctx);
  std::vector<DatastoreRow> rows;
  rows.reserve(out.size());
  for (size_t i = 0; i < out.size(); ++i) {
    DatastoreRow row;
    row.attributes = std::move(out[i]);
    row.arrival_micros =
        i < ctx.origins.size() ? ctx.origins[i].arrival_micros : batch.back().arrival_micros;
    rows.push_back(std::move(row));
  }
  return rows;
}

}  // namespace

void PipelineManager::RunWorker(Pipeline* p) {
  std::optional<uint64_t> pos;
  std::string pos_channel, pos_datastore;
  int64_t backoff_ms = 0;

  auto fail = [&](const std::string& message) {
    p->RecordError(message, clock_->NowMicros());
    backoff_ms = std::clamp<int64_t>(backoff_ms * 2, 100, options_.max_backoff_ms);
  };

  while (!p->stop.load()) {
    if (backoff_ms > 0) {
      SteadyTime deadline = DeadlineAfterMs(backoff_ms);
      MutexLock l(&p->mu);
      while (!p->stop.load() && std::chrono::steady_clock::now() < deadline) {
        p->WaitUntil(deadline);
      }
      if (p->stop.load()) break;
    }
    std::shared_ptr<const ActivityChain> chain;
    bool fresh;
    {
      MutexLock l(&p->mu);
      chain = p->chain;
      fresh = p->fresh;
    }

    // Where to read: resolved at start and whenever the channel or datastore changes.
    if (!pos || chain->channel != pos_channel || chain->datastore != pos_datastore) {
      std::optional<uint64_t> next;
      bool stored_already = false;
      if (pos && chain->channel == pos_channel) {
        next = pos;  // same channel, new datastore: continue from here
      } else if (!pos && !fresh) {
        auto stored = datastores_->Position(chain->datastore, p->name);
        if (!stored.ok()) {
          fail("Reading the position of pipeline " + p->name + " in datastore " + chain->datastore +
               ": " + stored.status().message());
          continue;
        }
        next = *stored;
        stored_already = next.has_value();
      }
      if (!next) {
        auto stats = channels_->Stats(chain->channel);
        if (!stats.ok()) {
          fail("Channel " + chain->channel + ": " + stats.status().message());
          continue;
        }
        next = stats->end_offset;
      }
      if (!stored_already) {
        Status st = datastores_->SetPosition(chain->datastore, p->name, *next);
        if (!st.ok()) {
          fail("Recording the position of pipeline " + p->name + " in datastore " +
               chain->datastore + ": " + st.message());
          continue;
        }
      }
      pos = next;
      pos_channel = chain->channel;
      pos_datastore = chain->datastore;
      {
        MutexLock l(&p->mu);
        p->fresh = false;
        p->position = pos;
        p->position_channel = pos_channel;
      }
      p->cv.notify_all();
    }

    auto batch = channels_->Read(chain->channel, *pos, options_.batch_max_messages,
                                 options_.batch_max_bytes);
    if (!batch.ok()) {
      fail("Reading channel " + chain->channel + ": " + batch.status().message());
      continue;
    }
    if (batch->empty()) {
      const auto wait_start = std::chrono::steady_clock::now();
      const auto wait_end = wait_start + std::chrono::microseconds(options_.idle_wait_micros);
      uint64_t end = channels_->WaitForData(chain->channel, *pos, options_.idle_wait_micros);
      if (end <= *pos && std::chrono::steady_clock::now() < wait_end) {
        // Woken without data (the channel store is shutting down, or the channel was
        // dropped): sit out the rest of the interval instead of spinning.
        MutexLock l(&p->mu);
        while (!p->stop.load() && std::chrono::steady_clock::now() < wait_end) {
          p->WaitUntil(wait_end);
        }
      }
      if (end < *pos && !p->stop.load()) {
        // The channel was recreated (offsets restarted): follow it from its end.
        auto stats = channels_->Stats(chain->channel);
        if (stats.ok() && stats->end_offset < *pos) {
          Status st = datastores_->SetPosition(chain->datastore, p->name, stats->end_offset);
          if (st.ok()) {
            pos = stats->end_offset;
            MutexLock l(&p->mu);
            p->position = pos;
          }
        }
      }
      continue;
    }

    ActivityContext ctx;
    ctx.things = things_;
    ctx.lambdas = lambdas_;
    ctx.lambda_timeout_ms = options_.lambda_timeout_ms;
    ctx.cancel = &p->stop;
    std::vector<DatastoreRow> rows = ProcessBatch(*chain, *batch, ctx);
    if (p->stop.load() && !ctx.lambda_failures.empty()) break;  // cancelled mid-batch: redo later
    const uint64_t next = batch->back().offset + 1;
    Status st = datastores_->Append(chain->datastore, p->name, rows, next);
    if (!st.ok()) {
      fail("Appending to datastore " + chain->datastore + ": " + st.message());
      continue;  // nothing committed: the same messages are read again
    }
    backoff_ms = 0;
    pos = next;

    std::vector<Json> events;
    for (const LambdaFailure& f : ctx.lambda_failures) {
      events.push_back(FailureEvent(p->name, chain->channel, f));
    }
    {
      MutexLock l(&p->mu);
      p->position = pos;
    }
    p->Account(batch->size(), /*reprocessing=*/false, rows.size(), ctx, std::move(events),
               options_.max_failure_events, clock_->NowMicros());
  }
}

nlohmann::json PipelineManager::FailureEvent(const std::string& pipeline,
                                             const std::string& channel,
                                             const LambdaFailure& f) const {
  Json paths = Json::array();
  if (f.origin) paths.push_back(OffsetPath(channel, f.origin->first_offset, f.origin->last_offset));
  const std::string prefix = options_.region + ":" + options_.account_id + ":";
  return {{"version", "0"},
          {"id", NewUuid()},
          {"detail-type", "IoT Analytics Pipeline Failure Notification"},
          {"source", "aws.iotanalytics"},
          {"account", options_.account_id},
          {"time", FormatIso8601(clock_->NowSeconds())},
          {"region", options_.region},
          {"resources", {"arn:aws:iotanalytics:" + prefix + "pipeline/" + pipeline}},
          {"detail",
           {{"event-detail-version", "1.0"},
            {"pipeline-name", pipeline},
            {"error-code", "LAMBDA_FAILURE"},
            {"message", f.message},
            {"channel-messages", {{"s3paths", paths}}},
            {"activity-name", f.activity_name},
            {"lambda-function-arn", "arn:aws:lambda:" + prefix + "function:" + f.lambda_name}}}};
}

// ---------------------------------------------------------------------------------------
// Reprocessing

Result<std::string> PipelineManager::StartReprocessing(const std::string& pipeline,
                                                       std::optional<int64_t> start_micros,
                                                       std::optional<int64_t> end_micros) {
  auto p = Find(pipeline);
  if (p == nullptr) return Status::NotFound("Pipeline " + pipeline + " is not running");
  if (start_micros && end_micros && *start_micros >= *end_micros) {
    return Status::InvalidArgument("startTime must be before endTime");
  }
  std::string channel;
  {
    MutexLock l(&p->mu);
    channel = p->chain->channel;
  }
  ASSIGN_OR_RETURN(ChannelStats stats, channels_->Stats(channel));
  uint64_t first = stats.first_offset;
  uint64_t end = stats.end_offset;
  if (start_micros) {
    ASSIGN_OR_RETURN(first, channels_->OffsetAtOrAfter(channel, *start_micros));
  }
  if (end_micros) {
    ASSIGN_OR_RETURN(end, channels_->OffsetAtOrAfter(channel, *end_micros));
  }
  return StartJob(pipeline, {{first, std::max(first, end)}});
}

Result<std::string> PipelineManager::StartReprocessingPaths(
    const std::string& pipeline, const std::vector<std::string>& s3_paths) {
  auto p = Find(pipeline);
  if (p == nullptr) return Status::NotFound("Pipeline " + pipeline + " is not running");
  std::string channel;
  {
    MutexLock l(&p->mu);
    channel = p->chain->channel;
  }
  if (s3_paths.empty()) return Status::InvalidArgument("channelMessages.s3Paths is empty");
  OffsetRanges ranges;
  const std::string prefix = "channel/" + channel + "/offsets/";
  for (const std::string& path : s3_paths) {
    uint64_t a = 0, b = 0;
    size_t dash = path.rfind('-');
    bool ok = StartsWith(path, prefix) && dash != std::string::npos && dash > prefix.size() &&
              ParseU64(path.substr(prefix.size(), dash - prefix.size()), &a) &&
              ParseU64(path.substr(dash + 1), &b) && a <= b;
    if (!ok) {
      return Status::InvalidArgument(
          "Cannot reprocess s3Path '" + path +
          "': this server does not store channel messages as S3 objects; use startTime/endTime, "
          "or a path from a pipeline failure event of the form " +
          prefix + "<first>-<last>");
    }
    ranges.emplace_back(a, b + 1);
  }
  return StartJob(pipeline, std::move(ranges));
}

Result<std::string> PipelineManager::StartJob(const std::string& pipeline, OffsetRanges ranges) {
  auto p = Find(pipeline);
  if (p == nullptr) return Status::NotFound("Pipeline " + pipeline + " is not running");
  Job job;
  job.summary.id = NewUuid();
  job.summary.status = kRunning;
  job.summary.creation_micros = clock_->NowMicros();
  job.ranges = Normalize(std::move(ranges));
  std::string id = job.summary.id;
  std::thread finished;
  {
    MutexLock l(&p->mu);
    if (p->stopped) return Status::NotFound("Pipeline " + pipeline + " is not running");
    for (const Job& j : p->jobs) {
      if (j.summary.status == kRunning) {
        return Status::AlreadyExists("Reprocessing " + j.summary.id +
                                     " is already running for pipeline " + pipeline);
      }
    }
    job.channel = p->chain->channel;
    job.datastore = p->chain->datastore;
    p->jobs.push_back(std::move(job));
    Status st = p->PersistJobs(env_, options_.state_dir, options_.max_reprocessing_summaries);
    if (!st.ok()) {
      p->jobs.pop_back();
      return st;
    }
    finished = std::move(p->reprocessor);  // a previous job's thread, done or finishing
    p->reprocessor = std::thread([this, raw = p.get(), id] { RunReprocessing(raw, id); });
  }
  if (finished.joinable()) finished.join();
  return id;
}

Status PipelineManager::CancelReprocessing(const std::string& pipeline, const std::string& id) {
  auto p = Find(pipeline);
  if (p == nullptr) return Status::NotFound("Pipeline " + pipeline + " is not running");
  {
    MutexLock l(&p->mu);
    auto it = std::find_if(p->jobs.begin(), p->jobs.end(),
                           [&](const Job& j) { return j.summary.id == id; });
    if (it == p->jobs.end()) {
      return Status::NotFound("Reprocessing " + id + " not found for pipeline " + pipeline);
    }
    if (it->summary.status == kCancelled) return Status::Ok();
    if (it->summary.status != kRunning) {
      return Status::InvalidArgument("Reprocessing " + id + " has already finished with status " +
                                     it->summary.status);
    }
    it->summary.status = kCancelled;
    it->cancel->store(true);
    Status st = p->PersistJobs(env_, options_.state_dir, options_.max_reprocessing_summaries);
    if (!st.ok()) return st;
  }
  p->cv.notify_all();
  return Status::Ok();
}

void PipelineManager::RunReprocessing(Pipeline* p, std::string id) {
  std::string channel, datastore;
  OffsetRanges ranges;
  std::shared_ptr<std::atomic<bool>> cancel;
  {
    MutexLock l(&p->mu);
    auto it = std::find_if(p->jobs.begin(), p->jobs.end(),
                           [&](const Job& j) { return j.summary.id == id; });
    if (it == p->jobs.end()) return;
    channel = it->channel;
    datastore = it->datastore;
    ranges = it->ranges;
    cancel = it->cancel;
  }
  const std::string key = p->name + "/reprocess/" + id;
  auto halted = [&] { return cancel->load() || p->stop.load(); };
  // Waits before a retry; woken early by stop or cancel.
  auto pause = [&](int attempt) {
    SteadyTime deadline =
        DeadlineAfterMs(std::min<int64_t>(100 << attempt, options_.max_backoff_ms));
    MutexLock l(&p->mu);
    while (!halted() && std::chrono::steady_clock::now() < deadline) p->WaitUntil(deadline);
  };

  std::string failure;
  uint64_t resume = 0;
  for (int attempt = 0;; ++attempt) {
    auto stored = datastores_->Position(datastore, key);
    if (stored.ok()) {
      resume = stored->value_or(0);
      break;
    }
    if (attempt + 1 >= kReprocessingAttempts || halted()) {
      failure = "Reading reprocessing progress: " + stored.status().message();
      break;
    }
    pause(attempt);
  }

  for (const auto& range : ranges) {
    if (!failure.empty() || halted()) break;
    uint64_t from = std::max(range.first, resume);
    int attempt = 0;
    while (from < range.second && failure.empty() && !halted()) {
      size_t max =
          static_cast<size_t>(std::min<uint64_t>(options_.batch_max_messages, range.second - from));
      auto batch = channels_->Read(channel, from, max, options_.batch_max_bytes);
      if (!batch.ok()) {
        if (++attempt >= kReprocessingAttempts) {
          failure = "Reading channel " + channel + ": " + batch.status().message();
        } else {
          pause(attempt);
        }
        continue;
      }
      while (!batch->empty() && batch->back().offset >= range.second) batch->pop_back();
      if (batch->empty()) break;  // nothing (left) in range: retention or a dropped channel

      std::shared_ptr<const ActivityChain> chain;
      {
        MutexLock l(&p->mu);
        chain = p->chain;  // the current activities; source and sink stay the job's
      }
      ActivityContext ctx;
      ctx.things = things_;
      ctx.lambdas = lambdas_;
      ctx.lambda_timeout_ms = options_.lambda_timeout_ms;
      ctx.cancel = cancel.get();
      std::vector<DatastoreRow> rows = ProcessBatch(*chain, *batch, ctx);
      if (halted()) break;  // cancelled or stopping: the in-flight batch is not committed
      const uint64_t next = batch->back().offset + 1;
      Status st = datastores_->Append(datastore, key, rows, next);
      if (!st.ok()) {
        if (++attempt >= kReprocessingAttempts) {
          failure = "Appending to datastore " + datastore + ": " + st.message();
        } else {
          pause(attempt);
        }
        continue;
      }
      attempt = 0;
      from = next;
      resume = next;
      std::vector<Json> events;
      for (const LambdaFailure& f : ctx.lambda_failures) {
        events.push_back(FailureEvent(p->name, channel, f));
      }
      p->Account(batch->size(), /*reprocessing=*/true, rows.size(), ctx, std::move(events),
                 options_.max_failure_events, clock_->NowMicros());
    }
  }

  {
    MutexLock l(&p->mu);
    auto it = std::find_if(p->jobs.begin(), p->jobs.end(),
                           [&](const Job& j) { return j.summary.id == id; });
    // Already CANCELLED by CancelReprocessing, or the server is stopping (a RUNNING job
    // resumes at the next Start): leave it as it is.
    if (it != p->jobs.end() && it->summary.status == kRunning && !p->stop.load()) {
      it->summary.status = failure.empty() ? kSucceeded : kFailed;
      it->summary.message = failure;
      Status st = p->PersistJobs(env_, options_.state_dir, options_.max_reprocessing_summaries);
      if (!st.ok()) {
        p->last_error = "Saving reprocessing summaries: " + st.message();
        p->last_error_micros = clock_->NowMicros();
      }
      if (!failure.empty()) {
        p->last_error = "Reprocessing " + id + " failed: " + failure;
        p->last_error_micros = clock_->NowMicros();
      }
    }
  }
  p->cv.notify_all();
}

// ---------------------------------------------------------------------------------------
// RunPipelineActivity

Result<std::vector<nlohmann::json>> PipelineManager::RunActivity(
    const nlohmann::json& activity, const std::vector<std::string>& payloads, std::string* log) {
  static const char* const kRunnable[] = {
      "addAttributes", "removeAttributes", "selectAttributes",     "filter",
      "math",          "lambda",           "deviceRegistryEnrich", "deviceShadowEnrich"};
  if (!activity.is_object() || activity.size() != 1) {
    return Status::InvalidArgument("pipelineActivity must contain exactly one activity");
  }
  const std::string key = activity.begin().key();
  if (key == "channel" || key == "datastore") {
    return Status::InvalidArgument("RunPipelineActivity cannot run a '" + key +
                                   "' activity; only activities that transform messages can be "
                                   "run");
  }
  if (std::find(std::begin(kRunnable), std::end(kRunnable), key) == std::end(kRunnable)) {
    return Status::InvalidArgument("Unknown pipeline activity type '" + key + "'");
  }
  std::string sink;
  std::string* out_log = log != nullptr ? log : &sink;
  auto compiled = CompiledActivity::Compile(activity);
  if (!compiled.ok()) {
    *out_log = compiled.status().message();
    return std::vector<Json>{};
  }

  ActivityContext ctx;
  ctx.things = things_;
  ctx.lambdas = lambdas_;
  ctx.lambda_timeout_ms = options_.run_activity_lambda_timeout_ms;
  std::vector<Json> messages;
  for (size_t i = 0; i < payloads.size(); ++i) {
    Json m = DecodePayload(payloads[i]);
    if (compiled->kind() != CompiledActivity::Kind::kLambda && !m.is_object()) {
      ctx.Drop(kDropInvalidJson);
      ctx.Log("Payload " + std::to_string(i) +
              " is not a JSON object and was dropped (only a lambda activity accepts other "
              "payloads)");
      continue;
    }
    messages.push_back(std::move(m));
  }
  auto out = compiled->Apply(std::move(messages), ctx);
  *out_log = ctx.log;
  if (!out.ok()) return out.status();
  return std::move(out).value();
}

}  // namespace sluice::pipeline
