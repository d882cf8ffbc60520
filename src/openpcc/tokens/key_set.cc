#include "openpcc/tokens/key_set.h"

#include <algorithm>
#include <mutex>

namespace openpcc::tokens {
namespace {

bool Overlap(const KeyWindows& a, const KeyWindows& b) {
  return a.not_before < b.redeem_until && b.not_before < a.redeem_until;
}

}  // namespace

Result<IssuerKey> IssuerKey::Make(crypto::BlindRsaPrivateKey key, KeyWindows windows) {
  if (key.public_key().modulus_length() != kBlindRsaNk) {
    return Error(ErrorCode::kInvalidArgument, "issuer: token keys are 2048-bit RSA keys");
  }
  IssuerKey out;
  out.id = TokenKeyIdOf(key.public_key());
  out.key = std::make_shared<const crypto::BlindRsaPrivateKey>(std::move(key));
  out.windows = windows;
  return out;
}

TokenVerificationKey IssuerKey::Verification() const {
  return TokenVerificationKey{
      std::make_shared<const crypto::BlindRsaPublicKey>(key->public_key().Clone()), id, windows};
}

Status TokenKeySet::CheckAddable(const IssuerKey& key) const {
  const KeyWindows& w = key.windows;
  if (!(w.not_before < w.issue_until && w.issue_until <= w.redeem_until)) {
    return Error(ErrorCode::kInvalidArgument,
                 "issuer: key windows must satisfy not_before < issue_until <= redeem_until");
  }
  for (const auto& k : keys_) {
    if (k->id == key.id) return Error(ErrorCode::kInvalidArgument, "issuer: key already present");
    if (Overlap(k->windows, w) && TruncatedKeyId(k->id) == TruncatedKeyId(key.id)) {
      return Error(ErrorCode::kInvalidArgument,
                   "issuer: truncated key id collides with an overlapping key");
    }
  }
  // The count of valid keys only rises at a not_before, so checking those instants suffices.
  std::vector<KeyWindows> all{w};
  for (const auto& k : keys_) all.push_back(k->windows);
  for (const KeyWindows& at : all) {
    size_t valid = 0;
    for (const KeyWindows& other : all) valid += other.Redeemable(at.not_before) ? 1u : 0u;
    if (valid > 2) {
      return Error(ErrorCode::kInvalidArgument, "issuer: key would make three keys valid at once");
    }
  }
  return OkStatus();
}

Status TokenKeySet::Add(IssuerKey key, const OnKeyAdded& on_add) {
  std::unique_lock lock(mu_);
  OPENPCC_RETURN_IF_ERROR(CheckAddable(key));
  if (on_add) OPENPCC_RETURN_IF_ERROR(on_add(key));
  keys_.push_back(std::make_shared<const IssuerKey>(std::move(key)));
  std::sort(keys_.begin(), keys_.end(), [](const auto& a, const auto& b) {
    return a->windows.not_before < b->windows.not_before;
  });
  return OkStatus();
}

Result<bool> TokenKeySet::Rotate(std::chrono::sys_seconds now, const RotationPolicy& policy,
                                 const OnKeyAdded& on_add) {
  if (policy.lead_time + policy.redeem_grace > policy.issue_period - policy.lead_time) {
    return Error(ErrorCode::kInvalidArgument,
                 "issuer: rotation policy would need three valid keys (lead_time + redeem_grace > "
                 "issue_period - lead_time)");
  }
  DropExpired(now);
  std::chrono::sys_seconds start;
  {
    std::shared_lock lock(mu_);
    const IssuerKey* newest = keys_.empty() ? nullptr : keys_.back().get();
    if (newest == nullptr || newest->windows.issue_until <= now) {
      start = now;  // nothing issues: start at once
    } else if (newest->windows.issue_until - now <= policy.lead_time) {
      start = newest->windows.issue_until - policy.lead_time;
      if (start < now) start = now;
      // The successor starts issuing when announced; the predecessor keeps issuing to its end.
    } else {
      return false;
    }
  }
  OPENPCC_ASSIGN_OR_RETURN(crypto::BlindRsaPrivateKey sk,
                           crypto::BlindRsaPrivateKey::Generate(policy.modulus_bits));
  const KeyWindows w{start, start + policy.issue_period,
                     start + policy.issue_period + policy.redeem_grace};
  OPENPCC_ASSIGN_OR_RETURN(IssuerKey key, IssuerKey::Make(std::move(sk), w));
  Status added = Add(std::move(key), on_add);
  if (!added.ok()) {
    // Persisting failed: report it rather than draw again.
    if (added.error().code() != ErrorCode::kInvalidArgument) return std::move(added).error();
    // A truncated-id collision is a 1-in-256 event: draw again once.
    OPENPCC_ASSIGN_OR_RETURN(crypto::BlindRsaPrivateKey sk2,
                             crypto::BlindRsaPrivateKey::Generate(policy.modulus_bits));
    OPENPCC_ASSIGN_OR_RETURN(IssuerKey key2, IssuerKey::Make(std::move(sk2), w));
    OPENPCC_RETURN_IF_ERROR(Add(std::move(key2), on_add));
  }
  return true;
}

std::shared_ptr<const IssuerKey> TokenKeySet::ForIssuance(uint8_t truncated_id,
                                                          std::chrono::sys_seconds now) const {
  std::shared_lock lock(mu_);
  for (const auto& k : keys_) {
    if (k->windows.Issuing(now) && TruncatedKeyId(k->id) == truncated_id) return k;
  }
  return nullptr;
}

std::vector<TokenVerificationKey> TokenKeySet::RedeemableKeys(std::chrono::sys_seconds now) const {
  std::shared_lock lock(mu_);
  std::vector<TokenVerificationKey> out;
  for (const auto& k : keys_) {
    if (k->windows.Redeemable(now)) out.push_back(k->Verification());
  }
  return out;
}

std::vector<std::shared_ptr<const IssuerKey>> TokenKeySet::DirectoryKeys(
    std::chrono::sys_seconds now) const {
  std::shared_lock lock(mu_);
  std::vector<std::shared_ptr<const IssuerKey>> out;
  for (auto it = keys_.rbegin(); it != keys_.rend(); ++it) {
    if (now < (*it)->windows.redeem_until) out.push_back(*it);
  }
  return out;
}

IssuerDirectory TokenKeySet::Directory(const std::string& request_uri, ByteView challenge,
                                       std::chrono::sys_seconds now) const {
  IssuerDirectory dir;
  dir.issuer_request_uri = request_uri;
  dir.token_challenge = ToBytes(challenge);
  for (const auto& k : DirectoryKeys(now)) {
    dir.token_keys.push_back({kTokenTypeBlindRsa, k->key->public_key().SpkiRsaPss(),
                              k->windows.not_before.time_since_epoch().count(),
                              k->windows.redeem_until.time_since_epoch().count()});
  }
  return dir;
}

size_t TokenKeySet::DropExpired(std::chrono::sys_seconds now) {
  std::unique_lock lock(mu_);
  const size_t before = keys_.size();
  std::erase_if(keys_, [now](const auto& k) { return k->windows.redeem_until <= now; });
  return before - keys_.size();
}

size_t TokenKeySet::size() const {
  std::shared_lock lock(mu_);
  return keys_.size();
}

Result<std::vector<TokenVerificationKey>> VerificationKeysFromDirectory(const IssuerDirectory& dir) {
  std::vector<TokenVerificationKey> out;
  for (const DirectoryTokenKey& k : dir.token_keys) {
    if (k.token_type != kTokenTypeBlindRsa) continue;
    if (!k.not_before || !k.redeem_until) {
      return Error(ErrorCode::kMalformed,
                   "directory: key lacks not-before or openpcc-redeem-until");
    }
    OPENPCC_ASSIGN_OR_RETURN(crypto::BlindRsaPublicKey pk,
                             crypto::BlindRsaPublicKey::FromSpki(k.token_key));
    TokenVerificationKey v;
    v.id = TokenKeyIdOf(pk);
    v.key = std::make_shared<const crypto::BlindRsaPublicKey>(std::move(pk));
    const std::chrono::sys_seconds nb{std::chrono::seconds(*k.not_before)};
    const std::chrono::sys_seconds ru{std::chrono::seconds(*k.redeem_until)};
    v.windows = KeyWindows{nb, ru, ru};
    out.push_back(std::move(v));
  }
  return out;
}

}  // namespace openpcc::tokens
