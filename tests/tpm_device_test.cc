// The node's TPM against swtpm, started by each test on 127.0.0.1 with a fresh state (an EK
// certificate from a local test CA): AK enrollment by ActivateCredential with an operator CA,
// the node key certified by CertifyCreation, quotes, HPKE opened with ECDH_ZGen inside the TPM, and
// the PCR policy refusing the key after a PCR changes. Every output is checked by the pure
// verifier (verify.h), as a client would.
#include <gtest/gtest.h>

#include <cstdlib>
#include <fstream>

#include "openpcc/attest/tpm/credential.h"
#include "openpcc/attest/tpm/device.h"
#include "openpcc/attest/tpm/verify.h"
#include "openpcc/crypto/hash.h"
#include "openpcc/wire/sealed.h"
#include "support/swtpm.h"
#include "support/vectors.h"

namespace openpcc::attest::tpm {
namespace {

using crypto::Certificate;
using namespace std::chrono_literals;

const std::vector<PcrSelection> kPolicyPcrs = {{alg::kSha256, {0, 2, 7}}};

// With OPENPCC_TPM_SEED_DIR set, writes what swtpm produced as fuzz seeds (fuzz/corpus/<target>/).
void WriteSeed(const char* target, const char* name, ByteView bytes) {
  const char* dir = std::getenv("OPENPCC_TPM_SEED_DIR");
  if (dir == nullptr) return;
  std::filesystem::path path = std::filesystem::path(dir) / target;
  std::filesystem::create_directories(path);
  std::ofstream(path / name, std::ios::binary)
      .write(reinterpret_cast<const char*>(bytes.data()), static_cast<std::streamsize>(bytes.size()));
}

class TpmDeviceTest : public ::testing::Test {
 protected:
  void SetUp() override {
    if (!testing::Swtpm::Available()) {
      GTEST_SKIP() << "swtpm / swtpm_setup not installed (Debian packages swtpm, swtpm-tools)";
    }
    setenv("TSS2_LOG", "all+none", 0);  // expected TPM errors are asserted, not logged
    Result<std::unique_ptr<testing::Swtpm>> swtpm = testing::Swtpm::Start();
    ASSERT_TRUE(swtpm.ok()) << swtpm.error().message();
    swtpm_ = std::move(swtpm).value();
    Result<std::shared_ptr<TpmDevice>> device = TpmDevice::Open(swtpm_->tcti());
    ASSERT_TRUE(device.ok()) << device.error().message();
    device_ = std::move(device).value();
  }
  void TearDown() override {
    ak_.reset();
    ek_.reset();
    device_.reset();
    swtpm_.reset();  // kills swtpm and removes its state, also after a failed assertion
  }

  std::vector<Certificate> Pem(const std::filesystem::path& path) {
    return Certificate::ParseAll(ToBytes(testing::ReadFileOrDie(path))).value();
  }

  // EK, its certificate, the AK, and the AK certificate from an operator CA after
  // ActivateCredential. Times derive from the EK certificate's notBefore, never the wall clock.
  void Enroll() {
    Result<std::unique_ptr<TpmObject>> ek = device_->CreateEk();
    ASSERT_TRUE(ek.ok()) << ek.error().message();
    ek_ = std::move(ek).value();
    Result<Bytes> ek_cert_der = device_->ReadEkCertificate();
    ASSERT_TRUE(ek_cert_der.ok()) << ek_cert_der.error().message();
    Certificate ek_cert = Certificate::ParseOne(*ek_cert_der).value();
    at_ = ek_cert.NotBefore() + 1h;
    Result<std::unique_ptr<TpmObject>> ak = device_->CreateAk();
    ASSERT_TRUE(ak.ok()) << ak.error().message();
    ak_ = std::move(ak).value();

    Result<OperatorCa> ca = OperatorCa::Generate("openpcc test operator CA", at_ - 1h, at_ + 24h);
    ASSERT_TRUE(ca.ok()) << ca.error().message();
    ca_ = std::make_unique<OperatorCa>(std::move(ca).value());
    Result<OperatorCa::Enrollment> enrollment =
        ca_->BeginEnrollment(ek_->tpm_public(), ek_cert, Pem(swtpm_->ek_issuer_pem()),
                             Pem(swtpm_->ek_root_pem()), at_, ak_->tpm_public());
    ASSERT_TRUE(enrollment.ok()) << enrollment.error().message();
    Result<crypto::SecretBytes> secret =
        device_->ActivateCredential(*ak_, *ek_, enrollment->challenge.credential_blob,
                                    enrollment->challenge.encrypted_secret);
    ASSERT_TRUE(secret.ok()) << secret.error().message();
    Result<Certificate> ak_cert = ca_->FinishEnrollment(*enrollment, secret->view(), at_, at_ + 1h);
    ASSERT_TRUE(ak_cert.ok()) << ak_cert.error().message();
    ak_cert_ = std::make_unique<Certificate>(std::move(ak_cert).value());
  }

