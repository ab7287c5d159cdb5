// Attribute paths as IoT Analytics pipeline activities write them: `a`, `a.b.c`, `a[0]`,
// `a.b[1].c`, `a[0][2]`. Used by addAttributes, removeAttributes, selectAttributes, math and
// the enrich activities to read and write message attributes.
// A path is one or more segments separated by '.'; a segment is a non-empty name (any
// characters except '.', '[' and ']') followed by zero or more `[n]` array indexes (decimal,
// non-negative). Names match keys exactly (case-sensitive).
// Thread-safety: pure functions; callers own the JSON they pass in.
#pragma once

#include <cstddef>
#include <optional>
#include <string>
#include <variant>
#include <vector>

#include <nlohmann/json.hpp>

namespace sluice::iotsql {

using Json = nlohmann::json;

// One step of a path: an object key or an array index.
using PathStep = std::variant<std::string, size_t>;

// Largest array index SetPath will create (padding with nulls); larger ones fail.
inline constexpr size_t kMaxCreatedIndex = 10000;

// Splits `path` into steps; nullopt when it is malformed ("", "a..b", "a[", "a[x]", "[0]").
std::optional<std::vector<PathStep>> ParsePath(const std::string& path);

// The value at `path`, or nullopt when the path is malformed or any step is missing or has the
// wrong type (a key into a non-object, an index into a non-array or out of range).
std::optional<Json> GetPath(const Json& message, const std::string& path);

// Stores `value` at `path`, creating missing intermediate objects (and arrays for index steps,
// padded with nulls). An explicit null on the way is replaced by the container it needs. Returns
// false, leaving `message` unchanged, when the path is malformed, an existing value on the way
// is neither the needed container nor null, or a created index exceeds kMaxCreatedIndex.
bool SetPath(Json* message, const std::string& path, Json value);

// Removes the value at `path` (an object member or an array element). Returns whether
// something was removed.
bool RemovePath(Json* message, const std::string& path);

}  // namespace sluice::iotsql
