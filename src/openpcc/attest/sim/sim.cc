#include "openpcc/attest/sim/sim.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <fstream>

#include <openssl/ec.h>
#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/x509v3.h>

#include "openpcc/attest/snp/report.h"
#include "openpcc/crypto/hash.h"
#include "openpcc/crypto/openssl_ptr.h"
#include "openpcc/crypto/random.h"

namespace openpcc::attest::sim {
namespace {

using crypto::EvpPkeyPtr;
using crypto::OpenSslDeleter;
using crypto::OpenSslError;
using X509NamePtr = std::unique_ptr<X509_NAME, OpenSslDeleter<X509_NAME, X509_NAME_free>>;
using X509ExtPtr = std::unique_ptr<X509_EXTENSION, OpenSslDeleter<X509_EXTENSION, X509_EXTENSION_free>>;
using EcdsaSigPtr = std::unique_ptr<ECDSA_SIG, OpenSslDeleter<ECDSA_SIG, ECDSA_SIG_free>>;

constexpr uint32_t kReportVersion = 3;

std::shared_ptr<EVP_PKEY> Share(EvpPkeyPtr key) {
  return std::shared_ptr<EVP_PKEY>(key.release(), EVP_PKEY_free);
}

Result<EvpPkeyPtr> NewP384Key() {
  EvpPkeyPtr key(EVP_PKEY_Q_keygen(nullptr, nullptr, "EC", "P-384"));
  if (!key) return OpenSslError("sim: EVP_PKEY_Q_keygen(P-384)");
  return key;
}

bool IsP384(const EVP_PKEY* key) {
  char group[32] = {};
  size_t length = 0;
  return EVP_PKEY_get_base_id(key) == EVP_PKEY_EC &&
         EVP_PKEY_get_utf8_string_param(key, "group", group, sizeof(group), &length) == 1 &&
         std::string_view(group, length) == "secp384r1";
}

Result<X509NamePtr> Name(std::string_view common_name) {
  X509NamePtr name(X509_NAME_new());
  if (!name) return OpenSslError("sim: X509_NAME_new");
  const std::string org(kSimRootOrganization);
  const std::string cn(common_name);
  if (X509_NAME_add_entry_by_txt(name.get(), "O", MBSTRING_UTF8,
                                 reinterpret_cast<const unsigned char*>(org.c_str()), -1, -1, 0) != 1 ||
      X509_NAME_add_entry_by_txt(name.get(), "CN", MBSTRING_UTF8,
                                 reinterpret_cast<const unsigned char*>(cn.c_str()), -1, -1, 0) != 1) {
    return OpenSslError("sim: X509_NAME_add_entry_by_txt");
  }
  return name;
}

Status AddExtension(X509* cert, X509* issuer, int nid, const char* value) {
  X509V3_CTX ctx;
  X509V3_set_ctx_nodb(&ctx);
  X509V3_set_ctx(&ctx, issuer, cert, nullptr, nullptr, 0);
  X509ExtPtr ext(X509V3_EXT_conf_nid(nullptr, &ctx, nid, value));
  if (!ext || X509_add_ext(cert, ext.get(), -1) != 1) return OpenSslError("sim: certificate extension");
  return OkStatus();
}

// One certificate: `subject_key` certified by `issuer_key` (self-signed when issuer is null).
Result<crypto::Certificate> MakeCertificate(std::string_view common_name, EVP_PKEY* subject_key,
                                            EVP_PKEY* issuer_key, const crypto::Certificate* issuer,
                                            bool ca, std::chrono::sys_seconds not_before,
                                            std::chrono::seconds lifetime) {
  crypto::X509Ptr cert(X509_new());
  if (!cert) return OpenSslError("sim: X509_new");
  Bytes serial(16);
  crypto::RandomBytes(serial);
  serial[0] &= 0x7F;  // a positive INTEGER
  crypto::BignumPtr bn(BN_bin2bn(serial.data(), static_cast<int>(serial.size()), nullptr));
  OPENPCC_ASSIGN_OR_RETURN(X509NamePtr subject, Name(common_name));
  const time_t start = static_cast<time_t>(not_before.time_since_epoch().count());
  const time_t end = start + static_cast<time_t>(lifetime.count());
  if (!bn || X509_set_version(cert.get(), 2) != 1 ||
      BN_to_ASN1_INTEGER(bn.get(), X509_get_serialNumber(cert.get())) == nullptr ||
      X509_set_subject_name(cert.get(), subject.get()) != 1 ||
      X509_set_issuer_name(cert.get(), issuer != nullptr ? X509_get_subject_name(issuer->get())
                                                         : subject.get()) != 1 ||
      ASN1_TIME_set(X509_getm_notBefore(cert.get()), start) == nullptr ||
      ASN1_TIME_set(X509_getm_notAfter(cert.get()), end) == nullptr ||
      X509_set_pubkey(cert.get(), subject_key) != 1) {
    return OpenSslError("sim: building the certificate");
  }
  X509* issuer_cert = issuer != nullptr ? issuer->get() : cert.get();
  OPENPCC_RETURN_IF_ERROR(AddExtension(cert.get(), issuer_cert, NID_basic_constraints,
                                       ca ? "critical,CA:TRUE" : "critical,CA:FALSE"));
  OPENPCC_RETURN_IF_ERROR(AddExtension(cert.get(), issuer_cert, NID_key_usage,
                                       ca ? "critical,keyCertSign,cRLSign" : "critical,digitalSignature"));
  OPENPCC_RETURN_IF_ERROR(AddExtension(cert.get(), issuer_cert, NID_subject_key_identifier, "hash"));
  if (issuer != nullptr) {
    OPENPCC_RETURN_IF_ERROR(
        AddExtension(cert.get(), issuer_cert, NID_authority_key_identifier, "keyid:always"));
  }
  if (X509_sign(cert.get(), issuer_key, EVP_sha384()) <= 0) return OpenSslError("sim: X509_sign");
  unsigned char* der = nullptr;
  const int length = i2d_X509(cert.get(), &der);
  if (length <= 0) return OpenSslError("sim: i2d_X509");
  Bytes out(der, der + length);
  OPENSSL_free(der);
  return crypto::Certificate::ParseDer(out);
}

Status CheckDeployment(std::string_view deployment) {
  if (deployment.empty() || deployment.size() > 64) {
    return Error(ErrorCode::kInvalidArgument, "sim: deployment name must be 1 to 64 characters");
  }
  for (char c : deployment) {
    if (c < 0x20 || c > 0x7E) {
      return Error(ErrorCode::kInvalidArgument, "sim: deployment name must be printable ASCII");
    }
  }
  return OkStatus();
}

Error FileError(const std::string& what) {
  return Error(ErrorCode::kFailedPrecondition, "sim: " + what + ": " + std::strerror(errno));
}

// Temporary file with `mode`, fsync, rename: a crash leaves the old file or the new one.
Status WriteFile(const std::filesystem::path& path, ByteView contents, mode_t mode) {
  const std::filesystem::path tmp = path.string() + ".tmp";
  ::unlink(tmp.c_str());
  const int fd = ::open(tmp.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, mode);
  if (fd < 0) return FileError("create " + tmp.string());
  size_t done = 0;
  while (done < contents.size()) {
    const ssize_t n = ::write(fd, contents.data() + done, contents.size() - done);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) {
      Error error = FileError("write " + tmp.string());
      ::close(fd);
      return error;
    }
    done += static_cast<size_t>(n);
  }
  // The umask may have cleared bits; the key file must be exactly `mode`.
  if (::fchmod(fd, mode) != 0 || ::fsync(fd) != 0) {
    Error error = FileError("fsync " + tmp.string());
    ::close(fd);
    return error;
  }
  ::close(fd);
  if (::rename(tmp.c_str(), path.c_str()) != 0) return FileError("rename " + tmp.string());
  return OkStatus();
}

Result<Bytes> ReadFile(const std::filesystem::path& path, size_t max_bytes) {
  std::ifstream in(path, std::ios::binary);
  if (!in) return Error(ErrorCode::kFailedPrecondition, "sim: cannot read " + path.string());
  Bytes out;
  char buffer[4096];
  while (in.read(buffer, sizeof(buffer)) || in.gcount() > 0) {
    out.insert(out.end(), buffer, buffer + in.gcount());
    if (out.size() > max_bytes) {
      return Error(ErrorCode::kOutOfRange, "sim: " + path.string() + " is larger than expected");
    }
  }
  return out;
}

void PutLe(Bytes& report, size_t offset, uint64_t value, size_t width) {
  for (size_t i = 0; i < width; ++i) report[offset + i] = static_cast<uint8_t>(value >> (8 * i));
}

}  // namespace

