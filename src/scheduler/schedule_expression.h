// Schedule expressions for dataset triggers: AWS (CloudWatch Events/EventBridge) cron and
// rate forms.
//   cron(Minutes Hours Day-of-month Month Day-of-week Year)   - UTC, six fields
//   rate(N minute|minutes|hour|hours|day|days)
// Parse validates and explains the offending field; NextFireAfter / PreviousFireAtOrBefore
// evaluate the expression (the datasets issue's scheduler and delta windows use them).
//
// Cron fields and ranges: Minutes 0-59, Hours 0-23, Day-of-month 1-31, Month 1-12 or JAN-DEC,
// Day-of-week 1-7 or SUN-SAT (1 = Sunday), Year 1970-2199. Every field takes `,` lists, `-`
// ranges (start <= end), `*` and `/` increments (`0/15`, `*/5`, `5-50/10`); names are
// case-insensitive. Exactly one of Day-of-month and Day-of-week must be `?`. Day-of-month also
// takes `L` (last day), `LW` (last weekday) and `NW` (weekday nearest day N without leaving the
// month; no fire in months shorter than N days); each must be the whole field. Day-of-week
// also takes `L` (= 7, Saturday), `NL` / `FRIL` (last such weekday of the month) and `N#k`
// (k-th such weekday, k 1-5; at most one `#` expression, and it must be the whole field).
// Fields are separated by runs of whitespace; whitespace around the parentheses is ignored.
//
// Time model: all times are epoch seconds, UTC. Cron fire times fall on whole minutes of the
// years 1970-2199. A rate schedule with period P seconds fires at every t with t % P == 0
// (phase anchored at the Unix epoch), so rate(1 day) fires at 00:00 UTC and rate(2 hours) on
// even hours; this makes NextFireAfter / PreviousFireAtOrBefore deterministic.
//
// Evaluation skips field by field (year, month, day, hour, minute); it never scans minute by
// minute, so each call costs at most a few thousand cheap steps even for schedules that
// never fire.
//
// Thread-safety: immutable value type after Parse; copies share the parsed state, and all
// const methods may be called concurrently.
#pragma once

#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <utility>

#include "common/status.h"

namespace sluice {

class ScheduleExpression {
 public:
  // Error messages (StatusCode::kInvalidArgument) quote the whole expression and name the
  // field and the rule, e.g.
  //  "Invalid schedule expression 'cron(0 25 * * ? *)': Hours field value '25' is out of
  //   range 0-23"
  static Result<ScheduleExpression> Parse(const std::string& expression);

  // Smallest fire time strictly greater than `after` (epoch seconds, UTC); nullopt if
  // none (e.g. the year field is exhausted).
  std::optional<int64_t> NextFireAfter(int64_t after) const;
  // Largest fire time <= `at`; nullopt if none.
  std::optional<int64_t> PreviousFireAtOrBefore(int64_t at) const;

  bool is_rate() const;
  // For rate expressions: the period in seconds. For cron: 0.
  int64_t rate_seconds() const;
  const std::string& text() const { return text_; }

  // A lower bound on the spacing of two consecutive fire times, in seconds (used to enforce
  // minimum intervals such as 15 minutes for container datasets). For rate expressions it is
  // the period. For cron it is derived from the Hours x Minutes fire times of one day,
  // including the wrap to the next day; it is exact whenever the schedule can fire on two
  // consecutive days, and otherwise errs on the small (strict) side.
  int64_t MinIntervalSeconds() const;

  struct Impl;  // fields; defined in the .cc

 private:
  ScheduleExpression(std::string text, std::shared_ptr<const Impl> impl)
      : text_(std::move(text)), impl_(std::move(impl)) {}

  std::string text_;
  std::shared_ptr<const Impl> impl_;
};

}  // namespace sluice
