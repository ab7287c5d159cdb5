#include "iotsql/expression.h"

#include <nettle/md2.h>
#include <nettle/md5.h>
#include <nettle/sha1.h>
#include <nettle/sha2.h>
#include <unicode/locid.h>
#include <unicode/parsepos.h>
#include <unicode/regex.h>
#include <unicode/smpdtfmt.h>
#include <unicode/timezone.h>
#include <unicode/unistr.h>

#include <algorithm>
#include <charconv>
#include <cmath>
#include <cstdint>
#include <cstdio>
#include <cstring>
#include <deque>
#include <iterator>
#include <limits>
#include <random>
#include <string_view>
#include <system_error>
#include <utility>
#include <vector>

#include "common/strings.h"

namespace sluice::iotsql {

namespace {

using Int = int64_t;
using I128 = __int128;

constexpr Int kIntMin = std::numeric_limits<Int>::min();
constexpr Int kIntMax = std::numeric_limits<Int>::max();
// Largest string a function may build (replace, lpad, concat of huge inputs).
constexpr size_t kMaxBuiltString = 16u << 20;
constexpr const char* kSqlVersion = "2016-03-23";

// ---------------------------------------------------------------------------------------------
// Numbers. An Int is an int64; a Decimal is a double that is not a whole number (SQL version
// 2016-03-23 treats whole-number decimals as Ints).

struct Num {
  bool is_int = true;
  Int i = 0;
  double d = 0;
  double AsDouble() const { return is_int ? static_cast<double>(i) : d; }
  long double AsLong() const { return is_int ? static_cast<long double>(i) : d; }
};

bool DoubleFitsInt(double d) {
  return d == std::trunc(d) && d >= -9223372036854775808.0 && d < 9223372036854775808.0;
}

Num NumFromDouble(double d) {
  if (DoubleFitsInt(d)) return Num{true, static_cast<Int>(d), 0};
  return Num{false, 0, d};
}

// The whole-number rule applied to a computed double; NaN and infinities are Undefined.
Value MakeDouble(double d) {
  if (!std::isfinite(d)) return std::nullopt;
  if (DoubleFitsInt(d)) return Json(static_cast<Int>(d));
  return Json(d);
}

Json NumToJson(const Num& n) { return n.is_int ? Json(n.i) : Json(n.d); }

// Int or Decimal held in JSON; nullopt for every other type.
std::optional<Num> NumOf(const Json& j) {
  switch (j.type()) {
    case Json::value_t::number_integer:
      return Num{true, j.get<Int>(), 0};
    case Json::value_t::number_unsigned: {
      uint64_t u = j.get<uint64_t>();
      if (u <= static_cast<uint64_t>(kIntMax)) return Num{true, static_cast<Int>(u), 0};
      return Num{false, 0, static_cast<double>(u)};
    }
    case Json::value_t::number_float: {
      double d = j.get<double>();
      if (!std::isfinite(d)) return std::nullopt;
      return NumFromDouble(d);
    }
    default:
      return std::nullopt;
  }
}

// Recursion guard for walking JSON values (equality, text conversion, normalization).
constexpr int kMaxValueDepth = 512;

// Copies `src` applying the whole-number rule (`{"t":10.0}` reads as 10); false when it is
// deeper than kMaxValueDepth. nlohmann copies recursively, so a hostile message must never be
// copied wholesale.
bool CopyNormalized(const Json& src, Json* dst, int depth) {
  if (depth > kMaxValueDepth) return false;
  switch (src.type()) {
    case Json::value_t::array: {
      *dst = Json::array();
      auto& out = dst->get_ref<Json::array_t&>();
      out.reserve(src.size());
      for (const Json& child : src) {
        out.emplace_back();
        if (!CopyNormalized(child, &out.back(), depth + 1)) return false;
      }
      return true;
    }
    case Json::value_t::object: {
      *dst = Json::object();
      auto& out = dst->get_ref<Json::object_t&>();
      for (auto it = src.begin(); it != src.end(); ++it) {
        if (!CopyNormalized(it.value(), &out[it.key()], depth + 1)) return false;
      }
      return true;
    }
    case Json::value_t::number_float:
    case Json::value_t::number_unsigned: {
      auto n = NumOf(src);
      *dst = n ? NumToJson(*n) : src;
      return true;
    }
    default:
      *dst = src;
      return true;
  }
}

// A value read from the message or a decoded payload; Undefined when too deep to copy.
Value Normalized(const Json& src) {
  Json out;
  if (!CopyNormalized(src, &out, 0)) return std::nullopt;
  return out;
}

bool IsDigit(char c) { return c >= '0' && c <= '9'; }

// The strict numeric-string pattern ^-?\d+(\.\d+)?([eE]-?\d+)?$ of implicit conversion.
std::optional<Num> ParseNumericString(std::string_view s) {
  size_t i = 0;
  const size_t n = s.size();
  if (i < n && s[i] == '-') ++i;
  size_t start = i;
  while (i < n && IsDigit(s[i])) ++i;
  if (i == start) return std::nullopt;
  bool plain = true;
  if (i < n && s[i] == '.') {
    ++i;
    size_t f = i;
    while (i < n && IsDigit(s[i])) ++i;
    if (i == f) return std::nullopt;
    plain = false;
  }
  if (i < n && (s[i] == 'e' || s[i] == 'E')) {
    ++i;
    if (i < n && s[i] == '-') ++i;
    size_t e = i;
    while (i < n && IsDigit(s[i])) ++i;
    if (i == e) return std::nullopt;
    plain = false;
  }
  if (i != n) return std::nullopt;
  if (plain) {
    Int v = 0;
    auto [p, ec] = std::from_chars(s.data(), s.data() + n, v);
    if (ec == std::errc() && p == s.data() + n) return Num{true, v, 0};
  }
  double d = 0;
  auto [p, ec] = std::from_chars(s.data(), s.data() + n, d);
  if (ec != std::errc() || p != s.data() + n || !std::isfinite(d)) return std::nullopt;
  return NumFromDouble(d);
}

// Implicit conversion to a number: Int, Decimal, or a numeric String. Null, Boolean, Array,
// Object and Undefined give nullopt (every function and operator then yields Undefined).
std::optional<Num> ToNumber(const Value& v) {
  if (!v) return std::nullopt;
  if (v->is_string()) return ParseNumericString(v->get_ref<const std::string&>());
  return NumOf(*v);
}

// Implicit conversion to an Int index: as ToNumber, then floored (clamped to the Int range).
std::optional<Int> ToIntFloor(const Value& v) {
  auto n = ToNumber(v);
  if (!n) return std::nullopt;
  if (n->is_int) return n->i;
  double f = std::floor(n->d);
  if (f >= 9223372036854775807.0) return kIntMax;
  if (f <= -9223372036854775808.0) return kIntMin;
  return static_cast<Int>(f);
}

int CompareNum(const Num& a, const Num& b) {
  if (a.is_int && b.is_int) return a.i < b.i ? -1 : (a.i > b.i ? 1 : 0);
  long double x = a.AsLong(), y = b.AsLong();
  return x < y ? -1 : (x > y ? 1 : 0);
}

// --- exact decimal arithmetic on the operands' shortest text, rounded once to a double ---

struct Dec {
  I128 coef = 0;
  int exp = 0;  // value = coef * 10^exp
};

int DigitCount(I128 v) {
  if (v < 0) v = -v;
  int n = 1;
  while (v >= 10) {
    v /= 10;
    ++n;
  }
  return n;
}

I128 Pow10(int k) {
  I128 r = 1;
  for (int i = 0; i < k; ++i) r *= 10;
  return r;
}

std::string I128ToString(I128 v) {
  if (v == 0) return "0";
  bool neg = v < 0;
  std::string s;
  while (v != 0) {
    int digit = static_cast<int>(v % 10);
    s.push_back(static_cast<char>('0' + (digit < 0 ? -digit : digit)));
    v /= 10;
  }
  if (neg) s.push_back('-');
  std::reverse(s.begin(), s.end());
  return s;
}

Dec DecOf(const Num& n) {
  if (n.is_int) return Dec{n.i, 0};
  char buf[64];
  auto res = std::to_chars(buf, buf + sizeof(buf), n.d, std::chars_format::scientific);
  std::string_view text(buf, static_cast<size_t>(res.ptr - buf));
  Dec d;
  bool neg = false;
  size_t i = 0;
  if (i < text.size() && text[i] == '-') {
    neg = true;
    ++i;
  }
  int frac_digits = 0;
  bool after_point = false;
  for (; i < text.size() && text[i] != 'e'; ++i) {
    if (text[i] == '.') {
      after_point = true;
      continue;
    }
    d.coef = d.coef * 10 + (text[i] - '0');
    if (after_point) ++frac_digits;
  }
  int e = 0;
  if (i < text.size()) {
    std::string_view exp_text = text.substr(i + 1);
    if (!exp_text.empty() && exp_text[0] == '+') exp_text.remove_prefix(1);
    std::from_chars(exp_text.data(), exp_text.data() + exp_text.size(), e);
  }
  d.exp = e - frac_digits;
  if (neg) d.coef = -d.coef;
  return d;
}

Value DecToValue(Dec d) {
  if (d.coef == 0) return Json(0);
  while (d.coef % 10 == 0) {
    d.coef /= 10;
    ++d.exp;
  }
  if (d.exp >= 0 && DigitCount(d.coef) + d.exp <= 19) {
    I128 v = d.coef * Pow10(d.exp);
    if (v >= kIntMin && v <= kIntMax) return Json(static_cast<Int>(v));
  }
  std::string text = I128ToString(d.coef) + "e" + std::to_string(d.exp);
  double v = 0;
  auto [p, ec] = std::from_chars(text.data(), text.data() + text.size(), v);
  if (ec == std::errc::result_out_of_range) {
    // Underflow rounds to zero; overflow has no Decimal.
    if (d.exp + DigitCount(d.coef) < 0) return Json(0);
    return std::nullopt;
  }
  if (ec != std::errc()) return std::nullopt;
  return MakeDouble(v);
}

// Brings both to the smaller exponent; false when a coefficient would overflow.
bool Align(Dec* a, Dec* b) {
  if (a->exp == b->exp) return true;
  Dec* hi = a->exp > b->exp ? a : b;
  Dec* lo = a->exp > b->exp ? b : a;
  int shift = hi->exp - lo->exp;
  if (hi->coef != 0 && DigitCount(hi->coef) + shift > 37) return false;
  hi->coef *= Pow10(shift);
  hi->exp = lo->exp;
  return true;
}

enum class BinOp { kAdd, kSub, kMul, kDiv, kMod, kEq, kNe, kLt, kLe, kGt, kGe, kAnd, kOr };

Value DecArith(BinOp op, const Num& a, const Num& b) {
  Dec x = DecOf(a), y = DecOf(b);
  switch (op) {
    case BinOp::kAdd:
    case BinOp::kSub:
      if (!Align(&x, &y)) {
        return MakeDouble(op == BinOp::kAdd ? a.AsDouble() + b.AsDouble()
                                            : a.AsDouble() - b.AsDouble());
      }
      return DecToValue(Dec{op == BinOp::kAdd ? x.coef + y.coef : x.coef - y.coef, x.exp});
    case BinOp::kMul:
      if (DigitCount(x.coef) + DigitCount(y.coef) > 38)
        return MakeDouble(a.AsDouble() * b.AsDouble());
      return DecToValue(Dec{x.coef * y.coef, x.exp + y.exp});
    case BinOp::kDiv: {
      if (y.coef == 0) return std::nullopt;
      if (x.coef == 0) return Json(0);
      int k = 37 - DigitCount(x.coef);
      I128 num = x.coef * Pow10(k);
      I128 q = num / y.coef;
      I128 r = num % y.coef;
      int exp = x.exp - k - y.exp;
      if (r != 0 && DigitCount(q) <= 36) {
        // Sticky digit so the single rounding to double sees an inexact quotient.
        q = q * 10 + (((num < 0) != (y.coef < 0)) ? -1 : 1);
        --exp;
      }
      return DecToValue(Dec{q, exp});
    }
    case BinOp::kMod:
      if (y.coef == 0) return std::nullopt;
      if (!Align(&x, &y)) return MakeDouble(std::fmod(a.AsDouble(), b.AsDouble()));
      return DecToValue(Dec{x.coef % y.coef, x.exp});
    default:
      return std::nullopt;
  }
}

// + - * / % on two numbers. Int with Int stays Int (division truncates toward zero, the
// remainder takes the dividend's sign, division by zero is Undefined); overflow becomes Decimal.
Value Arith(BinOp op, const Num& a, const Num& b) {
  if (a.is_int && b.is_int) {
    Int r = 0;
    switch (op) {
      case BinOp::kAdd:
        if (!__builtin_add_overflow(a.i, b.i, &r)) return Json(r);
        break;
      case BinOp::kSub:
        if (!__builtin_sub_overflow(a.i, b.i, &r)) return Json(r);
        break;
      case BinOp::kMul:
        if (!__builtin_mul_overflow(a.i, b.i, &r)) return Json(r);
        break;
      case BinOp::kDiv:
        if (b.i == 0) return std::nullopt;
        if (a.i == kIntMin && b.i == -1) break;
        return Json(a.i / b.i);
      case BinOp::kMod:
        if (b.i == 0) return std::nullopt;
        if (b.i == -1) return Json(0);
        return Json(a.i % b.i);
      default:
        return std::nullopt;
    }
  }
  return DecArith(op, a, b);
}

// ---------------------------------------------------------------------------------------------
// Conversions.

bool DepthExceeds(const Json& j, int limit) {
  if (!j.is_structured()) return false;
  if (limit <= 0) return true;
  for (const auto& child : j) {
    if (DepthExceeds(child, limit - 1)) return true;
  }
  return false;
}

std::string NumToString(const Num& n) {
  if (n.is_int) return std::to_string(n.i);
  char buf[64];
  auto res = std::to_chars(buf, buf + sizeof(buf), n.d);
  return std::string(buf, res.ptr);
}

// Implicit conversion to String: Null and Undefined have none.
std::optional<std::string> ToStr(const Value& v) {
  if (!v) return std::nullopt;
  const Json& j = *v;
  switch (j.type()) {
    case Json::value_t::string:
      return j.get<std::string>();
    case Json::value_t::boolean:
      return j.get<bool>() ? "true" : "false";
    case Json::value_t::number_integer:
    case Json::value_t::number_unsigned:
    case Json::value_t::number_float: {
      auto n = NumOf(j);
      if (!n) return std::nullopt;
      return NumToString(*n);
    }
    case Json::value_t::array:
    case Json::value_t::object:
      if (DepthExceeds(j, kMaxValueDepth)) return std::nullopt;
      return j.dump(-1, ' ', false, Json::error_handler_t::replace);
    default:
      return std::nullopt;
  }
}

bool EqualsIgnoreCase(std::string_view a, std::string_view b) {
  if (a.size() != b.size()) return false;
  for (size_t i = 0; i < a.size(); ++i) {
    char x = a[i], y = b[i];
    if (x >= 'A' && x <= 'Z') x = static_cast<char>(x - 'A' + 'a');
    if (y >= 'A' && y <= 'Z') y = static_cast<char>(y - 'A' + 'a');
    if (x != y) return false;
  }
  return true;
}

// Operands of AND, OR, NOT: Booleans and the strings "true"/"false" in any case.
std::optional<bool> ToLogic(const Value& v) {
  if (!v) return std::nullopt;
  if (v->is_boolean()) return v->get<bool>();
  if (v->is_string()) {
    const std::string& s = v->get_ref<const std::string&>();
    if (EqualsIgnoreCase(s, "true")) return true;
    if (EqualsIgnoreCase(s, "false")) return false;
  }
  return std::nullopt;
}

bool IsTrue(const Value& v) { return v && v->is_boolean() && v->get<bool>(); }

// `=` on two defined values: numbers by value, same-type values structurally, mismatched
// types false.
bool SqlEquals(const Json& a, const Json& b, int depth = 0) {
  if (depth > kMaxValueDepth) return false;
  auto na = NumOf(a), nb = NumOf(b);
  if (na && nb) return CompareNum(*na, *nb) == 0;
  if (na || nb) return false;
  if (a.type() != b.type()) return false;
  switch (a.type()) {
    case Json::value_t::array: {
      if (a.size() != b.size()) return false;
      for (size_t i = 0; i < a.size(); ++i) {
        if (!SqlEquals(a[i], b[i], depth + 1)) return false;
      }
      return true;
    }
    case Json::value_t::object: {
      if (a.size() != b.size()) return false;
      for (auto it = a.begin(); it != a.end(); ++it) {
        auto other = b.find(it.key());
        if (other == b.end() || !SqlEquals(it.value(), *other, depth + 1)) return false;
      }
      return true;
    }
    default:
      return a == b;
  }
}

// --- Unicode helpers (ICU strings are UTF-16, matching Java's String indexing) ---

icu::UnicodeString U(std::string_view s) {
  return icu::UnicodeString::fromUTF8(icu::StringPiece(s.data(), static_cast<int32_t>(s.size())));
}

std::string S(const icu::UnicodeString& u) {
  std::string out;
  u.toUTF8String(out);
  return out;
}

bool IsValidUtf8(std::string_view s) {
  size_t i = 0;
  while (i < s.size()) {
    unsigned char c = static_cast<unsigned char>(s[i]);
    size_t len = c < 0x80           ? 1
                 : (c >> 5) == 0x6  ? 2
                 : (c >> 4) == 0xe  ? 3
                 : (c >> 3) == 0x1e ? 4
                                    : 0;
    if (len == 0 || i + len > s.size()) return false;
    uint32_t cp = len == 1 ? c : len == 2 ? (c & 0x1f) : len == 3 ? (c & 0x0f) : (c & 0x07);
    for (size_t k = 1; k < len; ++k) {
      unsigned char cc = static_cast<unsigned char>(s[i + k]);
      if ((cc & 0xc0) != 0x80) return false;
      cp = (cp << 6) | (cc & 0x3f);
    }
    if ((len == 2 && cp < 0x80) || (len == 3 && cp < 0x800) || (len == 4 && cp < 0x10000) ||
        cp > 0x10ffff || (cp >= 0xd800 && cp <= 0xdfff)) {
      return false;
    }
    i += len;
  }
  return true;
}

std::string ValidUtf8(std::string s) {
  if (IsValidUtf8(s)) return s;
  return S(U(s));  // invalid sequences become U+FFFD
}

}  // namespace

// ---------------------------------------------------------------------------------------------
// AST.

enum class NodeKind {
  kLiteral,
  kAttribute,  // name, resolved in the current message
  kStar,       // the current message itself (`*`)
  kMember,     // children[0].name
  kIndex,      // children[0][children[1]]
  kNeg,
  kNot,
  kBinary,
  kIsCheck,  // children[0] IS [NOT] NULL/UNDEFINED
  kCase,
  kCall,
  kCast,
  kObject,
  kArray,
  kSelect,  // nested (SELECT ... FROM ... [WHERE ...])
};

enum class CastType { kString, kInt, kDecimal, kDouble, kBool };

struct FunctionSpec;

struct Node {
  NodeKind kind = NodeKind::kLiteral;
  size_t pos = 0;
  int depth = 1;
  Json literal;
  std::string name;
  BinOp op = BinOp::kAdd;
  bool negated = false;       // kIsCheck: IS NOT
  bool check_null = false;    // kIsCheck: NULL rather than UNDEFINED
  bool has_subject = false;   // kCase: simple form (children[0] is the subject)
  bool has_else = false;      // kCase: last child is the ELSE result
  bool select_value = false;  // kSelect: SELECT VALUE
  bool has_where = false;     // kSelect: last child is WHERE
  CastType cast_type = CastType::kString;
  const FunctionSpec* fn = nullptr;
  std::vector<std::unique_ptr<Node>> children;
  // kObject: member names; kSelect: one output key per item ("" for `*`), items are the first
  // keys.size() children, then FROM, then WHERE.
  std::vector<std::string> keys;
  std::shared_ptr<const icu::RegexPattern> regex;  // kCall with a literal pattern
};

using Args = std::vector<Value>;
using Impl = Value (*)(const Args& a, const Node& call, const EvalContext& ctx);

struct FunctionSpec {
  const char* name;
  int min_args;
  int max_args;  // -1: any number
  Impl impl;
  bool math;      // allowed in Dialect::kMath
  bool is_regex;  // second argument is a pattern worth compiling at parse time
};

namespace {

using NodePtr = std::unique_ptr<Node>;

Value EvalNode(const Node& n, const Json& cur, const EvalContext& ctx);

// ---------------------------------------------------------------------------------------------
// Functions.

Value DoubleFn(const Value& v, double (*f)(double)) {
  auto n = ToNumber(v);
  if (!n) return std::nullopt;
  return MakeDouble(f(n->AsDouble()));
}

Value ArithValues(BinOp op, const Value& l, const Value& r) {
  if (!l || !r) return std::nullopt;
  if (op == BinOp::kAdd && (l->is_string() || r->is_string())) {
    auto ls = ToStr(l), rs = ToStr(r);
    if (!ls || !rs) return std::nullopt;
    if (ls->size() + rs->size() > kMaxBuiltString) return std::nullopt;
    return Json(*ls + *rs);
  }
  auto a = ToNumber(l), b = ToNumber(r);
  if (!a || !b) return std::nullopt;
  return Arith(op, *a, *b);
}

Value FnAbs(const Args& a, const Node&, const EvalContext&) {
  auto n = ToNumber(a[0]);
  if (!n) return std::nullopt;
  if (n->is_int) {
    if (n->i == kIntMin) return MakeDouble(-static_cast<double>(n->i));
    return Json(n->i < 0 ? -n->i : n->i);
  }
  return MakeDouble(std::fabs(n->d));
}

template <double (*F)(double)>
Value FnRoundLike(const Args& a, const Node&, const EvalContext&) {
  auto n = ToNumber(a[0]);
  if (!n) return std::nullopt;
  if (n->is_int) return Json(n->i);
  return MakeDouble(F(n->d));
}

double Ceil(double x) { return std::ceil(x); }
double Floor(double x) { return std::floor(x); }
double RoundHalfAway(double x) { return std::round(x); }

Value FnSign(const Args& a, const Node&, const EvalContext&) {
  auto n = ToNumber(a[0]);
  if (!n) return std::nullopt;
  double x = n->AsDouble();
  return Json(x > 0 ? 1 : (x < 0 ? -1 : 0));
}

Value FnTrunc(const Args& a, const Node&, const EvalContext&) {
  auto x = ToNumber(a[0]);
  if (!x || !a[1]) return std::nullopt;
  auto places_num = NumOf(*a[1]);  // Int or Decimal only
  if (!places_num) return std::nullopt;
  if (x->is_int) return Json(x->i);
  double p = places_num->is_int ? static_cast<double>(places_num->i) : std::floor(places_num->d);
  int places = static_cast<int>(std::clamp(p, 0.0, 34.0));
  Dec d = DecOf(*x);
  if (-d.exp > places) {
    int cut = -d.exp - places;
    d.coef = cut > 38 ? 0 : d.coef / Pow10(cut);
    d.exp = -places;
  }
  return DecToValue(d);
}

Value FnMod(const Args& a, const Node&, const EvalContext&) {
  return ArithValues(BinOp::kMod, a[0], a[1]);
}

Value FnPower(const Args& a, const Node&, const EvalContext&) {
  auto x = ToNumber(a[0]), y = ToNumber(a[1]);
  if (!x || !y) return std::nullopt;
  return MakeDouble(std::pow(x->AsDouble(), y->AsDouble()));
}

Value FnAtan2(const Args& a, const Node&, const EvalContext&) {
  auto y = ToNumber(a[0]), x = ToNumber(a[1]);
  if (!y || !x) return std::nullopt;
  return MakeDouble(std::atan2(y->AsDouble(), x->AsDouble()));
}

template <double (*F)(double)>
Value FnDouble(const Args& a, const Node&, const EvalContext&) {
  return DoubleFn(a[0], F);
}

double Acos(double x) { return std::acos(x); }
double Asin(double x) { return std::asin(x); }
double Atan(double x) { return std::atan(x); }
double Cos(double x) { return std::cos(x); }
double Cosh(double x) { return std::cosh(x); }
double Exp(double x) { return std::exp(x); }
double Ln(double x) { return x <= 0 ? std::nan("") : std::log(x); }
double Log10(double x) { return x <= 0 ? std::nan("") : std::log10(x); }
double Sin(double x) { return std::sin(x); }
double Sinh(double x) { return std::sinh(x); }
double Sqrt(double x) { return std::sqrt(x); }
double Tan(double x) { return std::tan(x); }
double Tanh(double x) { return std::tanh(x); }

template <int kOp>
Value FnBit2(const Args& a, const Node&, const EvalContext&) {
  auto x = ToIntFloor(a[0]), y = ToIntFloor(a[1]);
  if (!x || !y) return std::nullopt;
  if (kOp == 0) return Json(*x & *y);
  if (kOp == 1) return Json(*x | *y);
  return Json(*x ^ *y);
}

// bitnot: the doc's example bitnot(13) = 2 is reproduced by inverting only the argument's
// significant bits (13 = 0b1101 -> 0b0010). Negative arguments get plain two's complement.
Value FnBitNot(const Args& a, const Node&, const EvalContext&) {
  auto x = ToIntFloor(a[0]);
  if (!x) return std::nullopt;
  if (*x < 0) return Json(~*x);
  int bits = 1;
  while (bits < 63 && (*x >> bits) != 0) ++bits;
  Int mask = (Int{1} << bits) - 1;
  return Json(~*x & mask);
}

Value FnNanvl(const Args& a, const Node&, const EvalContext&) {
  if (!a[0] || a[0]->is_null()) return a[1];
  return a[0];
}

Value FnRand(const Args&, const Node&, const EvalContext&) {
  thread_local std::mt19937_64 rng{std::random_device{}()};
  std::uniform_real_distribution<double> dist(0.0, 1.0);
  return Json(dist(rng));
}

// --- strings ---

Value FnConcat(const Args& a, const Node&, const EvalContext&) {
  if (a.empty()) return std::nullopt;
  if (a.size() == 1) return a[0];
  bool any_array = false, any_string = false;
  for (const Value& v : a) {
    if (!v) return std::nullopt;
    any_array |= v->is_array();
    any_string |= v->is_string();
  }
  if (any_array) {
    Json out = Json::array();
    for (const Value& v : a) {
      if (v->is_array()) {
        for (const auto& e : *v) out.push_back(e);
      } else {
        out.push_back(*v);
      }
    }
    return out;
  }
  if (!any_string) return std::nullopt;
  std::string out;
  for (const Value& v : a) {
    auto s = ToStr(v);
    if (!s) return std::nullopt;
    out += *s;
    if (out.size() > kMaxBuiltString) return std::nullopt;
  }
  return Json(out);
}

Value FnLower(const Args& a, const Node&, const EvalContext&) {
  auto s = ToStr(a[0]);
  if (!s) return std::nullopt;
  return Json(S(U(*s).toLower(icu::Locale::getRoot())));
}

Value FnUpper(const Args& a, const Node&, const EvalContext&) {
  auto s = ToStr(a[0]);
  if (!s) return std::nullopt;
  return Json(S(U(*s).toUpper(icu::Locale::getRoot())));
}

Value FnLength(const Args& a, const Node&, const EvalContext&) {
  auto s = ToStr(a[0]);
  if (!s) return std::nullopt;
  return Json(static_cast<Int>(U(*s).length()));  // UTF-16 code units, as Java counts
}

Value FnNumBytes(const Args& a, const Node&, const EvalContext&) {
  auto s = ToStr(a[0]);
  if (!s) return std::nullopt;
  return Json(static_cast<Int>(s->size()));
}

Value FnSubstring(const Args& a, const Node&, const EvalContext&) {
  auto s = ToStr(a[0]);
  auto from = ToIntFloor(a[1]);
  if (!s || !from) return std::nullopt;
  icu::UnicodeString u = U(*s);
  Int len = u.length();
  Int to = len;
  if (a.size() > 2) {
    auto t = ToIntFloor(a[2]);
    if (!t) return std::nullopt;
    to = *t;
  }
  Int i = std::clamp<Int>(*from, 0, len);
  Int j = std::clamp<Int>(to, 0, len);
  if (i >= j) return Json("");
  return Json(S(u.tempSubStringBetween(static_cast<int32_t>(i), static_cast<int32_t>(j))));
}

bool IsTrimmed(char c) { return static_cast<unsigned char>(c) <= 0x20; }

template <bool kLeft, bool kRight>
Value FnTrim(const Args& a, const Node&, const EvalContext&) {
  auto s = ToStr(a[0]);
  if (!s) return std::nullopt;
  size_t b = 0, e = s->size();
  if (kLeft) {
    while (b < e && IsTrimmed((*s)[b])) ++b;
  }
  if (kRight) {
    while (e > b && IsTrimmed((*s)[e - 1])) --e;
  }
  return Json(s->substr(b, e - b));
}

template <bool kLeft>
Value FnPad(const Args& a, const Node&, const EvalContext&) {
  auto s = ToStr(a[0]);
  auto n = ToIntFloor(a[1]);
  if (!s || !n) return std::nullopt;
  size_t count = static_cast<size_t>(std::clamp<Int>(*n, 0, 1000));
  return Json(kLeft ? std::string(count, ' ') + *s : *s + std::string(count, ' '));
}

Value FnReplace(const Args& a, const Node&, const EvalContext&) {
  auto s = ToStr(a[0]), from = ToStr(a[1]), to = ToStr(a[2]);
  if (!s || !from || !to) return std::nullopt;
  std::string out;
  if (from->empty()) {
    // Java inserts the replacement before every character and at the end.
    icu::UnicodeString u = U(*s);
    icu::UnicodeString r = U(*to);
    icu::UnicodeString result;
    for (int32_t i = 0; i < u.length(); ++i) {
      result.append(r);
      result.append(u.charAt(i));
    }
    result.append(r);
    out = S(result);
  } else {
    size_t pos = 0;
    while (true) {
      size_t hit = s->find(*from, pos);
      if (hit == std::string::npos) break;
      out.append(*s, pos, hit - pos);
      out += *to;
      pos = hit + from->size();
      if (out.size() > kMaxBuiltString) return std::nullopt;
    }
    out.append(*s, pos, std::string::npos);
  }
  if (out.size() > kMaxBuiltString) return std::nullopt;
  return Json(out);
}

Value FnIndexOf(const Args& a, const Node&, const EvalContext&) {
  auto s = ToStr(a[0]), sub = ToStr(a[1]);
  if (!s || !sub) return std::nullopt;
  return Json(static_cast<Int>(U(*s).indexOf(U(*sub))));
}

Value FnStartsWith(const Args& a, const Node&, const EvalContext&) {
  auto s = ToStr(a[0]), p = ToStr(a[1]);
  if (!s || !p) return std::nullopt;
  return Json(s->compare(0, p->size(), *p) == 0 && s->size() >= p->size());
}

Value FnEndsWith(const Args& a, const Node&, const EvalContext&) {
  auto s = ToStr(a[0]), p = ToStr(a[1]);
  if (!s || !p) return std::nullopt;
  return Json(s->size() >= p->size() && s->compare(s->size() - p->size(), p->size(), *p) == 0);
}

Value FnChr(const Args& a, const Node&, const EvalContext&) {
  auto n = ToIntFloor(a[0]);
  if (!n || *n < 0 || *n > 127) return std::nullopt;
  return Json(std::string(1, static_cast<char>(*n)));
}

std::shared_ptr<const icu::RegexPattern> CompileRegex(const std::string& re) {
  UErrorCode status = U_ZERO_ERROR;
  UParseError parse_error;
  std::shared_ptr<icu::RegexPattern> p(icu::RegexPattern::compile(U(re), 0, parse_error, status));
  if (U_FAILURE(status)) return nullptr;
  return p;
}

std::shared_ptr<const icu::RegexPattern> PatternFor(const Node& call, const Value& arg) {
  if (call.regex) return call.regex;
  auto re = ToStr(arg);
  if (!re) return nullptr;
  return CompileRegex(*re);
}

std::unique_ptr<icu::RegexMatcher> Matcher(const icu::RegexPattern& p,
                                           const icu::UnicodeString& input) {
  UErrorCode status = U_ZERO_ERROR;
  std::unique_ptr<icu::RegexMatcher> m(p.matcher(input, status));
  if (U_FAILURE(status)) return nullptr;
  m->setTimeLimit(1000, status);  // roughly a second of matching; then Undefined
  if (U_FAILURE(status)) return nullptr;
  return m;
}

Value FnRegexpMatches(const Args& a, const Node& call, const EvalContext&) {
  auto s = ToStr(a[0]);
  auto p = PatternFor(call, a[1]);
  if (!s || !p) return std::nullopt;
  icu::UnicodeString input = U(*s);
  auto m = Matcher(*p, input);
  if (!m) return std::nullopt;
  UErrorCode status = U_ZERO_ERROR;
  bool found = m->find(0, status);
  if (U_FAILURE(status)) return std::nullopt;
  return Json(found);
}

Value FnRegexpReplace(const Args& a, const Node& call, const EvalContext&) {
  auto s = ToStr(a[0]);
  auto rep = ToStr(a[2]);
  auto p = PatternFor(call, a[1]);
  if (!s || !rep || !p) return std::nullopt;
  icu::UnicodeString input = U(*s);
  auto m = Matcher(*p, input);
  if (!m) return std::nullopt;
  UErrorCode status = U_ZERO_ERROR;
  icu::UnicodeString out = m->replaceAll(U(*rep), status);
  if (U_FAILURE(status)) return std::nullopt;
  std::string result = S(out);
  if (result.size() > kMaxBuiltString) return std::nullopt;
  return Json(result);
}

Value FnRegexpSubstr(const Args& a, const Node& call, const EvalContext&) {
  auto s = ToStr(a[0]);
  auto p = PatternFor(call, a[1]);
  if (!s || !p) return std::nullopt;
  icu::UnicodeString input = U(*s);
  auto m = Matcher(*p, input);
  if (!m) return std::nullopt;
  UErrorCode status = U_ZERO_ERROR;
  if (!m->find(0, status)) return U_FAILURE(status) ? Value() : Value(Json(""));
  icu::UnicodeString g = m->group(status);
  if (U_FAILURE(status)) return std::nullopt;
  return Json(S(g));
}

template <typename Ctx, size_t kSize>
std::string Digest(std::string_view data, void (*init)(Ctx*),
                   void (*update)(Ctx*, size_t, const uint8_t*),
                   void (*digest)(Ctx*, size_t, uint8_t*)) {
  Ctx ctx;
  init(&ctx);
  update(&ctx, data.size(), reinterpret_cast<const uint8_t*>(data.data()));
  uint8_t out[kSize];
  digest(&ctx, kSize, out);
  return HexEncode(std::string_view(reinterpret_cast<const char*>(out), kSize));
}

template <int kAlg>
Value FnHash(const Args& a, const Node&, const EvalContext&) {
  auto s = ToStr(a[0]);
  if (!s) return std::nullopt;
  switch (kAlg) {
    case 0:
      return Json(Digest<md2_ctx, MD2_DIGEST_SIZE>(*s, md2_init, md2_update, md2_digest));
    case 1:
      return Json(Digest<md5_ctx, MD5_DIGEST_SIZE>(*s, md5_init, md5_update, md5_digest));
    case 2:
      return Json(Digest<sha1_ctx, SHA1_DIGEST_SIZE>(*s, sha1_init, sha1_update, sha1_digest));
    case 3:
      return Json(
          Digest<sha224_ctx, SHA224_DIGEST_SIZE>(*s, sha224_init, sha224_update, sha224_digest));
    case 4:
      return Json(
          Digest<sha256_ctx, SHA256_DIGEST_SIZE>(*s, sha256_init, sha256_update, sha256_digest));
    case 5:
      return Json(
          Digest<sha384_ctx, SHA384_DIGEST_SIZE>(*s, sha384_init, sha384_update, sha384_digest));
    default:
      return Json(
          Digest<sha512_ctx, SHA512_DIGEST_SIZE>(*s, sha512_init, sha512_update, sha512_digest));
  }
}

// --- structure and encoding ---

// get(c, k) and `c[k]`: array by 0-based index (numeric conversion, floored), string by
// character, object by String key. `arena` keeps a computed character alive.
const Json* GetElement(const Json* base, const Value& key, std::deque<Json>* arena) {
  if (base == nullptr || !key) return nullptr;
  if (base->is_array()) {
    auto i = ToIntFloor(key);
    if (!i || *i < 0 || static_cast<uint64_t>(*i) >= base->size()) return nullptr;
    return &(*base)[static_cast<size_t>(*i)];
  }
  if (base->is_object()) {
    if (!key->is_string()) return nullptr;
    auto it = base->find(key->get_ref<const std::string&>());
    return it == base->end() ? nullptr : &*it;
  }
  if (base->is_string()) {
    auto i = ToIntFloor(key);
    icu::UnicodeString u = U(base->get_ref<const std::string&>());
    if (!i || *i < 0 || *i >= u.length()) return nullptr;
    arena->push_back(Json(S(u.tempSubString(static_cast<int32_t>(*i), 1))));
    return &arena->back();
  }
  return nullptr;
}

Value FnGet(const Args& a, const Node&, const EvalContext&) {
  if (!a[0]) return std::nullopt;
  std::deque<Json> arena;
  const Json* r = GetElement(&*a[0], a[1], &arena);
  if (r == nullptr) return std::nullopt;
  return Normalized(*r);
}

Value FnIsNull(const Args& a, const Node&, const EvalContext&) {
  return Json(a[0].has_value() && a[0]->is_null());
}

Value FnIsUndefined(const Args& a, const Node&, const EvalContext&) {
  return Json(!a[0].has_value());
}

bool IsBase64Scheme(const Value& v) {
  return v && v->is_string() && v->get<std::string>() == "base64";
}

Value FnEncode(const Args& a, const Node&, const EvalContext&) {
  if (!IsBase64Scheme(a[1])) return std::nullopt;
  auto s = ToStr(a[0]);
  if (!s) return std::nullopt;
  return Json(Base64Encode(*s));
}

Value FnDecode(const Args& a, const Node&, const EvalContext&) {
  if (!IsBase64Scheme(a[1])) return std::nullopt;
  auto s = ToStr(a[0]);
  if (!s) return std::nullopt;
  auto bytes = Base64Decode(*s);
  if (!bytes.ok()) return Json(nullptr);
  Json parsed = Json::parse(*bytes, nullptr, /*allow_exceptions=*/false);
  if (!parsed.is_discarded()) return Normalized(parsed);
  return Json(ValidUtf8(std::move(bytes).value()));
}

Value FnTransform(const Args& a, const Node&, const EvalContext&) {
  if (!a[0] || !a[0]->is_string() || a[0]->get<std::string>() != "enrichArray") return std::nullopt;
  if (!a[1] || !a[1]->is_object() || !a[2] || !a[2]->is_array()) return std::nullopt;
  Json out = Json::array();
  for (const Json& element : *a[2]) {
    Json e = element;
    if (e.is_object()) {
      for (auto it = a[1]->begin(); it != a[1]->end(); ++it) e[it.key()] = it.value();
    }
    out.push_back(std::move(e));
  }
  return out;
}

// --- time (ICU date formats; Joda / java.time pattern letters mostly coincide) ---

std::unique_ptr<icu::TimeZone> ZoneFor(const std::string& id) {
  std::unique_ptr<icu::TimeZone> zone(icu::TimeZone::createTimeZone(U(id)));
  if (!zone || *zone == icu::TimeZone::getUnknown()) return nullptr;
  return zone;
}

Value FnParseTime(const Args& a, const Node&, const EvalContext&) {
  auto pattern = ToStr(a[0]);
  auto ms = ToIntFloor(a[1]);
  std::optional<std::string> tz = std::string("UTC");
  if (a.size() > 2) tz = ToStr(a[2]);
  if (!pattern || !ms || !tz) return std::nullopt;
  UErrorCode status = U_ZERO_ERROR;
  icu::SimpleDateFormat format(U(*pattern), icu::Locale::getUS(), status);
  if (U_FAILURE(status)) return std::nullopt;
  auto zone = ZoneFor(*tz);
  if (!zone) return std::nullopt;
  format.adoptTimeZone(zone.release());
  icu::UnicodeString out;
  format.format(static_cast<UDate>(*ms), out);
  return Json(S(out));
}

// `pattern` with every zone field (a run of 'z' or 'V' outside quotes) replaced by `zone`.
std::string ReplaceZoneFields(const std::string& pattern, const std::string& zone) {
  std::string out;
  bool quoted = false;
  for (size_t i = 0; i < pattern.size(); ++i) {
    char c = pattern[i];
    if (c == '\'') quoted = !quoted;
    if (!quoted && (c == 'z' || c == 'V')) {
      while (i + 1 < pattern.size() && pattern[i + 1] == c) ++i;
      out += zone;
      continue;
    }
    out.push_back(c);
  }
  return out;
}

// java.time parses zone fields more liberally than ICU: `z` also takes region ids
// ("America/Los_Angeles") and `VV` also takes offsets ("UTC+01:00"). So when the pattern as
// written does not consume the whole input, its zone fields are retried as ICU's id form (VV)
// and as its name/offset form (z).
Value FnTimeToEpoch(const Args& a, const Node&, const EvalContext&) {
  auto text = ToStr(a[0]);
  auto pattern = ToStr(a[1]);
  if (!text || !pattern) return std::nullopt;
  icu::UnicodeString input = U(*text);
  const std::string variants[] = {*pattern, ReplaceZoneFields(*pattern, "VV"),
                                  ReplaceZoneFields(*pattern, "z")};
  for (size_t i = 0; i < std::size(variants); ++i) {
    if (i > 0 && variants[i] == *pattern) continue;
    UErrorCode status = U_ZERO_ERROR;
    icu::SimpleDateFormat format(U(variants[i]), icu::Locale::getUS(), status);
    if (U_FAILURE(status)) return std::nullopt;
    format.adoptTimeZone(icu::TimeZone::createTimeZone("UTC"));  // no zone in the text: UTC
    icu::ParsePosition pos(0);
    UDate when = format.parse(input, pos);
    if (pos.getErrorIndex() < 0 && pos.getIndex() == input.length()) {
      return MakeDouble(std::floor(when));
    }
  }
  return std::nullopt;
}

// --- context ---

Value FnTopic(const Args& a, const Node&, const EvalContext& ctx) {
  if (!ctx.topic) return std::nullopt;
  if (a.empty()) return Json(*ctx.topic);
  auto n = ToIntFloor(a[0]);
  if (!n || *n < 1) return std::nullopt;
  std::vector<std::string> parts = Split(*ctx.topic, '/');
  if (static_cast<uint64_t>(*n) > parts.size()) return std::nullopt;
  return Json(parts[static_cast<size_t>(*n - 1)]);
}

Value FnTimestamp(const Args&, const Node&, const EvalContext& ctx) {
  if (ctx.clock == nullptr) return std::nullopt;
  return Json(ctx.clock->NowMicros() / 1000);
}

Value FnClientId(const Args&, const Node&, const EvalContext& ctx) {
  return Json(ctx.client_id.value_or("n/a"));
}

Value FnTraceId(const Args&, const Node&, const EvalContext& ctx) {
  if (!ctx.trace_id) return std::nullopt;
  return Json(*ctx.trace_id);
}

Value FnPrincipal(const Args&, const Node&, const EvalContext& ctx) {
  if (!ctx.principal) return std::nullopt;
  return Json(*ctx.principal);
}

Value FnAccountId(const Args&, const Node&, const EvalContext& ctx) {
  if (!ctx.account_id) return std::nullopt;
  return Json(*ctx.account_id);
}

Value FnSqlVersion(const Args&, const Node&, const EvalContext&) { return Json(kSqlVersion); }

Value FnNewUuid(const Args&, const Node&, const EvalContext&) { return Json(NewUuid()); }

// Functions that call other AWS services: recognised, but Sluice has no backend for them.
Value FnExternal(const Args&, const Node&, const EvalContext&) { return std::nullopt; }

constexpr FunctionSpec kFunctions[] = {
    // name, min, max, impl, math, regex
    {"abs", 1, 1, FnAbs, true, false},
    {"acos", 1, 1, FnDouble<Acos>, true, false},
    {"asin", 1, 1, FnDouble<Asin>, true, false},
    {"atan", 1, 1, FnDouble<Atan>, true, false},
    {"atan2", 2, 2, FnAtan2, true, false},
    {"ceil", 1, 1, FnRoundLike<Ceil>, true, false},
    {"cos", 1, 1, FnDouble<Cos>, true, false},
    {"cosh", 1, 1, FnDouble<Cosh>, true, false},
    {"exp", 1, 1, FnDouble<Exp>, true, false},
    {"ln", 1, 1, FnDouble<Ln>, true, false},
    {"log", 1, 1, FnDouble<Log10>, true, false},
    {"mod", 2, 2, FnMod, true, false},
    {"power", 2, 2, FnPower, true, false},
    {"round", 1, 1, FnRoundLike<RoundHalfAway>, true, false},
    {"sign", 1, 1, FnSign, true, false},
    {"sin", 1, 1, FnDouble<Sin>, true, false},
    {"sinh", 1, 1, FnDouble<Sinh>, true, false},
    {"sqrt", 1, 1, FnDouble<Sqrt>, true, false},
    {"tan", 1, 1, FnDouble<Tan>, true, false},
    {"tanh", 1, 1, FnDouble<Tanh>, true, false},
    {"trunc", 2, 2, FnTrunc, true, false},
    {"floor", 1, 1, FnRoundLike<Floor>, false, false},
    {"remainder", 2, 2, FnMod, false, false},
    {"bitand", 2, 2, FnBit2<0>, false, false},
    {"bitor", 2, 2, FnBit2<1>, false, false},
    {"bitxor", 2, 2, FnBit2<2>, false, false},
    {"bitnot", 1, 1, FnBitNot, false, false},
    {"nanvl", 2, 2, FnNanvl, false, false},
    {"rand", 0, 0, FnRand, false, false},
    {"concat", 0, -1, FnConcat, false, false},
    {"lower", 1, 1, FnLower, false, false},
    {"upper", 1, 1, FnUpper, false, false},
    {"length", 1, 1, FnLength, false, false},
    {"numbytes", 1, 1, FnNumBytes, false, false},
    {"substring", 2, 3, FnSubstring, false, false},
    {"trim", 1, 1, FnTrim<true, true>, false, false},
    {"ltrim", 1, 1, FnTrim<true, false>, false, false},
    {"rtrim", 1, 1, FnTrim<false, true>, false, false},
    {"lpad", 2, 2, FnPad<true>, false, false},
    {"rpad", 2, 2, FnPad<false>, false, false},
    {"replace", 3, 3, FnReplace, false, false},
    {"indexof", 2, 2, FnIndexOf, false, false},
    {"startswith", 2, 2, FnStartsWith, false, false},
    {"endswith", 2, 2, FnEndsWith, false, false},
    {"chr", 1, 1, FnChr, false, false},
    {"regexp_matches", 2, 2, FnRegexpMatches, false, true},
    {"regexp_replace", 3, 3, FnRegexpReplace, false, true},
    {"regexp_substr", 2, 2, FnRegexpSubstr, false, true},
    {"md2", 1, 1, FnHash<0>, false, false},
    {"md5", 1, 1, FnHash<1>, false, false},
    {"sha1", 1, 1, FnHash<2>, false, false},
    {"sha224", 1, 1, FnHash<3>, false, false},
    {"sha256", 1, 1, FnHash<4>, false, false},
    {"sha384", 1, 1, FnHash<5>, false, false},
    {"sha512", 1, 1, FnHash<6>, false, false},
    {"get", 2, 2, FnGet, false, false},
    {"isnull", 1, 1, FnIsNull, false, false},
    {"isundefined", 1, 1, FnIsUndefined, false, false},
    {"encode", 2, 2, FnEncode, false, false},
    {"decode", 2, 2, FnDecode, false, false},
    {"transform", 3, 3, FnTransform, false, false},
    {"parse_time", 2, 3, FnParseTime, false, false},
    {"time_to_epoch", 2, 2, FnTimeToEpoch, false, false},
    {"topic", 0, 1, FnTopic, false, false},
    {"timestamp", 0, 0, FnTimestamp, false, false},
    {"clientid", 0, 0, FnClientId, false, false},
    {"traceid", 0, 0, FnTraceId, false, false},
    {"principal", 0, 0, FnPrincipal, false, false},
    {"accountid", 0, 0, FnAccountId, false, false},
    {"sql_version", 0, 0, FnSqlVersion, false, false},
    {"newuuid", 0, 0, FnNewUuid, false, false},
    {"aws_lambda", 0, -1, FnExternal, false, false},
    {"get_dynamodb", 0, -1, FnExternal, false, false},
    {"get_secret", 0, -1, FnExternal, false, false},
    {"get_thing_shadow", 0, -1, FnExternal, false, false},
    {"get_registry_data", 0, -1, FnExternal, false, false},
    {"machinelearning_predict", 0, -1, FnExternal, false, false},
};

const FunctionSpec* FindFunction(const std::string& lower_name) {
  for (const FunctionSpec& f : kFunctions) {
    if (lower_name == f.name) return &f;
  }
  return nullptr;
}

// ---------------------------------------------------------------------------------------------
// cast(v AS T).

Value Cast(const Value& v, CastType type) {
  if (!v) return std::nullopt;
  const Json& j = *v;
  switch (type) {
    case CastType::kString: {
      auto s = ToStr(v);
      if (!s) return std::nullopt;
      return Json(*s);
    }
    case CastType::kInt:
    case CastType::kDecimal:
    case CastType::kDouble: {
      std::optional<Num> n;
      if (j.is_boolean()) {
        n = Num{true, j.get<bool>() ? 1 : 0, 0};
      } else {
        n = ToNumber(v);  // Null, Array, Object: Undefined
      }
      if (!n) return std::nullopt;
      if (type == CastType::kInt && !n->is_int) {
        auto f = ToIntFloor(NumToJson(*n));
        if (!f) return std::nullopt;
        return Json(*f);
      }
      return NumToJson(*n);
    }
    case CastType::kBool: {
      if (j.is_boolean()) return j;
      if (j.is_string()) {
        auto b = ToLogic(v);
        if (!b) return std::nullopt;
        return Json(*b);
      }
      auto n = NumOf(j);
      if (!n) return std::nullopt;
      return Json(n->AsDouble() != 0);
    }
  }
  return std::nullopt;
}

// ---------------------------------------------------------------------------------------------
// Evaluation.

// Resolves a node to a JSON value without copying subtrees where possible. nullptr is
// Undefined. Computed values live in `arena` (a deque: pointers stay valid as it grows).
const Json* Resolve(const Node& n, const Json& cur, const EvalContext& ctx,
                    std::deque<Json>* arena) {
  switch (n.kind) {
    case NodeKind::kAttribute: {
      if (!cur.is_object()) return nullptr;
      auto it = cur.find(n.name);
      return it == cur.end() ? nullptr : &*it;
    }
    case NodeKind::kStar:
      return &cur;
    case NodeKind::kMember: {
      const Json* base = Resolve(*n.children[0], cur, ctx, arena);
      if (base == nullptr || !base->is_object()) return nullptr;
      auto it = base->find(n.name);
      return it == base->end() ? nullptr : &*it;
    }
    case NodeKind::kIndex: {
      const Json* base = Resolve(*n.children[0], cur, ctx, arena);
      if (base == nullptr) return nullptr;
      return GetElement(base, EvalNode(*n.children[1], cur, ctx), arena);
    }
    default: {
      Value v = EvalNode(n, cur, ctx);
      if (!v) return nullptr;
      arena->push_back(std::move(*v));
      return &arena->back();
    }
  }
}

Value Compare(BinOp op, const Value& l, const Value& r) {
  if (!l || !r) return std::nullopt;
  if (op == BinOp::kEq) return Json(SqlEquals(*l, *r));
  if (op == BinOp::kNe) return Json(!SqlEquals(*l, *r));
  auto a = ToNumber(l), b = ToNumber(r);
  if (!a || !b) return std::nullopt;
  int c = CompareNum(*a, *b);
  switch (op) {
    case BinOp::kLt:
      return Json(c < 0);
    case BinOp::kLe:
      return Json(c <= 0);
    case BinOp::kGt:
      return Json(c > 0);
    default:
      return Json(c >= 0);
  }
}

Value EvalSelect(const Node& n, const Json& cur, const EvalContext& ctx) {
  const size_t items = n.keys.size();
  Value from = EvalNode(*n.children[items], cur, ctx);
  if (!from) return std::nullopt;
  const Node* where = n.has_where ? n.children[items + 1].get() : nullptr;
  auto project = [&](const Json& row) -> Value {
    if (where != nullptr && !IsTrue(EvalNode(*where, row, ctx))) return std::nullopt;
    if (n.select_value) return EvalNode(*n.children[0], row, ctx);
    Json out = Json::object();
    for (size_t i = 0; i < items; ++i) {
      if (n.keys[i].empty()) {  // `*`
        if (row.is_object()) {
          for (auto it = row.begin(); it != row.end(); ++it) {
            Value v = Normalized(it.value());
            if (v) out[it.key()] = std::move(*v);
          }
        }
        continue;
      }
      Value v = EvalNode(*n.children[i], row, ctx);
      if (!v) continue;
      // A dotted alias builds nested objects.
      Json* slot = &out;
      for (const std::string& part : Split(n.keys[i], '.')) {
        if (!slot->is_object()) *slot = Json::object();
        slot = &(*slot)[part];
      }
      *slot = std::move(*v);
    }
    return out;
  };
  if (from->is_array()) {
    Json out = Json::array();
    for (const Json& row : *from) {
      Value v = project(row);
      if (v) out.push_back(std::move(*v));
    }
    return out;
  }
  return project(*from);
}

Value EvalNode(const Node& n, const Json& cur, const EvalContext& ctx) {
  switch (n.kind) {
    case NodeKind::kLiteral:
      return n.literal;
    case NodeKind::kAttribute:
    case NodeKind::kStar:
    case NodeKind::kMember:
    case NodeKind::kIndex: {
      std::deque<Json> arena;
      const Json* v = Resolve(n, cur, ctx, &arena);
      if (v == nullptr) return std::nullopt;
      return Normalized(*v);
    }
    case NodeKind::kNeg: {
      auto x = ToNumber(EvalNode(*n.children[0], cur, ctx));
      if (!x) return std::nullopt;
      return Arith(BinOp::kSub, Num{true, 0, 0}, *x);
    }
    case NodeKind::kNot: {
      auto b = ToLogic(EvalNode(*n.children[0], cur, ctx));
      if (!b) return std::nullopt;
      return Json(!*b);
    }
    case NodeKind::kBinary: {
      Value l = EvalNode(*n.children[0], cur, ctx);
      Value r = EvalNode(*n.children[1], cur, ctx);
      switch (n.op) {
        case BinOp::kAnd:
        case BinOp::kOr: {
          auto a = ToLogic(l), b = ToLogic(r);
          if (!a || !b) return std::nullopt;
          return Json(n.op == BinOp::kAnd ? (*a && *b) : (*a || *b));
        }
        case BinOp::kAdd:
        case BinOp::kSub:
        case BinOp::kMul:
        case BinOp::kDiv:
        case BinOp::kMod:
          return ArithValues(n.op, l, r);
        default:
          return Compare(n.op, l, r);
      }
    }
    case NodeKind::kIsCheck: {
      Value v = EvalNode(*n.children[0], cur, ctx);
      bool result = n.check_null ? (v.has_value() && v->is_null()) : !v.has_value();
      return Json(n.negated ? !result : result);
    }
    case NodeKind::kCase: {
      size_t i = 0;
      Value subject;
      if (n.has_subject) {
        subject = EvalNode(*n.children[0], cur, ctx);
        if (!subject) return std::nullopt;
        i = 1;
      }
      size_t end = n.children.size() - (n.has_else ? 1 : 0);
      for (; i + 1 < end; i += 2) {
        Value when = EvalNode(*n.children[i], cur, ctx);
        bool hit = n.has_subject ? (when && SqlEquals(*subject, *when)) : IsTrue(when);
        if (hit) return EvalNode(*n.children[i + 1], cur, ctx);
      }
      if (n.has_else) return EvalNode(*n.children.back(), cur, ctx);
      return std::nullopt;
    }
    case NodeKind::kCall: {
      int argc = static_cast<int>(n.children.size());
      if (argc < n.fn->min_args || (n.fn->max_args >= 0 && argc > n.fn->max_args)) {
        return std::nullopt;  // documented: a wrong argument count is Undefined
      }
      Args args;
      args.reserve(n.children.size());
      for (const auto& c : n.children) args.push_back(EvalNode(*c, cur, ctx));
      return n.fn->impl(args, n, ctx);
    }
    case NodeKind::kCast:
      return Cast(EvalNode(*n.children[0], cur, ctx), n.cast_type);
    case NodeKind::kObject: {
      Json out = Json::object();
      for (size_t i = 0; i < n.children.size(); ++i) {
        Value v = EvalNode(*n.children[i], cur, ctx);
        if (v) out[n.keys[i]] = std::move(*v);  // Undefined members are dropped
      }
      return out;
    }
    case NodeKind::kArray: {
      Json out = Json::array();
      for (const auto& c : n.children) {
        Value v = EvalNode(*c, cur, ctx);
        if (v) out.push_back(std::move(*v));  // Undefined elements are dropped
      }
      return out;
    }
    case NodeKind::kSelect:
      return EvalSelect(n, cur, ctx);
  }
  return std::nullopt;
}

// ---------------------------------------------------------------------------------------------
// Tokenizer.

enum class TokKind { kEnd, kNumber, kString, kIdent, kSymbol };

struct Token {
  TokKind kind = TokKind::kEnd;
  std::string text;  // number text, string value, identifier, or the symbol
  size_t pos = 0;
};

std::string Printable(std::string_view s, size_t limit) {
  std::string out;
  for (char c : s.substr(0, limit)) {
    unsigned char u = static_cast<unsigned char>(c);
    out.push_back(u < 0x20 || u == 0x7f ? '?' : c);
  }
  if (s.size() > limit) out += "...";
  return ValidUtf8(std::move(out));
}

Status SyntaxError(const std::string& text, size_t pos, const std::string& what) {
  return Status::InvalidArgument("Syntax error at position " + std::to_string(pos) + " in '" +
                                 Printable(text, 200) + "': " + what);
}

bool IsIdentStart(char c) { return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || c == '_'; }
bool IsIdentChar(char c) { return IsIdentStart(c) || IsDigit(c); }

Result<std::vector<Token>> Lex(const std::string& text) {
  std::vector<Token> toks;
  size_t i = 0;
  const size_t n = text.size();
  while (true) {
    while (i < n && (text[i] == ' ' || text[i] == '\t' || text[i] == '\n' || text[i] == '\r' ||
                     text[i] == '\f' || text[i] == '\v')) {
      ++i;
    }
    if (i >= n) break;
    size_t start = i;
    char c = text[i];
    if (IsDigit(c)) {
      while (i < n && IsDigit(text[i])) ++i;
      if (i + 1 < n && text[i] == '.' && IsDigit(text[i + 1])) {
        ++i;
        while (i < n && IsDigit(text[i])) ++i;
      }
      if (i < n && (text[i] == 'e' || text[i] == 'E')) {
        size_t j = i + 1;
        if (j < n && (text[j] == '+' || text[j] == '-')) ++j;
        if (j < n && IsDigit(text[j])) {
          i = j;
          while (i < n && IsDigit(text[i])) ++i;
        }
      }
      toks.push_back({TokKind::kNumber, text.substr(start, i - start), start});
    } else if (IsIdentStart(c)) {
      while (i < n && IsIdentChar(text[i])) ++i;
      toks.push_back({TokKind::kIdent, text.substr(start, i - start), start});
    } else if (c == '\'' || c == '"') {
      std::string value;
      ++i;
      bool closed = false;
      while (i < n) {
        if (text[i] == c) {
          if (i + 1 < n && text[i + 1] == c) {  // '' inside '...'
            value.push_back(c);
            i += 2;
            continue;
          }
          ++i;
          closed = true;
          break;
        }
        if (text[i] == '\\' && i + 1 < n && text[i + 1] == c) {  // \' inside '...'
          value.push_back(c);
          i += 2;
          continue;
        }
        value.push_back(text[i]);
        ++i;
      }
      if (!closed) return SyntaxError(text, start, "unterminated string literal");
      if (!IsValidUtf8(value)) return SyntaxError(text, start, "string literal is not valid UTF-8");
      toks.push_back({TokKind::kString, std::move(value), start});
    } else {
      static constexpr const char* kTwo[] = {"<>", "<=", ">=", "!="};
      bool matched = false;
      for (const char* sym : kTwo) {
        if (i + 1 < n && text[i] == sym[0] && text[i + 1] == sym[1]) {
          toks.push_back({TokKind::kSymbol, sym, start});
          i += 2;
          matched = true;
          break;
        }
      }
      if (matched) continue;
      if (std::strchr("()[]{},.:+-*/%=<>", c) != nullptr && c != '\0') {
        toks.push_back({TokKind::kSymbol, std::string(1, c), start});
        ++i;
        continue;
      }
      std::string shown = Printable(std::string_view(&text[i], 1), 1);
      unsigned char u = static_cast<unsigned char>(c);
      if (u >= 0x80 || u < 0x20 || u == 0x7f) {
        char hex[8];
        std::snprintf(hex, sizeof(hex), "\\x%02X", u);
        shown = hex;
      }
      return SyntaxError(text, start, "unexpected character '" + shown + "'");
    }
  }
  toks.push_back({TokKind::kEnd, "", n});
  return toks;
}

// ---------------------------------------------------------------------------------------------
// Parser: precedence climbing, lowest first:
//   OR < AND < NOT < comparison / IS < + - < * / % < unary - < postfix (.name, [i]) < primary.

constexpr const char* kReserved[] = {"and",    "or",   "not",   "is",   "null", "true",
                                     "false",  "case", "when",  "then", "else", "end",
                                     "select", "from", "where", "as"};

bool IsReserved(const std::string& word) {
  for (const char* r : kReserved) {
    if (EqualsIgnoreCase(word, r)) return true;
  }
  return false;
}

class Parser {
 public:
  Parser(const std::string& text, std::vector<Token> toks, Dialect dialect)
      : text_(text), toks_(std::move(toks)), dialect_(dialect) {}

