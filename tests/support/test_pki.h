// Test PKI for TLS tests: a CA and a server certificate made with OpenSSL at test time, written as
// PEM files into a fresh directory. Nothing here is used outside tests.
#pragma once

#include <string>

namespace openpcc::testing {

struct TestPki {
  std::string ca_file;    // the CA certificate (what clients trust)
  std::string cert_file;  // the server's certificate followed by the CA certificate
  std::string key_file;   // the server's private key
};

// `subject_alt_names` in OpenSSL's config syntax, e.g. "DNS:localhost,IP:127.0.0.1".
TestPki MakeTestPki(const std::string& name,
                    const std::string& subject_alt_names = "DNS:localhost,IP:127.0.0.1");

}  // namespace openpcc::testing
