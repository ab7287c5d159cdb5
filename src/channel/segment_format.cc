#include "channel/segment_format.h"

#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstdio>
#include <cstring>
#include <system_error>

namespace sluice::channel_internal {
namespace {

constexpr uint32_t kCastagnoliReflected = 0x82F63B78u;

struct CrcTables {
  uint32_t t[8][256];
};

constexpr CrcTables MakeCrcTables() {
  CrcTables tables{};
  for (uint32_t i = 0; i < 256; ++i) {
    uint32_t c = i;
    for (int k = 0; k < 8; ++k) c = (c & 1u) ? (c >> 1) ^ kCastagnoliReflected : c >> 1;
    tables.t[0][i] = c;
  }
  for (uint32_t i = 0; i < 256; ++i) {
    for (int s = 1; s < 8; ++s) {
      uint32_t prev = tables.t[s - 1][i];
      tables.t[s][i] = (prev >> 8) ^ tables.t[0][prev & 0xFFu];
    }
  }
  return tables;
}

constexpr CrcTables kCrc = MakeCrcTables();

inline uint32_t Load32(const uint8_t* p) {
  return static_cast<uint32_t>(p[0]) | (static_cast<uint32_t>(p[1]) << 8) |
         (static_cast<uint32_t>(p[2]) << 16) | (static_cast<uint32_t>(p[3]) << 24);
}

inline void Put16(char* p, uint16_t v) {
  p[0] = static_cast<char>(v & 0xFF);
  p[1] = static_cast<char>(v >> 8);
}
inline void Put32(char* p, uint32_t v) {
  for (int i = 0; i < 4; ++i) p[i] = static_cast<char>((v >> (8 * i)) & 0xFF);
}
inline void Put64(char* p, uint64_t v) {
  for (int i = 0; i < 8; ++i) p[i] = static_cast<char>((v >> (8 * i)) & 0xFF);
}
inline uint16_t Get16(const char* p) {
  const auto* u = reinterpret_cast<const uint8_t*>(p);
  return static_cast<uint16_t>(u[0] | (u[1] << 8));
}
inline uint32_t Get32(const char* p) { return Load32(reinterpret_cast<const uint8_t*>(p)); }
inline uint64_t Get64(const char* p) {
  return static_cast<uint64_t>(Get32(p)) | (static_cast<uint64_t>(Get32(p + 4)) << 32);
}

constexpr size_t kReadChunk = 256 * 1024;

}  // namespace

uint32_t Crc32cExtend(uint32_t crc, const char* data, size_t n) {
  const auto* p = reinterpret_cast<const uint8_t*>(data);
  uint32_t c = ~crc;
  while (n >= 8) {
    uint32_t lo = c ^ Load32(p);
    uint32_t hi = Load32(p + 4);
    c = kCrc.t[7][lo & 0xFFu] ^ kCrc.t[6][(lo >> 8) & 0xFFu] ^ kCrc.t[5][(lo >> 16) & 0xFFu] ^
        kCrc.t[4][lo >> 24] ^ kCrc.t[3][hi & 0xFFu] ^ kCrc.t[2][(hi >> 8) & 0xFFu] ^
        kCrc.t[1][(hi >> 16) & 0xFFu] ^ kCrc.t[0][hi >> 24];
    p += 8;
    n -= 8;
  }
  while (n-- > 0) c = kCrc.t[0][(c ^ *p++) & 0xFFu] ^ (c >> 8);
  return ~c;
}

void AppendRecord(std::string* out, uint64_t offset, int64_t arrival_micros,
                  std::string_view message_id, std::string_view payload) {
  size_t start = out->size();
  out->resize(start + kRecordHeaderSize);
  char* h = out->data() + start;
  Put32(h, static_cast<uint32_t>(payload.size()));
  Put16(h + 24, static_cast<uint16_t>(message_id.size()));
  out->append(message_id);
  out->append(payload);
  RestampRecord(out->data() + start, out->size() - start, offset, arrival_micros);
}

void RestampRecord(char* record, size_t record_len, uint64_t offset, int64_t arrival_micros) {
  Put64(record + 8, offset);
  Put64(record + 16, static_cast<uint64_t>(arrival_micros));
  Put32(record + 4, Crc32c(record + kRecordCrcStart, record_len - kRecordCrcStart));
}

std::string SegmentFileName(uint64_t first_offset) {
  char buf[32];
  std::snprintf(buf, sizeof(buf), "%020llu.log", static_cast<unsigned long long>(first_offset));
  return buf;
}

bool ParseSegmentFileName(std::string_view name, uint64_t* first_offset) {
  if (name.size() != 24 || name.substr(20) != ".log") return false;
  uint64_t v = 0;
  for (size_t i = 0; i < 20; ++i) {
    char c = name[i];
    if (c < '0' || c > '9') return false;
    uint64_t d = static_cast<uint64_t>(c - '0');
    if (v > (UINT64_MAX - d) / 10) return false;
    v = v * 10 + d;
  }
  *first_offset = v;
  return true;
}

SegmentScanner::SegmentScanner(int fd, uint64_t start, uint64_t limit)
    : fd_(fd), file_pos_(start), limit_(limit), consumed_(start), record_pos_(start) {}

Status SegmentScanner::Fill(size_t need) {
  if (Avail() >= need) return Status::Ok();
  if (buf_pos_ > 0) {
    std::memmove(buf_.data(), buf_.data() + buf_pos_, Avail());
    buf_end_ -= buf_pos_;
    buf_pos_ = 0;
  }
  size_t want = std::max(need, kReadChunk);
  if (buf_.size() < want) buf_.resize(want);
  while (buf_end_ < need && file_pos_ < limit_ && !eof_) {
    size_t room = buf_.size() - buf_end_;
    size_t n = static_cast<size_t>(std::min<uint64_t>(room, limit_ - file_pos_));
    ssize_t r = ::pread(fd_, buf_.data() + buf_end_, n, static_cast<off_t>(file_pos_));
    if (r < 0) {
      if (errno == EINTR) continue;
      return Status::IoError("read segment: " +
                             std::error_code(errno, std::generic_category()).message());
    }
    if (r == 0) {
      eof_ = true;
      break;
    }
    buf_end_ += static_cast<size_t>(r);
    file_pos_ += static_cast<uint64_t>(r);
  }
  return Status::Ok();
}

Result<ScanResult> SegmentScanner::Next(RecordView* rec) {
  RETURN_IF_ERROR(Fill(kRecordHeaderSize));
  if (Avail() == 0 && consumed_ == limit_) return ScanResult::kEnd;
  if (Avail() < kRecordHeaderSize) return ScanResult::kTorn;
  const char* h = buf_.data() + buf_pos_;
  uint32_t payload_len = Get32(h);
  uint16_t id_len = Get16(h + 24);
  if (payload_len > kMaxRecordPayload) {
    // A length this large never came from Append; if it reaches past the limit it is a
    // torn tail, otherwise the record is corrupt.
    return limit_ - consumed_ < EncodedRecordSize(id_len, payload_len) ? ScanResult::kTorn
                                                                       : ScanResult::kCorrupt;
  }
  size_t total = EncodedRecordSize(id_len, payload_len);
  if (limit_ - consumed_ < total) return ScanResult::kTorn;
  RETURN_IF_ERROR(Fill(total));
  if (Avail() < total) return ScanResult::kTorn;
  h = buf_.data() + buf_pos_;
  uint32_t stored_crc = Get32(h + 4);
  if (Crc32c(h + kRecordCrcStart, total - kRecordCrcStart) != stored_crc) {
    return ScanResult::kCorrupt;
  }
  rec->offset = Get64(h + 8);
  rec->arrival_micros = static_cast<int64_t>(Get64(h + 16));
  rec->message_id = std::string_view(h + kRecordHeaderSize, id_len);
  rec->payload = std::string_view(h + kRecordHeaderSize + id_len, payload_len);
  record_pos_ = consumed_;
  consumed_ += total;
  buf_pos_ += total;
  return ScanResult::kRecord;
}

}  // namespace sluice::channel_internal
