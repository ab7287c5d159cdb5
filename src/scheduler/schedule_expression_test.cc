#include "scheduler/schedule_expression.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <cctype>
#include <chrono>
#include <cstdint>
#include <cstdlib>
#include <functional>
#include <limits>
#include <memory>
#include <optional>
#include <random>
#include <set>
#include <string>
#include <vector>

#include "common/strings.h"

namespace sluice {
namespace {

// ISO-8601 UTC text -> epoch seconds (test inputs are always valid).
int64_t T(const std::string& iso) {
  std::optional<int64_t> micros = ParseIso8601Micros(iso);
  EXPECT_TRUE(micros.has_value()) << iso;
  return micros.value_or(0) / 1000000;
}

std::string Iso(std::optional<int64_t> t) { return t ? FormatIso8601(*t) : "none"; }

ScheduleExpression MustParse(const std::string& text) {
  Result<ScheduleExpression> r = ScheduleExpression::Parse(text);
  EXPECT_TRUE(r.ok()) << text << ": " << r.status().message();
  if (!r.ok()) return ScheduleExpression::Parse("rate(1 minute)").value();
  return std::move(r).value();
}

// ---------------------------------------------------------------------------------------------
// Parsing

TEST(ScheduleExpressionParse, AcceptsValidExpressions) {
  const char* const kValid[] = {
      "cron(0 10 * * ? *)",
      "cron(15 12 * * ? *)",
      "cron(0 18 ? * MON-FRI *)",
      "cron(0 8 1 * ? *)",
      "cron(0/15 * * * ? *)",
      "cron(0/10 * ? * MON-FRI *)",
      "cron(0/5 8-17 ? * MON-FRI *)",
      "cron(0 9 ? * 2#1 *)",
      "cron(0 0 L * ? *)",
      "cron(0 0 LW * ? *)",
      "cron(0 0 15W * ? *)",
      "cron(0 0 ? * 6L *)",
      "cron(0 0 ? * FRIL *)",
      "cron(0 0 ? * L *)",
      "cron(0 0 ? * tue#2 *)",
      "cron(0 0 1 jan-Mar ? *)",
      "cron(5-50/10 * * * ? *)",
      "cron(*/5 */2 */3 */4 ? */5)",
      "cron(0 0 ? * */2 *)",
      "cron(1,2,3 4,5 6,7 8,9 ? 2020,2030)",
      "cron(0 0 ? * * 1970-2199)",
      "cron(59 23 31 12 ? 2199)",
      "  cron( 0 10 * * ? * )  ",
      "cron (0\t10  *  * ?  *)",
      "rate(1 minute)",
      "rate(5 minutes)",
      "rate(1 hour)",
      "rate(12 hours)",
      "rate(1 day)",
      "rate(2 days)",
      " rate( 15 minutes ) ",
  };
  for (const char* text : kValid) {
    Result<ScheduleExpression> r = ScheduleExpression::Parse(text);
    EXPECT_TRUE(r.ok()) << text << ": " << r.status().message();
    if (r.ok()) EXPECT_EQ(r->text(), text);
  }
}

struct InvalidCase {
  const char* expression;
  const char* fragment;
};

TEST(ScheduleExpressionParse, RejectsInvalidExpressionsWithPreciseMessages) {
  const InvalidCase kInvalid[] = {
      // Shape.
      {"", "expression must start with cron( or rate("},
      {"   ", "expression must start with cron( or rate("},
      {"garbage", "expression must start with cron( or rate("},
      {"at(2020-01-01T00:00:00)", "expression must start with cron( or rate("},
      {"cron 0 10 * * ? *", "expression must start with cron( or rate("},
      {"CRON(0 10 * * ? *)", "expression must start with cron( or rate("},
      {"cron(0 10 * * ? *", "expression must end with ')'"},
      {"cron(0 10 * * ? *) x", "expression must end with ')'"},
      {"cron((0 10 * * ? *))", "unexpected parentheses"},
      {"cron()",
       "need exactly 6 fields (Minutes Hours Day-of-month Month Day-of-week Year), got 0"},
      {"cron(0 10 * * ?)",
       "cron expressions need exactly 6 fields (Minutes Hours Day-of-month Month "
       "Day-of-week Year), got 5"},
      {"cron(0 10 * * ? * *)", "got 7"},
      // Out of range, one per field.
      {"cron(60 10 * * ? *)", "Minutes field value '60' is out of range 0-59"},
      {"cron(0 25 * * ? *)", "Hours field value '25' is out of range 0-23"},
      {"cron(0 0 0 * ? *)", "Day-of-month field value '0' is out of range 1-31"},
      {"cron(0 0 32 * ? *)", "Day-of-month field value '32' is out of range 1-31"},
      {"cron(0 0 1 13 ? *)", "Month field value '13' is out of range 1-12"},
      {"cron(0 0 1 0 ? *)", "Month field value '0' is out of range 1-12"},
      {"cron(0 0 ? * 8 *)", "Day-of-week field value '8' is out of range 1-7"},
      {"cron(0 0 ? * 0 *)", "Day-of-week field value '0' is out of range 1-7"},
      {"cron(0 0 1 1 ? 1969)", "Year field value '1969' is out of range 1970-2199"},
      {"cron(0 0 1 1 ? 2200)", "Year field value '2200' is out of range 1970-2199"},
      {"cron(0 0-24 * * ? *)", "Hours field value '24' is out of range 0-23"},
      {"cron(99999999999999999999 0 * * ? *)",
       "Minutes field value '99999999999999999999' is out "
       "of range 0-59"},
      {"cron(0 0 15W * ? *)x", "must end with ')'"},
      {"cron(0 0 32W * ? *)", "Day-of-month field value '32' in '32W' is out of range 1-31"},
      // Names.
      {"cron(0 0 1 FOO ? *)", "Month field value 'FOO' is not a number 1-12 or a name JAN-DEC"},
      {"cron(0 0 1 JANUARY ? *)", "Month field value 'JANUARY' is not a number"},
      {"cron(0 0 ? * FUN *)",
       "Day-of-week field value 'FUN' is not a number 1-7 or a name SUN-SAT"},
      {"cron(0 0 ? * MON-FUN *)", "Day-of-week field value 'FUN'"},
      {"cron(x 0 * * ? *)", "Minutes field value 'x' is not a number 0-59"},
      {"cron(0 MON * * ? *)", "Hours field value 'MON' is not a number 0-23"},
      // Day-of-month / Day-of-week '?'.
      {"cron(0 0 * * * *)", "one of Day-of-month and Day-of-week must be '?'"},
      {"cron(0 0 1 * MON *)", "one of Day-of-month and Day-of-week must be '?'"},
      {"cron(0 0 ? * ? *)", "Day-of-month and Day-of-week cannot both be '?'"},
      {"cron(0 0 1,? * ? *)", "'?' must be the whole Day-of-month field"},
      {"cron(0 0 ? * ?,1 *)", "'?' must be the whole Day-of-week field"},
      {"cron(? 0 1 * ? *)", "Minutes field does not allow '?'"},
      {"cron(0 0 1 ? ? *)", "Month field does not allow '?'"},
      {"cron(0 0 1 1 ? ?)", "Year field does not allow '?'"},
      // '#'.
      {"cron(0 0 ? * 3#1,6#3 *)", "Day-of-week field allows at most one '#' expression"},
      {"cron(0 0 ? * 3#1#2 *)", "at most one '#' expression"},
      {"cron(0 0 ? * 3#6 *)", "Day-of-week field occurrence '6' in '3#6' is out of range 1-5"},
      {"cron(0 0 ? * 3#0 *)", "occurrence '0' in '3#0' is out of range 1-5"},
      {"cron(0 0 ? * 3# *)", "occurrence '' in '3#' is out of range 1-5"},
      {"cron(0 0 ? * #2 *)", "is missing the day"},
      {"cron(0 0 ? * 8#2 *)", "Day-of-week field value '8' is out of range 1-7"},
      {"cron(0 0 ? * 1,3#2 *)", "a '#' expression (e.g. 3#2 or TUE#2) must be the whole field"},
      {"cron(0 0 1#2 * ? *)", "Day-of-month field does not allow '#'"},
      // 'L' and 'W'.
      {"cron(L 0 * * ? *)", "Minutes field does not allow 'L'"},
      {"cron(0 L * * ? *)", "Hours field does not allow 'L'"},
      {"cron(0 0 1 L ? *)", "Month field does not allow 'L'"},
      {"cron(0 0 1 1 ? L)", "Year field does not allow 'L'"},
      {"cron(5W 0 * * ? *)", "Minutes field does not allow 'W'"},
      {"cron(0 0 1 LW ? *)", "Month field does not allow 'LW'"},
      {"cron(0 0 L,15 * ? *)", "'L' and 'W' are only allowed as L, LW or a single day"},
      {"cron(0 0 1-5W * ? *)", "'L' and 'W' are only allowed as L, LW or a single day"},
      {"cron(0 0 W * ? *)", "'L' and 'W' are only allowed"},
      {"cron(0 0 L-3 * ? *)", "'L' and 'W' are only allowed"},
      {"cron(0 0 ? * 1,L *)", "'L' is only allowed alone or after a single day"},
      {"cron(0 0 ? * MON-FRIL *)", "'L' is only allowed alone or after a single day"},
      {"cron(0 0 ? * 8L *)", "Day-of-week field value '8' is out of range 1-7"},
      // Lists, ranges, increments.
      {"cron(0,,5 0 * * ? *)", "Minutes field has an empty value in '0,,5'"},
      {"cron(0, 0 * * ? *)", "Minutes field has an empty value in '0,'"},
      {"cron(,0 0 * * ? *)", "Minutes field has an empty value"},
      {"cron(0 17-8 * * ? *)", "Hours field range '17-8' starts after it ends"},
      {"cron(0 0 ? * FRI-MON *)", "Day-of-week field range 'FRI-MON' starts after it ends"},
      {"cron(0 0 ? * SAT-SUN *)", "Day-of-week field range 'SAT-SUN' starts after it ends"},
      {"cron(0 5- * * ? *)", "Hours field range '5-' is missing a bound"},
      {"cron(0/0 * * * ? *)", "Minutes field increment '0' in '0/0' is out of range 1-59"},
      {"cron(0/60 * * * ? *)", "Minutes field increment '60' in '0/60' is out of range 1-59"},
      {"cron(0/x * * * ? *)", "Minutes field increment 'x' in '0/x' is not a positive integer"},
      {"cron(0/ * * * ? *)", "Minutes field increment '' in '0/' is not a positive integer"},
      {"cron(/5 * * * ? *)", "Minutes field increment '/5' needs a start value or '*'"},
      {"cron(0/5/2 * * * ? *)", "Minutes field increment '5/2' in '0/5/2' is not a positive"},
      {"cron(0 0 1 1 ? 2020/300)",
       "Year field increment '300' in '2020/300' is out of range 1-229"},
      // Rate.
      {"rate(0 minutes)", "rate value must be a positive integer"},
      {"rate(-5 minutes)", "rate value must be a positive integer"},
      {"rate(1.5 hours)", "rate value must be a positive integer"},
      {"rate(five minutes)", "rate value must be a positive integer"},
      {"rate(minutes)", "rate value must be a positive integer"},
      {"rate(1 minutes)", "rate unit must be singular ('minute') when the value is 1"},
      {"rate(1 days)", "rate unit must be singular ('day')"},
      {"rate(5 minute)", "rate unit must be plural ('minutes') when the value is greater than 1"},
      {"rate(2 hour)", "rate unit must be plural ('hours')"},
      {"rate(5 weeks)", "rate unit must be one of minute, minutes, hour, hours, day, days"},
      {"rate(5 seconds)", "rate unit must be one of minute, minutes, hour, hours, day, days"},
      {"rate(5 Minutes)", "rate unit must be one of minute, minutes"},
      {"rate(5)", "rate expressions need a value and a unit"},
      {"rate()", "rate expressions need a value and a unit"},
      {"rate(5 minutes now)", "rate expressions need a value and a unit"},
      {"rate(99999999999 minutes)", "rate value '99999999999' is too large"},
  };
  int checked = 0;
  for (const InvalidCase& c : kInvalid) {
    Result<ScheduleExpression> r = ScheduleExpression::Parse(c.expression);
    ASSERT_FALSE(r.ok()) << "accepted: " << c.expression;
    EXPECT_EQ(r.status().code(), StatusCode::kInvalidArgument) << c.expression;
    const std::string& msg = r.status().message();
    const std::string prefix = std::string("Invalid schedule expression '") + c.expression + "': ";
    EXPECT_EQ(msg.rfind(prefix, 0), 0u) << msg;
    EXPECT_NE(msg.find(c.fragment), std::string::npos)
        << c.expression << "\n  message: " << msg << "\n  wanted:  " << c.fragment;
    ++checked;
  }
  EXPECT_GE(checked, 80);
}

TEST(ScheduleExpressionParse, ExactMessageForTheDocumentedExample) {
  Result<ScheduleExpression> r = ScheduleExpression::Parse("cron(0 25 * * ? *)");
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.status().message(),
            "Invalid schedule expression 'cron(0 25 * * ? *)': Hours field value '25' is out of "
            "range 0-23");
}

TEST(ScheduleExpressionParse, VeryLongExpressionIsQuotedTruncated) {
  const std::string text = "cron(" + std::string(5000, '1') + " 0 * * ? *)";
  Result<ScheduleExpression> r = ScheduleExpression::Parse(text);
  ASSERT_FALSE(r.ok());
  EXPECT_LT(r.status().message().size(), 600u);
  EXPECT_NE(r.status().message().find("..."), std::string::npos);
}

TEST(ScheduleExpressionParse, Accessors) {
  ScheduleExpression five = MustParse("rate(5 minutes)");
  EXPECT_TRUE(five.is_rate());
  EXPECT_EQ(five.rate_seconds(), 300);
  EXPECT_EQ(five.text(), "rate(5 minutes)");
  EXPECT_EQ(MustParse("rate(1 hour)").rate_seconds(), 3600);
  EXPECT_EQ(MustParse("rate(3 hours)").rate_seconds(), 3 * 3600);
  EXPECT_EQ(MustParse("rate(1 day)").rate_seconds(), 86400);
  EXPECT_EQ(MustParse("rate(2 days)").rate_seconds(), 2 * 86400);
  ScheduleExpression cron = MustParse("cron(0 10 * * ? *)");
  EXPECT_FALSE(cron.is_rate());
  EXPECT_EQ(cron.rate_seconds(), 0);
  EXPECT_EQ(cron.text(), "cron(0 10 * * ? *)");
  // Copies share the parsed state and evaluate identically.
  ScheduleExpression copy = cron;
  EXPECT_EQ(copy.NextFireAfter(T("2024-01-01T00:00:00Z")),
            cron.NextFireAfter(T("2024-01-01T00:00:00Z")));
}

TEST(ScheduleExpressionParse, MinIntervalSeconds) {
  EXPECT_EQ(MustParse("rate(5 minutes)").MinIntervalSeconds(), 300);
  EXPECT_EQ(MustParse("rate(2 days)").MinIntervalSeconds(), 2 * 86400);
  EXPECT_EQ(MustParse("cron(0/15 * * * ? *)").MinIntervalSeconds(), 15 * 60);
  EXPECT_EQ(MustParse("cron(* * * * ? *)").MinIntervalSeconds(), 60);
  EXPECT_EQ(MustParse("cron(0 10 * * ? *)").MinIntervalSeconds(), 86400);
  EXPECT_EQ(MustParse("cron(0 8 1 * ? *)").MinIntervalSeconds(), 86400);
  EXPECT_EQ(MustParse("cron(0,30 9 * * ? *)").MinIntervalSeconds(), 30 * 60);
  EXPECT_EQ(MustParse("cron(0 0,12 * * ? *)").MinIntervalSeconds(), 12 * 3600);
  // 23:55 -> 00:05 the next day is the tightest gap.
  EXPECT_EQ(MustParse("cron(5,55 0,23 * * ? *)").MinIntervalSeconds(), 10 * 60);
  EXPECT_EQ(MustParse("cron(0/20 * ? * MON-FRI *)").MinIntervalSeconds(), 20 * 60);
}

// ---------------------------------------------------------------------------------------------
// Evaluation table: from `from`, the successive NextFireAfter results must be `fires` (ISO
// strings; "none" = nullopt). Each row is also walked backwards with PreviousFireAtOrBefore.

struct EvalCase {
  const char* expression;
  const char* from;
  std::vector<const char*> fires;
};

const std::vector<EvalCase>& EvalCases() {
  static const std::vector<EvalCase> kCases = {
      // AWS examples.
      {"cron(0 10 * * ? *)",
       "2024-03-15T09:59:59Z",
       {"2024-03-15T10:00:00Z", "2024-03-16T10:00:00Z", "2024-03-17T10:00:00Z"}},
      {"cron(0 10 * * ? *)",
       "2024-03-15T10:00:00Z",
       {"2024-03-16T10:00:00Z", "2024-03-17T10:00:00Z"}},
      {"cron(15 12 * * ? *)",
       "2024-12-31T12:15:00Z",
       {"2025-01-01T12:15:00Z", "2025-01-02T12:15:00Z"}},
      {"cron(0 18 ? * MON-FRI *)",
       "2024-03-14T18:00:00Z",  // Thursday
       {"2024-03-15T18:00:00Z", "2024-03-18T18:00:00Z", "2024-03-19T18:00:00Z"}},
      {"cron(0 8 1 * ? *)",
       "2024-01-15T00:00:00Z",
       {"2024-02-01T08:00:00Z", "2024-03-01T08:00:00Z", "2024-04-01T08:00:00Z"}},
      {"cron(0/15 * * * ? *)",
       "2024-03-15T10:07:30Z",
       {"2024-03-15T10:15:00Z", "2024-03-15T10:30:00Z", "2024-03-15T10:45:00Z",
        "2024-03-15T11:00:00Z"}},
      {"cron(0/15 * * * ? *)",
       "2024-12-31T23:59:59Z",
       {"2025-01-01T00:00:00Z", "2025-01-01T00:15:00Z"}},
      {"cron(0/10 * ? * MON-FRI *)",
       "2024-03-15T23:45:00Z",  // Friday night
       {"2024-03-15T23:50:00Z", "2024-03-18T00:00:00Z", "2024-03-18T00:10:00Z"}},
      {"cron(0/5 8-17 ? * MON-FRI *)",
       "2024-03-15T17:52:00Z",
       {"2024-03-15T17:55:00Z", "2024-03-18T08:00:00Z", "2024-03-18T08:05:00Z"}},
      {"cron(0/5 8-17 ? * MON-FRI *)",
       "2024-03-18T12:01:00Z",
       {"2024-03-18T12:05:00Z", "2024-03-18T12:10:00Z"}},
      {"cron(0 9 ? * 2#1 *)",
       "2024-03-15T00:00:00Z",  // first Monday
       {"2024-04-01T09:00:00Z", "2024-05-06T09:00:00Z", "2024-06-03T09:00:00Z"}},
      {"cron(0 12 * * ? *)",
       "2024-02-28T12:00:00Z",
       {"2024-02-29T12:00:00Z", "2024-03-01T12:00:00Z"}},
      {"cron(0 12 * * ? *)", "2023-02-28T12:00:00Z", {"2023-03-01T12:00:00Z"}},
      // L: last day of month, across 28/29/30/31-day months.
      {"cron(0 0 L * ? *)",
       "2023-12-31T00:00:00Z",
       {"2024-01-31T00:00:00Z", "2024-02-29T00:00:00Z", "2024-03-31T00:00:00Z",
        "2024-04-30T00:00:00Z"}},
      {"cron(0 0 L * ? *)",
       "2023-01-31T00:00:00Z",
       {"2023-02-28T00:00:00Z", "2023-03-31T00:00:00Z"}},
      {"cron(0 0 L 2 ? *)",
       "2099-03-01T00:00:00Z",
       {"2100-02-28T00:00:00Z", "2101-02-28T00:00:00Z", "2102-02-28T00:00:00Z",
        "2103-02-28T00:00:00Z", "2104-02-29T00:00:00Z"}},
      // LW: last weekday (2024-03-31 is a Sunday, 2024-08-31 a Saturday).
      {"cron(0 0 LW * ? *)",
       "2024-01-01T00:00:00Z",
       {"2024-01-31T00:00:00Z", "2024-02-29T00:00:00Z", "2024-03-29T00:00:00Z",
        "2024-04-30T00:00:00Z", "2024-05-31T00:00:00Z"}},
      {"cron(0 0 LW * ? *)",
       "2024-08-01T00:00:00Z",
       {"2024-08-30T00:00:00Z", "2024-09-30T00:00:00Z"}},
      // W: 15th is a Friday (Mar 2024), a Saturday (Jun 2024), a Sunday (Sep 2024).
      {"cron(0 0 15W * ? *)",
       "2024-03-01T00:00:00Z",
       {"2024-03-15T00:00:00Z", "2024-04-15T00:00:00Z"}},
      {"cron(0 0 15W * ? *)",
       "2024-06-01T00:00:00Z",
       {"2024-06-14T00:00:00Z", "2024-07-15T00:00:00Z"}},
      {"cron(0 0 15W * ? *)",
       "2024-09-01T00:00:00Z",
       {"2024-09-16T00:00:00Z", "2024-10-15T00:00:00Z"}},
      // 1W on Saturday 2024-06-01 stays in June (Monday the 3rd); 31W on Sunday 2024-03-31
      // moves back to Friday; months without a 31st never fire.
      {"cron(0 0 1W * ? *)",
       "2024-05-15T00:00:00Z",
       {"2024-06-03T00:00:00Z", "2024-07-01T00:00:00Z"}},
      {"cron(0 0 31W * ? *)",
       "2024-03-01T00:00:00Z",
       {"2024-03-29T00:00:00Z", "2024-05-31T00:00:00Z", "2024-07-31T00:00:00Z"}},
      // Last Friday, by number and by name; L alone is Saturday; 1L is the last Sunday.
      {"cron(0 0 ? * 6L *)",
       "2024-03-01T00:00:00Z",
       {"2024-03-29T00:00:00Z", "2024-04-26T00:00:00Z", "2024-05-31T00:00:00Z"}},
      {"cron(0 0 ? * FRIL *)",
       "2024-03-01T00:00:00Z",
       {"2024-03-29T00:00:00Z", "2024-04-26T00:00:00Z"}},
      {"cron(0 0 ? * L *)",
       "2024-03-15T00:00:00Z",
       {"2024-03-16T00:00:00Z", "2024-03-23T00:00:00Z"}},
      {"cron(0 0 ? * 1L *)",
       "2024-03-01T00:00:00Z",
       {"2024-03-31T00:00:00Z", "2024-04-28T00:00:00Z"}},
      // '#': second Tuesday; fifth Friday only in months that have one.
      {"cron(0 12 ? * 3#2 *)",
       "2024-03-01T00:00:00Z",
       {"2024-03-12T12:00:00Z", "2024-04-09T12:00:00Z"}},
      {"cron(0 12 ? * TUE#2 *)", "2024-03-12T12:00:00Z", {"2024-04-09T12:00:00Z"}},
      {"cron(0 0 ? * 6#5 *)",
       "2024-03-01T00:00:00Z",
       {"2024-03-29T00:00:00Z", "2024-05-31T00:00:00Z", "2024-08-30T00:00:00Z",
        "2024-11-29T00:00:00Z"}},
      // Feb 29 jumps over non-leap years, and over 2100 (not a leap year).
      {"cron(0 0 29 2 ? *)",
       "2024-03-01T00:00:00Z",
       {"2028-02-29T00:00:00Z", "2032-02-29T00:00:00Z"}},
      {"cron(0 0 29 2 ? *)", "2096-03-01T00:00:00Z", {"2104-02-29T00:00:00Z"}},
      {"cron(0 0 29 2 ? 2097-2103)", "2096-03-01T00:00:00Z", {"none"}},
      // The 31st skips 30-day months.
      {"cron(0 0 31 * ? *)",
       "2024-01-31T00:00:00Z",
       {"2024-03-31T00:00:00Z", "2024-05-31T00:00:00Z", "2024-07-31T00:00:00Z",
        "2024-08-31T00:00:00Z", "2024-10-31T00:00:00Z"}},
      // Years, and their exhaustion.
      {"cron(0 0 1 1 ? 2020)", "2019-06-01T00:00:00Z", {"2020-01-01T00:00:00Z", "none"}},
      {"cron(0 0 1 1 ? 2024/4)",
       "2023-01-01T00:00:00Z",
       {"2024-01-01T00:00:00Z", "2028-01-01T00:00:00Z", "2032-01-01T00:00:00Z"}},
      {"cron(59 23 31 12 ? 2199)", "2199-01-01T00:00:00Z", {"2199-12-31T23:59:00Z", "none"}},
      {"cron(0 0 1 1 ? 1970)", "1969-12-31T23:59:00Z", {"1970-01-01T00:00:00Z", "none"}},
      {"cron(0 0 30 2 ? *)", "2024-01-01T00:00:00Z", {"none"}},
      {"cron(0 0 30W 2 ? *)", "2024-01-01T00:00:00Z", {"none"}},
      // Names, case, lists, ranges and increments.
      {"cron(30 2 ? * sun *)",
       "2024-03-15T00:00:00Z",
       {"2024-03-17T02:30:00Z", "2024-03-24T02:30:00Z"}},
      {"cron(0 0 1 jan-MAR ? *)",
       "2024-03-15T00:00:00Z",
       {"2025-01-01T00:00:00Z", "2025-02-01T00:00:00Z", "2025-03-01T00:00:00Z",
        "2026-01-01T00:00:00Z"}},
      {"cron(0 0 1 */3 ? *)",
       "2024-02-10T00:00:00Z",
       {"2024-04-01T00:00:00Z", "2024-07-01T00:00:00Z", "2024-10-01T00:00:00Z",
        "2025-01-01T00:00:00Z"}},
      {"cron(5-50/10 * * * ? *)",
       "2024-03-15T10:46:00Z",
       {"2024-03-15T11:05:00Z", "2024-03-15T11:15:00Z"}},
      {"cron(*/20 */6 * * ? *)",
       "2024-03-15T11:00:00Z",
       {"2024-03-15T12:00:00Z", "2024-03-15T12:20:00Z", "2024-03-15T12:40:00Z",
        "2024-03-15T18:00:00Z"}},
      {"cron(15,45 9,21 * * ? *)",
       "2024-03-15T09:30:00Z",
       {"2024-03-15T09:45:00Z", "2024-03-15T21:15:00Z", "2024-03-15T21:45:00Z",
        "2024-03-16T09:15:00Z"}},
      {"cron(0 0 ? * 1,7 *)",
       "2024-03-15T00:00:00Z",
       {"2024-03-16T00:00:00Z", "2024-03-17T00:00:00Z", "2024-03-23T00:00:00Z"}},
      {"cron(1/10 * * * ? *)",
       "2024-03-15T10:00:00Z",
       {"2024-03-15T10:01:00Z", "2024-03-15T10:11:00Z", "2024-03-15T10:21:00Z",
        "2024-03-15T10:31:00Z", "2024-03-15T10:41:00Z", "2024-03-15T10:51:00Z",
        "2024-03-15T11:01:00Z"}},
      {"  cron( 0 10 * * ? * )  ", "2024-03-15T09:59:59Z", {"2024-03-15T10:00:00Z"}},
      // Rate: phase anchored at the epoch.
      {"rate(1 minute)", "2024-03-15T10:07:30Z", {"2024-03-15T10:08:00Z", "2024-03-15T10:09:00Z"}},
      {"rate(5 minutes)", "2024-03-15T10:07:30Z", {"2024-03-15T10:10:00Z", "2024-03-15T10:15:00Z"}},
      {"rate(5 minutes)", "2024-03-15T10:10:00Z", {"2024-03-15T10:15:00Z"}},
      {"rate(1 hour)", "2024-03-15T10:00:00Z", {"2024-03-15T11:00:00Z", "2024-03-15T12:00:00Z"}},
      {"rate(1 day)", "2024-12-31T12:00:00Z", {"2025-01-01T00:00:00Z", "2025-01-02T00:00:00Z"}},
      // 2024-03-15 is day 19797 since the epoch (odd), so 2-day fires land on even days.
      {"rate(2 days)", "2024-03-15T00:00:00Z", {"2024-03-16T00:00:00Z", "2024-03-18T00:00:00Z"}},
      {"rate(1 minute)",
       "1969-12-31T23:58:30Z",
       {"1969-12-31T23:59:00Z", "1970-01-01T00:00:00Z", "1970-01-01T00:01:00Z"}},
  };
  return kCases;
}

TEST(ScheduleExpressionEval, TableForwardAndBackward) {
  int rows = 0;
  for (const EvalCase& c : EvalCases()) {
    SCOPED_TRACE(std::string(c.expression) + " from " + c.from);
    ++rows;
    ScheduleExpression e = MustParse(c.expression);
    int64_t t = T(c.from);
    std::optional<int64_t> previous_fire;
    for (const char* want : c.fires) {
      std::optional<int64_t> next = e.NextFireAfter(t);
      ASSERT_EQ(Iso(next), std::string(want));
      if (!next) break;
      EXPECT_GT(*next, t);
      EXPECT_EQ(*next % 60, 0);
      // Backwards: the fire itself is the previous fire at it, and just before it the
      // previous fire is the one before in the table (when the table has it).
      EXPECT_EQ(Iso(e.PreviousFireAtOrBefore(*next)), want);
      EXPECT_EQ(Iso(e.PreviousFireAtOrBefore(*next + 59)), want);
      if (previous_fire) {
        EXPECT_EQ(Iso(e.PreviousFireAtOrBefore(*next - 1)), Iso(previous_fire));
      } else {
        // Nothing fires in (from, next): the previous fire at/before next-1 is <= from.
        std::optional<int64_t> p = e.PreviousFireAtOrBefore(*next - 1);
        if (p) EXPECT_LE(*p, T(c.from)) << Iso(p);
      }
      previous_fire = next;
      t = *next;
    }
  }
  EXPECT_GE(rows, 40);
}

TEST(ScheduleExpressionEval, PreviousFireAtOrBeforeDirect) {
  struct Case {
    const char* expression;
    const char* at;
    const char* want;
  };
  const Case kCases[] = {
      {"cron(0 10 * * ? *)", "2024-03-15T10:00:00Z", "2024-03-15T10:00:00Z"},
      {"cron(0 10 * * ? *)", "2024-03-15T09:59:59Z", "2024-03-14T10:00:00Z"},
      {"cron(0 10 * * ? *)", "2024-01-01T00:00:00Z", "2023-12-31T10:00:00Z"},
      {"cron(0 18 ? * MON-FRI *)", "2024-03-18T17:00:00Z", "2024-03-15T18:00:00Z"},
      {"cron(0 0 29 2 ? *)", "2028-02-28T23:59:59Z", "2024-02-29T00:00:00Z"},
      {"cron(0 0 29 2 ? *)", "2104-02-28T00:00:00Z", "2096-02-29T00:00:00Z"},
      {"cron(0 0 L * ? *)", "2024-03-30T00:00:00Z", "2024-02-29T00:00:00Z"},
      {"cron(0 0 LW * ? *)", "2024-04-01T00:00:00Z", "2024-03-29T00:00:00Z"},
      {"cron(0 0 15W * ? *)", "2024-09-16T00:00:00Z", "2024-09-16T00:00:00Z"},
      {"cron(0 0 15W * ? *)", "2024-09-15T23:59:59Z", "2024-08-15T00:00:00Z"},
      {"cron(0 0 ? * 6L *)", "2024-05-30T00:00:00Z", "2024-04-26T00:00:00Z"},
      {"cron(0 9 ? * 2#1 *)", "2024-04-01T08:59:00Z", "2024-03-04T09:00:00Z"},
      {"cron(0/15 * * * ? *)", "2024-01-01T00:14:59Z", "2024-01-01T00:00:00Z"},
      {"cron(0/15 * * * ? *)", "2024-01-01T00:00:00Z", "2024-01-01T00:00:00Z"},
      {"cron(0/15 * * * ? *)", "2023-12-31T23:59:59Z", "2023-12-31T23:45:00Z"},
      {"cron(0 0 1 1 ? 2020)", "2019-12-31T23:59:59Z", "none"},
      {"cron(0 0 1 1 ? 2020)", "2150-01-01T00:00:00Z", "2020-01-01T00:00:00Z"},
      {"cron(0 0 1 1 ? *)", "1970-01-01T00:00:00Z", "1970-01-01T00:00:00Z"},
      {"cron(0 0 1 1 ? *)", "1969-12-31T23:59:59Z", "none"},
      {"cron(0 0 1 1 ? *)", "2500-06-01T00:00:00Z", "2199-01-01T00:00:00Z"},
      {"cron(0 0 30 2 ? *)", "2199-12-31T23:59:00Z", "none"},
      {"rate(5 minutes)", "2024-03-15T10:09:59Z", "2024-03-15T10:05:00Z"},
      {"rate(5 minutes)", "2024-03-15T10:10:00Z", "2024-03-15T10:10:00Z"},
      {"rate(2 days)", "2024-03-15T12:00:00Z", "2024-03-14T00:00:00Z"},
      {"rate(1 hour)", "1969-12-31T22:30:00Z", "1969-12-31T22:00:00Z"},
  };
  for (const Case& c : kCases) {
    ScheduleExpression e = MustParse(c.expression);
    EXPECT_EQ(Iso(e.PreviousFireAtOrBefore(T(c.at))), c.want) << c.expression << " at " << c.at;
  }
}

TEST(ScheduleExpressionEval, ExtremeTimesDoNotOverflow) {
  const int64_t kMax = std::numeric_limits<int64_t>::max();
  const int64_t kMin = std::numeric_limits<int64_t>::min();
  ScheduleExpression cron = MustParse("cron(* * * * ? *)");
  EXPECT_EQ(cron.NextFireAfter(kMax), std::nullopt);
  EXPECT_EQ(cron.NextFireAfter(kMin), std::optional<int64_t>(0));
  EXPECT_EQ(cron.PreviousFireAtOrBefore(kMin), std::nullopt);
  EXPECT_EQ(Iso(cron.PreviousFireAtOrBefore(kMax)), "2199-12-31T23:59:00Z");
  EXPECT_EQ(Iso(cron.NextFireAfter(T("2199-12-31T23:58:59Z"))), "2199-12-31T23:59:00Z");
  EXPECT_EQ(cron.NextFireAfter(T("2199-12-31T23:59:00Z")), std::nullopt);
  ScheduleExpression rate = MustParse("rate(7 minutes)");
  EXPECT_EQ(rate.NextFireAfter(kMax), std::nullopt);
  std::optional<int64_t> near_max = rate.NextFireAfter(kMax - 420 * 2);
  ASSERT_TRUE(near_max.has_value());
  EXPECT_EQ(*near_max % 420, 0);
  EXPECT_EQ(rate.PreviousFireAtOrBefore(kMin), std::nullopt);
  std::optional<int64_t> near_min = rate.PreviousFireAtOrBefore(kMin + 420 * 2);
  ASSERT_TRUE(near_min.has_value());
  EXPECT_EQ(*near_min % 420, 0);
  std::optional<int64_t> last = rate.PreviousFireAtOrBefore(kMax);
  ASSERT_TRUE(last.has_value());
  EXPECT_EQ(*last % 420, 0);
  EXPECT_LT(kMax - *last, 420);
}

// ---------------------------------------------------------------------------------------------
// Randomized properties against an independent reference (std::chrono calendar arithmetic and
// a straightforward per-day/per-minute predicate built alongside each random expression).

struct Civil {
  int year;
  unsigned month;
  unsigned day;
  int hour;
  int minute;
};

Civil ToCivil(int64_t t) {
  using namespace std::chrono;
  const sys_seconds tp{seconds{t}};
  const sys_days day = floor<days>(tp);
  const year_month_day ymd{day};
  const int64_t secs = (tp - day).count();
  return {static_cast<int>(ymd.year()), static_cast<unsigned>(ymd.month()),
          static_cast<unsigned>(ymd.day()), static_cast<int>(secs / 3600),
          static_cast<int>(secs / 60 % 60)};
}

unsigned RefDaysInMonth(int y, unsigned m) {
  using namespace std::chrono;
  return static_cast<unsigned>(year_month_day_last{year{y} / month{m} / last}.day());
}

// 1 = Sunday ... 7 = Saturday.
int RefWeekday(int y, unsigned m, unsigned d) {
  using namespace std::chrono;
  return static_cast<int>(weekday{sys_days{year{y} / month{m} / day{d}}}.c_encoding()) + 1;
}

bool IsWorkday(int y, unsigned m, unsigned d) {
  const int w = RefWeekday(y, m, d);
  return w >= 2 && w <= 6;
}

struct RandomSchedule {
  std::string text;
  std::set<int> minutes, hours, months, years;
  std::function<bool(int, unsigned, unsigned)> day_matches;