  AkCertificatePolicy AkPolicy() const {
    return AkCertificatePolicy{*ak_cert_, {}, {ca_->certificate()}, at_ + 10min};
  }
  AttestationKey Ak() const { return AttestationKey::FromTpmPublic(ak_->tpm_public()).value(); }

  std::unique_ptr<testing::Swtpm> swtpm_;
  std::shared_ptr<TpmDevice> device_;
  std::unique_ptr<TpmObject> ek_, ak_;
  std::unique_ptr<OperatorCa> ca_;
  std::unique_ptr<Certificate> ak_cert_;
  std::chrono::sys_seconds at_{};
  Public ek_public_;
};

TEST_F(TpmDeviceTest, EnrollsAkByActivateCredential) {
  ASSERT_NO_FATAL_FAILURE(Enroll());
  EXPECT_EQ(ek_->tpm_public().type, alg::kRsa);
  EXPECT_EQ(ak_->tpm_public().scheme, alg::kEcdsa);
  EXPECT_TRUE(VerifyAkCertificate(Ak(), AkPolicy()).ok());
  // Another CA's root does not vouch for this AK.
  OperatorCa other = OperatorCa::Generate("another CA", at_ - 1h, at_ + 24h).value();
  AkCertificatePolicy wrong_root = AkPolicy();
  wrong_root.roots = {other.certificate()};
  EXPECT_FALSE(VerifyAkCertificate(Ak(), wrong_root).ok());
}

TEST_F(TpmDeviceTest, ActivateCredentialRefusesACredentialForAnotherName) {
  ASSERT_NO_FATAL_FAILURE(Enroll());
  Bytes other_name = ComputeName(ek_->tpm_public()).value();  // not the AK's Name
  CredentialChallenge challenge =
      MakeCredential(ek_->tpm_public(), other_name, Bytes(32, 7)).value();
  Result<crypto::SecretBytes> secret = device_->ActivateCredential(
      *ak_, *ek_, challenge.credential_blob, challenge.encrypted_secret);
  ASSERT_FALSE(secret.ok());
  EXPECT_NE(secret.error().message().find("ActivateCredential"), std::string::npos)
      << secret.error().message();
  // And the CA refuses a secret that is not the one it sent.
  Result<OperatorCa::Enrollment> enrollment = ca_->BeginEnrollment(
      ek_->tpm_public(), Certificate::ParseOne(device_->ReadEkCertificate().value()).value(),
      Pem(swtpm_->ek_issuer_pem()), Pem(swtpm_->ek_root_pem()), at_, ak_->tpm_public());
  ASSERT_TRUE(enrollment.ok());
  EXPECT_NE(ca_->FinishEnrollment(*enrollment, Bytes(32, 0), at_, at_ + 1h)
                .error()
                .message()
                .find("not the one the CA sent"),
            std::string::npos);
}

TEST_F(TpmDeviceTest, QuoteVerifiesWithThePureVerifier) {
  ASSERT_NO_FATAL_FAILURE(Enroll());
  // DESIGN §2.4: a TPM's qualifying data is SHA-256(preimage).
  Bytes qualifying = crypto::Sha256(ToBytes("openpcc evidence v1 test preimage"));
  std::vector<PcrSelection> pcrs = {{alg::kSha256, {0, 1, 2, 3, 7, 16}}};
  Result<SignedAttestation> quote = device_->Quote(*ak_, qualifying, pcrs);
  ASSERT_TRUE(quote.ok()) << quote.error().message();
  PcrValues values = device_->ReadPcrs(pcrs).value();
  QuotePolicy policy;
  policy.expected_nonce = qualifying;
  policy.ak_certificate = AkPolicy();
  Result<QuoteClaims> claims = VerifyQuote(quote->attest, quote->signature, values, Ak(), policy);
  ASSERT_TRUE(claims.ok()) << claims.error().message();
  EXPECT_EQ(claims->signature.sig_alg, alg::kEcdsa);
  EXPECT_EQ(claims->pcrs.at(alg::kSha256).size(), 6u);

  policy.expected_nonce = crypto::Sha256(ToBytes("another preimage"));
  EXPECT_NE(VerifyQuote(quote->attest, quote->signature, values, Ak(), policy)
                .error().message().find("tpm: qualifying data"),
            std::string::npos);
  policy.expected_nonce = qualifying;
  ASSERT_TRUE(device_->ExtendPcr(16, Bytes(32, 1)).ok());
  PcrValues changed = device_->ReadPcrs(pcrs).value();
  EXPECT_NE(VerifyQuote(quote->attest, quote->signature, changed, Ak(), policy)
                .error().message().find("tpm: PCR digest"),
            std::string::npos);
}

TEST_F(TpmDeviceTest, CertifyCreationVerifiesWithThePureVerifier) {
  ASSERT_NO_FATAL_FAILURE(Enroll());
  ek_public_ = ek_->tpm_public();
  ek_.reset();  // swtpm has three transient object slots and no resource manager
  Result<std::unique_ptr<TpmDhKey>> key = device_->CreateNodeKey(kPolicyPcrs);
  ASSERT_TRUE(key.ok()) << key.error().message();
  // The authPolicy the TPM's trial session computed is PolicyPCR recomputed in software.
  PcrValues values = device_->ReadPcrs(kPolicyPcrs).value();
  Bytes expected_policy =
      PolicyPcrDigest(crypto::HashId::kSha256, kPolicyPcrs,
                      SelectedPcrValues(values, kPolicyPcrs).value()).value();
  EXPECT_EQ((*key)->tpm_public().auth_policy, expected_policy);
  EXPECT_EQ((*key)->tpm_public().attributes & attr::kUserWithAuth, 0u);

  Bytes qualifying = crypto::Sha256(ToBytes("binding"));
  Result<SignedAttestation> certified = device_->CertifyCreation(*ak_, **key, qualifying);
  ASSERT_TRUE(certified.ok()) << certified.error().message();
  CreationPolicy policy;
  policy.expected_auth_policy = expected_policy;
  policy.expected_qualifying_data = qualifying;
  ASSERT_TRUE(VerifyAkCertificate(Ak(), AkPolicy()).ok());
  Result<CertifiedKey> verified = VerifyCertifyCreation(
      certified->attest, certified->signature, (*key)->tpm_public().encoded, Ak(), policy);
  ASSERT_TRUE(verified.ok()) << verified.error().message();
  WriteSeed("tpm_attest_fuzz", "swtpm-creation", certified->attest);
  WriteSeed("tpm_signature_fuzz", "swtpm-ecdsa", certified->signature);
  WriteSeed("tpm_public_fuzz", "swtpm-node-key-ecc", (*key)->tpm_public().encoded);
  WriteSeed("tpm_public_fuzz", "swtpm-ak-ecc", ak_->tpm_public().encoded);
  WriteSeed("tpm_public_fuzz", "swtpm-ek-rsa", ek_public_.encoded);
  EXPECT_EQ(P256UncompressedPoint(verified->key).value(), ToBytes((*key)->public_key()));
  EXPECT_EQ(verified->ToJson().at("key").at("attributes").at("fixed_tpm").as_bool(), true);

  // Refusals, each for its reason.
  Public key_public = (*key)->tpm_public();
  key->reset();
  Result<std::unique_ptr<TpmDhKey>> other = device_->CreateNodeKey(kPolicyPcrs);
  ASSERT_TRUE(other.ok()) << other.error().message();
  EXPECT_NE(VerifyCertifyCreation(certified->attest, certified->signature,
                                  (*other)->tpm_public().encoded, Ak(), policy)
                .error().message().find("objectName is not the Name of the certified key"),
            std::string::npos);
  CreationPolicy wrong_policy = policy;
  wrong_policy.expected_auth_policy = Bytes(32, 0);
  EXPECT_NE(VerifyCertifyCreation(certified->attest, certified->signature, key_public.encoded,
                                  Ak(), wrong_policy)
                .error().message().find("authPolicy"),
            std::string::npos);
  Bytes flipped = certified->attest;
  flipped[flipped.size() - 1] ^= 1;
  EXPECT_NE(VerifyCertifyCreation(flipped, certified->signature, key_public.encoded, Ak(), policy)
                .error().message().find("tpm: creation certification signature"),
            std::string::npos);
  // A quote is not a creation certification.
  Result<SignedAttestation> quote = device_->Quote(*ak_, qualifying, kPolicyPcrs);
  ASSERT_TRUE(quote.ok());
  EXPECT_NE(VerifyCertifyCreation(quote->attest, quote->signature, key_public.encoded, Ak(),
                                  policy)
                .error().message().find("not of type CREATION"),
            std::string::npos);
}

TEST_F(TpmDeviceTest, SealedRequestOpensWithEcdhInsideTheTpm) {
  Result<std::unique_ptr<TpmDhKey>> key = device_->CreateNodeKey(kPolicyPcrs);
  ASSERT_TRUE(key.ok()) << key.error().message();
  std::shared_ptr<const crypto::DhPrivateKey> private_key = std::move(key).value();
  wire::SymmetricSuite suite{crypto::KdfId::kHkdfSha256, crypto::AeadId::kAes256Gcm};
  wire::KeyConfig config;
  config.key_id = 1;
  config.kem = crypto::KemId::kP256HkdfSha256;
  config.public_key = ToBytes(private_key->public_key());
  config.suites = {suite};
  wire::NodeKey node = wire::MakeNodeKey(config, private_key).value();

  Bytes sealed;
  std::vector<wire::SealedCandidate> candidates = {{config, suite}};
  auto writer = wire::SealedRequestWriter::Create(candidates, sealed);
  ASSERT_TRUE(writer.ok()) << writer.error().message();
  ASSERT_TRUE(writer->Write(ToBytes("a prompt for "), sealed).ok());
  ASSERT_TRUE(writer->Finish(ToBytes("the TPM node"), sealed).ok());

  wire::SealedRequestReader reader({node});
  crypto::SecretBytes plaintext;
  Status pushed = reader.Push(sealed, plaintext);
  ASSERT_TRUE(pushed.ok()) << pushed.error().message();
  ASSERT_TRUE(reader.Finish(plaintext).ok());
  EXPECT_EQ(AsChars(plaintext.view()), "a prompt for the TPM node");

  // The DH agrees with software DH on the same peer key.
  crypto::SoftwareDhKey peer = crypto::SoftwareDhKey::Generate(crypto::KemId::kP256HkdfSha256).value();
  EXPECT_TRUE(private_key->DiffieHellman(peer.public_key()).value() ==
              peer.DiffieHellman(private_key->public_key()).value());
}

TEST_F(TpmDeviceTest, PcrChangeMakesThePolicyRefuseTheKey) {
  Result<std::unique_ptr<TpmDhKey>> key = device_->CreateNodeKey(kPolicyPcrs);
  ASSERT_TRUE(key.ok()) << key.error().message();
  crypto::SoftwareDhKey peer = crypto::SoftwareDhKey::Generate(crypto::KemId::kP256HkdfSha256).value();
  ASSERT_TRUE((*key)->DiffieHellman(peer.public_key()).ok());
  ASSERT_TRUE(device_->ExtendPcr(7, crypto::Sha256(ToBytes("a different boot"))).ok());
  Result<crypto::SecretBytes> refused = (*key)->DiffieHellman(peer.public_key());
  ASSERT_FALSE(refused.ok());
  EXPECT_EQ(refused.error().code(), ErrorCode::kAuthenticationFailed);
  EXPECT_NE(refused.error().message().find("PCR policy is not satisfied"), std::string::npos)
      << refused.error().message();
  // An invalid peer key never reaches the TPM.
  EXPECT_FALSE((*key)->DiffieHellman(Bytes(65, 4)).ok());
}

}  // namespace
}  // namespace openpcc::attest::tpm
