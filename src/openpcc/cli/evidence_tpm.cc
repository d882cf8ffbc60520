#include "openpcc/cli/evidence_tpm.h"

#include <cstdio>
#include <fstream>
#include <iterator>

#include <boost/json/serialize.hpp>

#include "openpcc/attest/tpm/evidence.h"
#include "openpcc/cli/options.h"
#include "openpcc/crypto/x509.h"
#include "openpcc/util/clock.h"

namespace openpcc::cli {
namespace {

Result<Bytes> ReadFile(const std::string& path, std::string_view flag) {
  std::ifstream in(path, std::ios::binary);
  if (!in) {
    return Error(ErrorCode::kInvalidArgument,
                 "evidence: cannot read " + std::string(flag) + " file '" + path + "'");
  }
  return Bytes((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
}

int Fail(const Error& error) {
  std::fprintf(stderr, "openpcc evidence verify: %s\n", error.ToString().c_str());
  return kExitFailure;
}

}  // namespace

int RunEvidenceVerifyTpm(const Args& args) {
  std::string type, quote, signature, pcrs, ak, hcl, nonce, ak_cert, at;
  std::vector<std::string> roots, intermediates;
  OptionSet options("evidence verify --type tpm [options]",
                    "Verifies a TPM 2.0 quote offline: the AK's signature over the TPMS_ATTEST, the "
                    "qualifying data, the PCR digest over the given PCR values and, with --ak-cert, "
                    "the AK certificate to the given roots. Prints the verified claims as JSON.");
  options.DisableConfigFile();
  options.AddString("type", &type, "evidence type (tpm)", "TYPE");
  options.AddString("quote", &quote, "TPMS_ATTEST file (required)", "FILE");
  options.AddString("signature", &signature,
                    "TPMT_SIGNATURE file, or a raw RSA signature for an RSA AK (required)", "FILE");
  options.AddString("pcrs", &pcrs, "PCR values: 'INDEX HEX' or 'BANK:INDEX HEX' lines (required)",
                    "FILE");
  options.AddString("ak", &ak, "AK public key: TPMT_PUBLIC, TPM2B_PUBLIC or SPKI (DER/PEM)", "FILE");
  options.AddString("hcl-report", &hcl, "Azure HCL report carrying the AK (instead of --ak)", "FILE");
  options.AddString("nonce", &nonce, "expected qualifying data (extraData), hex", "HEX");
  options.AddString("ak-cert", &ak_cert, "AK certificate (DER or PEM)", "FILE");
  options.AddList("intermediates", &intermediates, "intermediate certificates (repeatable)", "FILE");
  options.AddList("roots", &roots, "trusted roots for the AK certificate (repeatable, DER or PEM)",
                  "FILE");
  options.AddString("at", &at, "certificate validity time, YYYY-MM-DDTHH:MM:SSZ (default: now)",
                    "TIME");
  Result<OptionSet::Outcome> parsed = options.Parse(args);
  if (!parsed.ok()) {
    std::fprintf(stderr, "openpcc evidence verify: %s\n", parsed.error().message().c_str());
    return kExitUsage;
  }
  if (*parsed == OptionSet::Outcome::kHelpShown) return kExitOk;
  if (quote.empty() || signature.empty() || pcrs.empty() || (ak.empty() == hcl.empty())) {
    std::fprintf(stderr,
                 "openpcc evidence verify: --quote, --signature, --pcrs and one of --ak or "
                 "--hcl-report are required\n");
    return kExitUsage;
  }
  attest::tpm::TpmEvidenceInput input;
  Result<Bytes> bytes = ReadFile(quote, "--quote");
  if (!bytes.ok()) return Fail(bytes.error());
  input.quote = std::move(bytes).value();
  if (!(bytes = ReadFile(signature, "--signature")).ok()) return Fail(bytes.error());
  input.signature = std::move(bytes).value();
  if (!(bytes = ReadFile(pcrs, "--pcrs")).ok()) return Fail(bytes.error());
  input.pcrs = std::string(AsChars(*bytes));
  if (!ak.empty()) {
    if (!(bytes = ReadFile(ak, "--ak")).ok()) return Fail(bytes.error());
    input.ak = std::move(bytes).value();
  } else {
    if (!(bytes = ReadFile(hcl, "--hcl-report")).ok()) return Fail(bytes.error());
    input.hcl_report = std::move(bytes).value();
  }
  if (!nonce.empty()) {
    Result<Bytes> decoded = HexDecode(nonce);
    if (!decoded.ok()) {
      std::fprintf(stderr, "openpcc evidence verify: --nonce is not hex\n");
      return kExitUsage;
    }
    input.nonce = std::move(decoded).value();
  }
  if (!ak_cert.empty()) {
    if (!(bytes = ReadFile(ak_cert, "--ak-cert")).ok()) return Fail(bytes.error());
    input.ak_certificate = std::move(bytes).value();
  }
  for (const std::string& path : intermediates) {
    if (!(bytes = ReadFile(path, "--intermediates")).ok()) return Fail(bytes.error());
    input.intermediates.push_back(std::move(bytes).value());
  }
  for (const std::string& path : roots) {
    if (!(bytes = ReadFile(path, "--roots")).ok()) return Fail(bytes.error());
    input.roots.push_back(std::move(bytes).value());
  }
  if (at.empty()) {
    input.at = SystemClock::Instance().NowSeconds();
  } else {
    Result<std::chrono::sys_seconds> parsed_at = crypto::ParseUtcTime(at);
    if (!parsed_at.ok()) {
      std::fprintf(stderr, "openpcc evidence verify: --at: %s\n", parsed_at.error().message().c_str());
      return kExitUsage;
    }
    input.at = *parsed_at;
  }
  Result<boost::json::object> claims = attest::tpm::VerifyTpmEvidence(input);
  if (!claims.ok()) return Fail(claims.error());
  std::printf("%s\n", boost::json::serialize(*claims).c_str());
  return kExitOk;
}

}  // namespace openpcc::cli
