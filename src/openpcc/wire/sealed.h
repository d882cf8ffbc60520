// wire/sealed.h — OpenPCC's sealed request and sealed response (DESIGN.md §2.2): end-to-end
// encryption from the client to whichever of its K candidate nodes the gateway picks.
//
//   SealedRequest  = header  Candidate[count]  Chunks
//   header         = version(1)=0x01  body_aead_id(2)  count(1)  node_id[count](32)  body_nonce(Nn)
//   Candidate      = kem_id(2) kdf_id(2) aead_id(2)  enc(Nenc)  wrapped_dek(Nk(body) + Nt)
//   SealedResponse = node_id(32)  response_nonce(max(Nn, Nk))  Chunks
//
// The body is encrypted once under a fresh data key (DEK); the DEK is wrapped with HPKE (base mode)
// for each candidate, with the SHA-256 of the whole header as AAD, so the candidate list, suites
// and body nonce cannot change without the wrap failing. The response key is exported from the
// chosen node's HPKE context and bound to `request_digest`, a SHA-256 over every byte of the request
// as sent, so no byte of the request — including another candidate's entry — can change without
// the client failing to open the response.
//
// What the node trusts: nothing in the request until its own wrapped DEK opens; then only what
// authenticates chunk by chunk. What the client trusts: nothing in the response until chunks
// authenticate, and it accepts a response only from one of its own candidates. Both sides reject
// a stream that ends without an authenticated final chunk.
//
// Thread safety: single-threaded objects. NodeKey's private key may be shared.
#pragma once

#include <cstdint>
#include <functional>
#include <memory>
#include <span>
#include <string_view>
#include <vector>

#include "openpcc/crypto/hash.h"
#include "openpcc/crypto/hpke.h"
#include "openpcc/crypto/secret.h"
#include "openpcc/util/bytes.h"
#include "openpcc/util/result.h"
#include "openpcc/wire/chunks.h"
#include "openpcc/wire/key_config.h"

namespace openpcc::wire {

inline constexpr uint8_t kSealedVersion = 0x01;
inline constexpr size_t kMaxSealedCandidates = 8;  // so K <= 8
inline constexpr std::string_view kSealedRequestInfoLabel = "openpcc sealed request v1";
inline constexpr std::string_view kSealedDekAadLabel = "openpcc dek";
inline constexpr std::string_view kSealedResponseLabel = "openpcc sealed response v1";
inline constexpr std::string_view kSealedRequestMediaType = "application/openpcc-sealed-request";
inline constexpr std::string_view kSealedResponseMediaType = "application/openpcc-sealed-response";

// A node as the client knows it from the logged directory, and the suite chosen for it.
struct SealedCandidate {
  KeyConfig config;
  SymmetricSuite suite;  // one `config` lists; export-only is refused
};

// Fixed values that make a sealed request reproducible, for the committed test vectors
// (docs/vectors/) only; production code never sets them (a fixed DEK, nonce or ephemeral key used
// twice reuses AEAD nonces).
struct SealedTestingValues {
  ByteView dek;
  ByteView body_nonce;
  std::vector<const crypto::DhPrivateKey*> ephemeral_keys;  // one per candidate
};

struct SealOptions {
  crypto::AeadId body_aead = crypto::AeadId::kAes256Gcm;
  ChunkLimits limits;
  const SealedTestingValues* testing = nullptr;
};

// HPKE info for a candidate: label || 0x00 || node_id || kem_id || kdf_id || aead_id.
Bytes SealedRequestInfo(ByteView node_id, const crypto::HpkeSuite& suite);

class SealedResponseReader;

// Client: seals one request to 1..8 candidates.
class SealedRequestWriter {
 public:
  // Appends header || Candidate[] to `out`. Candidates must be distinct nodes.
  static Result<SealedRequestWriter> Create(std::span<const SealedCandidate> candidates, Bytes& out,
                                            const SealOptions& options = {});
  SealedRequestWriter(SealedRequestWriter&&) noexcept = default;
  SealedRequestWriter& operator=(SealedRequestWriter&&) noexcept = default;
  ~SealedRequestWriter();

  Status Write(ByteView plaintext, Bytes& out) { return body_.Write(plaintext, out); }
  // Appends the final chunk; the request digest is fixed from here on.
  Status Finish(ByteView plaintext, Bytes& out);

  // After Finish: SHA-256 over the request exactly as sent.
  ByteView request_digest() const { return digest_; }
  // After Finish: the reader for the response, which accepts only this request's candidates.
  Result<SealedResponseReader> MakeResponseReader(ChunkLimits limits = kResponseChunkLimits) const;

 private:
  struct Candidate {
    Bytes node_id;
    crypto::HpkeSuite suite;
    Bytes enc;
    crypto::HpkeContext context;
  };
  SealedRequestWriter(std::vector<Candidate> candidates, std::unique_ptr<crypto::Hasher> hasher,
                      ChunkWriter body)
      : candidates_(std::move(candidates)), hasher_(std::move(hasher)), body_(std::move(body)) {}

