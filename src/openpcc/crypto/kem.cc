#include "openpcc/crypto/kem.h"

#include <openssl/core_names.h>
#include <openssl/ec.h>
#include <openssl/err.h>
#include <openssl/param_build.h>

#include <string>

#include "openpcc/crypto/hpke_labels.h"

namespace openpcc::crypto {
namespace {

using EcPointPtr = std::unique_ptr<EC_POINT, OpenSslDeleter<EC_POINT, EC_POINT_free>>;
using ParamBldPtr = std::unique_ptr<OSSL_PARAM_BLD, OpenSslDeleter<OSSL_PARAM_BLD, OSSL_PARAM_BLD_free>>;
using ParamPtr = std::unique_ptr<OSSL_PARAM, OpenSslDeleter<OSSL_PARAM, OSSL_PARAM_free>>;

constexpr size_t kX25519Length = 32;
constexpr size_t kP256ScalarLength = 32;
constexpr size_t kP256PointLength = 65;

Bytes KemSuiteId(KemId kem) {
  return Bytes{'K', 'E', 'M', static_cast<uint8_t>(static_cast<uint16_t>(kem) >> 8),
               static_cast<uint8_t>(static_cast<uint16_t>(kem) & 0xff)};
}

const EC_GROUP* P256Group() {
  static EC_GROUP* const group = EC_GROUP_new_by_curve_name(NID_X9_62_prime256v1);
  return group;
}

Result<Bytes> RawPublicKey(KemId kem, EVP_PKEY* key) {
  if (kem == KemId::kX25519HkdfSha256) {
    Bytes out(kX25519Length);
    size_t length = out.size();
    if (EVP_PKEY_get_raw_public_key(key, out.data(), &length) != 1 || length != kX25519Length) {
      return OpenSslError("x25519: public key export");
    }
    return out;
  }
  Bytes out(kP256PointLength);
  size_t length = 0;
  if (EVP_PKEY_get_octet_string_param(key, OSSL_PKEY_PARAM_ENCODED_PUBLIC_KEY, out.data(),
                                      out.size(), &length) != 1 ||
      length != kP256PointLength) {
    return OpenSslError("p256: public key export");
  }
  return out;
}

Result<EvpPkeyPtr> P256KeyFromData(const BIGNUM* private_scalar, ByteView public_point) {
  ParamBldPtr bld(OSSL_PARAM_BLD_new());
  if (!bld ||
      OSSL_PARAM_BLD_push_utf8_string(bld.get(), OSSL_PKEY_PARAM_GROUP_NAME, "prime256v1", 0) != 1 ||
      OSSL_PARAM_BLD_push_octet_string(bld.get(), OSSL_PKEY_PARAM_PUB_KEY, public_point.data(),
                                       public_point.size()) != 1 ||
      (private_scalar != nullptr &&
       OSSL_PARAM_BLD_push_BN(bld.get(), OSSL_PKEY_PARAM_PRIV_KEY, private_scalar) != 1)) {
    return OpenSslError("p256: key parameters");
  }
  ParamPtr params(OSSL_PARAM_BLD_to_param(bld.get()));
  EvpPkeyCtxPtr ctx(EVP_PKEY_CTX_new_from_name(nullptr, "EC", nullptr));
  EVP_PKEY* raw = nullptr;
  const int selection = private_scalar != nullptr ? EVP_PKEY_KEYPAIR : EVP_PKEY_PUBLIC_KEY;
  if (!params || !ctx || EVP_PKEY_fromdata_init(ctx.get()) != 1 ||
      EVP_PKEY_fromdata(ctx.get(), &raw, selection, params.get()) != 1) {
    ERR_clear_error();
    return Error(ErrorCode::kMalformed, "p256: not a valid public key");
  }
  return EvpPkeyPtr(raw);
}

Result<EvpPkeyPtr> PublicKeyObject(KemId kem, ByteView public_key) {
  if (public_key.size() != KemPublicKeyLength(kem)) {
    return Error(ErrorCode::kMalformed, "kem: public key is " + std::to_string(public_key.size()) +
                                            " bytes, expected " +
                                            std::to_string(KemPublicKeyLength(kem)));
  }
  if (kem == KemId::kX25519HkdfSha256) {
    EvpPkeyPtr key(EVP_PKEY_new_raw_public_key(EVP_PKEY_X25519, nullptr, public_key.data(),
                                               public_key.size()));
    if (!key) return OpenSslError("x25519: public key import");
    return key;
  }
  if (P256Group() == nullptr) return OpenSslError("p256: group");
  if (public_key.front() != 0x04) {
    return Error(ErrorCode::kMalformed, "p256: public key is not an uncompressed point");
  }
  // Decode explicitly so that a point off the curve is refused here, not at first use.
  EcPointPtr point(EC_POINT_new(P256Group()));
  if (!point || EC_POINT_oct2point(P256Group(), point.get(), public_key.data(), public_key.size(),
                                   nullptr) != 1 ||
      EC_POINT_is_on_curve(P256Group(), point.get(), nullptr) != 1 ||
      EC_POINT_is_at_infinity(P256Group(), point.get()) == 1) {
    ERR_clear_error();
    return Error(ErrorCode::kMalformed, "p256: public key is not a point on the curve");
  }
  return P256KeyFromData(nullptr, public_key);
}


// Builds a P-256 key pair from a scalar in [1, n-1].
Result<EvpPkeyPtr> P256FromScalar(ByteView scalar_bytes) {
  if (P256Group() == nullptr) return OpenSslError("p256: group");
  // A secure BIGNUM: OSSL_PARAM_BLD then copies the scalar into its secure (cleansed) block.
  BignumPtr scalar(BN_secure_new());
  if (!scalar || BN_bin2bn(scalar_bytes.data(), static_cast<int>(scalar_bytes.size()), scalar.get()) == nullptr) {
    return OpenSslError("p256: BN_bin2bn");
  }
  const BIGNUM* order = EC_GROUP_get0_order(P256Group());
  if (BN_is_zero(scalar.get()) || BN_cmp(scalar.get(), order) >= 0) {
    return Error(ErrorCode::kInvalidArgument, "p256: private key is not in [1, n-1]");
  }
  EcPointPtr point(EC_POINT_new(P256Group()));
  Bytes encoded(kP256PointLength);
  if (!point || EC_POINT_mul(P256Group(), point.get(), scalar.get(), nullptr, nullptr, nullptr) != 1 ||
      EC_POINT_point2oct(P256Group(), point.get(), POINT_CONVERSION_UNCOMPRESSED, encoded.data(),
                         encoded.size(), nullptr) != kP256PointLength) {
    return OpenSslError("p256: public point");
  }
  return P256KeyFromData(scalar.get(), encoded);
}

Result<SecretBytes> DeriveShared(EVP_PKEY* own, EVP_PKEY* peer, size_t length) {
  EvpPkeyCtxPtr ctx(EVP_PKEY_CTX_new_from_pkey(nullptr, own, nullptr));
  if (!ctx || EVP_PKEY_derive_init(ctx.get()) != 1) return OpenSslError("dh: derive init");
  if (EVP_PKEY_derive_set_peer(ctx.get(), peer) != 1) {
    ERR_clear_error();
    return Error(ErrorCode::kMalformed, "dh: peer public key rejected");
  }
  SecretBytes out(length);
  size_t out_length = out.size();
  if (EVP_PKEY_derive(ctx.get(), out.data(), &out_length) != 1 || out_length != length) {
    ERR_clear_error();
    // X25519 fails here when the result is all zero (a small-order peer point), RFC 9180 §7.1.4.
    return Error(ErrorCode::kMalformed, "dh: shared secret is invalid (small-order peer key?)");
  }
  return out;
}

Result<SecretBytes> ExtractAndExpand(KemId kem, ByteView dh, ByteView kem_context) {
  const Bytes suite = KemSuiteId(kem);
  OPENPCC_ASSIGN_OR_RETURN(auto eae_prk,
                           LabeledExtract(KdfId::kHkdfSha256, suite, {}, "eae_prk", dh));
  return LabeledExpand(KdfId::kHkdfSha256, suite, eae_prk.view(), "shared_secret", kem_context,
                       KemSharedSecretLength(kem));
}

}  // namespace

bool IsKnownKem(uint16_t id) { return id == 0x0010 || id == 0x0020; }
size_t KemPublicKeyLength(KemId id) { return id == KemId::kX25519HkdfSha256 ? kX25519Length : kP256PointLength; }
size_t KemPrivateKeyLength(KemId id) { return id == KemId::kX25519HkdfSha256 ? kX25519Length : kP256ScalarLength; }
size_t KemSharedSecretLength(KemId) { return 32; }

Status ValidatePublicKey(KemId kem, ByteView public_key) {
  OPENPCC_ASSIGN_OR_RETURN(auto key, PublicKeyObject(kem, public_key));
  (void)key;
  return OkStatus();
}

Result<SoftwareDhKey> SoftwareDhKey::Generate(KemId kem) {
  EVP_PKEY* raw = kem == KemId::kX25519HkdfSha256
                      ? EVP_PKEY_Q_keygen(nullptr, nullptr, "X25519")
                      : EVP_PKEY_Q_keygen(nullptr, nullptr, "EC", "P-256");
  if (raw == nullptr) return OpenSslError("kem: key generation");
  EvpPkeyPtr key(raw);
  OPENPCC_ASSIGN_OR_RETURN(Bytes public_key, RawPublicKey(kem, key.get()));
  return SoftwareDhKey(kem, std::move(key), std::move(public_key));
}

Result<SoftwareDhKey> SoftwareDhKey::FromPrivateKey(KemId kem, ByteView private_key) {
  if (private_key.size() != KemPrivateKeyLength(kem)) {
    return Error(ErrorCode::kInvalidArgument, "kem: private key is not Nsk bytes");
  }
  EvpPkeyPtr key;
  if (kem == KemId::kX25519HkdfSha256) {
    key.reset(EVP_PKEY_new_raw_private_key(EVP_PKEY_X25519, nullptr, private_key.data(),
                                           private_key.size()));
    if (!key) return OpenSslError("x25519: private key import");
  } else {
    OPENPCC_ASSIGN_OR_RETURN(key, P256FromScalar(private_key));
  }
  OPENPCC_ASSIGN_OR_RETURN(Bytes public_key, RawPublicKey(kem, key.get()));
  return SoftwareDhKey(kem, std::move(key), std::move(public_key));
}

Result<SoftwareDhKey> SoftwareDhKey::Derive(KemId kem, ByteView ikm) {
  const Bytes suite = KemSuiteId(kem);
  OPENPCC_ASSIGN_OR_RETURN(auto dkp_prk, LabeledExtract(KdfId::kHkdfSha256, suite, {}, "dkp_prk", ikm));
  if (kem == KemId::kX25519HkdfSha256) {
    OPENPCC_ASSIGN_OR_RETURN(auto sk, LabeledExpand(KdfId::kHkdfSha256, suite, dkp_prk.view(), "sk",
                                                    {}, kX25519Length));
    return FromPrivateKey(kem, sk.view());
  }
  // P-256: rejection sampling with a one-byte counter; bitmask 0xff (RFC 9180 §7.1.3).
  for (unsigned counter = 0; counter < 256; ++counter) {
    const uint8_t counter_byte = static_cast<uint8_t>(counter);
    OPENPCC_ASSIGN_OR_RETURN(auto candidate,
                             LabeledExpand(KdfId::kHkdfSha256, suite, dkp_prk.view(), "candidate",
                                           ByteView(&counter_byte, 1), kP256ScalarLength));
    auto key = FromPrivateKey(kem, candidate.view());
    if (key.ok()) return key;
    if (key.error().code() != ErrorCode::kInvalidArgument) return key;
  }
  return Error(ErrorCode::kInternal, "p256: DeriveKeyPair found no valid scalar");
}

Result<SecretBytes> SoftwareDhKey::DiffieHellman(ByteView peer_public_key) const {
  OPENPCC_ASSIGN_OR_RETURN(auto peer, PublicKeyObject(kem_, peer_public_key));
  return DeriveShared(key_.get(), peer.get(), KemSharedSecretLength(kem_));
}

Result<SecretBytes> SoftwareDhKey::PrivateKeyBytes() const {
  SecretBytes out(KemPrivateKeyLength(kem_));
  if (kem_ == KemId::kX25519HkdfSha256) {
    size_t length = out.size();
    if (EVP_PKEY_get_raw_private_key(key_.get(), out.data(), &length) != 1 || length != out.size()) {
      return OpenSslError("x25519: private key export");
    }
    return out;
  }
  BIGNUM* raw = nullptr;
  if (EVP_PKEY_get_bn_param(key_.get(), OSSL_PKEY_PARAM_PRIV_KEY, &raw) != 1) {
    return OpenSslError("p256: private key export");
  }
  BignumPtr scalar(raw);
  if (BN_bn2binpad(scalar.get(), out.data(), static_cast<int>(out.size())) < 0) {
    return OpenSslError("p256: private key encode");
  }
  return out;
}

Result<Encapsulation> Encap(KemId kem, ByteView recipient_public_key, const DhPrivateKey* ephemeral,
                            const DhPrivateKey* sender) {
  std::unique_ptr<SoftwareDhKey> generated;
  if (ephemeral == nullptr) {
    OPENPCC_ASSIGN_OR_RETURN(auto fresh, SoftwareDhKey::Generate(kem));
    generated = std::make_unique<SoftwareDhKey>(std::move(fresh));
    ephemeral = generated.get();
  }
  if (ephemeral->kem_id() != kem || (sender != nullptr && sender->kem_id() != kem)) {
    return Error(ErrorCode::kInvalidArgument, "kem: key of another KEM");
  }
  OPENPCC_ASSIGN_OR_RETURN(SecretBytes dh, ephemeral->DiffieHellman(recipient_public_key));
  Bytes enc = ToBytes(ephemeral->public_key());
  Bytes kem_context = Concat(enc, recipient_public_key);
  if (sender != nullptr) {
    OPENPCC_ASSIGN_OR_RETURN(SecretBytes dh_static, sender->DiffieHellman(recipient_public_key));
    dh.Append(dh_static.view());
    Append(kem_context, sender->public_key());
  }
  OPENPCC_ASSIGN_OR_RETURN(auto shared_secret, ExtractAndExpand(kem, dh.view(), kem_context));
  return Encapsulation{std::move(shared_secret), std::move(enc)};
}

Result<SecretBytes> Decap(ByteView enc, const DhPrivateKey& recipient, ByteView sender_public_key) {
  const KemId kem = recipient.kem_id();
  if (enc.size() != KemPublicKeyLength(kem)) {
    return Error(ErrorCode::kMalformed, "kem: enc is " + std::to_string(enc.size()) +
                                            " bytes, expected " + std::to_string(KemPublicKeyLength(kem)));
  }
  OPENPCC_ASSIGN_OR_RETURN(SecretBytes dh, recipient.DiffieHellman(enc));
  Bytes kem_context = Concat(enc, recipient.public_key());
  if (!sender_public_key.empty()) {
    OPENPCC_ASSIGN_OR_RETURN(SecretBytes dh_static, recipient.DiffieHellman(sender_public_key));
    dh.Append(dh_static.view());
    Append(kem_context, sender_public_key);
  }
  return ExtractAndExpand(kem, dh.view(), kem_context);
}

}  // namespace openpcc::crypto
