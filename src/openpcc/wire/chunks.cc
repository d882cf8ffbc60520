#include "openpcc/wire/chunks.h"

#include <algorithm>
#include <string>

#include "openpcc/wire/byte_reader.h"
#include "openpcc/wire/byte_writer.h"

namespace openpcc::wire {
namespace {

using crypto::SecretBytes;

ByteView FinalAad(bool final) { return final ? AsBytes(kFinalChunkAad) : ByteView{}; }

}  // namespace

Status HpkeChunkCipher::Seal(ByteView plaintext, bool final, Bytes& out) {
  return context_.SealAppend(FinalAad(final), plaintext, out);
}

Status HpkeChunkCipher::OpenAppend(ByteView ciphertext, bool final, SecretBytes& out) {
  return context_.OpenAppend(FinalAad(final), ciphertext, out);
}

Result<CounterChunkCipher> CounterChunkCipher::Create(crypto::AeadId aead, ByteView key,
                                                      ByteView base_nonce) {
  if (base_nonce.size() != crypto::AeadNonceLength(aead)) {
    return Error(ErrorCode::kInvalidArgument, "chunks: base nonce is not Nn bytes");
  }
  OPENPCC_ASSIGN_OR_RETURN(auto aead_key, crypto::AeadKey::Create(aead, key));
  return CounterChunkCipher(std::move(aead_key), SecretBytes(base_nonce));
}

Result<crypto::AeadNonce> CounterChunkCipher::NextNonce() {
  if (exhausted_) return Error(ErrorCode::kFailedPrecondition, "chunks: chunk counter exhausted");
  OPENPCC_ASSIGN_OR_RETURN(const crypto::AeadNonce nonce, crypto::CounterNonce(base_nonce_.view(), counter_));
  if (++counter_ == 0) exhausted_ = true;  // the counter never wraps
  return nonce;
}

Status CounterChunkCipher::Seal(ByteView plaintext, bool final, Bytes& out) {
  OPENPCC_ASSIGN_OR_RETURN(const crypto::AeadNonce nonce, NextNonce());
  return key_.SealAppend(nonce, FinalAad(final), plaintext, out);
}

Status CounterChunkCipher::OpenAppend(ByteView ciphertext, bool final, SecretBytes& out) {
  OPENPCC_ASSIGN_OR_RETURN(const crypto::AeadNonce nonce, NextNonce());
  return key_.OpenAppend(nonce, FinalAad(final), ciphertext, out);
}

Status ChunkWriter::Write(ByteView plaintext, Bytes& out) {
  if (finished_) return Error(ErrorCode::kFailedPrecondition, "chunks: write after the final chunk");
  if (plaintext.empty()) return Error(ErrorCode::kInvalidArgument, "chunks: a non-final chunk must not be empty");
  const size_t length = plaintext.size() + crypto::kAeadTagLength;
  if (length > limits_.max_chunk_ciphertext) {
    return Error(ErrorCode::kOutOfRange, "chunks: chunk of " + std::to_string(length) +
                                             " bytes exceeds the limit of " +
                                             std::to_string(limits_.max_chunk_ciphertext));
  }
  const size_t framed = VarintLength(length) + length;
  if (total_ + framed > limits_.max_total) {
    return Error(ErrorCode::kOutOfRange, "chunks: stream exceeds the limit of " +
                                             std::to_string(limits_.max_total) + " bytes");
  }
  const size_t start = out.size();
  if (!AppendVarint(out, length)) return Error(ErrorCode::kOutOfRange, "chunks: chunk length");
  const size_t body = out.size();
  Status sealed = cipher_->Seal(plaintext, false, out);
  if (!sealed.ok()) {
    out.resize(start);
    return sealed;
  }
  total_ += framed;
  if (observer_) observer_(ByteView(out).subspan(body));
  return OkStatus();
}

Status ChunkWriter::Finish(ByteView plaintext, Bytes& out) {
  if (finished_) return Error(ErrorCode::kFailedPrecondition, "chunks: the final chunk was already written");
  const size_t length = plaintext.size() + crypto::kAeadTagLength;
  if (length > limits_.max_chunk_ciphertext) {
    return Error(ErrorCode::kOutOfRange, "chunks: final chunk of " + std::to_string(length) +
                                             " bytes exceeds the limit of " +
                                             std::to_string(limits_.max_chunk_ciphertext));
  }
  if (total_ + 1 + length > limits_.max_total) {
    return Error(ErrorCode::kOutOfRange, "chunks: stream exceeds the limit of " +
                                             std::to_string(limits_.max_total) + " bytes");
  }
  const size_t start = out.size();
  out.push_back(0x00);
  Status sealed = cipher_->Seal(plaintext, true, out);
  if (!sealed.ok()) {
    out.resize(start);
    return sealed;
  }
  total_ += 1 + length;
  finished_ = true;
  if (observer_) observer_(ByteView(out).subspan(start + 1));
  return OkStatus();
}

Status ChunkReader::Fail(Error error) {
  state_ = State::kFailed;
  pending_.clear();
  return error;
}

Status ChunkReader::Push(ByteView bytes, SecretBytes& out) {
  if (state_ == State::kFailed) return Error(ErrorCode::kFailedPrecondition, "chunks: stream already failed");
  if (state_ == State::kDone) return Error(ErrorCode::kFailedPrecondition, "chunks: stream already finished");
  if (bytes.size() > limits_.max_total - total_) {
    return Fail(Error(ErrorCode::kOutOfRange,
                      "chunks: stream exceeds the limit of " + std::to_string(limits_.max_total) + " bytes"));
  }
  total_ += bytes.size();
  while (!bytes.empty()) {
    switch (state_) {
      case State::kLength: {
        uint64_t length = 0;
        ByteReader direct(bytes);
        if (pending_.empty() && direct.ReadVarint(&length)) {
          bytes = direct.rest();  // the whole length was in this input: no buffering
        } else {
          // The varint's first byte (already buffered, or next in the input) gives its length.
          uint8_t first = 0;
          (void)ByteReader(pending_.empty() ? bytes : ByteView(pending_)).PeekU8(&first);
          if (!FillTo(pending_, VarintLengthFromFirstByte(first), bytes)) break;
          if (!ByteReader(pending_).ReadVarint(&length)) return Fail(Error(ErrorCode::kInternal, "chunks: varint"));
          pending_.clear();
        }
        if (length == 0) {
          state_ = State::kFinal;
        } else if (length > limits_.max_chunk_ciphertext) {
          return Fail(Error(ErrorCode::kOutOfRange,
                            "chunks: chunk " + std::to_string(chunks_opened_) + " length " +
                                std::to_string(length) + " exceeds the limit of " +
                                std::to_string(limits_.max_chunk_ciphertext)));
        } else if (length < crypto::kAeadTagLength) {
          return Fail(Error(ErrorCode::kMalformed, "chunks: chunk " + std::to_string(chunks_opened_) +
                                                       " is shorter than the AEAD tag"));
        } else {
          body_length_ = static_cast<size_t>(length);
          state_ = State::kBody;
        }
        break;
      }
      case State::kBody: {
        ByteView ciphertext;
        if (pending_.empty() && bytes.size() >= body_length_) {
          // The whole chunk is in this input: open it in place, without buffering a copy.
          ciphertext = bytes.first(body_length_);
          bytes = bytes.subspan(body_length_);
        } else {
          if (pending_.empty()) pending_.reserve(body_length_);
          if (!FillTo(pending_, body_length_, bytes)) break;
          ciphertext = pending_;
        }
        if (observer_) observer_(ciphertext);
        const size_t before = out.size();
        Status opened = cipher_->OpenAppend(ciphertext, false, out);
        if (!opened.ok()) {
          if (opened.error().code() != ErrorCode::kAuthenticationFailed) return Fail(std::move(opened).error());
          return Fail(Error(ErrorCode::kAuthenticationFailed,
                            "chunks: chunk " + std::to_string(chunks_opened_) + " does not authenticate"));
        }
        // draft-ietf-ohai-chunked-ohttp: an empty non-final chunk is treated as a decryption error.
        if (out.size() == before) {
          return Fail(Error(ErrorCode::kAuthenticationFailed,
                            "chunks: chunk " + std::to_string(chunks_opened_) + " is empty but not final"));
        }
        ++chunks_opened_;
        pending_.clear();
        state_ = State::kLength;
        break;
      }
      case State::kFinal: {
        if (bytes.size() > limits_.max_chunk_ciphertext - pending_.size()) {
          return Fail(Error(ErrorCode::kOutOfRange, "chunks: final chunk exceeds the limit of " +
                                                        std::to_string(limits_.max_chunk_ciphertext) + " bytes"));
        }
        pending_.insert(pending_.end(), bytes.begin(), bytes.end());
        bytes = {};
        break;
      }
      case State::kDone:
      case State::kFailed:
        return Error(ErrorCode::kInternal, "chunks: unreachable state");
    }
  }
  return OkStatus();
}

Status ChunkReader::Finish(SecretBytes& out) {
  switch (state_) {
    case State::kFailed: return Error(ErrorCode::kFailedPrecondition, "chunks: stream already failed");
    case State::kDone: return Error(ErrorCode::kFailedPrecondition, "chunks: stream already finished");
    case State::kLength:
      if (pending_.empty()) {
        return Fail(Error(ErrorCode::kIncomplete, "chunks: stream ended without the final chunk (truncated)"));
      }
      return Fail(Error(ErrorCode::kTruncated, "chunks: stream ended inside a chunk length"));
    case State::kBody:
      return Fail(Error(ErrorCode::kTruncated, "chunks: stream ended inside chunk " +
                                                   std::to_string(chunks_opened_)));
    case State::kFinal: break;
  }
  if (pending_.size() < crypto::kAeadTagLength) {
    return Fail(Error(ErrorCode::kTruncated, "chunks: final chunk is shorter than the AEAD tag"));
  }
  if (observer_) observer_(pending_);
  Status opened = cipher_->OpenAppend(pending_, true, out);
  if (!opened.ok()) {
    if (opened.error().code() != ErrorCode::kAuthenticationFailed) return Fail(std::move(opened).error());
    return Fail(Error(ErrorCode::kAuthenticationFailed, "chunks: final chunk does not authenticate"));
  }
  ++chunks_opened_;
  pending_.clear();
  state_ = State::kDone;
  return OkStatus();
}

}  // namespace openpcc::wire
