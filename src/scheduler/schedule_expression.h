// Schedule expressions for dataset triggers: AWS (CloudWatch Events/EventBridge) cron and
// rate forms.
//   cron(Minutes Hours Day-of-month Month Day-of-week Year)   - UTC, six fields
//   rate(N minute|minutes|hour|hours|day|days)
// Parse validates and explains the offending field; NextFireAfter / PreviousFireAtOrBefore
// evaluate the expression (the datasets issue's scheduler and delta windows use them).
// Thread-safety: immutable value type after Parse.
#pragma once

#include <cstdint>
#include <memory>
#include <optional>
#include <string>

#include "common/status.h"

namespace sluice {

class ScheduleExpression {
 public:
  // Error messages name the field and the rule, e.g.
  //  "Invalid schedule expression 'cron(0 25 * * ? *)': Hours field value 25 is out of range 0-23"
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

  struct Impl;  // fields; defined in the .cc

 private:
  std::string text_;
  std::shared_ptr<const Impl> impl_;
};

}  // namespace sluice