  Result<NodePtr> ParseAll() {
    ASSIGN_OR_RETURN(NodePtr root, ParseExpr());
    if (Peek().kind != TokKind::kEnd) return Expected("an operator or the end of the expression");
    return root;
  }

 private:
  struct DepthGuard {
    explicit DepthGuard(int* d) : depth(d) { ++*depth; }
    ~DepthGuard() { --*depth; }
    int* depth;
  };

  const Token& Peek(size_t k = 0) const { return toks_[std::min(i_ + k, toks_.size() - 1)]; }
  const Token& Next() {
    const Token& t = toks_[i_];
    if (i_ + 1 < toks_.size()) ++i_;
    return t;
  }
  bool IsSymbol(const char* s, size_t k = 0) const {
    return Peek(k).kind == TokKind::kSymbol && Peek(k).text == s;
  }
  bool IsKeyword(const char* kw, size_t k = 0) const {
    return Peek(k).kind == TokKind::kIdent && EqualsIgnoreCase(Peek(k).text, kw);
  }

  Status Error(size_t pos, const std::string& what) const { return SyntaxError(text_, pos, what); }

  Status Expected(const std::string& what) const {
    const Token& t = Peek();
    if (t.kind == TokKind::kEnd) return Error(t.pos, "expected " + what);
    std::string found = t.kind == TokKind::kString ? "a string literal" : "'" + t.text + "'";
    return Error(t.pos, "expected " + what + ", found " + Printable(found, 60));
  }

