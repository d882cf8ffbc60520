// `openpcc evidence verify`, run as a process on the shared vectors: verified claims as JSON with
// exit 0, and each tampered input refused with exit 1 and the failed check named on stderr.
#include <gtest/gtest.h>

#include <boost/json.hpp>

#include <filesystem>
#include <fstream>

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

std::vector<std::string> SnpArgs(const std::string& report) {
  return {"evidence",  "verify", "--type", "sev-snp", "--report", report, "--vek",
          Vector("trustee/snp/test-vcek.der"), "--chain",
          Vector("go-sev-guest/trust/ask_ark_milan.pem"), "--at", "2025-07-01"};
}

TEST(EvidenceCliTest, VerifiesSevSnpAndPrintsClaims) {
  testing::CliResult r = RunCli(SnpArgs(Vector("trustee/snp/test-report.bin")));
  ASSERT_EQ(r.exit_code, 0) << r.err;
  boost::json::value out = boost::json::parse(r.out);
  EXPECT_EQ(out.at("verified"), true);
  EXPECT_EQ(out.at("claims").at("family"), "Milan");
  EXPECT_EQ(std::string(out.at("claims").at("measurement").as_string()).substr(0, 8), "a1f39304");
}

TEST(EvidenceCliTest, RefusesTamperedSevSnpByCheck) {
  // 0x90 is the first byte of MEASUREMENT, inside the signed region: the signature fails.
  testing::CliResult flipped = RunCli(SnpArgs(Tampered("trustee/snp/test-report.bin", 0x90)));
  EXPECT_EQ(flipped.exit_code, 1);
  EXPECT_NE(flipped.err.find("signature"), std::string::npos) << flipped.err;
  EXPECT_TRUE(flipped.out.empty());
  // A VCEK of another chip.
  std::vector<std::string> args = SnpArgs(Vector("trustee/snp/test-report.bin"));
  args[7] = Vector("go-sev-guest/vcek.testcer");
  testing::CliResult other = RunCli(args);
  EXPECT_EQ(other.exit_code, 1);
  EXPECT_NE(other.err.find("a VCEK of another chip"), std::string::npos) << other.err;
  // The go-sev-guest report was taken from a debug guest: always refused.
  testing::CliResult debug = RunCli({"evidence", "verify", "--type", "sev-snp", "--report",
                                     Vector("go-sev-guest/attestation.bin"), "--vek",
                                     Vector("go-sev-guest/vcek.testcer"), "--chain",
                                     Vector("go-sev-guest/trust/ask_ark_milan.pem"), "--at",
                                     "2025-01-01"});
  EXPECT_EQ(debug.exit_code, 1);
  EXPECT_NE(debug.err.find("policy: DEBUG is set"), std::string::npos) << debug.err;
}

std::vector<std::string> TdxArgs(const std::string& quote, const std::string& at) {
  const std::string d = "go-tdx-guest/";
  return {"evidence", "verify", "--type", "tdx", "--at", at, "--quote", quote,
          "--tcb-info", Vector(d + "sample_tcbInfo_response"), "--tcb-info-chain",
          Vector(d + "tcbinfo_issuer_chain.pem"), "--qe-identity",
          Vector(d + "sample_qeIdentity_response"), "--qe-identity-chain",
          Vector(d + "qeidentity_issuer_chain.pem")};
}

TEST(EvidenceCliTest, TdxStatusIsPolicy) {
  std::string quote = Vector("go-tdx-guest/tdx_prod_quote_SPR_E4.dat");
  testing::CliResult strict = RunCli(TdxArgs(quote, "2023-07-01"));
  EXPECT_EQ(strict.exit_code, 1);
  EXPECT_NE(strict.err.find("TCB status NoMatchingLevel is not accepted"), std::string::npos)
      << strict.err;
  // Past the collateral's nextUpdate (2023-07-18) the collateral itself is refused.
  testing::CliResult stale = RunCli(TdxArgs(quote, "2023-08-01"));
  EXPECT_EQ(stale.exit_code, 1);
  EXPECT_NE(stale.err.find("nextUpdate"), std::string::npos) << stale.err;
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
  EXPECT_NE(wrong.err.find("nonce"), std::string::npos) << wrong.err;
}

TEST(EvidenceCliTest, UsageErrorsExitTwo) {
  EXPECT_EQ(RunCli({"evidence", "verify", "--type", "sgx"}).exit_code, 2);
  testing::CliResult missing = RunCli({"evidence", "verify", "--type", "sev-snp"});
  EXPECT_EQ(missing.exit_code, 2);
  EXPECT_NE(missing.err.find("--report is required with --type sev-snp"), std::string::npos);
  testing::CliResult help = RunCli({"evidence", "verify", "--help"});
  EXPECT_EQ(help.exit_code, 0);
  for (const char* flag : {"--type", "--at", "--report", "--vek", "--chain", "--crl", "--quote",
                           "--tcb-info", "--qe-identity-chain", "--pck-crl", "--root-crl",
                           "--evidence", "--certs", "--nonce"}) {
    EXPECT_NE(help.out.find(flag), std::string::npos) << flag;
  }
}

}  // namespace
}  // namespace openpcc
