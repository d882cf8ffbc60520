// attest/collect: the collectors against a fake configfs-tsm tree built here in a temporary
// directory (the kernel's entry, with the attributes a provider fills), the SEV-SNP certificate
// table, the simulated TEE through the builder, and the error each gives where its device is absent.
#include <gtest/gtest.h>

#include <unistd.h>

#include <filesystem>
#include <fstream>

#include "openpcc/attest/bundle_builder.h"
#include "openpcc/attest/collect/collectors.h"
#include "openpcc/attest/collect/configfs_tsm.h"
#include "openpcc/attest/sim/verify.h"
#include "openpcc/attest/snp/verify.h"
#include "openpcc/crypto/random.h"
#include "openpcc/crypto/x509.h"
#include "openpcc/wire/key_config.h"
#include "support/vectors.h"

namespace openpcc::attest::collect {
namespace {

namespace fs = std::filesystem;

Bytes Vec(std::string_view path) { return ToBytes(openpcc::testing::ReadVectorFile(path)); }

class FakeTsm {
 public:
  FakeTsm() {
    static int counter = 0;
    root_ = fs::temp_directory_path() / ("openpcc-tsm-" + std::to_string(::getpid()) + "-" + std::to_string(counter++));
    fs::create_directories(root_ / "report");
  }
  ~FakeTsm() { fs::remove_all(root_); }
  fs::path report_root() const { return root_ / "report"; }
  // The kernel creates these attributes with the entry; the fake puts a provider's answers there.
  void Entry(const std::string& provider, ByteView outblob, ByteView auxblob, const std::string& generation = "1") {
    const fs::path e = report_root() / "openpcc";
    fs::create_directories(e);
    Write(e / "provider", AsBytes(provider + "\n"));
    Write(e / "outblob", outblob);
    if (!auxblob.empty()) Write(e / "auxblob", auxblob);
    Write(e / "generation", AsBytes(generation + "\n"));
  }
  static void Write(const fs::path& path, ByteView bytes) {
    std::ofstream out(path, std::ios::binary);
    out.write(reinterpret_cast<const char*>(bytes.data()), static_cast<std::streamsize>(bytes.size()));
  }
  static Bytes Read(const fs::path& path) {
    std::ifstream in(path, std::ios::binary);
    return Bytes((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  }

 private:
  fs::path root_;
};

void PutGuid(Bytes& table, size_t at, std::string_view hex) {
  Bytes guid = *HexDecode(hex);
  std::copy(guid.begin(), guid.end(), table.begin() + static_cast<std::ptrdiff_t>(at));
}
void PutU32Le(Bytes& table, size_t at, uint32_t v) {
  for (size_t i = 0; i < 4; ++i) table[at + i] = static_cast<uint8_t>(v >> (8 * i));
}

// A certificate table as a host provides it: VCEK, ASK, ARK entries, a zero terminator, the DER.
Bytes CertTable(const Bytes& vcek, const Bytes& ask, const Bytes& ark) {
  const size_t header = 4 * 24;
  Bytes table(header, 0);
  const std::vector<std::pair<std::string_view, const Bytes*>> entries = {
      {"63da758de6644564adc5f4b93be8accd", &vcek},
      {"4ab7b379bbac4fe4a02f05aef327c782", &ask},
      {"c0b406a4a80349529743 3fb6014cd0ae", &ark}};
  size_t offset = header;
  for (size_t i = 0; i < entries.size(); ++i) {
    std::string guid(entries[i].first);
    guid.erase(std::remove(guid.begin(), guid.end(), ' '), guid.end());
    PutGuid(table, i * 24, guid);
    PutU32Le(table, i * 24 + 16, static_cast<uint32_t>(offset));
    PutU32Le(table, i * 24 + 20, static_cast<uint32_t>(entries[i].second->size()));
    Append(table, *entries[i].second);
    offset += entries[i].second->size();
  }
  return table;
}

TEST(ConfigfsTsmTest, SnpReportThroughAFakeTree) {
  FakeTsm tsm;
  Bytes report = *snp::DecodeReportBytes(Vec("virtee-sev/report_milan.hex"));
  std::vector<crypto::Certificate> chain = *crypto::Certificate::ParseAll(Vec("virtee-sev/cert_chain_milan"));
  ASSERT_GE(chain.size(), 2u);
  Bytes vcek = Vec("virtee-sev/vcek_milan.der");
  tsm.Entry("sev_guest", report, CertTable(vcek, chain[0].Der(), chain[1].Der()));
  SnpCollectorOptions options;
  options.tsm.root = tsm.report_root();
  SnpCollector collector(options);
  Bytes report_data(64, 0xab);
  Result<std::map<std::string, Bytes>> parts = collector.Collect(report_data);
  ASSERT_TRUE(parts.ok()) << parts.error().message();
  EXPECT_EQ(parts->at("report"), report);
  EXPECT_EQ(parts->at("vek"), vcek);
  EXPECT_EQ(crypto::Certificate::ParseAll(parts->at("chain"))->size(), 2u);
  // The collector wrote REPORT_DATA to inblob.
  EXPECT_EQ(FakeTsm::Read(tsm.report_root() / "openpcc" / "inblob"), report_data);
  // The parts verify as SEV-SNP evidence.
  snp::SnpPolicy policy;
  policy.host_data = snp::ExpectedBytes::Any();
  policy.id_key_digest = snp::ExpectedBytes::Any();
  EXPECT_TRUE(snp::VerifySnpEvidence(parts->at("report"), parts->at("vek"), parts->at("chain"), std::nullopt,
                                     policy, crypto::ParseUtcTime("2025-07-01").value())
                  .ok());
}

TEST(ConfigfsTsmTest, RefusesAnotherProviderAndAMissingCertificateTable) {
  FakeTsm tsm;
  Bytes report = *snp::DecodeReportBytes(Vec("virtee-sev/report_milan.hex"));
  tsm.Entry("tdx_guest", report, {});
  SnpCollectorOptions options;
  options.tsm.root = tsm.report_root();
  EXPECT_EQ(SnpCollector(options).Collect(Bytes(64, 0)).error().message(),
            "configfs-tsm: provider is 'tdx_guest', expected 'sev_guest'");
  tsm.Entry("sev_guest", report, {});
  EXPECT_EQ(SnpCollector(options).Collect(Bytes(64, 0)).error().message(),
            "sev-snp: the host provides no certificate table (auxblob), and no VEK and chain files are configured");
  EXPECT_EQ(RequestTsmReport({tsm.report_root(), "openpcc", "", std::nullopt}, Bytes(10, 0)).error().message(),
            "configfs-tsm: inblob must be 64 bytes of REPORT_DATA");
}

TEST(ConfigfsTsmTest, TdxQuoteWithCollateral) {
  FakeTsm tsm;
  Bytes quote = Vec("trustee/tdx/tdx_quote_4.dat");
  tsm.Entry("tdx_guest", quote, {});
  TdxCollectorOptions options;
  options.tsm.root = tsm.report_root();
  options.event_log = tsm.report_root() / "no-ccel";
  EXPECT_EQ(TdxCollector(options).Collect(Bytes(64, 0)).error().message(),
            "tdx: collateral 'tcb_info' is not configured (fetch it from Intel PCS)");
  options.collateral = {{"tcb_info", Bytes{1}}, {"tcb_info_chain", Bytes{2}}, {"qe_identity", Bytes{3}},
                        {"qe_identity_chain", Bytes{4}}};
  Result<std::map<std::string, Bytes>> parts = TdxCollector(options).Collect(Bytes(64, 0));
  ASSERT_TRUE(parts.ok()) << parts.error().message();
  EXPECT_EQ(parts->at("quote"), quote);
  EXPECT_EQ(parts->size(), 5u);
}

TEST(ConfigfsTsmTest, ClearErrorsWhereTheDeviceIsAbsent) {
  SnpCollectorOptions options;
  options.tsm.root = "/nonexistent/tsm/report";
  EXPECT_EQ(SnpCollector(options).Collect(Bytes(64, 0)).error().message(),
            "configfs-tsm: /nonexistent/tsm/report does not exist: no configfs-tsm report interface (needs "
            "Linux 6.7+ in an SEV-SNP or TDX guest, with configfs mounted)");
  options.interface = SnpCollectorOptions::Interface::kSevGuestDevice;
  options.sev_guest_device = "/nonexistent/sev-guest";
  Result<std::map<std::string, Bytes>> device = SnpCollector(options).Collect(Bytes(64, 0));
  ASSERT_FALSE(device.ok());
  EXPECT_EQ(device.error().code(), ErrorCode::kUnsupported);
  EXPECT_NE(device.error().message().find("sev-guest: /nonexistent/sev-guest cannot be opened"), std::string::npos);
  auto source = std::make_shared<DriverNvidiaSource>("/nonexistent/nvidiactl");
  EXPECT_EQ(NvidiaGpuCollector(source).Collect(Bytes(32, 0)).error().message(),
            "nvidia: no driver attestation interface: /nonexistent/nvidiactl does not exist (no NVIDIA driver loaded)");
}

TEST(ConfigfsTsmTest, CertificateTableRefusesOutOfBoundsEntries) {
  Bytes table = CertTable(Bytes(10, 1), Bytes(10, 2), Bytes(10, 3));
  EXPECT_EQ(ParseSnpCertTable(table)->size(), 3u);
  PutU32Le(table, 20, 100000);  // VCEK length beyond the table
  EXPECT_EQ(ParseSnpCertTable(table).error().message(),
            "sev-snp: certificate table: entry 0 points outside the table");
  const Bytes good = CertTable(Bytes(10, 1), Bytes(10, 2), Bytes(10, 3));
  EXPECT_EQ(ParseSnpCertTable(ByteView(good).first(20)).error().message(),
            "sev-snp: certificate table: entry 0 is truncated");
}

// A GPU source that records the nonce it was asked for.
class FakeGpus : public NvidiaAttestationSource {
 public:
  Result<std::vector<NvidiaDeviceEvidence>> Attest(ByteView nonce) override {
    nonce_ = ToBytes(nonce);
    return std::vector<NvidiaDeviceEvidence>{{Bytes(20, 7), {Bytes(30, 8)}}};
  }
  Bytes nonce_;
};

TEST(BundleBuilderTest, BindsGpusAndPlatformInOrder) {
  const auto now = crypto::ParseUtcTime("2025-07-01").value();
  sim::SimRoot root = *sim::SimRoot::Generate("builder", now);
  auto signer = std::make_shared<sim::SimSigner>(*sim::SimSigner::Create(root, now));
  SimCollector platform(signer, Bytes(48, 1));
  auto gpus = std::make_shared<FakeGpus>();
  NvidiaGpuCollector gpu_collector(gpus);
  wire::KeyConfig config{1, crypto::KemId::kX25519HkdfSha256, Bytes(32, 9),
                         {{crypto::KdfId::kHkdfSha256, crypto::AeadId::kAes256Gcm}}};
  BundleInputs inputs{*wire::EncodeKeyConfig(config), Claims{}, FreshnessFromNonce({}), std::nullopt};
  Result<EvidenceBundle> bundle = BuildBundle(inputs, platform, &gpu_collector);
  ASSERT_TRUE(bundle.ok()) << bundle.error().message();
  EXPECT_EQ(gpus->nonce_, *bundle->ExpectedGpuNonce());
  ASSERT_EQ(bundle->gpu_evidence.size(), 1u);
  std::vector<crypto::Certificate> roots{root.certificate()};
  sim::SimClaims claims = *sim::VerifySimEvidence(bundle->cpu_evidence.at("report"), bundle->cpu_evidence.at("vek"),
                                                  roots, now);
  EXPECT_EQ(ToBytes(claims.report_data()), *bundle->ExpectedReportData());
  EXPECT_EQ(bundle->node_id, *wire::NodeIdOf(config));
  // Kind 1 without the note is a caller error.
  inputs.freshness.binding.kind = FreshnessKind::kLogCheckpoint;
  EXPECT_EQ(BuildBundle(inputs, platform).error().message(),
            "bundle builder: freshness kind 1 needs the checkpoint note");
}

}  // namespace
}  // namespace openpcc::attest::collect
