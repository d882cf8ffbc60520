#include "openpcc/crypto/ed25519.h"

#include <openssl/err.h>
#include <openssl/evp.h>

#include <cstdlib>
#include <string>

#include "openpcc/crypto/openssl_ptr.h"
#include "openpcc/crypto/random.h"

namespace openpcc::crypto {
namespace {

std::shared_ptr<EVP_PKEY> Share(EVP_PKEY* key) { return std::shared_ptr<EVP_PKEY>(key, EVP_PKEY_free); }

}  // namespace

Result<Ed25519PublicKey> Ed25519PublicKey::FromBytes(ByteView raw) {
  if (raw.size() != kEd25519PublicKeyLength) {
    return Error(ErrorCode::kMalformed, "ed25519: public key is " + std::to_string(raw.size()) +
                                            " bytes, expected 32");
  }
  EVP_PKEY* key = EVP_PKEY_new_raw_public_key(EVP_PKEY_ED25519, nullptr, raw.data(), raw.size());
  if (key == nullptr) {
    ERR_clear_error();
    return Error(ErrorCode::kMalformed, "ed25519: not a valid public key");
  }
  return Ed25519PublicKey(ToBytes(raw), Share(key));
}

Status Ed25519PublicKey::Verify(ByteView message, ByteView signature) const {
  if (signature.size() != kEd25519SignatureLength) {
    return Error(ErrorCode::kMalformed, "ed25519: signature is " + std::to_string(signature.size()) +
                                            " bytes, expected 64");
  }
  EvpMdCtxPtr ctx(EVP_MD_CTX_new());
  if (!ctx || EVP_DigestVerifyInit(ctx.get(), nullptr, nullptr, nullptr, key_.get()) != 1) {
    return OpenSslError("ed25519: verify init");
  }
  const int rc = EVP_DigestVerify(ctx.get(), signature.data(), signature.size(), message.data(), message.size());
  if (rc != 1) {
    ERR_clear_error();
    return Error(ErrorCode::kAuthenticationFailed, "ed25519: signature does not verify");
  }
  return OkStatus();
}

Result<Ed25519PrivateKey> Ed25519PrivateKey::FromSeed(ByteView seed) {
  if (seed.size() != kEd25519SeedLength) {
    return Error(ErrorCode::kInvalidArgument, "ed25519: seed is " + std::to_string(seed.size()) +
                                                  " bytes, expected 32");
  }
  EVP_PKEY* raw = EVP_PKEY_new_raw_private_key(EVP_PKEY_ED25519, nullptr, seed.data(), seed.size());
  if (raw == nullptr) return OpenSslError("ed25519: private key import");
  auto key = Share(raw);
  Bytes public_raw(kEd25519PublicKeyLength);
  size_t length = public_raw.size();
  if (EVP_PKEY_get_raw_public_key(key.get(), public_raw.data(), &length) != 1 ||
      length != kEd25519PublicKeyLength) {
    return OpenSslError("ed25519: public key export");
  }
  OPENPCC_ASSIGN_OR_RETURN(auto public_key, Ed25519PublicKey::FromBytes(public_raw));
  return Ed25519PrivateKey(SecretBytes(seed), std::move(key), std::move(public_key));
}

Ed25519PrivateKey Ed25519PrivateKey::Generate() {
  SecretBytes seed = RandomSecret(kEd25519SeedLength);
  auto key = FromSeed(seed.view());
  if (!key.ok()) std::abort();  // a 32-byte seed always imports; failure means OpenSSL is broken
  return std::move(key).value();
}

Result<Bytes> Ed25519PrivateKey::Sign(ByteView message) const {
  EvpMdCtxPtr ctx(EVP_MD_CTX_new());
  Bytes signature(kEd25519SignatureLength);
  size_t length = signature.size();
  if (!ctx || EVP_DigestSignInit(ctx.get(), nullptr, nullptr, nullptr, key_.get()) != 1 ||
      EVP_DigestSign(ctx.get(), signature.data(), &length, message.data(), message.size()) != 1 ||
      length != kEd25519SignatureLength) {
    return OpenSslError("ed25519: sign");
  }
  return signature;
}

}  // namespace openpcc::crypto