  bool DayMatches(int y, unsigned m, unsigned d) const {
    return years.count(y) && months.count(static_cast<int>(m)) && day_matches(y, m, d);
  }
  bool Matches(int64_t t) const {
    if (t % 60 != 0) return false;
    const Civil c = ToCivil(t);
    return DayMatches(c.year, c.month, c.day) && hours.count(c.hour) && minutes.count(c.minute);
  }
};

class Generator {
 public:
  explicit Generator(uint32_t seed) : rng_(seed) {}

  int Uniform(int lo, int hi) { return std::uniform_int_distribution<int>(lo, hi)(rng_); }
  bool Chance(int percent) { return Uniform(1, 100) <= percent; }
  std::mt19937& rng() { return rng_; }

  std::string Value(int v, int min, const char* const* names) {
    if (names != nullptr && Chance(40)) {
      std::string n = names[v - min];
      if (Chance(30)) {
        for (char& c : n) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
      }
      return n;
    }
    return std::to_string(v);
  }

  // A random list field over [min, max]; fills `out` with the values it denotes.
  std::string List(int min, int max, std::set<int>* out, const char* const* names = nullptr) {
    const int items = Chance(70) ? 1 : Uniform(2, 3);
    std::string text;
    for (int i = 0; i < items; ++i) {
      if (i > 0) text += ",";
      const int form = Uniform(0, 5);
      const int a = Uniform(min, max);
      const int b = Uniform(a, max);
      const int step = Uniform(1, std::max(1, (max - min) / 2));
      switch (form) {
        case 0:
          text += "*";
          for (int v = min; v <= max; ++v) out->insert(v);
          break;
        case 1:
          text += Value(a, min, names);
          out->insert(a);
          break;
        case 2:
          text += Value(a, min, names) + "-" + Value(b, min, names);
          for (int v = a; v <= b; ++v) out->insert(v);
          break;
        case 3:
          text += Value(a, min, names) + "/" + std::to_string(step);
          for (int v = a; v <= max; v += step) out->insert(v);
          break;
        case 4:
          text += "*/" + std::to_string(step);
          for (int v = min; v <= max; v += step) out->insert(v);
          break;
        default:
          text += Value(a, min, names) + "-" + Value(b, min, names) + "/" + std::to_string(step);
          for (int v = a; v <= b; v += step) out->insert(v);
          break;
      }
    }
    return text;
  }

