#include "support/test_crl.h"

#include <openssl/asn1.h>
#include <openssl/pem.h>

#include <memory>
#include <stdexcept>
#include <string>

#include "openpcc/crypto/openssl_ptr.h"
#include "openpcc/crypto/x509.h"

namespace openpcc::testing {
namespace {

// Test set-up has no caller to report to: a failed OpenSSL call is a broken test, so it throws
// and gtest names the test that threw.
void Check(bool ok, const char* what) {
  if (!ok) throw std::runtime_error(std::string("MakeTestCrl: ") + what + " failed");
}

using Asn1TimePtr = std::unique_ptr<ASN1_TIME, crypto::OpenSslDeleter<ASN1_TIME, ASN1_TIME_free>>;
using Asn1IntegerPtr = std::unique_ptr<ASN1_INTEGER, crypto::OpenSslDeleter<ASN1_INTEGER, ASN1_INTEGER_free>>;

}  // namespace

Bytes MakeTestCrl(const X509_NAME* issuer, EVP_PKEY* issuer_key, const std::vector<long>& serials,
                  std::chrono::sys_seconds this_update, std::chrono::sys_seconds next_update,
                  const EVP_MD* digest) {
  crypto::X509CrlPtr crl(X509_CRL_new());
  Check(crl != nullptr, "X509_CRL_new");
  Check(X509_CRL_set_version(crl.get(), 1) == 1, "X509_CRL_set_version");
  Check(X509_CRL_set_issuer_name(crl.get(), issuer) == 1, "X509_CRL_set_issuer_name");
  Asn1TimePtr last(ASN1_TIME_set(nullptr, this_update.time_since_epoch().count()));
  Asn1TimePtr next(ASN1_TIME_set(nullptr, next_update.time_since_epoch().count()));
  Check(last != nullptr && next != nullptr, "ASN1_TIME_set");
  Check(X509_CRL_set1_lastUpdate(crl.get(), last.get()) == 1, "X509_CRL_set1_lastUpdate");
  Check(X509_CRL_set1_nextUpdate(crl.get(), next.get()) == 1, "X509_CRL_set1_nextUpdate");
  for (long serial : serials) {
    X509_REVOKED* entry = X509_REVOKED_new();
    Asn1IntegerPtr number(ASN1_INTEGER_new());
    Check(entry != nullptr && number != nullptr && ASN1_INTEGER_set(number.get(), serial) == 1 &&
              X509_REVOKED_set_serialNumber(entry, number.get()) == 1 &&
              X509_REVOKED_set_revocationDate(entry, last.get()) == 1,
          "X509_REVOKED");
    Check(X509_CRL_add0_revoked(crl.get(), entry) == 1, "X509_CRL_add0_revoked");  // owns entry now
  }
  Check(X509_CRL_sort(crl.get()) == 1, "X509_CRL_sort");
  Check(X509_CRL_sign(crl.get(), issuer_key, digest) > 0, "X509_CRL_sign");
  unsigned char* der = nullptr;
  const int length = i2d_X509_CRL(crl.get(), &der);
  Check(length > 0, "i2d_X509_CRL");
  Bytes out(der, der + length);
  OPENSSL_free(der);
  return out;
}

std::string TestCrlPem(ByteView der) {
  const unsigned char* p = der.data();
  crypto::X509CrlPtr crl(d2i_X509_CRL(nullptr, &p, static_cast<long>(der.size())));
  Check(crl != nullptr, "d2i_X509_CRL");
  crypto::BioPtr bio(BIO_new(BIO_s_mem()));
  Check(bio != nullptr && PEM_write_bio_X509_CRL(bio.get(), crl.get()) == 1, "PEM_write_bio_X509_CRL");
  char* data = nullptr;
  const long n = BIO_get_mem_data(bio.get(), &data);
  return std::string(data, static_cast<size_t>(n));
}

}  // namespace openpcc::testing
