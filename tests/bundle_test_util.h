// Helpers shared by the evidence-bundle tests and benchmark: an in-memory transparency log with
// three witnesses, a release key, sample key configs and policies.
#pragma once

#include <cstdlib>
#include <map>
#include <string>
#include <vector>

#include <boost/json.hpp>

#include "openpcc/attest/bundle_policy.h"
#include "openpcc/crypto/ed25519.h"
#include "openpcc/crypto/random.h"
#include "openpcc/tlog/checkpoint.h"
#include "openpcc/tlog/cosignature.h"
#include "openpcc/tlog/entry.h"
#include "openpcc/tlog/log_policy.h"
#include "openpcc/tlog/merkle.h"
#include "openpcc/tlog/note.h"
#include "openpcc/tlog/release.h"
#include "openpcc/wire/key_config.h"

namespace openpcc::attest::testing {

inline constexpr char kLogOrigin[] = "log.openpcc.test/bundle";

inline crypto::Ed25519PrivateKey Key(uint8_t fill) {
  return std::move(crypto::Ed25519PrivateKey::FromSeed(Bytes(32, fill))).value();
}

// A log held in memory: entries, a log key and three witnesses (threshold 2).
class TestLog {
 public:
  TestLog()
      : signer_(std::move(tlog::NoteSigner::Create(kLogOrigin, Key(7))).value()),
        release_key_(Key(9)) {
    for (int i = 1; i <= 3; ++i) {
      witnesses_.push_back(std::move(tlog::Cosigner::Create("witness.test/w" + std::to_string(i),
                                                            Key(static_cast<uint8_t>(20 + i))))
                               .value());
    }
  }

  uint64_t Append(Bytes entry) {
    entries_.push_back(std::move(entry));
    return entries_.size() - 1;
  }
  uint64_t AppendManifest(const tlog::ReleaseManifest& manifest) {
    return Append(SignedManifest(manifest));
  }
  Bytes SignedManifest(const tlog::ReleaseManifest& manifest) const {
    return std::move(tlog::SignEntry(tlog::EntryKind::kReleaseManifest,
                                     *tlog::ReleaseManifestToJson(manifest), release_key_))
        .value();
  }
  uint64_t AppendRevocation(const tlog::ReleaseManifest& manifest, std::string reason) {
    tlog::Revocation r{*tlog::ReleaseId(manifest), std::move(reason)};
    return Append(std::move(tlog::SignEntry(tlog::EntryKind::kRevocation, *tlog::RevocationToJson(r),
                                            release_key_))
                      .value());
  }
  uint64_t AppendMinimumTcb(const tlog::MinimumTcb& notice) {
    return Append(std::move(tlog::SignEntry(tlog::EntryKind::kMinimumTcb, *tlog::MinimumTcbToJson(notice),
                                            release_key_))
                      .value());
  }
  // An entry signed by the release key without the schema check SignEntry makes: what a log that
  // predates a check may hold.
  Bytes SignedUnchecked(tlog::EntryKind kind, std::string canonical_body) const {
    tlog::Entry e;
    e.kind = kind;
    e.key_id = tlog::EntryKeyId(release_key_.public_key());
    e.body = std::move(canonical_body);
    e.signature = std::move(release_key_.Sign(tlog::EntrySignedMessage(kind, e.body))).value();
    return std::move(tlog::EncodeEntry(e)).value();
  }

  // The current tree's checkpoint, signed by the log and cosigned by witnesses 1 and 2 at `time`.
  std::string Checkpoint(uint64_t time) const {
    std::vector<tlog::Hash> leaves;
    for (const Bytes& e : entries_) leaves.push_back(tlog::LeafHash(e));
    tlog::Checkpoint c{kLogOrigin, entries_.size(), tlog::RootFromLeafHashes(leaves), {}};
    std::string note = *tlog::SignCheckpoint(c, signer_);
    const std::string text = tlog::FormatCheckpointText(c);
    for (size_t i = 0; i < 2; ++i) note += tlog::FormatSignatureLine(*witnesses_[i].Cosign(text, time));
    return note;
  }
  std::vector<Bytes> InclusionProof(uint64_t index) const {
    std::vector<tlog::Hash> leaves;
    for (const Bytes& e : entries_) leaves.push_back(tlog::LeafHash(e));
    tlog::MemoryHashReader reader(leaves);
    std::vector<Bytes> out;
    const std::vector<tlog::Hash> proof = std::move(tlog::InclusionProof(index, entries_.size(), reader)).value();
    for (const tlog::Hash& h : proof) out.push_back(ToBytes(tlog::View(h)));
    return out;
  }
  // Every entry read by a client, as its ReleaseIndex.
  tlog::ReleaseIndex Index() const {
    tlog::EntryKeyring keyring;
    keyring.AddReleaseKey(release_key_.public_key());
    tlog::ReleaseIndex index(std::move(keyring));
    for (size_t i = 0; i < entries_.size(); ++i) {
      if (!index.Add(i, entries_[i]).ok()) std::abort();  // test data is wrong
    }
    return index;
  }

  boost::json::object LogPolicyJson() const {
    boost::json::array witnesses;
    for (const auto& w : witnesses_) witnesses.emplace_back(w.verifier().vkey());
    return boost::json::object{{"origin", kLogOrigin}, {"key", signer_.verifier().vkey()},
                               {"witnesses", witnesses}, {"threshold", 2}};
  }
  std::string ReleaseKeyHex() const { return HexEncode(release_key_.public_key().bytes()); }
  const std::vector<Bytes>& entries() const { return entries_; }

 private:
  tlog::NoteSigner signer_;
  std::vector<tlog::Cosigner> witnesses_;
  crypto::Ed25519PrivateKey release_key_;
  std::vector<Bytes> entries_;
};

inline Bytes RandomKeyConfig() {
  wire::KeyConfig config;
  config.key_id = 1;
  config.kem = crypto::KemId::kX25519HkdfSha256;
  config.public_key = Bytes(32);
  crypto::RandomBytes(config.public_key);
  config.suites = {{crypto::KdfId::kHkdfSha256, crypto::AeadId::kAes256Gcm}};
  return *wire::EncodeKeyConfig(config);
}

inline tlog::ReleaseManifest BaseManifest(std::string version) {
  tlog::ReleaseManifest m;
  m.version = std::move(version);
  m.source_revision = "0123456789abcdef0123456789abcdef01234567";
  m.build_recipe_sha256 = Bytes(32, 0x11);
  m.node_binary_sha256 = Bytes(32, 0x22);
  m.models.push_back({"tiny-llama", Bytes(32, 0x33)});
  return m;
}

// A loader over in-memory files, for policies naming roots and RIMs.
inline PolicyFileLoader MapLoader(std::map<std::string, Bytes> files) {
  return [files = std::move(files)](std::string_view path) -> Result<Bytes> {
    auto it = files.find(std::string(path));
    if (it == files.end()) return Error(ErrorCode::kInvalidArgument, "no file " + std::string(path));
    return it->second;
  };
}

}  // namespace openpcc::attest::testing