  Status Expect(const char* symbol, const std::string& what) {
    if (!IsSymbol(symbol)) return Expected(what);
    Next();
    return Status::Ok();
  }

  Status CheckDepth(size_t pos) const {
    if (depth_ > Expression::kMaxDepth) {
      return Error(pos, "expression nested too deeply (more than " +
                            std::to_string(Expression::kMaxDepth) + " levels)");
    }
    return Status::Ok();
  }

  Status NotInMath(size_t pos, const std::string& what) const {
    return Error(pos, what + " is not allowed in a math expression");
  }

  NodePtr MakeNode(NodeKind kind, size_t pos) {
    auto n = std::make_unique<Node>();
    n->kind = kind;
    n->pos = pos;
    return n;
  }

  // Fixes the node's depth from its children; too deep a tree is an error.
  Result<NodePtr> Seal(NodePtr n) {
    int d = 0;
    for (const auto& c : n->children) d = std::max(d, c->depth);
    n->depth = d + 1;
    if (n->depth > Expression::kMaxDepth) {
      return Error(n->pos, "expression nested too deeply (more than " +
                               std::to_string(Expression::kMaxDepth) + " levels)");
    }
    return n;
  }

  Result<NodePtr> Binary(BinOp op, size_t pos, NodePtr l, NodePtr r) {
    NodePtr n = MakeNode(NodeKind::kBinary, pos);
    n->op = op;
    n->children.push_back(std::move(l));
    n->children.push_back(std::move(r));
    return Seal(std::move(n));
  }

