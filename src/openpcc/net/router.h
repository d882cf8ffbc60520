// net/router.h — maps (method, path) to a handler: exact paths first, then the longest matching
// prefix route (`/v1/tlog/tile/` serves every tile). The query is never part of the match.
//
// Thread safety: build the router before starting the server; lookups are then read-only and safe
// from every thread.
#pragma once

#include <functional>
#include <string>
#include <string_view>
#include <vector>

#include "openpcc/net/asio.h"

namespace openpcc::net {

class Request;
class Response;

// A handler serves one request. It reads the body incrementally (or whole, with a limit) and
// either sends a whole response or streams one; see Request and Response in server.h. It runs on
// the connection's strand: it must not block — blocking work (an LLM engine) runs on its own
// thread and hands chunks over through a ChunkChannel.
using Handler = std::function<Awaitable<void>(Request&, Response&)>;

class Router {
 public:
  // Exact path, e.g. Handle("POST", "/v1/infer", ...). Method is upper case.
  void Handle(std::string method, std::string path, Handler handler);
  // Every path starting with `prefix`, e.g. HandlePrefix("GET", "/v1/tlog/tile/", ...).
  void HandlePrefix(std::string method, std::string prefix, Handler handler);

  struct Match {
    const Handler* handler = nullptr;  // null: no route for this method and path
    std::string route;                 // the matched pattern ("/v1/tlog/tile/*"), for logs
    std::string allow;                 // when the path exists for other methods: "GET, POST"
  };
  Match Find(std::string_view method, std::string_view path) const;

 private:
  struct Route {
    std::string method;
    std::string pattern;
    bool prefix;
    Handler handler;
  };
  std::vector<Route> routes_;
};

}  // namespace openpcc::net
