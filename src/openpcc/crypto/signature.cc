#include "openpcc/crypto/signature.h"

#include <openssl/core_names.h>
#include <openssl/ec.h>
#include <openssl/err.h>
#include <openssl/param_build.h>
#include <openssl/pem.h>
#include <openssl/rsa.h>

#include <string>

namespace openpcc::crypto {
namespace {

using EcdsaSigPtr = std::unique_ptr<ECDSA_SIG, OpenSslDeleter<ECDSA_SIG, ECDSA_SIG_free>>;
using ParamBldPtr = std::unique_ptr<OSSL_PARAM_BLD, OpenSslDeleter<OSSL_PARAM_BLD, OSSL_PARAM_BLD_free>>;
using ParamPtr = std::unique_ptr<OSSL_PARAM, OpenSslDeleter<OSSL_PARAM, OSSL_PARAM_free>>;

Error Rejected(std::string_view what, std::string_view why) {
  ERR_clear_error();
  std::string message(what);
  message += ": ";
  message += why;
  return Error(ErrorCode::kAuthenticationFailed, std::move(message));
}

Error Invalid(std::string_view what, std::string_view why) {
  ERR_clear_error();
  std::string message(what);
  message += ": ";
  message += why;
  return Error(ErrorCode::kMalformed, std::move(message));
}

Result<BignumPtr> ToBignum(ByteView big_endian) {
  BignumPtr bn(BN_bin2bn(big_endian.data(), static_cast<int>(big_endian.size()), nullptr));
  if (!bn) return OpenSslError("BN_bin2bn");
  return bn;
}

bool LooksLikePem(ByteView data) {
  static constexpr std::string_view kMarker = "-----BEGIN";
  std::string_view text = AsChars(data);
  return text.find(kMarker) != std::string_view::npos;
}

Status VerifyWith(std::string_view what, const EVP_PKEY* key, HashId hash, ByteView message,
                  ByteView signature, int padding, int salt_length) {
  EvpMdCtxPtr ctx(EVP_MD_CTX_new());
  if (!ctx) return OpenSslError("EVP_MD_CTX_new");
  EVP_PKEY_CTX* pctx = nullptr;  // owned by ctx
  if (EVP_DigestVerifyInit(ctx.get(), &pctx, HashMd(hash), nullptr,
                           const_cast<EVP_PKEY*>(key)) != 1) {
    return Invalid(what, "public key does not suit this signature algorithm");
  }
  if (padding != 0) {
    if (EVP_PKEY_CTX_set_rsa_padding(pctx, padding) != 1) {
      return Invalid(what, "public key is not an RSA key");
    }
    if (padding == RSA_PKCS1_PSS_PADDING) {
      int salt = salt_length == kPssSaltDigestLength ? RSA_PSS_SALTLEN_DIGEST
                                                     : RSA_PSS_SALTLEN_AUTO;
      if (salt_length >= 0) salt = salt_length;
      if (EVP_PKEY_CTX_set_rsa_pss_saltlen(pctx, salt) != 1 ||
          EVP_PKEY_CTX_set_rsa_mgf1_md(pctx, HashMd(hash)) != 1) {
        return OpenSslError("rsa-pss parameters");
      }
    }
  }
  if (EVP_DigestVerify(ctx.get(), signature.data(), signature.size(), message.data(),
                       message.size()) != 1) {
    return Rejected(what, "signature does not verify");
  }
  return OkStatus();
}

}  // namespace

size_t EcCoordinateLength(EcCurve curve) { return curve == EcCurve::kP256 ? 32 : 48; }

Result<EvpPkeyPtr> ParsePublicKey(ByteView der_or_pem) {
  EvpPkeyPtr key;
  if (LooksLikePem(der_or_pem)) {
    BioPtr bio(BIO_new_mem_buf(der_or_pem.data(), static_cast<int>(der_or_pem.size())));
    if (!bio) return OpenSslError("BIO_new_mem_buf");
    key.reset(PEM_read_bio_PUBKEY(bio.get(), nullptr, nullptr, nullptr));
  } else {
    const unsigned char* p = der_or_pem.data();
    key.reset(d2i_PUBKEY(nullptr, &p, static_cast<long>(der_or_pem.size())));
    if (key && p != der_or_pem.data() + der_or_pem.size()) {
      return Invalid("public key", "trailing bytes after SubjectPublicKeyInfo");
    }
  }
  if (!key) return Invalid("public key", "not a SubjectPublicKeyInfo in DER or PEM");
  return key;
}

Result<Bytes> EncodePublicKeyDer(const EVP_PKEY* key) {
  unsigned char* out = nullptr;
  int length = i2d_PUBKEY(const_cast<EVP_PKEY*>(key), &out);
  if (length <= 0) return OpenSslError("i2d_PUBKEY");
  Bytes der(out, out + length);
  OPENSSL_free(out);
  return der;
}

Result<EvpPkeyPtr> EcPublicKeyFromCoordinates(EcCurve curve, ByteView x, ByteView y) {
  const size_t n = EcCoordinateLength(curve);
  if (x.size() != n || y.size() != n) {
    return Error(ErrorCode::kInvalidArgument,
                 "ec public key: coordinates must be " + std::to_string(n) + " bytes each");
  }
  Bytes point{0x04};
  Append(point, x);
  Append(point, y);
  ParamBldPtr bld(OSSL_PARAM_BLD_new());
  if (!bld) return OpenSslError("OSSL_PARAM_BLD_new");
  const char* group = curve == EcCurve::kP256 ? "P-256" : "P-384";
  if (OSSL_PARAM_BLD_push_utf8_string(bld.get(), OSSL_PKEY_PARAM_GROUP_NAME, group, 0) != 1 ||
      OSSL_PARAM_BLD_push_octet_string(bld.get(), OSSL_PKEY_PARAM_PUB_KEY, point.data(),
                                       point.size()) != 1) {
    return OpenSslError("ec public key parameters");
  }
  ParamPtr params(OSSL_PARAM_BLD_to_param(bld.get()));
  EvpPkeyCtxPtr ctx(EVP_PKEY_CTX_new_from_name(nullptr, "EC", nullptr));
  EVP_PKEY* raw = nullptr;
  if (!params || !ctx || EVP_PKEY_fromdata_init(ctx.get()) != 1 ||
      EVP_PKEY_fromdata(ctx.get(), &raw, EVP_PKEY_PUBLIC_KEY, params.get()) != 1) {
    return Invalid("ec public key", "point is not on the curve");
  }
  EvpPkeyPtr key(raw);
  // fromdata does not always validate the point; check it explicitly.
  EvpPkeyCtxPtr check(EVP_PKEY_CTX_new_from_pkey(nullptr, key.get(), nullptr));
  if (!check || EVP_PKEY_public_check(check.get()) != 1) {
    return Invalid("ec public key", "point is not on the curve");
  }
  return key;
}

Result<EvpPkeyPtr> RsaPublicKeyFromModulus(ByteView modulus, ByteView exponent) {
  if (modulus.empty() || exponent.empty()) {
    return Error(ErrorCode::kInvalidArgument, "rsa public key: empty modulus or exponent");
  }
  OPENPCC_ASSIGN_OR_RETURN(BignumPtr n, ToBignum(modulus));
  OPENPCC_ASSIGN_OR_RETURN(BignumPtr e, ToBignum(exponent));
  ParamBldPtr bld(OSSL_PARAM_BLD_new());
  if (!bld || OSSL_PARAM_BLD_push_BN(bld.get(), OSSL_PKEY_PARAM_RSA_N, n.get()) != 1 ||
      OSSL_PARAM_BLD_push_BN(bld.get(), OSSL_PKEY_PARAM_RSA_E, e.get()) != 1) {
    return OpenSslError("rsa public key parameters");
  }
  ParamPtr params(OSSL_PARAM_BLD_to_param(bld.get()));
  EvpPkeyCtxPtr ctx(EVP_PKEY_CTX_new_from_name(nullptr, "RSA", nullptr));
  EVP_PKEY* raw = nullptr;
  if (!params || !ctx || EVP_PKEY_fromdata_init(ctx.get()) != 1 ||
      EVP_PKEY_fromdata(ctx.get(), &raw, EVP_PKEY_PUBLIC_KEY, params.get()) != 1) {
    return Invalid("rsa public key", "modulus/exponent rejected");
  }
  return EvpPkeyPtr(raw);
}

Result<Bytes> EcdsaRawToDer(ByteView r, ByteView s) {
  OPENPCC_ASSIGN_OR_RETURN(BignumPtr br, ToBignum(r));
  OPENPCC_ASSIGN_OR_RETURN(BignumPtr bs, ToBignum(s));
  EcdsaSigPtr sig(ECDSA_SIG_new());
  if (!sig || ECDSA_SIG_set0(sig.get(), br.get(), bs.get()) != 1) {
    return OpenSslError("ECDSA_SIG_set0");
  }
  (void)br.release();  // owned by sig now
  (void)bs.release();
  unsigned char* out = nullptr;
  int length = i2d_ECDSA_SIG(sig.get(), &out);
  if (length <= 0) return OpenSslError("i2d_ECDSA_SIG");
  Bytes der(out, out + length);
  OPENSSL_free(out);
  return der;
}

Status VerifyEcdsaDer(std::string_view what, const EVP_PKEY* key, HashId hash, ByteView message,
                      ByteView der_signature) {
  if (EVP_PKEY_base_id(key) != EVP_PKEY_EC) return Invalid(what, "public key is not an EC key");
  return VerifyWith(what, key, hash, message, der_signature, 0, 0);
}

Status VerifyEcdsaRaw(std::string_view what, const EVP_PKEY* key, HashId hash, ByteView message,
                      ByteView r, ByteView s) {
  OPENPCC_ASSIGN_OR_RETURN(Bytes der, EcdsaRawToDer(r, s));
  return VerifyEcdsaDer(what, key, hash, message, der);
}

Status VerifyEcdsaDigestRaw(std::string_view what, const EVP_PKEY* key, ByteView digest,
                            ByteView r, ByteView s) {
  if (EVP_PKEY_base_id(key) != EVP_PKEY_EC) return Invalid(what, "public key is not an EC key");
  OPENPCC_ASSIGN_OR_RETURN(Bytes der, EcdsaRawToDer(r, s));
  EvpPkeyCtxPtr ctx(EVP_PKEY_CTX_new_from_pkey(nullptr, const_cast<EVP_PKEY*>(key), nullptr));
  if (!ctx || EVP_PKEY_verify_init(ctx.get()) != 1) return OpenSslError("EVP_PKEY_verify_init");
  if (EVP_PKEY_verify(ctx.get(), der.data(), der.size(), digest.data(), digest.size()) != 1) {
    return Rejected(what, "signature does not verify");
  }
  return OkStatus();
}

Status VerifyRsaPkcs1(std::string_view what, const EVP_PKEY* key, HashId hash, ByteView message,
                      ByteView signature) {
  if (EVP_PKEY_base_id(key) != EVP_PKEY_RSA) return Invalid(what, "public key is not an RSA key");
  return VerifyWith(what, key, hash, message, signature, RSA_PKCS1_PADDING, 0);
}

Status VerifyRsaPss(std::string_view what, const EVP_PKEY* key, HashId hash, ByteView message,
                    ByteView signature, int salt_length) {
  int id = EVP_PKEY_base_id(key);
  if (id != EVP_PKEY_RSA && id != EVP_PKEY_RSA_PSS) {
    return Invalid(what, "public key is not an RSA key");
  }
  return VerifyWith(what, key, hash, message, signature, RSA_PKCS1_PSS_PADDING, salt_length);
}

}  // namespace openpcc::crypto
