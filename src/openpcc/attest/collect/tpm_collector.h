// attest/collect/tpm_collector.h — the node's TPM as a bundle platform (`tpm`, DESIGN §2.4): the
// node keys it holds and the cpu_evidence parts that prove them.
//
// A `tpm` node's HPKE key is TPM-resident: a DHKEM(P-256) key created under the owner SRK with
// authPolicy = PolicyPCR over the configured PCRs at creation time (attest/tpm/device.h). The
// collector creates those keys (CreateNodeKey, for the node's key ring) and remembers them by
// public key, so that a bundle for a key_config proves exactly that key. For each bundle it:
//   1. re-creates the AK — a primary key of the endorsement hierarchy from a fixed template, so the
//      same key every time on the same TPM — and checks it is the key the AK certificate names;
//   2. quotes the configured PCRs over the binding's qualifying data (32 bytes), reading the PCR
//      values before and after and retrying if they moved meanwhile;
//   3. has the AK certify the node key's creation (TPM2_CertifyCreation, same qualifying data).
// The parts are those attest/bundle.h requires for `tpm`: quote, quote_signature, pcrs ("sha256:N
// HEX" lines), ak_public (TPMT_PUBLIC), ak_cert (DER), key_public (TPMT_PUBLIC), key_certify,
// key_certify_signature, and ak_chain (DER intermediates concatenated) when configured.
//
// The AK is loaded only while a bundle is being made: without a resource manager (swtpm reached
// directly) a TPM has three transient object slots, and node keys occupy them meanwhile.
// AK certificates come from a cloud vTPM's provider or from an operator CA after
// TPM2_ActivateCredential (attest/tpm/credential.h); this module only reads one.
//
// Thread safety: CreateNodeKey and CollectFor may be called from several threads (the device
// serialises TPM commands and the key table has its own lock).
#pragma once

#include <map>
#include <memory>
#include <mutex>
#include <string>
#include <vector>

#include "openpcc/attest/bundle_builder.h"
#include "openpcc/attest/tpm/device.h"
#include "openpcc/crypto/x509.h"

namespace openpcc::attest::collect {

struct TpmCollectorOptions {
  // The PCRs quoted and bound into every node key's policy. Clients compare the SHA-256 bank with
  // the release manifest's reference PCRs, and the key's authPolicy with PolicyPCR over exactly
  // those PCRs, so this must list the manifest's PCRs (and only SHA-256 ones count).
  std::vector<tpm::PcrSelection> pcrs = {{tpm::alg::kSha256, {0, 1, 2, 3, 4, 5, 6, 7}}};
  Bytes ak_certificate;             // DER or PEM
  std::vector<Bytes> ak_intermediates;  // DER or PEM; sent as ak_chain when not empty
};

class TpmCollector final : public PlatformCollector {
 public:
  // Checks the AK certificate parses and that the TPM's AK is the key it names.
  static Result<std::unique_ptr<TpmCollector>> Create(std::shared_ptr<tpm::TpmDevice> device,
                                                      TpmCollectorOptions options);
  // Opens the TPM at a tpm2-tss TCTI ("device:/dev/tpmrm0", "swtpm:host=127.0.0.1,port=N").
  static Result<std::unique_ptr<TpmCollector>> Open(const std::string& tcti, TpmCollectorOptions options);

  Platform platform() const override { return Platform::kTpm; }
  // Refused: a TPM bundle proves one node key, so the builder must say which (CollectFor).
  Result<std::map<std::string, Bytes>> Collect(ByteView qualifying_data) override;
  Result<std::map<std::string, Bytes>> CollectFor(ByteView key_config, ByteView qualifying_data) override;

  // A fresh TPM-resident node key under PolicyPCR over `pcrs`. The collector keeps a weak
  // reference: when the caller drops the key, it is flushed from the TPM and forgotten here.
  Result<std::shared_ptr<const tpm::TpmDhKey>> CreateNodeKey();

  const std::shared_ptr<tpm::TpmDevice>& device() const { return device_; }

 private:
  TpmCollector(std::shared_ptr<tpm::TpmDevice> device, TpmCollectorOptions options,
               crypto::Certificate ak_certificate, Bytes ak_chain)
      : device_(std::move(device)), options_(std::move(options)),
        ak_certificate_(std::move(ak_certificate)), ak_chain_(std::move(ak_chain)) {}
  // The AK, loaded, checked against the certificate.
  Result<std::unique_ptr<tpm::TpmObject>> LoadAk();

  std::shared_ptr<tpm::TpmDevice> device_;
  TpmCollectorOptions options_;
  crypto::Certificate ak_certificate_;
  Bytes ak_chain_;
  std::mutex mu_;
  std::map<Bytes, std::weak_ptr<const tpm::TpmDhKey>> keys_;  // by P-256 public point
};

// PCR values as the bundle's "pcrs" part: "sha256:INDEX HEX" lines (attest/tpm/verify.h
// ParsePcrValues reads them back).
std::string FormatPcrValues(const tpm::PcrValues& values);

// "sha256:0,1,2,7" or "0-7" (sha256 implied) or "sha256:0-7+sha384:0" — the --tpm-pcrs syntax.
Result<std::vector<tpm::PcrSelection>> ParsePcrSelectionList(std::string_view text);

}  // namespace openpcc::attest::collect
