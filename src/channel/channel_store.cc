#include "channel/channel_store.h"

#include <dirent.h>
#include <fcntl.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <cerrno>
#include <chrono>
#include <climits>
#include <condition_variable>
#include <filesystem>
#include <map>
#include <system_error>
#include <thread>
#include <unordered_map>
#include <utility>

#include "channel/segment_format.h"
#include "common/thread_annotations.h"

namespace sluice {
namespace {

using channel_internal::AppendRecord;
using channel_internal::EncodedRecordSize;
using channel_internal::kMaxMessageIdBytes;
using channel_internal::kMaxRecordPayload;
using channel_internal::ParseSegmentFileName;
using channel_internal::RecordView;
using channel_internal::RestampRecord;
using channel_internal::ScanResult;
using channel_internal::SegmentFileName;
using channel_internal::SegmentScanner;

// A sparse index entry every this many bytes of a segment (and at its first record).
constexpr uint64_t kIndexInterval = 4096;
constexpr int64_t kMaxWaitMicros = 365LL * 24 * 3600 * 1000000;
constexpr char kTombstonePrefix[] = ".dropped-";
// Threads (committer included) that commit the channels of one group in parallel.
constexpr size_t kMaxCommitThreads = 8;

std::string ErrnoText(int err) { return std::error_code(err, std::generic_category()).message(); }

Status ErrnoStatus(const std::string& what, int err) {
  return Status::IoError(what + ": " + ErrnoText(err));
}

Status ValidateChannelName(const std::string& name) {
  if (name.empty() || name.size() > 255) {
    return Status::InvalidArgument("invalid channel name length");
  }
  for (char c : name) {
    bool ok =
        (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '_';
    if (!ok) return Status::InvalidArgument("invalid channel name: " + name);
  }
  return Status::Ok();
}

class PosixChannelFs final : public ChannelFs {
 public:
  Status Append(int fd, const char* data, size_t n) override {
    while (n > 0) {
      ssize_t w = ::write(fd, data, n);
      if (w < 0) {
        if (errno == EINTR) continue;
        return ErrnoStatus("write", errno);
      }
      data += w;
      n -= static_cast<size_t>(w);
    }
    return Status::Ok();
  }
  Status Sync(int fd) override {
    while (::fdatasync(fd) != 0) {
      if (errno != EINTR) return ErrnoStatus("fdatasync", errno);
    }
    return Status::Ok();
  }
};

// An open segment file; closed when the last holder (segment list, reader, committer)
// lets go.
struct SegmentFile {
  SegmentFile(int f, std::string p) : fd(f), path(std::move(p)) {}
  ~SegmentFile() {
    if (fd >= 0) ::close(fd);
  }
  SegmentFile(const SegmentFile&) = delete;
  SegmentFile& operator=(const SegmentFile&) = delete;
  const int fd;
  const std::string path;
};

struct IndexEntry {
  uint64_t offset;
  uint64_t pos;
  int64_t arrival;
};

struct Segment {
  uint64_t first_offset = 0;
  uint64_t end_offset = 0;  // exclusive; == first_offset when empty
  uint64_t size = 0;        // bytes of whole, synced records
  std::optional<int64_t> first_arrival;
  std::optional<int64_t> last_arrival;  // known once indexed
  bool indexed = false;
  std::vector<IndexEntry> index;  // sparse, by offset (and arrival: arrival is monotonic)
  std::shared_ptr<SegmentFile> file;
};

struct Channel {
  Channel(std::string n, std::string d) : name(std::move(n)), dir(std::move(d)) {}
  const std::string name;
  const std::string dir;

  // Reservation of offsets/arrival times for records not yet committed. Appenders hold it
  // while encoding and enqueueing, so the queue is in reservation order.
  Mutex append_mu;
  uint64_t reserved_next GUARDED_BY(append_mu) = 0;
  int64_t reserved_arrival GUARDED_BY(append_mu) = INT64_MIN;

  // Published state.
  Mutex mu;
  std::condition_variable_any cv;                // end_offset grew, dropped, or shutdown
  std::vector<Segment> segments GUARDED_BY(mu);  // never empty; back() is active
  uint64_t end_offset GUARDED_BY(mu) = 0;
  std::optional<int64_t> last_arrival GUARDED_BY(mu);
  bool dropped GUARDED_BY(mu) = false;
  // The active segment may hold bytes past its size (a failed truncate); the committer
  // truncates before writing again.
  bool needs_repair GUARDED_BY(mu) = false;
};

struct AppendRequest {
  std::shared_ptr<Channel> channel;
  std::string data;  // encoded records back to back
  std::vector<uint32_t> record_sizes;
  uint64_t stamped_base = 0;  // offset of the first record as encoded
  int64_t arrival = 0;
  // Written by the committer before it sets `done` under the store mutex; read by the
  // appender after it sees `done` under that mutex.
  Status status;
  uint64_t base = 0;
  bool done = false;
};

struct SegmentScanInfo {
  std::vector<IndexEntry> index;
  uint64_t end_offset = 0;
  uint64_t valid_size = 0;  // end of the last good record
  std::optional<int64_t> first_arrival;
  std::optional<int64_t> last_arrival;
  bool clean = false;  // every byte up to the limit is a good, consecutive record
};

// Scans a whole segment from position 0, stopping at the first torn, corrupt or
// out-of-sequence record.
Result<SegmentScanInfo> ScanSegment(int fd, uint64_t first_offset, uint64_t limit) {
  SegmentScanInfo info;
  info.end_offset = first_offset;
  SegmentScanner sc(fd, 0, limit);
  for (;;) {
    RecordView rec;
    ASSIGN_OR_RETURN(ScanResult r, sc.Next(&rec));
    if (r == ScanResult::kEnd) {
      info.clean = true;
      break;
    }
    if (r != ScanResult::kRecord || rec.offset != info.end_offset) break;
    if (info.index.empty() || sc.record_pos() - info.index.back().pos >= kIndexInterval) {
      info.index.push_back({rec.offset, sc.record_pos(), rec.arrival_micros});
    }
    if (!info.first_arrival) info.first_arrival = rec.arrival_micros;
    info.last_arrival = rec.arrival_micros;
    info.end_offset = rec.offset + 1;
    info.valid_size = sc.pos();
  }
  return info;
}

// Index of the last segment whose first offset is <= offset (0 if none).
size_t FindSegment(const std::vector<Segment>& segs, uint64_t offset) {
  auto it = std::upper_bound(segs.begin(), segs.end(), offset,
                             [](uint64_t o, const Segment& s) { return o < s.first_offset; });
  return it == segs.begin() ? 0 : static_cast<size_t>(it - segs.begin()) - 1;
}

class ChannelStoreImpl final : public ChannelStore {
 public:
  ChannelStoreImpl(std::string dir, const Clock* clock, ChannelStoreOptions opts, ChannelFs* fs)
      : dir_(std::move(dir)), clock_(clock), opts_(opts), fs_(fs) {
    if (opts_.segment_bytes == 0) opts_.segment_bytes = 1;
  }

  ~ChannelStoreImpl() override {
    Shutdown();
    if (lock_fd_ >= 0) ::close(lock_fd_);
  }

  Status Init();

  Status CreateChannel(const std::string& channel) override;
  Status DropChannel(const std::string& channel) override;
  Result<std::vector<uint64_t>> Append(const std::string& channel,
                                       std::vector<IncomingMessage> messages) override;
  Result<std::vector<ChannelMessage>> Read(const std::string& channel, uint64_t from_offset,
                                           size_t max_messages, size_t max_bytes) override;
  Result<uint64_t> OffsetAtOrAfter(const std::string& channel, int64_t arrival_micros) override;
  Result<ChannelStats> Stats(const std::string& channel) override;
  Status ApplyRetention(const std::string& channel, int64_t cutoff_micros) override;
  uint64_t WaitForData(const std::string& channel, uint64_t offset,
                       int64_t timeout_micros) override;
  void Shutdown() override;
  ChannelStoreMetrics Metrics() override;

 private:
  std::string ChannelDir(const std::string& name) const { return dir_ + "/" + name; }
  Result<std::shared_ptr<Channel>> Find(const std::string& channel) EXCLUDES(mu_);
  Result<std::shared_ptr<Channel>> LoadChannel(const std::string& name);
  Result<std::shared_ptr<SegmentFile>> CreateSegmentFile(const std::string& dir, uint64_t first);
  Status Sync(int fd);
  Status SyncDir(const std::string& path);
  // Builds the sparse index of a non-active segment (verifying every record).
  Status EnsureIndexed(Channel* ch, uint64_t seg_first) EXCLUDES(ch->mu);
  // First offset in the segment whose arrival is >= t, if any.
  Result<std::optional<uint64_t>> SearchSegment(Channel* ch, uint64_t seg_first, int64_t t)
      EXCLUDES(ch->mu);

  void CommitterLoop() EXCLUDES(mu_, commit_mu_);
  // Called by the committer (and its per-group helpers) while the committer holds
  // commit_mu_; each channel of a group is committed by exactly one thread.
  void CommitGroups(const std::vector<std::pair<Channel*, std::vector<AppendRequest*>>>& groups)
      REQUIRES(commit_mu_);
  void CommitChannel(Channel* ch, const std::vector<AppendRequest*>& reqs);
  void FailRequests(Channel* ch, const std::vector<AppendRequest*>& reqs, const Status& st,
                    bool release_reservation);

  const std::string dir_;
  const Clock* const clock_;
  ChannelStoreOptions opts_;
  ChannelFs* const fs_;
  int lock_fd_ = -1;

  // Serializes the committer's writes with directory changes (create/drop).
  Mutex commit_mu_;

  Mutex mu_;
  std::map<std::string, std::shared_ptr<Channel>> channels_ GUARDED_BY(mu_);
  std::vector<std::shared_ptr<AppendRequest>> queue_ GUARDED_BY(mu_);
  bool shutdown_ GUARDED_BY(mu_) = false;
  uint64_t tombstone_seq_ GUARDED_BY(mu_) = 0;
  std::condition_variable_any work_cv_;  // queue_ non-empty or shutdown_
  std::condition_variable_any done_cv_;  // some request finished
  std::atomic<bool> shutdown_flag_{false};

  Mutex shutdown_mu_;  // serializes joining the committer
  std::thread committer_;

  std::atomic<uint64_t> m_appends_{0}, m_records_{0}, m_failed_{0}, m_groups_{0}, m_syncs_{0};
};

Status ChannelStoreImpl::Sync(int fd) {
  if (!opts_.sync) return Status::Ok();
  m_syncs_.fetch_add(1, std::memory_order_relaxed);
  return fs_->Sync(fd);
}

Status ChannelStoreImpl::SyncDir(const std::string& path) {
  if (!opts_.sync) return Status::Ok();
  int fd = ::open(path.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  if (fd < 0) return ErrnoStatus("open directory " + path, errno);
  Status st = Sync(fd);
  ::close(fd);
  return st;
}

Result<std::shared_ptr<SegmentFile>> ChannelStoreImpl::CreateSegmentFile(const std::string& dir,
                                                                         uint64_t first) {
  std::string path = dir + "/" + SegmentFileName(first);
  int fd = ::open(path.c_str(), O_RDWR | O_APPEND | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
  if (fd < 0) return ErrnoStatus("create " + path, errno);
  return std::make_shared<SegmentFile>(fd, path);
}

Status ChannelStoreImpl::Init() {
  std::error_code ec;
  std::filesystem::create_directories(dir_, ec);
  if (ec) return Status::IoError("create directory " + dir_ + ": " + ec.message());
  std::string lock_path = dir_ + "/LOCK";
  lock_fd_ = ::open(lock_path.c_str(), O_RDWR | O_CREAT | O_CLOEXEC, 0644);
  if (lock_fd_ < 0) return ErrnoStatus("open " + lock_path, errno);
  if (::flock(lock_fd_, LOCK_EX | LOCK_NB) != 0) {
    if (errno == EWOULDBLOCK) {
      return Status::Unavailable("channel store " + dir_ + " is in use by another process");
    }
    return ErrnoStatus("lock " + lock_path, errno);
  }

  std::vector<std::string> names;
  std::vector<std::string> tombstones;
  for (std::filesystem::directory_iterator it(dir_, ec), end; !ec && it != end; it.increment(ec)) {
    std::error_code tec;
    if (!it->is_directory(tec)) continue;
    std::string name = it->path().filename().string();
    if (name.rfind(kTombstonePrefix, 0) == 0) {
      tombstones.push_back(it->path().string());
    } else if (ValidateChannelName(name).ok()) {
      names.push_back(name);
    }
  }
  if (ec) return Status::IoError("list " + dir_ + ": " + ec.message());
  for (const std::string& t : tombstones) std::filesystem::remove_all(t, ec);  // best effort

  std::map<std::string, std::shared_ptr<Channel>> loaded;
  for (const std::string& name : names) {
    ASSIGN_OR_RETURN(std::shared_ptr<Channel> ch, LoadChannel(name));
    loaded[name] = std::move(ch);
  }
  {
    MutexLock l(&mu_);
    channels_ = std::move(loaded);
  }
  committer_ = std::thread([this] { CommitterLoop(); });
  return Status::Ok();
}

Result<std::shared_ptr<Channel>> ChannelStoreImpl::LoadChannel(const std::string& name) {
  auto ch = std::make_shared<Channel>(name, ChannelDir(name));
  std::vector<uint64_t> firsts;
  DIR* d = ::opendir(ch->dir.c_str());
  if (d == nullptr) return ErrnoStatus("open directory " + ch->dir, errno);
  while (struct dirent* e = ::readdir(d)) {
    uint64_t first;
    if (ParseSegmentFileName(e->d_name, &first)) firsts.push_back(first);
  }
  ::closedir(d);
  std::sort(firsts.begin(), firsts.end());

  std::vector<Segment> segs;
  if (firsts.empty()) {
    // Crashed while creating the channel.
    ASSIGN_OR_RETURN(std::shared_ptr<SegmentFile> f, CreateSegmentFile(ch->dir, 0));
    RETURN_IF_ERROR(Sync(f->fd));
    RETURN_IF_ERROR(SyncDir(ch->dir));
    Segment s;
    s.indexed = true;
    s.file = std::move(f);
    segs.push_back(std::move(s));
  }
  for (size_t i = 0; i < firsts.size(); ++i) {
    std::string path = ch->dir + "/" + SegmentFileName(firsts[i]);
    int fd = ::open(path.c_str(), O_RDWR | O_APPEND | O_CLOEXEC);
    if (fd < 0) return ErrnoStatus("open " + path, errno);
    auto file = std::make_shared<SegmentFile>(fd, path);
    struct stat st;
    if (::fstat(fd, &st) != 0) return ErrnoStatus("stat " + path, errno);
    uint64_t file_size = static_cast<uint64_t>(st.st_size);
    Segment s;
    s.first_offset = firsts[i];
    s.file = file;
    if (i + 1 < firsts.size()) {
      // Trusted; verified when first indexed. Only the first record is read now.
      s.end_offset = firsts[i + 1];
      s.size = file_size;
      SegmentScanner sc(fd, 0, file_size);
      RecordView rec;
      Result<ScanResult> r = sc.Next(&rec);
      if (r.ok() && *r == ScanResult::kRecord && rec.offset == s.first_offset) {
        s.first_arrival = rec.arrival_micros;
      }
    } else {
      ASSIGN_OR_RETURN(SegmentScanInfo info, ScanSegment(fd, s.first_offset, file_size));
      if (info.valid_size < file_size) {
        // A torn or corrupt tail: never acknowledged. Cut it off durably.
        if (::ftruncate(fd, static_cast<off_t>(info.valid_size)) != 0) {
          return ErrnoStatus("truncate " + path, errno);
        }
        RETURN_IF_ERROR(Sync(fd));
      }
      s.end_offset = info.end_offset;
      s.size = info.valid_size;
      s.first_arrival = info.first_arrival;
      s.last_arrival = info.last_arrival;
      s.index = std::move(info.index);
      s.indexed = true;
    }
    segs.push_back(std::move(s));
  }

  // An empty active segment: the newest arrival time is in the previous segment.
  if (!segs.back().last_arrival && segs.size() > 1) {
    Segment& prev = segs[segs.size() - 2];
    ASSIGN_OR_RETURN(SegmentScanInfo info,
                     ScanSegment(prev.file->fd, prev.first_offset, prev.size));
    if (info.clean && info.end_offset == prev.end_offset) {
      prev.first_arrival = info.first_arrival;
      prev.last_arrival = info.last_arrival;
      prev.index = std::move(info.index);
      prev.indexed = true;
    }
    // Otherwise the damage is reported (kCorruption) by reads of that segment; the channel
    // stays writable.
  }

  std::optional<int64_t> last_arrival;
  for (auto it = segs.rbegin(); it != segs.rend() && !last_arrival; ++it) {
    last_arrival = it->last_arrival;
  }
  uint64_t end = segs.back().end_offset;
  {
    MutexLock l(&ch->mu);
    ch->segments = std::move(segs);
    ch->end_offset = end;
    ch->last_arrival = last_arrival;
  }
  {
    MutexLock l(&ch->append_mu);
    ch->reserved_next = end;
    ch->reserved_arrival = last_arrival.value_or(INT64_MIN);
  }
  return ch;
}

Result<std::shared_ptr<Channel>> ChannelStoreImpl::Find(const std::string& channel) {
  RETURN_IF_ERROR(ValidateChannelName(channel));
  MutexLock l(&mu_);
  auto it = channels_.find(channel);
  if (it == channels_.end()) return Status::NotFound("channel not found: " + channel);
  return it->second;
}

Status ChannelStoreImpl::CreateChannel(const std::string& channel) {
  RETURN_IF_ERROR(ValidateChannelName(channel));
  MutexLock cl(&commit_mu_);
  {
    MutexLock l(&mu_);
    if (shutdown_) return Status::Unavailable("channel store is shut down");
    if (channels_.count(channel) != 0) return Status::Ok();
  }
  std::string cdir = ChannelDir(channel);
  if (::mkdir(cdir.c_str(), 0755) != 0 && errno != EEXIST) {
    return ErrnoStatus("create directory " + cdir, errno);
  }
  // LoadChannel creates segment 0 in an empty directory and recovers a leftover one.
  ASSIGN_OR_RETURN(std::shared_ptr<Channel> ch, LoadChannel(channel));
  RETURN_IF_ERROR(SyncDir(dir_));
  MutexLock l(&mu_);
  channels_[channel] = std::move(ch);
  return Status::Ok();
}

Status ChannelStoreImpl::DropChannel(const std::string& channel) {
  RETURN_IF_ERROR(ValidateChannelName(channel));
  MutexLock cl(&commit_mu_);
  std::shared_ptr<Channel> ch;
  std::string tomb;
  {
    MutexLock l(&mu_);
    auto it = channels_.find(channel);
    if (it != channels_.end()) ch = it->second;
    tomb = dir_ + "/" + kTombstonePrefix + channel + "-" + std::to_string(tombstone_seq_++);
  }
  std::string cdir = ChannelDir(channel);
  bool renamed = false;
  if (::rename(cdir.c_str(), tomb.c_str()) == 0) {
    renamed = true;
  } else if (errno != ENOENT) {
    return ErrnoStatus("rename " + cdir, errno);
  }
  if (renamed) RETURN_IF_ERROR(SyncDir(dir_));
  if (ch) {
    {
      MutexLock l(&mu_);
      channels_.erase(channel);
    }
    MutexLock l(&ch->mu);
    ch->dropped = true;
    ch->cv.notify_all();
  }
  if (renamed) {
    std::error_code ec;
    std::filesystem::remove_all(tomb, ec);  // a leftover tombstone is removed on next Open
  }
  return Status::Ok();
}

Result<std::vector<uint64_t>> ChannelStoreImpl::Append(const std::string& channel,
                                                       std::vector<IncomingMessage> messages) {
  ASSIGN_OR_RETURN(std::shared_ptr<Channel> ch, Find(channel));
  size_t total = 0;
  for (const IncomingMessage& m : messages) {
    if (m.message_id.size() > kMaxMessageIdBytes) {
      return Status::InvalidArgument("message id longer than 65535 bytes");
    }
    if (m.payload.size() > kMaxRecordPayload) {
      return Status::InvalidArgument("message payload too large");
    }
    total += EncodedRecordSize(m.message_id.size(), m.payload.size());
  }
  {
    MutexLock l(&mu_);
    if (shutdown_) return Status::Unavailable("channel store is shut down");
  }
  if (messages.empty()) return std::vector<uint64_t>{};

  auto req = std::make_shared<AppendRequest>();
  req->channel = ch;
  req->data.reserve(total);
  req->record_sizes.reserve(messages.size());
  {
    MutexLock al(&ch->append_mu);
    int64_t arrival = std::max(clock_->NowMicros(), ch->reserved_arrival);
    ch->reserved_arrival = arrival;
    req->arrival = arrival;
    req->stamped_base = ch->reserved_next;
    ch->reserved_next += messages.size();
    uint64_t off = req->stamped_base;
    for (const IncomingMessage& m : messages) {
      size_t before = req->data.size();
      AppendRecord(&req->data, off++, arrival, m.message_id, m.payload);
      req->record_sizes.push_back(static_cast<uint32_t>(req->data.size() - before));
    }
    MutexLock l(&mu_);
    if (shutdown_) {
      ch->reserved_next -= messages.size();
      return Status::Unavailable("channel store is shut down");
    }
    queue_.push_back(req);
    work_cv_.notify_one();
  }
  {
    MutexLock l(&mu_);
    while (!req->done) done_cv_.wait(mu_);
  }
  if (!req->status.ok()) return req->status;
  std::vector<uint64_t> offsets(messages.size());
  for (size_t i = 0; i < offsets.size(); ++i) offsets[i] = req->base + i;
  return offsets;
}

void ChannelStoreImpl::CommitterLoop() {
  for (;;) {
    std::vector<std::shared_ptr<AppendRequest>> batch;
    {
      MutexLock l(&mu_);
      while (queue_.empty() && !shutdown_) work_cv_.wait(mu_);
      if (queue_.empty()) return;  // shut down and drained
      batch.swap(queue_);
    }
    m_groups_.fetch_add(1, std::memory_order_relaxed);
    {
      MutexLock cl(&commit_mu_);
      // Group by channel, keeping queue order within each channel.
      std::vector<std::pair<Channel*, std::vector<AppendRequest*>>> groups;
      std::unordered_map<Channel*, size_t> slot;
      for (const auto& r : batch) {
        auto [it, inserted] = slot.emplace(r->channel.get(), groups.size());
        if (inserted) groups.push_back({r->channel.get(), {}});
        groups[it->second].second.push_back(r.get());
      }
      CommitGroups(groups);
    }
    MutexLock l(&mu_);
    for (const auto& r : batch) r->done = true;
    done_cv_.notify_all();
  }
}

void ChannelStoreImpl::CommitGroups(
    const std::vector<std::pair<Channel*, std::vector<AppendRequest*>>>& groups) {
  // Each channel has its own files, so their fdatasyncs are independent: with several
  // channels in one group, helpers commit channels in parallel (the filesystem can merge
  // concurrent syncs into one journal commit). Each channel is still handled by exactly
  // one thread, and the committer waits for all of them before acknowledging.
  std::atomic<size_t> next{0};
  auto work = [this, &groups, &next] {
    for (size_t i; (i = next.fetch_add(1)) < groups.size();) {
      CommitChannel(groups[i].first, groups[i].second);
    }
  };
  std::vector<std::thread> helpers;
  size_t want = std::min(groups.size(), kMaxCommitThreads) - 1;
  for (size_t h = 0; h < want; ++h) {
    try {
      helpers.emplace_back(work);
    } catch (const std::system_error&) {
      break;  // out of threads: the committer does the rest itself
    }
  }
  work();
  for (std::thread& t : helpers) t.join();
}

void ChannelStoreImpl::FailRequests(Channel* ch, const std::vector<AppendRequest*>& reqs,
                                    const Status& st, bool release_reservation) {
  uint64_t n = 0;
  for (AppendRequest* r : reqs) {
    r->status = st;
    n += r->record_sizes.size();
  }
  m_failed_.fetch_add(reqs.size(), std::memory_order_relaxed);
  if (release_reservation) {
    // Later requests (already queued with higher offsets) are re-stamped by the committer;
    // new ones reserve from the corrected counter.
    MutexLock al(&ch->append_mu);
    ch->reserved_next -= n;
  }
}

void ChannelStoreImpl::CommitChannel(Channel* ch, const std::vector<AppendRequest*>& reqs) {
  struct Chunk {
    std::shared_ptr<SegmentFile> file;  // null until a new segment is created
    bool is_new = false;
    uint64_t first_offset = 0;  // of the segment
    uint64_t start_size = 0;
    uint64_t size = 0;
    uint64_t end_offset = 0;
    std::vector<std::string_view> pieces;
    std::vector<IndexEntry> index;
    std::optional<int64_t> first_arrival, last_arrival;
  };

  std::vector<Chunk> chunks(1);
  std::optional<uint64_t> last_index_pos;
  uint64_t next;
  bool repair;
  {
    MutexLock l(&ch->mu);
    if (ch->dropped) {
      FailRequests(ch, reqs, Status::NotFound("channel not found: " + ch->name), false);
      return;
    }
    const Segment& a = ch->segments.back();
    chunks[0].file = a.file;
    chunks[0].first_offset = a.first_offset;
    chunks[0].start_size = chunks[0].size = a.size;
    chunks[0].end_offset = a.end_offset;
    if (!a.index.empty()) last_index_pos = a.index.back().pos;
    next = ch->end_offset;
    repair = ch->needs_repair;
  }
  const std::string prefix = "channel " + ch->name + ": ";
  if (repair) {
    if (::ftruncate(chunks[0].file->fd, static_cast<off_t>(chunks[0].start_size)) != 0) {
      FailRequests(ch, reqs, ErrnoStatus(prefix + "truncate " + chunks[0].file->path, errno), true);
      return;
    }
    MutexLock l(&ch->mu);
    ch->needs_repair = false;
  }

  // Plan: assign final offsets (re-stamping requests queued before an earlier failure) and
  // split the records into per-segment chunks.
  for (AppendRequest* r : reqs) {
    r->base = next;
    bool restamp = r->stamped_base != next;
    size_t p = 0;
    for (uint32_t s : r->record_sizes) {
      char* rec = r->data.data() + p;
      if (restamp) RestampRecord(rec, s, next, r->arrival);
      if (chunks.back().size >= opts_.segment_bytes && chunks.back().size > 0) {
        Chunk c;
        c.is_new = true;
        c.first_offset = next;
        c.end_offset = next;
        chunks.push_back(std::move(c));
        last_index_pos.reset();
      }
      Chunk& c = chunks.back();
      if (!c.pieces.empty() && c.pieces.back().data() + c.pieces.back().size() == rec) {
        c.pieces.back() = std::string_view(c.pieces.back().data(), c.pieces.back().size() + s);
      } else {
        c.pieces.emplace_back(rec, s);
      }
      if (!last_index_pos || c.size - *last_index_pos >= kIndexInterval) {
        c.index.push_back({next, c.size, r->arrival});
        last_index_pos = c.size;
      }
      if (!c.first_arrival) c.first_arrival = r->arrival;
      c.last_arrival = r->arrival;
      c.size += s;
      ++next;
      c.end_offset = next;
      p += s;
    }
  }

  // Write: one write() and one fdatasync per segment, in order; a new segment is created
  // only after the previous one is durable.
  Status st;
  std::string buf;
  for (Chunk& c : chunks) {
    if (c.pieces.empty()) continue;
    if (c.is_new) {
      Result<std::shared_ptr<SegmentFile>> f = CreateSegmentFile(ch->dir, c.first_offset);
      if (!f.ok()) {
        st = f.status();
        break;
      }
      c.file = std::move(f).value();
    }
    const char* data = c.pieces[0].data();
    size_t n = c.pieces[0].size();
    if (c.pieces.size() > 1) {
      buf.clear();
      for (std::string_view piece : c.pieces) buf.append(piece);
      data = buf.data();
      n = buf.size();
    }
    st = fs_->Append(c.file->fd, data, n);
    if (st.ok()) st = Sync(c.file->fd);
    if (st.ok() && c.is_new) st = SyncDir(ch->dir);
    if (!st.ok()) break;
  }

  if (!st.ok()) {
    // Undo: nothing of this group may remain, on disk or in memory.
    bool removed_any = false;
    for (Chunk& c : chunks) {
      if (!c.file) continue;
      if (c.is_new) {
        ::unlink(c.file->path.c_str());
        removed_any = true;
      } else if (::ftruncate(c.file->fd, static_cast<off_t>(c.start_size)) != 0) {
        MutexLock l(&ch->mu);
        ch->needs_repair = true;
      } else {
        (void)Sync(c.file->fd);  // best effort: keep the cut durable
      }
    }
    if (removed_any) (void)SyncDir(ch->dir);
    FailRequests(ch, reqs, Status::IoError(prefix + st.message()), true);
    return;
  }

  // Publish: readers and waiters see the records only now.
  {
    MutexLock l(&ch->mu);
    for (Chunk& c : chunks) {
      if (!c.is_new) {
        Segment& a = ch->segments.back();
        a.size = c.size;
        a.end_offset = c.end_offset;
        a.index.insert(a.index.end(), c.index.begin(), c.index.end());
        if (!a.first_arrival) a.first_arrival = c.first_arrival;
        if (c.last_arrival) a.last_arrival = c.last_arrival;
        continue;
      }
      Segment s;
      s.first_offset = c.first_offset;
      s.end_offset = c.end_offset;
      s.size = c.size;
      s.first_arrival = c.first_arrival;
      s.last_arrival = c.last_arrival;
      s.indexed = true;
      s.index = std::move(c.index);
      s.file = std::move(c.file);
      ch->segments.push_back(std::move(s));
    }
    ch->end_offset = next;
    ch->last_arrival = reqs.back()->arrival;
    ch->cv.notify_all();
  }
  uint64_t records = 0;
  for (AppendRequest* r : reqs) {
    r->status = Status::Ok();
    records += r->record_sizes.size();
  }
  m_appends_.fetch_add(reqs.size(), std::memory_order_relaxed);
  m_records_.fetch_add(records, std::memory_order_relaxed);
}

Status ChannelStoreImpl::EnsureIndexed(Channel* ch, uint64_t seg_first) {
  std::shared_ptr<SegmentFile> file;
  uint64_t size, end;
  {
    MutexLock l(&ch->mu);
    size_t i = FindSegment(ch->segments, seg_first);
    const Segment& s = ch->segments[i];
    if (s.first_offset != seg_first || s.indexed) return Status::Ok();  // gone or done
    file = s.file;
    size = s.size;
    end = s.end_offset;
  }
  ASSIGN_OR_RETURN(SegmentScanInfo info, ScanSegment(file->fd, seg_first, size));
  if (!info.clean || info.end_offset != end) {
    return Status::Corruption("channel " + ch->name + ": segment " + file->path +
                              " is damaged near offset " + std::to_string(info.end_offset));
  }
  MutexLock l(&ch->mu);
  size_t i = FindSegment(ch->segments, seg_first);
  Segment& s = ch->segments[i];
  if (s.first_offset == seg_first && !s.indexed) {
    s.index = std::move(info.index);
    s.first_arrival = info.first_arrival;
    s.last_arrival = info.last_arrival;
    s.indexed = true;
  }
  return Status::Ok();
}

Result<std::vector<ChannelMessage>> ChannelStoreImpl::Read(const std::string& channel,
                                                           uint64_t from_offset,
                                                           size_t max_messages, size_t max_bytes) {
  ASSIGN_OR_RETURN(std::shared_ptr<Channel> ch, Find(channel));
  std::vector<ChannelMessage> out;
  if (max_messages == 0) return out;
  size_t bytes = 0;
  uint64_t next = from_offset;
  for (;;) {
    std::shared_ptr<SegmentFile> file;
    uint64_t pos = 0, limit = 0, seg_end = 0, expect = 0, seg_first = 0;
    bool need_index = false;
    {
      MutexLock l(&ch->mu);
      if (ch->dropped) return Status::NotFound("channel not found: " + channel);
      next = std::max(next, ch->segments.front().first_offset);
      if (next >= ch->end_offset) return out;
      const Segment& s = ch->segments[FindSegment(ch->segments, next)];
      seg_first = s.first_offset;
      if (!s.indexed) {
        need_index = true;
      } else {
        auto it = std::upper_bound(s.index.begin(), s.index.end(), next,
                                   [](uint64_t o, const IndexEntry& e) { return o < e.offset; });
        if (it == s.index.begin()) {
          pos = 0;
          expect = s.first_offset;
        } else {
          --it;
          pos = it->pos;
          expect = it->offset;
        }
        file = s.file;
        limit = s.size;
        seg_end = s.end_offset;
      }
    }
    if (need_index) {
      RETURN_IF_ERROR(EnsureIndexed(ch.get(), seg_first));
      continue;
    }
    SegmentScanner sc(file->fd, pos, limit);
    for (;;) {
      RecordView rec;
      ASSIGN_OR_RETURN(ScanResult r, sc.Next(&rec));
      if (r == ScanResult::kEnd) break;
      if (r != ScanResult::kRecord || rec.offset != expect) {
        return Status::Corruption("channel " + channel + ": unreadable record at offset " +
                                  std::to_string(expect) + " in " + file->path);
      }
      ++expect;
      if (rec.offset < next) continue;
      if (!out.empty() && bytes + rec.payload.size() > max_bytes) return out;
      bytes += rec.payload.size();
      ChannelMessage m;
      m.offset = rec.offset;
      m.arrival_micros = rec.arrival_micros;
      m.message_id = std::string(rec.message_id);
      m.payload = std::string(rec.payload);
      out.push_back(std::move(m));
      next = rec.offset + 1;
      if (out.size() >= max_messages) return out;
    }
    if (expect != seg_end) {
      return Status::Corruption("channel " + channel + ": segment " + file->path +
                                " ends at offset " + std::to_string(expect) + ", expected " +
                                std::to_string(seg_end));
    }
    next = seg_end;
  }
}

Result<std::optional<uint64_t>> ChannelStoreImpl::SearchSegment(Channel* ch, uint64_t seg_first,
                                                                int64_t t) {
  std::shared_ptr<SegmentFile> file;
  uint64_t pos = 0, limit = 0;
  {
    MutexLock l(&ch->mu);
    const Segment& s = ch->segments[FindSegment(ch->segments, seg_first)];
    if (s.first_offset != seg_first) return std::optional<uint64_t>();  // removed by retention
    // Last index entry that arrived before t (arrival times are monotonic).
    auto it = std::partition_point(s.index.begin(), s.index.end(),
                                   [t](const IndexEntry& e) { return e.arrival < t; });
    if (it != s.index.begin()) pos = std::prev(it)->pos;
    file = s.file;
    limit = s.size;
  }
  SegmentScanner sc(file->fd, pos, limit);
  for (;;) {
    RecordView rec;
    ASSIGN_OR_RETURN(ScanResult r, sc.Next(&rec));
    if (r == ScanResult::kEnd) return std::optional<uint64_t>();
    if (r != ScanResult::kRecord) {
      return Status::Corruption("channel " + ch->name + ": unreadable record in " + file->path);
    }
    if (rec.arrival_micros >= t) return std::optional<uint64_t>(rec.offset);
  }
}

Result<uint64_t> ChannelStoreImpl::OffsetAtOrAfter(const std::string& channel,
                                                   int64_t arrival_micros) {
  ASSIGN_OR_RETURN(std::shared_ptr<Channel> ch, Find(channel));
  struct Snap {
    uint64_t first, end;
    std::optional<int64_t> first_arrival;
    bool indexed;
  };
  for (;;) {
    std::vector<Snap> snaps;
    uint64_t end;
    {
      MutexLock l(&ch->mu);
      if (ch->dropped) return Status::NotFound("channel not found: " + channel);
      for (const Segment& s : ch->segments) {
        snaps.push_back({s.first_offset, s.end_offset, s.first_arrival, s.indexed});
      }
      end = ch->end_offset;
    }
    bool restart = false;
    for (size_t i = 0; i < snaps.size(); ++i) {
      const Snap& s = snaps[i];
      // Every record of segment i is <= the next segment's first arrival.
      if (i + 1 < snaps.size() && snaps[i + 1].first_arrival &&
          *snaps[i + 1].first_arrival < arrival_micros) {
        continue;
      }
      if (s.first == s.end) continue;
      if (s.first_arrival && *s.first_arrival >= arrival_micros) return s.first;
      if (!s.indexed) {
        RETURN_IF_ERROR(EnsureIndexed(ch.get(), s.first));
        restart = true;
        break;
      }
      ASSIGN_OR_RETURN(std::optional<uint64_t> found,
                       SearchSegment(ch.get(), s.first, arrival_micros));
      if (found) return *found;
    }
    if (!restart) return end;
  }
}

Result<ChannelStats> ChannelStoreImpl::Stats(const std::string& channel) {
  ASSIGN_OR_RETURN(std::shared_ptr<Channel> ch, Find(channel));
  MutexLock l(&ch->mu);
  if (ch->dropped) return Status::NotFound("channel not found: " + channel);
  ChannelStats st;
  st.first_offset = ch->segments.front().first_offset;
  st.end_offset = ch->end_offset;
  for (const Segment& s : ch->segments) st.size_bytes += s.size;
  st.last_arrival_micros = ch->last_arrival;
  return st;
}

Status ChannelStoreImpl::ApplyRetention(const std::string& channel, int64_t cutoff_micros) {
  ASSIGN_OR_RETURN(std::shared_ptr<Channel> ch, Find(channel));
  std::vector<std::shared_ptr<SegmentFile>> removed;
  for (;;) {
    std::optional<uint64_t> index_first;
    {
      MutexLock l(&ch->mu);
      if (ch->dropped) return Status::NotFound("channel not found: " + channel);
      if (ch->segments.size() < 2) break;  // the active segment always stays
      const Segment& s = ch->segments[0];
      const Segment& nx = ch->segments[1];
      bool deletable = false;
      if (nx.first_arrival && *nx.first_arrival < cutoff_micros) {
        deletable = true;  // all of s arrived no later than nx's first record
      } else if (s.first_offset == s.end_offset) {
        deletable = true;
      } else if (!s.indexed) {
        index_first = s.first_offset;
      } else {
        deletable = s.last_arrival && *s.last_arrival < cutoff_micros;
      }
      if (!index_first) {
        if (!deletable) break;
        removed.push_back(s.file);
        ch->segments.erase(ch->segments.begin());
        continue;
      }
    }
    RETURN_IF_ERROR(EnsureIndexed(ch.get(), *index_first));
  }
  if (removed.empty()) return Status::Ok();
  Status result;
  for (const auto& f : removed) {
    if (::unlink(f->path.c_str()) != 0 && errno != ENOENT && result.ok()) {
      result = ErrnoStatus("remove " + f->path, errno);
    }
  }
  Status st = SyncDir(ch->dir);
  if (result.ok()) result = st;
  return result;
}

uint64_t ChannelStoreImpl::WaitForData(const std::string& channel, uint64_t offset,
                                       int64_t timeout_micros) {
  Result<std::shared_ptr<Channel>> found = Find(channel);
  if (!found.ok()) return 0;
  Channel* ch = found->get();
  timeout_micros = std::clamp<int64_t>(timeout_micros, 0, kMaxWaitMicros);
  auto deadline = std::chrono::steady_clock::now() + std::chrono::microseconds(timeout_micros);
  MutexLock l(&ch->mu);
  while (ch->end_offset <= offset && !ch->dropped && !shutdown_flag_.load()) {
    if (ch->cv.wait_until(ch->mu, deadline) == std::cv_status::timeout) break;
  }
  return ch->end_offset;
}

void ChannelStoreImpl::Shutdown() {
  MutexLock sl(&shutdown_mu_);
  {
    MutexLock l(&mu_);
    shutdown_ = true;
    work_cv_.notify_all();
  }
  shutdown_flag_.store(true);
  if (committer_.joinable()) committer_.join();
  std::vector<std::shared_ptr<Channel>> chans;
  {
    MutexLock l(&mu_);
    for (const auto& [name, ch] : channels_) chans.push_back(ch);
  }
  for (const auto& ch : chans) {
    MutexLock l(&ch->mu);
    ch->cv.notify_all();
  }
}

ChannelStoreMetrics ChannelStoreImpl::Metrics() {
  ChannelStoreMetrics m;
  m.appends = m_appends_.load();
  m.records = m_records_.load();
  m.failed_appends = m_failed_.load();
  m.commit_groups = m_groups_.load();
  m.syncs = m_syncs_.load();
  MutexLock l(&mu_);
  m.queued_appends = queue_.size();
  return m;
}

}  // namespace

ChannelFs* ChannelFs::Default() {
  static PosixChannelFs* fs = new PosixChannelFs();
  return fs;
}

Result<std::unique_ptr<ChannelStore>> ChannelStore::Open(const std::string& dir, const Clock* clock,
                                                         ChannelStoreOptions opts, ChannelFs* fs) {
  if (dir.empty()) return Status::InvalidArgument("channel store directory is empty");
  auto store = std::make_unique<ChannelStoreImpl>(dir, clock ? clock : SystemClock::Default(), opts,
                                                  fs ? fs : ChannelFs::Default());
  RETURN_IF_ERROR(store->Init());
  return std::unique_ptr<ChannelStore>(std::move(store));
}

}  // namespace sluice
