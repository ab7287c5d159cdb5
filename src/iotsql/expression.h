// AWS IoT SQL expressions: the language of pipeline `filter` and `math` activities and of
// topic-rule WHERE/SELECT clauses. Parses once, evaluates many times against a JSON
// message. Semantics follow docs and worked examples in the AWS IoT SQL reference:
// Undefined vs Null, type coercions, operators and functions.
// Thread-safety: an Expression is immutable after Parse; Eval is safe from any thread.
//
// Implementation choices where the reference leaves room (all kept in expression.cc):
// - SQL version 2016-03-23 semantics: a number with no fractional part is an Int
//   (`5.0 * 2` is the Int 10, `10.0 / 4` is the Int 2).
// - Int is 64-bit; an Int result that overflows becomes a Decimal. Decimal arithmetic is exact
//   on the operands' shortest decimal text and the result is rounded to a double, which is
//   how it is stored in JSON (so `0.1 + 0.2` is 0.3).
// - AND/OR/NOT follow the documented tables literally: any operand that is not a Boolean or the
//   string "true"/"false" makes the result Undefined (`true OR missing` is Undefined).
// - Extensions: `a[i]` (same as get(a, i)), `!=` (same as `<>`), the searched CASE
//   (`CASE WHEN c THEN r ... END`), `x IS [NOT] NULL` and `x IS [NOT] UNDEFINED`.
// - Unknown function names are parse errors; a wrong argument count evaluates to Undefined.
//   Functions that call other AWS services (aws_lambda, get_dynamodb, get_secret,
//   get_thing_shadow, get_registry_data, machinelearning_predict) parse and evaluate to Undefined.
#pragma once

#include <cstdint>
#include <memory>
#include <optional>
#include <string>

#include <nlohmann/json.hpp>

#include "common/clock.h"
#include "common/status.h"

namespace sluice::iotsql {

using Json = nlohmann::json;

// The result of evaluating an expression: a JSON value, or Undefined (nullopt).
using Value = std::optional<Json>;

struct Node;  // AST, defined in the .cc

// Which language subset Parse accepts.
enum class Dialect {
  kFull,  // everything: WHERE-clause / filter expressions, SELECT items
  // IoT Analytics `math` activity: literals, attribute paths, parentheses, unary minus,
  // + - * / %, and the 21 math functions (abs acos asin atan atan2 ceil cos cosh exp ln log
  // mod power round sign sin sinh sqrt tan tanh trunc). Anything else is a parse error.
  kMath,
};

// What the context functions see. Every member is optional; unset ones make the matching
// function Undefined (clientid() gives "n/a", as for messages that did not come over MQTT).
struct EvalContext {
  std::optional<std::string> topic;  // topic(), topic(n); Basic Ingest prefix already removed
  std::optional<std::string> client_id;
  std::optional<std::string> trace_id;
  std::optional<std::string> principal;
  std::optional<std::string> account_id;
  const Clock* clock = nullptr;  // timestamp(); not owned
};

class Expression {
 public:
  // Deepest allowed expression tree (parentheses, operator chains, calls); deeper input is a
  // parse error rather than a stack overflow.
  static constexpr int kMaxDepth = 256;

  // kInvalidArgument with a message pointing at the offending position, e.g.
  // "Syntax error at position 7 in 'temp > ': expected an expression".
  static Result<Expression> Parse(const std::string& text, Dialect dialect = Dialect::kFull);

  // Evaluates against `message` (attribute references resolve into it: `a`, `a.b`,
  // `a.b[0]`, `a[1].c`). Never throws; a runtime type error yields Undefined.
  Value Eval(const Json& message) const;
  Value Eval(const Json& message, const EvalContext& context) const;

  // Filter semantics: true only when the result is the boolean true.
  bool EvalCondition(const Json& message) const;
  bool EvalCondition(const Json& message, const EvalContext& context) const;

  const std::string& text() const { return text_; }

 private:
  std::string text_;
  std::shared_ptr<const Node> root_;
};

}  // namespace sluice::iotsql
