// `openpcc evidence verify`, run as a process on the shared vectors: verified claims as JSON with
// exit 0, and each tampered input refused with exit 1 and the failed check named on stderr.
#include <gtest/gtest.h>

#include <boost/json.hpp>

#include <filesystem>
#include <fstream>
#include <map>
#include <regex>
#include <sstream>

#include "support/cli.h"
#include "support/vectors.h"

namespace openpcc {
namespace {

using testing::RunCli;

std::string Vector(const std::string& relative) {
  return (std::filesystem::path(testing::VectorsDir()) / relative).string();
}

// A copy of a vector with one byte flipped, in a temp file.
std::string Tampered(const std::string& relative, size_t offset) {
  std::string bytes = testing::ReadVectorFile(relative);
  bytes.at(offset) = static_cast<char>(bytes.at(offset) ^ 0x01);
  std::string path = (std::filesystem::temp_directory_path() /
                      ("openpcc-tampered-" + std::to_string(offset) + "-" +
                       std::filesystem::path(relative).filename().string()))
                         .string();
  std::ofstream(path, std::ios::binary) << bytes;
  return path;
}

constexpr const char* kError = "openpcc evidence verify: ";

// The trustee Milan report: ID_KEY_DIGEST is not zero, so these arguments opt out of that check.
std::vector<std::string> SnpArgs(const std::string& report) {
  return {"evidence",  "verify", "--type", "sev-snp", "--report", report, "--vek",
          Vector("trustee/snp/test-vcek.der"), "--chain",
          Vector("go-sev-guest/trust/ask_ark_milan.pem"), "--at", "2025-07-01",
          "--id-key-digest", "any"};
}

TEST(EvidenceCliTest, VerifiesSevSnpAndPrintsClaims) {
  testing::CliResult r = RunCli(SnpArgs(Vector("trustee/snp/test-report.bin")));
  ASSERT_EQ(r.exit_code, 0) << r.err;
  boost::json::value out = boost::json::parse(r.out);
  EXPECT_EQ(out.at("verified"), true);
  EXPECT_EQ(out.at("claims").at("family"), "Milan");
  EXPECT_EQ(std::string(out.at("claims").at("measurement").as_string()).substr(0, 8), "a1f39304");
}

TEST(EvidenceCliTest, SevSnpHostDataAndIdKeyDigestDefaultToZero) {
  const std::string digest =
      "0356215882a825279a85b300b0b742931d113bf7e32dde2e50ffde7ec743ca491ecdd7f336dc28a6e0b2bb57af7a44a3";
  std::vector<std::string> args = SnpArgs(Vector("trustee/snp/test-report.bin"));
  args.resize(args.size() - 2);  // without --id-key-digest any: the library default, zero
  testing::CliResult zero = RunCli(args);
  EXPECT_EQ(zero.exit_code, 1);
  EXPECT_EQ(zero.err, std::string(kError) + "sev-snp: policy: ID_KEY_DIGEST is not zero\n");
  std::vector<std::string> exact = args;
  exact.insert(exact.end(), {"--id-key-digest", digest});
  EXPECT_EQ(RunCli(exact).exit_code, 0);
  std::vector<std::string> wrong = args;
  wrong.insert(wrong.end(), {"--id-key-digest", std::string(96, '0')});
  testing::CliResult refused = RunCli(wrong);
  EXPECT_EQ(refused.exit_code, 1);
  EXPECT_EQ(refused.err, std::string(kError) + "sev-snp: policy: ID_KEY_DIGEST is not the expected value\n");
  std::vector<std::string> host = SnpArgs(Vector("trustee/snp/test-report.bin"));
  host.insert(host.end(), {"--host-data", std::string(63, '1') + "2"});
  testing::CliResult host_refused = RunCli(host);
  EXPECT_EQ(host_refused.exit_code, 1);
  EXPECT_EQ(host_refused.err, std::string(kError) + "sev-snp: policy: HOST_DATA is not the expected value\n");
  std::vector<std::string> bad = SnpArgs(Vector("trustee/snp/test-report.bin"));
  bad.insert(bad.end(), {"--host-data", "zz"});
  testing::CliResult usage = RunCli(bad);
  EXPECT_EQ(usage.exit_code, 2);
  EXPECT_EQ(usage.err, std::string(kError) + "--host-data: expected 32 bytes as hex, or 'any'\n");
}

TEST(EvidenceCliTest, SevSnpHexReportPemVcekAndCrl) {
  // virtee's report is hex text; with AMD's Milan CRL it verifies under the default policy.
  std::vector<std::string> args = {"evidence", "verify", "--type", "sev-snp", "--at", "2025-07-01",
                                   "--report", Vector("virtee-sev/report_milan.hex"), "--vek",
                                   Vector("virtee-sev/vcek_milan.der"), "--chain",
                                   Vector("virtee-sev/cert_chain_milan"), "--crl",
                                   Vector("openpcc/extracted/test_amd_milan_crl.pem")};
  testing::CliResult ok = RunCli(args);
  ASSERT_EQ(ok.exit_code, 0) << ok.err;
  EXPECT_EQ(std::string(boost::json::parse(ok.out).at("claims").at("measurement").as_string()).substr(0, 8),
            "7a1e5c26");
  // Past the CRL's nextUpdate (2026-05-12) the CRL, not the certificates, is refused.
  args[5] = "2026-06-01";
  testing::CliResult stale = RunCli(args);
  EXPECT_EQ(stale.exit_code, 1);
  EXPECT_NE(stale.err.find("sev-snp: VCEK chain to ARK-Milan: certificate chain: CRL has expired"),
            std::string::npos)
      << stale.err;
  // A certificate given as the CRL is refused as such.
  args[5] = "2025-07-01";
  args.back() = Vector("virtee-sev/vcek_milan.der");
  testing::CliResult not_crl = RunCli(args);
  EXPECT_EQ(not_crl.exit_code, 1);
  EXPECT_EQ(not_crl.err, std::string(kError) + "sev-snp: crl: not an X.509 CRL in DER or PEM\n");
  // The Azure HCL report with its PEM VCEK+ASK+ARK (no --chain); its ID_KEY_DIGEST is stated.
  testing::CliResult pem = RunCli(
      {"evidence", "verify", "--type", "sev-snp", "--at", "2025-07-01", "--report",
       Vector("trustee/az-snp-vtpm/hcl-report.bin"), "--vek", Vector("trustee/az-snp-vtpm/vcek.pem"),
       "--id-key-digest",
       "0356215882a825279a85b300b0b742931d113bf7e32dde2e50ffde7ec743ca491ecdd7f336dc28a6e0b2bb57af7a44a3"});
  ASSERT_EQ(pem.exit_code, 0) << pem.err;
  EXPECT_TRUE(boost::json::parse(pem.out).at("claims").as_object().contains("hcl"));
}

TEST(EvidenceCliTest, RefusesTamperedSevSnpByCheck) {
  // 0x90 is the first byte of MEASUREMENT, inside the signed region: the signature fails.
  testing::CliResult flipped = RunCli(SnpArgs(Tampered("trustee/snp/test-report.bin", 0x90)));
  EXPECT_EQ(flipped.exit_code, 1);
  EXPECT_EQ(flipped.err,
            std::string(kError) + "sev-snp: report signature with the VCEK: signature does not verify\n");
  EXPECT_TRUE(flipped.out.empty());
  // A VCEK of another chip.
  std::vector<std::string> args = SnpArgs(Vector("trustee/snp/test-report.bin"));
  args[7] = Vector("go-sev-guest/vcek.testcer");
  testing::CliResult other = RunCli(args);
  EXPECT_EQ(other.exit_code, 1);
  EXPECT_EQ(other.err, std::string(kError) +
                           "sev-snp: VCEK hwID does not match the report's CHIP_ID (a VCEK of another chip)\n");
  // The go-sev-guest report was taken from a debug guest: always refused.
  testing::CliResult debug = RunCli({"evidence", "verify", "--type", "sev-snp", "--report",
                                     Vector("go-sev-guest/attestation.bin"), "--vek",
                                     Vector("go-sev-guest/vcek.testcer"), "--chain",
                                     Vector("go-sev-guest/trust/ask_ark_milan.pem"), "--at",
                                     "2025-01-01"});
  EXPECT_EQ(debug.exit_code, 1);
  EXPECT_EQ(debug.err, std::string(kError) + "sev-snp: policy: DEBUG is set\n");
}

std::vector<std::string> TdxArgs(const std::string& quote, const std::string& at) {
  const std::string d = "go-tdx-guest/";
  return {"evidence", "verify", "--type", "tdx", "--at", at, "--quote", quote,
          "--tcb-info", Vector(d + "sample_tcbInfo_response"), "--tcb-info-chain",
          Vector(d + "tcbinfo_issuer_chain.pem"), "--qe-identity",
          Vector(d + "sample_qeIdentity_response"), "--qe-identity-chain",
          Vector(d + "qeidentity_issuer_chain.pem")};
}

std::vector<std::string> WithCrls(std::vector<std::string> args) {
  const std::string d = "go-tdx-guest/";
  args.insert(args.end(), {"--pck-crl", Vector(d + "pckcrl"), "--pck-crl-chain",
                           Vector(d + "pckcrl_issuer_chain.pem"), "--root-crl",
                           Vector(d + "rootcrl.der")});
  return args;
}

TEST(EvidenceCliTest, TdxStatusIsPolicy) {
  std::string quote = Vector("go-tdx-guest/tdx_prod_quote_SPR_E4.dat");
  testing::CliResult strict = RunCli(TdxArgs(quote, "2023-07-01"));
  EXPECT_EQ(strict.exit_code, 1);
  EXPECT_EQ(strict.err, std::string(kError) +
                            "tdx: policy: TCB status NoMatchingLevel is not accepted (accepted: UpToDate)\n");
  // Past the collateral's nextUpdate (2023-07-18) the collateral itself is refused.
  testing::CliResult stale = RunCli(TdxArgs(quote, "2023-08-01"));
  EXPECT_EQ(stale.exit_code, 1);
  EXPECT_NE(stale.err.find("tdx: TCB info"), std::string::npos) << stale.err;
  EXPECT_NE(stale.err.find("nextUpdate"), std::string::npos) << stale.err;
}

// tdx_quote_4 with the 2023 collateral and both CRLs: every signature, chain, collateral, CRL and
// TCB check passes (TCB UpToDate), and the only refusal is the policy's, for a debug TD. No TDX
// vector passes the default policy (docs/attestation.md).
TEST(EvidenceCliTest, TdxPassesEveryCheckThroughTheCliButDebug) {
  testing::CliResult r = RunCli(WithCrls(TdxArgs(Vector("trustee/tdx/tdx_quote_4.dat"), "2023-07-01")));
  EXPECT_EQ(r.exit_code, 1);
  EXPECT_EQ(r.err, std::string(kError) + "tdx: policy: TD attribute DEBUG is set\n");
  EXPECT_TRUE(r.out.empty());
  // The CRL flags are read and checked: the root CRL in place of the PCK CRL is refused by name.
  std::vector<std::string> wrong = WithCrls(TdxArgs(Vector("trustee/tdx/tdx_quote_4.dat"), "2023-07-01"));
  wrong[wrong.size() - 5] = Vector("go-tdx-guest/rootcrl.der");
  testing::CliResult issuer = RunCli(wrong);
  EXPECT_EQ(issuer.exit_code, 1);
  EXPECT_NE(issuer.err.find("tdx: PCK CRL is issued by "), std::string::npos) << issuer.err;
  EXPECT_NE(issuer.err.find("not by the PCK's issuer"), std::string::npos) << issuer.err;
  // A PCK CRL without its chain is a usage error.
  std::vector<std::string> alone = TdxArgs(Vector("trustee/tdx/tdx_quote_4.dat"), "2023-07-01");
  alone.insert(alone.end(), {"--pck-crl", Vector("go-tdx-guest/pckcrl")});
  testing::CliResult usage = RunCli(alone);
  EXPECT_EQ(usage.exit_code, 2);
  EXPECT_EQ(usage.err, std::string(kError) + "--pck-crl and --pck-crl-chain go together\n");
  // Not a CRL as the root CRL.
  std::vector<std::string> garbage = WithCrls(TdxArgs(Vector("trustee/tdx/tdx_quote_4.dat"), "2023-07-01"));
  garbage.back() = Vector("go-tdx-guest/sample_tcbInfo_response");
  testing::CliResult not_crl = RunCli(garbage);
  EXPECT_NE(not_crl.exit_code, 0);
  EXPECT_NE(not_crl.err.find("tdx: root CRL: "), std::string::npos) << not_crl.err;
}

TEST(EvidenceCliTest, VerifiesNvidiaGpuAndChecksNonce) {
  const std::string d = "nvidia-attestation-sdk/";
  std::vector<std::string> args = {"evidence", "verify", "--type", "nvidia-gpu", "--evidence",
                                   Vector(d + "hopperAttestationReport.txt"), "--certs",
                                   Vector(d + "hopperCertChain.txt"), "--at", "2024-06-01"};
  testing::CliResult ok = RunCli(args);
  ASSERT_EQ(ok.exit_code, 0) << ok.err;
  EXPECT_EQ(boost::json::parse(ok.out).at("claims").at("arch"), "hopper");
  EXPECT_NE(ok.err.find("no --nonce given"), std::string::npos);
  args.insert(args.end(), {"--nonce", std::string(64, '0')});
  testing::CliResult wrong = RunCli(args);
  EXPECT_EQ(wrong.exit_code, 1);
  EXPECT_EQ(wrong.err,
            std::string(kError) + "nvgpu: nonce: the report's request nonce is not the expected nonce\n");
}

TEST(EvidenceCliTest, UsageErrorsExitTwo) {
  testing::CliResult type = RunCli({"evidence", "verify", "--type", "sgx", "--at", "2025-07-01"});
  EXPECT_EQ(type.exit_code, 2);
  EXPECT_EQ(type.err, std::string(kError) + "--type must be sev-snp, tdx, nvidia-gpu, sim, bundle or tpm (see --help)\n");
  testing::CliResult missing = RunCli({"evidence", "verify", "--type", "sev-snp", "--at", "2025-07-01"});
  EXPECT_EQ(missing.exit_code, 2);
  EXPECT_EQ(missing.err, std::string(kError) + "--report is required with --type sev-snp\n");
  testing::CliResult vmpl = RunCli({"evidence", "verify", "--type", "sev-snp", "--at", "2025-07-01",
                                    "--report", Vector("virtee-sev/report_milan.hex"), "--vek",
                                    Vector("virtee-sev/vcek_milan.der"), "--vmpl", "4"});
  EXPECT_EQ(vmpl.exit_code, 2);
  EXPECT_EQ(vmpl.err, std::string(kError) + "--vmpl: expected 0, 1, 2, 3 or any\n");
  EXPECT_EQ(RunCli({"evidence", "verify", "--type", "tdx", "--at", "yesterday"}).exit_code, 2);
}

// Every flag the command defines is documented in --help, as itself (followed by a space, '=' or
// the end of its line, so --tcb-info does not count for --tcb-info-chain).
TEST(EvidenceCliTest, HelpDocumentsEveryFlag) {
  testing::CliResult help = RunCli({"evidence", "verify", "--help"});
  ASSERT_EQ(help.exit_code, 0);
  for (const char* flag :
       {"--type", "--at", "--report-data", "--report", "--vek", "--root", "--policy", "--entries",
        "--checkpoint", "--chain", "--crl", "--host-data", "--id-key-digest", "--vmpl", "--quote",
        "--tcb-info", "--tcb-info-chain", "--qe-identity", "--qe-identity-chain", "--pck-crl",
        "--pck-crl-chain", "--root-crl", "--accept-status", "--evidence", "--certs", "--nonce",
        "--driver-rim", "--vbios-rim", "--help"}) {
    std::regex documented("(\\n  |, )" + std::string(flag) + "( |=|\\n)");
    EXPECT_TRUE(std::regex_search(help.out, documented)) << flag;
  }
  EXPECT_NE(help.out.find("--host-data HEX|any"), std::string::npos);
  EXPECT_NE(help.out.find("(default: HOST_DATA must be zero)"), std::string::npos);
}

// The examples of --help, run as printed (file names relative to the vectors): SEV-SNP and NVIDIA
// verify; TDX passes every check and stops, as its comment says, on the debug TD.
TEST(EvidenceCliTest, HelpExamplesRunAsDocumented) {
  testing::CliResult help = RunCli({"evidence", "verify", "--help"});
  ASSERT_EQ(help.exit_code, 0);
  std::string text = std::regex_replace(help.out, std::regex("\\\\\\n *"), "");
  std::istringstream lines(text);
  std::map<std::string, testing::CliResult> results;
  for (std::string line; std::getline(lines, line);) {
    std::istringstream words(line);
    std::vector<std::string> args;
    for (std::string word; words >> word;) args.push_back(word);
    if (args.size() < 5 || args[0] != "openpcc" || args[1] != "evidence" || args[4] == "sim" ||
        args[4] == "bundle") {
      continue;
    }
    args.erase(args.begin());
    for (std::string& arg : args) {
      if (arg.find('/') != std::string::npos && std::filesystem::exists(Vector(arg))) arg = Vector(arg);
    }
    results[args[3]] = RunCli(args);
  }
  ASSERT_EQ(results.size(), 3u);
  EXPECT_EQ(results["sev-snp"].exit_code, 0) << results["sev-snp"].err;
  EXPECT_EQ(results["nvidia-gpu"].exit_code, 0) << results["nvidia-gpu"].err;
  EXPECT_TRUE(boost::json::parse(results["nvidia-gpu"].out).at("claims").at("nonce_checked").as_bool());
  EXPECT_EQ(results["tdx"].exit_code, 1);
  EXPECT_EQ(results["tdx"].err, std::string(kError) + "tdx: policy: TD attribute DEBUG is set\n");
  EXPECT_NE(help.out.find("'tdx: policy: TD attribute DEBUG is set'"), std::string::npos);
}

}  // namespace
}  // namespace openpcc