  RandomSchedule Schedule() {
    static const char* const kMonths[] = {"JAN", "FEB", "MAR", "APR", "MAY", "JUN",
                                          "JUL", "AUG", "SEP", "OCT", "NOV", "DEC"};
    static const char* const kDays[] = {"SUN", "MON", "TUE", "WED", "THU", "FRI", "SAT"};
    RandomSchedule s;
    const std::string minutes = Chance(15) ? "*" : List(0, 59, &s.minutes);
    if (minutes == "*") {
      for (int v = 0; v < 60; ++v) s.minutes.insert(v);
    }
    const std::string hours = Chance(30) ? "*" : List(0, 23, &s.hours);
    if (hours == "*") {
      for (int v = 0; v < 24; ++v) s.hours.insert(v);
    }
    const std::string months = Chance(50) ? "*" : List(1, 12, &s.months, kMonths);
    if (months == "*") {
      for (int v = 1; v <= 12; ++v) s.months.insert(v);
    }
    std::string years;
    const int year_form = Uniform(0, 9);
    if (year_form < 6) {
      years = "*";
      for (int v = 1970; v <= 2199; ++v) s.years.insert(v);
    } else if (year_form < 8) {
      const int a = Uniform(1995, 2045);
      const int b = Uniform(a, 2060);
      years = std::to_string(a) + "-" + std::to_string(b);
      for (int v = a; v <= b; ++v) s.years.insert(v);
    } else {
      const int step = Uniform(2, 5);
      years = "*/" + std::to_string(step);
      for (int v = 1970; v <= 2199; v += step) s.years.insert(v);
    }

    std::string dom = "?";
    std::string dow = "?";
    if (Chance(50)) {
      switch (Uniform(0, 4)) {
        case 0:
          dom = "L";
          s.day_matches = [](int y, unsigned m, unsigned d) { return d == RefDaysInMonth(y, m); };
          break;
        case 1:
          dom = "LW";
          s.day_matches = [](int y, unsigned m, unsigned d) {
            if (!IsWorkday(y, m, d)) return false;
            for (unsigned e = d + 1; e <= RefDaysInMonth(y, m); ++e) {
              if (IsWorkday(y, m, e)) return false;
            }
            return true;
          };
          break;
        case 2: {
          // Month edges (1, 28-31) are where W must not leave the month.
          static const int kEdges[] = {1, 28, 29, 30, 31};
          const int n = Chance(50) ? kEdges[Uniform(0, 4)] : Uniform(1, 31);
          dom = std::to_string(n) + "W";
          // The workday of the month closest to day n (none if the month has no day n).
          s.day_matches = [n](int y, unsigned m, unsigned d) {
            const int dim = static_cast<int>(RefDaysInMonth(y, m));
            if (n > dim) return false;
            int best = 0;
            for (int c = 1; c <= dim; ++c) {
              if (IsWorkday(y, m, static_cast<unsigned>(c)) &&
                  (best == 0 || std::abs(c - n) < std::abs(best - n))) {
                best = c;
              }
            }
            return static_cast<int>(d) == best;
          };
          break;
        }
        default: {
          auto days = std::make_shared<std::set<int>>();
          dom = List(1, 31, days.get());
          s.day_matches = [days](int, unsigned, unsigned d) {
            return days->count(static_cast<int>(d)) > 0;
          };
          break;
        }
      }
    } else {
      switch (Uniform(0, 4)) {
        case 0: {
          const int w = Uniform(1, 7);
          dow = Value(w, 1, kDays) + "L";
          s.day_matches = [w](int y, unsigned m, unsigned d) {
            return RefWeekday(y, m, d) == w && d + 7 > RefDaysInMonth(y, m);
          };
          break;
        }
        case 1: {
          const int w = Uniform(1, 7);
          const int k = Uniform(1, 5);
          dow = Value(w, 1, kDays) + "#" + std::to_string(k);
          s.day_matches = [w, k](int y, unsigned m, unsigned d) {
            return RefWeekday(y, m, d) == w && static_cast<int>((d - 1) / 7 + 1) == k;
          };
          break;
        }
        case 2:
          dow = "L";
          s.day_matches = [](int y, unsigned m, unsigned d) { return RefWeekday(y, m, d) == 7; };
          break;
        default: {
          auto days = std::make_shared<std::set<int>>();
          dow = List(1, 7, days.get(), kDays);
          s.day_matches = [days](int y, unsigned m, unsigned d) {
            return days->count(RefWeekday(y, m, d)) > 0;
          };
          break;
        }
      }
    }
    if (dom == "?" && Chance(20)) {
      // Occasionally the plain "*" day-of-month.
      dom = "*";
      dow = "?";
      s.day_matches = [](int, unsigned, unsigned) { return true; };
    }
    s.text =
        "cron(" + minutes + " " + hours + " " + dom + " " + months + " " + dow + " " + years + ")";
    return s;
  }

