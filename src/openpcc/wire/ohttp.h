// wire/ohttp.h — Oblivious HTTP (RFC 9458) and chunked OHTTP (draft-ietf-ohai-chunked-ohttp-08).
//
// Client side: encapsulate a request to a gateway's KeyConfig, keep the returned context, open the
// response with it. Gateway side: decapsulate with one of its keys (at most two valid at a time
// during rotation), answer through the returned context. Both whole messages
// (`message/ohttp-req`/`-res`) and incremental chunked streams (`message/ohttp-chunked-req`/`-res`).
//
// What is trusted: nothing in the encapsulated bytes. The gateway checks the key id, the KEM and
// that the suite is one its KeyConfig offers before any HPKE work, and every ciphertext
// authenticates before its plaintext is released. Responses are keyed from the request's HPKE
// context and a fresh response nonce (RFC 9458 §4.4), so a response cannot be moved to another
// request.
//
// A gateway's keys must have distinct key_ids (at most two during rotation); a set with a repeated
// key_id is refused rather than resolved silently.
//
// Thread safety: contexts are single-threaded; GatewayKey may be shared.
#pragma once

#include <cstdint>
#include <memory>
#include <span>
#include <string_view>
#include <vector>

#include "openpcc/crypto/hpke.h"
#include "openpcc/crypto/secret.h"
#include "openpcc/util/bytes.h"
#include "openpcc/util/result.h"
#include "openpcc/wire/chunks.h"
#include "openpcc/wire/key_config.h"

namespace openpcc::wire {

inline constexpr std::string_view kOhttpRequestLabel = "message/bhttp request";
inline constexpr std::string_view kOhttpResponseLabel = "message/bhttp response";
inline constexpr std::string_view kChunkedRequestLabel = "message/bhttp chunked request";
inline constexpr std::string_view kChunkedResponseLabel = "message/bhttp chunked response";
inline constexpr size_t kOhttpHeaderLength = 7;  // key_id(1) kem_id(2) kdf_id(2) aead_id(2)

// Fixed values for reproducing published test vectors; production code passes none. A fixed
// ephemeral key or response nonce used twice reuses AEAD nonces: never outside tests.
struct OhttpTestingOptions {
  const crypto::DhPrivateKey* ephemeral_key = nullptr;
  ByteView response_nonce;
};

// One of the gateway's key pairs with the configuration it publishes.
struct GatewayKey {
  KeyConfig config;
  std::shared_ptr<const crypto::DhPrivateKey> private_key;
};

// max(Nn, Nk) of the AEAD: the length of the response nonce and the exported response secret.
size_t ResponseNonceLength(crypto::AeadId aead);
// A fresh response nonce from the CSPRNG, or `fixed_for_testing` (test vectors only) if given.
Result<Bytes> MakeResponseNonce(crypto::AeadId aead, ByteView fixed_for_testing = {});

// RFC 9458 §4.4 key derivation: salt = enc || response_nonce, prk = Extract(salt, secret),
// key = Expand(prk, "key", Nk), nonce = Expand(prk, "nonce", Nn).
struct ResponseKeys {
  crypto::SecretBytes key;
  crypto::SecretBytes nonce;
};
Result<ResponseKeys> DeriveResponseKeys(const crypto::HpkeSuite& suite, ByteView response_secret,
                                        ByteView enc, ByteView response_nonce);

// ---- Whole messages --------------------------------------------------------------------------

class OhttpClientContext {
 public:
  // Opens a `message/ohttp-res` body. Single use.
  Result<crypto::SecretBytes> OpenResponse(ByteView encapsulated_response);

 private:
  friend struct OhttpAccess;
  OhttpClientContext(crypto::HpkeSuite suite, Bytes enc, crypto::SecretBytes secret)
      : suite_(suite), enc_(std::move(enc)), secret_(std::move(secret)) {}
  crypto::HpkeSuite suite_;
  Bytes enc_;
  crypto::SecretBytes secret_;
  bool used_ = false;
};

struct OhttpClientRequest {
  Bytes encapsulated;  // the `message/ohttp-req` body
  OhttpClientContext context;
};

Result<OhttpClientRequest> EncapsulateRequest(const KeyConfig& config, const SymmetricSuite& suite,
                                              ByteView request,
                                              const OhttpTestingOptions* testing = nullptr);

class OhttpServerContext {
 public:
  // Seals a `message/ohttp-res` body. Single use.
  Result<Bytes> SealResponse(ByteView response, const OhttpTestingOptions* testing = nullptr);