  Result<NodePtr> ParseExpr() {
    DepthGuard guard(&depth_);
    RETURN_IF_ERROR(CheckDepth(Peek().pos));
    return ParseOr();
  }

  Result<NodePtr> ParseOr() {
    ASSIGN_OR_RETURN(NodePtr left, ParseAnd());
    while (IsKeyword("or")) {
      size_t pos = Next().pos;
      if (dialect_ == Dialect::kMath) return NotInMath(pos, "OR");
      ASSIGN_OR_RETURN(NodePtr right, ParseAnd());
      ASSIGN_OR_RETURN(left, Binary(BinOp::kOr, pos, std::move(left), std::move(right)));
    }
    return left;
  }

  Result<NodePtr> ParseAnd() {
    ASSIGN_OR_RETURN(NodePtr left, ParseNot());
    while (IsKeyword("and")) {
      size_t pos = Next().pos;
      if (dialect_ == Dialect::kMath) return NotInMath(pos, "AND");
      ASSIGN_OR_RETURN(NodePtr right, ParseNot());
      ASSIGN_OR_RETURN(left, Binary(BinOp::kAnd, pos, std::move(left), std::move(right)));
    }
    return left;
  }

  Result<NodePtr> ParseNot() {
    if (!IsKeyword("not")) return ParseComparison();
    DepthGuard guard(&depth_);
    size_t pos = Next().pos;
    RETURN_IF_ERROR(CheckDepth(pos));
    if (dialect_ == Dialect::kMath) return NotInMath(pos, "NOT");
    ASSIGN_OR_RETURN(NodePtr operand, ParseNot());
    NodePtr n = MakeNode(NodeKind::kNot, pos);
    n->children.push_back(std::move(operand));
    return Seal(std::move(n));
  }

