// In-memory fakes of the stores and services pipelines use, for unit tests only.
// Thread-safety: every fake may be called from any thread (one mutex each).
#pragma once

#include <algorithm>
#include <chrono>
#include <condition_variable>
#include <map>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include <nlohmann/json.hpp>

#include "channel/channel_store.h"
#include "common/clock.h"
#include "common/thread_annotations.h"
#include "datastore/datastore_store.h"
#include "pipeline/lambda.h"
#include "things/thing_registry.h"

namespace sluice::pipeline::testing {

class FakeChannelStore final : public ChannelStore {
 public:
  explicit FakeChannelStore(const Clock* clock) : clock_(clock) {}

  Status CreateChannel(const std::string& channel) override {
    MutexLock l(&mu_);
    channels_.try_emplace(channel);
    return Status::Ok();
  }
  Status DropChannel(const std::string& channel) override {
    {
      MutexLock l(&mu_);
      channels_.erase(channel);
    }
    cv_.notify_all();
    return Status::Ok();
  }
  Result<std::vector<uint64_t>> Append(const std::string& channel,
                                       std::vector<IncomingMessage> messages) override {
    std::vector<uint64_t> offsets;
    {
      MutexLock l(&mu_);
      auto it = channels_.find(channel);
      if (it == channels_.end()) return Status::NotFound("no channel " + channel);
      for (auto& m : messages) {
        ChannelMessage cm;
        cm.offset = it->second.size();
        cm.arrival_micros = clock_->NowMicros();
        cm.message_id = std::move(m.message_id);
        cm.payload = std::move(m.payload);
        offsets.push_back(cm.offset);
        it->second.push_back(std::move(cm));
      }
    }
    cv_.notify_all();
    return offsets;
  }
  // Convenience: append payloads with generated ids; returns the last offset.
  uint64_t Put(const std::string& channel, const std::vector<std::string>& payloads) {
    std::vector<IncomingMessage> in;
    for (const auto& p : payloads) in.push_back({"id" + std::to_string(next_id_++), p});
    auto r = Append(channel, std::move(in));
    return r.ok() && !r->empty() ? r->back() : 0;
  }

  Result<std::vector<ChannelMessage>> Read(const std::string& channel, uint64_t from_offset,
                                           size_t max_messages, size_t max_bytes) override {
    MutexLock l(&mu_);
    if (read_failures_ > 0) {
      --read_failures_;
      return Status::IoError("injected read failure");
    }
    auto it = channels_.find(channel);
    if (it == channels_.end()) return Status::NotFound("no channel " + channel);
    std::vector<ChannelMessage> out;
    size_t bytes = 0;
    for (uint64_t o = from_offset; o < it->second.size() && out.size() < max_messages; ++o) {
      if (!out.empty() && bytes + it->second[o].payload.size() > max_bytes) break;
      bytes += it->second[o].payload.size();
      out.push_back(it->second[o]);
    }
    return out;
  }
  Result<uint64_t> OffsetAtOrAfter(const std::string& channel, int64_t arrival_micros) override {
    MutexLock l(&mu_);
    auto it = channels_.find(channel);
    if (it == channels_.end()) return Status::NotFound("no channel " + channel);
    for (const auto& m : it->second) {
      if (m.arrival_micros >= arrival_micros) return m.offset;
    }
    return static_cast<uint64_t>(it->second.size());
  }
  Result<ChannelStats> Stats(const std::string& channel) override {
    MutexLock l(&mu_);
    auto it = channels_.find(channel);
    if (it == channels_.end()) return Status::NotFound("no channel " + channel);
    ChannelStats s;
    s.first_offset = 0;
    s.end_offset = it->second.size();
    return s;
  }
  Status ApplyRetention(const std::string&, int64_t) override { return Status::Ok(); }
  uint64_t WaitForData(const std::string& channel, uint64_t offset,
                       int64_t timeout_micros) override {
    auto deadline = std::chrono::steady_clock::now() + std::chrono::microseconds(timeout_micros);
    MutexLock l(&mu_);
    while (true) {
      auto it = channels_.find(channel);
      uint64_t end = it == channels_.end() ? 0 : it->second.size();
      if (end > offset || shutdown_ || std::chrono::steady_clock::now() >= deadline) return end;
      std::unique_lock<std::mutex> ul(mu_.native(), std::adopt_lock);
      cv_.wait_until(ul, deadline);
      ul.release();
    }
  }
  void Shutdown() override {
    {
      MutexLock l(&mu_);
      shutdown_ = true;
    }
    cv_.notify_all();
  }

