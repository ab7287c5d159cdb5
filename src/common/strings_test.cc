#include "common/strings.h"

#include <gtest/gtest.h>

namespace sluice {
namespace {

TEST(StringsTest, Sha256AndHmac) {
  EXPECT_EQ(Sha256Hex(""), "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855");
  // RFC 4231 test case 2.
  EXPECT_EQ(HexEncode(HmacSha256("Jefe", "what do ya want for nothing?")),
            "5bdcc146bf60754e6a042426089575c75a003f089d2739839dec58b964ec3843");
}

TEST(StringsTest, Base64RoundTrip) {
  EXPECT_EQ(Base64Encode("{\"temp\":1}"), "eyJ0ZW1wIjoxfQ==");
  auto d = Base64Decode("eyJ0ZW1wIjoxfQ==");
  ASSERT_TRUE(d.ok());
  EXPECT_EQ(*d, "{\"temp\":1}");
  EXPECT_FALSE(Base64Decode("abc").ok());
  EXPECT_FALSE(Base64Decode("ab$=").ok());
  EXPECT_EQ(*Base64Decode(""), "");
}

TEST(StringsTest, PercentCoding) {
  EXPECT_EQ(*PercentDecode("a%20b%2Fc+"), "a b/c+");
  EXPECT_FALSE(PercentDecode("a%2").ok());
  EXPECT_FALSE(PercentDecode("a%zz").ok());
  EXPECT_EQ(UriEncode("a b/c~", true), "a%20b/c~");
  EXPECT_EQ(UriEncode("a b/c~", false), "a%20b%2Fc~");
}

TEST(StringsTest, Times) {
  EXPECT_EQ(ParseAmzDate("20150830T123600Z").value(), 1440938160);
  EXPECT_EQ(FormatAmzDate(1440938160), "20150830T123600Z");
  EXPECT_FALSE(ParseAmzDate("20151330T123600Z").has_value());
  EXPECT_EQ(ParseIso8601Micros("2020-01-02T03:04:05Z").value(), 1577934245000000);
  EXPECT_EQ(ParseIso8601Micros("2020-01-02T03:04:05.123Z").value(), 1577934245123000);
  EXPECT_EQ(ParseIso8601Micros("2020-01-02T03:04:05.123000Z").value(), 1577934245123000);
  EXPECT_EQ(ParseIso8601Micros("2020-01-02T04:04:05+01:00").value(), 1577934245000000);
  EXPECT_FALSE(ParseIso8601Micros("2020-01-02").has_value());
  EXPECT_FALSE(ParseIso8601Micros("yesterday").has_value());
  EXPECT_FALSE(ParseIso8601Micros("2023-02-29T00:00:00Z").has_value());
  EXPECT_TRUE(ParseIso8601Micros("2024-02-29T00:00:00Z").has_value());
  EXPECT_FALSE(ParseAmzDate("21000229T000000Z").has_value());
  EXPECT_EQ(FormatIso8601(1577934245), "2020-01-02T03:04:05Z");
  EXPECT_EQ(ParseHttpDate("Sun, 30 Aug 2015 12:36:00 GMT").value(), 1440938160);
}

TEST(StringsTest, Uuid) {
  std::string a = NewUuid(), b = NewUuid();
  EXPECT_EQ(a.size(), 36u);
  EXPECT_NE(a, b);
  EXPECT_EQ(a[14], '4');
}

}  // namespace
}  // namespace sluice
