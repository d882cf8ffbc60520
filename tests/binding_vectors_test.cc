// docs/vectors/evidence-binding-v1.json: whole evidence bundles with the REPORT_DATA, TPM
// qualifying data and GPU nonce they bind. The C++ bundle code and the independent Node.js
// implementation (tests/interop/binding_peer.mjs, op "bundle") must both reproduce every value.
// The bundles are deterministic (fixed bytes; the binding needs no valid signatures); to rewrite
// the file after a deliberate change: OPENPCC_WRITE_BINDING_VECTORS=docs/vectors/evidence-binding-v1.json
#include <gtest/gtest.h>

#include <cstdlib>
#include <fstream>

#include <boost/json.hpp>

#include "openpcc/attest/bundle.h"
#include "openpcc/attest/bundle_builder.h"
#include "openpcc/wire/jcs.h"
#include "openpcc/wire/key_config.h"
#include "support/node.h"
#include "support/vectors.h"

namespace openpcc::attest {
namespace {

namespace json = boost::json;

Bytes Pattern(size_t size, uint8_t seed) {
  Bytes out(size);
  for (size_t i = 0; i < size; ++i) out[i] = static_cast<uint8_t>(seed + i * 7);
  return out;
}

EvidenceBundle Base(Platform platform, crypto::KemId kem, uint8_t seed) {
  wire::KeyConfig config{seed, kem, {}, {{crypto::KdfId::kHkdfSha256, crypto::AeadId::kAes256Gcm}}};
  if (kem == crypto::KemId::kX25519HkdfSha256) {
    config.public_key = Pattern(32, seed);
  } else {
    // The P-256 generator point, a valid public key.
    config.public_key = *HexDecode(
        "046b17d1f2e12c4247f8bce6e563a440f277037d812deb33a0f4a13945d898c296"
        "4fe342e2fe1a7f9b8ee7eb4a7c0f9e162bce33576b315ececbb6406837bf51f5");
  }
  EvidenceBundle b;
  b.key_config = *wire::EncodeKeyConfig(config);
  b.node_id = *wire::NodeIdOf(config);
  b.platform = platform;
  for (std::string_view part : RequiredCpuEvidence(platform)) b.cpu_evidence[std::string(part)] = Pattern(40, seed);
  return b;
}

std::vector<std::pair<std::string, EvidenceBundle>> MakeBundles() {
  std::vector<std::pair<std::string, EvidenceBundle>> out;
  {
    EvidenceBundle b = Base(Platform::kSim, crypto::KemId::kX25519HkdfSha256, 1);
    b.claims.models = {{"tiny-llama", std::string(64, 'a')}};
    b.freshness = FreshnessFromCheckpoint("log.example/openpcc\n42\nq83n5ucSDS0TbTTFXfp5K8b8U+Zc0QVd1ka9ebkdwhA=\n\n"
                                          "\u2014 log.example/openpcc Az3grlgtzbbRAJNbf/AmMOekwUkU0BIcG2O7ZoQ0tpm1eyB88P0RQbVvDuEHr2ACpgmc1oiPI3SzQbT1sQdGhzqPGwI=\n");
    out.emplace_back("sim, kind 1, no GPU", b);
  }
  {
    EvidenceBundle b = Base(Platform::kSevSnp, crypto::KemId::kX25519HkdfSha256, 2);
    // Names whose canonical order differs from their UTF-8 byte order exercise RFC 8785.
    b.claims.models = {{"z-model", std::string(64, 'b')}, {"\u00e9t\u00e9-\U0001F600", std::string(64, 'c')},
                       {"A", std::string(64, '0')}};
    std::array<uint8_t, 32> nonce{};
    for (size_t i = 0; i < nonce.size(); ++i) nonce[i] = static_cast<uint8_t>(0xF0 - i);
    b.freshness = FreshnessFromNonce(nonce);
    b.gpu_evidence = {{"nvidia-spdm", Pattern(300, 3), {Pattern(500, 4), Pattern(400, 5)}},
                      {"nvidia-spdm", Pattern(310, 6), {Pattern(510, 7), Pattern(400, 5), Pattern(90, 8)}}};
    out.emplace_back("sev-snp, kind 2, two GPUs, unicode model names", b);
  }
  {
    EvidenceBundle b = Base(Platform::kTpm, crypto::KemId::kP256HkdfSha256, 3);
    b.freshness = FreshnessFromCheckpoint("log.example/openpcc\n1\nAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA=\n\n");
    b.gpu_evidence = {{"nvidia-spdm", Pattern(64, 9), {Pattern(100, 10)}}};
    out.emplace_back("tpm, kind 1, one GPU, no models", b);
  }
  return out;
}

json::object Expected(const EvidenceBundle& b) {
  return json::object{{"report_data", HexEncode(*b.ExpectedReportData())},
                      {"tpm_qualifying_data", HexEncode(*b.ExpectedTpmQualifyingData())},
                      {"gpu_nonce", HexEncode(*b.ExpectedGpuNonce())}};
}

TEST(BindingVectorsTest, CommittedVectorsAreReproduced) {
  std::vector<std::pair<std::string, EvidenceBundle>> bundles = MakeBundles();
  if (const char* path = std::getenv("OPENPCC_WRITE_BINDING_VECTORS")) {
    json::array vectors;
    for (const auto& [label, b] : bundles) {
      json::object v = Expected(b);
      v["label"] = label;
      v["bundle"] = b.Serialize();
      vectors.emplace_back(v);
    }
    json::object file{{"description",
                       "Evidence bundles (DESIGN §2.4) with the REPORT_DATA = SHA-512(preimage), TPM qualifying "
                       "data = SHA-256(preimage) and GPU nonce they bind; the bundle is its canonical JSON text. "
                       "cpu_evidence and GPU bytes are fixed patterns: only the binding is exercised."},
                      {"version", 1},
                      {"vectors", vectors}};
    std::ofstream(path) << *wire::Canonicalize(file) << "\n";
  }
  json::value file = json::parse(openpcc::testing::ReadSourceFile("docs/vectors/evidence-binding-v1.json"));
  const json::array& vectors = file.at("vectors").as_array();
  ASSERT_EQ(vectors.size(), bundles.size());
  for (size_t i = 0; i < vectors.size(); ++i) {
    const json::object& v = vectors[i].as_object();
    SCOPED_TRACE(std::string(v.at("label").as_string()));
    // The committed bundle is exactly what the code makes, and it parses back.
    EXPECT_EQ(v.at("bundle").as_string(), bundles[i].second.Serialize());
    Result<EvidenceBundle> parsed = ParseBundle(v.at("bundle").as_string());
    ASSERT_TRUE(parsed.ok()) << parsed.error().message();
    json::object expected = Expected(*parsed);
    for (const char* field : {"report_data", "tpm_qualifying_data", "gpu_nonce"}) {
      EXPECT_EQ(v.at(field).as_string(), expected.at(field).as_string()) << field;
    }
  }
}

TEST(BindingVectorsTest, NodeImplementationReproducesEveryVector) {
  json::value file = json::parse(openpcc::testing::ReadSourceFile("docs/vectors/evidence-binding-v1.json"));
  json::array jobs;
  for (const json::value& v : file.at("vectors").as_array()) {
    jobs.emplace_back(json::object{{"op", "bundle"}, {"bundle", v.at("bundle")}});
  }
  json::value output = openpcc::testing::RunNodePeer("binding_peer.mjs", json::object{{"op", "batch"}, {"jobs", jobs}});
  ASSERT_TRUE(output.is_object());
  const json::array& results = output.at("results").as_array();
  const json::array& vectors = file.at("vectors").as_array();
  ASSERT_EQ(results.size(), vectors.size());
  for (size_t i = 0; i < vectors.size(); ++i) {
    SCOPED_TRACE(std::string(vectors[i].at("label").as_string()));
    for (const char* field : {"report_data", "tpm_qualifying_data", "gpu_nonce"}) {
      EXPECT_EQ(results[i].at(field), vectors[i].at(field)) << field << " " << json::serialize(results[i]);
    }
  }
}

}  // namespace
}  // namespace openpcc::attest
