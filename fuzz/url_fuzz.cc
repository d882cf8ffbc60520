// libFuzzer target for net/url. The input is a URL. The target aborts unless an accepted URL has
// a scheme of http or https, a non-empty host, a non-zero port and a target starting with '/',
// and writing it out again (scheme://host:port/target) parses to the same URL.
#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <string>
#include <string_view>

#include "openpcc/net/url.h"

namespace {

void Check(bool condition, const char* what) {
  if (!condition) {
    std::fprintf(stderr, "url_fuzz: %s\n", what);
    std::abort();
  }
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  std::string_view input(reinterpret_cast<const char*>(data), size);
  auto url = openpcc::net::ParseUrl(input);
  (void)openpcc::net::IsLoopbackHost(input);
  if (!url.ok()) {
    Check(url.error().message().rfind("url: ", 0) == 0, "error without the url: prefix");
    return 0;
  }
  Check(url->scheme == "http" || url->scheme == "https", "scheme");
  Check(!url->host.empty(), "empty host");
  Check(url->port != 0, "zero port");
  Check(!url->target.empty() && url->target.front() == '/', "target does not start with '/'");
  std::string host = url->host.find(':') != std::string::npos ? "[" + url->host + "]" : url->host;
  std::string again = url->scheme + "://" + host + ":" + std::to_string(url->port) + url->target;
  auto reparsed = openpcc::net::ParseUrl(again);
  Check(reparsed.ok(), "written-out URL does not parse");
  Check(reparsed->scheme == url->scheme && reparsed->host == url->host &&
            reparsed->port == url->port && reparsed->target == url->target,
        "written-out URL parses differently");
  (void)openpcc::net::IsLoopbackHost(url->host);
  return 0;
}