  void FailReads(int n) {
    MutexLock l(&mu_);
    read_failures_ = n;
  }

 private:
  const Clock* clock_;
  Mutex mu_;
  std::condition_variable cv_;
  std::map<std::string, std::vector<ChannelMessage>> channels_ GUARDED_BY(mu_);
  bool shutdown_ GUARDED_BY(mu_) = false;
  int read_failures_ GUARDED_BY(mu_) = 0;
  int next_id_ = 0;
};

class FakeDatastoreStore final : public DatastoreStore {
 public:
  Status CreateDatastore(const std::string& name, const nlohmann::json&) override {
    MutexLock l(&mu_);
    rows_.try_emplace(name);
    return Status::Ok();
  }
  Status DropDatastore(const std::string& name) override {
    MutexLock l(&mu_);
    rows_.erase(name);
    return Status::Ok();
  }
  Status Append(const std::string& datastore, const std::string& pipeline,
                const std::vector<DatastoreRow>& rows, uint64_t next_offset) override {
    MutexLock l(&mu_);
    ++append_calls_;
    if (append_failures_ > 0) {
      --append_failures_;
      return Status::IoError("injected append failure (disk full)");
    }
    auto it = rows_.find(datastore);
    if (it == rows_.end()) return Status::NotFound("no datastore " + datastore);
    it->second.insert(it->second.end(), rows.begin(), rows.end());
    positions_[{datastore, pipeline}] = next_offset;
    return Status::Ok();
  }
  Result<std::optional<uint64_t>> Position(const std::string& datastore,
                                           const std::string& pipeline) override {
    MutexLock l(&mu_);
    if (rows_.count(datastore) == 0) return Status::NotFound("no datastore " + datastore);
    auto it = positions_.find({datastore, pipeline});
    if (it == positions_.end()) return std::optional<uint64_t>();
    return std::optional<uint64_t>(it->second);
  }
  Status SetPosition(const std::string& datastore, const std::string& pipeline,
                     uint64_t next_offset) override {
    MutexLock l(&mu_);
    if (rows_.count(datastore) == 0) return Status::NotFound("no datastore " + datastore);
    positions_[{datastore, pipeline}] = next_offset;
    return Status::Ok();
  }
  Result<DatastoreStats> Stats(const std::string& datastore) override {
    MutexLock l(&mu_);
    auto it = rows_.find(datastore);
    if (it == rows_.end()) return Status::NotFound("no datastore " + datastore);
    DatastoreStats s;
    s.rows = it->second.size();
    return s;
  }
  Status ApplyRetention(const std::string&, int64_t) override { return Status::Ok(); }
  Result<QueryResult> Query(const std::string&) override {
    return Status::Unavailable("no SQL in the fake");
  }

  std::vector<nlohmann::json> Rows(const std::string& datastore) {
    MutexLock l(&mu_);
    std::vector<nlohmann::json> out;
    auto it = rows_.find(datastore);
    if (it == rows_.end()) return out;
    for (const auto& r : it->second) out.push_back(r.attributes);
    return out;
  }
  std::vector<DatastoreRow> RawRows(const std::string& datastore) {
    MutexLock l(&mu_);
    auto it = rows_.find(datastore);
    return it == rows_.end() ? std::vector<DatastoreRow>{} : it->second;
  }
  void FailAppends(int n) {
    MutexLock l(&mu_);
    append_failures_ = n;
  }
  int append_calls() {
    MutexLock l(&mu_);
    return append_calls_;
  }

