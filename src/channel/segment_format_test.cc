#include "channel/segment_format.h"

#include <fcntl.h>
#include <stdlib.h>
#include <unistd.h>

#include <filesystem>
#include <random>
#include <string>

#include <gtest/gtest.h>

namespace sluice::channel_internal {
namespace {

uint32_t BitwiseCrc32c(const std::string& s) {
  uint32_t c = 0xFFFFFFFFu;
  for (unsigned char b : s) {
    c ^= b;
    for (int k = 0; k < 8; ++k) c = (c & 1u) ? (c >> 1) ^ 0x82F63B78u : c >> 1;
  }
  return ~c;
}

TEST(Crc32cTest, KnownVectors) {
  EXPECT_EQ(Crc32c("123456789", 9), 0xE3069283u);
  EXPECT_EQ(Crc32c("", 0), 0u);
  std::string zeros(32, '\0');
  EXPECT_EQ(Crc32c(zeros.data(), zeros.size()), 0x8A9136AAu);  // RFC 3720 B.4
  std::string ones(32, '\xff');
  EXPECT_EQ(Crc32c(ones.data(), ones.size()), 0x62A8AB43u);
}

TEST(Crc32cTest, MatchesBitwiseReferenceAndExtends) {
  std::mt19937 rng(7);
  for (size_t len : {1u, 7u, 8u, 9u, 63u, 64u, 1000u, 4099u}) {
    std::string s(len, '\0');
    for (char& c : s) c = static_cast<char>(rng());
    uint32_t whole = Crc32c(s.data(), s.size());
    EXPECT_EQ(whole, BitwiseCrc32c(s)) << len;
    size_t cut = len / 3;
    EXPECT_EQ(Crc32cExtend(Crc32c(s.data(), cut), s.data() + cut, len - cut), whole) << len;
  }
}

TEST(SegmentFileNameTest, FormatAndParse) {
  EXPECT_EQ(SegmentFileName(42), "00000000000000000042.log");
  uint64_t v = 0;
  EXPECT_TRUE(ParseSegmentFileName("00000000000000000042.log", &v));
  EXPECT_EQ(v, 42u);
  EXPECT_TRUE(ParseSegmentFileName(SegmentFileName(UINT64_MAX), &v));
  EXPECT_EQ(v, UINT64_MAX);
  EXPECT_FALSE(ParseSegmentFileName("0000000000000000042.log", &v));
  EXPECT_FALSE(ParseSegmentFileName("00000000000000000042.tmp", &v));
  EXPECT_FALSE(ParseSegmentFileName("0000000000000000004x.log", &v));
  EXPECT_FALSE(ParseSegmentFileName("99999999999999999999.log", &v));  // > UINT64_MAX
}

class ScannerTest : public ::testing::Test {
 protected:
  void SetUp() override {
    std::string tmpl = std::filesystem::temp_directory_path().string() + "/sluice_seg_XXXXXX";
    ASSERT_NE(mkdtemp(tmpl.data()), nullptr);
    dir_ = tmpl;
  }
  void TearDown() override { std::filesystem::remove_all(dir_); }

  int WriteFile(const std::string& data) {
    std::string path = dir_ + "/f";
    int fd = ::open(path.c_str(), O_RDWR | O_CREAT | O_TRUNC, 0644);
    EXPECT_GE(fd, 0);
    EXPECT_EQ(::write(fd, data.data(), data.size()), static_cast<ssize_t>(data.size()));
    return fd;
  }

  std::string dir_;
};

TEST_F(ScannerTest, RoundTripTornAndCorrupt) {
  std::string data;
  AppendRecord(&data, 5, -12, "id-5", "hello");
  size_t first_len = data.size();
  EXPECT_EQ(first_len, EncodedRecordSize(4, 5));
  AppendRecord(&data, 6, 1700000000000000, "", std::string("\0\1\2", 3));
  std::string big(300000, 'z');  // larger than one read chunk
  AppendRecord(&data, 7, 3, "x", big);

  int fd = WriteFile(data);
  SegmentScanner sc(fd, 0, data.size());
  RecordView rec;
  auto r = sc.Next(&rec);
  ASSERT_TRUE(r.ok());
  ASSERT_EQ(*r, ScanResult::kRecord);
  EXPECT_EQ(rec.offset, 5u);
  EXPECT_EQ(rec.arrival_micros, -12);
  EXPECT_EQ(rec.message_id, "id-5");
  EXPECT_EQ(rec.payload, "hello");
  EXPECT_EQ(sc.record_pos(), 0u);
  EXPECT_EQ(sc.pos(), first_len);
  r = sc.Next(&rec);
  ASSERT_EQ(*r, ScanResult::kRecord);
  EXPECT_EQ(rec.offset, 6u);
  EXPECT_EQ(rec.arrival_micros, 1700000000000000);
  EXPECT_EQ(rec.payload, std::string("\0\1\2", 3));
  r = sc.Next(&rec);
  ASSERT_EQ(*r, ScanResult::kRecord);
  EXPECT_EQ(rec.payload, big);
  r = sc.Next(&rec);
  EXPECT_EQ(*r, ScanResult::kEnd);
  ::close(fd);

  // Torn: the file is cut inside the last record.
  fd = WriteFile(data.substr(0, data.size() - 10));
  SegmentScanner torn(fd, 0, data.size() - 10);
  ASSERT_EQ(*torn.Next(&rec), ScanResult::kRecord);
  ASSERT_EQ(*torn.Next(&rec), ScanResult::kRecord);
  EXPECT_EQ(*torn.Next(&rec), ScanResult::kTorn);
  ::close(fd);

  // A limit beyond the end of a shorter file is torn, not an error.
  fd = WriteFile(data.substr(0, first_len + 3));
  SegmentScanner short_file(fd, 0, data.size());
  ASSERT_EQ(*short_file.Next(&rec), ScanResult::kRecord);
  EXPECT_EQ(*short_file.Next(&rec), ScanResult::kTorn);
  ::close(fd);

  // Corrupt: one payload bit flipped in the second record.
  std::string bad = data;
  bad[first_len + kRecordHeaderSize + 1] ^= 0x10;
  fd = WriteFile(bad);
  SegmentScanner corrupt(fd, 0, bad.size());
  ASSERT_EQ(*corrupt.Next(&rec), ScanResult::kRecord);
  EXPECT_EQ(*corrupt.Next(&rec), ScanResult::kCorrupt);
  EXPECT_EQ(corrupt.pos(), first_len);
  ::close(fd);
}

TEST_F(ScannerTest, RestampRewritesOffsetArrivalAndCrc) {
  std::string data;
  AppendRecord(&data, 1, 2, "m", "payload");
  RestampRecord(data.data(), data.size(), 99, 1234);
  std::string expect;
  AppendRecord(&expect, 99, 1234, "m", "payload");
  EXPECT_EQ(data, expect);
}

}  // namespace
}  // namespace sluice::channel_internal
