#include "scheduler/schedule_expression.h"

#include <algorithm>
#include <bit>
#include <bitset>
#include <cctype>
#include <string_view>
#include <vector>

#include "common/strings.h"

namespace sluice {

namespace {

constexpr int kMinYear = 1970;
constexpr int kMaxYear = 2199;
constexpr int kYearCount = kMaxYear - kMinYear + 1;
constexpr int64_t kMinutesPerDay = 1440;
constexpr int64_t kMaxRateValue = 1000000000;  // keeps N * 86400 far from overflow
constexpr size_t kMaxQuotedLength = 256;

}  // namespace

struct ScheduleExpression::Impl {
  enum class DomMode { kAny, kSet, kLast, kLastWeekday, kNearestWeekday };
  enum class DowMode { kAny, kSet, kLastOf, kNth };

  bool rate = false;
  int64_t period = 0;  // seconds, rate only

  uint64_t minutes = 0;           // bit m set: minute m fires
  uint32_t hours = 0;             // bit h
  uint32_t months = 0;            // bits 1..12
  std::bitset<kYearCount> years;  // bit y - kMinYear
  DomMode dom_mode = DomMode::kAny;
  uint64_t dom_days = 0;  // bits 1..31 (kSet)
  int dom_day = 0;        // N of NW (kNearestWeekday)
  DowMode dow_mode = DowMode::kAny;
  uint32_t dow_days = 0;  // bits 1..7, 1 = Sunday (kSet)
  int dow_day = 0;        // weekday of kLastOf / kNth
  int dow_nth = 0;        // k of kNth
};

namespace {

using Impl = ScheduleExpression::Impl;
// Values of one field, indexed by the value itself (years need up to 2199).
using ValueSet = std::bitset<kMaxYear + 1>;

constexpr const char* kMonthNames[] = {"JAN", "FEB", "MAR", "APR", "MAY", "JUN",
                                       "JUL", "AUG", "SEP", "OCT", "NOV", "DEC"};
constexpr const char* kDayNames[] = {"SUN", "MON", "TUE", "WED", "THU", "FRI", "SAT"};

struct FieldSpec {
  const char* name;
  int min;
  int max;
  const char* const* names;  // names of min..max, or nullptr
  const char* names_text;    // e.g. "JAN-DEC"
};

const FieldSpec kMinutesField{"Minutes", 0, 59, nullptr, nullptr};
const FieldSpec kHoursField{"Hours", 0, 23, nullptr, nullptr};
const FieldSpec kDomField{"Day-of-month", 1, 31, nullptr, nullptr};
const FieldSpec kMonthField{"Month", 1, 12, kMonthNames, "JAN-DEC"};
const FieldSpec kDowField{"Day-of-week", 1, 7, kDayNames, "SUN-SAT"};
const FieldSpec kYearField{"Year", kMinYear, kMaxYear, nullptr, nullptr};

Status Err(std::string message) { return Status::InvalidArgument(std::move(message)); }

constexpr size_t kMaxQuotedValueLength = 64;

// A field value in quotes, shortened when absurdly long.
std::string Quote(std::string_view s) {
  if (s.size() > kMaxQuotedValueLength) {
    return "'" + std::string(s.substr(0, kMaxQuotedValueLength)) + "...'";
  }
  return "'" + std::string(s) + "'";
}

std::string Upper(std::string_view s) {
  std::string out(s);
  for (char& c : out) c = static_cast<char>(std::toupper(static_cast<unsigned char>(c)));
  return out;
}

bool IsSpace(char c) { return std::isspace(static_cast<unsigned char>(c)) != 0; }

std::string_view TrimView(std::string_view s) {
  while (!s.empty() && IsSpace(s.front())) s.remove_prefix(1);
  while (!s.empty() && IsSpace(s.back())) s.remove_suffix(1);
  return s;
}

std::vector<std::string_view> SplitWhitespace(std::string_view s) {
  std::vector<std::string_view> out;
  size_t i = 0;
  while (i < s.size()) {
    while (i < s.size() && IsSpace(s[i])) ++i;
    size_t start = i;
    while (i < s.size() && !IsSpace(s[i])) ++i;
    if (i > start) out.push_back(s.substr(start, i - start));
  }
  return out;
}

std::vector<std::string_view> SplitChar(std::string_view s, char sep) {
  std::vector<std::string_view> out;
  size_t start = 0;
  while (true) {
    size_t p = s.find(sep, start);
    if (p == std::string_view::npos) {
      out.push_back(s.substr(start));
      return out;
    }
    out.push_back(s.substr(start, p - start));
    start = p + 1;
  }
}

// Parses a non-empty run of decimal digits; values above `kMaxRateValue` saturate to
// kMaxRateValue + 1 so callers can report "too large"/"out of range" without overflow.
bool ParseDigits(std::string_view s, int64_t* out) {
  if (s.empty()) return false;
  int64_t v = 0;
  for (char c : s) {
    if (c < '0' || c > '9') return false;
    v = v * 10 + (c - '0');
    if (v > kMaxRateValue) v = kMaxRateValue + 1;
  }
  *out = v;
  return true;
}

std::string RangeText(const FieldSpec& f) {
  return std::to_string(f.min) + "-" + std::to_string(f.max);
}

// One value of a field: a number in range or (Month / Day-of-week) a three-letter name.
Result<int> ParseValue(const FieldSpec& f, std::string_view token) {
  const std::string field = f.name;
  int64_t n = 0;
  if (ParseDigits(token, &n)) {
    if (n < f.min || n > f.max) {
      return Err(field + " field value " + Quote(token) + " is out of range " + RangeText(f));
    }
    return static_cast<int>(n);
  }
  const std::string upper = Upper(token);
  if (f.names != nullptr) {
    for (int i = 0; i <= f.max - f.min; ++i) {
      if (upper == f.names[i]) return f.min + i;
    }
  }
  // Wildcards of other fields ('?', '#', L, W as in 5L, LW, 15W) get a precise message.
  std::string wildcard;
  for (char c : upper) {
    if (c == '?' || c == '#') {
      wildcard = std::string(1, c);
      break;
    }
    if (!std::isdigit(static_cast<unsigned char>(c))) wildcard += c;
  }
  if (wildcard == "?" || wildcard == "#" || wildcard == "L" || wildcard == "W" ||
      wildcard == "LW") {
    return Err(field + " field does not allow '" + wildcard + "' (in " + Quote(token) + ")");
  }
  if (f.names != nullptr) {
    return Err(field + " field value " + Quote(token) + " is not a number " + RangeText(f) +
               " or a name " + f.names_text);
  }
  return Err(field + " field value " + Quote(token) + " is not a number " + RangeText(f));
}

// A list of `*`, values, ranges and increments: "*", "5", "1-5", "0/15", "*/5", "5-50/10".
Status ParseList(const FieldSpec& f, std::string_view field_text, ValueSet* out) {
  const std::string field = f.name;
  for (std::string_view item : SplitChar(field_text, ',')) {
    if (item.empty()) {
      return Err(field + " field has an empty value in " + Quote(field_text));
    }
    std::string_view base = item;
    std::string_view step_text;
    const size_t slash = item.find('/');
    const bool has_step = slash != std::string_view::npos;
    if (has_step) {
      base = item.substr(0, slash);
      step_text = item.substr(slash + 1);
    }
    int lo = 0;
    int hi = 0;
    if (base == "*") {
      lo = f.min;
      hi = f.max;
    } else if (const size_t dash = base.find('-'); dash != std::string_view::npos) {
      std::string_view a = base.substr(0, dash);
      std::string_view b = base.substr(dash + 1);
      if (a.empty() || b.empty()) {
        return Err(field + " field range " + Quote(item) + " is missing a bound");
      }
      ASSIGN_OR_RETURN(lo, ParseValue(f, a));
      ASSIGN_OR_RETURN(hi, ParseValue(f, b));
      if (lo > hi) {
        return Err(field + " field range " + Quote(base) + " starts after it ends");
      }
    } else {
      if (base.empty()) {
        return Err(field + " field increment " + Quote(item) + " needs a start value or '*'");
      }
      ASSIGN_OR_RETURN(lo, ParseValue(f, base));
      hi = has_step ? f.max : lo;
    }
    int step = 1;
    if (has_step) {
      int64_t n = 0;
      const int max_step = f.max - f.min;
      if (!ParseDigits(step_text, &n)) {
        return Err(field + " field increment " + Quote(step_text) + " in " + Quote(item) +
                   " is not a positive integer");
      }
      if (n < 1 || n > max_step) {
        return Err(field + " field increment " + Quote(step_text) + " in " + Quote(item) +
                   " is out of range 1-" + std::to_string(max_step));
      }
      step = static_cast<int>(n);
    }
    for (int v = lo; v <= hi; v += step) out->set(static_cast<size_t>(v));
  }
  return Status::Ok();
}

Status ParseDayOfMonth(std::string_view text, Impl* p) {
  using Mode = Impl::DomMode;
  const std::string upper = Upper(text);
  if (upper == "?") {
    p->dom_mode = Mode::kAny;
    return Status::Ok();
  }
  if (upper.find('?') != std::string::npos) {
    return Err("'?' must be the whole Day-of-month field, got " + Quote(text));
  }
  if (upper == "L") {
    p->dom_mode = Mode::kLast;
    return Status::Ok();
  }
  if (upper == "LW") {
    p->dom_mode = Mode::kLastWeekday;
    return Status::Ok();
  }
  if (upper.find('L') != std::string::npos || upper.find('W') != std::string::npos) {
    if (upper.size() >= 2 && upper.back() == 'W') {
      int64_t n = 0;
      std::string_view day = text.substr(0, text.size() - 1);
      if (ParseDigits(day, &n)) {
        if (n < 1 || n > 31) {
          return Err("Day-of-month field value " + Quote(day) + " in " + Quote(text) +
                     " is out of range 1-31");
        }
        p->dom_mode = Mode::kNearestWeekday;
        p->dom_day = static_cast<int>(n);
        return Status::Ok();
      }
    }
    return Err("Day-of-month field value " + Quote(text) +
               " is not valid: 'L' and 'W' are only allowed as L, LW or a single day followed "
               "by W (e.g. 15W), as the whole field");
  }
  ValueSet set;
  RETURN_IF_ERROR(ParseList(kDomField, text, &set));
  p->dom_mode = Mode::kSet;
  for (int d = 1; d <= 31; ++d) {
    if (set[d]) p->dom_days |= uint64_t{1} << d;
  }
  return Status::Ok();
}

Status ParseDayOfWeek(std::string_view text, Impl* p) {
  using Mode = Impl::DowMode;
  const std::string upper = Upper(text);
  if (upper == "?") {
    p->dow_mode = Mode::kAny;
    return Status::Ok();
  }
  if (upper.find('?') != std::string::npos) {
    return Err("'?' must be the whole Day-of-week field, got " + Quote(text));
  }
  const size_t hashes = static_cast<size_t>(std::count(upper.begin(), upper.end(), '#'));
  if (hashes > 1) {
    return Err("Day-of-week field allows at most one '#' expression, got " + Quote(text));
  }
  if (hashes == 1) {
    if (upper.find_first_of(",-/*L") != std::string::npos) {
      return Err("Day-of-week field value " + Quote(text) +
                 " is not valid: a '#' expression (e.g. 3#2 or TUE#2) must be the whole field");
    }
    const size_t hash = text.find('#');
    std::string_view day = text.substr(0, hash);
    std::string_view nth = text.substr(hash + 1);
    if (day.empty()) return Err("Day-of-week field value " + Quote(text) + " is missing the day");
    ASSIGN_OR_RETURN(int weekday, ParseValue(kDowField, day));
    int64_t k = 0;
    if (!ParseDigits(nth, &k) || k < 1 || k > 5) {
      return Err("Day-of-week field occurrence " + Quote(nth) + " in " + Quote(text) +
                 " is out of range 1-5");
    }
    p->dow_mode = Mode::kNth;
    p->dow_day = weekday;
    p->dow_nth = static_cast<int>(k);
    return Status::Ok();
  }
  if (upper == "L") {  // the last day of the week: Saturday
    p->dow_mode = Mode::kSet;
    p->dow_days = 1u << 7;
    return Status::Ok();
  }
  if (upper.find('L') != std::string::npos) {
    if (upper.size() >= 2 && upper.back() == 'L' &&
        upper.find_first_of(",-/*L") == upper.size() - 1) {
      ASSIGN_OR_RETURN(int weekday, ParseValue(kDowField, text.substr(0, text.size() - 1)));
      p->dow_mode = Mode::kLastOf;
      p->dow_day = weekday;
      return Status::Ok();
    }
    return Err("Day-of-week field value " + Quote(text) +
               " is not valid: 'L' is only allowed alone or after a single day (e.g. 6L or "
               "FRIL), as the whole field");
  }
  ValueSet set;
  RETURN_IF_ERROR(ParseList(kDowField, text, &set));
  p->dow_mode = Mode::kSet;
  for (int d = 1; d <= 7; ++d) {
    if (set[d]) p->dow_days |= 1u << d;
  }
  return Status::Ok();
}

Status ParseCron(std::string_view body, Impl* p) {
  const std::vector<std::string_view> fields = SplitWhitespace(body);
  if (fields.size() != 6) {
    return Err(
        "cron expressions need exactly 6 fields (Minutes Hours Day-of-month Month Day-of-week "
        "Year), got " +
        std::to_string(fields.size()));
  }
  ValueSet set;
  RETURN_IF_ERROR(ParseList(kMinutesField, fields[0], &set));
  for (int m = 0; m < 60; ++m) {
    if (set[m]) p->minutes |= uint64_t{1} << m;
  }
  set.reset();
  RETURN_IF_ERROR(ParseList(kHoursField, fields[1], &set));
  for (int h = 0; h < 24; ++h) {
    if (set[h]) p->hours |= 1u << h;
  }
  RETURN_IF_ERROR(ParseDayOfMonth(fields[2], p));
  set.reset();
  RETURN_IF_ERROR(ParseList(kMonthField, fields[3], &set));
  for (int m = 1; m <= 12; ++m) {
    if (set[m]) p->months |= 1u << m;
  }
  RETURN_IF_ERROR(ParseDayOfWeek(fields[4], p));
  set.reset();
  RETURN_IF_ERROR(ParseList(kYearField, fields[5], &set));
  for (int y = kMinYear; y <= kMaxYear; ++y) {
    if (set[y]) p->years.set(static_cast<size_t>(y - kMinYear));
  }
  const bool dom_any = p->dom_mode == Impl::DomMode::kAny;
  const bool dow_any = p->dow_mode == Impl::DowMode::kAny;
  if (dom_any && dow_any) {
    return Err("Day-of-month and Day-of-week cannot both be '?'; one of them must be '?'");
  }
  if (!dom_any && !dow_any) {
    return Err("one of Day-of-month and Day-of-week must be '?' (they cannot both be specified)");
  }
  return Status::Ok();
}

Status ParseRate(std::string_view body, Impl* p) {
  const std::vector<std::string_view> parts = SplitWhitespace(body);
  if (parts.size() != 2) {
    if (parts.size() == 1 && !parts[0].empty() &&
        std::isdigit(static_cast<unsigned char>(parts[0][0])) == 0) {
      return Err("rate value must be a positive integer, e.g. rate(5 minutes)");
    }
    return Err("rate expressions need a value and a unit, e.g. rate(5 minutes), got " +
               std::to_string(parts.size()) + " parts");
  }
  int64_t n = 0;
  if (!ParseDigits(parts[0], &n) || n < 1) {
    return Err("rate value must be a positive integer, got " + Quote(parts[0]));
  }
  if (n > kMaxRateValue) {
    return Err("rate value " + Quote(parts[0]) + " is too large (at most " +
               std::to_string(kMaxRateValue) + ")");
  }
  struct Unit {
    const char* singular;
    const char* plural;
    int64_t seconds;
  };
  static constexpr Unit kUnits[] = {
      {"minute", "minutes", 60}, {"hour", "hours", 3600}, {"day", "days", 86400}};
  const std::string_view unit = parts[1];
  for (const Unit& u : kUnits) {
    if (unit == u.singular || unit == u.plural) {
      const bool plural = unit == u.plural;
      if (n == 1 && plural) {
        return Err(std::string("rate unit must be singular ('") + u.singular +
                   "') when the value is 1");
      }
      if (n > 1 && !plural) {
        return Err(std::string("rate unit must be plural ('") + u.plural +
                   "') when the value is greater than 1");
      }
      p->rate = true;
      p->period = n * u.seconds;
      return Status::Ok();
    }
  }
  return Err("rate unit must be one of minute, minutes, hour, hours, day, days, got " +
             Quote(unit));
}

Status ParseInto(std::string_view expression, Impl* p) {
  std::string_view s = TrimView(expression);
  bool cron = false;
  if (s.substr(0, 4) == "cron") {
    cron = true;
  } else if (s.substr(0, 4) != "rate") {
    return Err("expression must start with cron( or rate(");
  }
  s.remove_prefix(4);
  while (!s.empty() && IsSpace(s.front())) s.remove_prefix(1);
  if (s.empty() || s.front() != '(') return Err("expression must start with cron( or rate(");
  s.remove_prefix(1);
  if (s.empty() || s.back() != ')') return Err("expression must end with ')'");
  s.remove_suffix(1);
  if (s.find_first_of("()") != std::string_view::npos) {
    return Err("expression has unexpected parentheses");
  }
  return cron ? ParseCron(s, p) : ParseRate(s, p);
}

int64_t FloorDiv(int64_t a, int64_t b) {  // b > 0
  int64_t q = a / b;
  if (a % b != 0 && a < 0) --q;
  return q;
}

bool IsLeap(int64_t y) { return (y % 4 == 0 && y % 100 != 0) || y % 400 == 0; }

int DaysInMonth(int64_t y, unsigned m) {
  static constexpr int kDays[] = {31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};
  return (m == 2 && IsLeap(y)) ? 29 : kDays[m - 1];
}

// 1 = Sunday ... 7 = Saturday; day 0 (1970-01-01) was a Thursday.
int Weekday(int64_t days_since_epoch) {
  return static_cast<int>(((days_since_epoch % 7) + 7 + 4) % 7) + 1;
}

// Bits 1..31: the days of (y, m) on which the day fields allow firing.
uint64_t DayMask(const Impl& p, int64_t y, unsigned m) {
  const int dim = DaysInMonth(y, m);
  const int wd1 = Weekday(DaysFromCivil(y, m, 1));
  auto weekday = [wd1](int d) { return (wd1 - 1 + d - 1) % 7 + 1; };
  const uint64_t in_month = ((uint64_t{1} << (dim + 1)) - 1) & ~uint64_t{1};
  auto bit = [](int d) { return uint64_t{1} << d; };
  switch (p.dom_mode) {
    case Impl::DomMode::kSet:
      return p.dom_days & in_month;
    case Impl::DomMode::kLast:
      return bit(dim);
    case Impl::DomMode::kLastWeekday: {
      const int w = weekday(dim);
      return bit(w == 7 ? dim - 1 : w == 1 ? dim - 2 : dim);
    }
    case Impl::DomMode::kNearestWeekday: {
      const int n = p.dom_day;
      if (n > dim) return 0;
      const int w = weekday(n);
      if (w == 7) return bit(n == 1 ? 3 : n - 1);        // Saturday: Friday, or Monday the 3rd
      if (w == 1) return bit(n == dim ? n - 2 : n + 1);  // Sunday: Monday, or Friday
      return bit(n);
    }
    case Impl::DomMode::kAny:
      break;
  }
  switch (p.dow_mode) {
    case Impl::DowMode::kSet: {
      uint64_t mask = 0;
      for (int d = 1; d <= dim; ++d) {
        if ((p.dow_days >> weekday(d)) & 1) mask |= bit(d);
      }
      return mask;
    }
    case Impl::DowMode::kLastOf:
      return bit(dim - (weekday(dim) - p.dow_day + 7) % 7);
    case Impl::DowMode::kNth: {
      const int first = 1 + (p.dow_day - wd1 + 7) % 7;
      const int d = first + 7 * (p.dow_nth - 1);
      return d <= dim ? bit(d) : 0;
    }
    case Impl::DowMode::kAny:
      break;
  }
  return 0;  // unreachable after Parse: one of the two day fields is specified
}

// First minute (epoch minutes) of 2200-01-01: cron schedules end before it.
int64_t EndMinute() { return DaysFromCivil(kMaxYear + 1, 1, 1) * kMinutesPerDay; }

struct MinuteParts {
  int64_t year;
  unsigned month;
  unsigned day;
  int hour;
  int minute;
};

MinuteParts Decompose(int64_t epoch_minute) {
  MinuteParts r{};
  const int64_t days = FloorDiv(epoch_minute, kMinutesPerDay);
  const int rem = static_cast<int>(epoch_minute - days * kMinutesPerDay);
  CivilFromDays(days, &r.year, &r.month, &r.day);
  r.hour = rem / 60;
  r.minute = rem % 60;
  return r;
}

int64_t ToEpochSeconds(int64_t y, unsigned m, unsigned d, int h, int mi) {
  return (DaysFromCivil(y, m, d) * kMinutesPerDay + h * 60 + mi) * 60;
}

std::optional<int64_t> CronNext(const Impl& p, int64_t after) {
  int64_t start = FloorDiv(after, 60) + 1;  // first whole minute strictly after `after`
  if (start < 0) start = 0;
  if (start >= EndMinute()) return std::nullopt;
  const MinuteParts s = Decompose(start);
  for (int64_t y = s.year; y <= kMaxYear; ++y) {
    if (!p.years[static_cast<size_t>(y - kMinYear)]) continue;
    const bool same_year = y == s.year;
    for (unsigned m = same_year ? s.month : 1; m <= 12; ++m) {
      if (((p.months >> m) & 1) == 0) continue;
      const bool same_month = same_year && m == s.month;
      const uint64_t days = DayMask(p, y, m);
      for (unsigned d = same_month ? s.day : 1; d <= 31; ++d) {
        if (((days >> d) & 1) == 0) continue;
        const bool same_day = same_month && d == s.day;
        for (int h = same_day ? s.hour : 0; h < 24; ++h) {
          if (((p.hours >> h) & 1) == 0) continue;
          const int from = (same_day && h == s.hour) ? s.minute : 0;
          const uint64_t mins = p.minutes & (~uint64_t{0} << from);
          if (mins == 0) continue;
          return ToEpochSeconds(y, m, d, h, std::countr_zero(mins));
        }
      }
    }
  }
  return std::nullopt;
}

std::optional<int64_t> CronPrevious(const Impl& p, int64_t at) {
  int64_t end = FloorDiv(at, 60);  // last whole minute <= `at`
  if (end < 0) return std::nullopt;
  if (end >= EndMinute()) end = EndMinute() - 1;
  const MinuteParts e = Decompose(end);
  for (int64_t y = e.year; y >= kMinYear; --y) {
    if (!p.years[static_cast<size_t>(y - kMinYear)]) continue;
    const bool same_year = y == e.year;
    for (unsigned m = same_year ? e.month : 12; m >= 1; --m) {
      if (((p.months >> m) & 1) == 0) continue;
      const bool same_month = same_year && m == e.month;
      const uint64_t days = DayMask(p, y, m);
      for (unsigned d = same_month ? e.day : 31; d >= 1; --d) {
        if (((days >> d) & 1) == 0) continue;
        const bool same_day = same_month && d == e.day;
        for (int h = same_day ? e.hour : 23; h >= 0; --h) {
          if (((p.hours >> h) & 1) == 0) continue;
          const int to = (same_day && h == e.hour) ? e.minute : 59;
          const uint64_t mins = p.minutes & ((uint64_t{2} << to) - 1);
          if (mins == 0) continue;
          return ToEpochSeconds(y, m, d, h, std::bit_width(mins) - 1);
        }
      }
    }
  }
  return std::nullopt;
}

}  // namespace

Result<ScheduleExpression> ScheduleExpression::Parse(const std::string& expression) {
  auto impl = std::make_shared<Impl>();
  Status st = ParseInto(expression, impl.get());
  if (!st.ok()) {
    std::string quoted = expression.size() <= kMaxQuotedLength
                             ? expression
                             : expression.substr(0, kMaxQuotedLength) + "...";
    return Status::InvalidArgument("Invalid schedule expression '" + quoted + "': " + st.message());
  }
  return ScheduleExpression(expression, std::move(impl));
}

std::optional<int64_t> ScheduleExpression::NextFireAfter(int64_t after) const {
  if (impl_ == nullptr) return std::nullopt;
  if (!impl_->rate) return CronNext(*impl_, after);
  const int64_t q = FloorDiv(after, impl_->period);  // q * period <= after
  int64_t next = 0;
  if (__builtin_mul_overflow(q + 1, impl_->period, &next)) return std::nullopt;
  return next;
}

std::optional<int64_t> ScheduleExpression::PreviousFireAtOrBefore(int64_t at) const {
  if (impl_ == nullptr) return std::nullopt;
  if (!impl_->rate) return CronPrevious(*impl_, at);
  const int64_t q = FloorDiv(at, impl_->period);
  int64_t prev = 0;
  if (__builtin_mul_overflow(q, impl_->period, &prev)) return std::nullopt;
  return prev;
}

bool ScheduleExpression::is_rate() const { return impl_ != nullptr && impl_->rate; }

int64_t ScheduleExpression::rate_seconds() const { return is_rate() ? impl_->period : 0; }

int64_t ScheduleExpression::MinIntervalSeconds() const {
  if (impl_ == nullptr) return 0;
  if (impl_->rate) return impl_->period;
  int first = -1;
  int last = -1;
  int64_t best = kMinutesPerDay;
  for (int h = 0; h < 24; ++h) {
    if (((impl_->hours >> h) & 1) == 0) continue;
    for (int m = 0; m < 60; ++m) {
      if (((impl_->minutes >> m) & 1) == 0) continue;
      const int t = h * 60 + m;
      if (first < 0) first = t;
      if (last >= 0 && t - last < best) best = t - last;
      last = t;
    }
  }
  if (first < 0) return 0;
  const int64_t wrap = kMinutesPerDay - last + first;
  return (wrap < best ? wrap : best) * 60;
}

}  // namespace sluice
