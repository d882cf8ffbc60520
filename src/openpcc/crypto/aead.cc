#include "openpcc/crypto/aead.h"

#include <openssl/err.h>

#include <limits>
#include <string>

namespace openpcc::crypto {
namespace {

const EVP_CIPHER* Cipher(AeadId id) {
  switch (id) {
    case AeadId::kAes128Gcm: return EVP_aes_128_gcm();
    case AeadId::kAes256Gcm: return EVP_aes_256_gcm();
    case AeadId::kChaCha20Poly1305: return EVP_chacha20_poly1305();
    case AeadId::kExportOnly: return nullptr;
  }
  return nullptr;
}

bool FitsInt(size_t n) { return n <= static_cast<size_t>(std::numeric_limits<int>::max()); }

Result<EvpCipherCtxPtr> NewKeyedContext(AeadId id, ByteView key, bool encrypt) {
  EvpCipherCtxPtr ctx(EVP_CIPHER_CTX_new());
  if (!ctx) return OpenSslError("EVP_CIPHER_CTX_new");
  const int enc = encrypt ? 1 : 0;
  if (EVP_CipherInit_ex(ctx.get(), Cipher(id), nullptr, nullptr, nullptr, enc) != 1 ||
      EVP_CIPHER_CTX_ctrl(ctx.get(), EVP_CTRL_AEAD_SET_IVLEN,
                          static_cast<int>(AeadNonceLength(id)), nullptr) != 1 ||
      EVP_CipherInit_ex(ctx.get(), nullptr, nullptr, key.data(), nullptr, enc) != 1) {
    return OpenSslError("aead: key setup");
  }
  return ctx;
}

}  // namespace

Result<AeadNonce> CounterNonce(ByteView base_nonce, uint64_t counter) {
  if (base_nonce.size() != kAeadNonceLength) {
    return Error(ErrorCode::kInvalidArgument, "aead: base nonce is not Nn bytes");
  }
  AeadNonce nonce;
  for (size_t i = 0; i < kAeadNonceLength; ++i) nonce[i] = base_nonce[i];
  for (size_t i = 0; i < sizeof(counter); ++i) {
    nonce[kAeadNonceLength - 1 - i] = static_cast<uint8_t>(nonce[kAeadNonceLength - 1 - i] ^ (counter >> (8 * i)));
  }
  return nonce;
}

bool IsKnownAead(uint16_t id) { return (id >= 1 && id <= 3) || id == 0xFFFF; }

size_t AeadKeyLength(AeadId id) {
  switch (id) {
    case AeadId::kAes128Gcm: return 16;
    case AeadId::kAes256Gcm: return 32;
    case AeadId::kChaCha20Poly1305: return 32;
    case AeadId::kExportOnly: return 0;
  }
  return 0;
}

size_t AeadNonceLength(AeadId id) { return id == AeadId::kExportOnly ? 0 : kAeadNonceLength; }
size_t AeadTagLength(AeadId id) { return id == AeadId::kExportOnly ? 0 : kAeadTagLength; }

Result<AeadKey> AeadKey::Create(AeadId id, ByteView key) {
  if (Cipher(id) == nullptr) {
    return Error(ErrorCode::kUnsupported, "aead: id " + std::to_string(static_cast<unsigned>(id)) +
                                              " cannot seal or open (export-only or unknown)");
  }
  if (key.size() != AeadKeyLength(id)) {
    return Error(ErrorCode::kInvalidArgument, "aead: key is " + std::to_string(key.size()) +
                                                  " bytes, expected " + std::to_string(AeadKeyLength(id)));
  }
  return AeadKey(id, SecretBytes(key));
}

Result<EVP_CIPHER_CTX*> AeadKey::Context(bool encrypt) {
  EvpCipherCtxPtr& slot = encrypt ? seal_ : open_;
  if (!slot) {
    OPENPCC_ASSIGN_OR_RETURN(slot, NewKeyedContext(id_, key_.view(), encrypt));
  }
  return slot.get();
}

Status AeadKey::SealAppend(ByteView nonce, ByteView aad, ByteView plaintext, Bytes& out) {
  if (nonce.size() != AeadNonceLength(id_)) {
    return Error(ErrorCode::kInvalidArgument, "aead: nonce is not Nn bytes");
  }
  if (!FitsInt(plaintext.size()) || !FitsInt(aad.size())) {
    return Error(ErrorCode::kOutOfRange, "aead: message too large");
  }
  OPENPCC_ASSIGN_OR_RETURN(EVP_CIPHER_CTX * ctx, Context(true));
  const size_t start = out.size();
  out.resize(start + plaintext.size() + kAeadTagLength);
  int length = 0;
  if (EVP_EncryptInit_ex(ctx, nullptr, nullptr, nullptr, nonce.data()) != 1 ||
      (!aad.empty() && EVP_EncryptUpdate(ctx, nullptr, &length, aad.data(), static_cast<int>(aad.size())) != 1) ||
      EVP_EncryptUpdate(ctx, out.data() + start, &length, plaintext.data(),
                        static_cast<int>(plaintext.size())) != 1 ||
      EVP_EncryptFinal_ex(ctx, out.data() + start + length, &length) != 1 ||
      EVP_CIPHER_CTX_ctrl(ctx, EVP_CTRL_AEAD_GET_TAG, static_cast<int>(kAeadTagLength),
                          out.data() + start + plaintext.size()) != 1) {
    out.resize(start);
    return OpenSslError("aead: seal");
  }
  return OkStatus();
}

Result<Bytes> AeadKey::Seal(ByteView nonce, ByteView aad, ByteView plaintext) {
  Bytes out;
  OPENPCC_RETURN_IF_ERROR(SealAppend(nonce, aad, plaintext, out));
  return out;
}

Result<SecretBytes> AeadKey::Open(ByteView nonce, ByteView aad, ByteView ciphertext) {
  SecretBytes plaintext;
  OPENPCC_RETURN_IF_ERROR(OpenAppend(nonce, aad, ciphertext, plaintext));
  return plaintext;
}

Status AeadKey::OpenAppend(ByteView nonce, ByteView aad, ByteView ciphertext, SecretBytes& out) {
  if (nonce.size() != AeadNonceLength(id_)) {
    return Error(ErrorCode::kInvalidArgument, "aead: nonce is not Nn bytes");
  }
  if (ciphertext.size() < kAeadTagLength) {
    return Error(ErrorCode::kAuthenticationFailed, "aead: ciphertext shorter than the tag");
  }
  if (!FitsInt(ciphertext.size()) || !FitsInt(aad.size())) {
    return Error(ErrorCode::kOutOfRange, "aead: message too large");
  }
  const size_t body = ciphertext.size() - kAeadTagLength;
  OPENPCC_ASSIGN_OR_RETURN(EVP_CIPHER_CTX * ctx, Context(false));
  const size_t start = out.size();
  out.Resize(start + body);
  uint8_t* plaintext = out.data() + start;
  int length = 0;
  // OpenSSL's SET_TAG takes a non-const pointer but only reads it.
  auto* tag = const_cast<uint8_t*>(ciphertext.data() + body);
  if (EVP_DecryptInit_ex(ctx, nullptr, nullptr, nullptr, nonce.data()) != 1 ||
      (!aad.empty() && EVP_DecryptUpdate(ctx, nullptr, &length, aad.data(), static_cast<int>(aad.size())) != 1) ||
      EVP_DecryptUpdate(ctx, plaintext, &length, ciphertext.data(), static_cast<int>(body)) != 1 ||
      EVP_CIPHER_CTX_ctrl(ctx, EVP_CTRL_AEAD_SET_TAG, static_cast<int>(kAeadTagLength), tag) != 1) {
    out.Resize(start);  // wipes the unauthenticated bytes
    return OpenSslError("aead: open");
  }
  if (EVP_DecryptFinal_ex(ctx, plaintext + length, &length) != 1) {
    ERR_clear_error();
    out.Resize(start);  // wipes the unauthenticated bytes
    return Error(ErrorCode::kAuthenticationFailed, "aead: tag does not verify");
  }
  return OkStatus();
}

}  // namespace openpcc::crypto