  std::optional<BinOp> ComparisonOp() const {
    if (Peek().kind != TokKind::kSymbol) return std::nullopt;
    const std::string& s = Peek().text;
    if (s == "=") return BinOp::kEq;
    if (s == "<>" || s == "!=") return BinOp::kNe;
    if (s == "<") return BinOp::kLt;
    if (s == "<=") return BinOp::kLe;
    if (s == ">") return BinOp::kGt;
    if (s == ">=") return BinOp::kGe;
    return std::nullopt;
  }

  Result<NodePtr> ParseComparison() {
    ASSIGN_OR_RETURN(NodePtr left, ParseAdditive());
    while (true) {
      if (auto op = ComparisonOp()) {
        const Token& t = Next();
        if (dialect_ == Dialect::kMath)
          return NotInMath(t.pos, "comparison operator '" + t.text + "'");
        ASSIGN_OR_RETURN(NodePtr right, ParseAdditive());
        ASSIGN_OR_RETURN(left, Binary(*op, t.pos, std::move(left), std::move(right)));
      } else if (IsKeyword("is")) {
        size_t pos = Next().pos;
        if (dialect_ == Dialect::kMath) return NotInMath(pos, "IS");
        NodePtr n = MakeNode(NodeKind::kIsCheck, pos);
        if (IsKeyword("not")) {
          Next();
          n->negated = true;
        }
        if (IsKeyword("null")) {
          n->check_null = true;
        } else if (!IsKeyword("undefined")) {
          return Expected("NULL or UNDEFINED");
        }
        Next();
        n->children.push_back(std::move(left));
        ASSIGN_OR_RETURN(left, Seal(std::move(n)));
      } else {
        return left;
      }
    }
  }