Result<SimRoot> SimRoot::Generate(std::string_view deployment, std::chrono::sys_seconds not_before,
                                  std::chrono::seconds lifetime) {
  OPENPCC_RETURN_IF_ERROR(CheckDeployment(deployment));
  OPENPCC_ASSIGN_OR_RETURN(EvpPkeyPtr key, NewP384Key());
  const std::string cn = "OpenPCC simulated TEE root (" + std::string(deployment) + ")";
  OPENPCC_ASSIGN_OR_RETURN(crypto::Certificate cert,
                           MakeCertificate(cn, key.get(), key.get(), nullptr, true, not_before, lifetime));
  return SimRoot(Share(std::move(key)), std::move(cert));
}

Result<SimRoot> SimRoot::FromPem(ByteView key_pem, ByteView cert_pem) {
  crypto::BioPtr bio(BIO_new_mem_buf(key_pem.data(), static_cast<int>(key_pem.size())));
  if (!bio) return OpenSslError("sim: BIO_new_mem_buf");
  EvpPkeyPtr key(PEM_read_bio_PrivateKey(bio.get(), nullptr, nullptr, nullptr));
  if (!key) {
    ERR_clear_error();
    return Error(ErrorCode::kMalformed, "sim: root key: not a PEM private key");
  }
  if (!IsP384(key.get())) return Error(ErrorCode::kUnsupported, "sim: root key: not a P-384 key");
  Result<crypto::Certificate> cert = crypto::Certificate::ParseOne(cert_pem);
  if (!cert.ok()) return Error(ErrorCode::kMalformed, "sim: root certificate: " + cert.error().message());
  if (EVP_PKEY_eq(key.get(), cert->PublicKey()) != 1) {
    return Error(ErrorCode::kMalformed, "sim: root key does not match the root certificate");
  }
  return SimRoot(Share(std::move(key)), std::move(cert.value()));
}