  std::vector<Candidate> candidates_;
  std::unique_ptr<crypto::Hasher> hasher_;  // heap: the body writer's observer points at it
  ChunkWriter body_;
  Bytes digest_;
};

// Client: reads a SealedResponse stream.
class SealedResponseReader {
 public:
  SealedResponseReader(SealedResponseReader&&) noexcept = default;
  SealedResponseReader& operator=(SealedResponseReader&&) noexcept = default;

  Status Push(ByteView bytes, crypto::SecretBytes& out);
  Status Finish(crypto::SecretBytes& out);
  bool finished() const { return reader_ && reader_->finished(); }
  // The answering node, once the response's first 32 bytes arrived.
  ByteView node_id() const { return chosen_ < expected_.size() ? ByteView(expected_[chosen_].node_id) : ByteView{}; }

 private:
  friend class SealedRequestWriter;
  struct Expected {
    Bytes node_id;
    crypto::HpkeSuite suite;
    Bytes enc;
    crypto::SecretBytes secret;
  };
  SealedResponseReader(std::vector<Expected> expected, ChunkLimits limits)
      : expected_(std::move(expected)), limits_(limits) {}
  Status Fail(Error error);

  std::vector<Expected> expected_;
  ChunkLimits limits_;
  Bytes prelude_;
  size_t chosen_ = SIZE_MAX;
  std::unique_ptr<ChunkReader> reader_;
  bool failed_ = false;
};

// A node's key: its published configuration, id and private key (current or grace-period).
// Build it with MakeNodeKey, which checks that the key matches the configuration and computes the id.
struct NodeKey {
  KeyConfig config;
  Bytes node_id;  // SHA-256 of the config's encoding; see MakeNodeKey
  std::shared_ptr<const crypto::DhPrivateKey> private_key;
};
Result<NodeKey> MakeNodeKey(KeyConfig config, std::shared_ptr<const crypto::DhPrivateKey> private_key);

class SealedResponseWriter;

// Called once, right after this node's wrapped DEK opens and before any body chunk is decrypted,
// with the candidate's `enc`: the node's replay table (DESIGN §2.2) inserts it atomically and
// returns an error (kReplay) if it was seen, or if the table is full. The error fails the request.
using ReplayCheck = std::function<Status(ByteView enc)>;

// Node: reads a SealedRequest stream.
class SealedRequestReader {
 public:
  explicit SealedRequestReader(std::vector<NodeKey> keys, ChunkLimits limits = {},
                               ReplayCheck replay_check = nullptr);
  SealedRequestReader(SealedRequestReader&&) noexcept = default;
  SealedRequestReader& operator=(SealedRequestReader&&) noexcept = default;
  ~SealedRequestReader();

  // Appends authenticated body plaintext to `out` as chunks complete.
  Status Push(ByteView bytes, crypto::SecretBytes& out);
  Status Finish(crypto::SecretBytes& out);

  // True once this node's wrapped DEK opened (the point at which `enc` enters the replay table).
  bool unwrapped() const { return body_ != nullptr; }
  bool finished() const { return body_ && body_->finished(); }
  ByteView enc() const { return enc_; }
  ByteView node_id() const { return node_id_; }
  ByteView request_digest() const { return digest_; }

  // After Finish, once: appends node_id || response_nonce to `out`. A response nonce is passed only
  // to reproduce test vectors; otherwise it is fresh from the CSPRNG.
  Result<SealedResponseWriter> MakeResponseWriter(Bytes& out, ChunkLimits limits = kResponseChunkLimits,
                                                  ByteView response_nonce_for_testing = {});

 private:
  Status Fail(Error error);
  // Parses header and candidates from prelude_ once complete; Ok(false) means "need more bytes".
  Result<bool> TryParsePrelude();

  std::vector<NodeKey> keys_;
  ChunkLimits limits_;
  ReplayCheck replay_check_;
  Bytes prelude_;
  std::unique_ptr<crypto::Hasher> hasher_;
  std::unique_ptr<ChunkReader> body_;
  std::unique_ptr<crypto::HpkeContext> context_;
  crypto::HpkeSuite suite_{};
  Bytes enc_;
  Bytes node_id_;
  Bytes digest_;
  bool failed_ = false;
  bool response_started_ = false;
};

// Node: writes a SealedResponse stream.
class SealedResponseWriter {
 public:
  Status Write(ByteView plaintext, Bytes& out) { return writer_.Write(plaintext, out); }
  Status Finish(ByteView plaintext, Bytes& out) { return writer_.Finish(plaintext, out); }

 private:
  friend class SealedRequestReader;
  explicit SealedResponseWriter(ChunkWriter writer) : writer_(std::move(writer)) {}
  ChunkWriter writer_;
};

}  // namespace openpcc::wire
