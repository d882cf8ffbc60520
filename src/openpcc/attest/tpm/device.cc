#include "openpcc/attest/tpm/device.h"

#include <tss2/tss2_esys.h>
#include <tss2/tss2_mu.h>
#include <tss2/tss2_rc.h>
#include <tss2/tss2_tctildr.h>

#include <algorithm>
#include <cstring>

namespace openpcc::attest::tpm {

struct TpmDevice::State {
  TSS2_TCTI_CONTEXT* tcti = nullptr;
  ESYS_CONTEXT* esys = nullptr;
};

namespace {

struct EsysFree {
  void operator()(void* p) const { Esys_Free(p); }
};
template <typename T>
using EsysPtr = std::unique_ptr<T, EsysFree>;

Error TssError(std::string_view what, TSS2_RC rc) {
  return Error(ErrorCode::kInternal,
               "tpm device: " + std::string(what) + ": " + std::string(Tss2_RC_Decode(rc)));
}

// TPM_RC_POLICY_FAIL, a format-one TPM-layer code carrying a session number.
bool IsPolicyFailure(TSS2_RC rc) {
  return (rc & 0xFFFF0000u) == 0 && (rc & TPM2_RC_FMT1) != 0 &&
         (rc & 0x3Fu) == (TPM2_RC_POLICY_FAIL & 0x3Fu);
}

// Flushes a session (policy or trial) or a transient object whether or not the command that used
// it succeeded.
class SessionGuard {
 public:
  SessionGuard(ESYS_CONTEXT* esys, ESYS_TR session) : esys_(esys), session_(session) {}
  ~SessionGuard() {
    if (session_ != ESYS_TR_NONE) Esys_FlushContext(esys_, session_);
  }
  SessionGuard(const SessionGuard&) = delete;
  SessionGuard& operator=(const SessionGuard&) = delete;

