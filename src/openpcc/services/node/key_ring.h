// services/node/key_ring.h — the node's HPKE keys, one per directory epoch (DESIGN §2.2, §2.5).
//
// During epoch E the node holds E's key and, from `prepare_ahead` before the boundary, E+1's key,
// so it can register the next key before the directory that lists it is published. A key opens
// requests through its epoch plus the grace period (default 5 minutes) and is then erased: the
// private scalar, kept only in SecretBytes and in OpenSSL (which cleanses it when freed), is wiped,
// so a key extracted later cannot decrypt traffic recorded earlier. A request already being read
// holds its key until it ends.
//
// Epochs are numbered from the Unix epoch in steps of `epoch_length` (epoch E runs from E*L to
// (E+1)*L), so every node and the gateway agree on them without talking. `EnsureEpoch` lets the
// registration code (or, later, a gateway that announces epochs) create a key for a given epoch.
//
// Keys: DHKEM(X25519, HKDF-SHA256) with HKDF-SHA256 and AES-256-GCM (the default suite),
// AES-128-GCM or ChaCha20-Poly1305; key_id = epoch mod 256. With `make_key` set, the keys come
// from it instead (platform `tpm`: a TPM-resident DHKEM(P-256) key, whose private part never
// enters this process; erasing it drops the last reference, which flushes it from the TPM).
//
// Time is a parameter: no call reads the wall clock. Thread safety: every member may be called
// from any thread.
#pragma once

#include <chrono>
#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <vector>

#include "openpcc/crypto/kem.h"
#include "openpcc/crypto/secret.h"
#include "openpcc/util/clock.h"
#include "openpcc/util/result.h"
#include "openpcc/wire/sealed.h"

namespace openpcc::services::node {

struct KeyRingOptions {
  std::chrono::milliseconds epoch_length{std::chrono::hours(1)};
  std::chrono::milliseconds grace{std::chrono::minutes(5)};
  std::chrono::milliseconds prepare_ahead{std::chrono::minutes(10)};
  // When set, makes each epoch's private key (its kem_id names the config's KEM).
  std::function<Result<std::shared_ptr<const crypto::DhPrivateKey>>()> make_key;
};

struct EpochKeyInfo {
  uint64_t epoch = 0;
  SysTime not_before;
  SysTime not_after;  // the key opens requests until not_after + grace
  wire::NodeKey key;  // config, node_id and the private key (shared, immutable)
};

class KeyRing {
 public:
  explicit KeyRing(KeyRingOptions options);

  uint64_t EpochAt(SysTime now) const;
  SysTime EpochStart(uint64_t epoch) const;

  // Creates the key of `epoch` if the ring has none. Returns its public description.
  Result<EpochKeyInfo> EnsureEpoch(uint64_t epoch);
  // At `now`: makes sure the current epoch's key exists, and the next one's within
  // `prepare_ahead` of the boundary; erases keys past their grace period. True if the set changed.
  Result<bool> Tick(SysTime now);
  // Keys that may open a request at `now` (current, next, and those within their grace period).
  std::vector<wire::NodeKey> OpeningKeys(SysTime now) const;
  // Every key held, oldest epoch first (for registration).
  std::vector<EpochKeyInfo> Keys() const;
  // The newest key whose epoch has started at `now` (for /v1/attest without a node id).
  std::optional<EpochKeyInfo> Current(SysTime now) const;
  std::optional<EpochKeyInfo> Find(ByteView node_id) const;

  const KeyRingOptions& options() const { return options_; }

 private:
  struct Entry {
    EpochKeyInfo info;
    crypto::SecretBytes private_key;  // the X25519 scalar; wiped when the entry is erased
  };
  KeyRingOptions options_;
  mutable std::mutex mu_;
  std::map<uint64_t, Entry> keys_;
};

}  // namespace openpcc::services::node
