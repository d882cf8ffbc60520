#include "openpcc/wire/key_config.h"

#include <string>

#include "openpcc/crypto/hash.h"
#include "openpcc/wire/byte_reader.h"
#include "openpcc/wire/byte_writer.h"

namespace openpcc::wire {
namespace {

constexpr size_t kSuiteLength = 4;

Status ParseSuites(ByteReader& suites_reader, bool skip_unknown, std::vector<SymmetricSuite>& out) {
  if (suites_reader.empty() || suites_reader.remaining() % kSuiteLength != 0) {
    return Error(ErrorCode::kMalformed, "ohttp key config: symmetric suites length " +
                                            std::to_string(suites_reader.remaining()) +
                                            " is not a positive multiple of 4");
  }
  while (!suites_reader.empty()) {
    uint16_t kdf = 0, aead = 0;
    if (!suites_reader.ReadU16(&kdf) || !suites_reader.ReadU16(&aead)) {
      return Error(ErrorCode::kTruncated, "ohttp key config: symmetric suite");
    }
    if (!crypto::IsKnownKdf(kdf) || !crypto::IsKnownAead(aead)) {
      if (skip_unknown) continue;
      return Error(ErrorCode::kUnsupported, "ohttp key config: suite (kdf " + HexU16(kdf) + ", aead " +
                                                HexU16(aead) + ") is not supported");
    }
    out.push_back({static_cast<crypto::KdfId>(kdf), static_cast<crypto::AeadId>(aead)});
  }
  return OkStatus();
}

// Parses one config; `unsupported` is set (and Ok returned) when skip_unknown and nothing usable.
Result<KeyConfig> ParseOne(ByteView bytes, bool skip_unknown, bool* unsupported) {
  ByteReader reader(bytes);
  KeyConfig config;
  uint16_t kem = 0;
  if (!reader.ReadU8(&config.key_id)) return Error(ErrorCode::kTruncated, "ohttp key config: key_id");
  if (!reader.ReadU16(&kem)) return Error(ErrorCode::kTruncated, "ohttp key config: kem_id");
  if (!crypto::IsKnownKem(kem)) {
    if (skip_unknown) {
      *unsupported = true;
      return config;
    }
    return Error(ErrorCode::kUnsupported, "ohttp key config: kem_id " + HexU16(kem) + " is not supported");
  }
  config.kem = static_cast<crypto::KemId>(kem);
  ByteView public_key;
  if (!reader.ReadBytes(crypto::KemPublicKeyLength(config.kem), &public_key)) {
    return Error(ErrorCode::kTruncated, "ohttp key config: public key");
  }
  OPENPCC_RETURN_IF_ERROR(crypto::ValidatePublicKey(config.kem, public_key));
  config.public_key = ToBytes(public_key);
  ByteReader suites;
  if (!reader.ReadU16Prefixed(&suites)) return Error(ErrorCode::kTruncated, "ohttp key config: symmetric suites");
  OPENPCC_RETURN_IF_ERROR(ParseSuites(suites, skip_unknown, config.suites));
  if (!reader.empty()) return Error(ErrorCode::kMalformed, "ohttp key config: trailing bytes after the suites");
  if (config.suites.empty()) *unsupported = true;
  return config;
}

}  // namespace

bool KeyConfig::Supports(const SymmetricSuite& suite) const {
  for (const auto& s : suites) {
    if (s == suite) return true;
  }
  return false;
}

Result<Bytes> EncodeKeyConfig(const KeyConfig& config) {
  if (config.public_key.size() != crypto::KemPublicKeyLength(config.kem)) {
    return Error(ErrorCode::kInvalidArgument, "ohttp key config: public key has the wrong length for its KEM");
  }
  if (config.suites.empty()) return Error(ErrorCode::kInvalidArgument, "ohttp key config: no symmetric suites");
  ByteWriter suites;
  for (const auto& s : config.suites) {
    suites.WriteU16(static_cast<uint16_t>(s.kdf));
    suites.WriteU16(static_cast<uint16_t>(s.aead));
  }
  ByteWriter writer;
  writer.WriteU8(config.key_id);
  writer.WriteU16(static_cast<uint16_t>(config.kem));
  writer.WriteBytes(config.public_key);
  if (!writer.WriteU16Prefixed(suites.view())) {
    return Error(ErrorCode::kOutOfRange, "ohttp key config: too many symmetric suites");
  }
  return writer.Take();
}

Result<KeyConfig> ParseKeyConfig(ByteView bytes) {
  bool unsupported = false;
  return ParseOne(bytes, false, &unsupported);
}

Result<Bytes> EncodeKeyConfigList(const std::vector<KeyConfig>& configs) {
  ByteWriter writer;
  for (const auto& config : configs) {
    OPENPCC_ASSIGN_OR_RETURN(Bytes encoded, EncodeKeyConfig(config));
    if (!writer.WriteU16Prefixed(encoded)) return Error(ErrorCode::kOutOfRange, "ohttp keys: config too long");
  }
  return writer.Take();
}

Result<std::vector<KeyConfig>> ParseKeyConfigList(ByteView bytes) {
  ByteReader reader(bytes);
  std::vector<KeyConfig> configs;
  size_t index = 0;
  while (!reader.empty()) {
    ByteReader one;
    if (!reader.ReadU16Prefixed(&one)) {
      return Error(ErrorCode::kTruncated, "ohttp keys: config " + std::to_string(index) + " length");
    }
    bool unsupported = false;
    auto config = ParseOne(one.rest(), true, &unsupported);
    if (!config.ok()) {
      return Error(config.error().code(), "ohttp keys: config " + std::to_string(index) + ": " + config.error().message());
    }
    if (!unsupported) configs.push_back(std::move(config).value());
    ++index;
  }
  if (configs.empty()) return Error(ErrorCode::kUnsupported, "ohttp keys: no supported key configuration");
  return configs;
}

Result<Bytes> NodeIdOf(const KeyConfig& config) {
  OPENPCC_ASSIGN_OR_RETURN(Bytes encoded, EncodeKeyConfig(config));
  return crypto::Sha256(encoded);
}

}  // namespace openpcc::wire
