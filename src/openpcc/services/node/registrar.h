// services/node/registrar.h — keeps the node's keys current and its registration with the
// gateway alive (DESIGN §2.2 key lifetime, §4 operator listener).
//
// A background thread, once a second: ticks the KeyRing (creates the current and, ahead of the
// boundary, the next epoch's key; erases keys past their grace period) and, when a gateway is
// configured, registers every key the node holds — at once when the set changed, and otherwise
// every `interval` as a keep-alive that also carries a refreshed evidence bundle:
//
//   POST {gateway}/v1/nodes/register
//   Authorization: Bearer <operator-issued registration credential>
//   {"url": NODE_URL, "epoch": E, "not_before": UNIX, "not_after": UNIX, "bundle": {...}}
//
// On Stop it deregisters each key it registered: `DELETE {gateway}/v1/nodes/{node_id hex}`.
// Failures are logged (status code, error class) and retried at the next round; the node keeps
// serving meanwhile. The credential is a secret: it is never logged.
//
// Thread safety: Start and Stop from one thread; RegisterNow from any.
#pragma once

#include <chrono>
#include <condition_variable>
#include <memory>
#include <mutex>
#include <set>
#include <string>
#include <thread>

#include "openpcc/net/client.h"
#include "openpcc/services/node/key_ring.h"
#include "openpcc/services/node/node_service.h"
#include "openpcc/util/clock.h"

namespace openpcc::services::node {

struct RegistrarOptions {
  std::string gateway_url;  // the operator listener's base URL; empty: no registration
  std::string node_url;     // how the gateway reaches this node
  std::string credential;   // sent as a bearer token
  std::chrono::milliseconds interval{60'000};
  std::chrono::milliseconds tick{1'000};
  net::ClientOptions client;
  std::string component = "node";
};

class Registrar {
 public:
  Registrar(RegistrarOptions options, NodeService& service, KeyRing& keys, const Clock& clock);
  ~Registrar();

  // Ticks the keys once (so the node has a key before it listens) and starts the thread.
  Status Start();
  // Stops the thread and deregisters.
  void Stop();
  // One registration round now (tests); errors name the gateway's status.
  Status RegisterAll();
  // Asks the thread for a registration round at its next tick (e.g. after the evidence's
  // freshness changed); safe from any thread.
  void RegisterSoon();

 private:
  void Run();
  Status Deregister(const std::string& node_id_hex);

  RegistrarOptions options_;
  NodeService& service_;
  KeyRing& keys_;
  const Clock& clock_;
  std::unique_ptr<net::BlockingClient> client_;
  std::set<std::string> registered_;  // node ids (hex) the gateway holds
  std::mutex mu_;
  std::condition_variable cv_;
  bool stop_ = false;
  bool register_soon_ = false;
  std::thread thread_;
};

}  // namespace openpcc::services::node
