#include "openpcc/net/router.h"

namespace openpcc::net {

void Router::Handle(std::string method, std::string path, Handler handler) {
  routes_.push_back(Route{std::move(method), std::move(path), false, std::move(handler)});
}

void Router::HandlePrefix(std::string method, std::string prefix, Handler handler) {
  routes_.push_back(Route{std::move(method), std::move(prefix), true, std::move(handler)});
}

Router::Match Router::Find(std::string_view method, std::string_view path) const {
  const Route* best = nullptr;
  std::string allow;
  auto consider = [&](bool prefix_pass) {
    for (const Route& route : routes_) {
      if (route.prefix != prefix_pass) continue;
      bool matches = prefix_pass ? path.substr(0, route.pattern.size()) == route.pattern
                                 : path == route.pattern;
      if (!matches) continue;
      if (route.method != method) {
        if (allow.find(route.method) == std::string::npos) {
          if (!allow.empty()) allow += ", ";
          allow += route.method;
        }
        continue;
      }
      if (!best || route.pattern.size() > best->pattern.size()) best = &route;
    }
  };
  consider(false);
  if (!best) consider(true);
  Match match;
  if (best) {
    match.handler = &best->handler;
    match.route = best->prefix ? best->pattern + "*" : best->pattern;
  } else {
    match.allow = std::move(allow);
  }
  return match;
}

}  // namespace openpcc::net
