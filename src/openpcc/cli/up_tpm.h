// cli/up_tpm.h — the software TPMs of `openpcc up --platform tpm` (development only).
//
// One swtpm per node: manufactured afresh in its own directory by swtpm_setup (RSA EK with an EK
// certificate from a local CA swtpm_localca makes there), then `swtpm socket` on 127.0.0.1 (command
// port P, control port P + 1: the tpm2-tss swtpm TCTI needs them adjacent). Its AK is enrolled with
// the run's operator CA the way a real operator enrols a node's TPM (DESIGN §2.4, docs/attestation.md
// "The node's TPM"): the CA checks the EK certificate against the local CA, sends MakeCredential,
// and certifies the AK only once the TPM returned the secret by ActivateCredential. The PCRs the
// fresh TPM reports are read in the same session, so the release can state them.
//
// The swtpm is a child process (util/subprocess.h): it dies with `up`, and the caller stops it after
// the node that uses it. Not thread-safe; used from `up`'s main thread.
#pragma once

#include <chrono>
#include <cstdint>
#include <filesystem>
#include <map>
#include <string>

#include "openpcc/attest/tpm/credential.h"
#include "openpcc/util/bytes.h"
#include "openpcc/util/result.h"
#include "openpcc/util/subprocess.h"

namespace openpcc::cli {

// Empty when swtpm, swtpm_setup and swtpm_localca are on PATH; otherwise which one is missing.
std::string MissingSwtpmTools();

struct StartedSwtpm {
  Subprocess process;
  std::string tcti;  // "swtpm:host=127.0.0.1,port=P"
};

// Manufactures a TPM in `dir` (created; its log is dir/swtpm.log) and starts swtpm on it.
Result<StartedSwtpm> StartSwtpm(const std::filesystem::path& dir);

struct EnrolledTpm {
  Bytes ak_certificate_der;
  std::map<uint32_t, Bytes> sha256_pcrs;  // the requested PCRs of the SHA-256 bank
};

// Enrols the AK of the TPM at `tcti` (manufactured by StartSwtpm in `dir`) with `ca`, certifying it
// over [now - 1 h, now + validity], and reads `pcrs` of the SHA-256 bank. The TPM connection is
// closed on return (swtpm serves one client at a time; the node connects next).
Result<EnrolledTpm> EnrollSwtpm(const std::string& tcti, const std::filesystem::path& dir,
                                const attest::tpm::OperatorCa& ca, std::chrono::sys_seconds now,
                                std::chrono::seconds validity, const std::vector<uint32_t>& pcrs);

}  // namespace openpcc::cli
