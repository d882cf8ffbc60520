// attest/collect/collectors.h — the node's platform and GPU collectors for the bundle builder
// (attest/bundle_builder.h): each asks its TEE for evidence over the binding and returns the
// bundle's cpu_evidence parts (attest/bundle.h RequiredCpuEvidence) or GPU evidence.
//
//  - SnpCollector: configfs-tsm (provider sev_guest; auxblob = the host's certificate table) or
//    /dev/sev-guest (SNP_GET_EXT_REPORT ioctl). The VCEK/VLEK and ASK/ARK come from the host's
//    certificate table (GHCB extended guest request; GUIDs below); without it the collector
//    fails, naming what is missing, unless the operator configured the chain files.
//  - TdxCollector: configfs-tsm (provider tdx_guest); the PCS collateral (TCB info, QE identity,
//    their chains, CRLs) is the node service's to fetch and cache, given here as parts; the CCEL
//    event log is read from ACPI when present.
//  - NvidiaGpuCollector: a pluggable NvidiaAttestationSource (the driver's attestation interface);
//    DriverNvidiaSource fails with a clear error when the driver's device node is absent.
//  - SimCollector: the simulated TEE (attest/sim).
// Device and tree paths are parameters so tests run against fakes in a temporary directory.
//
// Thread safety: a collector serialises nothing; use one per thread or guard it.
#pragma once

#include <filesystem>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "openpcc/attest/bundle_builder.h"
#include "openpcc/attest/collect/configfs_tsm.h"
#include "openpcc/attest/sim/sim.h"

namespace openpcc::attest::collect {

// The host-provided SEV-SNP certificate table (GHCB "certificate table"): entries
// {GUID(16), offset u32 LE, length u32 LE} ending with an all-zero entry; offsets are from the
// table's start. Returns the certificates by role ("vcek", "vlek", "ask", "asvk", "ark").
Result<std::map<std::string, Bytes>> ParseSnpCertTable(ByteView table);

struct SnpCollectorOptions {
  enum class Interface : uint8_t { kConfigfsTsm, kSevGuestDevice };
  Interface interface = Interface::kConfigfsTsm;
  TsmRequest tsm{.root = std::string(kTsmReportRoot), .entry = "openpcc", .expected_provider = "sev_guest",
                 .privlevel = std::nullopt};
  std::filesystem::path sev_guest_device = "/dev/sev-guest";
  uint32_t vmpl = 0;
  // When the host provides no certificate table: the VEK (DER or PEM) and ASK+ARK (PEM), as
  // fetched from AMD's KDS by the operator.
  std::optional<Bytes> vek;
  std::optional<Bytes> chain;
};

class SnpCollector : public PlatformCollector {
 public:
  explicit SnpCollector(SnpCollectorOptions options) : options_(std::move(options)) {}
  Platform platform() const override { return Platform::kSevSnp; }
  Result<std::map<std::string, Bytes>> Collect(ByteView report_data) override;

 private:
  Result<std::pair<Bytes, Bytes>> FromDevice(ByteView report_data);  // report, cert table
  SnpCollectorOptions options_;
};

struct TdxCollectorOptions {
  TsmRequest tsm{.root = std::string(kTsmReportRoot), .entry = "openpcc", .expected_provider = "tdx_guest",
                 .privlevel = std::nullopt};
  // tcb_info, tcb_info_chain, qe_identity, qe_identity_chain (required); pck_crl, pck_crl_chain,
  // root_crl (optional).
  std::map<std::string, Bytes> collateral;
  // The CCEL event log; a missing file is not an error (the bundle then carries none).
  std::optional<std::filesystem::path> event_log = std::filesystem::path("/sys/firmware/acpi/tables/data/CCEL");
};

class TdxCollector : public PlatformCollector {
 public:
  explicit TdxCollector(TdxCollectorOptions options) : options_(std::move(options)) {}
  Platform platform() const override { return Platform::kTdx; }
  Result<std::map<std::string, Bytes>> Collect(ByteView report_data) override;

 private:
  TdxCollectorOptions options_;
};

class SimCollector : public PlatformCollector {
 public:
  // `measurement` is 48 bytes (e.g. sim::MeasureFile of the node binary).
  SimCollector(std::shared_ptr<const sim::SimSigner> signer, Bytes measurement)
      : signer_(std::move(signer)), measurement_(std::move(measurement)) {}
  Platform platform() const override { return Platform::kSim; }
  Result<std::map<std::string, Bytes>> Collect(ByteView report_data) override;

 private:
  std::shared_ptr<const sim::SimSigner> signer_;
  Bytes measurement_;
};

// One GPU's raw evidence from the driver: the SPDM GET_MEASUREMENTS request||response and the
// device certificate chain (DER, leaf first).
struct NvidiaDeviceEvidence {
  Bytes report;
  std::vector<Bytes> chain_der;
};

class NvidiaAttestationSource {
 public:
  virtual ~NvidiaAttestationSource() = default;
  // Evidence of every GPU in confidential-computing mode, each report requested with `nonce`.
  virtual Result<std::vector<NvidiaDeviceEvidence>> Attest(ByteView nonce) = 0;
};

// The driver's attestation interface. This build finds the driver by its control device node and
// fails clearly when it is absent; the NVML call itself is not implemented (no hardware to test
// against), so with the driver present it says so instead of guessing.
class DriverNvidiaSource : public NvidiaAttestationSource {
 public:
  explicit DriverNvidiaSource(std::filesystem::path control_device = "/dev/nvidiactl")
      : control_device_(std::move(control_device)) {}
  Result<std::vector<NvidiaDeviceEvidence>> Attest(ByteView nonce) override;

 private:
  std::filesystem::path control_device_;
};

class NvidiaGpuCollector : public GpuCollector {
 public:
  explicit NvidiaGpuCollector(std::shared_ptr<NvidiaAttestationSource> source) : source_(std::move(source)) {}
  Result<std::vector<GpuEvidence>> Collect(ByteView nonce) override;

 private:
  std::shared_ptr<NvidiaAttestationSource> source_;
};

}  // namespace openpcc::attest::collect
