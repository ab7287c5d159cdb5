// ChannelStore: the durable, append-only, ordered message log of every channel.
//
// Layout: <dir>/<channel>/ holds segment files named by their first offset
// (%020llu.log). A segment is a sequence of records
//   [u32 payload_len][u32 crc32c of everything after this field][u64 offset]
//   [i64 arrival_micros][u16 message_id_len][message_id][payload]
// (little-endian). On Open each channel's last segment is scanned and truncated at the
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
  uint64_t offset = 0;          // 0-based, consecutive per channel
  int64_t arrival_micros = 0;   // server clock at acceptance
  std::string message_id;
  std::string payload;          // raw bytes as sent (decoded from base64)
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

struct ChannelStoreOptions {
  uint64_t segment_bytes = 64ull << 20;
  bool sync = true;  // fdatasync before acknowledging (tests of the crash path keep it on)
};

// File operations the store performs; the default is POSIX. Tests substitute one that
// fails (e.g. ENOSPC on write) to check error paths.
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
  virtual Result<std::vector<ChannelMessage>> Read(const std::string& channel,
                                                   uint64_t from_offset, size_t max_messages,
                                                   size_t max_bytes) = 0;
  // First offset whose arrival time is >= arrival_micros (end_offset if none).
  virtual Result<uint64_t> OffsetAtOrAfter(const std::string& channel,
                                           int64_t arrival_micros) = 0;

  virtual Result<ChannelStats> Stats(const std::string& channel) = 0;

  // Deletes whole segments all of whose records arrived before `cutoff_micros`.
  virtual Status ApplyRetention(const std::string& channel, int64_t cutoff_micros) = 0;

  // Blocks until end_offset > offset, the deadline (steady clock, micros from now) passes,
  // or Shutdown() is called. Returns the current end offset.
  virtual uint64_t WaitForData(const std::string& channel, uint64_t offset,
                               int64_t timeout_micros) = 0;

  // Wakes all waiters and stops the committer; further appends fail with kUnavailable.
  virtual void Shutdown() = 0;
};

}  // namespace sluice
