// client/trust.h — whether the client believes the gateway's `GET /v1/directory` answer (DESIGN
// §2.1, §2.4, §2.5, §2.6): the one place that turns an untrusted directory response into the set
// of nodes a sealed call may be addressed to.
//
// `DirectoryTrust::Accept` checks, in this order, and the first failure is returned with the
// check's name as the first words of its message:
//   directory signature  the entry is a node-directory entry signed by the configured directory
//                        key, canonical, and well formed (directory/node_directory.h)
//   checkpoint           the response's checkpoint note verifies under the log policy: log key,
//                        witnesses, t-of-n (tlog/log_policy.h)
//   checkpoint freshness its witness quorum is at most the policy's max_age old at `now`
//   inclusion            the entry is included at log_index in that checkpoint's tree (RFC 9162)
//   checkpoint history   the checkpoint is not a rollback or fork of the one persisted in the state
//                        directory (tlog::CheckpointStore: temp file + fsync + rename under a shared
//                        lock; rollback and fork keep both notes as evidence). A larger tree needs a
//                        consistency proof from the persisted size; the caller supplies it (the
//                        Client builds it from the log's entries it read through the gateway). With
//                        none, the check fails and says so: nothing is accepted on trust. If another
//                        process persisted a checkpoint since the caller read the persisted size,
//                        the check fails as "stored checkpoint changed" (no evidence): fetch again.
//   epoch                not_before <= now < not_after
//   ohttp config         the OHTTP key config the client is using is one the directory lists
//                        (DESIGN §2.1 key consistency; key_bootstrap.h ConfirmListed)
//   model                the model is listed with at least min_nodes nodes (default 3, DESIGN §2.5)
//   bundle               every listed node of the model has an evidence bundle that verifies under
//                        the bundle policy (attest/bundle_verifier.h; `now` and the client's
//                        ReleaseIndex), for that node's key_config and platform, claiming the model.
//                        One failing node refuses the whole directory: dropping nodes would let the
//                        gateway shrink the candidate set towards a node it chose.
//
// Bundle results are cached by node_id + SHA-256 of the bundle text (a node's evidence refreshes
// every few minutes; a new text is verified again); a cached result is used only while its
// freshness is within the policy's max_age at `now` and while the ReleaseIndex has not grown
// (a new entry may be a revocation). Each step may be reported to an observer (for `--verbose`).
//
// Thread safety: Accept may be called from several threads; the cache is locked and the checkpoint
// store serialises through its file lock.
#pragma once

#include <chrono>
#include <cstdint>
#include <filesystem>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "openpcc/attest/bundle_policy.h"
#include "openpcc/attest/bundle_verifier.h"
#include "openpcc/client/sealed_call.h"
#include "openpcc/crypto/ed25519.h"
#include "openpcc/directory/directory_response.h"
#include "openpcc/directory/node_directory.h"
#include "openpcc/tlog/log_policy.h"
#include "openpcc/wire/key_config.h"

namespace openpcc::client {

inline constexpr size_t kDefaultMinNodes = 3;

struct TrustPolicy {
  crypto::Ed25519PublicKey directory_key;
  // The bundle policy; its `log` member is also the log policy directories are checked under.
  std::shared_ptr<const attest::BundlePolicy> bundles;
  size_t min_nodes = kDefaultMinNodes;

  const tlog::LogPolicy& log() const { return *bundles->log; }
};

// A node of the accepted directory, with how it was verified.
struct TrustedNode {
  NodeCandidate candidate;
  attest::VerifiedNode verified;
};

struct TrustedDirectory {
  directory::NodeDirectory directory;
  uint64_t log_index = 0;
  tlog::VerifiedCheckpoint checkpoint;
  std::string model;
  std::vector<TrustedNode> nodes;           // the model's nodes, in directory order, all verified
  std::vector<wire::KeyConfig> ohttp_configs;  // the listed configs, parsed

  std::vector<NodeCandidate> Candidates() const;
  const TrustedNode* Find(ByteView node_id) const;
};

// Observes each check as it passes: (check name, one-line detail without secrets).
using TrustObserver = std::function<void(std::string_view check, std::string_view detail)>;

struct AcceptInput {
  const directory::DirectoryResponse* response = nullptr;
  std::string_view model;
  const wire::KeyConfig* ohttp_in_use = nullptr;  // the config the client encrypts to
  wire::SymmetricSuite suite{crypto::KdfId::kHkdfSha256, crypto::AeadId::kAes128Gcm};
  const tlog::ReleaseIndex* index = nullptr;      // the log's entries the client has read
  // The persisted checkpoint's size as read (store().Latest) before the response was fetched, 0 if
  // none, and the consistency proof from it to the response's size. When another process has
  // persisted another size since, the check fails with tlog::IsStoredCheckpointChanged: fetch again.
  uint64_t persisted_size = 0;
  std::span<const tlog::Hash> consistency_proof;
  std::chrono::sys_seconds now;
  const TrustObserver* observer = nullptr;
};

class BundleCache {
 public:
  Result<attest::VerifiedNode> Verify(ByteView node_id, std::string_view bundle_text,
                                      const attest::BundlePolicy& policy, const tlog::ReleaseIndex& index,
                                      std::chrono::sys_seconds now, bool* cached = nullptr);
  size_t size() const;

 private:
  struct Entry {
    attest::VerifiedNode node;
    uint64_t index_size = 0;
  };
  mutable std::mutex mu_;
  std::map<std::pair<Bytes, Bytes>, Entry> entries_;  // (node_id, SHA-256(text))
};

class DirectoryTrust {
 public:
  // `state_dir` holds the persisted checkpoint (created on first use).
  DirectoryTrust(TrustPolicy policy, std::filesystem::path state_dir)
      : policy_(std::move(policy)), store_(std::move(state_dir)) {}

  Result<TrustedDirectory> Accept(const AcceptInput& input);

  const TrustPolicy& policy() const { return policy_; }
  tlog::CheckpointStore& store() { return store_; }
  BundleCache& cache() { return cache_; }

 private:
  TrustPolicy policy_;
  tlog::CheckpointStore store_;
  BundleCache cache_;
};

}  // namespace openpcc::client