 private:
  Mutex mu_;
  std::map<std::string, std::vector<DatastoreRow>> rows_ GUARDED_BY(mu_);
  std::map<std::pair<std::string, std::string>, uint64_t> positions_ GUARDED_BY(mu_);
  int append_failures_ GUARDED_BY(mu_) = 0;
  int append_calls_ GUARDED_BY(mu_) = 0;
};

class FakeThingLookup final : public ThingLookup {
 public:
  void AddThing(const std::string& name, nlohmann::json describe) {
    MutexLock l(&mu_);
    things_[name] = std::move(describe);
  }
  void AddShadow(const std::string& name, nlohmann::json shadow) {
    MutexLock l(&mu_);
    shadows_[name] = std::move(shadow);
  }
  Result<std::optional<nlohmann::json>> DescribeThing(const std::string& name) override {
    MutexLock l(&mu_);
    auto it = things_.find(name);
    if (it == things_.end()) return std::optional<nlohmann::json>();
    return std::optional<nlohmann::json>(it->second);
  }
  Result<std::optional<nlohmann::json>> GetShadow(const std::string& name) override {
    MutexLock l(&mu_);
    if (name == "broken") return Status::IoError("registry unavailable");
    auto it = shadows_.find(name);
    if (it == shadows_.end()) return std::optional<nlohmann::json>();
    return std::optional<nlohmann::json>(it->second);
  }

 private:
  Mutex mu_;
  std::map<std::string, nlohmann::json> things_ GUARDED_BY(mu_);
  std::map<std::string, nlohmann::json> shadows_ GUARDED_BY(mu_);
};

// A lambda whose behaviour the test sets: it tags every message with "by": name, unless
// told to fail; can block until released (to keep a batch in flight).
class FakeLambdaInvoker final : public LambdaInvoker {
 public:
  Result<nlohmann::json> Invoke(const std::string& name, const nlohmann::json& messages, int64_t,
                                const std::atomic<bool>* cancel) override {
    MutexLock l(&mu_);
    ++calls_;
    batch_sizes_.push_back(messages.size());
    cv_.notify_all();
    while (blocked_) {
      if (cancel != nullptr && cancel->load()) return Status::Unavailable("cancelled");
      std::unique_lock<std::mutex> ul(mu_.native(), std::adopt_lock);
      cv_.wait_for(ul, std::chrono::milliseconds(20));
      ul.release();
    }
    if (failing_) return Status::Internal("Lambda function '" + name + "' exited with status 1");
    nlohmann::json out = nlohmann::json::array();
    for (const auto& m : messages) {
      if (m.is_string()) {
        out.push_back({{"decoded", m}, {"by", name}});
      } else {
        nlohmann::json c = m;
        if (c.is_object()) c["by"] = name;
        out.push_back(c);
      }
    }
    return out;
  }
  void SetFailing(bool f) {
    MutexLock l(&mu_);
    failing_ = f;
  }
  void SetBlocked(bool b) {
    {
      MutexLock l(&mu_);
      blocked_ = b;
    }
    cv_.notify_all();
  }
  // Waits until at least `n` calls have started.
  bool WaitForCalls(int n, int64_t timeout_ms) {
    auto deadline = std::chrono::steady_clock::now() + std::chrono::milliseconds(timeout_ms);
    MutexLock l(&mu_);
    while (calls_ < n) {
      if (std::chrono::steady_clock::now() >= deadline) return false;
      std::unique_lock<std::mutex> ul(mu_.native(), std::adopt_lock);
      cv_.wait_until(ul, deadline);
      ul.release();
    }
    return true;
  }
  std::vector<size_t> batch_sizes() {
    MutexLock l(&mu_);
    return batch_sizes_;
  }

 private:
  Mutex mu_;
  std::condition_variable cv_;
  bool failing_ GUARDED_BY(mu_) = false;
  bool blocked_ GUARDED_BY(mu_) = false;
  int calls_ GUARDED_BY(mu_) = 0;
  std::vector<size_t> batch_sizes_ GUARDED_BY(mu_);
};

}  // namespace sluice::pipeline::testing
