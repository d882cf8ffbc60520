#include "openpcc/attest/tdx/quote.h"

#include <string>

#include "openpcc/wire/byte_reader.h"

namespace openpcc::attest::tdx {
namespace {

using wire::ByteReader;

inline constexpr uint16_t kCertDataPckChain = 5;
inline constexpr uint16_t kCertDataQeReport = 6;
// Largest signature data accepted: a PCK chain is ~4 KB; this bounds allocation on hostile input.
inline constexpr uint32_t kMaxSignatureData = 64 * 1024;

Error Truncated(std::string_view field) {
  return Error(ErrorCode::kTruncated, "tdx: quote: truncated at " + std::string(field));
}

template <size_t N>
bool Copy(ByteReader& r, std::array<uint8_t, N>& out) {
  return r.CopyBytes(out);
}

Result<QuoteHeader> ParseHeader(ByteReader& r) {
  QuoteHeader h;
  if (!r.ReadU16Le(&h.version)) return Truncated("header version");
  if (h.version != 4 && h.version != 5) {
    return Error(ErrorCode::kUnsupported,
                 "tdx: quote: version " + std::to_string(h.version) + " (expected 4 or 5)");
  }
  if (!r.ReadU16Le(&h.attestation_key_type)) return Truncated("header attestation key type");
  if (h.attestation_key_type != kAttestationKeyEcdsaP256) {
    return Error(ErrorCode::kUnsupported,
                 "tdx: quote: attestation key type " + std::to_string(h.attestation_key_type) +
                     " (expected 2, ECDSA-P256)");
  }
  if (!r.ReadU32Le(&h.tee_type)) return Truncated("header tee type");
  if (h.tee_type != kTeeTypeTdx) {
    return Error(ErrorCode::kUnsupported,
                 "tdx: quote: TEE type " + std::to_string(h.tee_type) + " (expected 0x81, TDX)");
  }
  if (!r.ReadU16Le(&h.qe_svn) || !r.ReadU16Le(&h.pce_svn) || !Copy(r, h.qe_vendor_id) ||
      !Copy(r, h.user_data)) {
    return Truncated("header");
  }
  return h;
}

Result<TdReport> ParseTdReport(ByteReader& r, bool tdx15) {
  TdReport b;
  bool ok = Copy(r, b.tee_tcb_svn) && Copy(r, b.mr_seam) && Copy(r, b.mr_signer_seam) &&
            Copy(r, b.seam_attributes_raw) && Copy(r, b.td_attributes_raw) && Copy(r, b.xfam_raw) &&
            Copy(r, b.mr_td) && Copy(r, b.mr_config_id) && Copy(r, b.mr_owner) &&
            Copy(r, b.mr_owner_config);
  for (Mr48& rtmr : b.rtmr) ok = ok && Copy(r, rtmr);
  ok = ok && Copy(r, b.report_data);
  if (!ok) return Truncated("TD report body");
  // The attribute words are little-endian; re-read them from the copies through a reader.
  ByteReader sa(b.seam_attributes_raw), ta(b.td_attributes_raw), xf(b.xfam_raw);
  sa.ReadU64Le(&b.seam_attributes);
  ta.ReadU64Le(&b.td_attributes);
  xf.ReadU64Le(&b.xfam);
  if (tdx15) {
    Svn16 svn2{};
    Mr48 service{};
    if (!Copy(r, svn2) || !Copy(r, service)) return Truncated("TD report 1.5 fields");
    b.tee_tcb_svn2 = svn2;
    b.mr_service_td = service;
  }
  return b;
}

}  // namespace

Result<SgxReport> ParseSgxReport(ByteView bytes) {
  ByteReader r(bytes);
  SgxReport q;
  bool ok = Copy(r, q.cpu_svn) && r.ReadU32Le(&q.misc_select) && r.Skip(28) &&
            Copy(r, q.attributes) && Copy(r, q.mr_enclave) && r.Skip(32) && Copy(r, q.mr_signer) &&
            r.Skip(96) && r.ReadU16Le(&q.isv_prod_id) && r.ReadU16Le(&q.isv_svn) && r.Skip(60) &&
            Copy(r, q.report_data);
  if (!ok) return Truncated("QE report");
  if (!r.empty()) {
    return Error(ErrorCode::kMalformed, "tdx: quote: QE report is not 384 bytes");
  }
  return q;
}

Result<Quote> ParseQuote(ByteView bytes) {
  ByteReader r(bytes);
  Quote q;
  OPENPCC_ASSIGN_OR_RETURN(q.header, ParseHeader(r));
  bool tdx15 = false;
  size_t body_size = kTdReport10Size;
  if (q.header.version == 5) {
    uint16_t type = 0;
    uint32_t size = 0;
    if (!r.ReadU16Le(&type) || !r.ReadU32Le(&size)) return Truncated("v5 body descriptor");
    if (type == kBodyTypeTdx10) {
      body_size = kTdReport10Size;
    } else if (type == kBodyTypeTdx15) {
      body_size = kTdReport15Size;
      tdx15 = true;
    } else {
      return Error(ErrorCode::kUnsupported, "tdx: quote: v5 body type " + std::to_string(type) +
                                                " (expected 2, TDX 1.0, or 3, TDX 1.5)");
    }
    if (size != body_size) {
      return Error(ErrorCode::kMalformed, "tdx: quote: v5 body size " + std::to_string(size) +
                                              " does not match body type " + std::to_string(type) +
                                              " (expected " + std::to_string(body_size) + ")");
    }
    q.body_type = type;
  }
  ByteReader body;
  if (!r.ReadChild(body_size, &body)) return Truncated("TD report body");
  OPENPCC_ASSIGN_OR_RETURN(q.body, ParseTdReport(body, tdx15));
  size_t signed_length = bytes.size() - r.remaining();
  q.signed_region.assign(bytes.begin(), bytes.begin() + static_cast<std::ptrdiff_t>(signed_length));

  uint32_t sig_data_len = 0;
  if (!r.ReadU32Le(&sig_data_len)) return Truncated("signature data length");
  if (sig_data_len > kMaxSignatureData) {
    return Error(ErrorCode::kOutOfRange, "tdx: quote: signature data length " +
                                             std::to_string(sig_data_len) + " exceeds 64 KiB");
  }
  ByteReader sig;
  if (!r.ReadChild(sig_data_len, &sig)) return Truncated("signature data");
  q.trailing_bytes = r.remaining();

  if (!Copy(sig, q.signature) || !Copy(sig, q.attestation_key)) {
    return Truncated("quote signature and attestation key");
  }
  uint16_t cert_type = 0;
  uint32_t cert_size = 0;
  ByteReader cert;
  if (!sig.ReadU16Le(&cert_type) || !sig.ReadU32Le(&cert_size) || !sig.ReadChild(cert_size, &cert)) {
    return Truncated("certification data");
  }
  if (cert_type != kCertDataQeReport) {
    return Error(ErrorCode::kUnsupported, "tdx: quote: certification data type " +
                                              std::to_string(cert_type) +
                                              " (expected 6, QE report certification data)");
  }
  if (!sig.empty()) {
    return Error(ErrorCode::kMalformed, "tdx: quote: bytes after the certification data inside the "
                                        "signature data");
  }
  std::span<const uint8_t> qe_report;
  if (!cert.ReadBytes(kSgxReportSize, &qe_report)) return Truncated("QE report");
  q.qe_report_raw = ToBytes(qe_report);
  OPENPCC_ASSIGN_OR_RETURN(q.qe_report, ParseSgxReport(qe_report));
  if (!Copy(cert, q.qe_report_signature)) return Truncated("QE report signature");
  uint16_t auth_len = 0;
  std::span<const uint8_t> auth_data;
  if (!cert.ReadU16Le(&auth_len) || !cert.ReadBytes(auth_len, &auth_data)) {
    return Truncated("QE auth data");
  }
  q.qe_auth_data = ToBytes(auth_data);
  uint16_t inner_type = 0;
  uint32_t inner_size = 0;
  std::span<const uint8_t> chain;
  if (!cert.ReadU16Le(&inner_type) || !cert.ReadU32Le(&inner_size) ||
      !cert.ReadBytes(inner_size, &chain)) {
    return Truncated("PCK certification data");
  }
  if (inner_type != kCertDataPckChain) {
    return Error(ErrorCode::kUnsupported, "tdx: quote: nested certification data type " +
                                              std::to_string(inner_type) +
                                              " (expected 5, PCK certificate chain)");
  }
  if (!cert.empty()) {
    return Error(ErrorCode::kMalformed, "tdx: quote: bytes after the PCK certificate chain inside "
                                        "the QE report certification data");
  }
  // The PEM chain is NUL-terminated (and sometimes NUL-padded) by the quote generator.
  size_t pem_length = chain.size();
  while (pem_length > 0 && chain[pem_length - 1] == 0) --pem_length;
  q.pck_chain_pem = ToBytes(chain.first(pem_length));
  return q;
}

}  // namespace openpcc::attest::tdx
