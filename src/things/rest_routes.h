// RestRoutes: a restJson1 routing table for the things services. Each route is an HTTP
// method, a path template such as "/things/{thingName}/shadow" and an operation name; a
// match yields the handler and the decoded path parameters. Services add one line per
// operation (topic rules and further IoT operations slot in the same way).
// Thread-safety: build the table before use; Find() is then const and may run concurrently.
#pragma once

#include <map>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "common/strings.h"

namespace sluice::things {

template <typename Handler>
class RestRoutes {
 public:
  struct Match {
    Handler handler;
    std::string operation;
    std::map<std::string, std::string> params;  // template name -> decoded segment
  };

  void Add(std::string method, const std::string& path_template, std::string operation,
           Handler handler) {
    Route r;
    r.method = std::move(method);
    for (const std::string& seg : Split(path_template, '/')) {
      if (!seg.empty()) r.segments.push_back(seg);
    }
    r.operation = std::move(operation);
    r.handler = handler;
    routes_.push_back(std::move(r));
  }

  // The route for `method` and the decoded path `segments`. When none matches,
  // `*path_known` (optional) tells whether some route has that path under another method.
  std::optional<Match> Find(const std::string& method, const std::vector<std::string>& segments,
                            bool* path_known = nullptr) const {
    if (path_known != nullptr) *path_known = false;
    for (const Route& r : routes_) {
      std::map<std::string, std::string> params;
      if (!MatchPath(r, segments, &params)) continue;
      if (r.method != method) {
        if (path_known != nullptr) *path_known = true;
        continue;
      }
      return Match{r.handler, r.operation, std::move(params)};
    }
    return std::nullopt;
  }

  std::vector<std::string> Operations() const {
    std::vector<std::string> out;
    for (const Route& r : routes_) out.push_back(r.operation);
    return out;
  }

 private:
  struct Route {
    std::string method;
    std::vector<std::string> segments;  // literal, or "{name}" for a parameter
    std::string operation;
    Handler handler;
  };

  static bool MatchPath(const Route& r, const std::vector<std::string>& segments,
                        std::map<std::string, std::string>* params) {
    if (r.segments.size() != segments.size()) return false;
    for (size_t i = 0; i < segments.size(); ++i) {
      const std::string& t = r.segments[i];
      if (t.size() >= 2 && t.front() == '{' && t.back() == '}') {
        (*params)[t.substr(1, t.size() - 2)] = segments[i];
      } else if (t != segments[i]) {
        return false;
      }
    }
    return true;
  }

  std::vector<Route> routes_;
};

}  // namespace sluice::things
