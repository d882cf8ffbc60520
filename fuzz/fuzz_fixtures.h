// fuzz/fuzz_fixtures.h — the fixed keys and client requests shared by the OHTTP, chunked OHTTP and
// sealed fuzz targets and by make_seeds, which writes their seed corpora.
//
// Everything here is deterministic: our keys come from DeriveKeyPair of fixed labels, the RFC 9458
// Appendix A and chunked-OHTTP draft example keys are the published ones, and every client request
// uses fixed ephemeral keys, DEKs and nonces. So the committed seeds are genuine messages to exactly
// these keys, and the fuzzer starts past the AEAD checks it could never pass by mutation alone.
//
// The streaming targets read a one-byte control prefix that says how to split the rest of the input
// (see SplitInput), so that libFuzzer explores incremental parsing as well as message contents.
//
// Not thread-safe (libFuzzer runs one input at a time); fixtures are built once, on first use.
#pragma once

#include <algorithm>
#include <cstdio>
#include <cstdlib>
#include <iterator>
#include <memory>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "openpcc/crypto/hash.h"
#include "openpcc/crypto/kem.h"
#include "openpcc/crypto/secret.h"
#include "openpcc/util/bytes.h"
#include "openpcc/util/result.h"
#include "openpcc/wire/chunks.h"
#include "openpcc/wire/key_config.h"
#include "openpcc/wire/ohttp.h"
#include "openpcc/wire/sealed.h"

