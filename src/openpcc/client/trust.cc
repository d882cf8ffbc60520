#include "openpcc/client/trust.h"

#include <string>

#include "openpcc/attest/bundle.h"
#include "openpcc/client/key_bootstrap.h"
#include "openpcc/crypto/hash.h"

namespace openpcc::client {
namespace {

Error Named(std::string_view check, const Error& error) {
  return Error(error.code(), std::string(check) + ": " + error.message());
}
Error Named(std::string_view check, ErrorCode code, std::string message) {
  return Error(code, std::string(check) + ": " + message);
}

std::string ShortId(ByteView node_id) { return HexEncode(node_id.first(std::min<size_t>(node_id.size(), 8))); }

int64_t Unix(std::chrono::sys_seconds t) { return t.time_since_epoch().count(); }

void Report(const AcceptInput& in, std::string_view check, const std::string& detail) {
  if (in.observer != nullptr && *in.observer) (*in.observer)(check, detail);
}

}  // namespace

std::vector<NodeCandidate> TrustedDirectory::Candidates() const {
  std::vector<NodeCandidate> out;
  out.reserve(nodes.size());
  for (const TrustedNode& n : nodes) out.push_back(n.candidate);
  return out;
}

const TrustedNode* TrustedDirectory::Find(ByteView node_id) const {
  for (const TrustedNode& n : nodes) {
    if (ToBytes(node_id) == n.candidate.node_id) return &n;
  }
  return nullptr;
}

Result<attest::VerifiedNode> BundleCache::Verify(ByteView node_id, std::string_view bundle_text,
                                                 const attest::BundlePolicy& policy,
                                                 const tlog::ReleaseIndex& index, std::chrono::sys_seconds now,
                                                 bool* cached) {
  if (cached != nullptr) *cached = false;
  auto key = std::make_pair(ToBytes(node_id), crypto::Sha256(AsBytes(bundle_text)));
  {
    std::lock_guard lock(mu_);
    auto it = entries_.find(key);
    if (it != entries_.end()) {
      const attest::VerifiedNode& node = it->second.node;
      const bool fresh = !node.freshness_not_before ||
                         (now >= *node.freshness_not_before &&
                          now - *node.freshness_not_before <= policy.log->max_age);
      if (fresh && it->second.index_size == index.next_index()) {
        if (cached != nullptr) *cached = true;
        return node;
      }
      entries_.erase(it);  // stale or the log grew: verify again below
    }
  }
  OPENPCC_ASSIGN_OR_RETURN(attest::EvidenceBundle bundle, attest::ParseBundle(bundle_text));
  OPENPCC_ASSIGN_OR_RETURN(attest::VerifiedNode node,
                           attest::VerifyBundle(bundle, policy, index, attest::VerifyContext{now, std::nullopt}));
  if (node.node_id != key.first) {
    return Error(ErrorCode::kMalformed, "the bundle's node_id is not the node_id it is listed under");
  }
  std::lock_guard lock(mu_);
  entries_[std::move(key)] = Entry{node, index.next_index()};
  return node;
}

size_t BundleCache::size() const {
  std::lock_guard lock(mu_);
  return entries_.size();
}

Result<TrustedDirectory> DirectoryTrust::Accept(const AcceptInput& in) {
  if (in.response == nullptr || in.ohttp_in_use == nullptr || in.index == nullptr) {
    return Error(ErrorCode::kInvalidArgument, "directory trust: response, OHTTP config and index are required");
  }
  const directory::DirectoryResponse& response = *in.response;
  TrustedDirectory out;
  out.model = std::string(in.model);
  out.log_index = response.log_index;

  auto dir = directory::VerifyDirectoryEntry(response.entry, policy_.directory_key);
  if (!dir.ok()) return Named("directory signature", dir.error());
  out.directory = std::move(*dir);
  Report(in, "directory signature",
         "epoch " + std::to_string(out.directory.epoch) + " signed by the configured directory key");

  auto checkpoint = tlog::VerifyCheckpoint(policy_.log(), response.checkpoint);
  if (!checkpoint.ok()) return Named("checkpoint", checkpoint.error());
  Report(in, "checkpoint",
         "log " + policy_.log().origin + " size " + std::to_string(checkpoint->checkpoint.size) + ", " +
             std::to_string(checkpoint->quorum.size()) + " of " + std::to_string(policy_.log().witnesses.size()) +
             " witnesses (threshold " + std::to_string(policy_.log().threshold) + ")");
  if (Status fresh = tlog::CheckFreshness(policy_.log(), *checkpoint, in.now); !fresh.ok()) {
    return Named("checkpoint freshness", fresh.error());
  }
  Report(in, "checkpoint freshness",
         "cosigned " + std::to_string((in.now - checkpoint->not_before).count()) + " s ago (max " +
             std::to_string(policy_.log().max_age.count()) + " s)");

  if (Status included = tlog::VerifyInclusion(*checkpoint, response.entry, response.log_index, response.inclusion_proof);
      !included.ok()) {
    return Named("inclusion", included.error());
  }
  Report(in, "inclusion", "directory entry at log index " + std::to_string(response.log_index));

  auto history = store_.Update(policy_.log(), response.checkpoint, in.persisted_size, in.consistency_proof, in.now);
  if (!history.ok()) {
    std::string message = history.error().message();
    if (message.find("needs a consistency proof") != std::string::npos) {
      message += " (none was supplied: the client must read the log's tiles to prove it; nothing is accepted "
                 "without the proof)";
    }
    return Named("checkpoint history", history.error().code(), std::move(message));
  }
  out.checkpoint = std::move(*checkpoint);
  Report(in, "checkpoint history", "consistent with the persisted checkpoint; persisted");

  const int64_t now = Unix(in.now);
  if (now < out.directory.not_before || now >= out.directory.not_after) {
    return Named("epoch", ErrorCode::kFailedPrecondition,
                 "epoch " + std::to_string(out.directory.epoch) + " is valid from " +
                     std::to_string(out.directory.not_before) + " to " + std::to_string(out.directory.not_after) +
                     " (unix s), not at " + std::to_string(now));
  }
  Report(in, "epoch", "epoch " + std::to_string(out.directory.epoch) + " is current");

  for (size_t i = 0; i < out.directory.ohttp_configs.size(); ++i) {
    auto config = wire::ParseKeyConfig(out.directory.ohttp_configs[i]);
    if (!config.ok()) return Named("ohttp config", config.error().code(), "listed config " + std::to_string(i) + ": " + config.error().message());
    out.ohttp_configs.push_back(std::move(*config));
  }
  if (Status listed = ConfirmListed(*in.ohttp_in_use, in.suite, out.ohttp_configs); !listed.ok()) {
    return Named("ohttp config", listed.error());
  }
  Report(in, "ohttp config", "key id " + std::to_string(in.ohttp_in_use->key_id) + " is listed");

  const std::vector<directory::DirectoryNode>& listed = out.directory.NodesOf(in.model);
  if (listed.size() < policy_.min_nodes) {
    return Named("model", ErrorCode::kFailedPrecondition,
                 "model " + out.model + " has " + std::to_string(listed.size()) + " nodes, fewer than the " +
                     std::to_string(policy_.min_nodes) + " the client requires");
  }
  Report(in, "model", "model " + out.model + " has " + std::to_string(listed.size()) + " nodes");

  for (const directory::DirectoryNode& node : listed) {
    const std::string who = "node " + ShortId(node.node_id);
    auto text = response.bundles.find(node.node_id);
    if (text == response.bundles.end()) {
      return Named("bundle", ErrorCode::kFailedPrecondition, who + ": no evidence bundle in the response");
    }
    bool cached = false;
    auto verified = cache_.Verify(node.node_id, text->second, *policy_.bundles, *in.index, in.now, &cached);
    if (!verified.ok()) return Named("bundle", verified.error().code(), who + ": " + verified.error().message());
    if (verified->key_config != node.key_config) {
      return Named("bundle", ErrorCode::kMalformed, who + ": the bundle's key_config is not the listed one");
    }
    if (attest::PlatformName(verified->platform) != node.platform) {
      return Named("bundle", ErrorCode::kMalformed,
                   who + ": the bundle's platform " + std::string(attest::PlatformName(verified->platform)) +
                       " is not the listed " + node.platform);
    }
    bool claims_model = false;
    for (const attest::ModelClaim& m : verified->models) claims_model = claims_model || m.name == in.model;
    if (!claims_model) {
      return Named("bundle", ErrorCode::kFailedPrecondition, who + ": the bundle does not claim model " + out.model);
    }
    auto config = wire::ParseKeyConfig(node.key_config);
    if (!config.ok()) return Named("bundle", config.error().code(), who + ": key_config: " + config.error().message());
    Report(in, "bundle",
           who + ": " + std::string(attest::PlatformName(verified->platform)) +
               (verified->simulated ? " (simulated)" : "") + ", release " + verified->release_version +
               " at log index " + std::to_string(verified->log_index) + (cached ? ", cached" : ", verified"));
    out.nodes.push_back(TrustedNode{NodeCandidate{node.node_id, std::move(*config)}, std::move(*verified)});
  }
  return out;
}

}  // namespace openpcc::client
