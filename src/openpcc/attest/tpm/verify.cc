#include "openpcc/attest/tpm/verify.h"

#include <openssl/evp.h>

#include <boost/json/array.hpp>
#include <boost/json/value.hpp>

#include "openpcc/crypto/signature.h"

namespace openpcc::attest::tpm {
namespace {

std::string Trim(std::string_view s) {
  size_t begin = s.find_first_not_of(" \t\r");
  if (begin == std::string_view::npos) return "";
  size_t end = s.find_last_not_of(" \t\r");
  return std::string(s.substr(begin, end - begin + 1));
}

Result<uint16_t> BankFromName(std::string_view name) {
  if (name == "sha1") return alg::kSha1;
  if (name == "sha256") return alg::kSha256;
  if (name == "sha384") return alg::kSha384;
  if (name == "sha512") return alg::kSha512;
  return Error(ErrorCode::kMalformed, "tpm: PCR bank '" + std::string(name) + "' is not known");
}

uint16_t BankFromLength(size_t length) {
  switch (length) {
    case 20: return alg::kSha1;
    case 32: return alg::kSha256;
    case 48: return alg::kSha384;
    case 64: return alg::kSha512;
    default: return 0;
  }
}

Result<uint32_t> ParseIndex(std::string_view text, size_t line) {
  if (text.empty() || text.size() > 3) {
    return Error(ErrorCode::kMalformed, "tpm: PCR list line " + std::to_string(line) +
                                            ": PCR index is not a small number");
  }
  uint32_t value = 0;
  for (char c : text) {
    if (c < '0' || c > '9') {
      return Error(ErrorCode::kMalformed, "tpm: PCR list line " + std::to_string(line) +
                                              ": PCR index is not a number");
    }
    value = value * 10 + static_cast<uint32_t>(c - '0');
  }
  if (value > 255) {
    return Error(ErrorCode::kOutOfRange,
                 "tpm: PCR list line " + std::to_string(line) + ": PCR index exceeds 255");
  }
  return value;
}

boost::json::object ClockJson(const ClockInfo& clock) {
  boost::json::object out;
  out["clock_ms"] = clock.clock;
  out["reset_count"] = clock.reset_count;
  out["restart_count"] = clock.restart_count;
  out["safe"] = clock.safe;
  return out;
}

std::string Hex64(uint64_t value) {
  static constexpr char kDigits[] = "0123456789abcdef";
  std::string out = "0x";
  for (int shift = 60; shift >= 0; shift -= 4) {
    out += kDigits[(value >> shift) & 0xF];
  }
  return out;
}

boost::json::object AttributesJson(uint32_t attributes) {
  boost::json::object out;
  out["value"] = HexEncode(Bytes{static_cast<uint8_t>(attributes >> 24),
                                 static_cast<uint8_t>(attributes >> 16),
                                 static_cast<uint8_t>(attributes >> 8),
                                 static_cast<uint8_t>(attributes)});
  out["fixed_tpm"] = (attributes & attr::kFixedTpm) != 0;
  out["fixed_parent"] = (attributes & attr::kFixedParent) != 0;
  out["sensitive_data_origin"] = (attributes & attr::kSensitiveDataOrigin) != 0;
  out["user_with_auth"] = (attributes & attr::kUserWithAuth) != 0;
  out["admin_with_policy"] = (attributes & attr::kAdminWithPolicy) != 0;
  out["restricted"] = (attributes & attr::kRestricted) != 0;
  out["decrypt"] = (attributes & attr::kDecrypt) != 0;
  out["sign"] = (attributes & attr::kSign) != 0;
  return out;
}

boost::json::object PublicJson(const Public& pub) {
  boost::json::object out;
  out["type"] = AlgName(pub.type);
  out["name_alg"] = AlgName(pub.name_alg);
  Result<Bytes> name = ComputeName(pub);
  if (name.ok()) out["name"] = HexEncode(*name);
  out["attributes"] = AttributesJson(pub.attributes);
  out["auth_policy"] = HexEncode(pub.auth_policy);
  out["scheme"] = AlgName(pub.scheme);
  if (pub.scheme != alg::kNull && pub.scheme_hash != 0) out["scheme_hash"] = AlgName(pub.scheme_hash);
  if (pub.type == alg::kRsa) {
    out["rsa_bits"] = pub.rsa_key_bits;
  } else {
    out["curve"] = pub.curve == kEccNistP256 ? "p256" : pub.curve == kEccNistP384 ? "p384"
                                                                                   : HexU16(pub.curve);
  }
  return out;
}

boost::json::object PcrsJson(const PcrValues& pcrs) {
  boost::json::object out;
  for (const auto& [bank, values] : pcrs) {
    boost::json::object bank_json;
    for (const auto& [index, value] : values) bank_json[std::to_string(index)] = HexEncode(value);
    out[AlgName(bank)] = std::move(bank_json);
  }
  return out;
}

Status CheckAkShape(const Public& pub) {
  constexpr uint32_t kRequired = attr::kRestricted | attr::kSign | attr::kFixedTpm;
  if ((pub.attributes & kRequired) != kRequired) {
    return Error(ErrorCode::kAuthenticationFailed,
                 "tpm: AK attributes: the AK is not a restricted, fixedTPM signing key "
                 "(restricted|sign|fixedTPM required)");
  }
  if ((pub.attributes & attr::kDecrypt) != 0) {
    return Error(ErrorCode::kAuthenticationFailed,
                 "tpm: AK attributes: a restricted signing AK must not also decrypt");
  }
  return OkStatus();
}

}  // namespace

Result<PcrValues> ParsePcrValues(std::string_view text) {
  PcrValues values;
  size_t line_number = 0;
  while (!text.empty()) {
    size_t end = text.find('\n');
    std::string line = Trim(text.substr(0, end));
    text = end == std::string_view::npos ? std::string_view{} : text.substr(end + 1);
    ++line_number;
    if (line.empty() || line[0] == '#') continue;
    size_t space = line.find_first_of(" \t");
    if (space == std::string::npos) {
      return Error(ErrorCode::kMalformed, "tpm: PCR list line " + std::to_string(line_number) +
                                              ": expected 'INDEX HEX' or 'BANK:INDEX HEX'");
    }
    std::string_view key = std::string_view(line).substr(0, space);
    std::string hex = Trim(std::string_view(line).substr(space + 1));
    Result<Bytes> value = HexDecode(hex);
    if (!value.ok()) {
      return Error(ErrorCode::kMalformed,
                   "tpm: PCR list line " + std::to_string(line_number) + ": value is not hex");
    }
    uint16_t bank = 0;
    size_t colon = key.find(':');
    if (colon != std::string_view::npos) {
      OPENPCC_ASSIGN_OR_RETURN(bank, BankFromName(key.substr(0, colon)));
      key = key.substr(colon + 1);
      if (AlgDigestSize(bank) != value->size()) {
        return Error(ErrorCode::kMalformed, "tpm: PCR list line " + std::to_string(line_number) +
                                                ": value length does not match bank " +
                                                AlgName(bank));
      }
    } else {
      bank = BankFromLength(value->size());
      if (bank == 0) {
        return Error(ErrorCode::kMalformed, "tpm: PCR list line " + std::to_string(line_number) +
                                                ": value is not 20, 32, 48 or 64 bytes");
      }
    }
    OPENPCC_ASSIGN_OR_RETURN(uint32_t index, ParseIndex(key, line_number));
    if (!values[bank].emplace(index, std::move(value).value()).second) {
      return Error(ErrorCode::kMalformed, "tpm: PCR list line " + std::to_string(line_number) +
                                              ": PCR " + AlgName(bank) + ":" +
                                              std::to_string(index) + " is given twice");
    }
  }
  return values;
}

Result<Bytes> SelectedPcrValues(const PcrValues& values, std::span<const PcrSelection> selections) {
  Bytes out;
  for (const PcrSelection& selection : selections) {
    auto bank = values.find(selection.hash);
    for (uint32_t pcr : selection.pcrs) {
      if (bank == values.end() || bank->second.find(pcr) == bank->second.end()) {
        return Error(ErrorCode::kInvalidArgument, "tpm: PCR digest: quoted PCR " +
                                                      AlgName(selection.hash) + ":" +
                                                      std::to_string(pcr) + " has no value");
      }
      Append(out, bank->second.at(pcr));
    }
  }
  return out;
}

AttestationKey::AttestationKey(const AttestationKey& other)
    : key_(other.key_ ? (EVP_PKEY_up_ref(other.key_.get()), other.key_.get()) : nullptr),
      public_(other.public_),
      source_(other.source_) {}

AttestationKey& AttestationKey::operator=(const AttestationKey& other) {
  if (this != &other) *this = AttestationKey(other);
  return *this;
}

Result<AttestationKey> AttestationKey::FromTpmPublic(const Public& pub) {
  OPENPCC_RETURN_IF_ERROR(CheckAkShape(pub));
  OPENPCC_ASSIGN_OR_RETURN(crypto::EvpPkeyPtr key, PublicKeyOf(pub));
  return AttestationKey(std::move(key), pub, "tpmt_public");
}

Result<AttestationKey> AttestationKey::FromSpki(ByteView der_or_pem, std::string source) {
  OPENPCC_ASSIGN_OR_RETURN(crypto::EvpPkeyPtr key, crypto::ParsePublicKey(der_or_pem));
  return AttestationKey(std::move(key), std::nullopt, std::move(source));
}

AttestationKey AttestationKey::FromKey(crypto::EvpPkeyPtr key, std::string source) {
  return AttestationKey(std::move(key), std::nullopt, std::move(source));
}

Result<AttestationKey> AttestationKey::Parse(ByteView bytes) {
  // SPKI is a DER SEQUENCE (0x30) or PEM text; a TPMT_PUBLIC starts 0x00 (type or TPM2B size high
  // byte of a key under 12 KiB).
  if (!bytes.empty() && (bytes[0] == 0x30 || bytes[0] == '-')) return FromSpki(bytes);
  OPENPCC_ASSIGN_OR_RETURN(Public pub, ParsePublicOrSized(bytes));
  return FromTpmPublic(pub);
}

boost::json::object AttestationKey::ToJson() const {
  boost::json::object out;
  out["source"] = source_;
  if (public_) {
    out["public"] = PublicJson(*public_);
  }
  Result<Bytes> spki = crypto::EncodePublicKeyDer(key_.get());
  if (spki.ok()) out["spki_sha256"] = HexEncode(crypto::Sha256(*spki));
  return out;
}

Status VerifyAkCertificate(const AttestationKey& ak, const AkCertificatePolicy& policy) {
  crypto::ChainPolicy chain;
  chain.at = policy.at;
  OPENPCC_RETURN_IF_ERROR(crypto::VerifyChain("tpm: AK certificate", policy.certificate,
                                              policy.intermediates, policy.roots, chain));
  if (EVP_PKEY_eq(policy.certificate.PublicKey(), ak.key()) != 1) {
    return Error(ErrorCode::kAuthenticationFailed,
                 "tpm: AK certificate: its public key is not the AK (certificate subject " +
                     policy.certificate.Subject() + ")");
  }
  return OkStatus();
}

Status VerifyTpmSignature(std::string_view what, const AttestationKey& ak, ByteView signed_bytes,
                          const Signature& signature) {
  std::string prefix = "tpm: " + std::string(what) + " signature";
  if (ak.tpm_public() && ak.tpm_public()->scheme != alg::kNull) {
    const Public& pub = *ak.tpm_public();
    if (signature.sig_alg != pub.scheme || signature.hash_alg != pub.scheme_hash) {
      return Error(ErrorCode::kAuthenticationFailed,
                   prefix + ": scheme " + AlgName(signature.sig_alg) + "-" +
                       AlgName(signature.hash_alg) + " is not the AK's " + AlgName(pub.scheme) +
                       "-" + AlgName(pub.scheme_hash));
    }
  }
  Result<crypto::HashId> hash = HashFromAlg(signature.hash_alg);
  if (!hash.ok()) return Error(ErrorCode::kUnsupported, prefix + ": " + hash.error().message());
  int key_type = EVP_PKEY_get_base_id(ak.key());
  bool rsa_scheme = signature.sig_alg == alg::kRsassa || signature.sig_alg == alg::kRsapss;
  if (rsa_scheme != (key_type == EVP_PKEY_RSA)) {
    return Error(ErrorCode::kAuthenticationFailed,
                 prefix + ": scheme " + AlgName(signature.sig_alg) + " does not fit the AK's key type");
  }
  switch (signature.sig_alg) {
    case alg::kRsassa:
      return crypto::VerifyRsaPkcs1(prefix, ak.key(), *hash, signed_bytes, signature.rsa_signature);
    case alg::kRsapss:
      // TPMs choose the salt length (the digest length, or the largest that fits); any verifies.
      return crypto::VerifyRsaPss(prefix, ak.key(), *hash, signed_bytes, signature.rsa_signature,
                                  crypto::kPssSaltAuto);
    case alg::kEcdsa:
      return crypto::VerifyEcdsaRaw(prefix, ak.key(), *hash, signed_bytes, signature.ecc_r,
                                    signature.ecc_s);
    default:
      return Error(ErrorCode::kUnsupported, prefix + ": unsupported scheme");
  }
}

Result<QuoteClaims> VerifyQuote(ByteView attest_bytes, ByteView signature_bytes,
                                const PcrValues& pcrs, const AttestationKey& ak,
                                const QuotePolicy& policy) {
  QuoteClaims claims;
  OPENPCC_ASSIGN_OR_RETURN(claims.attest, ParseAttest(attest_bytes));
  OPENPCC_ASSIGN_OR_RETURN(claims.signature, ParseSignature(signature_bytes));
  if (policy.ak_certificate) {
    OPENPCC_RETURN_IF_ERROR(VerifyAkCertificate(ak, *policy.ak_certificate));
    claims.ak_certificate_subject = policy.ak_certificate->certificate.Subject();
    claims.ak_certificate_issuer = policy.ak_certificate->certificate.Issuer();
  }
  if (ak.tpm_public()) OPENPCC_RETURN_IF_ERROR(CheckAkShape(*ak.tpm_public()));
  OPENPCC_RETURN_IF_ERROR(VerifyTpmSignature("quote", ak, attest_bytes, claims.signature));
  if (!claims.attest.quote) {
    return Error(ErrorCode::kMalformed, "tpm: quote: TPMS_ATTEST is not of type QUOTE");
  }
  if (policy.expected_nonce) {
    if (claims.attest.extra_data != *policy.expected_nonce) {
      return Error(ErrorCode::kAuthenticationFailed,
                   "tpm: qualifying data: extraData (" + std::to_string(claims.attest.extra_data.size()) +
                       " bytes) is not the expected nonce (" +
                       std::to_string(policy.expected_nonce->size()) + " bytes)");
    }
    claims.nonce_checked = true;
  }
  const QuoteInfo& quote = *claims.attest.quote;
  OPENPCC_ASSIGN_OR_RETURN(Bytes selected, SelectedPcrValues(pcrs, quote.selections));
  OPENPCC_ASSIGN_OR_RETURN(crypto::HashId digest_hash, HashFromAlg(claims.signature.hash_alg));
  if (crypto::Digest(digest_hash, selected) != quote.pcr_digest) {
    return Error(ErrorCode::kAuthenticationFailed,
                 "tpm: PCR digest: " + AlgName(claims.signature.hash_alg) +
                     " over the given PCR values does not match the quoted pcrDigest");
  }
  for (const PcrSelection& selection : quote.selections) {
    for (uint32_t pcr : selection.pcrs) {
      claims.pcrs[selection.hash][pcr] = pcrs.at(selection.hash).at(pcr);
    }
  }
  claims.ak = ak.ToJson();
  return claims;
}

boost::json::object QuoteClaims::ToJson() const {
  boost::json::object out;
  out["type"] = "tpm-quote";
  out["pcrs"] = PcrsJson(pcrs);
  out["extra_data"] = HexEncode(attest.extra_data);
  out["nonce_checked"] = nonce_checked;
  out["clock"] = ClockJson(attest.clock_info);
  out["firmware_version"] = Hex64(attest.firmware_version);
  out["qualified_signer"] = HexEncode(attest.qualified_signer);
  if (attest.quote) out["pcr_digest"] = HexEncode(attest.quote->pcr_digest);
  boost::json::object sig;
  sig["scheme"] = AlgName(signature.sig_alg);
  sig["hash"] = AlgName(signature.hash_alg);
  out["signature"] = std::move(sig);
  out["ak"] = ak;
  if (ak_certificate_subject) {
    boost::json::object cert;
    cert["subject"] = *ak_certificate_subject;
    cert["issuer"] = ak_certificate_issuer.value_or("");
    out["ak_certificate"] = std::move(cert);
  }
  return out;
}

Result<CertifiedKey> VerifyCertifyCreation(ByteView attest_bytes, ByteView signature_bytes,
                                           ByteView certified_public, const AttestationKey& ak,
                                           const CreationPolicy& policy) {
  CertifiedKey out;
  OPENPCC_ASSIGN_OR_RETURN(out.attest, ParseAttest(attest_bytes));
  OPENPCC_ASSIGN_OR_RETURN(Signature signature, ParseSignature(signature_bytes));
  if (ak.tpm_public()) OPENPCC_RETURN_IF_ERROR(CheckAkShape(*ak.tpm_public()));
  OPENPCC_RETURN_IF_ERROR(VerifyTpmSignature("creation certification", ak, attest_bytes, signature));
  if (!out.attest.creation) {
    return Error(ErrorCode::kMalformed,
                 "tpm: creation certification: TPMS_ATTEST is not of type CREATION");
  }
  if (policy.expected_qualifying_data &&
      out.attest.extra_data != *policy.expected_qualifying_data) {
    return Error(ErrorCode::kAuthenticationFailed,
                 "tpm: creation certification: extraData is not the expected qualifying data");
  }
  OPENPCC_ASSIGN_OR_RETURN(out.key, ParsePublicOrSized(certified_public));
  OPENPCC_ASSIGN_OR_RETURN(out.name, ComputeName(out.key));
  if (out.name != out.attest.creation->object_name) {
    return Error(ErrorCode::kAuthenticationFailed,
                 "tpm: creation certification: objectName is not the Name of the certified key");
  }
  if ((out.key.attributes & policy.required_attributes) != policy.required_attributes) {
    return Error(ErrorCode::kAuthenticationFailed,
                 "tpm: certified key attributes: fixedTPM|fixedParent (and the other required "
                 "bits) are not all set");
  }
  if (policy.expected_auth_policy && out.key.auth_policy != *policy.expected_auth_policy) {
    return Error(ErrorCode::kAuthenticationFailed,
                 "tpm: certified key authPolicy is not the expected policy digest");
  }
  return out;
}

boost::json::object CertifiedKey::ToJson() const {
  boost::json::object out;
  out["type"] = "tpm-certified-key";
  out["key"] = PublicJson(key);
  out["name"] = HexEncode(name);
  out["extra_data"] = HexEncode(attest.extra_data);
  if (attest.creation) out["creation_hash"] = HexEncode(attest.creation->creation_hash);
  out["clock"] = ClockJson(attest.clock_info);
  out["firmware_version"] = Hex64(attest.firmware_version);
  Result<Bytes> point = P256UncompressedPoint(key);
  if (point.ok()) out["p256_public_key"] = HexEncode(*point);
  return out;
}

}  // namespace openpcc::attest::tpm
