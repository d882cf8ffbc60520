#include "openpcc/services/gateway/registry.h"

#include <algorithm>
#include <set>

#include "openpcc/wire/byte_reader.h"
#include "openpcc/wire/key_config.h"
#include "openpcc/wire/sealed.h"

namespace openpcc::services::gateway {

void NodeRegistry::Upsert(NodeRegistration registration) {
  std::lock_guard lock(mu_);
  auto it = nodes_.find(registration.node_id);
  if (it != nodes_.end()) registration.healthy = it->second.healthy;
  Bytes id = registration.node_id;
  nodes_[std::move(id)] = std::move(registration);
}

bool NodeRegistry::Remove(ByteView node_id) {
  std::lock_guard lock(mu_);
  return nodes_.erase(ToBytes(node_id)) > 0;
}

void NodeRegistry::SetHealthy(ByteView node_id, bool healthy) {
  std::lock_guard lock(mu_);
  auto it = nodes_.find(ToBytes(node_id));
  if (it != nodes_.end()) it->second.healthy = healthy;
}

std::optional<NodeRegistration> NodeRegistry::Find(ByteView node_id) const {
  std::lock_guard lock(mu_);
  auto it = nodes_.find(ToBytes(node_id));
  if (it == nodes_.end()) return std::nullopt;
  return it->second;
}

std::vector<NodeRegistration> NodeRegistry::All() const {
  std::lock_guard lock(mu_);
  std::vector<NodeRegistration> out;
  for (const auto& [id, node] : nodes_) out.push_back(node);
  return out;
}

size_t NodeRegistry::DropExpired(std::chrono::sys_seconds now, std::chrono::seconds grace) {
  std::lock_guard lock(mu_);
  const int64_t cutoff = now.time_since_epoch().count() - grace.count();
  return std::erase_if(nodes_, [cutoff](const auto& entry) { return entry.second.not_after <= cutoff; });
}

std::map<std::string, std::vector<directory::DirectoryNode>> NodeRegistry::ModelsFor(int64_t start,
                                                                                     int64_t end) const {
  (void)end;
  std::lock_guard lock(mu_);
  // One key per node (by URL): the newest whose validity covers the epoch's start. A node's
  // previous key (still valid in its grace period) and its next key (prepared ahead) are left out.
  std::map<std::string, const NodeRegistration*> chosen;
  for (const auto& [id, node] : nodes_) {
    if (!(node.not_before <= start && start < node.not_after)) continue;
    const NodeRegistration*& best = chosen[node.url];
    if (best == nullptr || node.not_before > best->not_before) best = &node;
  }
  std::vector<const NodeRegistration*> listed;
  for (const auto& [url, node] : chosen) listed.push_back(node);
  std::sort(listed.begin(), listed.end(),
            [](const NodeRegistration* a, const NodeRegistration* b) { return a->node_id < b->node_id; });
  std::map<std::string, std::vector<directory::DirectoryNode>> models;
  for (const NodeRegistration* node : listed) {
    for (const std::string& model : node->models) {
      auto& list = models[model];
      if (list.size() >= directory::kMaxNodesPerModel) continue;
      list.push_back(directory::DirectoryNode{node->node_id, node->key_config, node->platform});
    }
  }
  return models;
}

std::map<Bytes, std::string> NodeRegistry::BundlesFor(const directory::NodeDirectory& dir) const {
  std::lock_guard lock(mu_);
  std::map<Bytes, std::string> out;
  for (const auto& [model, nodes] : dir.models) {
    for (const directory::DirectoryNode& n : nodes) {
      auto it = nodes_.find(n.node_id);
      if (it != nodes_.end()) out[n.node_id] = it->second.bundle_json;
    }
  }
  return out;
}

Result<std::vector<Bytes>> SealedCandidates(ByteView prefix) {
  wire::ByteReader in(prefix);
  uint8_t version = 0;
  uint16_t aead = 0;
  uint8_t count = 0;
  if (!in.ReadU8(&version) || !in.ReadU16(&aead) || !in.ReadU8(&count)) {
    return Error(ErrorCode::kTruncated, "sealed request: header ends before its candidate count");
  }
  if (version != wire::kSealedVersion) {
    return Error(ErrorCode::kUnsupported, "sealed request: version " + std::to_string(version) + ", expected 1");
  }
  if (count == 0 || count > wire::kMaxSealedCandidates) {
    return Error(ErrorCode::kMalformed, "sealed request: candidate count " + std::to_string(count) + ", expected 1 to 8");
  }
  std::vector<Bytes> ids;
  for (uint8_t i = 0; i < count; ++i) {
    std::span<const uint8_t> id;
    if (!in.ReadBytes(wire::kNodeIdLength, &id)) {
      return Error(ErrorCode::kTruncated, "sealed request: header ends inside node_id " + std::to_string(i));
    }
    ids.push_back(ToBytes(id));
  }
  return ids;
}

std::vector<NodeRegistration> RoutableCandidates(const std::vector<Bytes>& candidates,
                                                 const std::vector<const directory::NodeDirectory*>& directories,
                                                 const NodeRegistry& registry, std::mt19937_64& rng) {
  std::vector<NodeRegistration> out;
  std::set<Bytes> seen;
  for (const Bytes& id : candidates) {
    if (!seen.insert(id).second) continue;
    bool listed = false;
    for (const directory::NodeDirectory* d : directories) listed = listed || (d != nullptr && d->Lists(id));
    if (!listed) continue;
    std::optional<NodeRegistration> node = registry.Find(id);
    if (!node || !node->healthy) continue;
    out.push_back(std::move(*node));
  }
  std::shuffle(out.begin(), out.end(), rng);
  return out;
}

uint64_t EpochAt(std::chrono::sys_seconds now, std::chrono::seconds length) {
  const int64_t t = now.time_since_epoch().count();
  return t <= 0 ? 0 : static_cast<uint64_t>(t / length.count());
}

int64_t EpochStart(uint64_t epoch, std::chrono::seconds length) {
  return static_cast<int64_t>(epoch) * length.count();
}

}  // namespace openpcc::services::gateway
