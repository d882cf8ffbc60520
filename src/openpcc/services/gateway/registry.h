// services/gateway/registry.h — the gateway's registered nodes and its routing decision
// (DESIGN §2.5): which nodes go into an epoch's directory, and which node serves a request.
//
// Registration is the operator's business (POST /v1/nodes/register, after the bundle passed the
// gateway's policy); routing is constrained by the client: a request names its candidates in the
// sealed request's header, and the gateway may only choose among them. It chooses uniformly at
// random among those that are listed in a directory it published (the current or the previous
// epoch's, for requests sealed just before a rollover), still registered, and healthy. It never adds
// a node: a candidate it cannot route to is simply skipped, and no candidate left is an error.
//
// Directory membership: a node (one per URL) is listed in epoch E's directory with its newest key
// that is valid at E's start, if it registered before the directory was built; nodes that register
// mid-epoch wait for the next directory (they are not in the published one, so they are never
// routed to).
//
// Thread safety: NodeRegistry is internally synchronised; the free functions are pure.
#pragma once

#include <chrono>
#include <cstdint>
#include <map>
#include <mutex>
#include <optional>
#include <random>
#include <string>
#include <vector>

#include "openpcc/directory/node_directory.h"
#include "openpcc/util/bytes.h"
#include "openpcc/util/result.h"

namespace openpcc::services::gateway {

struct NodeRegistration {
  Bytes node_id;
  Bytes key_config;
  std::string url;                  // the node's base URL ("http://127.0.0.1:7500")
  std::string platform;             // attest::PlatformName
  std::vector<std::string> models;  // the bundle's claimed model names
  uint64_t node_epoch = 0;          // the epoch the node says the key belongs to
  int64_t not_before = 0;           // key validity, unix seconds
  int64_t not_after = 0;
  std::string bundle_json;          // the evidence bundle as registered (refreshed by keep-alives)
  bool healthy = true;
};

class NodeRegistry {
 public:
  // Adds or refreshes a registration; a refresh keeps the node's health state.
  void Upsert(NodeRegistration registration);
  bool Remove(ByteView node_id);
  void SetHealthy(ByteView node_id, bool healthy);
  std::optional<NodeRegistration> Find(ByteView node_id) const;
  std::vector<NodeRegistration> All() const;
  // Drops registrations whose key expired more than `grace` before `now`.
  size_t DropExpired(std::chrono::sys_seconds now, std::chrono::seconds grace);

  // The directory's `models` for the epoch [start, end): per node URL the newest key valid at
  // `start`, under each model it claims, ordered by node_id.
  std::map<std::string, std::vector<directory::DirectoryNode>> ModelsFor(int64_t start, int64_t end) const;
  // The current bundles of the nodes `directory` lists (those still registered).
  std::map<Bytes, std::string> BundlesFor(const directory::NodeDirectory& directory) const;

 private:
  mutable std::mutex mu_;
  std::map<Bytes, NodeRegistration> nodes_;
};

// The candidate node_ids of a sealed request, read from its header (wire/sealed.h): version 0x01,
// body AEAD id, count (1..8), count × 32-byte node_id. `prefix` may hold more than the header.
Result<std::vector<Bytes>> SealedCandidates(ByteView prefix);

// The candidates a request may go to, in the order to try them: those listed in one of
// `directories`, registered and healthy, shuffled uniformly with `rng`. Duplicates count once.
std::vector<NodeRegistration> RoutableCandidates(const std::vector<Bytes>& candidates,
                                                 const std::vector<const directory::NodeDirectory*>& directories,
                                                 const NodeRegistry& registry, std::mt19937_64& rng);

// Epoch arithmetic: epochs are [n × length, (n + 1) × length) in unix seconds.
uint64_t EpochAt(std::chrono::sys_seconds now, std::chrono::seconds length);
int64_t EpochStart(uint64_t epoch, std::chrono::seconds length);

}  // namespace openpcc::services::gateway