namespace openpcc::fuzz {

using crypto::AeadId;
using crypto::KdfId;
using crypto::KemId;
using crypto::SecretBytes;
using crypto::SoftwareDhKey;
using wire::KeyConfig;
using wire::SymmetricSuite;

// Fixture construction cannot fail; if it does, the harness is broken, not the input.
[[noreturn]] inline void FixtureFailed(const std::string& what) {
  std::fprintf(stderr, "fuzz fixture: %s\n", what.c_str());
  std::abort();
}
template <typename T>
T Must(Result<T> result, const char* what) {
  if (!result.ok()) FixtureFailed(std::string(what) + ": " + result.error().ToString());
  return std::move(result).value();
}
inline void Must(const Status& status, const char* what) {
  if (!status.ok()) FixtureFailed(std::string(what) + ": " + status.error().ToString());
}
inline Bytes MustHex(std::string_view hex) { return Must(HexDecode(hex), "hex"); }

// An invariant of the library does not hold for this input: say which, and crash so libFuzzer
// keeps the input.
[[noreturn]] inline void InvariantViolated(const std::string& what) {
  std::fprintf(stderr, "INVARIANT VIOLATED: %s\n", what.c_str());
  std::abort();
}

// ---- Published vectors ------------------------------------------------------------------------

// RFC 9458 Appendix A (key_id 1, X25519, offers AES-128-GCM and ChaCha20-Poly1305).
namespace rfc9458 {
inline constexpr std::string_view kKeyConfig =
    "01002031e1f05a740102115220e9af918f738674aec95f54db6e04eb705aae8e79815500080001000100010003";
inline constexpr std::string_view kServerSk = "3c168975674b2fa8e465970b79c8dcf09f1c741626480bd4c6162fc5b6a98e1a";
inline constexpr std::string_view kClientEphemeralSk =
    "bc51d5e930bda26589890ac7032f70ad12e4ecb37abb1b65b1256c9c48999c73";
inline constexpr std::string_view kRequest = "00034745540568747470730b6578616d706c652e636f6d012f";
inline constexpr std::string_view kResponse = "0140c8";
inline constexpr std::string_view kResponseNonce = "c789e7151fcba46158ca84b04464910d";
inline constexpr std::string_view kEncapsulatedRequest =
    "010020000100014b28f881333e7c164ffc499ad9796f877f4e1051ee6d31bad19dec96c208b4726374e469135906992e"
    "1268c594d2a10c695d858c40a026e7965e7d86b83dd440b2c0185204b4d63525";
inline constexpr std::string_view kEncapsulatedResponse =
    "c789e7151fcba46158ca84b04464910d86f9013e404feea014e7be4a441f234f857fbd";
}  // namespace rfc9458

// draft-ietf-ohai-chunked-ohttp, Example section (key_id 1, X25519, same suites as above).
namespace chunked_draft {
inline constexpr std::string_view kKeyConfig =
    "010020668eb21aace159803974a4c67f08b4152d29bed10735fd08f98ccdd6fe09570800080001000100010003";
inline constexpr std::string_view kServerSk = "1c190d72acdbe4dbc69e680503bb781a932c70a12c8f3754434c67d8640d8698";
inline constexpr std::string_view kClientEphemeralSk =
    "b26d565f3f875ed480d1abced3d665159650c99174fd0b124ac4bda0c64ae324";
inline constexpr std::string_view kResponseNonce = "bcce7f4cb921309ba5d62edf1769ef09";
inline constexpr std::string_view kRequestChunks[] = {"00034745540568747470730b", "6578616d706c652e636f6d012f", ""};
inline constexpr std::string_view kEncapsulatedRequest =
    "010020000100018811eb457e100811c40a0aa71340a1b81d804bb986f736f2f566a7199761a0321c2ad24942d4d69256"
    "3012f2980c8fef437a336b9b2fc938ef77a5834f1d2e33d8fd25577afe31bd1c79d094f76b6250ae6549b473ecd95050"
    "1311001c6c1395d0ef7c1022297966307b8a7f";
inline constexpr std::string_view kEncapsulatedResponse =
    "bcce7f4cb921309ba5d62edf1769ef091179bf1cc87fa0e2c02de4546945aa3d1e4812b348b5bd4c594c16b6170b07b4"
    "75845d1f3200ed9d8a796617a5b27265f4d73247f639";
}  // namespace chunked_draft

// ---- Keys --------------------------------------------------------------------------------------

inline const SymmetricSuite kAes128{KdfId::kHkdfSha256, AeadId::kAes128Gcm};
inline const SymmetricSuite kAes256{KdfId::kHkdfSha256, AeadId::kAes256Gcm};
inline const SymmetricSuite kChaChaSha384{KdfId::kHkdfSha384, AeadId::kChaCha20Poly1305};

inline std::shared_ptr<const SoftwareDhKey> DerivedKey(KemId kem, std::string_view label) {
  return std::make_shared<const SoftwareDhKey>(Must(SoftwareDhKey::Derive(kem, AsBytes(label)), "derive key"));
}
inline std::shared_ptr<const SoftwareDhKey> PublishedKey(std::string_view private_key_hex) {
  return std::make_shared<const SoftwareDhKey>(
      Must(SoftwareDhKey::FromPrivateKey(KemId::kX25519HkdfSha256, MustHex(private_key_hex)), "published key"));
}
inline KeyConfig ConfigFor(uint8_t key_id, const crypto::DhPrivateKey& key, std::vector<SymmetricSuite> suites) {
  KeyConfig config;
  config.key_id = key_id;
  config.kem = key.kem_id();
  config.public_key = ToBytes(key.public_key());
  config.suites = std::move(suites);
  return config;
}

// Our own gateway keys, beside the published one (a gateway holds several keys during rotation):
// key 7 (X25519, three suites) and key 0x10 (P-256, so the fuzzer reaches P-256 point decoding).
inline constexpr uint8_t kOwnX25519KeyId = 7;
inline constexpr uint8_t kOwnP256KeyId = 0x10;
inline std::vector<wire::GatewayKey> OwnGatewayKeys() {
  auto x25519 = DerivedKey(KemId::kX25519HkdfSha256, "openpcc fuzz gateway x25519");
  auto p256 = DerivedKey(KemId::kP256HkdfSha256, "openpcc fuzz gateway p256");
  return {wire::GatewayKey{ConfigFor(kOwnX25519KeyId, *x25519, {kAes128, kAes256, kChaChaSha384}), x25519},
          wire::GatewayKey{ConfigFor(kOwnP256KeyId, *p256, {kAes128}), p256}};
}
// `published` selects the key of RFC 9458 Appendix A or of the chunked draft example (both key_id 1).
inline std::vector<wire::GatewayKey> GatewayKeys(std::string_view published_config_hex,
                                                 std::string_view published_sk_hex) {
  auto keys = OwnGatewayKeys();
  keys.push_back(wire::GatewayKey{Must(wire::ParseKeyConfig(MustHex(published_config_hex)), "published config"),
                                  PublishedKey(published_sk_hex)});
  return keys;
}
inline std::vector<wire::GatewayKey> OhttpGatewayKeys() {
  return GatewayKeys(rfc9458::kKeyConfig, rfc9458::kServerSk);
}
inline std::vector<wire::GatewayKey> ChunkedGatewayKeys() {
  return GatewayKeys(chunked_draft::kKeyConfig, chunked_draft::kServerSk);
}

// The client request whose context opens the fuzzed `message/ohttp-res`: RFC 9458 Appendix A's, so
// the RFC's encapsulated response is a genuine seed. A context opens once, so one per input.
inline wire::OhttpClientRequest FixedOhttpRequest() {
  static const auto ephemeral = PublishedKey(rfc9458::kClientEphemeralSk);
  static const KeyConfig config = Must(wire::ParseKeyConfig(MustHex(rfc9458::kKeyConfig)), "rfc config");
  static const Bytes request = MustHex(rfc9458::kRequest);
  const wire::OhttpTestingOptions testing{ephemeral.get(), {}};
  return Must(wire::EncapsulateRequest(config, kAes128, request, &testing), "fixed ohttp request");
}

// The chunked client request whose response stream is fuzzed: the draft example's (written in
// full), so the draft's encapsulated response is a genuine seed. Appends the request to `wire`.
inline wire::ChunkedRequestWriter FixedChunkedRequest(Bytes& wire) {
  const auto ephemeral = PublishedKey(chunked_draft::kClientEphemeralSk);
  const KeyConfig config = Must(wire::ParseKeyConfig(MustHex(chunked_draft::kKeyConfig)), "draft config");
  const wire::OhttpTestingOptions testing{ephemeral.get(), {}};
  auto writer = Must(wire::ChunkedRequestWriter::Create(config, kAes128, wire, {}, &testing), "fixed chunked request");
  const size_t chunks = std::size(chunked_draft::kRequestChunks);
  for (size_t i = 0; i + 1 < chunks; ++i) Must(writer.Write(MustHex(chunked_draft::kRequestChunks[i]), wire), "write");
  Must(writer.Finish(MustHex(chunked_draft::kRequestChunks[chunks - 1]), wire), "finish");
  return writer;
}

// Sealed: the node under test holds its current key (X25519, key_id 1) and a grace-period key
// (P-256, key_id 2, so both KEMs are reached). Other nodes are candidates the node is not.
struct SealedNode {
  wire::NodeKey key;
  std::shared_ptr<const SoftwareDhKey> private_key;
  wire::SealedCandidate Candidate(const SymmetricSuite& suite) const { return {key.config, suite}; }
};
inline SealedNode MakeSealedNode(KemId kem, uint8_t key_id, std::vector<SymmetricSuite> suites, std::string_view label) {
  auto private_key = DerivedKey(kem, label);
  auto key = Must(wire::MakeNodeKey(ConfigFor(key_id, *private_key, std::move(suites)), private_key), "node key");
  return SealedNode{std::move(key), std::move(private_key)};
}
inline SealedNode SealedCurrentKey() {
  return MakeSealedNode(KemId::kX25519HkdfSha256, 1, {kAes256, kAes128, kChaChaSha384}, "openpcc fuzz node current");
}
inline SealedNode SealedGraceKey() {
  return MakeSealedNode(KemId::kP256HkdfSha256, 2, {kAes128, kChaChaSha384}, "openpcc fuzz node grace");
}
// The i-th other node; even ones X25519, odd ones P-256.
inline SealedNode SealedOtherNode(size_t i) {
  const KemId kem = i % 2 == 0 ? KemId::kX25519HkdfSha256 : KemId::kP256HkdfSha256;
  return MakeSealedNode(kem, static_cast<uint8_t>(10 + i), {kAes128, kAes256},
                        "openpcc fuzz other node " + std::to_string(i));
}

// Seals `chunks` (all but the last as non-final chunks) to `candidates` with fixed DEK, body nonce
// and ephemeral keys derived from `label`. Appends the request to `wire`.
inline wire::SealedRequestWriter SealFixed(const std::vector<wire::SealedCandidate>& candidates, AeadId body_aead,
                                           const std::vector<std::string_view>& chunks, std::string_view label,
                                           Bytes& wire) {
  std::vector<std::shared_ptr<const SoftwareDhKey>> ephemerals;
  wire::SealedTestingValues testing;
  const Bytes dek = crypto::Sha256(AsBytes(std::string(label) + " dek"));
  const Bytes nonce = crypto::Sha256(AsBytes(std::string(label) + " nonce"));
  testing.dek = ByteView(dek).first(crypto::AeadKeyLength(body_aead));
  testing.body_nonce = ByteView(nonce).first(crypto::AeadNonceLength(body_aead));
  for (size_t i = 0; i < candidates.size(); ++i) {
    ephemerals.push_back(DerivedKey(candidates[i].config.kem, std::string(label) + " ephemeral " + std::to_string(i)));
    testing.ephemeral_keys.push_back(ephemerals.back().get());
  }
  wire::SealOptions options;
  options.body_aead = body_aead;
  options.testing = &testing;
  auto writer = Must(wire::SealedRequestWriter::Create(candidates, wire, options), "sealed request");
  for (size_t i = 0; i + 1 < chunks.size(); ++i) Must(writer.Write(AsBytes(chunks[i]), wire), "sealed write");
  Must(writer.Finish(AsBytes(chunks.empty() ? std::string_view() : chunks.back()), wire), "sealed finish");
  return writer;
}

// The sealed request whose response stream is fuzzed: to the current key and another node.
inline wire::SealedRequestWriter FixedSealedRequest(Bytes& wire) {
  return SealFixed({SealedCurrentKey().Candidate(kAes256), SealedOtherNode(1).Candidate(kAes128)}, AeadId::kAes256Gcm,
                   {"What is ", "the answer?"}, "openpcc fuzz fixed sealed request", wire);
}

// ---- Splitting a stream ------------------------------------------------------------------------

// Input = control(1) cut_length[control & 0x0f](1 each) message.
//   control bit 7: push the message one byte at a time (the cut lengths are ignored);
//   control bit 6: small limits (ChunkLimits{80, 512}) instead of the production defaults, so the
//                  limit checks are reachable with short inputs.
// Otherwise the message is pushed as pieces of the cut lengths (0 = an empty push), then the rest.
inline constexpr uint8_t kByteByByte = 0x80;
inline constexpr uint8_t kSmallLimits = 0x40;
inline constexpr wire::ChunkLimits kSmallChunkLimits{80, 512};

struct SplitInput {
  ByteView message;
  std::vector<size_t> pieces;  // lengths; they sum to message.size()
  bool small_limits = false;
  wire::ChunkLimits limits() const { return small_limits ? kSmallChunkLimits : wire::ChunkLimits{}; }
};

inline bool ParseSplitInput(const uint8_t* data, size_t size, SplitInput* out) {
  if (size == 0) return false;
  const uint8_t control = data[0];
  const size_t cuts = control & 0x0f;
  if (size < 1 + cuts) return false;
  out->small_limits = (control & kSmallLimits) != 0;
  out->message = ByteView(data + 1 + cuts, size - 1 - cuts);
  size_t left = out->message.size();
  if ((control & kByteByByte) != 0) {
    out->pieces.assign(left, 1);
    return true;
  }
  for (size_t i = 0; i < cuts; ++i) {
    const size_t piece = std::min<size_t>(data[1 + i], left);
    out->pieces.push_back(piece);
    left -= piece;
  }
  out->pieces.push_back(left);
  return true;
}

// Builds an input that splits `message` as `cut_lengths` say (control bits as above).
inline Bytes MakeSplitInput(uint8_t flags, const std::vector<uint8_t>& cut_lengths, ByteView message) {
  Bytes input{static_cast<uint8_t>(flags | cut_lengths.size())};
  Append(input, cut_lengths);
  Append(input, message);
  return input;
}

// What a reader made of a whole stream: the first failure (Push or Finish), and all plaintext.
struct Outcome {
  bool ok = true;
  ErrorCode code = ErrorCode::kInternal;
  std::string message;
  SecretBytes plaintext;
};

// Pushes `pieces` of `message` (all at once when `pieces` is null), then Finish.
template <typename Reader>
Outcome Feed(Reader& reader, ByteView message, const std::vector<size_t>* pieces) {
  Outcome outcome;
  auto record = [&outcome](const Status& status) {
    if (status.ok()) return true;
    outcome.ok = false;
    outcome.code = status.error().code();
    outcome.message = status.error().message();
    return false;
  };
  if (pieces == nullptr) {
    if (!record(reader.Push(message, outcome.plaintext))) return outcome;
  } else {
    size_t offset = 0;
    for (size_t length : *pieces) {
      if (!record(reader.Push(message.subspan(offset, length), outcome.plaintext))) return outcome;
      offset += length;
    }
  }
  record(reader.Finish(outcome.plaintext));
  return outcome;
}

inline std::string Describe(const Outcome& o) {
  return o.ok ? "ok, " + std::to_string(o.plaintext.size()) + " plaintext bytes"
              : std::string(ErrorCodeName(o.code)) + ": " + o.message + " (" + std::to_string(o.plaintext.size()) +
                    " plaintext bytes)";
}

// The result of reading a stream must not depend on how the stream was split. With the small
// limits one exception is allowed: a single Push larger than the remaining budget is refused at
// once (kOutOfRange), before the chunks in it are looked at, so a split stream may fail at an
// earlier chunk instead, or release the plaintext of chunks before the limit. Both still fail.
inline void CheckSplitInvariant(const char* what, const Outcome& whole, const Outcome& split, bool small_limits) {
  bool same = whole.ok == split.ok;
  if (same) {
    const bool limit_exception = small_limits && !whole.ok &&
                                 (whole.code == ErrorCode::kOutOfRange || split.code == ErrorCode::kOutOfRange);
    if (!limit_exception) {
      same = whole.plaintext.view().size() == split.plaintext.view().size() &&
             std::equal(whole.plaintext.view().begin(), whole.plaintext.view().end(), split.plaintext.view().begin()) &&
             (whole.ok || (whole.code == split.code && whole.message == split.message));
    }
  }
  if (!same) {
    InvariantViolated(std::string(what) + ": whole stream gives [" + Describe(whole) + "], split stream gives [" +
                      Describe(split) + "]");
  }
}

// Feeds the input to `whole` in one piece and to `split` in the input's pieces, checks that both
// end the same way, and returns the outcome.
template <typename Reader>
Outcome FeedWholeAndSplit(const char* what, Reader& whole, Reader& split, const SplitInput& input) {
  Outcome a = Feed(whole, input.message, nullptr);
  const Outcome b = Feed(split, input.message, &input.pieces);
  CheckSplitInvariant(what, a, b, input.small_limits);
  return a;
}

}  // namespace openpcc::fuzz
