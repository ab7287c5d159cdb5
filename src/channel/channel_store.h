// ChannelStore: the durable, append-only, ordered message log of every channel.
//
// Layout: <dir>/<channel>/ holds segment files named by their first offset
// (%020llu.log). A segment is a sequence of records
//   [u32 payload_len][u32 crc32c of everything after this field][u64 offset]
//   [i64 arrival_micros][u16 message_id_len][message_id][payload]
// (little-endian). The CRC is CRC32C (Castagnoli, reflected 0x82F63B78), implemented in
// segment_format.cc. On Open each channel's last segment is scanned and truncated at the
// first torn or corrupt record (a record that was never acknowledged). Segments roll at
// `segment_bytes`; retention deletes whole segments whose newest record is older than the
// cut-off, never rewriting data.
//
// Durability: Append returns only after the records are written and fdatasync'd. A single
// committer thread does group commit: all appends queued while one sync runs are written
// and synced together by the next, so throughput does not pay one fsync per call.
//
// Threads: Append may be called from any thread and blocks until durable. Read* and Stats
// may be called from any thread concurrently with appends; readers only see records whose
// sync completed. WaitForData lets tailing readers (pipelines) sleep until new data or a
// deadline. All file I/O goes through the injected Env-like seam (`ChannelFs`) so tests can
// fail writes (disk full) and see a clean error with nothing half-visible.
//
// Ownership inside the implementation:
//  - Appending threads encode their own records (offsets reserved under a per-channel
//    append mutex, so queue order is offset order) and wait for the committer.
//  - The committer thread alone writes, syncs, rolls and (after a failed write) truncates
//    segment files (when one group spans several channels it hands whole channels to
//    short-lived helpers so their fdatasyncs overlap, and waits for them);
//    DropChannel/CreateChannel take the same commit mutex, so a directory never changes under a
//    group being written. A group's segments are written in order and each is fdatasync'd before
//    the next is created, so a crash never leaves a later segment with data behind a torn earlier
//    one.
//  - Each channel's published state (segment list, sizes, sparse index, end offset, last
//    arrival) is guarded by a per-channel mutex; readers copy what they need under it and
//    pread the segment files without it. Retention removes whole non-active segments
//    under that mutex; open file descriptors are reference-counted, so a concurrent reader
//    of a deleted segment finishes safely.
//  - Lock order: commit mutex -> channel append mutex -> store mutex -> channel mutex.
// Older segments are not verified on Open; their sparse index is built (and their CRCs
// checked) the first time a read, time lookup or retention needs it.
#pragma once

#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "common/clock.h"
#include "common/status.h"

namespace sluice {

struct ChannelMessage {
  uint64_t offset = 0;         // 0-based, consecutive per channel
  int64_t arrival_micros = 0;  // server clock at acceptance
  std::string message_id;
  std::string payload;  // raw bytes as sent (decoded from base64)
};

struct IncomingMessage {
  std::string message_id;
  std::string payload;
};

struct ChannelStats {
  uint64_t first_offset = 0;  // oldest retained record
  uint64_t end_offset = 0;    // next offset to be assigned
  uint64_t size_bytes = 0;    // bytes on disk across segments
  std::optional<int64_t> last_arrival_micros;
};

// Counters since Open (observability; tests use them to see group commit at work).
struct ChannelStoreMetrics {
  uint64_t appends = 0;         // Append calls acknowledged
  uint64_t records = 0;         // records acknowledged
  uint64_t failed_appends = 0;  // Append calls that failed in the committer
  uint64_t commit_groups = 0;   // committer rounds
  uint64_t syncs = 0;           // fdatasync calls on segments and directories
  uint64_t queued_appends = 0;  // Append calls waiting for the committer to pick them up
};

struct ChannelStoreOptions {
  uint64_t segment_bytes = 64ull << 20;
  bool sync = true;  // fdatasync before acknowledging (tests of the crash path keep it on)
};

// File operations the store performs; the default is POSIX. Tests substitute one that
// fails (e.g. ENOSPC on write) to check error paths. Must be callable from several threads
// at once (different fds).
class ChannelFs {
 public:
  virtual ~ChannelFs() = default;
  virtual Status Append(int fd, const char* data, size_t n) = 0;
  virtual Status Sync(int fd) = 0;
  static ChannelFs* Default();
};

class ChannelStore {
 public:
  static Result<std::unique_ptr<ChannelStore>> Open(const std::string& dir, const Clock* clock,
                                                    ChannelStoreOptions opts = {},
                                                    ChannelFs* fs = nullptr);
  virtual ~ChannelStore() = default;

  // Idempotent: creating an existing channel is OK (the catalog owns existence).
  virtual Status CreateChannel(const std::string& channel) = 0;
  // Removes the channel's log. Idempotent.
  virtual Status DropChannel(const std::string& channel) = 0;

  // Durably appends the messages in order, stamping arrival time from the clock.
  // Returns the assigned offsets. kNotFound if the channel does not exist.
  virtual Result<std::vector<uint64_t>> Append(const std::string& channel,
                                               std::vector<IncomingMessage> messages) = 0;

  // Up to `max_messages` records with offset >= from_offset (fewer if `max_bytes` of
  // payload is reached; at least one record when any exists).
  virtual Result<std::vector<ChannelMessage>> Read(const std::string& channel, uint64_t from_offset,
                                                   size_t max_messages, size_t max_bytes) = 0;
  // First offset whose arrival time is >= arrival_micros (end_offset if none).
  virtual Result<uint64_t> OffsetAtOrAfter(const std::string& channel, int64_t arrival_micros) = 0;

  virtual Result<ChannelStats> Stats(const std::string& channel) = 0;

  // Deletes whole segments all of whose records arrived before `cutoff_micros`.
  virtual Status ApplyRetention(const std::string& channel, int64_t cutoff_micros) = 0;

  // Blocks until end_offset > offset, the deadline (steady clock, micros from now) passes,
  // or Shutdown() is called (or the channel is dropped). Returns the current end offset;
  // 0 at once for an unknown channel.
  virtual uint64_t WaitForData(const std::string& channel, uint64_t offset,
                               int64_t timeout_micros) = 0;

  // Wakes all waiters and stops the committer; further appends fail with kUnavailable.
  // Appends already queued are committed first. Reads keep working. Idempotent.
  virtual void Shutdown() = 0;

  virtual ChannelStoreMetrics Metrics() { return {}; }
};

}  // namespace sluice
