// attest/tpm/device.h — the node's TPM through tpm2-tss (ESAPI): the EK and its certificate, an
// AK enrolled by ActivateCredential, the node's TPM-resident DHKEM(P-256) key under a PolicyPCR
// policy certified by the AK (TPM2_CertifyCreation), quotes, and the DH step of HPKE inside the TPM
// (TPM2_ECDH_ZGen).
//
// Keys:
//   EK   RSA-2048 from the TCG EK Credential Profile's default template (L-1), a primary key of the
//        endorsement hierarchy; its certificate is read from NV index 0x01c00002.
//   AK   ECC P-256 restricted signing key (ECDSA-SHA256), fixedTPM, fixedParent, a primary key of
//        the endorsement hierarchy.
//   node ECC P-256 decryption key, fixedTPM, fixedParent, sensitiveDataOrigin, userWithAuth
//        CLEAR (so only its policy authorizes use), authPolicy = PolicyPCR over the chosen PCRs at
//        creation time, created under an ECC storage primary key (SRK) of the owner hierarchy. Its
//        private part never leaves the TPM; a PCR change makes the TPM refuse every ECDH.
// Hierarchy authorizations are assumed empty (as on a fresh or cloud vTPM).
//
// Nothing here verifies anything: the outputs (TPMS_ATTEST, TPMT_SIGNATURE, TPMT_PUBLIC bytes) go
// to verify.h, on the node as a self-check and on the client.
//
// Thread safety: a TpmDevice serializes its commands with a mutex, so it and the keys that share it
// may be used from several threads.
#pragma once

#include <cstdint>
#include <memory>
#include <mutex>
#include <span>
#include <string>

#include "openpcc/attest/tpm/structures.h"
#include "openpcc/attest/tpm/verify.h"
#include "openpcc/crypto/kem.h"
#include "openpcc/crypto/secret.h"
#include "openpcc/util/bytes.h"
#include "openpcc/util/result.h"

namespace openpcc::attest::tpm {

inline constexpr uint32_t kEkCertificateNvIndexRsa = 0x01c00002;

// A TPMS_ATTEST and its TPMT_SIGNATURE, as the TPM returned them.
struct SignedAttestation {
  Bytes attest;
  Bytes signature;
};

// A key loaded in the TPM. The handle is the ESAPI object (ESYS_TR) and is flushed with the key.
class TpmDevice;
class TpmObject {
 public:
  TpmObject(std::shared_ptr<TpmDevice> device, uint32_t handle, Public pub);
  ~TpmObject();
  TpmObject(const TpmObject&) = delete;
  TpmObject& operator=(const TpmObject&) = delete;

  uint32_t handle() const { return handle_; }
  const Public& tpm_public() const { return public_; }

 private:
  std::shared_ptr<TpmDevice> device_;
  uint32_t handle_;
  Public public_;
};

// The node's DHKEM(P-256) key inside the TPM, usable as HPKE's recipient key.
class TpmDhKey final : public crypto::DhPrivateKey {
 public:
  crypto::KemId kem_id() const override { return crypto::KemId::kP256HkdfSha256; }
  ByteView public_key() const override { return public_key_; }
  // TPM2_ECDH_ZGen in a policy session satisfied by PolicyPCR; fails when the PCRs changed.
  Result<crypto::SecretBytes> DiffieHellman(ByteView peer_public_key) const override;

  const Public& tpm_public() const { return object_->tpm_public(); }
  const std::vector<PcrSelection>& policy_pcrs() const { return policy_pcrs_; }

 private:
  friend class TpmDevice;
  TpmDhKey(std::shared_ptr<TpmDevice> device, std::unique_ptr<TpmObject> object,
           std::vector<PcrSelection> policy_pcrs, Bytes public_key, Bytes creation_hash,
           Bytes creation_ticket)
      : device_(std::move(device)), object_(std::move(object)), policy_pcrs_(std::move(policy_pcrs)),
        public_key_(std::move(public_key)), creation_hash_(std::move(creation_hash)),
        creation_ticket_(std::move(creation_ticket)) {}

  std::shared_ptr<TpmDevice> device_;
  std::unique_ptr<TpmObject> object_;
  std::vector<PcrSelection> policy_pcrs_;
  Bytes public_key_;
  Bytes creation_hash_;
  Bytes creation_ticket_;  // marshalled TPMT_TK_CREATION, for CertifyCreation
};

class TpmDevice : public std::enable_shared_from_this<TpmDevice> {
 public:
  // `tcti` is a tpm2-tss TCTI configuration: "device:/dev/tpmrm0", "swtpm:host=127.0.0.1,port=N".
  static Result<std::shared_ptr<TpmDevice>> Open(const std::string& tcti);
  ~TpmDevice();
  TpmDevice(const TpmDevice&) = delete;
  TpmDevice& operator=(const TpmDevice&) = delete;

  Result<std::unique_ptr<TpmObject>> CreateEk();
  Result<Bytes> ReadNv(uint32_t index);
  Result<Bytes> ReadEkCertificate() { return ReadNv(kEkCertificateNvIndexRsa); }
  Result<std::unique_ptr<TpmObject>> CreateAk();
  // TPM2_ActivateCredential of the AK with the EK; returns the credential the CA encrypted.
  Result<crypto::SecretBytes> ActivateCredential(const TpmObject& ak, const TpmObject& ek,
                                                 ByteView credential_blob,
                                                 ByteView encrypted_secret);

  // A fresh node key whose authPolicy is PolicyPCR over `policy_pcrs` at their current values.
  Result<std::unique_ptr<TpmDhKey>> CreateNodeKey(std::span<const PcrSelection> policy_pcrs);
  Result<SignedAttestation> CertifyCreation(const TpmObject& ak, const TpmDhKey& key,
                                            ByteView qualifying_data);
  Result<SignedAttestation> Quote(const TpmObject& ak, ByteView qualifying_data,
                                  std::span<const PcrSelection> pcrs);
  Result<PcrValues> ReadPcrs(std::span<const PcrSelection> pcrs);
  Status ExtendPcr(uint32_t pcr, ByteView sha256_digest);
  // The policy digest a trial session reaches with PolicyPCR over the current PCR values.
  Result<Bytes> TrialPolicyPcr(std::span<const PcrSelection> pcrs);

 private:
  friend class TpmObject;
  friend class TpmDhKey;
  struct State;
  explicit TpmDevice(std::unique_ptr<State> state);

  struct Created {
    uint32_t handle;
    Public pub;
  };
  void Flush(uint32_t handle);
  // With mutex_ held. `tpm2b_public` is a TPM2B_PUBLIC (kept out of this header with tss2's types).
  Result<Created> CreatePrimaryLocked(uint32_t hierarchy, const void* tpm2b_public,
                                      std::string_view what);
  Result<crypto::SecretBytes> EcdhZGen(uint32_t key_handle, std::span<const PcrSelection> pcrs,
                                       ByteView peer_public_key);

  std::mutex mutex_;
  std::unique_ptr<State> state_;
};

}  // namespace openpcc::attest::tpm
