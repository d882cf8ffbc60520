// attest/tpm/structures.h — the TPM 2.0 structures a verifier reads (TPM 2.0 Library Part 2):
// TPMS_ATTEST (quote and creation certification), TPMT_SIGNATURE, TPMT_PUBLIC (RSA and ECC) and
// TPML_PCR_SELECTION, plus what is computed from them without a TPM: an object's Name and the
// PolicyPCR policy digest.
//
// Everything here is parsing and pure computation: no I/O and no signature checks (quote.h does
// those). Input is untrusted and read through wire::ByteReader; TPM integers and TPM2B size
// prefixes are big-endian. Each parser requires its input to be consumed exactly. Parsed values
// keep the exact bytes they came from where something is computed over them (the signed TPMS_ATTEST,
// the hashed TPMT_PUBLIC).
//
// Thread safety: plain values and pure functions.
#pragma once

#include <cstdint>
#include <optional>
#include <span>
#include <string>
#include <vector>

#include "openpcc/crypto/hash.h"
#include "openpcc/crypto/openssl_ptr.h"
#include "openpcc/util/bytes.h"
#include "openpcc/util/result.h"

namespace openpcc::attest::tpm {

// TPM_ALG_ID values used here (Part 2 §6.3).
namespace alg {
inline constexpr uint16_t kRsa = 0x0001;
inline constexpr uint16_t kSha1 = 0x0004;
inline constexpr uint16_t kHmac = 0x0005;
inline constexpr uint16_t kAes = 0x0006;
inline constexpr uint16_t kKeyedHash = 0x0008;
inline constexpr uint16_t kXor = 0x000A;
inline constexpr uint16_t kSha256 = 0x000B;
inline constexpr uint16_t kSha384 = 0x000C;
inline constexpr uint16_t kSha512 = 0x000D;
inline constexpr uint16_t kNull = 0x0010;
inline constexpr uint16_t kRsassa = 0x0014;
inline constexpr uint16_t kRsaes = 0x0015;
inline constexpr uint16_t kRsapss = 0x0016;
inline constexpr uint16_t kOaep = 0x0017;
inline constexpr uint16_t kEcdsa = 0x0018;
inline constexpr uint16_t kEcdh = 0x0019;
inline constexpr uint16_t kEcdaa = 0x001A;
inline constexpr uint16_t kSm2 = 0x001B;
inline constexpr uint16_t kEcschnorr = 0x001C;
inline constexpr uint16_t kKdf1Sp800_56a = 0x0020;
inline constexpr uint16_t kEcc = 0x0023;
inline constexpr uint16_t kSymCipher = 0x0025;
inline constexpr uint16_t kCfb = 0x0043;
}  // namespace alg

// TPM_ECC_CURVE.
inline constexpr uint16_t kEccNistP256 = 0x0003;
inline constexpr uint16_t kEccNistP384 = 0x0004;

// TPM_GENERATED_VALUE: every TPMS_ATTEST a TPM signs starts with it, and a restricted signing key
// refuses to sign external data that does.
inline constexpr uint32_t kTpmGeneratedValue = 0xff544347;
// TPM_ST attestation types.
inline constexpr uint16_t kStAttestCertify = 0x8017;
inline constexpr uint16_t kStAttestQuote = 0x8018;
inline constexpr uint16_t kStAttestCreation = 0x801A;
// TPM_CC_PolicyPCR, hashed into PolicyPCR's policy digest.
inline constexpr uint32_t kCcPolicyPcr = 0x0000017F;

// TPMA_OBJECT bits (Part 2 §8.3).
namespace attr {
inline constexpr uint32_t kFixedTpm = 1u << 1;
inline constexpr uint32_t kStClear = 1u << 2;
inline constexpr uint32_t kFixedParent = 1u << 4;
inline constexpr uint32_t kSensitiveDataOrigin = 1u << 5;
inline constexpr uint32_t kUserWithAuth = 1u << 6;
inline constexpr uint32_t kAdminWithPolicy = 1u << 7;
inline constexpr uint32_t kNoDa = 1u << 10;
inline constexpr uint32_t kEncryptedDuplication = 1u << 11;
inline constexpr uint32_t kRestricted = 1u << 16;
inline constexpr uint32_t kDecrypt = 1u << 17;
inline constexpr uint32_t kSign = 1u << 18;
}  // namespace attr

// "sha256", "rsassa", "0x1234" for unknown ids: for messages and claims.
std::string AlgName(uint16_t alg);
// Hash algorithms this verifier computes (SHA-256/384/512). SHA-1 is a PCR bank whose values can be
// quoted, but nothing here hashes with it.
Result<crypto::HashId> HashFromAlg(uint16_t alg);
// Digest size of a TPM hash algorithm, including SHA-1 (20); 0 if unknown.
size_t AlgDigestSize(uint16_t alg);

// One bank of a TPML_PCR_SELECTION: the hash and the selected PCR indices, ascending.
struct PcrSelection {
  uint16_t hash = 0;
  std::vector<uint32_t> pcrs;
};
// Encodes a TPML_PCR_SELECTION with the minimal sizeofSelect of 3 (PCRs 0-23) or more if needed.
Bytes EncodePcrSelection(std::span<const PcrSelection> selections);

struct ClockInfo {
  uint64_t clock = 0;  // milliseconds the TPM has been powered since its last Clear
  uint32_t reset_count = 0;
  uint32_t restart_count = 0;
  bool safe = false;
};

struct QuoteInfo {
  std::vector<PcrSelection> selections;
  Bytes pcr_digest;
};

struct CreationInfo {
  Bytes object_name;
  Bytes creation_hash;
};

struct Attest {
  uint16_t type = 0;
  Bytes qualified_signer;
  Bytes extra_data;  // the qualifying data the caller passed to the TPM
  ClockInfo clock_info;
  uint64_t firmware_version = 0;
  std::optional<QuoteInfo> quote;        // type kStAttestQuote
  std::optional<CreationInfo> creation;  // type kStAttestCreation
};
// Parses a TPMS_ATTEST of type QUOTE or CREATION (others are refused as unsupported).
Result<Attest> ParseAttest(ByteView bytes);

struct Signature {
  uint16_t sig_alg = 0;   // kRsassa, kRsapss or kEcdsa
  uint16_t hash_alg = 0;
  Bytes rsa_signature;    // RSASSA / RSAPSS
  Bytes ecc_r, ecc_s;     // ECDSA
};
Result<Signature> ParseSignature(ByteView bytes);

struct Public {
  uint16_t type = 0;  // alg::kRsa or alg::kEcc
  uint16_t name_alg = 0;
  uint32_t attributes = 0;
  Bytes auth_policy;
  uint16_t symmetric = alg::kNull;  // TPMT_SYM_DEF_OBJECT (storage parents)
  uint16_t symmetric_key_bits = 0;
  uint16_t symmetric_mode = 0;
  uint16_t scheme = alg::kNull;  // signing or decryption scheme, kNull if the key allows any
  uint16_t scheme_hash = 0;
  // RSA
  uint16_t rsa_key_bits = 0;
  uint32_t rsa_exponent = 0;  // 0 means 65537
  Bytes rsa_modulus;
  // ECC
  uint16_t curve = 0;
  uint16_t kdf = alg::kNull;
  uint16_t kdf_hash = 0;
  Bytes ecc_x, ecc_y;
  // The exact TPMT_PUBLIC bytes, which the Name hashes.
  Bytes encoded;
};
// A TPMT_PUBLIC of an RSA or ECC key.
Result<Public> ParsePublic(ByteView bytes);
// A TPMT_PUBLIC or a TPM2B_PUBLIC (size-prefixed, as TPM2_CreatePrimary returns it).
Result<Public> ParsePublicOrSized(ByteView bytes);

// Name = nameAlg (2 bytes) || H_nameAlg(TPMT_PUBLIC) (Part 1 §16).
Result<Bytes> ComputeName(const Public& pub);
// The key as an OpenSSL public key (RSA with its exponent; ECC on P-256 or P-384).
Result<crypto::EvpPkeyPtr> PublicKeyOf(const Public& pub);
// The 65-byte uncompressed point of a P-256 key (its DHKEM(P-256) public key), with the
// coordinates left-padded to 32 bytes.
Result<Bytes> P256UncompressedPoint(const Public& pub);

// The policy digest PolicyPCR extends a session with, starting from the all-zero digest:
//   H(0^n || TPM_CC_PolicyPCR || TPML_PCR_SELECTION || H(PCR values in selection order)).
// `values` are the selected PCRs' values concatenated in selection order.
Result<Bytes> PolicyPcrDigest(crypto::HashId hash, std::span<const PcrSelection> selections,
                              ByteView values);

}  // namespace openpcc::attest::tpm
