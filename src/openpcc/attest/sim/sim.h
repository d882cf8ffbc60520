// attest/sim/sim.h — the simulated TEE of DESIGN §2.4 (development only), node side.
//
// A deployment without SEV-SNP or TDX hardware can still run the whole protocol: the node
// produces SEV-SNP-shaped reports (the v3 ATTESTATION_REPORT layout of attest/snp/report.h, so
// the same parser reads them) signed with ECDSA P-384 by a software "sim VEK", which is certified
// by a per-deployment "sim root" (a self-signed P-384 CA). Nothing here is rooted in hardware:
// whoever holds the sim root's key can sign any report. A client accepts these reports only when
// its policy lists that deployment's root (attest/sim/verify.h), and every output says
// "simulated": true. The root's subject names it an OpenPCC simulated TEE root, never AMD.
//
//  - SimRoot: Generate (new P-384 key, self-signed certificate), Load/Save as PEM files; the key
//    file is written with mode 0600 (temporary file, fsync, rename).
//  - SimSigner: a fresh sim VEK certified by the root (one per node process: its key lives in
//    memory only), and Report(report_data, measurement) producing a signed report whose guest
//    policy has neither DEBUG nor MIGRATE_MA.
//
// Thread safety: SimRoot and SimSigner are immutable after construction; Report may be called
// from several threads (each call uses its own OpenSSL context).
#pragma once

#include <chrono>
#include <filesystem>
#include <memory>
#include <string>

#include "openpcc/crypto/x509.h"
#include "openpcc/util/bytes.h"
#include "openpcc/util/result.h"

namespace openpcc::attest::sim {

inline constexpr std::string_view kSimRootOrganization = "OpenPCC simulated TEE (not hardware)";
inline constexpr size_t kMeasurementLength = 48;
inline constexpr size_t kReportDataLength = 64;
// Guest POLICY of every sim report: SMT allowed (bit 16), reserved bit 17 set, ABI 0.0; DEBUG
// (bit 19) and MIGRATE_MA (bit 18) clear.
inline constexpr uint64_t kSimGuestPolicy = 0x30000;

class SimRoot {
 public:
  // `deployment` names the deployment in the subject ("OpenPCC simulated TEE root (<deployment>)");
  // 1..64 printable ASCII characters. Valid from `not_before` for `lifetime`.
  static Result<SimRoot> Generate(std::string_view deployment, std::chrono::sys_seconds not_before,
                                  std::chrono::seconds lifetime = std::chrono::hours(24 * 365 * 5));
  // PEM private key (PKCS#8) and PEM certificate; the key must be P-384 and match the certificate.
  static Result<SimRoot> FromPem(ByteView key_pem, ByteView cert_pem);
  static Result<SimRoot> Load(const std::filesystem::path& key_file,
                              const std::filesystem::path& cert_file);
  // Writes the key (mode 0600) and the certificate (0644), each atomically.
  Status Save(const std::filesystem::path& key_file, const std::filesystem::path& cert_file) const;

  const crypto::Certificate& certificate() const { return certificate_; }
  // PEM of the certificate: what a client's policy lists.
  std::string CertificatePem() const;

 private:
  friend class SimSigner;
  SimRoot(std::shared_ptr<EVP_PKEY> key, crypto::Certificate certificate)
      : key_(std::move(key)), certificate_(std::move(certificate)) {}
  std::shared_ptr<EVP_PKEY> key_;  // shared: immutable, reference-counted by OpenSSL
  crypto::Certificate certificate_;
};

// What a node publishes as its sim platform evidence (bundle cpu_evidence "report", "vek",
// "chain"; the chain is a copy of the root, which a verifier never trusts by itself).
struct SimEvidence {
  Bytes report;    // 0x4A0 bytes
  Bytes vek_der;
  Bytes root_der;
};

class SimSigner {
 public:
  // A new sim VEK (P-384) certified by `root`, valid from `now` for `lifetime`.
  static Result<SimSigner> Create(const SimRoot& root, std::chrono::sys_seconds now,
                                  std::chrono::seconds lifetime = std::chrono::hours(24 * 30));

  // A signed report with REPORT_DATA = report_data (64 bytes) and MEASUREMENT = measurement
  // (48 bytes).
  Result<SimEvidence> Report(ByteView report_data, ByteView measurement) const;

  const crypto::Certificate& vek() const { return vek_; }

 private:
  SimSigner(std::shared_ptr<EVP_PKEY> key, crypto::Certificate vek, crypto::Certificate root,
            Bytes chip_id)
      : key_(std::move(key)), vek_(std::move(vek)), root_(std::move(root)), chip_id_(std::move(chip_id)) {}
  std::shared_ptr<EVP_PKEY> key_;
  crypto::Certificate vek_;
  crypto::Certificate root_;
  Bytes chip_id_;  // 64 random bytes per signer, so two sim nodes' reports differ in CHIP_ID
};

// SHA-384 of a file (e.g. the node binary): a measurement for sim reports. Reads in pieces.
Result<Bytes> MeasureFile(const std::filesystem::path& path);

}  // namespace openpcc::attest::sim