 private:
  friend struct OhttpAccess;
  OhttpServerContext(crypto::HpkeSuite suite, Bytes enc, crypto::SecretBytes secret)
      : suite_(suite), enc_(std::move(enc)), secret_(std::move(secret)) {}
  crypto::HpkeSuite suite_;
  Bytes enc_;
  crypto::SecretBytes secret_;
  bool used_ = false;
};

struct OhttpGatewayRequest {
  uint8_t key_id;
  crypto::SecretBytes request;  // the inner BHTTP request
  OhttpServerContext context;
};

Result<OhttpGatewayRequest> DecapsulateRequest(std::span<const GatewayKey> keys, ByteView encapsulated);

// ---- Chunked streams --------------------------------------------------------------------------

// Client: writes the request stream, then reads the response stream.
class ChunkedRequestWriter {
 public:
  // Appends header || enc to `out`.
  static Result<ChunkedRequestWriter> Create(const KeyConfig& config, const SymmetricSuite& suite,
                                             Bytes& out, ChunkLimits limits = {},
                                             const OhttpTestingOptions* testing = nullptr);
  Status Write(ByteView plaintext, Bytes& out) { return writer_.Write(plaintext, out); }
  Status Finish(ByteView plaintext, Bytes& out) { return writer_.Finish(plaintext, out); }

  // A reader for the response stream (available at once: the gateway may answer early).
  class ResponseReader;
  ResponseReader MakeResponseReader(ChunkLimits limits = kResponseChunkLimits) const;

 private:
  ChunkedRequestWriter(crypto::HpkeSuite suite, Bytes enc, crypto::SecretBytes secret, ChunkWriter writer)
      : suite_(suite), enc_(std::move(enc)), secret_(std::move(secret)), writer_(std::move(writer)) {}
  crypto::HpkeSuite suite_;
  Bytes enc_;
  crypto::SecretBytes secret_;
  ChunkWriter writer_;
};

class ChunkedRequestWriter::ResponseReader {
 public:
  Status Push(ByteView bytes, crypto::SecretBytes& out);
  Status Finish(crypto::SecretBytes& out);
  bool finished() const { return reader_ && reader_->finished(); }

 private:
  friend class ChunkedRequestWriter;
  ResponseReader(crypto::HpkeSuite suite, Bytes enc, crypto::SecretBytes secret, ChunkLimits limits)
      : suite_(suite), enc_(std::move(enc)), secret_(std::move(secret)), limits_(limits) {}
  crypto::HpkeSuite suite_;
  Bytes enc_;
  crypto::SecretBytes secret_;
  ChunkLimits limits_;
  Bytes nonce_;
  std::unique_ptr<ChunkReader> reader_;
  bool failed_ = false;
};

// Gateway: reads the request stream, then writes the response stream.
class ChunkedRequestReader {
 public:
  ChunkedRequestReader(std::vector<GatewayKey> keys, ChunkLimits limits = {})
      : keys_(std::move(keys)), limits_(limits) {}

  Status Push(ByteView bytes, crypto::SecretBytes& out);
  Status Finish(crypto::SecretBytes& out);
  bool header_complete() const { return reader_ != nullptr; }
  bool finished() const { return reader_ && reader_->finished(); }
  uint8_t key_id() const { return key_id_; }

  class ResponseWriter;
  // Available once the header is complete; single use. Appends the response nonce to `out`.
  Result<ResponseWriter> MakeResponseWriter(Bytes& out, ChunkLimits limits = kResponseChunkLimits,
                                            const OhttpTestingOptions* testing = nullptr);

 private:
  Status ParseHeader();
  std::vector<GatewayKey> keys_;
  ChunkLimits limits_;
  Bytes header_;
  crypto::HpkeSuite suite_{};
  uint8_t key_id_ = 0;
  Bytes enc_;
  crypto::SecretBytes secret_;
  std::unique_ptr<ChunkReader> reader_;
  bool failed_ = false;
  bool response_started_ = false;
};

class ChunkedRequestReader::ResponseWriter {
 public:
  Status Write(ByteView plaintext, Bytes& out) { return writer_.Write(plaintext, out); }
  Status Finish(ByteView plaintext, Bytes& out) { return writer_.Finish(plaintext, out); }

 private:
  friend class ChunkedRequestReader;
  explicit ResponseWriter(ChunkWriter writer) : writer_(std::move(writer)) {}
  ChunkWriter writer_;
};

}  // namespace openpcc::wire