 private:
  ESYS_CONTEXT* esys_;
  ESYS_TR session_;
};

Result<ESYS_TR> StartSession(ESYS_CONTEXT* esys, TPM2_SE type) {
  TPMT_SYM_DEF symmetric{};
  symmetric.algorithm = TPM2_ALG_NULL;
  ESYS_TR session = ESYS_TR_NONE;
  TSS2_RC rc = Esys_StartAuthSession(esys, ESYS_TR_NONE, ESYS_TR_NONE, ESYS_TR_NONE, ESYS_TR_NONE,
                                     ESYS_TR_NONE, nullptr, type, &symmetric, TPM2_ALG_SHA256,
                                     &session);
  if (rc != TSS2_RC_SUCCESS) return TssError("StartAuthSession", rc);
  return session;
}

Result<TPML_PCR_SELECTION> ToTpml(std::span<const PcrSelection> selections) {
  TPML_PCR_SELECTION out{};
  if (selections.size() > TPM2_NUM_PCR_BANKS) {
    return Error(ErrorCode::kInvalidArgument, "tpm device: too many PCR banks selected");
  }
  out.count = static_cast<UINT32>(selections.size());
  for (size_t i = 0; i < selections.size(); ++i) {
    TPMS_PCR_SELECTION& s = out.pcrSelections[i];
    s.hash = selections[i].hash;
    s.sizeofSelect = 3;
    for (uint32_t pcr : selections[i].pcrs) {
      if (pcr >= 24) {
        return Error(ErrorCode::kInvalidArgument, "tpm device: PCR " + std::to_string(pcr) +
                                                      " is outside 0..23");
      }
      s.pcrSelect[pcr / 8] = static_cast<BYTE>(s.pcrSelect[pcr / 8] | (1u << (pcr % 8)));
    }
  }
  return out;
}

Result<Public> ToPublic(const TPM2B_PUBLIC& pub) {
  Bytes buffer(sizeof(TPMT_PUBLIC) + 16);
  size_t offset = 0;
  TSS2_RC rc = Tss2_MU_TPMT_PUBLIC_Marshal(&pub.publicArea, buffer.data(), buffer.size(), &offset);
  if (rc != TSS2_RC_SUCCESS) return TssError("marshal TPMT_PUBLIC", rc);
  buffer.resize(offset);
  return ParsePublic(buffer);
}

Result<SignedAttestation> ToSignedAttestation(const TPM2B_ATTEST& attest,
                                              const TPMT_SIGNATURE& signature) {
  SignedAttestation out;
  out.attest.assign(attest.attestationData, attest.attestationData + attest.size);
  out.signature.resize(sizeof(TPMT_SIGNATURE) + 16);
  size_t offset = 0;
  TSS2_RC rc = Tss2_MU_TPMT_SIGNATURE_Marshal(&signature, out.signature.data(),
                                              out.signature.size(), &offset);
  if (rc != TSS2_RC_SUCCESS) return TssError("marshal TPMT_SIGNATURE", rc);
  out.signature.resize(offset);
  return out;
}

Status CopyTo(ByteView from, BYTE* to, size_t capacity, UINT16* size, std::string_view what) {
  if (from.size() > capacity) {
    return Error(ErrorCode::kOutOfRange, "tpm device: " + std::string(what) + " is too long (" +
                                             std::to_string(from.size()) + " bytes)");
  }
  if (!from.empty()) std::memcpy(to, from.data(), from.size());
  *size = static_cast<UINT16>(from.size());
  return OkStatus();
}

// TCG EK Credential Profile, default RSA-2048 EK template (L-1).
TPM2B_PUBLIC EkTemplate() {
  static constexpr uint8_t kEkPolicy[32] = {
      0x83, 0x71, 0x97, 0x67, 0x44, 0x84, 0xB3, 0xF8, 0x1A, 0x90, 0xCC, 0x8D, 0x46, 0xA5, 0xD7, 0x24,
      0xFD, 0x52, 0xD7, 0x6E, 0x06, 0x52, 0x0B, 0x64, 0xF2, 0xA1, 0xDA, 0x1B, 0x33, 0x14, 0x69, 0xAA};
  TPM2B_PUBLIC t{};
  TPMT_PUBLIC& p = t.publicArea;
  p.type = TPM2_ALG_RSA;
  p.nameAlg = TPM2_ALG_SHA256;
  p.objectAttributes = TPMA_OBJECT_FIXEDTPM | TPMA_OBJECT_FIXEDPARENT |
                       TPMA_OBJECT_SENSITIVEDATAORIGIN | TPMA_OBJECT_ADMINWITHPOLICY |
                       TPMA_OBJECT_RESTRICTED | TPMA_OBJECT_DECRYPT;
  p.authPolicy.size = sizeof(kEkPolicy);
  std::memcpy(p.authPolicy.buffer, kEkPolicy, sizeof(kEkPolicy));
  p.parameters.rsaDetail.symmetric.algorithm = TPM2_ALG_AES;
  p.parameters.rsaDetail.symmetric.keyBits.aes = 128;
  p.parameters.rsaDetail.symmetric.mode.aes = TPM2_ALG_CFB;
  p.parameters.rsaDetail.scheme.scheme = TPM2_ALG_NULL;
  p.parameters.rsaDetail.keyBits = 2048;
  p.parameters.rsaDetail.exponent = 0;
  p.unique.rsa.size = 256;  // zeros, as the template requires
  return t;
}

TPM2B_PUBLIC AkTemplate() {
  TPM2B_PUBLIC t{};
  TPMT_PUBLIC& p = t.publicArea;
  p.type = TPM2_ALG_ECC;
  p.nameAlg = TPM2_ALG_SHA256;
  p.objectAttributes = TPMA_OBJECT_FIXEDTPM | TPMA_OBJECT_FIXEDPARENT |
                       TPMA_OBJECT_SENSITIVEDATAORIGIN | TPMA_OBJECT_USERWITHAUTH |
                       TPMA_OBJECT_RESTRICTED | TPMA_OBJECT_SIGN_ENCRYPT;
  p.parameters.eccDetail.symmetric.algorithm = TPM2_ALG_NULL;
  p.parameters.eccDetail.scheme.scheme = TPM2_ALG_ECDSA;
  p.parameters.eccDetail.scheme.details.ecdsa.hashAlg = TPM2_ALG_SHA256;
  p.parameters.eccDetail.curveID = TPM2_ECC_NIST_P256;
  p.parameters.eccDetail.kdf.scheme = TPM2_ALG_NULL;
  return t;
}

// TCG Provisioning Guidance's ECC P-256 storage root key.
TPM2B_PUBLIC SrkTemplate() {
  TPM2B_PUBLIC t{};
  TPMT_PUBLIC& p = t.publicArea;
  p.type = TPM2_ALG_ECC;
  p.nameAlg = TPM2_ALG_SHA256;
  p.objectAttributes = TPMA_OBJECT_FIXEDTPM | TPMA_OBJECT_FIXEDPARENT |
                       TPMA_OBJECT_SENSITIVEDATAORIGIN | TPMA_OBJECT_USERWITHAUTH |
                       TPMA_OBJECT_NODA | TPMA_OBJECT_RESTRICTED | TPMA_OBJECT_DECRYPT;
  p.parameters.eccDetail.symmetric.algorithm = TPM2_ALG_AES;
  p.parameters.eccDetail.symmetric.keyBits.aes = 128;
  p.parameters.eccDetail.symmetric.mode.aes = TPM2_ALG_CFB;
  p.parameters.eccDetail.scheme.scheme = TPM2_ALG_NULL;
  p.parameters.eccDetail.curveID = TPM2_ECC_NIST_P256;
  p.parameters.eccDetail.kdf.scheme = TPM2_ALG_NULL;
  p.unique.ecc.x.size = 32;
  p.unique.ecc.y.size = 32;
  return t;
}

// The node's DHKEM key: usable only through its policy (userWithAuth clear, adminWithPolicy set).
Result<TPM2B_PUBLIC> NodeKeyTemplate(ByteView auth_policy) {
  TPM2B_PUBLIC t{};
  TPMT_PUBLIC& p = t.publicArea;
  p.type = TPM2_ALG_ECC;
  p.nameAlg = TPM2_ALG_SHA256;
  p.objectAttributes = TPMA_OBJECT_FIXEDTPM | TPMA_OBJECT_FIXEDPARENT |
                       TPMA_OBJECT_SENSITIVEDATAORIGIN | TPMA_OBJECT_ADMINWITHPOLICY |
                       TPMA_OBJECT_DECRYPT;
  OPENPCC_RETURN_IF_ERROR(CopyTo(auth_policy, p.authPolicy.buffer, sizeof(p.authPolicy.buffer),
                                 &p.authPolicy.size, "authPolicy"));
  p.parameters.eccDetail.symmetric.algorithm = TPM2_ALG_NULL;
  p.parameters.eccDetail.scheme.scheme = TPM2_ALG_NULL;
  p.parameters.eccDetail.curveID = TPM2_ECC_NIST_P256;
  p.parameters.eccDetail.kdf.scheme = TPM2_ALG_NULL;
  return t;
}

}  // namespace

TpmObject::TpmObject(std::shared_ptr<TpmDevice> device, uint32_t handle, Public pub)
    : device_(std::move(device)), handle_(handle), public_(std::move(pub)) {}

TpmObject::~TpmObject() { device_->Flush(handle_); }

Result<crypto::SecretBytes> TpmDhKey::DiffieHellman(ByteView peer_public_key) const {
  return device_->EcdhZGen(object_->handle(), policy_pcrs_, peer_public_key);
}

TpmDevice::TpmDevice(std::unique_ptr<State> state) : state_(std::move(state)) {}

TpmDevice::~TpmDevice() {
  Esys_Finalize(&state_->esys);
  Tss2_TctiLdr_Finalize(&state_->tcti);
}

Result<std::shared_ptr<TpmDevice>> TpmDevice::Open(const std::string& tcti) {
  auto state = std::make_unique<State>();
  TSS2_RC rc = Tss2_TctiLdr_Initialize(tcti.c_str(), &state->tcti);
  if (rc != TSS2_RC_SUCCESS) return TssError("TCTI '" + tcti + "'", rc);
  rc = Esys_Initialize(&state->esys, state->tcti, nullptr);
  if (rc != TSS2_RC_SUCCESS) {
    Tss2_TctiLdr_Finalize(&state->tcti);
    return TssError("Esys_Initialize", rc);
  }
  return std::shared_ptr<TpmDevice>(new TpmDevice(std::move(state)));
}

void TpmDevice::Flush(uint32_t handle) {
  std::lock_guard<std::mutex> lock(mutex_);
  Esys_FlushContext(state_->esys, handle);
}

Result<TpmDevice::Created> TpmDevice::CreatePrimaryLocked(uint32_t hierarchy,
                                                         const void* tpm2b_public,
                                                         std::string_view what) {
  TPM2B_SENSITIVE_CREATE sensitive{};
  TPM2B_DATA outside{};
  TPML_PCR_SELECTION creation_pcrs{};
  ESYS_TR handle = ESYS_TR_NONE;
  TPM2B_PUBLIC* out_public = nullptr;
  TSS2_RC rc = Esys_CreatePrimary(state_->esys, hierarchy, ESYS_TR_PASSWORD, ESYS_TR_NONE,
                                  ESYS_TR_NONE, &sensitive,
                                  static_cast<const TPM2B_PUBLIC*>(tpm2b_public), &outside,
                                  &creation_pcrs, &handle, &out_public, nullptr, nullptr, nullptr);
  EsysPtr<TPM2B_PUBLIC> public_owner(out_public);
  if (rc != TSS2_RC_SUCCESS) return TssError("CreatePrimary (" + std::string(what) + ")", rc);
  Result<Public> pub = ToPublic(*out_public);
  if (!pub.ok()) {
    Esys_FlushContext(state_->esys, handle);
    return std::move(pub).error();
  }
  return Created{handle, std::move(pub).value()};
}

Result<std::unique_ptr<TpmObject>> TpmDevice::CreateEk() {
  std::lock_guard<std::mutex> lock(mutex_);
  TPM2B_PUBLIC ek = EkTemplate();
  OPENPCC_ASSIGN_OR_RETURN(Created created, CreatePrimaryLocked(ESYS_TR_RH_ENDORSEMENT, &ek, "EK"));
  return std::make_unique<TpmObject>(shared_from_this(), created.handle, std::move(created.pub));
}

Result<std::unique_ptr<TpmObject>> TpmDevice::CreateAk() {
  std::lock_guard<std::mutex> lock(mutex_);
  TPM2B_PUBLIC ak = AkTemplate();
  OPENPCC_ASSIGN_OR_RETURN(Created created, CreatePrimaryLocked(ESYS_TR_RH_ENDORSEMENT, &ak, "AK"));
  return std::make_unique<TpmObject>(shared_from_this(), created.handle, std::move(created.pub));
}

Result<Bytes> TpmDevice::ReadNv(uint32_t index) {
  std::lock_guard<std::mutex> lock(mutex_);
  ESYS_TR nv = ESYS_TR_NONE;
  TSS2_RC rc = Esys_TR_FromTPMPublic(state_->esys, index, ESYS_TR_NONE, ESYS_TR_NONE, ESYS_TR_NONE, &nv);
  if (rc != TSS2_RC_SUCCESS) return TssError("NV index " + HexEncode(Bytes{
      static_cast<uint8_t>(index >> 24), static_cast<uint8_t>(index >> 16),
      static_cast<uint8_t>(index >> 8), static_cast<uint8_t>(index)}) + " is not defined", rc);
  struct Closer {
    ESYS_CONTEXT* esys;
    ESYS_TR* nv;
    ~Closer() { Esys_TR_Close(esys, nv); }
  } closer{state_->esys, &nv};
  TPM2B_NV_PUBLIC* nv_public = nullptr;
  rc = Esys_NV_ReadPublic(state_->esys, nv, ESYS_TR_NONE, ESYS_TR_NONE, ESYS_TR_NONE, &nv_public,
                          nullptr);
  EsysPtr<TPM2B_NV_PUBLIC> public_owner(nv_public);
  if (rc != TSS2_RC_SUCCESS) return TssError("NV_ReadPublic", rc);
  uint16_t size = nv_public->nvPublic.dataSize;
  ESYS_TR auth = (nv_public->nvPublic.attributes & TPMA_NV_AUTHREAD) != 0 ? nv : ESYS_TR_RH_OWNER;
  Bytes out;
  constexpr uint16_t kChunk = 512;  // below every TPM's TPM2_PT_NV_BUFFER_MAX
  while (out.size() < size) {
    auto chunk = static_cast<uint16_t>(std::min<size_t>(kChunk, size - out.size()));
    TPM2B_MAX_NV_BUFFER* data = nullptr;
    rc = Esys_NV_Read(state_->esys, auth, nv, ESYS_TR_PASSWORD, ESYS_TR_NONE, ESYS_TR_NONE, chunk,
                      static_cast<uint16_t>(out.size()), &data);
    EsysPtr<TPM2B_MAX_NV_BUFFER> data_owner(data);
    if (rc != TSS2_RC_SUCCESS) return TssError("NV_Read", rc);
    out.insert(out.end(), data->buffer, data->buffer + data->size);
    if (data->size == 0) break;
  }
  return out;
}

Result<crypto::SecretBytes> TpmDevice::ActivateCredential(const TpmObject& ak, const TpmObject& ek,
                                                          ByteView credential_blob,
                                                          ByteView encrypted_secret) {
  std::lock_guard<std::mutex> lock(mutex_);
  TPM2B_ID_OBJECT blob{};
  TPM2B_ENCRYPTED_SECRET secret{};
  OPENPCC_RETURN_IF_ERROR(CopyTo(credential_blob, blob.credential, sizeof(blob.credential),
                                 &blob.size, "credential blob"));
  OPENPCC_RETURN_IF_ERROR(CopyTo(encrypted_secret, secret.secret, sizeof(secret.secret),
                                 &secret.size, "encrypted secret"));
  // The EK's USER role needs its policy: PolicySecret(TPM_RH_ENDORSEMENT).
  OPENPCC_ASSIGN_OR_RETURN(ESYS_TR session, StartSession(state_->esys, TPM2_SE_POLICY));
  SessionGuard guard(state_->esys, session);
  TSS2_RC rc = Esys_PolicySecret(state_->esys, ESYS_TR_RH_ENDORSEMENT, session, ESYS_TR_PASSWORD,
                                 ESYS_TR_NONE, ESYS_TR_NONE, nullptr, nullptr, nullptr, 0, nullptr,
                                 nullptr);
  if (rc != TSS2_RC_SUCCESS) return TssError("PolicySecret(endorsement)", rc);
  TPM2B_DIGEST* cert_info = nullptr;
  rc = Esys_ActivateCredential(state_->esys, ak.handle(), ek.handle(), ESYS_TR_PASSWORD, session,
                               ESYS_TR_NONE, &blob, &secret, &cert_info);
  EsysPtr<TPM2B_DIGEST> owner(cert_info);
  if (rc != TSS2_RC_SUCCESS) return TssError("ActivateCredential", rc);
  crypto::SecretBytes out(ByteView(cert_info->buffer, cert_info->size));
  crypto::Wipe({cert_info->buffer, cert_info->size});
  return out;
}

Result<Bytes> TpmDevice::TrialPolicyPcr(std::span<const PcrSelection> pcrs) {
  std::lock_guard<std::mutex> lock(mutex_);
  OPENPCC_ASSIGN_OR_RETURN(TPML_PCR_SELECTION selection, ToTpml(pcrs));
  OPENPCC_ASSIGN_OR_RETURN(ESYS_TR session, StartSession(state_->esys, TPM2_SE_TRIAL));
  SessionGuard guard(state_->esys, session);
  TPM2B_DIGEST empty{};
  TSS2_RC rc = Esys_PolicyPCR(state_->esys, session, ESYS_TR_NONE, ESYS_TR_NONE, ESYS_TR_NONE,
                              &empty, &selection);
  if (rc != TSS2_RC_SUCCESS) return TssError("PolicyPCR (trial)", rc);
  TPM2B_DIGEST* digest = nullptr;
  rc = Esys_PolicyGetDigest(state_->esys, session, ESYS_TR_NONE, ESYS_TR_NONE, ESYS_TR_NONE, &digest);
  EsysPtr<TPM2B_DIGEST> owner(digest);
  if (rc != TSS2_RC_SUCCESS) return TssError("PolicyGetDigest", rc);
  return Bytes(digest->buffer, digest->buffer + digest->size);
}

Result<std::unique_ptr<TpmDhKey>> TpmDevice::CreateNodeKey(std::span<const PcrSelection> policy_pcrs) {
  if (policy_pcrs.empty()) {
    return Error(ErrorCode::kInvalidArgument, "tpm device: the node key needs PCRs for its policy");
  }
  OPENPCC_ASSIGN_OR_RETURN(Bytes policy, TrialPolicyPcr(policy_pcrs));
  std::lock_guard<std::mutex> lock(mutex_);
  // The SRK is a primary key (re-derived identically each time) loaded only while the node key
  // is created and loaded: a TPM without a resource manager has few transient object slots.
  TPM2B_PUBLIC srk_template = SrkTemplate();
  OPENPCC_ASSIGN_OR_RETURN(Created srk, CreatePrimaryLocked(ESYS_TR_RH_OWNER, &srk_template, "SRK"));
  SessionGuard srk_guard(state_->esys, srk.handle);
  OPENPCC_ASSIGN_OR_RETURN(TPM2B_PUBLIC in_public, NodeKeyTemplate(policy));
  TPM2B_SENSITIVE_CREATE sensitive{};
  TPM2B_DATA outside{};
  TPML_PCR_SELECTION creation_pcrs{};
  TPM2B_PRIVATE* out_private = nullptr;
  TPM2B_PUBLIC* out_public = nullptr;
  TPM2B_DIGEST* creation_hash = nullptr;
  TPMT_TK_CREATION* creation_ticket = nullptr;
  TSS2_RC rc = Esys_Create(state_->esys, srk.handle, ESYS_TR_PASSWORD, ESYS_TR_NONE, ESYS_TR_NONE,
                           &sensitive, &in_public, &outside, &creation_pcrs, &out_private,
                           &out_public, nullptr, &creation_hash, &creation_ticket);
  EsysPtr<TPM2B_PRIVATE> private_owner(out_private);
  EsysPtr<TPM2B_PUBLIC> public_owner(out_public);
  EsysPtr<TPM2B_DIGEST> hash_owner(creation_hash);
  EsysPtr<TPMT_TK_CREATION> ticket_owner(creation_ticket);
  if (rc != TSS2_RC_SUCCESS) return TssError("Create (node key)", rc);
  ESYS_TR handle = ESYS_TR_NONE;
  rc = Esys_Load(state_->esys, srk.handle, ESYS_TR_PASSWORD, ESYS_TR_NONE, ESYS_TR_NONE,
                 out_private, out_public, &handle);
  if (rc != TSS2_RC_SUCCESS) return TssError("Load (node key)", rc);
  // Until the key is wrapped in its TpmObject, errors flush it here (the lock is held).
  Result<Public> pub = ToPublic(*out_public);
  Result<Bytes> point = pub.ok() ? P256UncompressedPoint(*pub) : Result<Bytes>(pub.error());
  Bytes ticket(sizeof(TPMT_TK_CREATION) + 16);
  size_t offset = 0;
  rc = Tss2_MU_TPMT_TK_CREATION_Marshal(creation_ticket, ticket.data(), ticket.size(), &offset);
  if (!point.ok() || rc != TSS2_RC_SUCCESS) {
    Esys_FlushContext(state_->esys, handle);
    if (!point.ok()) return std::move(point).error();
    return TssError("marshal TPMT_TK_CREATION", rc);
  }
  ticket.resize(offset);
  auto object = std::make_unique<TpmObject>(shared_from_this(), handle, std::move(pub).value());
  std::vector<PcrSelection> pcrs(policy_pcrs.begin(), policy_pcrs.end());
  return std::unique_ptr<TpmDhKey>(new TpmDhKey(
      shared_from_this(), std::move(object), std::move(pcrs), std::move(point).value(),
      Bytes(creation_hash->buffer, creation_hash->buffer + creation_hash->size), std::move(ticket)));
}

Result<SignedAttestation> TpmDevice::CertifyCreation(const TpmObject& ak, const TpmDhKey& key,
                                                     ByteView qualifying_data) {
  std::lock_guard<std::mutex> lock(mutex_);
  TPM2B_DATA qualifying{};
  OPENPCC_RETURN_IF_ERROR(CopyTo(qualifying_data, qualifying.buffer, sizeof(qualifying.buffer),
                                 &qualifying.size, "qualifying data"));
  TPM2B_DIGEST creation_hash{};
  OPENPCC_RETURN_IF_ERROR(CopyTo(key.creation_hash_, creation_hash.buffer,
                                 sizeof(creation_hash.buffer), &creation_hash.size, "creation hash"));
  TPMT_TK_CREATION ticket{};
  size_t offset = 0;
  TSS2_RC rc = Tss2_MU_TPMT_TK_CREATION_Unmarshal(key.creation_ticket_.data(),
                                                  key.creation_ticket_.size(), &offset, &ticket);
  if (rc != TSS2_RC_SUCCESS) return TssError("unmarshal TPMT_TK_CREATION", rc);
  TPMT_SIG_SCHEME scheme{};
  scheme.scheme = TPM2_ALG_NULL;
  TPM2B_ATTEST* info = nullptr;
  TPMT_SIGNATURE* signature = nullptr;
  rc = Esys_CertifyCreation(state_->esys, ak.handle(), key.object_->handle(), ESYS_TR_PASSWORD,
                            ESYS_TR_NONE, ESYS_TR_NONE, &qualifying, &creation_hash, &scheme,
                            &ticket, &info, &signature);
  EsysPtr<TPM2B_ATTEST> info_owner(info);
  EsysPtr<TPMT_SIGNATURE> signature_owner(signature);
  if (rc != TSS2_RC_SUCCESS) return TssError("CertifyCreation", rc);
  return ToSignedAttestation(*info, *signature);
}

Result<SignedAttestation> TpmDevice::Quote(const TpmObject& ak, ByteView qualifying_data,
                                           std::span<const PcrSelection> pcrs) {
  std::lock_guard<std::mutex> lock(mutex_);
  TPM2B_DATA qualifying{};
  OPENPCC_RETURN_IF_ERROR(CopyTo(qualifying_data, qualifying.buffer, sizeof(qualifying.buffer),
                                 &qualifying.size, "qualifying data"));
  OPENPCC_ASSIGN_OR_RETURN(TPML_PCR_SELECTION selection, ToTpml(pcrs));
  TPMT_SIG_SCHEME scheme{};
  scheme.scheme = TPM2_ALG_NULL;
  TPM2B_ATTEST* quoted = nullptr;
  TPMT_SIGNATURE* signature = nullptr;
  TSS2_RC rc = Esys_Quote(state_->esys, ak.handle(), ESYS_TR_PASSWORD, ESYS_TR_NONE, ESYS_TR_NONE,
                          &qualifying, &scheme, &selection, &quoted, &signature);
  EsysPtr<TPM2B_ATTEST> quoted_owner(quoted);
  EsysPtr<TPMT_SIGNATURE> signature_owner(signature);
  if (rc != TSS2_RC_SUCCESS) return TssError("Quote", rc);
  return ToSignedAttestation(*quoted, *signature);
}

Result<PcrValues> TpmDevice::ReadPcrs(std::span<const PcrSelection> pcrs) {
  std::lock_guard<std::mutex> lock(mutex_);
  PcrValues out;
  for (const PcrSelection& bank : pcrs) {
    for (uint32_t pcr : bank.pcrs) {
      PcrSelection one{bank.hash, {pcr}};
      OPENPCC_ASSIGN_OR_RETURN(TPML_PCR_SELECTION selection, ToTpml({&one, 1}));
      TPML_PCR_SELECTION* selected = nullptr;
      TPML_DIGEST* values = nullptr;
      TSS2_RC rc = Esys_PCR_Read(state_->esys, ESYS_TR_NONE, ESYS_TR_NONE, ESYS_TR_NONE, &selection,
                                 nullptr, &selected, &values);
      EsysPtr<TPML_PCR_SELECTION> selected_owner(selected);
      EsysPtr<TPML_DIGEST> values_owner(values);
      if (rc != TSS2_RC_SUCCESS) return TssError("PCR_Read", rc);
      if (values->count != 1) {
        return Error(ErrorCode::kUnsupported, "tpm device: PCR " + AlgName(bank.hash) + ":" +
                                                  std::to_string(pcr) + " is not available");
      }
      out[bank.hash][pcr] = Bytes(values->digests[0].buffer,
                                  values->digests[0].buffer + values->digests[0].size);
    }
  }
  return out;
}

Status TpmDevice::ExtendPcr(uint32_t pcr, ByteView sha256_digest) {
  std::lock_guard<std::mutex> lock(mutex_);
  if (pcr >= 24 || sha256_digest.size() != 32) {
    return Error(ErrorCode::kInvalidArgument, "tpm device: PCR_Extend needs PCR 0..23 and 32 bytes");
  }
  TPML_DIGEST_VALUES digests{};
  digests.count = 1;
  digests.digests[0].hashAlg = TPM2_ALG_SHA256;
  std::memcpy(digests.digests[0].digest.sha256, sha256_digest.data(), 32);
  TSS2_RC rc = Esys_PCR_Extend(state_->esys, ESYS_TR_PCR0 + pcr, ESYS_TR_PASSWORD, ESYS_TR_NONE,
                               ESYS_TR_NONE, &digests);
  if (rc != TSS2_RC_SUCCESS) return TssError("PCR_Extend", rc);
  return OkStatus();
}

Result<crypto::SecretBytes> TpmDevice::EcdhZGen(uint32_t key_handle,
                                                std::span<const PcrSelection> pcrs,
                                                ByteView peer_public_key) {
  OPENPCC_RETURN_IF_ERROR(crypto::ValidatePublicKey(crypto::KemId::kP256HkdfSha256, peer_public_key));
  std::lock_guard<std::mutex> lock(mutex_);
  TPM2B_ECC_POINT in{};
  in.point.x.size = 32;
  in.point.y.size = 32;
  std::memcpy(in.point.x.buffer, peer_public_key.subspan(1, 32).data(), 32);
  std::memcpy(in.point.y.buffer, peer_public_key.subspan(33, 32).data(), 32);
  OPENPCC_ASSIGN_OR_RETURN(TPML_PCR_SELECTION selection, ToTpml(pcrs));
  OPENPCC_ASSIGN_OR_RETURN(ESYS_TR session, StartSession(state_->esys, TPM2_SE_POLICY));
  SessionGuard guard(state_->esys, session);
  TPM2B_DIGEST empty{};
  TSS2_RC rc = Esys_PolicyPCR(state_->esys, session, ESYS_TR_NONE, ESYS_TR_NONE, ESYS_TR_NONE,
                              &empty, &selection);
  if (rc != TSS2_RC_SUCCESS) return TssError("PolicyPCR", rc);
  TPM2B_ECC_POINT* out = nullptr;
  rc = Esys_ECDH_ZGen(state_->esys, key_handle, session, ESYS_TR_NONE, ESYS_TR_NONE, &in, &out);
  EsysPtr<TPM2B_ECC_POINT> owner(out);
  if (IsPolicyFailure(rc)) {
    return Error(ErrorCode::kAuthenticationFailed,
                 "tpm device: ECDH_ZGen: the node key's PCR policy is not satisfied (the PCRs "
                 "changed since the key was created)");
  }
  if (rc != TSS2_RC_SUCCESS) return TssError("ECDH_ZGen", rc);
  if (out->point.x.size > 32) {
    return Error(ErrorCode::kInternal, "tpm device: ECDH_ZGen returned an oversized point");
  }
  // Z is the x-coordinate, left-padded to the field size (RFC 9180 DH for P-256).
  crypto::SecretBytes z(32);
  std::memcpy(z.data() + (32 - out->point.x.size), out->point.x.buffer, out->point.x.size);
  crypto::Wipe({out->point.x.buffer, out->point.x.size});
  return z;
}

}  // namespace openpcc::attest::tpm