Result<SimRoot> SimRoot::Load(const std::filesystem::path& key_file,
                              const std::filesystem::path& cert_file) {
  OPENPCC_ASSIGN_OR_RETURN(Bytes key, ReadFile(key_file, 64 * 1024));
  OPENPCC_ASSIGN_OR_RETURN(Bytes cert, ReadFile(cert_file, 64 * 1024));
  Result<SimRoot> root = FromPem(key, cert);
  crypto::Wipe(key);
  return root;
}

Status SimRoot::Save(const std::filesystem::path& key_file,
                     const std::filesystem::path& cert_file) const {
  crypto::BioPtr bio(BIO_new(BIO_s_secmem()));
  if (!bio || PEM_write_bio_PrivateKey(bio.get(), key_.get(), nullptr, nullptr, 0, nullptr, nullptr) != 1) {
    return OpenSslError("sim: PEM_write_bio_PrivateKey");
  }
  char* data = nullptr;
  const long length = BIO_get_mem_data(bio.get(), &data);
  OPENPCC_RETURN_IF_ERROR(
      WriteFile(key_file, ByteView(reinterpret_cast<const uint8_t*>(data), static_cast<size_t>(length)), 0600));
  return WriteFile(cert_file, AsBytes(CertificatePem()), 0644);
}

std::string SimRoot::CertificatePem() const {
  crypto::BioPtr bio(BIO_new(BIO_s_mem()));
  if (!bio || PEM_write_bio_X509(bio.get(), certificate_.get()) != 1) return {};
  char* data = nullptr;
  const long length = BIO_get_mem_data(bio.get(), &data);
  return std::string(data, static_cast<size_t>(length));
}

Result<SimSigner> SimSigner::Create(const SimRoot& root, std::chrono::sys_seconds now,
                                    std::chrono::seconds lifetime) {
  OPENPCC_ASSIGN_OR_RETURN(EvpPkeyPtr key, NewP384Key());
  OPENPCC_ASSIGN_OR_RETURN(
      crypto::Certificate vek,
      MakeCertificate("OpenPCC simulated VEK", key.get(), root.key_.get(), &root.certificate_,
                      false, now, lifetime));
  Bytes chip_id(64);
  crypto::RandomBytes(chip_id);
  return SimSigner(Share(std::move(key)), std::move(vek), root.certificate_, std::move(chip_id));
}

