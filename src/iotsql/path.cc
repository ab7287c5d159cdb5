#include "iotsql/path.h"

#include <utility>

namespace sluice::iotsql {

std::optional<std::vector<PathStep>> ParsePath(const std::string& path) {
  std::vector<PathStep> steps;
  size_t i = 0;
  const size_t n = path.size();
  if (n == 0) return std::nullopt;
  while (true) {
    // A name.
    size_t start = i;
    while (i < n && path[i] != '.' && path[i] != '[' && path[i] != ']') ++i;
    if (i == start) return std::nullopt;
    steps.emplace_back(path.substr(start, i - start));
    // Indexes.
    while (i < n && path[i] == '[') {
      ++i;
      size_t digits = i;
      size_t index = 0;
      while (i < n && path[i] >= '0' && path[i] <= '9') {
        if (index > (static_cast<size_t>(-1) - 9) / 10) return std::nullopt;  // overflow
        index = index * 10 + static_cast<size_t>(path[i] - '0');
        ++i;
      }
      if (i == digits || i >= n || path[i] != ']') return std::nullopt;
      ++i;
      steps.emplace_back(index);
    }
    if (i == n) break;
    if (path[i] != '.') return std::nullopt;
    ++i;
    if (i == n) return std::nullopt;
  }
  return steps;
}

namespace {

// Follows `step` from `node`; nullptr when absent.
const Json* Step(const Json& node, const PathStep& step) {
  if (const auto* key = std::get_if<std::string>(&step)) {
    if (!node.is_object()) return nullptr;
    auto it = node.find(*key);
    return it == node.end() ? nullptr : &*it;
  }
  size_t index = std::get<size_t>(step);
  if (!node.is_array() || index >= node.size()) return nullptr;
  return &node[index];
}

}  // namespace

std::optional<Json> GetPath(const Json& message, const std::string& path) {
  auto steps = ParsePath(path);
  if (!steps) return std::nullopt;
  const Json* node = &message;
  for (const PathStep& step : *steps) {
    node = Step(*node, step);
    if (node == nullptr) return std::nullopt;
  }
  return *node;
}

bool SetPath(Json* message, const std::string& path, Json value) {
  if (message == nullptr) return false;
  auto steps = ParsePath(path);
  if (!steps) return false;
  // Validation pass: nothing is modified unless the whole write can succeed.
  const Json* node = message;
  for (const PathStep& step : *steps) {
    bool is_key = std::holds_alternative<std::string>(step);
    if (node != nullptr) {
      if (!node->is_null() && !(is_key ? node->is_object() : node->is_array())) return false;
      const Json* next = node->is_null() ? nullptr : Step(*node, step);
      if (next == nullptr && !is_key && std::get<size_t>(step) > kMaxCreatedIndex) return false;
      node = next;
    } else if (!is_key && std::get<size_t>(step) > kMaxCreatedIndex) {
      return false;
    }
  }
  // Write pass.
  Json* cur = message;
  for (const PathStep& step : *steps) {
    if (const auto* key = std::get_if<std::string>(&step)) {
      if (cur->is_null()) *cur = Json::object();
      cur = &(*cur)[*key];
    } else {
      size_t index = std::get<size_t>(step);
      if (cur->is_null()) *cur = Json::array();
      while (cur->size() <= index) cur->push_back(nullptr);
      cur = &(*cur)[index];
    }
  }
  *cur = std::move(value);
  return true;
}

bool RemovePath(Json* message, const std::string& path) {
  if (message == nullptr) return false;
  auto steps = ParsePath(path);
  if (!steps) return false;
  Json* node = message;
  for (size_t i = 0; i + 1 < steps->size(); ++i) {
    node = const_cast<Json*>(Step(*node, (*steps)[i]));
    if (node == nullptr) return false;
  }
  const PathStep& last = steps->back();
  if (const auto* key = std::get_if<std::string>(&last)) {
    if (!node->is_object()) return false;
    return node->erase(*key) > 0;
  }
  size_t index = std::get<size_t>(last);
  if (!node->is_array() || index >= node->size()) return false;
  node->erase(index);
  return true;
}

}  // namespace sluice::iotsql
