#include "openpcc/attest/tpm/credential.h"

#include <openssl/evp.h>
#include <openssl/rsa.h>
#include <openssl/x509v3.h>

#include <cstring>

#include "openpcc/attest/tpm/verify.h"
#include "openpcc/crypto/random.h"
#include "openpcc/wire/byte_writer.h"

namespace openpcc::attest::tpm {
namespace {

using crypto::OpenSslError;
using crypto::SecretBytes;

Result<SecretBytes> Hmac(crypto::HashId hash, ByteView key, ByteView data) {
  SecretBytes out(crypto::HashLength(hash));
  size_t length = 0;
  if (EVP_Q_mac(nullptr, "HMAC", nullptr, EVP_MD_get0_name(crypto::HashMd(hash)), nullptr,
                key.data(), key.size(), data.data(), data.size(), out.data(), out.size(),
                &length) == nullptr ||
      length != out.size()) {
    return OpenSslError("EVP_Q_mac(HMAC)");
  }
  return out;
}

Result<Bytes> RsaOaepEncrypt(const EVP_PKEY* key, crypto::HashId hash, std::string_view label,
                             ByteView plaintext) {
  crypto::EvpPkeyCtxPtr ctx(EVP_PKEY_CTX_new_from_pkey(nullptr, const_cast<EVP_PKEY*>(key), nullptr));
  if (!ctx || EVP_PKEY_encrypt_init(ctx.get()) != 1 ||
      EVP_PKEY_CTX_set_rsa_padding(ctx.get(), RSA_PKCS1_OAEP_PADDING) != 1 ||
      EVP_PKEY_CTX_set_rsa_oaep_md(ctx.get(), crypto::HashMd(hash)) != 1 ||
      EVP_PKEY_CTX_set_rsa_mgf1_md(ctx.get(), crypto::HashMd(hash)) != 1) {
    return OpenSslError("RSA-OAEP setup");
  }
  // The label is handed over to OpenSSL, which frees it with the context.
  auto* label_copy = static_cast<unsigned char*>(OPENSSL_malloc(label.size()));
  if (label_copy == nullptr) return OpenSslError("OPENSSL_malloc");
  std::memcpy(label_copy, label.data(), label.size());
  if (EVP_PKEY_CTX_set0_rsa_oaep_label(ctx.get(), label_copy, static_cast<int>(label.size())) != 1) {
    OPENSSL_free(label_copy);
    return OpenSslError("EVP_PKEY_CTX_set0_rsa_oaep_label");
  }
  size_t length = 0;
  if (EVP_PKEY_encrypt(ctx.get(), nullptr, &length, plaintext.data(), plaintext.size()) != 1) {
    return OpenSslError("EVP_PKEY_encrypt");
  }
  Bytes out(length);
  if (EVP_PKEY_encrypt(ctx.get(), out.data(), &length, plaintext.data(), plaintext.size()) != 1) {
    return OpenSslError("EVP_PKEY_encrypt");
  }
  out.resize(length);
  return out;
}

Result<Bytes> AesCfbEncrypt(ByteView key, ByteView plaintext) {
  const EVP_CIPHER* cipher = nullptr;
  switch (key.size()) {
    case 16: cipher = EVP_aes_128_cfb128(); break;
    case 24: cipher = EVP_aes_192_cfb128(); break;
    case 32: cipher = EVP_aes_256_cfb128(); break;
    default:
      return Error(ErrorCode::kUnsupported, "tpm: MakeCredential: AES key size is not 128/192/256");
  }
  crypto::EvpCipherCtxPtr ctx(EVP_CIPHER_CTX_new());
  uint8_t iv[16] = {0};
  Bytes out(plaintext.size());
  int length = 0, final_length = 0;
  if (!ctx || EVP_EncryptInit_ex(ctx.get(), cipher, nullptr, key.data(), iv) != 1 ||
      EVP_EncryptUpdate(ctx.get(), out.data(), &length, plaintext.data(),
                        static_cast<int>(plaintext.size())) != 1 ||
      EVP_EncryptFinal_ex(ctx.get(), out.data() + length, &final_length) != 1) {
    return OpenSslError("AES-CFB encrypt");
  }
  return out;
}

using X509ExtensionPtr =
    std::unique_ptr<X509_EXTENSION, crypto::OpenSslDeleter<X509_EXTENSION, X509_EXTENSION_free>>;

Status AddExtension(X509* cert, X509* issuer, int nid, const char* value) {
  X509V3_CTX ctx;
  X509V3_set_ctx_nodb(&ctx);
  X509V3_set_ctx(&ctx, issuer, cert, nullptr, nullptr, 0);
  X509ExtensionPtr ext(X509V3_EXT_conf_nid(nullptr, &ctx, nid, value));
  if (!ext || X509_add_ext(cert, ext.get(), -1) != 1) return OpenSslError("X509_add_ext");
  return OkStatus();
}

// Builds and signs a certificate. `issuer` null means self-signed.
Result<crypto::Certificate> IssueCertificate(const std::string& common_name, EVP_PKEY* subject_key,
                                             X509* issuer, EVP_PKEY* issuer_key, bool is_ca,
                                             std::chrono::sys_seconds not_before,
                                             std::chrono::sys_seconds not_after) {
  crypto::X509Ptr cert(X509_new());
  if (!cert || X509_set_version(cert.get(), X509_VERSION_3) != 1) return OpenSslError("X509_new");
  Bytes serial(16);
  crypto::RandomBytes(serial);
  serial[0] &= 0x7f;  // positive
  crypto::BignumPtr bn(BN_bin2bn(serial.data(), static_cast<int>(serial.size()), nullptr));
  if (!bn || BN_to_ASN1_INTEGER(bn.get(), X509_get_serialNumber(cert.get())) == nullptr) {
    return OpenSslError("serial number");
  }
  X509_NAME* name = X509_get_subject_name(cert.get());
  if (X509_NAME_add_entry_by_txt(name, "CN", MBSTRING_UTF8,
                                 reinterpret_cast<const unsigned char*>(common_name.c_str()), -1, -1,
                                 0) != 1) {
    return OpenSslError("X509_NAME_add_entry_by_txt");
  }
  X509_NAME* issuer_name = issuer != nullptr ? X509_get_subject_name(issuer) : name;
  if (X509_set_issuer_name(cert.get(), issuer_name) != 1 ||
      ASN1_TIME_set(X509_getm_notBefore(cert.get()),
                    static_cast<time_t>(not_before.time_since_epoch().count())) == nullptr ||
      ASN1_TIME_set(X509_getm_notAfter(cert.get()),
                    static_cast<time_t>(not_after.time_since_epoch().count())) == nullptr ||
      X509_set_pubkey(cert.get(), subject_key) != 1) {
    return OpenSslError("X509 fields");
  }
  X509* issuer_cert = issuer != nullptr ? issuer : cert.get();
  OPENPCC_RETURN_IF_ERROR(AddExtension(cert.get(), issuer_cert, NID_basic_constraints,
                                       is_ca ? "critical,CA:TRUE" : "critical,CA:FALSE"));
  OPENPCC_RETURN_IF_ERROR(AddExtension(cert.get(), issuer_cert, NID_key_usage,
                                       is_ca ? "critical,keyCertSign,cRLSign"
                                             : "critical,digitalSignature"));
  OPENPCC_RETURN_IF_ERROR(AddExtension(cert.get(), issuer_cert, NID_subject_key_identifier, "hash"));
  if (!is_ca) {
    OPENPCC_RETURN_IF_ERROR(
        AddExtension(cert.get(), issuer_cert, NID_authority_key_identifier, "keyid:always"));
  }
  if (X509_sign(cert.get(), issuer_key, EVP_sha256()) == 0) return OpenSslError("X509_sign");
  unsigned char* der = nullptr;
  int length = i2d_X509(cert.get(), &der);
  if (length <= 0) return OpenSslError("i2d_X509");
  Bytes bytes(der, der + length);
  OPENSSL_free(der);
  return crypto::Certificate::ParseDer(bytes);
}

}  // namespace

Result<SecretBytes> KdfA(crypto::HashId hash, ByteView key, std::string_view label,
                         ByteView context_u, ByteView context_v, size_t bits) {
  if (bits == 0 || bits % 8 != 0 || bits > 65536) {
    return Error(ErrorCode::kInvalidArgument, "tpm: KDFa: output size must be a positive multiple of 8 bits");
  }
  SecretBytes out;
  size_t want = bits / 8;
  for (uint32_t counter = 1; out.size() < want; ++counter) {
    wire::ByteWriter input;
    input.WriteU32(counter);
    input.WriteBytes(AsBytes(label));
    input.WriteU8(0);
    input.WriteBytes(context_u);
    input.WriteBytes(context_v);
    input.WriteU32(static_cast<uint32_t>(bits));
    OPENPCC_ASSIGN_OR_RETURN(SecretBytes block, Hmac(hash, key, input.view()));
    out.Append(block.view().first(std::min(block.size(), want - out.size())));
  }
  return out;
}

Result<CredentialChallenge> MakeCredential(const Public& ek, ByteView object_name,
                                           ByteView credential) {
  if (ek.type != alg::kRsa) {
    return Error(ErrorCode::kUnsupported, "tpm: MakeCredential: only RSA EKs are supported");
  }
  if ((ek.attributes & (attr::kRestricted | attr::kDecrypt)) != (attr::kRestricted | attr::kDecrypt) ||
      ek.symmetric != alg::kAes || ek.symmetric_mode != alg::kCfb) {
    return Error(ErrorCode::kInvalidArgument,
                 "tpm: MakeCredential: the EK is not a restricted decryption key with AES-CFB");
  }
  OPENPCC_ASSIGN_OR_RETURN(crypto::HashId hash, HashFromAlg(ek.name_alg));
  if (credential.size() > crypto::HashLength(hash)) {
    return Error(ErrorCode::kInvalidArgument,
                 "tpm: MakeCredential: the credential is longer than the EK's name digest");
  }
  OPENPCC_ASSIGN_OR_RETURN(crypto::EvpPkeyPtr ek_key, PublicKeyOf(ek));
  SecretBytes seed = crypto::RandomSecret(crypto::HashLength(hash));
  CredentialChallenge out;
  OPENPCC_ASSIGN_OR_RETURN(out.encrypted_secret,
                           RsaOaepEncrypt(ek_key.get(), hash, std::string_view("IDENTITY\0", 9),
                                          seed.view()));
  OPENPCC_ASSIGN_OR_RETURN(SecretBytes sym_key, KdfA(hash, seed.view(), "STORAGE", object_name, {},
                                                     ek.symmetric_key_bits));
  wire::ByteWriter plain;
  if (!plain.WriteU16Prefixed(credential)) {
    return Error(ErrorCode::kInvalidArgument, "tpm: MakeCredential: credential too long");
  }
  OPENPCC_ASSIGN_OR_RETURN(Bytes enc_identity, AesCfbEncrypt(sym_key.view(), plain.view()));
  OPENPCC_ASSIGN_OR_RETURN(SecretBytes hmac_key, KdfA(hash, seed.view(), "INTEGRITY", {}, {},
                                                      crypto::HashLength(hash) * 8));
  OPENPCC_ASSIGN_OR_RETURN(SecretBytes integrity,
                           Hmac(hash, hmac_key.view(), Concat(enc_identity, object_name)));
  wire::ByteWriter blob;
  if (!blob.WriteU16Prefixed(integrity.view())) {
    return Error(ErrorCode::kInternal, "tpm: MakeCredential: HMAC too long");
  }
  blob.WriteBytes(enc_identity);
  out.credential_blob = blob.Take();
  return out;
}

OperatorCa::OperatorCa(crypto::EvpPkeyPtr key, crypto::Certificate certificate)
    : key_(key.release(), EVP_PKEY_free), certificate_(std::move(certificate)) {}

Result<OperatorCa> OperatorCa::Generate(std::string common_name,
                                        std::chrono::sys_seconds not_before,
                                        std::chrono::sys_seconds not_after) {
  crypto::EvpPkeyPtr key(EVP_PKEY_Q_keygen(nullptr, nullptr, "EC", "P-256"));
  if (!key) return OpenSslError("EVP_PKEY_Q_keygen(P-256)");
  OPENPCC_ASSIGN_OR_RETURN(crypto::Certificate cert,
                           IssueCertificate(common_name, key.get(), nullptr, key.get(), true,
                                            not_before, not_after));
  return OperatorCa(std::move(key), std::move(cert));
}

Result<OperatorCa::Enrollment> OperatorCa::BeginEnrollment(
    const Public& ek, const crypto::Certificate& ek_certificate,
    std::span<const crypto::Certificate> ek_intermediates,
    std::span<const crypto::Certificate> ek_roots, std::chrono::sys_seconds at,
    const Public& ak) const {
  crypto::ChainPolicy chain;
  chain.at = at;
  OPENPCC_RETURN_IF_ERROR(
      crypto::VerifyChain("tpm: EK certificate", ek_certificate, ek_intermediates, ek_roots, chain));
  OPENPCC_ASSIGN_OR_RETURN(crypto::EvpPkeyPtr ek_key, PublicKeyOf(ek));
  if (EVP_PKEY_eq(ek_certificate.PublicKey(), ek_key.get()) != 1) {
    return Error(ErrorCode::kAuthenticationFailed,
                 "tpm: EK certificate: its public key is not the TPM's EK");
  }
  OPENPCC_ASSIGN_OR_RETURN(AttestationKey checked_ak, AttestationKey::FromTpmPublic(ak));
  (void)checked_ak;
  Enrollment enrollment;
  enrollment.ak = ak;
  OPENPCC_ASSIGN_OR_RETURN(enrollment.ak_name, ComputeName(ak));
  OPENPCC_ASSIGN_OR_RETURN(crypto::HashId hash, HashFromAlg(ek.name_alg));
  enrollment.expected_secret = crypto::RandomSecret(crypto::HashLength(hash));
  OPENPCC_ASSIGN_OR_RETURN(enrollment.challenge,
                           MakeCredential(ek, enrollment.ak_name, enrollment.expected_secret.view()));
  return enrollment;
}

Result<crypto::Certificate> OperatorCa::FinishEnrollment(const Enrollment& enrollment,
                                                         ByteView activated_secret,
                                                         std::chrono::sys_seconds not_before,
                                                         std::chrono::sys_seconds not_after) const {
  if (!crypto::ConstantTimeEqual(activated_secret, enrollment.expected_secret.view())) {
    return Error(ErrorCode::kAuthenticationFailed,
                 "tpm: AK enrollment: the activated credential is not the one the CA sent");
  }
  OPENPCC_ASSIGN_OR_RETURN(crypto::EvpPkeyPtr ak_key, PublicKeyOf(enrollment.ak));
  // CN holds at most 64 characters: the AK's Name digest, shortened to 128 bits.
  std::string name_hex = HexEncode(enrollment.ak_name);
  return IssueCertificate("openpcc AK " + name_hex.substr(4, 32), ak_key.get(),
                          certificate_.get(), key_.get(), false, not_before, not_after);
}

}  // namespace openpcc::attest::tpm
