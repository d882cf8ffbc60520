#include "openpcc/crypto/blind_rsa.h"

#include <openssl/core_names.h>
#include <openssl/encoder.h>
#include <openssl/err.h>
#include <openssl/param_build.h>
#include <openssl/pem.h>
#include <openssl/rsa.h>
#include <openssl/x509.h>

#include <algorithm>
#include <array>
#include <string>

#include "openpcc/crypto/hash.h"
#include "openpcc/crypto/random.h"

namespace openpcc::crypto {
namespace {

using BnCtxPtr = std::unique_ptr<BN_CTX, OpenSslDeleter<BN_CTX, BN_CTX_free>>;
using BnMontCtxPtr = std::unique_ptr<BN_MONT_CTX, OpenSslDeleter<BN_MONT_CTX, BN_MONT_CTX_free>>;
using ParamBldPtr = std::unique_ptr<OSSL_PARAM_BLD, OpenSslDeleter<OSSL_PARAM_BLD, OSSL_PARAM_BLD_free>>;
using ParamPtr = std::unique_ptr<OSSL_PARAM, OpenSslDeleter<OSSL_PARAM, OSSL_PARAM_free>>;
using EncoderCtxPtr =
    std::unique_ptr<OSSL_ENCODER_CTX, OpenSslDeleter<OSSL_ENCODER_CTX, OSSL_ENCODER_CTX_free>>;

constexpr size_t kMinModulusBits = 2048;
constexpr size_t kMaxModulusBits = 4096;
constexpr size_t kSha384Length = 48;
constexpr size_t kPssSaltLength = 48;

// AlgorithmIdentifier of id-RSASSA-PSS with RSASSA-PSS-params {SHA-384, MGF1(SHA-384), 48}, as
// RFC 9578 §6.5 encodes token keys (hash AlgorithmIdentifiers without NULL parameters).
constexpr uint8_t kRsaPssAlgorithm[] = {
    0x30, 0x3d, 0x06, 0x09, 0x2a, 0x86, 0x48, 0x86, 0xf7, 0x0d, 0x01, 0x01, 0x0a, 0x30, 0x30,
    0xa0, 0x0d, 0x30, 0x0b, 0x06, 0x09, 0x60, 0x86, 0x48, 0x01, 0x65, 0x03, 0x04, 0x02, 0x02,
    0xa1, 0x1a, 0x30, 0x18, 0x06, 0x09, 0x2a, 0x86, 0x48, 0x86, 0xf7, 0x0d, 0x01, 0x01, 0x08,
    0x30, 0x0b, 0x06, 0x09, 0x60, 0x86, 0x48, 0x01, 0x65, 0x03, 0x04, 0x02, 0x02, 0xa2, 0x03,
    0x02, 0x01, 0x30};
// AlgorithmIdentifier of rsaEncryption with NULL parameters.
constexpr uint8_t kRsaEncryptionAlgorithm[] = {0x30, 0x0d, 0x06, 0x09, 0x2a, 0x86, 0x48, 0x86,
                                               0xf7, 0x0d, 0x01, 0x01, 0x01, 0x05, 0x00};

void DerAppendLength(Bytes& out, size_t length) {
  if (length < 0x80) {
    out.push_back(static_cast<uint8_t>(length));
    return;
  }
  Bytes digits;
  for (size_t v = length; v != 0; v >>= 8) digits.insert(digits.begin(), static_cast<uint8_t>(v));
  out.push_back(static_cast<uint8_t>(0x80 | digits.size()));
  Append(out, digits);
}

Bytes DerTlv(uint8_t tag, ByteView content) {
  Bytes out{tag};
  DerAppendLength(out, content.size());
  Append(out, content);
  return out;
}

Bytes DerUnsignedInteger(const BIGNUM* value) {
  Bytes magnitude(static_cast<size_t>(BN_num_bytes(value)));
  BN_bn2bin(value, magnitude.data());
  // DER INTEGER is two's complement: a set high bit needs a leading zero to stay positive.
  if (magnitude.empty() || (magnitude[0] & 0x80) != 0) magnitude.insert(magnitude.begin(), 0);
  return DerTlv(0x02, magnitude);
}

Bytes SpkiWith(ByteView algorithm, const BIGNUM* n, const BIGNUM* e) {
  Bytes rsa_public_key = DerTlv(0x30, Concat(DerUnsignedInteger(n), DerUnsignedInteger(e)));
  Bytes bit_string{0x00};  // no unused bits
  Append(bit_string, rsa_public_key);
  return DerTlv(0x30, Concat(algorithm, DerTlv(0x03, bit_string)));
}

Result<BignumPtr> GetBnParam(const EVP_PKEY* key, const char* name) {
  BIGNUM* raw = nullptr;
  if (EVP_PKEY_get_bn_param(key, name, &raw) != 1) return OpenSslError("blind_rsa: reading key");
  return BignumPtr(raw);
}

BignumPtr BnFromBytes(ByteView bytes) {
  return BignumPtr(BN_bin2bn(bytes.data(), static_cast<int>(bytes.size()), nullptr));
}

// I2OSP(value, length) for a value known to fit.
Result<Bytes> I2osp(const BIGNUM* value, size_t length) {
  Bytes out(length);
  if (BN_bn2binpad(value, out.data(), static_cast<int>(length)) != static_cast<int>(length)) {
    return Error(ErrorCode::kInternal, "blind_rsa: integer does not fit the modulus length");
  }
  return out;
}

EvpPkeyCtxPtr CtxFor(const EVP_PKEY* key) {
  // OpenSSL takes a non-const key because it bumps its reference count; the key is not modified.
  return EvpPkeyCtxPtr(EVP_PKEY_CTX_new_from_pkey(nullptr, const_cast<EVP_PKEY*>(key), nullptr));
}

// MGF1 with SHA-384 (RFC 8017 §B.2.1).
Bytes Mgf1Sha384(ByteView seed, size_t length) {
  Bytes out;
  out.reserve(length + kSha384Length);
  for (uint32_t counter = 0; out.size() < length; ++counter) {
    const uint8_t c[4] = {static_cast<uint8_t>(counter >> 24), static_cast<uint8_t>(counter >> 16),
                          static_cast<uint8_t>(counter >> 8), static_cast<uint8_t>(counter)};
    Append(out, Sha384(Concat(seed, ByteView(c))));
  }
  out.resize(length);
  return out;
}

// EMSA-PSS-ENCODE (RFC 8017 §9.1.1) with SHA-384 and the given salt. OpenSSL offers PSS encoding
// only through the deprecated RSA_* API and only with a salt of its own choosing; RFC 9474's vectors
// fix the salt, so the encoding is composed here from EVP digests.
Result<Bytes> EmsaPssEncode(ByteView msg, size_t em_bits, ByteView salt) {
  const size_t em_length = (em_bits + 7) / 8;
  if (em_length < kSha384Length + salt.size() + 2) {
    return Error(ErrorCode::kInvalidArgument, "blind_rsa: modulus too short for PSS encoding");
  }
  const Bytes m_hash = Sha384(msg);
  const Bytes h = Sha384(Concat(Bytes(8, 0), m_hash, salt));
  Bytes db(em_length - salt.size() - kSha384Length - 2, 0);
  db.push_back(0x01);
  Append(db, salt);
  const Bytes mask = Mgf1Sha384(h, db.size());
  for (size_t i = 0; i < db.size(); ++i) db[i] ^= mask[i];
  db[0] &= static_cast<uint8_t>(0xff >> (8 * em_length - em_bits));
  Bytes em = std::move(db);
  Append(em, h);
  em.push_back(0xbc);
  return em;
}

Result<BlindRsaBlinding> Blind(BlindRsaVariant variant, const BlindRsaPublicKey& key,
                               ByteView prepared_msg, ByteView salt, ByteView fixed_r,
                               ByteView fixed_inv) {
  if (salt.size() != BlindRsaSaltLength(variant)) {
    return Error(ErrorCode::kInvalidArgument, "blind_rsa: salt length " +
                                                  std::to_string(salt.size()) + ", expected " +
                                                  std::to_string(BlindRsaSaltLength(variant)));
  }
  const size_t k = key.modulus_length();
  OPENPCC_ASSIGN_OR_RETURN(Bytes encoded, EmsaPssEncode(prepared_msg, key.modulus_bits() - 1, salt));
  BnCtxPtr ctx(BN_CTX_secure_new());
  BignumPtr m = BnFromBytes(encoded);
  BignumPtr gcd(BN_new());
  BignumPtr r(BN_secure_new());
  BignumPtr inv(BN_secure_new());
  BignumPtr x(BN_secure_new());
  BignumPtr z(BN_new());
  BnMontCtxPtr mont(BN_MONT_CTX_new());
  if (!ctx || !m || !gcd || !r || !inv || !x || !z || !mont ||
      BN_MONT_CTX_set(mont.get(), key.n(), ctx.get()) != 1) {
    return OpenSslError("blind_rsa: allocating blinding values");
  }
  if (BN_gcd(gcd.get(), m.get(), key.n(), ctx.get()) != 1) return OpenSslError("blind_rsa: gcd");
  if (!BN_is_one(gcd.get())) {
    return Error(ErrorCode::kInvalidArgument,
                 "blind_rsa: encoded message is not invertible modulo n");
  }
  BN_set_flags(r.get(), BN_FLG_CONSTTIME);
  BN_set_flags(inv.get(), BN_FLG_CONSTTIME);
  if (!fixed_r.empty()) {
    if (fixed_r.size() != k) {
      return Error(ErrorCode::kInvalidArgument, "blind_rsa: r is not modulus_length bytes");
    }
    if (BN_bin2bn(fixed_r.data(), static_cast<int>(k), r.get()) == nullptr ||
        BN_mod_inverse(inv.get(), r.get(), key.n(), ctx.get()) == nullptr) {
      ERR_clear_error();
      return Error(ErrorCode::kInvalidArgument, "blind_rsa: r is not invertible modulo n");
    }
  } else if (fixed_inv.empty()) {
    // r uniform in [1, n): BN_priv_rand_range gives [0, n); zero is redrawn.
    do {
      if (BN_priv_rand_range(r.get(), key.n()) != 1) return OpenSslError("blind_rsa: random r");
    } while (BN_is_zero(r.get()));
    if (BN_mod_inverse(inv.get(), r.get(), key.n(), ctx.get()) == nullptr) {
      ERR_clear_error();
      return Error(ErrorCode::kInvalidArgument, "blind_rsa: blinding factor is not invertible");
    }
  } else {
    if (fixed_inv.size() != k) {
      return Error(ErrorCode::kInvalidArgument, "blind_rsa: inv is not modulus_length bytes");
    }
    if (BN_bin2bn(fixed_inv.data(), static_cast<int>(k), inv.get()) == nullptr ||
        BN_mod_inverse(r.get(), inv.get(), key.n(), ctx.get()) == nullptr) {
      ERR_clear_error();
      return Error(ErrorCode::kInvalidArgument, "blind_rsa: inv is not invertible modulo n");
    }
  }
  if (BN_mod_exp_mont_consttime(x.get(), r.get(), key.e(), key.n(), ctx.get(), mont.get()) != 1 ||
      BN_mod_mul(z.get(), m.get(), x.get(), key.n(), ctx.get()) != 1) {
    return OpenSslError("blind_rsa: blinding");
  }
  BlindRsaBlinding out;
  OPENPCC_ASSIGN_OR_RETURN(out.blinded_msg, I2osp(z.get(), k));
  out.inv = SecretBytes(k);
  if (BN_bn2binpad(inv.get(), out.inv.data(), static_cast<int>(k)) != static_cast<int>(k)) {
    return Error(ErrorCode::kInternal, "blind_rsa: inverse does not fit the modulus length");
  }
  return out;
}

}  // namespace

std::string_view BlindRsaVariantName(BlindRsaVariant variant) {
  switch (variant) {
    case BlindRsaVariant::kSha384PssRandomized: return "RSABSSA-SHA384-PSS-Randomized";
    case BlindRsaVariant::kSha384PssZeroRandomized: return "RSABSSA-SHA384-PSSZERO-Randomized";
    case BlindRsaVariant::kSha384PssDeterministic: return "RSABSSA-SHA384-PSS-Deterministic";
    case BlindRsaVariant::kSha384PssZeroDeterministic: return "RSABSSA-SHA384-PSSZERO-Deterministic";
  }
  return "?";
}

size_t BlindRsaSaltLength(BlindRsaVariant variant) {
  return variant == BlindRsaVariant::kSha384PssRandomized ||
                 variant == BlindRsaVariant::kSha384PssDeterministic
             ? kPssSaltLength
             : 0;
}

bool BlindRsaIsRandomized(BlindRsaVariant variant) {
  return variant == BlindRsaVariant::kSha384PssRandomized ||
         variant == BlindRsaVariant::kSha384PssZeroRandomized;
}

// ---- public key ----

Result<BlindRsaPublicKey> BlindRsaPublicKey::FromBignums(BignumPtr n, BignumPtr e) {
  if (!n || !e) return OpenSslError("blind_rsa: key components");
  const size_t bits = static_cast<size_t>(BN_num_bits(n.get()));
  if (bits < kMinModulusBits || bits > kMaxModulusBits) {
    return Error(ErrorCode::kUnsupported, "blind_rsa: modulus of " + std::to_string(bits) +
                                              " bits is not in [2048, 4096]");
  }
  if (!BN_is_odd(n.get())) return Error(ErrorCode::kMalformed, "blind_rsa: modulus is even");
  if (!BN_is_odd(e.get()) || BN_cmp(e.get(), BN_value_one()) <= 0 ||
      BN_num_bits(e.get()) > 64 || BN_cmp(e.get(), n.get()) >= 0) {
    return Error(ErrorCode::kMalformed, "blind_rsa: public exponent is not an odd value in [3, 2^64)");
  }
  ParamBldPtr bld(OSSL_PARAM_BLD_new());
  if (!bld || OSSL_PARAM_BLD_push_BN(bld.get(), OSSL_PKEY_PARAM_RSA_N, n.get()) != 1 ||
      OSSL_PARAM_BLD_push_BN(bld.get(), OSSL_PKEY_PARAM_RSA_E, e.get()) != 1) {
    return OpenSslError("blind_rsa: key parameters");
  }
  ParamPtr params(OSSL_PARAM_BLD_to_param(bld.get()));
  EvpPkeyCtxPtr ctx(EVP_PKEY_CTX_new_from_name(nullptr, "RSA", nullptr));
  EVP_PKEY* raw = nullptr;
  if (!params || !ctx || EVP_PKEY_fromdata_init(ctx.get()) != 1 ||
      EVP_PKEY_fromdata(ctx.get(), &raw, EVP_PKEY_PUBLIC_KEY, params.get()) != 1) {
    return OpenSslError("blind_rsa: building public key");
  }
  BlindRsaPublicKey key;
  key.key_ = EvpPkeyPtr(raw);
  key.modulus_length_ = (bits + 7) / 8;
  key.spki_pss_ = SpkiWith(kRsaPssAlgorithm, n.get(), e.get());
  key.n_ = std::move(n);
  key.e_ = std::move(e);
  return key;
}

Result<BlindRsaPublicKey> BlindRsaPublicKey::FromComponents(ByteView n, ByteView e) {
  if (n.empty() || e.empty()) {
    return Error(ErrorCode::kInvalidArgument, "blind_rsa: empty modulus or exponent");
  }
  return FromBignums(BnFromBytes(n), BnFromBytes(e));
}

Result<BlindRsaPublicKey> BlindRsaPublicKey::FromSpki(ByteView der) {
  const unsigned char* p = der.data();
  EvpPkeyPtr parsed(d2i_PUBKEY(nullptr, &p, static_cast<long>(der.size())));
  if (!parsed) {
    ERR_clear_error();
    return Error(ErrorCode::kMalformed, "blind_rsa: public key is not an RSA SubjectPublicKeyInfo");
  }
  const bool pss = EVP_PKEY_is_a(parsed.get(), "RSA-PSS") == 1;
  if (!pss && EVP_PKEY_is_a(parsed.get(), "RSA") != 1) {
    return Error(ErrorCode::kUnsupported, "blind_rsa: public key is not an RSA key");
  }
  OPENPCC_ASSIGN_OR_RETURN(BignumPtr n, GetBnParam(parsed.get(), OSSL_PKEY_PARAM_RSA_N));
  OPENPCC_ASSIGN_OR_RETURN(BignumPtr e, GetBnParam(parsed.get(), OSSL_PKEY_PARAM_RSA_E));
  // Strictness without a second DER parser: the input must be exactly our canonical encoding of
  // the same key, which rules out trailing bytes, BER forms and any other PSS parameters.
  const Bytes canonical = pss ? SpkiWith(kRsaPssAlgorithm, n.get(), e.get())
                              : SpkiWith(kRsaEncryptionAlgorithm, n.get(), e.get());
  if (!std::equal(canonical.begin(), canonical.end(), der.begin(), der.end())) {
    return Error(ErrorCode::kMalformed,
                 pss ? "blind_rsa: RSASSA-PSS public key is not DER with parameters SHA-384, "
                       "MGF1-SHA-384, salt 48"
                     : "blind_rsa: rsaEncryption public key is not canonical DER");
  }
  return FromBignums(std::move(n), std::move(e));
}

BlindRsaPublicKey BlindRsaPublicKey::Clone() const {
  BlindRsaPublicKey copy;
  EVP_PKEY_up_ref(key_.get());
  copy.key_ = EvpPkeyPtr(key_.get());
  copy.n_ = BignumPtr(BN_dup(n_.get()));
  copy.e_ = BignumPtr(BN_dup(e_.get()));
  copy.modulus_length_ = modulus_length_;
  copy.spki_pss_ = spki_pss_;
  return copy;
}

Bytes BlindRsaPublicKey::SpkiRsaEncryption() const {
  return SpkiWith(kRsaEncryptionAlgorithm, n_.get(), e_.get());
}

size_t BlindRsaPublicKey::modulus_bits() const { return static_cast<size_t>(BN_num_bits(n_.get())); }

Bytes BlindRsaPublicKey::ModulusBytes() const {
  Bytes out(static_cast<size_t>(BN_num_bytes(n_.get())));
  BN_bn2bin(n_.get(), out.data());
  return out;
}

Bytes BlindRsaPublicKey::ExponentBytes() const {
  Bytes out(static_cast<size_t>(BN_num_bytes(e_.get())));
  BN_bn2bin(e_.get(), out.data());
  return out;
}

// ---- private key ----

Result<BlindRsaPrivateKey> BlindRsaPrivateKey::FromEvp(EvpPkeyPtr key) {
  if (EVP_PKEY_is_a(key.get(), "RSA-PSS") == 1) {
    // An RSA-PSS key refuses raw (unpadded) operations; re-home its components in a plain RSA key.
    OSSL_PARAM* raw_params = nullptr;
    if (EVP_PKEY_todata(key.get(), EVP_PKEY_KEYPAIR, &raw_params) != 1) {
      return OpenSslError("blind_rsa: exporting RSA-PSS key");
    }
    ParamPtr params(raw_params);
    EvpPkeyCtxPtr ctx(EVP_PKEY_CTX_new_from_name(nullptr, "RSA", nullptr));
    EVP_PKEY* rebuilt = nullptr;
    if (!ctx || EVP_PKEY_fromdata_init(ctx.get()) != 1 ||
        EVP_PKEY_fromdata(ctx.get(), &rebuilt, EVP_PKEY_KEYPAIR, params.get()) != 1) {
      return OpenSslError("blind_rsa: rebuilding RSA-PSS key as RSA");
    }
    key = EvpPkeyPtr(rebuilt);
  } else if (EVP_PKEY_is_a(key.get(), "RSA") != 1) {
    return Error(ErrorCode::kUnsupported, "blind_rsa: private key is not an RSA key");
  }
  EvpPkeyCtxPtr check(CtxFor(key.get()));
  if (!check || EVP_PKEY_pairwise_check(check.get()) != 1) {
    ERR_clear_error();
    return Error(ErrorCode::kMalformed, "blind_rsa: private key fails its pairwise check");
  }
  OPENPCC_ASSIGN_OR_RETURN(BignumPtr n, GetBnParam(key.get(), OSSL_PKEY_PARAM_RSA_N));
  OPENPCC_ASSIGN_OR_RETURN(BignumPtr e, GetBnParam(key.get(), OSSL_PKEY_PARAM_RSA_E));
  OPENPCC_ASSIGN_OR_RETURN(BlindRsaPublicKey pub,
                           BlindRsaPublicKey::FromBignums(std::move(n), std::move(e)));
  return BlindRsaPrivateKey(std::move(key), std::move(pub));
}

Result<BlindRsaPrivateKey> BlindRsaPrivateKey::Generate(size_t bits) {
  if (bits < kMinModulusBits || bits > kMaxModulusBits) {
    return Error(ErrorCode::kInvalidArgument, "blind_rsa: key size " + std::to_string(bits) +
                                                  " bits is not in [2048, 4096]");
  }
  EvpPkeyCtxPtr ctx(EVP_PKEY_CTX_new_from_name(nullptr, "RSA", nullptr));
  EVP_PKEY* raw = nullptr;
  if (!ctx || EVP_PKEY_keygen_init(ctx.get()) != 1 ||
      EVP_PKEY_CTX_set_rsa_keygen_bits(ctx.get(), static_cast<int>(bits)) != 1 ||
      EVP_PKEY_keygen(ctx.get(), &raw) != 1) {
    return OpenSslError("blind_rsa: key generation");
  }
  return FromEvp(EvpPkeyPtr(raw));
}

Result<BlindRsaPrivateKey> BlindRsaPrivateKey::FromPkcs8(ByteView der_or_pem) {
  constexpr std::string_view kPemStart = "-----BEGIN PRIVATE KEY-----";
  EVP_PKEY* raw = nullptr;
  if (AsChars(der_or_pem).substr(0, kPemStart.size()) == kPemStart) {
    BioPtr bio(BIO_new_mem_buf(der_or_pem.data(), static_cast<int>(der_or_pem.size())));
    raw = bio ? PEM_read_bio_PrivateKey(bio.get(), nullptr, nullptr, nullptr) : nullptr;
  } else {
    const unsigned char* p = der_or_pem.data();
    raw = d2i_AutoPrivateKey(nullptr, &p, static_cast<long>(der_or_pem.size()));
    if (raw != nullptr && p != der_or_pem.data() + der_or_pem.size()) {
      EVP_PKEY_free(raw);
      return Error(ErrorCode::kMalformed, "blind_rsa: trailing bytes after the PKCS#8 private key");
    }
  }
  if (raw == nullptr) {
    ERR_clear_error();
    return Error(ErrorCode::kMalformed, "blind_rsa: not a PKCS#8 private key");
  }
  return FromEvp(EvpPkeyPtr(raw));
}

Result<BlindRsaPrivateKey> BlindRsaPrivateKey::FromComponents(ByteView n, ByteView e, ByteView d,
                                                              ByteView p, ByteView q) {
  BnCtxPtr ctx(BN_CTX_secure_new());
  BignumPtr bn_n = BnFromBytes(n), bn_e = BnFromBytes(e);
  BignumPtr bn_d(BN_secure_new()), bn_p(BN_secure_new()), bn_q(BN_secure_new());
  BignumPtr dmp1(BN_secure_new()), dmq1(BN_secure_new()), iqmp(BN_secure_new());
  BignumPtr p1(BN_secure_new()), q1(BN_secure_new());
  if (!ctx || !bn_n || !bn_e || !bn_d || !bn_p || !bn_q || !dmp1 || !dmq1 || !iqmp || !p1 || !q1 ||
      BN_bin2bn(d.data(), static_cast<int>(d.size()), bn_d.get()) == nullptr ||
      BN_bin2bn(p.data(), static_cast<int>(p.size()), bn_p.get()) == nullptr ||
      BN_bin2bn(q.data(), static_cast<int>(q.size()), bn_q.get()) == nullptr ||
      BN_sub(p1.get(), bn_p.get(), BN_value_one()) != 1 ||
      BN_sub(q1.get(), bn_q.get(), BN_value_one()) != 1 ||
      BN_mod(dmp1.get(), bn_d.get(), p1.get(), ctx.get()) != 1 ||
      BN_mod(dmq1.get(), bn_d.get(), q1.get(), ctx.get()) != 1 ||
      BN_mod_inverse(iqmp.get(), bn_q.get(), bn_p.get(), ctx.get()) == nullptr) {
    ERR_clear_error();
    return Error(ErrorCode::kMalformed, "blind_rsa: private key components are inconsistent");
  }
  ParamBldPtr bld(OSSL_PARAM_BLD_new());
  if (!bld || OSSL_PARAM_BLD_push_BN(bld.get(), OSSL_PKEY_PARAM_RSA_N, bn_n.get()) != 1 ||
      OSSL_PARAM_BLD_push_BN(bld.get(), OSSL_PKEY_PARAM_RSA_E, bn_e.get()) != 1 ||
      OSSL_PARAM_BLD_push_BN(bld.get(), OSSL_PKEY_PARAM_RSA_D, bn_d.get()) != 1 ||
      OSSL_PARAM_BLD_push_BN(bld.get(), OSSL_PKEY_PARAM_RSA_FACTOR1, bn_p.get()) != 1 ||
      OSSL_PARAM_BLD_push_BN(bld.get(), OSSL_PKEY_PARAM_RSA_FACTOR2, bn_q.get()) != 1 ||
      OSSL_PARAM_BLD_push_BN(bld.get(), OSSL_PKEY_PARAM_RSA_EXPONENT1, dmp1.get()) != 1 ||
      OSSL_PARAM_BLD_push_BN(bld.get(), OSSL_PKEY_PARAM_RSA_EXPONENT2, dmq1.get()) != 1 ||
      OSSL_PARAM_BLD_push_BN(bld.get(), OSSL_PKEY_PARAM_RSA_COEFFICIENT1, iqmp.get()) != 1) {
    return OpenSslError("blind_rsa: private key parameters");
  }
  // Secret components come from secure BIGNUMs, so OSSL_PARAM_BLD places them in the block that
  // OSSL_PARAM_free clears.
  ParamPtr params(OSSL_PARAM_BLD_to_param(bld.get()));
  EvpPkeyCtxPtr pctx(EVP_PKEY_CTX_new_from_name(nullptr, "RSA", nullptr));
  EVP_PKEY* raw = nullptr;
  const bool built = params && pctx && EVP_PKEY_fromdata_init(pctx.get()) == 1 &&
                     EVP_PKEY_fromdata(pctx.get(), &raw, EVP_PKEY_KEYPAIR, params.get()) == 1;
  if (!built) return OpenSslError("blind_rsa: building private key");
  return FromEvp(EvpPkeyPtr(raw));
}

Result<SecretBytes> BlindRsaPrivateKey::ToPkcs8Der() const {
  EncoderCtxPtr enc(OSSL_ENCODER_CTX_new_for_pkey(key_.get(), EVP_PKEY_KEYPAIR, "DER",
                                                  "PrivateKeyInfo", nullptr));
  unsigned char* data = nullptr;
  size_t length = 0;
  if (!enc || OSSL_ENCODER_to_data(enc.get(), &data, &length) != 1) {
    return OpenSslError("blind_rsa: PKCS#8 encoding");
  }
  SecretBytes out(ByteView(data, length));
  OPENSSL_clear_free(data, length);
  return out;
}

// ---- protocol ----

Bytes BlindRsaPrepare(BlindRsaVariant variant, ByteView msg) {
  if (!BlindRsaIsRandomized(variant)) return ToBytes(msg);
  Bytes prefix(kBlindRsaPrefixLength);
  RandomBytes(prefix);
  return Concat(prefix, msg);
}

Bytes BlindRsaPrepareForTesting(BlindRsaVariant variant, ByteView msg, ByteView prefix) {
  if (!BlindRsaIsRandomized(variant)) return ToBytes(msg);
  return Concat(prefix, msg);
}

Result<BlindRsaBlinding> BlindRsaBlind(BlindRsaVariant variant, const BlindRsaPublicKey& key,
                                       ByteView prepared_msg) {
  Bytes salt(BlindRsaSaltLength(variant));
  RandomBytes(salt);
  return Blind(variant, key, prepared_msg, salt, {}, {});
}

Result<BlindRsaBlinding> BlindRsaBlindForTesting(BlindRsaVariant variant,
                                                 const BlindRsaPublicKey& key,
                                                 ByteView prepared_msg,
                                                 const BlindRsaTestingValues& values) {
  if (values.r.empty() == values.inv.empty()) {
    return Error(ErrorCode::kInvalidArgument, "blind_rsa: give exactly one of r and inv");
  }
  return Blind(variant, key, prepared_msg, values.salt, values.r, values.inv);
}

Result<Bytes> BlindRsaBlindSign(const BlindRsaPrivateKey& key, ByteView blinded_msg) {
  const BlindRsaPublicKey& pub = key.public_key();
  const size_t k = pub.modulus_length();
  if (blinded_msg.size() != k) {
    return Error(ErrorCode::kMalformed, "blind_rsa: blinded message is " +
                                            std::to_string(blinded_msg.size()) +
                                            " bytes, expected " + std::to_string(k));
  }
  BignumPtr m = BnFromBytes(blinded_msg);
  if (!m) return OpenSslError("blind_rsa: blinded message");
  if (BN_cmp(m.get(), pub.n()) >= 0) {
    return Error(ErrorCode::kMalformed, "blind_rsa: blinded message is not below the modulus");
  }
  EvpPkeyCtxPtr ctx = CtxFor(key.evp());
  Bytes sig(k);
  size_t sig_length = sig.size();
  if (!ctx || EVP_PKEY_sign_init(ctx.get()) != 1 ||
      EVP_PKEY_CTX_set_rsa_padding(ctx.get(), RSA_NO_PADDING) != 1 ||
      EVP_PKEY_sign(ctx.get(), sig.data(), &sig_length, blinded_msg.data(), k) != 1 ||
      sig_length != k) {
    return OpenSslError("blind_rsa: RSASP1");
  }
  // RFC 9474 §4.3: check s^e == m before releasing s, so a fault in the private operation (which
  // could reveal the key) never leaves the signer.
  BnCtxPtr bn_ctx(BN_CTX_new());
  BignumPtr s = BnFromBytes(sig);
  BignumPtr check(BN_new());
  if (!bn_ctx || !s || !check ||
      BN_mod_exp(check.get(), s.get(), pub.e(), pub.n(), bn_ctx.get()) != 1) {
    return OpenSslError("blind_rsa: RSAVP1");
  }
  if (BN_cmp(check.get(), m.get()) != 0) {
    return Error(ErrorCode::kInternal, "blind_rsa: signing fault, signature does not verify");
  }
  return sig;
}

Result<Bytes> BlindRsaFinalize(BlindRsaVariant variant, const BlindRsaPublicKey& key,
                               ByteView prepared_msg, ByteView blind_sig, const SecretBytes& inv) {
  const size_t k = key.modulus_length();
  if (blind_sig.size() != k) {
    return Error(ErrorCode::kMalformed, "blind_rsa: blind signature is " +
                                            std::to_string(blind_sig.size()) +
                                            " bytes, expected " + std::to_string(k));
  }
  if (inv.size() != k) {
    return Error(ErrorCode::kInvalidArgument, "blind_rsa: inv is not modulus_length bytes");
  }
  BnCtxPtr ctx(BN_CTX_secure_new());
  BignumPtr z = BnFromBytes(blind_sig);
  BignumPtr r_inv(BN_secure_new());
  BignumPtr s(BN_new());
  if (!ctx || !z || !r_inv || !s ||
      BN_bin2bn(inv.data(), static_cast<int>(k), r_inv.get()) == nullptr ||
      BN_mod_mul(s.get(), z.get(), r_inv.get(), key.n(), ctx.get()) != 1) {
    return OpenSslError("blind_rsa: unblinding");
  }
  OPENPCC_ASSIGN_OR_RETURN(Bytes sig, I2osp(s.get(), k));
  Status verified = BlindRsaVerify(variant, key, prepared_msg, sig);
  if (!verified.ok()) {
    return Error(ErrorCode::kAuthenticationFailed,
                 "blind_rsa: finalized signature does not verify (the signer's answer is wrong)");
  }
  return sig;
}

Status BlindRsaVerify(BlindRsaVariant variant, const BlindRsaPublicKey& key, ByteView prepared_msg,
                      ByteView signature) {
  if (signature.size() != key.modulus_length()) {
    return Error(ErrorCode::kMalformed, "blind_rsa: signature is " +
                                            std::to_string(signature.size()) +
                                            " bytes, expected " +
                                            std::to_string(key.modulus_length()));
  }
  const Bytes digest = Sha384(prepared_msg);
  EvpPkeyCtxPtr ctx = CtxFor(key.evp());
  if (!ctx || EVP_PKEY_verify_init(ctx.get()) != 1 ||
      EVP_PKEY_CTX_set_rsa_padding(ctx.get(), RSA_PKCS1_PSS_PADDING) != 1 ||
      EVP_PKEY_CTX_set_signature_md(ctx.get(), EVP_sha384()) != 1 ||
      EVP_PKEY_CTX_set_rsa_mgf1_md(ctx.get(), EVP_sha384()) != 1 ||
      EVP_PKEY_CTX_set_rsa_pss_saltlen(ctx.get(), static_cast<int>(BlindRsaSaltLength(variant))) !=
          1) {
    return OpenSslError("blind_rsa: verifier setup");
  }
  const int rc = EVP_PKEY_verify(ctx.get(), signature.data(), signature.size(), digest.data(),
                                 digest.size());
  if (rc != 1) {
    ERR_clear_error();
    return Error(ErrorCode::kAuthenticationFailed,
                 "blind_rsa: RSASSA-PSS signature does not verify");
  }
  return OkStatus();
}

}  // namespace openpcc::crypto
