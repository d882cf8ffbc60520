// tests/support/swtpm.h — a software TPM (swtpm) started by a test, for the TPM-device tests.
//
// Start() manufactures a fresh TPM 2.0 in a temporary directory with swtpm_setup (RSA and ECC EKs,
// EK and platform certificates from a local test CA whose files stay in that directory), then
// runs `swtpm socket` on 127.0.0.1 only: the command port P and the control port P + 1 (the
// tpm2-tss swtpm TCTI needs them adjacent), chosen free at start and retried if taken meanwhile.
// The destructor kills swtpm and removes the directory, whether the test passed or not; swtpm also
// dies with the test process (PR_SET_PDEATHSIG) if the test crashes.
//
// Not thread-safe; one instance per test.
#pragma once

#include <sys/types.h>

#include <filesystem>
#include <memory>
#include <string>

#include "openpcc/util/result.h"

namespace openpcc::testing {

class Swtpm {
 public:
  // True when swtpm and swtpm_setup are installed (Debian swtpm, swtpm-tools).
  static bool Available();
  static Result<std::unique_ptr<Swtpm>> Start();
  ~Swtpm();
  Swtpm(const Swtpm&) = delete;
  Swtpm& operator=(const Swtpm&) = delete;

  // The tpm2-tss TCTI configuration that reaches this TPM.
  std::string tcti() const;
  // The local CA that signed the EK certificate: root, and the issuing intermediate.
  std::filesystem::path ek_root_pem() const { return dir_ / "ca" / "swtpm-localca-rootca-cert.pem"; }
  std::filesystem::path ek_issuer_pem() const { return dir_ / "ca" / "issuercert.pem"; }

 private:
  explicit Swtpm(std::filesystem::path dir) : dir_(std::move(dir)) {}
  Status Launch();
  void Stop();

  std::filesystem::path dir_;
  pid_t pid_ = -1;
  int port_ = 0;
};

}  // namespace openpcc::testing
