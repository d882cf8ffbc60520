// tests/support/stack_process.h — the confidential path as real processes on loopback, built the
// way `openpcc up` builds it but with the hooks fault and TLS tests need: a log with one witness,
// a release of the binary under test in the log, an issuer with one account, the gateway, N sim
// nodes on the tiny llama model (each with its own listen address and extra flags, e.g.
// --advertise-url or TLS), and a relay; plus a client configuration (client/client.h) that
// trusts exactly this deployment.
//
// Start order keeps start-up short: the nodes start first and register with the gateway's
// operator address picked in advance; the gateway then publishes the epoch's directory after a
// short --startup-wait, once every node registered. Epochs (and node keys) last a day, so a test
// meets a key rotation only when it runs across midnight UTC. Processes are stopped in the
// destructor. Not thread-safe.
#pragma once

#include <gtest/gtest.h>

#include <filesystem>
#include <memory>
#include <string>
#include <vector>

#include "support/issuer_process.h"
#include "support/service_process.h"

namespace openpcc::testing {

struct StackNode {
  std::string listen = "127.0.0.1:0";
  std::vector<std::string> flags;  // added to the node's command line
  bool registers = true;           // false: a node the gateway never hears of
};

struct StackOptions {
  std::vector<StackNode> nodes;
  std::vector<std::string> gateway_flags;  // e.g. --ca-file
  int max_tokens = 64;                     // each node's --max-tokens ceiling
  int context = 512;                       // each node's --context
};

class Stack {
 public:
  // `dir`: a fresh directory for keys, logs and state (removed unless OPENPCC_KEEP_TEST_DIR is set).
  explicit Stack(std::filesystem::path dir);
  ~Stack();

  ::testing::AssertionResult Start(const StackOptions& options);

  ServiceProcess& node(size_t i) { return nodes_.at(i); }
  size_t node_count() const { return nodes_.size(); }
  ServiceProcess& gateway() { return gateway_; }
  const std::string& relay_url() const { return relay_url_; }
  const std::filesystem::path& dir() const { return dir_; }
  // The client configuration (JSON file) for this deployment, requiring `min_nodes` nodes.
  std::filesystem::path WriteClientConfig(size_t min_nodes, const std::string& name = "client");

 private:
  std::filesystem::path dir_;
  std::vector<ServiceProcess> services_;  // witness, log, relay: stopped last to first
  std::vector<ServiceProcess> nodes_;
  ServiceProcess gateway_;
  std::unique_ptr<IssuerProcess> issuer_;
  std::string api_key_;
  std::string relay_url_;
};

}  // namespace openpcc::testing
