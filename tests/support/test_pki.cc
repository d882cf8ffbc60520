#include "support/test_pki.h"

#include <gtest/gtest.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/x509.h>
#include <openssl/x509v3.h>

#include <cstdio>
#include <filesystem>
#include <memory>
#include <stdexcept>

namespace openpcc::testing {
namespace {

struct Free {
  void operator()(EVP_PKEY* p) const { EVP_PKEY_free(p); }
  void operator()(X509* p) const { X509_free(p); }
  void operator()(X509_EXTENSION* p) const { X509_EXTENSION_free(p); }
  void operator()(BIO* p) const { BIO_free(p); }
};
template <typename T>
using Ptr = std::unique_ptr<T, Free>;

void Check(bool ok, const char* what) {
  if (!ok) throw std::runtime_error(std::string("test pki: ") + what);
}

void AddExtension(X509* cert, X509* issuer, int nid, const char* value) {
  X509V3_CTX ctx;
  X509V3_set_ctx_nodb(&ctx);
  X509V3_set_ctx(&ctx, issuer, cert, nullptr, nullptr, 0);
  Ptr<X509_EXTENSION> ext(X509V3_EXT_conf_nid(nullptr, &ctx, nid, value));
  Check(ext != nullptr, "extension");
  Check(X509_add_ext(cert, ext.get(), -1) == 1, "add extension");
}

Ptr<X509> MakeCert(EVP_PKEY* key, const char* common_name, X509* issuer, EVP_PKEY* issuer_key,
                   long serial) {
  Ptr<X509> cert(X509_new());
  Check(X509_set_version(cert.get(), 2) == 1, "version");
  ASN1_INTEGER_set(X509_get_serialNumber(cert.get()), serial);
  X509_gmtime_adj(X509_getm_notBefore(cert.get()), -3600);
  X509_gmtime_adj(X509_getm_notAfter(cert.get()), 24 * 3600);
  Check(X509_set_pubkey(cert.get(), key) == 1, "pubkey");
  X509_NAME* name = X509_get_subject_name(cert.get());
  X509_NAME_add_entry_by_txt(name, "CN", MBSTRING_ASC,
                             reinterpret_cast<const unsigned char*>(common_name), -1, -1, 0);
  X509* issuer_cert = issuer ? issuer : cert.get();
  Check(X509_set_issuer_name(cert.get(), X509_get_subject_name(issuer_cert)) == 1, "issuer");
  (void)issuer_key;
  return cert;
}

void WritePem(const std::string& path, X509* first, X509* second, EVP_PKEY* key) {
  FILE* f = std::fopen(path.c_str(), "w");
  Check(f != nullptr, "open output file");
  if (first) PEM_write_X509(f, first);
  if (second) PEM_write_X509(f, second);
  if (key) PEM_write_PrivateKey(f, key, nullptr, nullptr, 0, nullptr, nullptr);
  std::fclose(f);
}

}  // namespace

TestPki MakeTestPki(const std::string& name, const std::string& subject_alt_names) {
  std::string dir = ::testing::TempDir() + "openpcc-pki-" + name;
  std::filesystem::create_directories(dir);

  Ptr<EVP_PKEY> ca_key(EVP_EC_gen("P-256"));
  Check(ca_key != nullptr, "CA key");
  Ptr<X509> ca = MakeCert(ca_key.get(), "OpenPCC test CA", nullptr, nullptr, 1);
  AddExtension(ca.get(), ca.get(), NID_basic_constraints, "critical,CA:TRUE");
  AddExtension(ca.get(), ca.get(), NID_key_usage, "critical,keyCertSign,cRLSign");
  AddExtension(ca.get(), ca.get(), NID_subject_key_identifier, "hash");
  Check(X509_sign(ca.get(), ca_key.get(), EVP_sha256()) > 0, "sign CA");

  Ptr<EVP_PKEY> leaf_key(EVP_EC_gen("P-256"));
  Check(leaf_key != nullptr, "leaf key");
  Ptr<X509> leaf = MakeCert(leaf_key.get(), "localhost", ca.get(), ca_key.get(), 2);
  AddExtension(leaf.get(), ca.get(), NID_basic_constraints, "critical,CA:FALSE");
  AddExtension(leaf.get(), ca.get(), NID_key_usage, "critical,digitalSignature");
  AddExtension(leaf.get(), ca.get(), NID_ext_key_usage, "serverAuth");
  AddExtension(leaf.get(), ca.get(), NID_subject_alt_name, subject_alt_names.c_str());
  AddExtension(leaf.get(), ca.get(), NID_authority_key_identifier, "keyid:always");
  Check(X509_sign(leaf.get(), ca_key.get(), EVP_sha256()) > 0, "sign leaf");

  TestPki pki{dir + "/ca.pem", dir + "/server-chain.pem", dir + "/server-key.pem"};
  WritePem(pki.ca_file, ca.get(), nullptr, nullptr);
  WritePem(pki.cert_file, leaf.get(), ca.get(), nullptr);
  WritePem(pki.key_file, nullptr, nullptr, leaf_key.get());
  return pki;
}

}  // namespace openpcc::testing