  Result<NodePtr> ParseAdditive() {
    ASSIGN_OR_RETURN(NodePtr left, ParseMultiplicative());
    while (IsSymbol("+") || IsSymbol("-")) {
      const Token& t = Next();
      BinOp op = t.text == "+" ? BinOp::kAdd : BinOp::kSub;
      ASSIGN_OR_RETURN(NodePtr right, ParseMultiplicative());
      ASSIGN_OR_RETURN(left, Binary(op, t.pos, std::move(left), std::move(right)));
    }
    return left;
  }

  Result<NodePtr> ParseMultiplicative() {
    ASSIGN_OR_RETURN(NodePtr left, ParseUnary());
    while (IsSymbol("*") || IsSymbol("/") || IsSymbol("%")) {
      const Token& t = Next();
      BinOp op = t.text == "*" ? BinOp::kMul : (t.text == "/" ? BinOp::kDiv : BinOp::kMod);
      ASSIGN_OR_RETURN(NodePtr right, ParseUnary());
      ASSIGN_OR_RETURN(left, Binary(op, t.pos, std::move(left), std::move(right)));
    }
    return left;
  }

  Result<NodePtr> ParseUnary() {
    if (!IsSymbol("-")) return ParsePostfix();
    DepthGuard guard(&depth_);
    size_t pos = Next().pos;
    RETURN_IF_ERROR(CheckDepth(pos));
    // A minus directly before a number literal is part of the literal (so that the most
    // negative Int is writable).
    if (Peek().kind == TokKind::kNumber && !IsSymbol(".", 1) && !IsSymbol("[", 1)) {
      const Token& t = Next();
      ASSIGN_OR_RETURN(Json value, NumberLiteral("-" + t.text, pos));
      NodePtr n = MakeNode(NodeKind::kLiteral, pos);
      n->literal = std::move(value);
      return n;
    }
    ASSIGN_OR_RETURN(NodePtr operand, ParseUnary());
    NodePtr n = MakeNode(NodeKind::kNeg, pos);
    n->children.push_back(std::move(operand));
    return Seal(std::move(n));
  }

