#include "openpcc/crypto/kdf.h"

#include <openssl/core_names.h>
#include <openssl/params.h>

#include <string>

namespace openpcc::crypto {
namespace {

// Fetched once: fetching per call would cost more than the HKDF itself.
EVP_KDF* HkdfAlgorithm() {
  static EVP_KDF* const kdf = EVP_KDF_fetch(nullptr, "HKDF", nullptr);
  return kdf;
}

const char* DigestName(KdfId id) {
  switch (id) {
    case KdfId::kHkdfSha256: return "SHA256";
    case KdfId::kHkdfSha384: return "SHA384";
    case KdfId::kHkdfSha512: return "SHA512";
  }
  return "";
}

using EvpKdfCtxPtr = std::unique_ptr<EVP_KDF_CTX, OpenSslDeleter<EVP_KDF_CTX, EVP_KDF_CTX_free>>;

Result<SecretBytes> RunHkdf(KdfId id, int mode, ByteView key, ByteView salt_or_info,
                            size_t length) {
  EVP_KDF* kdf = HkdfAlgorithm();
  if (kdf == nullptr) return OpenSslError("EVP_KDF_fetch(HKDF)");
  EvpKdfCtxPtr ctx(EVP_KDF_CTX_new(kdf));
  if (!ctx) return OpenSslError("EVP_KDF_CTX_new");
  // OSSL_PARAM wants non-const pointers even for inputs it only reads.
  auto* key_ptr = const_cast<uint8_t*>(key.data());
  auto* other_ptr = const_cast<uint8_t*>(salt_or_info.data());
  const bool extract = mode == EVP_KDF_HKDF_MODE_EXTRACT_ONLY;
  OSSL_PARAM params[5];
  size_t n = 0;
  params[n++] = OSSL_PARAM_construct_int(OSSL_KDF_PARAM_MODE, &mode);
  params[n++] = OSSL_PARAM_construct_utf8_string(OSSL_KDF_PARAM_DIGEST,
                                                 const_cast<char*>(DigestName(id)), 0);
  params[n++] = OSSL_PARAM_construct_octet_string(OSSL_KDF_PARAM_KEY,
                                                  key_ptr, key.size());
  if (!salt_or_info.empty()) {
    params[n++] = OSSL_PARAM_construct_octet_string(
        extract ? OSSL_KDF_PARAM_SALT : OSSL_KDF_PARAM_INFO, other_ptr, salt_or_info.size());
  }
  params[n] = OSSL_PARAM_construct_end();
  SecretBytes out(length);
  if (EVP_KDF_derive(ctx.get(), out.data(), out.size(), params) != 1) {
    return OpenSslError(extract ? "HKDF-Extract" : "HKDF-Expand");
  }
  return out;
}

}  // namespace

size_t KdfHashLength(KdfId id) { return HashLength(KdfHash(id)); }

HashId KdfHash(KdfId id) {
  switch (id) {
    case KdfId::kHkdfSha256: return HashId::kSha256;
    case KdfId::kHkdfSha384: return HashId::kSha384;
    case KdfId::kHkdfSha512: return HashId::kSha512;
  }
  return HashId::kSha256;
}

bool IsKnownKdf(uint16_t id) { return id >= 1 && id <= 3; }

Result<SecretBytes> HkdfExtract(KdfId id, ByteView salt, ByteView ikm) {
  // RFC 5869: a missing salt is Nh zero bytes. OpenSSL rejects an empty salt, so pass it explicitly.
  Bytes zero_salt;
  if (salt.empty()) {
    zero_salt.assign(KdfHashLength(id), 0);
    salt = zero_salt;
  }
  return RunHkdf(id, EVP_KDF_HKDF_MODE_EXTRACT_ONLY, ikm, salt, KdfHashLength(id));
}

Result<SecretBytes> HkdfExpand(KdfId id, ByteView prk, ByteView info, size_t length) {
  if (length == 0 || length > 255 * KdfHashLength(id)) {
    return Error(ErrorCode::kInvalidArgument,
                 "hkdf: expand length " + std::to_string(length) + " is not in [1, 255*Nh]");
  }
  return RunHkdf(id, EVP_KDF_HKDF_MODE_EXPAND_ONLY, prk, info, length);
}

}  // namespace openpcc::crypto
