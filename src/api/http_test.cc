#include "api/http.h"

#include <gtest/gtest.h>

namespace sluice {
namespace {

TEST(HttpTest, ParseTargetDecodesPathAndQuery) {
  auto t = ParseTarget(
      "/datasets/ds1/contents?scheduledOnOrAfter=2020-01-02T03%3A04%3A05Z&maxResults=10");
  ASSERT_TRUE(t.has_value());
  ASSERT_EQ(t->segments.size(), 3u);
  EXPECT_EQ(t->segments[2], "contents");
  EXPECT_EQ(t->Query("scheduledOnOrAfter").value(), "2020-01-02T03:04:05Z");
  EXPECT_EQ(t->Query("maxResults").value(), "10");
  EXPECT_FALSE(t->Query("nextToken").has_value());
}

TEST(HttpTest, RepeatedQueryKeys) {
  auto t = ParseTarget("/tags?resourceArn=arn%3Aaws%3Ax%2Fc1&tagKeys=a&tagKeys=b%20c");
  ASSERT_TRUE(t.has_value());
  EXPECT_EQ(t->Query("resourceArn").value(), "arn:aws:x/c1");
  auto keys = t->QueryAll("tagKeys");
  ASSERT_EQ(keys.size(), 2u);
  EXPECT_EQ(keys[1], "b c");
}

TEST(HttpTest, MalformedEscapesRejected) {
  EXPECT_FALSE(ParseTarget("/channels/a%zz").has_value());
  EXPECT_FALSE(ParseTarget("/channels?x=%4").has_value());
}

TEST(HttpTest, HeaderLookupIsCaseInsensitive) {
  HttpRequest r;
  r.headers = {{"X-Amz-Date", "1"}, {"host", "h"}};
  EXPECT_EQ(r.Header("x-amz-date").value(), "1");
  EXPECT_EQ(r.Header("HOST").value(), "h");
  EXPECT_FALSE(r.Header("authorization").has_value());
  HttpResponse resp;
  resp.SetHeader("Content-Type", "a");
  resp.SetHeader("content-type", "b");
  ASSERT_EQ(resp.headers.size(), 1u);
  EXPECT_EQ(resp.headers[0].second, "b");
}

}  // namespace
}  // namespace sluice