  Result<NodePtr> ParsePostfix() {
    ASSIGN_OR_RETURN(NodePtr base, ParsePrimary());
    while (true) {
      if (IsSymbol(".")) {
        size_t pos = Next().pos;
        if (Peek().kind != TokKind::kIdent) return Expected("an attribute name after '.'");
        NodePtr n = MakeNode(NodeKind::kMember, pos);
        n->name = Next().text;
        n->children.push_back(std::move(base));
        ASSIGN_OR_RETURN(base, Seal(std::move(n)));
      } else if (IsSymbol("[")) {
        size_t pos = Next().pos;
        ASSIGN_OR_RETURN(NodePtr index, ParseExpr());
        RETURN_IF_ERROR(Expect("]", "']'"));
        NodePtr n = MakeNode(NodeKind::kIndex, pos);
        n->children.push_back(std::move(base));
        n->children.push_back(std::move(index));
        ASSIGN_OR_RETURN(base, Seal(std::move(n)));
      } else {
        return base;
      }
    }
  }

  Result<Json> NumberLiteral(const std::string& number, size_t pos) const {
    bool plain = number.find_first_of(".eE") == std::string::npos;
    if (plain) {
      Int v = 0;
      auto [p, ec] = std::from_chars(number.data(), number.data() + number.size(), v);
      if (ec == std::errc() && p == number.data() + number.size()) return Json(v);
    }
    double d = 0;
    auto [p, ec] = std::from_chars(number.data(), number.data() + number.size(), d);
    if (ec == std::errc::result_out_of_range) {
      // Tiny magnitudes are zero; huge ones have no Decimal.
      size_t e = number.find_first_of("eE");
      if (e != std::string::npos && number.find('-', e) != std::string::npos) return Json(0);
      return Error(pos, "number out of range");
    }
    if (ec != std::errc() || p != number.data() + number.size() || !std::isfinite(d)) {
      return Error(pos, "number out of range");
    }
    return NumToJson(NumFromDouble(d));
  }

