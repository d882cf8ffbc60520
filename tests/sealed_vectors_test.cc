// The committed sealed-request vectors (docs/vectors/sealed-request-v1.json) are reproduced byte
// for byte by this implementation and, independently, by tests/interop/sealed_peer.mjs (written
// from DESIGN.md §2.2 alone on @hpke/core). Set OPENPCC_WRITE_VECTORS=1 to regenerate the file
// (then review the diff: a change in these bytes is a wire-format change).
#include <boost/json.hpp>
#include <gtest/gtest.h>

#include <cstdlib>
#include <fstream>

#include "openpcc/wire/sealed.h"
#include "support/vectors.h"

namespace openpcc::wire {
namespace {

using crypto::AeadId;
using crypto::KdfId;
using crypto::KemId;
using crypto::SecretBytes;
using crypto::SoftwareDhKey;
using openpcc::testing::Hex;
namespace json = boost::json;

constexpr const char* kVectorPath = "docs/vectors/sealed-request-v1.json";

struct CandidateSpec {
  KemId kem;
  KdfId kdf;
  AeadId aead;
};

struct VectorSpec {
  const char* name;
  AeadId body_aead;
  std::vector<CandidateSpec> candidates;
  size_t responder;
  std::vector<std::string> request_chunks;   // last one is the final chunk
  std::vector<std::string> response_chunks;  // last one is the final chunk
};

std::vector<VectorSpec> Specs() {
  return {
      {"one X25519 candidate, AES-256-GCM everywhere", AeadId::kAes256Gcm,
       {{KemId::kX25519HkdfSha256, KdfId::kHkdfSha256, AeadId::kAes256Gcm}}, 0,
       {"{\"model\":\"tiny\",", "\"prompt\":\"hi\"}", ""}, {"data: hello", ""}},
      {"three candidates of mixed KEMs and suites, P-256 node answers", AeadId::kAes128Gcm,
       {{KemId::kX25519HkdfSha256, KdfId::kHkdfSha256, AeadId::kAes256Gcm},
        {KemId::kP256HkdfSha256, KdfId::kHkdfSha256, AeadId::kAes128Gcm},
        {KemId::kX25519HkdfSha256, KdfId::kHkdfSha384, AeadId::kChaCha20Poly1305}},
       1, {"a", "bc", "final part"}, {"x", "yz", "end"}},
      {"ChaCha20-Poly1305 body, empty final chunks, SHA-512 KDF", AeadId::kChaCha20Poly1305,
       {{KemId::kX25519HkdfSha256, KdfId::kHkdfSha512, AeadId::kChaCha20Poly1305},
        {KemId::kX25519HkdfSha256, KdfId::kHkdfSha256, AeadId::kAes128Gcm}},
       0, {"only chunk", ""}, {""}},
  };
}

// Deterministic keys and values: derived from a label, so the file documents how it was made.
SoftwareDhKey DeriveKey(KemId kem, const std::string& label) {
  return std::move(SoftwareDhKey::Derive(kem, AsBytes(label))).value();
}
Bytes Fill(size_t n, uint8_t seed) {
  Bytes out(n);
  for (size_t i = 0; i < n; ++i) out[i] = static_cast<uint8_t>(seed + i * 7);
  return out;
}

json::array HexArray(const std::vector<std::string>& items) {
  json::array out;
  for (const auto& s : items) out.emplace_back(HexEncode(AsBytes(s)));
  return out;
}

// Builds one vector with our implementation.
json::object Generate(const VectorSpec& spec, size_t index) {
  std::vector<SealedCandidate> candidates;
  std::vector<std::shared_ptr<SoftwareDhKey>> node_keys;
  std::vector<SoftwareDhKey> ephemerals;
  json::array candidate_json;
  for (size_t i = 0; i < spec.candidates.size(); ++i) {
    const auto& c = spec.candidates[i];
    const std::string suffix = std::to_string(index) + "/" + std::to_string(i);
    node_keys.push_back(std::make_shared<SoftwareDhKey>(DeriveKey(c.kem, "openpcc vector node " + suffix)));
    ephemerals.push_back(DeriveKey(c.kem, "openpcc vector ephemeral " + suffix));
    KeyConfig config;
    config.key_id = static_cast<uint8_t>(i + 1);
    config.kem = c.kem;
    config.public_key = ToBytes(node_keys.back()->public_key());
    config.suites = {{c.kdf, c.aead}, {KdfId::kHkdfSha256, AeadId::kAes128Gcm}};
    candidates.push_back({config, {c.kdf, c.aead}});
    candidate_json.push_back(json::object{
        {"key_config", HexEncode(*EncodeKeyConfig(config))},
        {"node_id", HexEncode(*NodeIdOf(config))},
        {"node_private_key", HexEncode(node_keys.back()->PrivateKeyBytes()->view())},
        {"kdf_id", static_cast<int>(c.kdf)},
        {"aead_id", static_cast<int>(c.aead)},
        {"ephemeral_private_key", HexEncode(ephemerals.back().PrivateKeyBytes()->view())},
    });
  }
  const Bytes dek = Fill(crypto::AeadKeyLength(spec.body_aead), static_cast<uint8_t>(0x10 + index));
  const Bytes body_nonce = Fill(12, static_cast<uint8_t>(0x80 + index));
  SealedTestingValues testing{dek, body_nonce, {}};
  for (const auto& e : ephemerals) testing.ephemeral_keys.push_back(&e);
  SealOptions options;
  options.body_aead = spec.body_aead;
  options.testing = &testing;

  Bytes request;
  auto writer = SealedRequestWriter::Create(candidates, request, options);
  EXPECT_TRUE(writer.ok()) << writer.error().ToString();
  for (size_t i = 0; i + 1 < spec.request_chunks.size(); ++i) {
    EXPECT_TRUE(writer->Write(AsBytes(spec.request_chunks[i]), request).ok());
  }
  EXPECT_TRUE(writer->Finish(AsBytes(spec.request_chunks.back()), request).ok());

  const auto& responder = spec.candidates[spec.responder];
  auto node_key = MakeNodeKey(candidates[spec.responder].config, node_keys[spec.responder]);
  SealedRequestReader reader({*node_key});
  SecretBytes plaintext;
  EXPECT_TRUE(reader.Push(request, plaintext).ok());
  EXPECT_TRUE(reader.Finish(plaintext).ok());
  const Bytes response_nonce = Fill(std::max<size_t>(12, crypto::AeadKeyLength(responder.aead)),
                                    static_cast<uint8_t>(0xc0 + index));
  Bytes response;
  auto response_writer = reader.MakeResponseWriter(response, {}, response_nonce);
  EXPECT_TRUE(response_writer.ok());
  for (size_t i = 0; i + 1 < spec.response_chunks.size(); ++i) {
    EXPECT_TRUE(response_writer->Write(AsBytes(spec.response_chunks[i]), response).ok());
  }
  EXPECT_TRUE(response_writer->Finish(AsBytes(spec.response_chunks.back()), response).ok());

  return json::object{
      {"name", spec.name},
      {"body_aead_id", static_cast<int>(spec.body_aead)},
      {"dek", HexEncode(dek)},
      {"body_nonce", HexEncode(body_nonce)},
      {"candidates", candidate_json},
      {"request_chunks", HexArray(spec.request_chunks)},
      {"sealed_request", HexEncode(request)},
      {"request_digest", HexEncode(writer->request_digest())},
      {"responder", static_cast<int>(spec.responder)},
      {"response_nonce", HexEncode(response_nonce)},
      {"response_chunks", HexArray(spec.response_chunks)},
      {"sealed_response", HexEncode(response)},
  };
}

json::array GenerateAll() {
  json::array out;
  const auto specs = Specs();
  for (size_t i = 0; i < specs.size(); ++i) out.push_back(Generate(specs[i], i));
  return out;
}

TEST(SealedVectorsTest, ReproducesCommittedVectors) {
  const json::array generated = GenerateAll();
  if (const char* write = std::getenv("OPENPCC_WRITE_VECTORS"); write != nullptr && std::string(write) == "1") {
    json::object file{
        {"description",
         "OpenPCC sealed request/response v1 (DESIGN.md section 2.2). All randomness is fixed: node and "
         "ephemeral private keys (HPKE SerializePrivateKey), DEK, body_nonce, response_nonce. Chunk "
         "lists give plaintexts; the last entry of each is the final chunk. Hex throughout."},
        {"vectors", generated}};
    std::ofstream(openpcc::testing::SourceDir() / kVectorPath) << json::serialize(file) << "\n";
  }
  const json::value committed = json::parse(openpcc::testing::ReadSourceFile(kVectorPath));
  const json::array& vectors = committed.at("vectors").as_array();
  ASSERT_EQ(vectors.size(), generated.size());
  for (size_t i = 0; i < vectors.size(); ++i) {
    SCOPED_TRACE(std::string(vectors[i].at("name").as_string()));
    for (const char* field : {"sealed_request", "request_digest", "sealed_response"}) {
      EXPECT_EQ(vectors[i].at(field), generated[i].at(field)) << field;
    }
  }
}

TEST(SealedVectorsTest, NodeOpensCommittedRequestsAndClientOpensResponses) {
  const json::value committed = json::parse(openpcc::testing::ReadSourceFile(kVectorPath));
  for (const auto& entry : committed.at("vectors").as_array()) {
    const json::object& v = entry.as_object();
    SCOPED_TRACE(std::string(v.at("name").as_string()));
    const auto responder = static_cast<size_t>(v.at("responder").as_int64());
    const json::object& c = v.at("candidates").as_array()[responder].as_object();
    auto config = ParseKeyConfig(Hex(std::string(c.at("key_config").as_string())));
    ASSERT_TRUE(config.ok());
    auto key = SoftwareDhKey::FromPrivateKey(config->kem, Hex(std::string(c.at("node_private_key").as_string())));
    auto node_key = MakeNodeKey(*config, std::make_shared<SoftwareDhKey>(std::move(key).value()));
    ASSERT_TRUE(node_key.ok());
    SealedRequestReader reader({*node_key});
    SecretBytes plaintext;
    ASSERT_TRUE(reader.Push(Hex(std::string(v.at("sealed_request").as_string())), plaintext).ok());
    ASSERT_TRUE(reader.Finish(plaintext).ok());
    std::string expected;
    for (const auto& chunk : v.at("request_chunks").as_array()) {
      expected += std::string(AsChars(Hex(std::string(chunk.as_string()))));
    }
    EXPECT_EQ(AsChars(plaintext.view()), expected);
    EXPECT_EQ(HexEncode(reader.request_digest()), v.at("request_digest").as_string());
  }
}

}  // namespace
}  // namespace openpcc::wire
