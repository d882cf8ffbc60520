// tokens/key_set.h — token keys with lifetimes, for the issuer (private keys) and for redeemers
// (public keys).
//
// Every key has three instants: not_before ≤ issue_until ≤ redeem_until. The issuer signs with it
// while not_before ≤ now < issue_until; a redeemer accepts its tokens while not_before ≤ now <
// redeem_until (its validity). Rotation overlaps keys so clients holding tokens of the old key can
// still spend them while new tokens come from the new key; at most two keys are ever valid at one
// instant (DESIGN §2.3), which TokenKeySet::Add enforces — together with distinct truncated key ids
// among overlapping keys, so a TokenRequest always names one key.
//
// Thread safety: TokenKeySet is internally synchronised (readers share, Add/Rotate/DropExpired are
// exclusive); keys are immutable and handed out as shared_ptr, so a key in use survives rotation.
#pragma once

#include <chrono>
#include <functional>
#include <memory>
#include <shared_mutex>
#include <string>
#include <vector>

#include "openpcc/crypto/blind_rsa.h"
#include "openpcc/tokens/issuance.h"
#include "openpcc/tokens/issuer_directory.h"

namespace openpcc::tokens {

struct KeyWindows {
  std::chrono::sys_seconds not_before;
  std::chrono::sys_seconds issue_until;
  std::chrono::sys_seconds redeem_until;

  bool Issuing(std::chrono::sys_seconds now) const { return not_before <= now && now < issue_until; }
  bool Redeemable(std::chrono::sys_seconds now) const {
    return not_before <= now && now < redeem_until;
  }
};

// What a redeemer (the gateway) knows of a key: public key, id, windows.
struct TokenVerificationKey {
  std::shared_ptr<const crypto::BlindRsaPublicKey> key;
  TokenKeyId id{};
  KeyWindows windows;
};

struct IssuerKey {
  std::shared_ptr<const crypto::BlindRsaPrivateKey> key;
  TokenKeyId id{};
  KeyWindows windows;

  static Result<IssuerKey> Make(crypto::BlindRsaPrivateKey key, KeyWindows windows);
  TokenVerificationKey Verification() const;
};

// How TokenKeySet::Rotate schedules keys: each key issues for `issue_period`, is redeemable for
// `redeem_grace` after that, and is created `lead_time` before its predecessor stops issuing (so
// clients see it in the directory before they need it). With at most two valid keys this requires
// lead_time + redeem_grace ≤ issue_period - lead_time.
struct RotationPolicy {
  std::chrono::seconds issue_period{std::chrono::hours(24 * 7)};
  std::chrono::seconds redeem_grace{std::chrono::hours(24 * 2)};
  std::chrono::seconds lead_time{std::chrono::hours(24)};
  size_t modulus_bits = 2048;
};

// Called with a key that passed Add's checks, before it joins the set (and so before any directory
// lists it): the issuer persists the key here, so no client ever blinds to a key a crash could
// lose. An error leaves the set unchanged.
using OnKeyAdded = std::function<Status(const IssuerKey&)>;

class TokenKeySet {
 public:
  // Refuses (kInvalidArgument) windows out of order, a duplicate key id, a truncated id shared with
  // a key whose validity overlaps, and a key that would make three keys valid at some instant.
  Status Add(IssuerKey key, const OnKeyAdded& on_add = {});
  // Generates the next key when no key issues at `now`, or when the newest issuing key stops within
  // lead_time and has no successor yet; drops keys no longer redeemable. Returns whether it added.
  Result<bool> Rotate(std::chrono::sys_seconds now, const RotationPolicy& policy,
                      const OnKeyAdded& on_add = {});

  // The issuing key named by a request's truncated key id, or null.
  std::shared_ptr<const IssuerKey> ForIssuance(uint8_t truncated_id,
                                               std::chrono::sys_seconds now) const;
  // Keys redeemable at `now` (at most two), for redeemers.
  std::vector<TokenVerificationKey> RedeemableKeys(std::chrono::sys_seconds now) const;
  // Keys the directory lists, newest first: every key not yet past its redemption window (so
  // redeemers that read the directory still accept tokens of a key that stopped issuing). The
  // newest one issues; clients blind to it (a key that no longer issues is listed for redemption
  // only, and a request to it is refused).
  std::vector<std::shared_ptr<const IssuerKey>> DirectoryKeys(std::chrono::sys_seconds now) const;
  // The RFC 9578 directory of DirectoryKeys(now).
  IssuerDirectory Directory(const std::string& request_uri, ByteView challenge,
                            std::chrono::sys_seconds now) const;
  size_t DropExpired(std::chrono::sys_seconds now);
  size_t size() const;

 private:
  Status CheckAddable(const IssuerKey& key) const;

  mutable std::shared_mutex mu_;
  std::vector<std::shared_ptr<const IssuerKey>> keys_;  // ordered by not_before
};

// Keys from an issuer directory: type 0x0002 entries with not-before and openpcc-redeem-until
// (entries of other types are skipped; a 0x0002 entry without them is an error). Issuance ends
// are not known from a directory and are taken as the redemption end.
Result<std::vector<TokenVerificationKey>> VerificationKeysFromDirectory(const IssuerDirectory& dir);

}  // namespace openpcc::tokens