  int64_t Time() {
    // Mostly 1995-2065, with a bias towards month ends and whole minutes.
    int64_t t = std::uniform_int_distribution<int64_t>(T("1995-01-01T00:00:00Z"),
                                                       T("2065-01-01T00:00:00Z"))(rng_);
    if (Chance(30)) t -= t % 60;
    if (Chance(20)) {
      const Civil c = ToCivil(t);
      using namespace std::chrono;
      const sys_days last_day{year{c.year} / month{c.month} / last};
      t = last_day.time_since_epoch().count() * 86400 + 86400 - Uniform(0, 7200);
    }
    return t;
  }

 private:
  std::mt19937 rng_;
};

constexpr int64_t kDay = 86400;

// Smallest matching minute in (t, t + window], skipping whole days the day fields exclude.
std::optional<int64_t> BruteNext(const RandomSchedule& s, int64_t t, int64_t window) {
  int64_t m = (t >= 0 ? t / 60 : (t - 59) / 60) * 60 + 60;
  const int64_t end = t + window;
  while (m <= end) {
    const Civil c = ToCivil(m);
    if (!s.DayMatches(c.year, c.month, c.day)) {
      m += kDay - (c.hour * 3600 + c.minute * 60);  // next midnight
      continue;
    }
    if (s.Matches(m)) return m;
    m += 60;
  }
  return std::nullopt;
}

// Largest matching minute in [t - window, t].
std::optional<int64_t> BrutePrevious(const RandomSchedule& s, int64_t t, int64_t window) {
  int64_t m = (t >= 0 ? t / 60 : (t - 59) / 60) * 60;
  const int64_t end = t - window;
  while (m >= end) {
    const Civil c = ToCivil(m);
    if (!s.DayMatches(c.year, c.month, c.day)) {
      m -= c.hour * 3600 + c.minute * 60 + 60;  // 23:59 of the previous day
      continue;
    }
    if (s.Matches(m)) return m;
    m -= 60;
  }
  return std::nullopt;
}

// Plain minute-by-minute scan, no skipping at all.
std::optional<int64_t> MinuteScanNext(const RandomSchedule& s, int64_t t, int64_t window) {
  for (int64_t m = (t >= 0 ? t / 60 : (t - 59) / 60) * 60 + 60; m <= t + window; m += 60) {
    if (s.Matches(m)) return m;
  }
  return std::nullopt;
}

TEST(ScheduleExpressionProperty, RandomExpressionsAgreeWithReferenceScan) {
  Generator gen(20240315);
  const int64_t kWindow = 3 * 366 * kDay;
  int fired = 0;
  int compared = 0;
  for (int i = 0; i < 300; ++i) {
    const RandomSchedule s = gen.Schedule();
    SCOPED_TRACE(s.text);
    Result<ScheduleExpression> parsed = ScheduleExpression::Parse(s.text);
    ASSERT_TRUE(parsed.ok()) << parsed.status().message();
    const ScheduleExpression& e = *parsed;
    for (int j = 0; j < 4; ++j) {
      const int64_t t = gen.Time();
      SCOPED_TRACE("t=" + FormatIso8601(t) + " (" + std::to_string(t) + ")");
      const std::optional<int64_t> next = e.NextFireAfter(t);
      const std::optional<int64_t> want_next = BruteNext(s, t, kWindow);
      if (want_next) {
        EXPECT_EQ(Iso(next), Iso(want_next));
        ++fired;
      } else if (next) {
        EXPECT_GT(*next, t + kWindow) << Iso(next);
      }
      const std::optional<int64_t> prev = e.PreviousFireAtOrBefore(t);
      const std::optional<int64_t> want_prev = BrutePrevious(s, t, kWindow);
      if (want_prev) {
        EXPECT_EQ(Iso(prev), Iso(want_prev));
      } else if (prev) {
        EXPECT_LT(*prev, t - kWindow) << Iso(prev);
      }
      if (i < 60) {  // the plain per-minute scan over three days, for a subset
        const std::optional<int64_t> scan = MinuteScanNext(s, t, 3 * kDay);
        if (scan) EXPECT_EQ(Iso(next), Iso(scan));
      }
      ++compared;
    }
  }
  EXPECT_EQ(compared, 1200);
  EXPECT_GT(fired, 600);  // the generator must produce mostly live schedules
}

TEST(ScheduleExpressionProperty, NextAndPreviousAreInverse) {
  Generator gen(7);
  int checked = 0;
  for (int i = 0; i < 400; ++i) {
    const RandomSchedule s = gen.Schedule();
    SCOPED_TRACE(s.text);
    Result<ScheduleExpression> parsed = ScheduleExpression::Parse(s.text);
    ASSERT_TRUE(parsed.ok()) << parsed.status().message();
    const ScheduleExpression& e = *parsed;
    for (int j = 0; j < 5; ++j) {
      const int64_t t = gen.Time();
      SCOPED_TRACE("t=" + FormatIso8601(t));
      if (const std::optional<int64_t> n = e.NextFireAfter(t)) {
        EXPECT_GT(*n, t);
        EXPECT_EQ(*n % 60, 0);
        EXPECT_TRUE(s.Matches(*n)) << Iso(n);
        EXPECT_EQ(e.PreviousFireAtOrBefore(*n), n);
        // Nothing fires strictly between t and n.
        const std::optional<int64_t> before = e.PreviousFireAtOrBefore(*n - 1);
        if (before) EXPECT_LE(*before, t);
        ++checked;
      }
      if (const std::optional<int64_t> p = e.PreviousFireAtOrBefore(t)) {
        EXPECT_LE(*p, t);
        EXPECT_TRUE(s.Matches(*p)) << Iso(p);
        EXPECT_EQ(e.NextFireAfter(*p - 1), p);
        const std::optional<int64_t> after = e.NextFireAfter(*p);
        if (after) EXPECT_GT(*after, t);
        ++checked;
      }
    }
  }
  EXPECT_GT(checked, 2000);
}

TEST(ScheduleExpressionProperty, RateMatchesArithmetic) {
  std::mt19937 rng(99);
  const char* const kRates[] = {"rate(1 minute)", "rate(7 minutes)", "rate(1 hour)",
                                "rate(5 hours)",  "rate(1 day)",     "rate(3 days)"};
  for (const char* text : kRates) {
    ScheduleExpression e = MustParse(text);
    const int64_t p = e.rate_seconds();
    for (int i = 0; i < 200; ++i) {
      const int64_t t = std::uniform_int_distribution<int64_t>(-4000000000LL, 8000000000LL)(rng);
      const std::optional<int64_t> n = e.NextFireAfter(t);
      const std::optional<int64_t> prev = e.PreviousFireAtOrBefore(t);
      ASSERT_TRUE(n && prev) << text;
      EXPECT_EQ(*n % p, 0) << text << " " << t;
      EXPECT_EQ(*prev % p, 0) << text << " " << t;
      EXPECT_GT(*n, t);
      EXPECT_LE(*n - t, p);
      EXPECT_LE(*prev, t);
      EXPECT_LT(t - *prev, p);
      EXPECT_EQ(e.PreviousFireAtOrBefore(*n), n);
      EXPECT_EQ(e.NextFireAfter(*prev - 1), prev);
    }
  }
}

}  // namespace
}  // namespace sluice
