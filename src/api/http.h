// Plain HTTP request/response values passed between the HTTP server, the router and the
// API services. Independent of the HTTP library so services are testable without sockets.
// Thread-safety: value types.
#pragma once

#include <map>
#include <optional>
#include <string>
#include <utility>
#include <vector>

namespace sluice {

struct HttpRequest {
  std::string method;  // upper-case, e.g. "GET"
  std::string target;  // raw request-target as received: path + '?' + query
  std::vector<std::pair<std::string, std::string>> headers;  // arrival order, original case
  std::string body;
  std::string remote;  // peer address, for logs

  // First header with this name (case-insensitive), if any.
  std::optional<std::string> Header(const std::string& name) const;
};

struct HttpResponse {
  int status = 200;
  std::vector<std::pair<std::string, std::string>> headers;
  std::string body;

  void SetHeader(const std::string& name, const std::string& value);
  static HttpResponse Json(int status, std::string body);
};

// Decoded view of a request-target: path segments and query parameters (multi-valued).
struct ParsedTarget {
  std::string path;                               // percent-decoded
  std::vector<std::string> segments;              // percent-decoded, empty segments dropped
  std::multimap<std::string, std::string> query;  // decoded names/values

  std::optional<std::string> Query(const std::string& name) const;
  std::vector<std::string> QueryAll(const std::string& name) const;
};

// Fails (nullopt) on malformed percent-escapes.
std::optional<ParsedTarget> ParseTarget(const std::string& target);

}  // namespace sluice
