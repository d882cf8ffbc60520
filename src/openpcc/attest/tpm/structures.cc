#include "openpcc/attest/tpm/structures.h"

#include <algorithm>

#include "openpcc/crypto/signature.h"
#include "openpcc/wire/byte_reader.h"
#include "openpcc/wire/byte_writer.h"

namespace openpcc::attest::tpm {
namespace {

using wire::ByteReader;

Error Truncated(std::string_view what) {
  return Error(ErrorCode::kTruncated, "tpm: " + std::string(what) + " is truncated");
}

// A TPM2B: u16 size then that many bytes.
bool ReadTpm2b(ByteReader& reader, Bytes* out) {
  ByteReader child;
  if (!reader.ReadU16Prefixed(&child)) return false;
  *out = ToBytes(child.rest());
  return true;
}

Status ReadTpm2bField(ByteReader& reader, std::string_view what, Bytes* out, size_t max_size) {
  if (!ReadTpm2b(reader, out)) return Truncated(what);
  if (out->size() > max_size) {
    return Error(ErrorCode::kOutOfRange, "tpm: " + std::string(what) + " is " +
                                             std::to_string(out->size()) + " bytes, at most " +
                                             std::to_string(max_size) + " allowed");
  }
  return OkStatus();
}

Status ExpectConsumed(const ByteReader& reader, std::string_view what) {
  if (!reader.empty()) {
    return Error(ErrorCode::kMalformed, "tpm: " + std::string(what) + " has " +
                                            std::to_string(reader.remaining()) +
                                            " trailing bytes");
  }
  return OkStatus();
}

// Largest Name / digest / data a TPM produces: a 2-byte algorithm and a SHA-512 digest.
constexpr size_t kMaxName = 2 + 64;
constexpr size_t kMaxDigest = 64;
constexpr size_t kMaxData = 128;        // TPM2B_DATA holds at most sizeof(TPMT_HA)
constexpr size_t kMaxRsaBytes = 512;    // RSA-4096
constexpr size_t kMaxEccCoordinate = 66;
constexpr uint32_t kMaxPcrBanks = 16;
constexpr uint8_t kMaxSizeofSelect = 32;  // up to 256 PCRs, far more than any TPM has

Status ReadPcrSelection(ByteReader& reader, std::vector<PcrSelection>* out) {
  uint32_t count = 0;
  if (!reader.ReadU32(&count)) return Truncated("TPML_PCR_SELECTION count");
  if (count > kMaxPcrBanks) {
    return Error(ErrorCode::kOutOfRange, "tpm: TPML_PCR_SELECTION count " + std::to_string(count) +
                                             " exceeds " + std::to_string(kMaxPcrBanks));
  }
  for (uint32_t i = 0; i < count; ++i) {
    PcrSelection selection;
    uint8_t size = 0;
    std::span<const uint8_t> bitmap;
    if (!reader.ReadU16(&selection.hash) || !reader.ReadU8(&size)) {
      return Truncated("TPMS_PCR_SELECTION");
    }
    if (size > kMaxSizeofSelect) {
      return Error(ErrorCode::kOutOfRange,
                   "tpm: TPMS_PCR_SELECTION sizeofSelect " + std::to_string(size) + " exceeds " +
                       std::to_string(kMaxSizeofSelect));
    }
    if (!reader.ReadBytes(size, &bitmap)) return Truncated("TPMS_PCR_SELECTION pcrSelect");
    for (size_t byte = 0; byte < bitmap.size(); ++byte) {
      for (uint32_t bit = 0; bit < 8; ++bit) {
        if ((bitmap[byte] >> bit) & 1u) {
          selection.pcrs.push_back(static_cast<uint32_t>(byte * 8) + bit);
        }
      }
    }
    if (AlgDigestSize(selection.hash) == 0) {
      return Error(ErrorCode::kUnsupported,
                   "tpm: PCR bank " + AlgName(selection.hash) + " is not a known hash");
    }
    for (const PcrSelection& earlier : *out) {
      if (earlier.hash == selection.hash) {
        return Error(ErrorCode::kMalformed,
                     "tpm: PCR bank " + AlgName(selection.hash) + " is selected twice");
      }
    }
    out->push_back(std::move(selection));
  }
  return OkStatus();
}

// TPMT_SYM_DEF_OBJECT.
Status ReadSymDefObject(ByteReader& reader, Public* pub) {
  if (!reader.ReadU16(&pub->symmetric)) return Truncated("TPMT_PUBLIC symmetric");
  if (pub->symmetric == alg::kNull) return OkStatus();
  if (!reader.ReadU16(&pub->symmetric_key_bits) || !reader.ReadU16(&pub->symmetric_mode)) {
    return Truncated("TPMT_PUBLIC symmetric details");
  }
  return OkStatus();
}

bool SchemeHasHash(uint16_t scheme) {
  switch (scheme) {
    case alg::kRsassa:
    case alg::kRsapss:
    case alg::kOaep:
    case alg::kEcdsa:
    case alg::kEcdh:
    case alg::kEcdaa:
    case alg::kSm2:
    case alg::kEcschnorr:
      return true;
    default:
      return false;
  }
}

// TPMT_RSA_SCHEME / TPMT_ECC_SCHEME.
Status ReadScheme(ByteReader& reader, Public* pub) {
  if (!reader.ReadU16(&pub->scheme)) return Truncated("TPMT_PUBLIC scheme");
  if (pub->scheme == alg::kNull || pub->scheme == alg::kRsaes) return OkStatus();
  if (!SchemeHasHash(pub->scheme)) {
    return Error(ErrorCode::kUnsupported, "tpm: TPMT_PUBLIC scheme " + AlgName(pub->scheme) +
                                              " is not supported");
  }
  if (!reader.ReadU16(&pub->scheme_hash)) return Truncated("TPMT_PUBLIC scheme hash");
  if (pub->scheme == alg::kEcdaa) {
    uint16_t count = 0;  // TPMS_SCHEME_ECDAA carries a commit count
    if (!reader.ReadU16(&count)) return Truncated("TPMT_PUBLIC ECDAA count");
  }
  return OkStatus();
}

}  // namespace

std::string AlgName(uint16_t id) {
  switch (id) {
    case alg::kRsa: return "rsa";
    case alg::kSha1: return "sha1";
    case alg::kHmac: return "hmac";
    case alg::kAes: return "aes";
    case alg::kKeyedHash: return "keyedhash";
    case alg::kSha256: return "sha256";
    case alg::kSha384: return "sha384";
    case alg::kSha512: return "sha512";
    case alg::kNull: return "null";
    case alg::kRsassa: return "rsassa";
    case alg::kRsaes: return "rsaes";
    case alg::kRsapss: return "rsapss";
    case alg::kOaep: return "oaep";
    case alg::kEcdsa: return "ecdsa";
    case alg::kEcdh: return "ecdh";
    case alg::kEcdaa: return "ecdaa";
    case alg::kEcc: return "ecc";
    case alg::kCfb: return "cfb";
    default: return HexU16(id);
  }
}

Result<crypto::HashId> HashFromAlg(uint16_t id) {
  switch (id) {
    case alg::kSha256: return crypto::HashId::kSha256;
    case alg::kSha384: return crypto::HashId::kSha384;
    case alg::kSha512: return crypto::HashId::kSha512;
    default:
      return Error(ErrorCode::kUnsupported,
                   "tpm: hash " + AlgName(id) + " is not supported (sha256, sha384, sha512 are)");
  }
}

size_t AlgDigestSize(uint16_t id) {
  switch (id) {
    case alg::kSha1: return 20;
    case alg::kSha256: return 32;
    case alg::kSha384: return 48;
    case alg::kSha512: return 64;
    default: return 0;
  }
}

Bytes EncodePcrSelection(std::span<const PcrSelection> selections) {
  wire::ByteWriter writer;
  writer.WriteU32(static_cast<uint32_t>(selections.size()));
  for (const PcrSelection& selection : selections) {
    uint32_t highest = 0;
    for (uint32_t pcr : selection.pcrs) highest = std::max(highest, pcr);
    size_t size = std::max<size_t>(3, highest / 8 + 1);
    Bytes bitmap(size, 0);
    for (uint32_t pcr : selection.pcrs) {
      bitmap[pcr / 8] = static_cast<uint8_t>(bitmap[pcr / 8] | (1u << (pcr % 8)));
    }
    writer.WriteU16(selection.hash);
    writer.WriteU8(static_cast<uint8_t>(size));
    writer.WriteBytes(bitmap);
  }
  return writer.Take();
}

Result<Attest> ParseAttest(ByteView bytes) {
  ByteReader reader(bytes);
  Attest attest;
  uint32_t magic = 0;
  if (!reader.ReadU32(&magic)) return Truncated("TPMS_ATTEST magic");
  if (magic != kTpmGeneratedValue) {
    return Error(ErrorCode::kMalformed,
                 "tpm: TPMS_ATTEST magic is not TPM_GENERATED_VALUE (0xff544347)");
  }
  if (!reader.ReadU16(&attest.type)) return Truncated("TPMS_ATTEST type");
  if (attest.type != kStAttestQuote && attest.type != kStAttestCreation) {
    return Error(ErrorCode::kUnsupported, "tpm: TPMS_ATTEST type " + HexU16(attest.type) +
                                              " is neither QUOTE (0x8018) nor CREATION (0x801a)");
  }
  OPENPCC_RETURN_IF_ERROR(
      ReadTpm2bField(reader, "TPMS_ATTEST qualifiedSigner", &attest.qualified_signer, kMaxName));
  OPENPCC_RETURN_IF_ERROR(
      ReadTpm2bField(reader, "TPMS_ATTEST extraData", &attest.extra_data, kMaxData));
  uint8_t safe = 0;
  if (!reader.ReadU64(&attest.clock_info.clock) || !reader.ReadU32(&attest.clock_info.reset_count) ||
      !reader.ReadU32(&attest.clock_info.restart_count) || !reader.ReadU8(&safe)) {
    return Truncated("TPMS_ATTEST clockInfo");
  }
  if (safe > 1) {
    return Error(ErrorCode::kMalformed, "tpm: TPMS_CLOCK_INFO safe is not a TPMI_YES_NO");
  }
  attest.clock_info.safe = safe == 1;
  if (!reader.ReadU64(&attest.firmware_version)) return Truncated("TPMS_ATTEST firmwareVersion");
  if (attest.type == kStAttestQuote) {
    QuoteInfo quote;
    OPENPCC_RETURN_IF_ERROR(ReadPcrSelection(reader, &quote.selections));
    OPENPCC_RETURN_IF_ERROR(
        ReadTpm2bField(reader, "TPMS_QUOTE_INFO pcrDigest", &quote.pcr_digest, kMaxDigest));
    attest.quote = std::move(quote);
  } else {
    CreationInfo creation;
    OPENPCC_RETURN_IF_ERROR(ReadTpm2bField(reader, "TPMS_CREATION_INFO objectName",
                                           &creation.object_name, kMaxName));
    OPENPCC_RETURN_IF_ERROR(ReadTpm2bField(reader, "TPMS_CREATION_INFO creationHash",
                                           &creation.creation_hash, kMaxDigest));
    attest.creation = std::move(creation);
  }
  OPENPCC_RETURN_IF_ERROR(ExpectConsumed(reader, "TPMS_ATTEST"));
  return attest;
}

Result<Signature> ParseSignature(ByteView bytes) {
  ByteReader reader(bytes);
  Signature sig;
  if (!reader.ReadU16(&sig.sig_alg)) return Truncated("TPMT_SIGNATURE sigAlg");
  switch (sig.sig_alg) {
    case alg::kRsassa:
    case alg::kRsapss:
      if (!reader.ReadU16(&sig.hash_alg)) return Truncated("TPMT_SIGNATURE hash");
      OPENPCC_RETURN_IF_ERROR(
          ReadTpm2bField(reader, "TPMT_SIGNATURE RSA signature", &sig.rsa_signature, kMaxRsaBytes));
      break;
    case alg::kEcdsa:
      if (!reader.ReadU16(&sig.hash_alg)) return Truncated("TPMT_SIGNATURE hash");
      OPENPCC_RETURN_IF_ERROR(
          ReadTpm2bField(reader, "TPMT_SIGNATURE ECDSA r", &sig.ecc_r, kMaxEccCoordinate));
      OPENPCC_RETURN_IF_ERROR(
          ReadTpm2bField(reader, "TPMT_SIGNATURE ECDSA s", &sig.ecc_s, kMaxEccCoordinate));
      break;
    default:
      return Error(ErrorCode::kUnsupported, "tpm: TPMT_SIGNATURE sigAlg " + AlgName(sig.sig_alg) +
                                                " is not supported (rsassa, rsapss, ecdsa are)");
  }
  OPENPCC_RETURN_IF_ERROR(ExpectConsumed(reader, "TPMT_SIGNATURE"));
  return sig;
}

Result<Public> ParsePublic(ByteView bytes) {
  ByteReader reader(bytes);
  Public pub;
  if (!reader.ReadU16(&pub.type) || !reader.ReadU16(&pub.name_alg) ||
      !reader.ReadU32(&pub.attributes)) {
    return Truncated("TPMT_PUBLIC header");
  }
  if (pub.type != alg::kRsa && pub.type != alg::kEcc) {
    return Error(ErrorCode::kUnsupported, "tpm: TPMT_PUBLIC type " + AlgName(pub.type) +
                                              " is not supported (rsa, ecc are)");
  }
  OPENPCC_RETURN_IF_ERROR(
      ReadTpm2bField(reader, "TPMT_PUBLIC authPolicy", &pub.auth_policy, kMaxDigest));
  OPENPCC_RETURN_IF_ERROR(ReadSymDefObject(reader, &pub));
  OPENPCC_RETURN_IF_ERROR(ReadScheme(reader, &pub));
  if (pub.type == alg::kRsa) {
    if (!reader.ReadU16(&pub.rsa_key_bits) || !reader.ReadU32(&pub.rsa_exponent)) {
      return Truncated("TPMS_RSA_PARMS");
    }
    OPENPCC_RETURN_IF_ERROR(
        ReadTpm2bField(reader, "TPMT_PUBLIC RSA modulus", &pub.rsa_modulus, kMaxRsaBytes));
  } else {
    if (!reader.ReadU16(&pub.curve) || !reader.ReadU16(&pub.kdf)) {
      return Truncated("TPMS_ECC_PARMS");
    }
    if (pub.kdf != alg::kNull && !reader.ReadU16(&pub.kdf_hash)) {
      return Truncated("TPMS_ECC_PARMS kdf hash");
    }
    OPENPCC_RETURN_IF_ERROR(
        ReadTpm2bField(reader, "TPMT_PUBLIC ECC x", &pub.ecc_x, kMaxEccCoordinate));
    OPENPCC_RETURN_IF_ERROR(
        ReadTpm2bField(reader, "TPMT_PUBLIC ECC y", &pub.ecc_y, kMaxEccCoordinate));
  }
  OPENPCC_RETURN_IF_ERROR(ExpectConsumed(reader, "TPMT_PUBLIC"));
  pub.encoded = ToBytes(bytes);
  return pub;
}

Result<Public> ParsePublicOrSized(ByteView bytes) {
  ByteReader reader(bytes);
  uint16_t size = 0;
  // A TPM2B_PUBLIC is a size equal to the rest of the input, then a TPMT_PUBLIC. The two forms
  // could coincide only for a 37-byte ECC TPMT_PUBLIC (type 0x0023 read as a size); the sized
  // reading is taken when its content parses.
  if (reader.ReadU16(&size) && size == reader.remaining()) {
    Result<Public> inner = ParsePublic(reader.rest());
    if (inner.ok()) return inner;
  }
  return ParsePublic(bytes);
}

Result<Bytes> ComputeName(const Public& pub) {
  OPENPCC_ASSIGN_OR_RETURN(crypto::HashId hash, HashFromAlg(pub.name_alg));
  wire::ByteWriter writer;
  writer.WriteU16(pub.name_alg);
  writer.WriteBytes(crypto::Digest(hash, pub.encoded));
  return writer.Take();
}

Result<crypto::EvpPkeyPtr> PublicKeyOf(const Public& pub) {
  if (pub.type == alg::kRsa) {
    uint32_t exponent = pub.rsa_exponent == 0 ? 65537 : pub.rsa_exponent;
    wire::ByteWriter e;
    e.WriteU32(exponent);
    if (pub.rsa_modulus.size() * 8 != pub.rsa_key_bits) {
      return Error(ErrorCode::kMalformed,
                   "tpm: TPMT_PUBLIC RSA modulus is " + std::to_string(pub.rsa_modulus.size() * 8) +
                       " bits, keyBits says " + std::to_string(pub.rsa_key_bits));
    }
    return crypto::RsaPublicKeyFromModulus(pub.rsa_modulus, e.view());
  }
  crypto::EcCurve curve;
  if (pub.curve == kEccNistP256) {
    curve = crypto::EcCurve::kP256;
  } else if (pub.curve == kEccNistP384) {
    curve = crypto::EcCurve::kP384;
  } else {
    return Error(ErrorCode::kUnsupported,
                 "tpm: ECC curve " + HexU16(pub.curve) + " is not supported (P-256, P-384 are)");
  }
  size_t length = crypto::EcCoordinateLength(curve);
  if (pub.ecc_x.size() > length || pub.ecc_y.size() > length) {
    return Error(ErrorCode::kMalformed, "tpm: TPMT_PUBLIC ECC coordinate is longer than the curve");
  }
  // TPMs may strip leading zero bytes of a coordinate.
  Bytes x(length - pub.ecc_x.size(), 0), y(length - pub.ecc_y.size(), 0);
  Append(x, pub.ecc_x);
  Append(y, pub.ecc_y);
  return crypto::EcPublicKeyFromCoordinates(curve, x, y);
}

Result<Bytes> P256UncompressedPoint(const Public& pub) {
  if (pub.type != alg::kEcc || pub.curve != kEccNistP256) {
    return Error(ErrorCode::kUnsupported, "tpm: the key is not an ECC P-256 key");
  }
  OPENPCC_ASSIGN_OR_RETURN(crypto::EvpPkeyPtr key, PublicKeyOf(pub));  // checks the point
  (void)key;
  Bytes point{0x04};
  Append(point, Bytes(32 - pub.ecc_x.size(), 0));
  Append(point, pub.ecc_x);
  Append(point, Bytes(32 - pub.ecc_y.size(), 0));
  Append(point, pub.ecc_y);
  return point;
}

Result<Bytes> PolicyPcrDigest(crypto::HashId hash, std::span<const PcrSelection> selections,
                              ByteView values) {
  wire::ByteWriter writer;
  writer.WriteZeros(crypto::HashLength(hash));
  writer.WriteU32(kCcPolicyPcr);
  writer.WriteBytes(EncodePcrSelection(selections));
  writer.WriteBytes(crypto::Digest(hash, values));
  return crypto::Digest(hash, writer.view());
}

}  // namespace openpcc::attest::tpm
