// wire/key_config.h — OHTTP key configurations (RFC 9458 §3) and OpenPCC node ids.
//
// A KeyConfig names one HPKE public key (key_id, kem_id, public key) and the symmetric suites
// (KDF, AEAD) its owner accepts. Gateways publish a list of them as `application/ohttp-keys`
// (each prefixed by a 2-byte length); nodes publish exactly one, and a node's id is the SHA-256 of
// its KeyConfig encoding (DESIGN.md §2.2).
//
// Parsing is strict for a single config: an unknown KEM, KDF or AEAD is an error naming the
// identifier. Parsing a list skips configs (and suites) this implementation does not support, as
// RFC 9458 §3.2 asks of clients, but fails on any structural error and on a list with no usable
// config.
//
// A node_id is computed over EncodeKeyConfig(config). For a config from ParseKeyConfig that is the
// published bytes exactly (strict parsing round-trips byte for byte; the fuzz target checks it).
// Configs from ParseKeyConfigList may have dropped unsupported suites, so never take a node's id
// from a list: nodes publish exactly one config each (DESIGN §2.5).
//
// Thread safety: plain values and pure functions.
#pragma once

#include <cstdint>
#include <vector>

#include "openpcc/crypto/hpke.h"
#include "openpcc/util/bytes.h"
#include "openpcc/util/result.h"

namespace openpcc::wire {

struct SymmetricSuite {
  crypto::KdfId kdf;
  crypto::AeadId aead;
  friend bool operator==(const SymmetricSuite&, const SymmetricSuite&) = default;
};

struct KeyConfig {
  uint8_t key_id = 0;
  crypto::KemId kem = crypto::KemId::kX25519HkdfSha256;
  Bytes public_key;
  std::vector<SymmetricSuite> suites;

  bool Supports(const SymmetricSuite& suite) const;
  crypto::HpkeSuite HpkeSuiteFor(const SymmetricSuite& suite) const { return {kem, suite.kdf, suite.aead}; }
  friend bool operator==(const KeyConfig&, const KeyConfig&) = default;
};

// Encodes one KeyConfig (no length prefix). Fails on a public key of the wrong length, no suites,
// or more suites than the 2-byte length can hold.
Result<Bytes> EncodeKeyConfig(const KeyConfig& config);
// Parses exactly one KeyConfig occupying all of `bytes`.
Result<KeyConfig> ParseKeyConfig(ByteView bytes);

// application/ohttp-keys.
Result<Bytes> EncodeKeyConfigList(const std::vector<KeyConfig>& configs);
Result<std::vector<KeyConfig>> ParseKeyConfigList(ByteView bytes);

// node_id = SHA-256(KeyConfig encoding).
inline constexpr size_t kNodeIdLength = 32;
Result<Bytes> NodeIdOf(const KeyConfig& config);

}  // namespace openpcc::wire