  Result<NodePtr> ParsePrimary() {
    const Token& t = Peek();
    switch (t.kind) {
      case TokKind::kEnd:
        return Expected("an expression");
      case TokKind::kNumber: {
        Next();
        ASSIGN_OR_RETURN(Json value, NumberLiteral(t.text, t.pos));
        NodePtr n = MakeNode(NodeKind::kLiteral, t.pos);
        n->literal = std::move(value);
        return n;
      }
      case TokKind::kString: {
        NodePtr n = MakeNode(NodeKind::kLiteral, t.pos);
        n->literal = Next().text;
        return n;
      }
      case TokKind::kIdent:
        return ParseIdentifier();
      case TokKind::kSymbol:
        break;
    }
    size_t pos = t.pos;
    if (IsSymbol("(")) {
      Next();
      if (IsKeyword("select")) {
        if (dialect_ == Dialect::kMath) return NotInMath(Peek().pos, "a nested SELECT");
        return ParseSelect(pos);
      }
      ASSIGN_OR_RETURN(NodePtr inner, ParseExpr());
      RETURN_IF_ERROR(Expect(")", "')'"));
      return inner;
    }
    if (IsSymbol("*")) {
      if (dialect_ == Dialect::kMath) return NotInMath(pos, "'*' (the whole message)");
      Next();
      return MakeNode(NodeKind::kStar, pos);
    }
    if (IsSymbol("[")) {
      if (dialect_ == Dialect::kMath) return NotInMath(pos, "an array literal");
      Next();
      NodePtr n = MakeNode(NodeKind::kArray, pos);
      if (!IsSymbol("]")) {
        while (true) {
          ASSIGN_OR_RETURN(NodePtr e, ParseExpr());
          n->children.push_back(std::move(e));
          if (IsSymbol(",")) {
            Next();
            continue;
          }
          break;
        }
      }
      RETURN_IF_ERROR(Expect("]", "',' or ']'"));
      return Seal(std::move(n));
    }
    if (IsSymbol("{")) {
      if (dialect_ == Dialect::kMath) return NotInMath(pos, "an object literal");
      Next();
      NodePtr n = MakeNode(NodeKind::kObject, pos);
      if (!IsSymbol("}")) {
        while (true) {
          if (Peek().kind != TokKind::kString) return Expected("a quoted member name");
          n->keys.push_back(Next().text);
          RETURN_IF_ERROR(Expect(":", "':'"));
          ASSIGN_OR_RETURN(NodePtr e, ParseExpr());
          n->children.push_back(std::move(e));
          if (IsSymbol(",")) {
            Next();
            continue;
          }
          break;
        }
      }
      RETURN_IF_ERROR(Expect("}", "',' or '}'"));
      return Seal(std::move(n));
    }
    return Expected("an expression");
  }

  Result<NodePtr> ParseIdentifier() {
    const Token& t = Peek();
    size_t pos = t.pos;
    if (IsKeyword("true") || IsKeyword("false") || IsKeyword("null")) {
      NodePtr n = MakeNode(NodeKind::kLiteral, pos);
      if (IsKeyword("null")) {
        n->literal = nullptr;
      } else {
        n->literal = IsKeyword("true");
      }
      Next();
      return n;
    }
    if (IsKeyword("case")) {
      if (dialect_ == Dialect::kMath) return NotInMath(pos, "CASE");
      return ParseCase();
    }
    if (IsSymbol("(", 1)) return ParseCall();
    if (IsReserved(t.text)) return Expected("an expression");
    NodePtr n = MakeNode(NodeKind::kAttribute, pos);
    n->name = Next().text;
    return n;
  }

  Result<NodePtr> ParseCall() {
    const Token& name_tok = Next();
    size_t pos = name_tok.pos;
    std::string lower = ToLower(name_tok.text);
    Next();  // '('
    if (lower == "cast") {
      if (dialect_ == Dialect::kMath) return NotInMath(pos, "function 'cast'");
      return ParseCast(pos);
    }
    const FunctionSpec* fn = FindFunction(lower);
    if (fn == nullptr) return Error(pos, "unknown function '" + Printable(name_tok.text, 60) + "'");
    if (dialect_ == Dialect::kMath && !fn->math) {
      return NotInMath(pos, "function '" + std::string(fn->name) + "'");
    }
    NodePtr n = MakeNode(NodeKind::kCall, pos);
    n->fn = fn;
    n->name = fn->name;
    if (!IsSymbol(")")) {
      while (true) {
        ASSIGN_OR_RETURN(NodePtr arg, ParseExpr());
        n->children.push_back(std::move(arg));
        if (IsSymbol(",")) {
          Next();
          continue;
        }
        break;
      }
    }
    RETURN_IF_ERROR(Expect(")", "',' or ')'"));
    if (fn->is_regex && n->children.size() >= 2 && n->children[1]->kind == NodeKind::kLiteral &&
        n->children[1]->literal.is_string()) {
      n->regex = CompileRegex(n->children[1]->literal.get<std::string>());
    }
    return Seal(std::move(n));
  }

  Result<NodePtr> ParseCast(size_t pos) {
    ASSIGN_OR_RETURN(NodePtr value, ParseExpr());
    if (!IsKeyword("as")) return Expected("AS");
    Next();
    if (Peek().kind != TokKind::kIdent) return Expected("a type name");
    const Token& type = Next();
    std::string t = ToLower(type.text);
    NodePtr n = MakeNode(NodeKind::kCast, pos);
    if (t == "string" || t == "nvarchar" || t == "text" || t == "ntext" || t == "varchar") {
      n->cast_type = CastType::kString;
    } else if (t == "int" || t == "integer") {
      n->cast_type = CastType::kInt;
    } else if (t == "decimal") {
      n->cast_type = CastType::kDecimal;
    } else if (t == "double") {
      n->cast_type = CastType::kDouble;
    } else if (t == "bool" || t == "boolean") {
      n->cast_type = CastType::kBool;
    } else {
      return Error(type.pos, "unknown type '" + Printable(type.text, 60) +
                                 "' (expected String, Nvarchar, Text, Ntext, varchar, Int, "
                                 "Integer, Double, Decimal, Bool or Boolean)");
    }
    RETURN_IF_ERROR(Expect(")", "')'"));
    n->children.push_back(std::move(value));
    return Seal(std::move(n));
  }

  Result<NodePtr> ParseCase() {
    size_t pos = Next().pos;  // CASE
    NodePtr n = MakeNode(NodeKind::kCase, pos);
    if (!IsKeyword("when")) {
      ASSIGN_OR_RETURN(NodePtr subject, ParseExpr());
      n->children.push_back(std::move(subject));
      n->has_subject = true;
    }
    if (!IsKeyword("when")) return Expected("WHEN");
    while (IsKeyword("when")) {
      Next();
      ASSIGN_OR_RETURN(NodePtr when, ParseExpr());
      if (!IsKeyword("then")) return Expected("THEN");
      Next();
      ASSIGN_OR_RETURN(NodePtr then, ParseExpr());
      n->children.push_back(std::move(when));
      n->children.push_back(std::move(then));
    }
    if (IsKeyword("else")) {
      Next();
      ASSIGN_OR_RETURN(NodePtr otherwise, ParseExpr());
      n->children.push_back(std::move(otherwise));
      n->has_else = true;
    }
    if (!IsKeyword("end")) return Expected(n->has_else ? "END" : "WHEN, ELSE or END");
    Next();
    return Seal(std::move(n));
  }

  // After '(' SELECT: [VALUE] item {, item} FROM expr [WHERE expr] ')'.
  Result<NodePtr> ParseSelect(size_t pos) {
    DepthGuard guard(&depth_);
    RETURN_IF_ERROR(CheckDepth(pos));
    Next();  // SELECT
    NodePtr n = MakeNode(NodeKind::kSelect, pos);
    if (IsKeyword("value") && !IsKeyword("from", 1) && !IsSymbol(",", 1)) {
      Next();
      n->select_value = true;
    }
    std::vector<NodePtr> items;
    while (true) {
      ASSIGN_OR_RETURN(NodePtr item, ParseExpr());
      std::string key;
      if (IsKeyword("as")) {
        Next();
        if (Peek().kind != TokKind::kIdent) return Expected("an alias");
        key = Next().text;
        int segments = 1;
        while (IsSymbol(".")) {
          if (++segments > Expression::kMaxDepth)
            return Error(Peek().pos, "alias has too many segments");
          Next();
          if (Peek().kind != TokKind::kIdent) return Expected("an alias segment after '.'");
          key += "." + Next().text;
        }
      } else if (item->kind == NodeKind::kStar) {
        key = "";
      } else if (item->kind == NodeKind::kAttribute || item->kind == NodeKind::kMember ||
                 item->kind == NodeKind::kCall) {
        key = item->name;  // [I] last path segment, or the function name
      } else {
        key = "_" + std::to_string(items.size() + 1);  // [I] no documented name
      }
      if (n->select_value && item->kind == NodeKind::kStar && key.empty()) key = "*";
      n->keys.push_back(std::move(key));
      items.push_back(std::move(item));
      if (IsSymbol(",")) {
        if (n->select_value) return Error(Peek().pos, "SELECT VALUE takes exactly one item");
        Next();
        continue;
      }
      break;
    }
    if (!IsKeyword("from")) return Expected("',' or FROM");
    Next();
    ASSIGN_OR_RETURN(NodePtr from, ParseExpr());
    for (auto& item : items) n->children.push_back(std::move(item));
    n->children.push_back(std::move(from));
    if (IsKeyword("where")) {
      Next();
      ASSIGN_OR_RETURN(NodePtr where, ParseExpr());
      n->children.push_back(std::move(where));
      n->has_where = true;
    }
    RETURN_IF_ERROR(Expect(")", "WHERE or ')'"));
    return Seal(std::move(n));
  }

  const std::string& text_;
  std::vector<Token> toks_;
  Dialect dialect_;
  size_t i_ = 0;
  int depth_ = 0;
};

}  // namespace

// ---------------------------------------------------------------------------------------------

Result<Expression> Expression::Parse(const std::string& text, Dialect dialect) {
  try {
    ASSIGN_OR_RETURN(std::vector<Token> toks, Lex(text));
    Parser parser(text, std::move(toks), dialect);
    ASSIGN_OR_RETURN(NodePtr root, parser.ParseAll());
    Expression e;
    e.text_ = text;
    e.root_ = std::shared_ptr<const Node>(std::move(root));
    return e;
  } catch (const std::exception& ex) {
    return Status::Internal(std::string("parsing the expression failed: ") + ex.what());
  } catch (...) {
    return Status::Internal("parsing the expression failed");
  }
}

Value Expression::Eval(const Json& message) const { return Eval(message, EvalContext{}); }

Value Expression::Eval(const Json& message, const EvalContext& context) const {
  if (!root_) return std::nullopt;
  try {
    return EvalNode(*root_, message, context);
  } catch (...) {
    return std::nullopt;
  }
}

bool Expression::EvalCondition(const Json& message) const {
  return EvalCondition(message, EvalContext{});
}

bool Expression::EvalCondition(const Json& message, const EvalContext& context) const {
  return IsTrue(Eval(message, context));
}

}  // namespace sluice::iotsql
