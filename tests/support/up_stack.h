// tests/support/up_stack.h — the whole service as real processes: `openpcc up --ephemeral-ports`
// (log, witnesses, release, issuer, gateway, N sim nodes, relay, proxy) in a fresh directory,
// started for a test and stopped with it. Tests talk to the proxy (a client-library user) over
// loopback, or read the other roles' addresses from their ready files under DIR/run.
#pragma once

#include <chrono>
#include <filesystem>
#include <memory>
#include <string>
#include <vector>

#include "openpcc/net/client.h"
#include "openpcc/util/result.h"
#include "openpcc/util/subprocess.h"

namespace openpcc::testing {

class UpStack {
 public:
  // Starts `openpcc up --dir DIR --ephemeral-ports ARGS...` and waits (up to `wait`) until the
  // proxy listens. DIR is made afresh under the system temp directory from `name`.
  static Result<std::unique_ptr<UpStack>> Start(const std::string& name, const std::vector<std::string>& args,
                                                std::chrono::seconds wait = std::chrono::seconds(240));
  ~UpStack();  // stops `up` (and so every role); removes DIR unless OPENPCC_KEEP_TEST_DIR is set

  const std::filesystem::path& dir() const { return dir_; }
  const std::string& proxy_url() const { return proxy_; }  // http://HOST:PORT
  Subprocess& process() { return *up_; }
  std::string Log() const;  // up's own output, for failure messages
  // The HOST:PORT a role listens on (its ready file, e.g. "relay", "gateway", "node-1").
  std::string Address(const std::string& role) const;

  // Posts a chat completion to the proxy until it answers 200: the first directory appears ~20 s
  // after the gateway starts and the wallet's first tokens a little later (502/503 until then).
  Result<net::ClientResponse> WaitUntilAnswering(net::BlockingClient& http, const std::string& body,
                                                 std::chrono::seconds wait = std::chrono::seconds(180));
  net::ClientRequest PostChat() const;

 private:
  UpStack() = default;
  std::filesystem::path dir_;
  std::unique_ptr<Subprocess> up_;
  std::string proxy_;
};

}  // namespace openpcc::testing