Result<SimEvidence> SimSigner::Report(ByteView report_data, ByteView measurement) const {
  if (report_data.size() != kReportDataLength) {
    return Error(ErrorCode::kInvalidArgument, "sim: REPORT_DATA must be 64 bytes");
  }
  if (measurement.size() != kMeasurementLength) {
    return Error(ErrorCode::kInvalidArgument, "sim: MEASUREMENT must be 48 bytes");
  }
  // The v3 layout of attest/snp/report.h; fields a simulation has no value for stay zero
  // (TCB versions, CPUID, firmware versions), so nothing imitates a real AMD platform.
  Bytes r(snp::kReportSize, 0);
  PutLe(r, 0x00, kReportVersion, 4);
  PutLe(r, 0x08, kSimGuestPolicy, 8);
  PutLe(r, 0x30, 0, 4);  // VMPL 0
  PutLe(r, 0x34, snp::kSignatureAlgoEcdsaP384Sha384, 4);
  PutLe(r, 0x48, 0, 4);  // KEY_INFO: signed by the (sim) VEK
  std::copy(report_data.begin(), report_data.end(), r.begin() + 0x50);
  std::copy(measurement.begin(), measurement.end(), r.begin() + 0x90);
  Bytes report_id(32);
  crypto::RandomBytes(report_id);
  std::copy(report_id.begin(), report_id.end(), r.begin() + 0x140);
  std::copy(chip_id_.begin(), chip_id_.end(), r.begin() + 0x1A0);

  crypto::EvpMdCtxPtr ctx(EVP_MD_CTX_new());
  size_t length = 0;
  if (!ctx || EVP_DigestSignInit(ctx.get(), nullptr, EVP_sha384(), nullptr, key_.get()) != 1 ||
      EVP_DigestSign(ctx.get(), nullptr, &length, r.data(), snp::kSignedLength) != 1) {
    return OpenSslError("sim: EVP_DigestSign");
  }
  Bytes der(length);
  if (EVP_DigestSign(ctx.get(), der.data(), &length, r.data(), snp::kSignedLength) != 1) {
    return OpenSslError("sim: EVP_DigestSign");
  }
  const unsigned char* p = der.data();
  EcdsaSigPtr sig(d2i_ECDSA_SIG(nullptr, &p, static_cast<long>(length)));
  if (!sig) return OpenSslError("sim: d2i_ECDSA_SIG");
  // r and s as 72-byte little-endian fields (the report's encoding).
  if (BN_bn2lebinpad(ECDSA_SIG_get0_r(sig.get()), r.data() + 0x2A0, 72) != 72 ||
      BN_bn2lebinpad(ECDSA_SIG_get0_s(sig.get()), r.data() + 0x2A0 + 72, 72) != 72) {
    return OpenSslError("sim: BN_bn2lebinpad");
  }
  return SimEvidence{std::move(r), vek_.Der(), root_.Der()};
}

Result<Bytes> MeasureFile(const std::filesystem::path& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) return Error(ErrorCode::kFailedPrecondition, "sim: cannot read " + path.string());
  crypto::EvpMdCtxPtr ctx(EVP_MD_CTX_new());
  if (!ctx || EVP_DigestInit_ex(ctx.get(), EVP_sha384(), nullptr) != 1) {
    return OpenSslError("sim: EVP_DigestInit_ex");
  }
  char buffer[1 << 16];
  while (in.read(buffer, sizeof(buffer)) || in.gcount() > 0) {
    if (EVP_DigestUpdate(ctx.get(), buffer, static_cast<size_t>(in.gcount())) != 1) {
      return OpenSslError("sim: EVP_DigestUpdate");
    }
  }
  Bytes out(kMeasurementLength);
  unsigned int size = 0;
  if (EVP_DigestFinal_ex(ctx.get(), out.data(), &size) != 1) return OpenSslError("sim: EVP_DigestFinal_ex");
  return out;
}

}  // namespace openpcc::attest::sim
