#include "api/http.h"

#include "common/strings.h"

namespace sluice {

std::optional<std::string> HttpRequest::Header(const std::string& name) const {
  std::string want = ToLower(name);
  for (const auto& [k, v] : headers) {
    if (ToLower(k) == want) return v;
  }
  return std::nullopt;
}

void HttpResponse::SetHeader(const std::string& name, const std::string& value) {
  std::string want = ToLower(name);
  for (auto& [k, v] : headers) {
    if (ToLower(k) == want) {
      v = value;
      return;
    }
  }
  headers.emplace_back(name, value);
}

HttpResponse HttpResponse::Json(int status, std::string body) {
  HttpResponse r;
  r.status = status;
  r.body = std::move(body);
  r.headers.emplace_back("Content-Type", "application/json");
  return r;
}

std::optional<std::string> ParsedTarget::Query(const std::string& name) const {
  auto it = query.find(name);
  if (it == query.end()) return std::nullopt;
  return it->second;
}

std::vector<std::string> ParsedTarget::QueryAll(const std::string& name) const {
  std::vector<std::string> out;
  auto [b, e] = query.equal_range(name);
  for (auto it = b; it != e; ++it) out.push_back(it->second);
  return out;
}

std::optional<ParsedTarget> ParseTarget(const std::string& target) {
  ParsedTarget out;
  size_t q = target.find('?');
  std::string raw_path = target.substr(0, q);
  auto path = PercentDecode(raw_path);
  if (!path.ok()) return std::nullopt;
  out.path = *path;
  for (const std::string& seg : Split(raw_path, '/')) {
    if (seg.empty()) continue;
    auto d = PercentDecode(seg);
    if (!d.ok()) return std::nullopt;
    out.segments.push_back(*d);
  }
  if (q != std::string::npos) {
    for (const std::string& item : Split(target.substr(q + 1), '&')) {
      if (item.empty()) continue;
      size_t eq = item.find('=');
      auto k = PercentDecode(item.substr(0, eq));
      auto v = PercentDecode(eq == std::string::npos ? "" : item.substr(eq + 1));
      if (!k.ok() || !v.ok()) return std::nullopt;
      out.query.emplace(*k, *v);
    }
  }
  return out;
}

}  // namespace sluice
