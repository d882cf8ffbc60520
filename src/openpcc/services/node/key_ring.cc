#include "openpcc/services/node/key_ring.h"

#include <algorithm>

#include "openpcc/crypto/kem.h"
#include "openpcc/crypto/random.h"

namespace openpcc::services::node {

KeyRing::KeyRing(KeyRingOptions options) : options_(options) {}

uint64_t KeyRing::EpochAt(SysTime now) const {
  const int64_t ms = now.time_since_epoch().count();
  return ms <= 0 ? 0 : static_cast<uint64_t>(ms / options_.epoch_length.count());
}

SysTime KeyRing::EpochStart(uint64_t epoch) const {
  return SysTime(std::chrono::milliseconds(static_cast<int64_t>(epoch) * options_.epoch_length.count()));
}

Result<EpochKeyInfo> KeyRing::EnsureEpoch(uint64_t epoch) {
  std::lock_guard lock(mu_);
  if (auto it = keys_.find(epoch); it != keys_.end()) return it->second.info;
  Entry entry;
  std::shared_ptr<const crypto::DhPrivateKey> shared;
  if (options_.make_key) {
    OPENPCC_ASSIGN_OR_RETURN(shared, options_.make_key());
  } else {
    entry.private_key = crypto::RandomSecret(crypto::KemPrivateKeyLength(crypto::KemId::kX25519HkdfSha256));
    OPENPCC_ASSIGN_OR_RETURN(crypto::SoftwareDhKey dh, crypto::SoftwareDhKey::FromPrivateKey(
                                                            crypto::KemId::kX25519HkdfSha256,
                                                            entry.private_key.view()));
    shared = std::make_shared<const crypto::SoftwareDhKey>(std::move(dh));
  }
  wire::KeyConfig config;
  config.key_id = static_cast<uint8_t>(epoch % 256);
  config.kem = shared->kem_id();
  config.public_key = ToBytes(shared->public_key());
  config.suites = {{crypto::KdfId::kHkdfSha256, crypto::AeadId::kAes256Gcm},
                   {crypto::KdfId::kHkdfSha256, crypto::AeadId::kAes128Gcm},
                   {crypto::KdfId::kHkdfSha256, crypto::AeadId::kChaCha20Poly1305}};
  OPENPCC_ASSIGN_OR_RETURN(wire::NodeKey key, wire::MakeNodeKey(std::move(config), std::move(shared)));
  entry.info.epoch = epoch;
  entry.info.not_before = EpochStart(epoch);
  entry.info.not_after = EpochStart(epoch + 1);
  entry.info.key = std::move(key);
  EpochKeyInfo info = entry.info;
  keys_.emplace(epoch, std::move(entry));
  return info;
}

Result<bool> KeyRing::Tick(SysTime now) {
  bool changed = false;
  const uint64_t current = EpochAt(now);
  {
    std::lock_guard lock(mu_);
    for (auto it = keys_.begin(); it != keys_.end();) {
      if (now >= it->second.info.not_after + options_.grace) {
        it->second.private_key.Clear();
        it = keys_.erase(it);  // drops the ring's reference to the OpenSSL key
        changed = true;
      } else {
        ++it;
      }
    }
    changed = changed || !keys_.contains(current) ||
              (now + options_.prepare_ahead >= EpochStart(current + 1) && !keys_.contains(current + 1));
  }
  if (Result<EpochKeyInfo> made = EnsureEpoch(current); !made.ok()) return made.error();
  if (now + options_.prepare_ahead >= EpochStart(current + 1)) {
    if (Result<EpochKeyInfo> next = EnsureEpoch(current + 1); !next.ok()) return next.error();
  }
  return changed;
}

std::vector<wire::NodeKey> KeyRing::OpeningKeys(SysTime now) const {
  std::lock_guard lock(mu_);
  std::vector<wire::NodeKey> out;
  for (const auto& [epoch, entry] : keys_) {
    if (now < entry.info.not_after + options_.grace) out.push_back(entry.info.key);
  }
  return out;
}

std::vector<EpochKeyInfo> KeyRing::Keys() const {
  std::lock_guard lock(mu_);
  std::vector<EpochKeyInfo> out;
  for (const auto& [epoch, entry] : keys_) out.push_back(entry.info);
  return out;
}

std::optional<EpochKeyInfo> KeyRing::Current(SysTime now) const {
  std::lock_guard lock(mu_);
  std::optional<EpochKeyInfo> best;
  for (const auto& [epoch, entry] : keys_) {
    if (entry.info.not_before <= now && now < entry.info.not_after + options_.grace) best = entry.info;
  }
  return best;
}

std::optional<EpochKeyInfo> KeyRing::Find(ByteView node_id) const {
  std::lock_guard lock(mu_);
  for (const auto& [epoch, entry] : keys_) {
    if (ByteView(entry.info.key.node_id).size() == node_id.size() &&
        std::equal(node_id.begin(), node_id.end(), entry.info.key.node_id.begin())) {
      return entry.info;
    }
  }
  return std::nullopt;
}

}  // namespace openpcc::services::node
