// wire/chunks.h — AEAD-protected chunk streams, the framing shared by chunked OHTTP
// (draft-ietf-ohai-chunked-ohttp) and OpenPCC's sealed request and response (DESIGN.md §2.2).
//
// Framing:   Chunks = { varint(len > 0) ciphertext(len) }*  varint(0)  final_ciphertext
// The final chunk runs to the end of the stream and is sealed with AAD "final"; every other chunk
// with empty AAD. A stream that ends without an authenticated final chunk is truncated and is
// rejected (kIncomplete), so no application may act on a prefix as if it were the whole message.
// A non-final chunk must carry at least one byte of plaintext; an empty one is refused like a
// chunk that does not authenticate (as the chunked-OHTTP draft requires of receivers).
//
// Nonces come from a counter, never from the caller: either HPKE's own sequence number (chunked
// OHTTP requests) or `base_nonce XOR encode(Nn, counter)` (responses and sealed request bodies).
// Chunks are authenticated in order; reordering, splicing or dropping a chunk makes the next one
// fail to authenticate.
//
// Limits: each chunk's ciphertext is at most `max_chunk_ciphertext` bytes (and at least Nt), the
// whole stream at most `max_total` bytes; both checked from the length prefix before any buffering.
//
// Thread safety: single-threaded objects.
#pragma once

#include <cstdint>
#include <functional>
#include <memory>
#include <optional>

#include "openpcc/crypto/aead.h"
#include "openpcc/crypto/hpke.h"
#include "openpcc/crypto/secret.h"
#include "openpcc/util/bytes.h"
#include "openpcc/util/result.h"

namespace openpcc::wire {

inline constexpr std::string_view kFinalChunkAad = "final";

// The defaults bound a request (DESIGN §2.2: 1 MiB). Responses stream long completions and use
// kResponseChunkLimits unless the caller sets its own.
struct ChunkLimits {
  size_t max_chunk_ciphertext = 64 * 1024 + crypto::kAeadTagLength;
  size_t max_total = 1024 * 1024;
};
inline constexpr ChunkLimits kResponseChunkLimits{64 * 1024 + crypto::kAeadTagLength, 256 * 1024 * 1024};

// Seals or opens one chunk at a time, in order. `final` selects AAD "final".
class ChunkCipher {
 public:
  virtual ~ChunkCipher() = default;
  virtual Status Seal(ByteView plaintext, bool final, Bytes& out) = 0;
  // Appends the chunk's plaintext to `out`; leaves `out` unchanged on failure.
  virtual Status OpenAppend(ByteView ciphertext, bool final, crypto::SecretBytes& out) = 0;
};

// Chunks sealed by an HPKE context (its sequence number is the counter).
class HpkeChunkCipher final : public ChunkCipher {
 public:
  explicit HpkeChunkCipher(crypto::HpkeContext context) : context_(std::move(context)) {}
  Status Seal(ByteView plaintext, bool final, Bytes& out) override;
  Status OpenAppend(ByteView ciphertext, bool final, crypto::SecretBytes& out) override;
  const crypto::HpkeContext& context() const { return context_; }

 private:
  crypto::HpkeContext context_;
};

// Chunks sealed under one AEAD key with nonce = base_nonce XOR encode(Nn, counter).
class CounterChunkCipher final : public ChunkCipher {
 public:
  static Result<CounterChunkCipher> Create(crypto::AeadId aead, ByteView key, ByteView base_nonce);
  Status Seal(ByteView plaintext, bool final, Bytes& out) override;
  Status OpenAppend(ByteView ciphertext, bool final, crypto::SecretBytes& out) override;

 private:
  CounterChunkCipher(crypto::AeadKey key, crypto::SecretBytes base_nonce)
      : key_(std::move(key)), base_nonce_(std::move(base_nonce)) {}
  Result<crypto::AeadNonce> NextNonce();

  crypto::AeadKey key_;
  crypto::SecretBytes base_nonce_;
  uint64_t counter_ = 0;
  bool exhausted_ = false;
};

// Produces the framed ciphertext of a chunk stream.
class ChunkWriter {
 public:
  ChunkWriter(std::unique_ptr<ChunkCipher> cipher, ChunkLimits limits = {})
      : cipher_(std::move(cipher)), limits_(limits) {}

  // Appends one non-final chunk to `out`. An empty plaintext is refused (kInvalidArgument): a
  // non-final chunk that carries nothing only reveals timing.
  Status Write(ByteView plaintext, Bytes& out);
  // Appends the final chunk (may be empty). No further writes are allowed.
  Status Finish(ByteView plaintext, Bytes& out);
  bool finished() const { return finished_; }
  // Called after each sealed chunk with its framed ciphertext (length prefix excluded); used by
  // the sealed request to compute its digest as it goes.
  void set_observer(std::function<void(ByteView ciphertext)> observer) { observer_ = std::move(observer); }

 private:
  std::unique_ptr<ChunkCipher> cipher_;
  ChunkLimits limits_;
  size_t total_ = 0;
  bool finished_ = false;
  std::function<void(ByteView)> observer_;
};

// Parses and opens a framed chunk stream pushed in pieces of any size.
class ChunkReader {
 public:
  ChunkReader(std::unique_ptr<ChunkCipher> cipher, ChunkLimits limits = {})
      : cipher_(std::move(cipher)), limits_(limits) {}

  // Consumes `bytes`; appends the plaintext of every chunk that completed and authenticated to
  // `out`. After an error the reader is failed and refuses further input.
  Status Push(ByteView bytes, crypto::SecretBytes& out);
  // End of stream: opens the final chunk. kIncomplete when the stream ended before the final
  // chunk's marker; kTruncated when it ended inside a non-final chunk.
  Status Finish(crypto::SecretBytes& out);
  bool finished() const { return state_ == State::kDone; }
  size_t chunks_opened() const { return chunks_opened_; }
  void set_observer(std::function<void(ByteView ciphertext)> observer) { observer_ = std::move(observer); }

 private:
  enum class State : uint8_t { kLength, kBody, kFinal, kDone, kFailed };
  Status Fail(Error error);

  std::unique_ptr<ChunkCipher> cipher_;
  ChunkLimits limits_;
  State state_ = State::kLength;
  Bytes pending_;          // bytes of an incomplete length prefix or chunk
  size_t body_length_ = 0;  // length of the chunk being read (kBody)
  size_t total_ = 0;
  size_t chunks_opened_ = 0;
  std::function<void(ByteView)> observer_;
};

}  // namespace openpcc::wire
