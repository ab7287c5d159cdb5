// Segment file format helpers for the channel log (see channel_store.h for the layout):
// CRC32C (Castagnoli, table-driven slicing-by-8, implemented here), record encoding and
// re-stamping, segment file names, and a buffered sequential record scanner.
// Thread-safety: free functions are pure; a SegmentScanner is used by one thread at a time
// and only preads from its fd (it never moves the file position).
#pragma once

#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>

#include "common/status.h"

namespace sluice::channel_internal {

// [u32 payload_len][u32 crc32c][u64 offset][i64 arrival_micros][u16 message_id_len]
inline constexpr size_t kRecordHeaderSize = 26;
// The CRC covers every byte from this position of the record to its end.
inline constexpr size_t kRecordCrcStart = 8;
// A payload length above this is treated as a corrupt length field.
inline constexpr uint32_t kMaxRecordPayload = 64u << 20;
inline constexpr size_t kMaxMessageIdBytes = 0xFFFF;

// CRC32C (polynomial 0x1EDC6F41, reflected), continuing from `crc` (0 to start).
uint32_t Crc32cExtend(uint32_t crc, const char* data, size_t n);
inline uint32_t Crc32c(const char* data, size_t n) { return Crc32cExtend(0, data, n); }

inline size_t EncodedRecordSize(size_t id_len, size_t payload_len) {
  return kRecordHeaderSize + id_len + payload_len;
}

// Appends one encoded record to *out. Callers check the id/payload size limits first.
void AppendRecord(std::string* out, uint64_t offset, int64_t arrival_micros,
                  std::string_view message_id, std::string_view payload);

// Rewrites the offset and arrival time of an encoded record in place and recomputes its CRC.
void RestampRecord(char* record, size_t record_len, uint64_t offset, int64_t arrival_micros);

// "%020llu.log"
std::string SegmentFileName(uint64_t first_offset);
// True (and *first_offset set) when `name` is exactly a segment file name.
bool ParseSegmentFileName(std::string_view name, uint64_t* first_offset);

struct RecordView {
  uint64_t offset = 0;
  int64_t arrival_micros = 0;
  std::string_view message_id;  // valid until the scanner's next call
  std::string_view payload;
};

enum class ScanResult {
  kRecord,   // *rec holds the next record
  kEnd,      // exactly at the limit
  kTorn,     // bytes remain before the limit but not a whole record (or the file is short)
  kCorrupt,  // a whole record whose CRC or length field is wrong
};

// Reads records sequentially from [start, limit) of `fd` with pread.
class SegmentScanner {
 public:
  SegmentScanner(int fd, uint64_t start, uint64_t limit);

  Result<ScanResult> Next(RecordView* rec);
  // File position just past the last record returned.
  uint64_t pos() const { return consumed_; }
  // File position of the last record returned.
  uint64_t record_pos() const { return record_pos_; }

 private:
  // Makes at least `need` bytes available after buf_pos_ when the range allows.
  Status Fill(size_t need);
  size_t Avail() const { return buf_end_ - buf_pos_; }

  int fd_;
  uint64_t file_pos_;  // next file byte to read into the buffer
  uint64_t limit_;
  uint64_t consumed_;
  uint64_t record_pos_;
  bool eof_ = false;  // the file ended before limit_
  std::string buf_;
  size_t buf_pos_ = 0;
  size_t buf_end_ = 0;
};

}  // namespace sluice::channel_internal
