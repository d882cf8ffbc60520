// RFC 9458 Appendix A and the chunked-OHTTP draft's example, reproduced byte for byte, plus the
// gateway's and client's refusals, each asserted by its specific error.
#include "openpcc/wire/ohttp.h"

#include <boost/json.hpp>
#include <gtest/gtest.h>

#include "support/vectors.h"

namespace openpcc::wire {
namespace {

using crypto::SecretBytes;
using crypto::SoftwareDhKey;
using openpcc::testing::Hex;
namespace json = boost::json;

json::object LoadJson(const char* path) {
  return json::parse(openpcc::testing::ReadVectorFile(path)).as_object();
}
Bytes Field(const json::object& v, const char* name) { return Hex(std::string(v.at(name).as_string())); }

std::vector<GatewayKey> GatewayKeys(const KeyConfig& config, SoftwareDhKey key) {
  return {GatewayKey{config, std::make_shared<SoftwareDhKey>(std::move(key))}};
}

const SymmetricSuite kAes128{crypto::KdfId::kHkdfSha256, crypto::AeadId::kAes128Gcm};

TEST(KeyConfigTest, ParsesRfc9458KeyConfigAndReencodesIt) {
  const auto v = LoadJson("protocols/ohttp-rfc9458/rfc9458-appendixA.json");
  auto config = ParseKeyConfig(Field(v, "key_config"));
  ASSERT_TRUE(config.ok()) << config.error().ToString();
  EXPECT_EQ(config->key_id, 1);
  EXPECT_EQ(config->kem, crypto::KemId::kX25519HkdfSha256);
  ASSERT_EQ(config->suites.size(), 2u);
  EXPECT_EQ(config->suites[1].aead, crypto::AeadId::kChaCha20Poly1305);
  EXPECT_EQ(*EncodeKeyConfig(*config), Field(v, "key_config"));
  auto list = EncodeKeyConfigList({*config, *config});
  auto parsed = ParseKeyConfigList(*list);
  ASSERT_TRUE(parsed.ok());
  EXPECT_EQ(parsed->size(), 2u);
}

TEST(KeyConfigTest, RejectsMalformedConfigs) {
  const auto v = LoadJson("protocols/ohttp-rfc9458/rfc9458-appendixA.json");
  const Bytes good = Field(v, "key_config");
  Bytes truncated(good.begin(), good.end() - 1);
  EXPECT_EQ(ParseKeyConfig(truncated).error().code(), ErrorCode::kTruncated);
  Bytes trailing = good;
  trailing.push_back(0);
  EXPECT_EQ(ParseKeyConfig(trailing).error().message(), "ohttp key config: trailing bytes after the suites");
  Bytes unknown_kem = good;
  unknown_kem[2] = 0x21;
  EXPECT_EQ(ParseKeyConfig(unknown_kem).error().message(),
            "ohttp key config: kem_id 0x0021 is not supported");
  Bytes odd_suites = good;
  odd_suites[36] = 0x07;  // suites length 8 -> 7
  EXPECT_EQ(ParseKeyConfig(odd_suites).error().code(), ErrorCode::kMalformed);
  Bytes unknown_aead = good;
  unknown_aead[good.size() - 1] = 0x09;
  EXPECT_EQ(ParseKeyConfig(unknown_aead).error().message(),
            "ohttp key config: suite (kdf 0x0001, aead 0x0009) is not supported");
}

TEST(KeyConfigTest, ListSkipsUnsupportedConfigsButNotBrokenOnes) {
  const auto v = LoadJson("protocols/ohttp-rfc9458/rfc9458-appendixA.json");
  const Bytes good = Field(v, "key_config");
  Bytes unknown_kem = good;
  unknown_kem[2] = 0x21;
  Bytes list;
  for (const Bytes* c : std::initializer_list<const Bytes*>{&unknown_kem, &good}) {
    list.push_back(static_cast<uint8_t>(c->size() >> 8));
    list.push_back(static_cast<uint8_t>(c->size()));
    Append(list, *c);
  }
  auto parsed = ParseKeyConfigList(list);
  ASSERT_TRUE(parsed.ok()) << parsed.error().ToString();
  EXPECT_EQ(parsed->size(), 1u);
  list.pop_back();
  EXPECT_EQ(ParseKeyConfigList(list).error().code(), ErrorCode::kTruncated);
  EXPECT_EQ(ParseKeyConfigList(Bytes{0x00, 0x04, 0x01, 0x00, 0x21, 0x00}).error().code(), ErrorCode::kUnsupported);
}

TEST(OhttpTest, ReproducesRfc9458AppendixA) {
  const auto v = LoadJson("protocols/ohttp-rfc9458/rfc9458-appendixA.json");
  auto config = ParseKeyConfig(Field(v, "key_config"));
  auto server_key = SoftwareDhKey::FromPrivateKey(crypto::KemId::kX25519HkdfSha256, Field(v, "server_sk"));
  auto ephemeral = SoftwareDhKey::FromPrivateKey(crypto::KemId::kX25519HkdfSha256, Field(v, "client_ephemeral_sk"));
  ASSERT_TRUE(config.ok() && server_key.ok() && ephemeral.ok());
  EXPECT_EQ(ToBytes(server_key->public_key()), config->public_key);

  const Bytes response_nonce = Field(v, "response_nonce");
  OhttpTestingOptions testing{&*ephemeral, response_nonce};
  auto request = EncapsulateRequest(*config, kAes128, Field(v, "bhttp_request"), &testing);
  ASSERT_TRUE(request.ok()) << request.error().ToString();
  EXPECT_EQ(request->encapsulated, Field(v, "encapsulated_request"));

  const auto keys = GatewayKeys(*config, std::move(server_key).value());
  auto gateway = DecapsulateRequest(keys, request->encapsulated);
  ASSERT_TRUE(gateway.ok()) << gateway.error().ToString();
  EXPECT_EQ(ToBytes(gateway->request.view()), Field(v, "bhttp_request"));
  auto response = gateway->context.SealResponse(Field(v, "bhttp_response"), &testing);
  ASSERT_TRUE(response.ok());
  EXPECT_EQ(*response, Field(v, "encapsulated_response"));
  auto opened = request->context.OpenResponse(*response);
  ASSERT_TRUE(opened.ok()) << opened.error().ToString();
  EXPECT_EQ(ToBytes(opened->view()), Field(v, "bhttp_response"));
}

TEST(OhttpTest, ResponseKeysMatchAppendixAIntermediates) {
  const auto v = LoadJson("protocols/ohttp-rfc9458/rfc9458-appendixA.json");
  const crypto::HpkeSuite suite{crypto::KemId::kX25519HkdfSha256, crypto::KdfId::kHkdfSha256,
                                crypto::AeadId::kAes128Gcm};
  auto keys = DeriveResponseKeys(suite, Field(v, "exported_secret"), Field(v, "client_ephemeral_pk"),
                                 Field(v, "response_nonce"));
  ASSERT_TRUE(keys.ok());
  EXPECT_EQ(ToBytes(keys->key.view()), Field(v, "aead_key"));
  EXPECT_EQ(ToBytes(keys->nonce.view()), Field(v, "aead_nonce"));
}

class OhttpGatewayTest : public ::testing::Test {
 protected:
  void SetUp() override {
    auto key = SoftwareDhKey::Generate(crypto::KemId::kX25519HkdfSha256);
    config_.key_id = 7;
    config_.public_key = ToBytes(key->public_key());
    config_.suites = {kAes128};
    keys_ = GatewayKeys(config_, std::move(key).value());
  }
  KeyConfig config_;
  std::vector<GatewayKey> keys_;
};

TEST_F(OhttpGatewayTest, RejectsUnknownKeyId) {
  auto request = EncapsulateRequest(config_, kAes128, ToBytes("hi"));
  request->encapsulated[0] = 8;
  auto result = DecapsulateRequest(keys_, request->encapsulated);
  EXPECT_EQ(result.error().code(), ErrorCode::kUnknownKey);
  EXPECT_EQ(result.error().message(), "ohttp: key_id 8 is not a key of this gateway");
}

TEST_F(OhttpGatewayTest, RefusesKeySetWithRepeatedKeyId) {
  auto request = EncapsulateRequest(config_, kAes128, ToBytes("hi"));
  std::vector<GatewayKey> twice = {keys_[0], keys_[0]};
  EXPECT_EQ(DecapsulateRequest(twice, request->encapsulated).error().message(),
            "ohttp: the gateway has two keys with key_id 7");
}

TEST_F(OhttpGatewayTest, RejectsSuiteTheKeyDoesNotOffer) {
  auto request = EncapsulateRequest(config_, kAes128, ToBytes("hi"));
  request->encapsulated[6] = 0x03;  // aead -> ChaCha20-Poly1305, not offered
  EXPECT_EQ(DecapsulateRequest(keys_, request->encapsulated).error().message(),
            "ohttp: suite (kdf 0x0001, aead 0x0003) is not offered by key 7");
  request->encapsulated[6] = 0x09;  // unknown AEAD
  EXPECT_EQ(DecapsulateRequest(keys_, request->encapsulated).error().code(), ErrorCode::kUnsupported);
}

TEST_F(OhttpGatewayTest, RejectsFlippedBitsAndTruncation) {
  auto request = EncapsulateRequest(config_, kAes128, ToBytes("hello"));
  for (size_t i = kOhttpHeaderLength; i < request->encapsulated.size(); ++i) {
    Bytes tampered = request->encapsulated;
    tampered[i] ^= 0x80;
    auto result = DecapsulateRequest(keys_, tampered);
    ASSERT_FALSE(result.ok()) << "flipped byte " << i;
  }
  Bytes short_request(request->encapsulated.begin(), request->encapsulated.begin() + 20);
  EXPECT_EQ(DecapsulateRequest(keys_, short_request).error().message(), "ohttp: encapsulated key (enc) is truncated");
  EXPECT_EQ(DecapsulateRequest(keys_, Bytes{7, 0}).error().code(), ErrorCode::kTruncated);
}

TEST_F(OhttpGatewayTest, ClientRejectsTamperedOrReplayedResponse) {
  auto request = EncapsulateRequest(config_, kAes128, ToBytes("q"));
  auto gateway = DecapsulateRequest(keys_, request->encapsulated);
  auto response = gateway->context.SealResponse(ToBytes("a"));
  Bytes tampered = *response;
  tampered.back() ^= 1;
  EXPECT_EQ(request->context.OpenResponse(tampered).error().code(), ErrorCode::kAuthenticationFailed);
  // A response to another request does not open under this request's context.
  auto other = EncapsulateRequest(config_, kAes128, ToBytes("q"));
  EXPECT_EQ(other->context.OpenResponse(*response).error().code(), ErrorCode::kAuthenticationFailed);
}

// ---- Chunked ----

TEST(ChunkedOhttpTest, ReproducesDraftExample) {
  const auto v = LoadJson("protocols/chunked-ohttp/chunked-ohttp-example.json");
  auto config = ParseKeyConfig(Field(v, "key_config"));
  auto server_key = SoftwareDhKey::FromPrivateKey(crypto::KemId::kX25519HkdfSha256, Field(v, "server_sk"));
  auto ephemeral = SoftwareDhKey::FromPrivateKey(crypto::KemId::kX25519HkdfSha256, Field(v, "client_ephemeral_sk"));
  ASSERT_TRUE(config.ok() && server_key.ok() && ephemeral.ok());
  const Bytes response_nonce = Field(v, "response_nonce");
  OhttpTestingOptions testing{&*ephemeral, response_nonce};

  Bytes wire;
  auto writer = ChunkedRequestWriter::Create(*config, kAes128, wire, {}, &testing);
  ASSERT_TRUE(writer.ok()) << writer.error().ToString();
  const auto& chunks = v.at("request_chunks_plaintext").as_array();
  for (size_t i = 0; i + 1 < chunks.size(); ++i) {
    ASSERT_TRUE(writer->Write(Hex(std::string(chunks[i].as_string())), wire).ok());
  }
  ASSERT_TRUE(writer->Finish(Hex(std::string(chunks.back().as_string())), wire).ok());
  EXPECT_EQ(wire, Field(v, "encapsulated_request"));

  // The gateway reads it one byte at a time.
  ChunkedRequestReader reader(GatewayKeys(*config, std::move(server_key).value()));
  SecretBytes request;
  for (uint8_t b : wire) ASSERT_TRUE(reader.Push(ByteView(&b, 1), request).ok());
  ASSERT_TRUE(reader.Finish(request).ok());
  EXPECT_EQ(ToBytes(request.view()), Field(v, "bhttp_request"));

  Bytes response_wire;
  auto response_writer = reader.MakeResponseWriter(response_wire, {}, &testing);
  ASSERT_TRUE(response_writer.ok());
  const auto& response_chunks = v.at("response_chunks_plaintext").as_array();
  for (size_t i = 0; i + 1 < response_chunks.size(); ++i) {
    ASSERT_TRUE(response_writer->Write(Hex(std::string(response_chunks[i].as_string())), response_wire).ok());
  }
  ASSERT_TRUE(response_writer->Finish(Hex(std::string(response_chunks.back().as_string())), response_wire).ok());
  EXPECT_EQ(response_wire, Field(v, "encapsulated_response"));

  auto response_reader = writer->MakeResponseReader();
  SecretBytes response;
  ASSERT_TRUE(response_reader.Push(response_wire, response).ok());
  ASSERT_TRUE(response_reader.Finish(response).ok());
  EXPECT_EQ(ToBytes(response.view()), Field(v, "bhttp_response"));
}

class ChunkedOhttpNegativeTest : public OhttpGatewayTest {
 protected:
  // A request of three chunks "aaaa", "bbbb", final "cc".
  Bytes MakeRequest(std::optional<ChunkedRequestWriter>* keep = nullptr) {
    Bytes wire;
    auto writer = ChunkedRequestWriter::Create(config_, kAes128, wire);
    EXPECT_TRUE(writer->Write(ToBytes("aaaa"), wire).ok());
    EXPECT_TRUE(writer->Write(ToBytes("bbbb"), wire).ok());
    EXPECT_TRUE(writer->Finish(ToBytes("cc"), wire).ok());
    if (keep != nullptr) keep->emplace(std::move(writer).value());
    return wire;
  }
  Status ReadAll(ByteView wire, SecretBytes* out = nullptr) {
    ChunkedRequestReader reader(keys_);
    SecretBytes plaintext;
    OPENPCC_RETURN_IF_ERROR(reader.Push(wire, plaintext));
    OPENPCC_RETURN_IF_ERROR(reader.Finish(plaintext));
    if (out != nullptr) *out = std::move(plaintext);
    return OkStatus();
  }
  static constexpr size_t kHeader = kOhttpHeaderLength + 32;
  static constexpr size_t kChunk = 1 + 4 + 16;
};

TEST_F(ChunkedOhttpNegativeTest, RoundTrips) {
  SecretBytes out;
  ASSERT_TRUE(ReadAll(MakeRequest(), &out).ok());
  EXPECT_EQ(AsChars(out.view()), "aaaabbbbcc");
}

TEST_F(ChunkedOhttpNegativeTest, RejectsMissingFinalChunk) {
  Bytes wire = MakeRequest();
  wire.resize(kHeader + 2 * kChunk);
  auto status = ReadAll(wire);
  EXPECT_EQ(status.error().code(), ErrorCode::kIncomplete);
  EXPECT_EQ(status.error().message(), "chunks: stream ended without the final chunk (truncated)");
}

TEST_F(ChunkedOhttpNegativeTest, RejectsStreamTruncatedInsideChunk) {
  Bytes wire = MakeRequest();
  wire.resize(kHeader + kChunk + 3);
  EXPECT_EQ(ReadAll(wire).error().message(), "chunks: stream ended inside chunk 1");
}

TEST_F(ChunkedOhttpNegativeTest, RejectsTruncatedFinalChunk) {
  Bytes wire = MakeRequest();
  wire.pop_back();
  EXPECT_EQ(ReadAll(wire).error().message(), "chunks: final chunk does not authenticate");
}

TEST_F(ChunkedOhttpNegativeTest, RejectsFlippedBitInEachChunk) {
  const Bytes wire = MakeRequest();
  const std::pair<size_t, const char*> cases[] = {
      {kHeader + 3, "chunks: chunk 0 does not authenticate"},
      {kHeader + kChunk + 3, "chunks: chunk 1 does not authenticate"},
      {wire.size() - 1, "chunks: final chunk does not authenticate"},
  };
  for (const auto& [offset, message] : cases) {
    Bytes tampered = wire;
    tampered[offset] ^= 0x01;
    auto status = ReadAll(tampered);
    EXPECT_EQ(status.error().code(), ErrorCode::kAuthenticationFailed);
    EXPECT_EQ(status.error().message(), message);
  }
}

TEST_F(ChunkedOhttpNegativeTest, RejectsReorderedChunks) {
  const Bytes wire = MakeRequest();
  Bytes swapped(wire.begin(), wire.begin() + kHeader);
  Append(swapped, ByteView(wire).subspan(kHeader + kChunk, kChunk));
  Append(swapped, ByteView(wire).subspan(kHeader, kChunk));
  Append(swapped, ByteView(wire).subspan(kHeader + 2 * kChunk));
  EXPECT_EQ(ReadAll(swapped).error().message(), "chunks: chunk 0 does not authenticate");
}

TEST_F(ChunkedOhttpNegativeTest, RejectsNonFinalChunkPresentedAsFinal) {
  const Bytes wire = MakeRequest();
  Bytes cut(wire.begin(), wire.begin() + kHeader + kChunk);
  cut.push_back(0x00);  // final marker, then the second chunk's ciphertext as the final chunk
  Append(cut, ByteView(wire).subspan(kHeader + kChunk + 1, kChunk - 1));
  EXPECT_EQ(ReadAll(cut).error().message(), "chunks: final chunk does not authenticate");
}

TEST_F(ChunkedOhttpNegativeTest, RejectsChunkSplicedFromAnotherRequest) {
  const Bytes first = MakeRequest();
  const Bytes second = MakeRequest();
  Bytes spliced(first.begin(), first.begin() + kHeader + kChunk);
  Append(spliced, ByteView(second).subspan(kHeader + kChunk));
  EXPECT_EQ(ReadAll(spliced).error().message(), "chunks: chunk 1 does not authenticate");
}

TEST_F(ChunkedOhttpNegativeTest, RejectsOverlongChunkLength) {
  Bytes wire = MakeRequest();
  Bytes overlong(wire.begin(), wire.begin() + kHeader);
  overlong.insert(overlong.end(), {0x80, 0x10, 0x00, 0x00});  // varint 1 MiB
  auto status = ReadAll(overlong);
  EXPECT_EQ(status.error().code(), ErrorCode::kOutOfRange);
  EXPECT_EQ(status.error().message(), "chunks: chunk 0 length 1048576 exceeds the limit of 65552");
}

TEST_F(ChunkedOhttpNegativeTest, RejectsChunkShorterThanTag) {
  Bytes wire = MakeRequest();
  Bytes short_chunk(wire.begin(), wire.begin() + kHeader);
  short_chunk.push_back(0x05);
  EXPECT_EQ(ReadAll(short_chunk).error().message(), "chunks: chunk 0 is shorter than the AEAD tag");
}

TEST(ChunkStreamTest, RejectsEmptyNonFinalChunk) {
  const Bytes key(16, 1), nonce(12, 2);
  auto sealer = CounterChunkCipher::Create(crypto::AeadId::kAes128Gcm, key, nonce);
  Bytes wire;
  for (const char* part : {"a", "", "b"}) {
    Bytes ct;
    ASSERT_TRUE(sealer->Seal(AsBytes(part), false, ct).ok());
    wire.push_back(static_cast<uint8_t>(ct.size()));
    Append(wire, ct);
  }
  ChunkReader reader(std::make_unique<CounterChunkCipher>(std::move(
      CounterChunkCipher::Create(crypto::AeadId::kAes128Gcm, key, nonce)).value()));
  SecretBytes out;
  auto status = reader.Push(wire, out);
  EXPECT_EQ(status.error().code(), ErrorCode::kAuthenticationFailed);
  EXPECT_EQ(status.error().message(), "chunks: chunk 1 is empty but not final");
  EXPECT_EQ(AsChars(out.view()), "a");
}

TEST_F(ChunkedOhttpNegativeTest, RejectsWrongKeyIdAndUnknownKem) {
  Bytes wire = MakeRequest();
  wire[0] = 9;
  EXPECT_EQ(ReadAll(wire).error().code(), ErrorCode::kUnknownKey);
  wire = MakeRequest();
  wire[2] = 0x21;
  EXPECT_EQ(ReadAll(wire).error().message(), "ohttp: kem_id 0x0021 is not supported");
}

TEST_F(ChunkedOhttpNegativeTest, ClientRejectsTruncatedResponse) {
  std::optional<ChunkedRequestWriter> writer;
  const Bytes wire = MakeRequest(&writer);
  ChunkedRequestReader reader(keys_);
  SecretBytes request;
  ASSERT_TRUE(reader.Push(wire, request).ok());
  ASSERT_TRUE(reader.Finish(request).ok());
  Bytes response;
  auto response_writer = reader.MakeResponseWriter(response);
  ASSERT_TRUE(response_writer->Write(ToBytes("token"), response).ok());
  // Truncated before the final chunk: the client must not accept the prefix.
  auto client = writer->MakeResponseReader();
  SecretBytes got;
  ASSERT_TRUE(client.Push(response, got).ok());
  EXPECT_EQ(AsChars(got.view()), "token");
  EXPECT_EQ(client.Finish(got).error().code(), ErrorCode::kIncomplete);
  // Cut inside the response nonce.
  auto client2 = writer->MakeResponseReader();
  ASSERT_TRUE(client2.Push(ByteView(response).first(5), got).ok());
  EXPECT_EQ(client2.Finish(got).error().message(), "ohttp: response stream ended inside the response nonce");
}

}  // namespace
}  // namespace openpcc::wire
