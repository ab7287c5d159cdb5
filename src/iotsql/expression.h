// AWS IoT SQL expressions: the language of pipeline `filter` and `math` activities and of
// topic-rule WHERE/SELECT clauses. Parses once, evaluates many times against a JSON
// message. Semantics follow docs and worked examples in the AWS IoT SQL reference:
// Undefined vs Null, type coercions, operators and functions.
// Thread-safety: an Expression is immutable after Parse; Eval is safe from any thread.
#pragma once

#include <memory>
#include <optional>
#include <string>

#include <nlohmann/json.hpp>

#include "common/status.h"

namespace sluice::iotsql {

using Json = nlohmann::json;

// The result of evaluating an expression: a JSON value, or Undefined (nullopt).
using Value = std::optional<Json>;

struct Node;  // AST, defined in the .cc

class Expression {
 public:
  // kInvalidArgument with a message pointing at the offending position, e.g.
  // "Syntax error at position 7 in 'temp > ': expected an expression".
  static Result<Expression> Parse(const std::string& text);

  // Evaluates against `message` (attribute references resolve into it: `a`, `a.b`,
  // `a.b[0]`, `a[1].c`). Never throws; a runtime type error yields Undefined.
  Value Eval(const Json& message) const;

  // Filter semantics: true only when the result is the boolean true.
  bool EvalCondition(const Json& message) const;

  const std::string& text() const { return text_; }

 private:
  std::string text_;
  std::shared_ptr<const Node> root_;
};

}  // namespace sluice::iotsql
