#include "openpcc/cli/up_tpm.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <cstdlib>
#include <fstream>
#include <thread>
#include <vector>

#include "openpcc/attest/tpm/device.h"
#include "openpcc/cli/cli_util.h"
#include "openpcc/crypto/x509.h"

namespace openpcc::cli {
namespace {

namespace fs = std::filesystem;
using namespace std::chrono_literals;

// The executable's full path on PATH, or empty.
std::string OnPath(std::string_view name) {
  const char* path = std::getenv("PATH");
  std::string_view rest = path != nullptr ? path : "";
  while (!rest.empty()) {
    const size_t colon = rest.find(':');
    const fs::path candidate = fs::path(std::string(rest.substr(0, colon))) / name;
    if (access(candidate.c_str(), X_OK) == 0) return candidate.string();
    if (colon == std::string_view::npos) break;
    rest = rest.substr(colon + 1);
  }
  return "";
}

std::string Tail(const fs::path& log) {
  Result<Bytes> bytes = ReadInputFile("swtpm log", log.string());
  const std::string_view text = bytes.ok() ? AsChars(*bytes) : std::string_view();
  return std::string(text.size() > 1000 ? text.substr(text.size() - 1000) : text);
}

bool BindLoopback(int fd, int port) {
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  addr.sin_port = htons(static_cast<uint16_t>(port));
  return bind(fd, reinterpret_cast<sockaddr*>(&addr), sizeof(addr)) == 0;
}

// A loopback port that is free now with the next one free too, or 0. swtpm binds them a moment
// later; if another process took one meanwhile swtpm exits and the caller tries another pair.
int FreePortPair() {
  for (int attempt = 0; attempt < 50; ++attempt) {
    const int fd = socket(AF_INET, SOCK_STREAM, 0);
    if (fd < 0) return 0;
    sockaddr_in addr{};
    socklen_t length = sizeof(addr);
    if (!BindLoopback(fd, 0) || getsockname(fd, reinterpret_cast<sockaddr*>(&addr), &length) != 0) {
      close(fd);
      continue;
    }
    const int port = ntohs(addr.sin_port);
    const int next = socket(AF_INET, SOCK_STREAM, 0);
    const bool ok = port < 65535 && next >= 0 && BindLoopback(next, port + 1);
    if (next >= 0) close(next);
    close(fd);
    if (ok) return port;
  }
  return 0;
}

bool Connects(int port) {
  const int fd = socket(AF_INET, SOCK_STREAM, 0);
  if (fd < 0) return false;
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  addr.sin_port = htons(static_cast<uint16_t>(port));
  const bool ok = connect(fd, reinterpret_cast<sockaddr*>(&addr), sizeof(addr)) == 0;
  close(fd);
  return ok;
}

Status WriteText(const fs::path& path, const std::string& text) {
  std::ofstream out(path);
  out << text;
  out.close();
  if (!out) return Error(ErrorCode::kFailedPrecondition, "cannot write " + path.string());
  return OkStatus();
}

Result<std::vector<crypto::Certificate>> ReadCertificates(const fs::path& path) {
  OPENPCC_ASSIGN_OR_RETURN(Bytes pem, ReadInputFile("swtpm local CA certificate", path.string()));
  return crypto::Certificate::ParseAll(pem);
}

}  // namespace

std::string MissingSwtpmTools() {
  for (const char* tool : {"swtpm", "swtpm_setup", "swtpm_localca"}) {
    if (OnPath(tool).empty()) return tool;
  }
  return "";
}

Result<StartedSwtpm> StartSwtpm(const fs::path& dir) {
  std::error_code ec;
  fs::create_directories(dir / "state", ec);
  fs::create_directories(dir / "ca", ec);
  if (ec) return Error(ErrorCode::kFailedPrecondition, "swtpm: cannot create " + dir.string() + ": " + ec.message());
  // swtpm_setup reads its certificate tool's configuration from files; all of them stay in `dir`,
  // so a run never touches the user's ~/.config/swtpm_setup or /var/lib/swtpm-localca.
  OPENPCC_RETURN_IF_ERROR(WriteText(dir / "localca.conf", "statedir = " + (dir / "ca").string() + "\n" +
                                                              "signingkey = " + (dir / "ca" / "signkey.pem").string() + "\n" +
                                                              "issuercert = " + (dir / "ca" / "issuercert.pem").string() + "\n" +
                                                              "certserial = " + (dir / "ca" / "certserial").string() + "\n"));
  OPENPCC_RETURN_IF_ERROR(WriteText(dir / "localca.options",
                                    "--platform-manufacturer OpenPCC\n--platform-version 2.1\n--platform-model up\n"));
  OPENPCC_RETURN_IF_ERROR(WriteText(dir / "swtpm_setup.conf",
                                    "create_certs_tool = " + OnPath("swtpm_localca") + "\n" +
                                        "create_certs_tool_config = " + (dir / "localca.conf").string() + "\n" +
                                        "create_certs_tool_options = " + (dir / "localca.options").string() + "\n" +
                                        "active_pcr_banks = sha256\n"));
  const fs::path log = dir / "swtpm.log";
  SubprocessOptions setup;
  setup.argv = {OnPath("swtpm_setup"), "--tpm2", "--tpmstate", (dir / "state").string(), "--create-ek-cert",
                "--create-platform-cert", "--overwrite", "--config", (dir / "swtpm_setup.conf").string()};
  setup.log_path = log.string();
  OPENPCC_ASSIGN_OR_RETURN(Subprocess setup_process, Subprocess::Start(setup));
  if (const int code = setup_process.Wait(); code != 0) {
    return Error(ErrorCode::kFailedPrecondition,
                 "swtpm_setup failed (exit " + std::to_string(code) + "): " + Tail(log));
  }

  for (int attempt = 0; attempt < 5; ++attempt) {
    const int port = FreePortPair();
    if (port == 0) return Error(ErrorCode::kFailedPrecondition, "swtpm: no free loopback port pair");
    SubprocessOptions options;
    options.argv = {OnPath("swtpm"), "socket", "--tpm2", "--tpmstate", "dir=" + (dir / "state").string(),
                    "--server", "type=tcp,port=" + std::to_string(port) + ",bindaddr=127.0.0.1",
                    "--ctrl", "type=tcp,port=" + std::to_string(port + 1) + ",bindaddr=127.0.0.1",
                    "--flags", "not-need-init,startup-clear"};
    options.log_path = log.string();
    OPENPCC_ASSIGN_OR_RETURN(Subprocess process, Subprocess::Start(options));
    for (int wait = 0; wait < 100 && process.Running(); ++wait) {
      if (Connects(port + 1)) {
        return StartedSwtpm{std::move(process), "swtpm:host=127.0.0.1,port=" + std::to_string(port)};
      }
      std::this_thread::sleep_for(50ms);
    }
    process.Stop(2s);  // most likely a port was taken meanwhile: another pair
  }
  return Error(ErrorCode::kFailedPrecondition, "swtpm did not start: " + Tail(log));
}

Result<EnrolledTpm> EnrollSwtpm(const std::string& tcti, const fs::path& dir, const attest::tpm::OperatorCa& ca,
                                std::chrono::sys_seconds now, std::chrono::seconds validity,
                                const std::vector<uint32_t>& pcrs) {
  namespace tpm = attest::tpm;
  OPENPCC_ASSIGN_OR_RETURN(std::shared_ptr<tpm::TpmDevice> device, tpm::TpmDevice::Open(tcti));
  OPENPCC_ASSIGN_OR_RETURN(std::unique_ptr<tpm::TpmObject> ek, device->CreateEk());
  OPENPCC_ASSIGN_OR_RETURN(Bytes ek_der, device->ReadEkCertificate());
  OPENPCC_ASSIGN_OR_RETURN(crypto::Certificate ek_certificate, crypto::Certificate::ParseOne(ek_der));
  OPENPCC_ASSIGN_OR_RETURN(std::vector<crypto::Certificate> ek_issuer, ReadCertificates(dir / "ca" / "issuercert.pem"));
  OPENPCC_ASSIGN_OR_RETURN(std::vector<crypto::Certificate> ek_root,
                           ReadCertificates(dir / "ca" / "swtpm-localca-rootca-cert.pem"));
  // The EK certificate was made a moment ago, with a validity from the second it was made.
  const std::chrono::sys_seconds at = std::max(now, ek_certificate.NotBefore());
  OPENPCC_ASSIGN_OR_RETURN(std::unique_ptr<tpm::TpmObject> ak, device->CreateAk());
  OPENPCC_ASSIGN_OR_RETURN(tpm::OperatorCa::Enrollment enrollment,
                           ca.BeginEnrollment(ek->tpm_public(), ek_certificate, ek_issuer, ek_root, at, ak->tpm_public()));
  OPENPCC_ASSIGN_OR_RETURN(crypto::SecretBytes secret,
                           device->ActivateCredential(*ak, *ek, enrollment.challenge.credential_blob,
                                                      enrollment.challenge.encrypted_secret));
  OPENPCC_ASSIGN_OR_RETURN(crypto::Certificate ak_certificate,
                           ca.FinishEnrollment(enrollment, secret.view(), at - std::chrono::hours(1), at + validity));
  // EK and AK are flushed before the PCR read: without a resource manager swtpm has three slots.
  ak.reset();
  ek.reset();
  const std::vector<tpm::PcrSelection> selection = {{tpm::alg::kSha256, pcrs}};
  OPENPCC_ASSIGN_OR_RETURN(tpm::PcrValues values, device->ReadPcrs(selection));
  EnrolledTpm out;
  out.ak_certificate_der = ak_certificate.Der();
  out.sha256_pcrs = values[tpm::alg::kSha256];
  if (out.sha256_pcrs.size() != pcrs.size()) {
    return Error(ErrorCode::kFailedPrecondition, "swtpm: the TPM did not report every requested SHA-256 PCR");
  }
  return out;
}

}  // namespace openpcc::cli
