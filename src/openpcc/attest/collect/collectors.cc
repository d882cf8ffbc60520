#include "openpcc/attest/collect/collectors.h"

#include <fcntl.h>
#include <linux/sev-guest.h>
#include <openssl/pem.h>
#include <sys/ioctl.h>
#include <unistd.h>

#include <array>
#include <cerrno>
#include <cstdlib>
#include <cstring>
#include <fstream>
#include <system_error>

#include "openpcc/attest/snp/report.h"
#include "openpcc/crypto/x509.h"
#include "openpcc/wire/byte_reader.h"

namespace openpcc::attest::collect {
namespace {

// GUIDs of the GHCB certificate table, in RFC 4122 byte order.
struct CertGuid {
  std::string_view role;
  std::array<uint8_t, 16> guid;
};
constexpr std::array<CertGuid, 4> kCertGuids = {{
    {"vcek", {0x63, 0xda, 0x75, 0x8d, 0xe6, 0x64, 0x45, 0x64, 0xad, 0xc5, 0xf4, 0xb9, 0x3b, 0xe8, 0xac, 0xcd}},
    {"vlek", {0xa8, 0x07, 0x4b, 0xc2, 0xa2, 0x5a, 0x48, 0x3e, 0xaa, 0xe6, 0x39, 0xc0, 0x45, 0xa0, 0xb8, 0xa1}},
    {"ask", {0x4a, 0xb7, 0xb3, 0x79, 0xbb, 0xac, 0x4f, 0xe4, 0xa0, 0x2f, 0x05, 0xae, 0xf3, 0x27, 0xc7, 0x82}},
    {"ark", {0xc0, 0xb4, 0x06, 0xa4, 0xa8, 0x03, 0x49, 0x52, 0x97, 0x43, 0x3f, 0xb6, 0x01, 0x4c, 0xd0, 0xae}},
}};
constexpr size_t kMaxCertEntries = 64;

Error CollectError(std::string_view who, ErrorCode code, const std::string& message) {
  return Error(code, std::string(who) + ": " + message);
}

// Certificates as PEM text, concatenated (the form the SNP verifier's chain input takes).
Result<Bytes> ToPem(std::initializer_list<const Bytes*> ders) {
  std::string out;
  for (const Bytes* der : ders) {
    OPENPCC_ASSIGN_OR_RETURN(crypto::Certificate cert, crypto::Certificate::ParseOne(*der));
    crypto::BioPtr bio(BIO_new(BIO_s_mem()));
    if (!bio || PEM_write_bio_X509(bio.get(), cert.get()) != 1) return crypto::OpenSslError("PEM_write_bio_X509");
    char* data = nullptr;
    const long length = BIO_get_mem_data(bio.get(), &data);
    out.append(data, static_cast<size_t>(length));
  }
  return ToBytes(out);
}

struct PageBuffer {
  explicit PageBuffer(size_t bytes) : size(bytes), data(static_cast<uint8_t*>(std::aligned_alloc(4096, bytes))) {}
  ~PageBuffer() { std::free(data); }
  PageBuffer(const PageBuffer&) = delete;
  PageBuffer& operator=(const PageBuffer&) = delete;
  size_t size;
  uint8_t* data;
};

}  // namespace

Result<std::map<std::string, Bytes>> ParseSnpCertTable(ByteView table) {
  std::map<std::string, Bytes> out;
  wire::ByteReader entries(table);
  for (size_t i = 0;; ++i) {
    if (i > kMaxCertEntries) return Error(ErrorCode::kOutOfRange, "sev-snp: certificate table: too many entries");
    std::span<const uint8_t> guid;
    uint32_t offset = 0, length = 0;
    if (!entries.ReadBytes(16, &guid) || !entries.ReadU32Le(&offset) || !entries.ReadU32Le(&length)) {
      return Error(ErrorCode::kTruncated, "sev-snp: certificate table: entry " + std::to_string(i) + " is truncated");
    }
    const bool zero_guid = std::all_of(guid.begin(), guid.end(), [](uint8_t b) { return b == 0; });
    if (zero_guid && offset == 0 && length == 0) break;
    // Each certificate is read through its own bounds-checked reader over the whole table.
    wire::ByteReader body(table);
    std::span<const uint8_t> cert;
    if (!body.Skip(offset) || !body.ReadBytes(length, &cert)) {
      return Error(ErrorCode::kMalformed, "sev-snp: certificate table: entry " + std::to_string(i) +
                                              " points outside the table");
    }
    for (const CertGuid& known : kCertGuids) {
      if (std::equal(guid.begin(), guid.end(), known.guid.begin())) {
        out[std::string(known.role)] = ToBytes(cert);
      }
    }
  }
  return out;
}

Result<std::pair<Bytes, Bytes>> SnpCollector::FromDevice(ByteView report_data) {
  constexpr std::string_view kWho = "sev-guest";
  const int fd = ::open(options_.sev_guest_device.c_str(), O_RDWR | O_CLOEXEC);
  if (fd < 0) {
    return CollectError(kWho, ErrorCode::kUnsupported,
                        options_.sev_guest_device.string() + " cannot be opened (" + std::strerror(errno) +
                            "): not an SEV-SNP guest, or the sev-guest driver is not loaded");
  }
  struct Fd {
    int fd;
    ~Fd() { ::close(fd); }
  } guard{fd};
  size_t certs_size = 4 * 4096;
  for (int attempt = 0; attempt < 2; ++attempt) {
    PageBuffer certs(certs_size);
    if (certs.data == nullptr) return CollectError(kWho, ErrorCode::kInternal, "out of memory");
    std::memset(certs.data, 0, certs.size);
    snp_ext_report_req request{};
    std::copy(report_data.begin(), report_data.end(), request.data.user_data);
    request.data.vmpl = options_.vmpl;
    request.certs_address = reinterpret_cast<uint64_t>(certs.data);
    request.certs_len = static_cast<uint32_t>(certs.size);
    snp_report_resp response{};
    snp_guest_request_ioctl ioctl_request{};
    ioctl_request.msg_version = 1;
    ioctl_request.req_data = reinterpret_cast<uint64_t>(&request);
    ioctl_request.resp_data = reinterpret_cast<uint64_t>(&response);
    if (::ioctl(fd, SNP_GET_EXT_REPORT, &ioctl_request) != 0) {
      const uint64_t vmm_error = ioctl_request.exitinfo2 >> 32;
      if (vmm_error == 1 /* SNP_GUEST_VMM_ERR_INVALID_LEN */ && attempt == 0 && request.certs_len > certs_size &&
          request.certs_len <= (1u << 20)) {
        certs_size = (request.certs_len + 4095) / 4096 * 4096;
        continue;
      }
      return CollectError(kWho, ErrorCode::kFailedPrecondition,
                          std::string("SNP_GET_EXT_REPORT failed: ") + std::strerror(errno));
    }
    // MSG_REPORT_RSP: status u32, report_size u32, 24 reserved bytes, the report.
    wire::ByteReader reader(ByteView(response.data, sizeof(response.data)));
    uint32_t status = 0, size = 0;
    std::span<const uint8_t> report;
    if (!reader.ReadU32Le(&status) || !reader.ReadU32Le(&size) || !reader.Skip(24)) {
      return CollectError(kWho, ErrorCode::kTruncated, "response is truncated");
    }
    if (status != 0) return CollectError(kWho, ErrorCode::kFailedPrecondition, "firmware status " + std::to_string(status));
    if (size != snp::kReportSize || !reader.ReadBytes(size, &report)) {
      return CollectError(kWho, ErrorCode::kMalformed, "report size " + std::to_string(size) + " is not 0x4A0");
    }
    return std::make_pair(ToBytes(report), Bytes(certs.data, certs.data + certs.size));
  }
  return CollectError(kWho, ErrorCode::kFailedPrecondition, "certificate buffer too small twice");
}

Result<std::map<std::string, Bytes>> SnpCollector::Collect(ByteView report_data) {
  Bytes report, table;
  if (options_.interface == SnpCollectorOptions::Interface::kSevGuestDevice) {
    OPENPCC_ASSIGN_OR_RETURN(auto pair, FromDevice(report_data));
    report = std::move(pair.first);
    table = std::move(pair.second);
  } else {
    TsmRequest request = options_.tsm;
    if (!request.privlevel && options_.vmpl != 0) request.privlevel = options_.vmpl;
    OPENPCC_ASSIGN_OR_RETURN(TsmReport tsm, RequestTsmReport(request, report_data));
    report = std::move(tsm.outblob);
    table = std::move(tsm.auxblob);
  }
  if (report.size() != snp::kReportSize) {
    return Error(ErrorCode::kMalformed, "sev-snp: the report is " + std::to_string(report.size()) +
                                            " bytes, expected 1184");
  }
  std::map<std::string, Bytes> parts{{"report", std::move(report)}};
  if (options_.vek && options_.chain) {
    parts["vek"] = *options_.vek;
    parts["chain"] = *options_.chain;
    return parts;
  }
  if (table.empty()) {
    return Error(ErrorCode::kFailedPrecondition,
                 "sev-snp: the host provides no certificate table (auxblob), and no VEK and chain files "
                 "are configured");
  }
  OPENPCC_ASSIGN_OR_RETURN(auto certs, ParseSnpCertTable(table));
  const std::string vek = certs.contains("vcek") ? "vcek" : "vlek";
  for (const std::string& role : {vek, std::string("ask"), std::string("ark")}) {
    if (!certs.contains(role)) {
      return Error(ErrorCode::kFailedPrecondition,
                   "sev-snp: the host's certificate table has no " + (role == "vlek" ? std::string("VCEK or VLEK") : role));
    }
  }
  parts["vek"] = certs[vek];
  OPENPCC_ASSIGN_OR_RETURN(parts["chain"], ToPem({&certs["ask"], &certs["ark"]}));
  return parts;
}

Result<std::map<std::string, Bytes>> TdxCollector::Collect(ByteView report_data) {
  for (std::string_view name : {"tcb_info", "tcb_info_chain", "qe_identity", "qe_identity_chain"}) {
    if (!options_.collateral.contains(std::string(name))) {
      return Error(ErrorCode::kFailedPrecondition, "tdx: collateral '" + std::string(name) +
                                                       "' is not configured (fetch it from Intel PCS)");
    }
  }
  for (const auto& [name, bytes] : options_.collateral) {
    (void)bytes;
    if (name != "tcb_info" && name != "tcb_info_chain" && name != "qe_identity" && name != "qe_identity_chain" &&
        name != "pck_crl" && name != "pck_crl_chain" && name != "root_crl") {
      return Error(ErrorCode::kInvalidArgument, "tdx: unknown collateral part '" + name + "'");
    }
  }
  OPENPCC_ASSIGN_OR_RETURN(TsmReport tsm, RequestTsmReport(options_.tsm, report_data));
  std::map<std::string, Bytes> parts = options_.collateral;
  parts["quote"] = std::move(tsm.outblob);
  if (options_.event_log) {
    std::ifstream in(*options_.event_log, std::ios::binary);
    if (in) {
      Bytes log((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
      if (!log.empty()) parts["event_log"] = std::move(log);
    }
  }
  return parts;
}

Result<std::map<std::string, Bytes>> SimCollector::Collect(ByteView report_data) {
  if (!signer_) return Error(ErrorCode::kFailedPrecondition, "sim: no signer");
  OPENPCC_ASSIGN_OR_RETURN(sim::SimEvidence evidence, signer_->Report(report_data, measurement_));
  return std::map<std::string, Bytes>{{"report", std::move(evidence.report)},
                                      {"vek", std::move(evidence.vek_der)},
                                      {"chain", std::move(evidence.root_der)}};
}

Result<std::vector<NvidiaDeviceEvidence>> DriverNvidiaSource::Attest(ByteView nonce) {
  (void)nonce;
  std::error_code ec;
  if (!std::filesystem::exists(control_device_, ec)) {
    return Error(ErrorCode::kUnsupported, "nvidia: no driver attestation interface: " + control_device_.string() +
                                              " does not exist (no NVIDIA driver loaded)");
  }
  return Error(ErrorCode::kUnsupported,
               "nvidia: the driver is present, but this build has no NVML attestation backend; "
               "configure an NvidiaAttestationSource");
}

Result<std::vector<GpuEvidence>> NvidiaGpuCollector::Collect(ByteView nonce) {
  if (nonce.size() != 32) return Error(ErrorCode::kInvalidArgument, "nvidia: the nonce must be 32 bytes");
  if (!source_) return Error(ErrorCode::kFailedPrecondition, "nvidia: no attestation source");
  OPENPCC_ASSIGN_OR_RETURN(std::vector<NvidiaDeviceEvidence> devices, source_->Attest(nonce));
  if (devices.empty()) return Error(ErrorCode::kFailedPrecondition, "nvidia: no GPU in confidential-computing mode");
  std::vector<GpuEvidence> out;
  for (NvidiaDeviceEvidence& device : devices) {
    if (device.chain_der.empty()) return Error(ErrorCode::kMalformed, "nvidia: a device returned no certificate chain");
    out.push_back(GpuEvidence{"nvidia-spdm", std::move(device.report), std::move(device.chain_der)});
  }
  return out;
}

}  // namespace openpcc::attest::collect
