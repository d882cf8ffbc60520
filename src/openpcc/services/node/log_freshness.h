// services/node/log_freshness.h — the node's freshness kind 1 from the transparency log
// (DESIGN §2.4, §2.6).
//
// The node fetches the log's newest checkpoint, verifies it under the log policy (the log's key,
// t of n witness cosignatures, and the quorum's age: tlog/log_policy.h), and binds the complete
// signed note into its bundles (freshness value = SHA-256 of the note). A checkpoint that fails
// verification is refused and the previous one kept, so a log or network fault never puts an
// unverified note into a bundle; the caller logs the error and retries at its next refresh.
// Fetching is injected (the CLI passes services/tlog LogClient::FetchCheckpoint), so this module
// does no I/O of its own and takes time as a parameter.
//
// Thread safety: Refresh and Current may be called from several threads at once.
#pragma once

#include <chrono>
#include <functional>
#include <mutex>
#include <string>

#include "openpcc/attest/bundle.h"
#include "openpcc/tlog/log_policy.h"
#include "openpcc/util/result.h"

namespace openpcc::services::node {

class LogFreshness {
 public:
  using Fetch = std::function<Result<std::string>()>;
  LogFreshness(tlog::LogPolicy policy, Fetch fetch) : policy_(std::move(policy)), fetch_(std::move(fetch)) {}

  // Fetches and verifies the newest checkpoint; true when it differs from the one held.
  Result<bool> Refresh(std::chrono::sys_seconds now);
  // Freshness kind 1 over the verified checkpoint held (empty value before the first Refresh).
  attest::BundleFreshness Current() const;
  // The tree size of the checkpoint held (0 before the first Refresh).
  uint64_t size() const;

 private:
  const tlog::LogPolicy policy_;
  const Fetch fetch_;
  mutable std::mutex mu_;
  std::string note_;
  uint64_t size_ = 0;
};

}  // namespace openpcc::services::node
