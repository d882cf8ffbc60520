// The sealed request and response of DESIGN.md §2.2: round trips to candidates of different KEMs
// and suites, streaming in both directions, and one test per refusal, each asserting its error.
#include "openpcc/wire/sealed.h"

#include <gtest/gtest.h>

#include <set>

#include "openpcc/crypto/hash.h"

namespace openpcc::wire {
namespace {

using crypto::AeadId;
using crypto::KdfId;
using crypto::KemId;
using crypto::SecretBytes;
using crypto::SoftwareDhKey;

struct TestNode {
  NodeKey key;
  SealedCandidate candidate;
};

TestNode MakeNode(KemId kem, SymmetricSuite suite, uint8_t key_id = 1) {
  auto private_key = std::make_shared<SoftwareDhKey>(std::move(SoftwareDhKey::Generate(kem)).value());
  KeyConfig config;
  config.key_id = key_id;
  config.kem = kem;
  config.public_key = ToBytes(private_key->public_key());
  config.suites = {suite, {KdfId::kHkdfSha256, AeadId::kAes128Gcm}};
  auto key = MakeNodeKey(config, private_key);
  return TestNode{std::move(key).value(), SealedCandidate{config, suite}};
}

const SymmetricSuite kDefaultSuite{KdfId::kHkdfSha256, AeadId::kAes256Gcm};

class SealedTest : public ::testing::Test {
 protected:
  SealedTest()
      : nodes_{MakeNode(KemId::kX25519HkdfSha256, kDefaultSuite),
               MakeNode(KemId::kP256HkdfSha256, {KdfId::kHkdfSha256, AeadId::kAes128Gcm}),
               MakeNode(KemId::kX25519HkdfSha256, {KdfId::kHkdfSha384, AeadId::kChaCha20Poly1305})} {}

  std::vector<SealedCandidate> Candidates() const {
    std::vector<SealedCandidate> out;
    for (const auto& n : nodes_) out.push_back(n.candidate);
    return out;
  }

  // Seals "hello, " + "node" as two chunks and a final "!" to all three nodes.
  Bytes Seal(std::optional<SealedRequestWriter>* keep = nullptr, SealOptions options = {}) {
    Bytes wire;
    auto writer = SealedRequestWriter::Create(Candidates(), wire, options);
    EXPECT_TRUE(writer.ok()) << writer.error().ToString();
    EXPECT_TRUE(writer->Write(ToBytes("hello, "), wire).ok());
    EXPECT_TRUE(writer->Write(ToBytes("node"), wire).ok());
    EXPECT_TRUE(writer->Finish(ToBytes("!"), wire).ok());
    if (keep != nullptr) keep->emplace(std::move(writer).value());
    return wire;
  }

  Status Open(size_t node, ByteView wire, SecretBytes* out = nullptr,
              std::optional<SealedRequestReader>* keep = nullptr) {
    SealedRequestReader reader({nodes_[node].key});
    SecretBytes plaintext;
    OPENPCC_RETURN_IF_ERROR(reader.Push(wire, plaintext));
    OPENPCC_RETURN_IF_ERROR(reader.Finish(plaintext));
    if (out != nullptr) *out = std::move(plaintext);
    if (keep != nullptr) keep->emplace(std::move(reader));
    return OkStatus();
  }

  // Offsets into a request to the three nodes with the default AES-256-GCM body.
  static constexpr size_t kHeader = 1 + 2 + 1 + 3 * 32 + 12;
  static constexpr size_t kCandidate0 = 6 + 32 + 32 + 16;
  static constexpr size_t kCandidate1 = 6 + 65 + 32 + 16;
  static constexpr size_t kCandidate2 = 6 + 32 + 32 + 16;
  static constexpr size_t kBody = kHeader + kCandidate0 + kCandidate1 + kCandidate2;

  std::vector<TestNode> nodes_;
};

TEST_F(SealedTest, EachCandidateOpensTheSameRequest) {
  std::optional<SealedRequestWriter> writer;
  const Bytes wire = Seal(&writer);
  for (size_t i = 0; i < nodes_.size(); ++i) {
    SecretBytes plaintext;
    std::optional<SealedRequestReader> reader;
    ASSERT_TRUE(Open(i, wire, &plaintext, &reader).ok()) << "node " << i;
    EXPECT_EQ(AsChars(plaintext.view()), "hello, node!");
    EXPECT_EQ(ToBytes(reader->request_digest()), ToBytes(writer->request_digest()));
    EXPECT_EQ(ToBytes(reader->node_id()), nodes_[i].key.node_id);
  }
}

TEST_F(SealedTest, RequestDigestCoversEveryByteAsSent) {
  std::optional<SealedRequestWriter> writer;
  const Bytes wire = Seal(&writer);
  // header || candidates, then each chunk's ciphertext with its 8-byte length.
  crypto::Hasher expected(crypto::HashId::kSha256);
  expected.Update(ByteView(wire).first(kBody));
  const size_t chunk_lengths[] = {7 + 16, 4 + 16};
  size_t offset = kBody;
  for (size_t length : chunk_lengths) {
    const uint8_t be[8] = {0, 0, 0, 0, 0, 0, 0, static_cast<uint8_t>(length)};
    expected.Update(ByteView(be, 8));
    expected.Update(ByteView(wire).subspan(offset + 1, length));
    offset += 1 + length;
  }
  const uint8_t final_be[8] = {0, 0, 0, 0, 0, 0, 0, 17};
  expected.Update(ByteView(final_be, 8));
  expected.Update(ByteView(wire).subspan(offset + 1));
  EXPECT_EQ(expected.Finish(), ToBytes(writer->request_digest()));
}

TEST_F(SealedTest, ResponseRoundTripsFromEachCandidate) {
  for (size_t i = 0; i < nodes_.size(); ++i) {
    std::optional<SealedRequestWriter> writer;
    const Bytes wire = Seal(&writer);
    std::optional<SealedRequestReader> reader;
    ASSERT_TRUE(Open(i, wire, nullptr, &reader).ok());
    Bytes response;
    auto response_writer = reader->MakeResponseWriter(response);
    ASSERT_TRUE(response_writer.ok());
    ASSERT_TRUE(response_writer->Write(ToBytes("Hi"), response).ok());
    ASSERT_TRUE(response_writer->Finish(ToBytes(" there"), response).ok());
    auto client = writer->MakeResponseReader();
    ASSERT_TRUE(client.ok());
    SecretBytes answer;
    // Byte by byte, as a slow network would deliver it.
    for (uint8_t b : response) ASSERT_TRUE(client->Push(ByteView(&b, 1), answer).ok());
    ASSERT_TRUE(client->Finish(answer).ok());
    EXPECT_EQ(AsChars(answer.view()), "Hi there");
    EXPECT_EQ(ToBytes(client->node_id()), nodes_[i].key.node_id);
  }
}

TEST_F(SealedTest, NodeReadsRequestByteByByte) {
  const Bytes wire = Seal();
  SealedRequestReader reader({nodes_[1].key});
  SecretBytes plaintext;
  for (uint8_t b : wire) ASSERT_TRUE(reader.Push(ByteView(&b, 1), plaintext).ok());
  ASSERT_TRUE(reader.Finish(plaintext).ok());
  EXPECT_EQ(AsChars(plaintext.view()), "hello, node!");
}

TEST_F(SealedTest, OpensWithGracePeriodKey) {
  TestNode next = MakeNode(KemId::kX25519HkdfSha256, kDefaultSuite, 2);
  const Bytes wire = Seal();  // sealed to the node's previous key
  SealedRequestReader reader({next.key, nodes_[0].key});
  SecretBytes plaintext;
  ASSERT_TRUE(reader.Push(wire, plaintext).ok());
  ASSERT_TRUE(reader.Finish(plaintext).ok());
}

TEST_F(SealedTest, WriterRefusesBadCandidateLists) {
  Bytes wire;
  EXPECT_EQ(SealedRequestWriter::Create({}, wire).error().code(), ErrorCode::kInvalidArgument);
  std::vector<SealedCandidate> twice = {nodes_[0].candidate, nodes_[0].candidate};
  EXPECT_EQ(SealedRequestWriter::Create(twice, wire).error().message(),
            "sealed: the same node appears twice among the candidates");
  std::vector<SealedCandidate> unlisted = {nodes_[0].candidate};
  unlisted[0].suite.aead = AeadId::kChaCha20Poly1305;
  EXPECT_EQ(SealedRequestWriter::Create(unlisted, wire).error().code(), ErrorCode::kInvalidArgument);
  SealOptions export_only;
  export_only.body_aead = AeadId::kExportOnly;
  EXPECT_EQ(SealedRequestWriter::Create(Candidates(), wire, export_only).error().code(), ErrorCode::kUnsupported);
  EXPECT_TRUE(wire.empty());
}

// ---- Refusals by the node, one per check of DESIGN §2.2 ----

TEST_F(SealedTest, RejectsUnknownVersion) {
  Bytes wire = Seal();
  wire[0] = 0x02;
  auto status = Open(0, wire);
  EXPECT_EQ(status.error().code(), ErrorCode::kUnsupported);
  EXPECT_EQ(status.error().message(), "sealed: unknown version 2");
}

TEST_F(SealedTest, RejectsUnknownOrExportOnlyBodyAead) {
  Bytes wire = Seal();
  wire[2] = 0x09;
  EXPECT_EQ(Open(0, wire).error().message(), "sealed: body_aead_id 0x0009 is not supported");
  wire[1] = 0xff;
  wire[2] = 0xff;
  EXPECT_EQ(Open(0, wire).error().message(), "sealed: body_aead_id 0xffff is not supported");
}

TEST_F(SealedTest, RejectsCandidateCountOutsideOneToEight) {
  Bytes wire = Seal();
  wire[3] = 0;
  EXPECT_EQ(Open(0, wire).error().message(), "sealed: candidate count 0 is not in [1, 8]");
  wire[3] = 9;
  EXPECT_EQ(Open(0, wire).error().message(), "sealed: candidate count 9 is not in [1, 8]");
}

TEST_F(SealedTest, RejectsDuplicateNodeIds) {
  Bytes wire = Seal();
  std::copy(wire.begin() + 4, wire.begin() + 36, wire.begin() + 68);  // node_id[2] = node_id[0]
  auto status = Open(0, wire);
  EXPECT_EQ(status.error().code(), ErrorCode::kMalformed);
  EXPECT_EQ(status.error().message(), "sealed: duplicate node_id at candidates 0 and 2");
}

TEST_F(SealedTest, RejectsRequestForOtherNodes) {
  TestNode stranger = MakeNode(KemId::kX25519HkdfSha256, kDefaultSuite);
  SealedRequestReader reader({stranger.key});
  SecretBytes plaintext;
  auto status = reader.Push(Seal(), plaintext);
  EXPECT_EQ(status.error().code(), ErrorCode::kUnknownKey);
  EXPECT_EQ(status.error().message(), "sealed: no candidate is this node");
}

TEST_F(SealedTest, RejectsRequestNamingBothCurrentAndGraceKey) {
  // Nodes 0 and 2 play one node's current and grace-period keys.
  SealedRequestReader reader({nodes_[0].key, nodes_[2].key});
  SecretBytes plaintext;
  EXPECT_EQ(reader.Push(Seal(), plaintext).error().message(), "sealed: more than one candidate is this node");
}

TEST_F(SealedTest, RejectsStrippedCandidate) {
  // The gateway drops node 2 and fixes up count and node_ids: the header hash changes.
  const Bytes wire = Seal();
  Bytes stripped = {wire[0], wire[1], wire[2], 2};
  Append(stripped, ByteView(wire).subspan(4, 64));                       // node_id[0..1]
  Append(stripped, ByteView(wire).subspan(100, 12));                     // body_nonce
  Append(stripped, ByteView(wire).subspan(kHeader, kCandidate0 + kCandidate1));
  Append(stripped, ByteView(wire).subspan(kBody));
  auto status = Open(0, stripped);
  EXPECT_EQ(status.error().code(), ErrorCode::kAuthenticationFailed);
  EXPECT_EQ(status.error().message(), "sealed: wrapped_dek does not open (header, candidate list or key changed)");
}

TEST_F(SealedTest, RejectsReorderedCandidates) {
  // Swap candidates 0 and 2 (same sizes) together with their node_ids.
  const Bytes wire = Seal();
  Bytes reordered = wire;
  std::copy(wire.begin() + 4, wire.begin() + 36, reordered.begin() + 68);
  std::copy(wire.begin() + 68, wire.begin() + 100, reordered.begin() + 4);
  const size_t c2 = kHeader + kCandidate0 + kCandidate1;
  std::copy(wire.begin() + kHeader, wire.begin() + kHeader + kCandidate0, reordered.begin() + c2);
  std::copy(wire.begin() + c2, wire.begin() + c2 + kCandidate2, reordered.begin() + kHeader);
  EXPECT_EQ(Open(0, reordered).error().code(), ErrorCode::kAuthenticationFailed);
  EXPECT_EQ(Open(2, reordered).error().code(), ErrorCode::kAuthenticationFailed);
}

TEST_F(SealedTest, RejectsEditedOwnCandidate) {
  const Bytes wire = Seal();
  Bytes edited = wire;
  edited[kHeader + 6 + 3] ^= 0x01;  // node 0's enc
  EXPECT_EQ(Open(0, edited).error().code(), ErrorCode::kAuthenticationFailed);
  edited = wire;
  edited[kHeader + kCandidate0 - 1] ^= 0x01;  // node 0's wrapped_dek tag
  EXPECT_EQ(Open(0, edited).error().code(), ErrorCode::kAuthenticationFailed);
  edited = wire;
  edited[kHeader + 5] = 0x03;  // node 0's aead -> ChaCha20-Poly1305, not in its KeyConfig
  auto status = Open(0, edited);
  EXPECT_EQ(status.error().code(), ErrorCode::kUnsupported);
  EXPECT_EQ(status.error().message(),
            "sealed: this node's candidate uses suite (kem 0x0020, kdf 0x0001, aead 0x0003) that its key "
            "configuration does not list");
  edited = wire;
  edited[kHeader + kCandidate0 + 1] = 0x21;  // candidate 1's kem: unknown, so its length is unknown
  EXPECT_EQ(Open(0, edited).error().message(), "sealed: candidate 1: hpke: kem_id 0x0021 is not supported");
}

TEST_F(SealedTest, EditedOtherCandidateMakesTheClientRejectTheResponse) {
  std::optional<SealedRequestWriter> writer;
  Bytes wire = Seal(&writer);
  wire[kHeader + kCandidate0 + 10] ^= 0x01;  // node 1's enc: node 0 cannot see it...
  std::optional<SealedRequestReader> reader;
  ASSERT_TRUE(Open(0, wire, nullptr, &reader).ok());
  Bytes response;
  auto response_writer = reader->MakeResponseWriter(response);
  ASSERT_TRUE(response_writer->Finish(ToBytes("answer"), response).ok());
  // ...but the request digest differs, so the response key does too.
  auto client = writer->MakeResponseReader();
  SecretBytes answer;
  ASSERT_TRUE(client->Push(response, answer).ok());
  auto status = client->Finish(answer);
  EXPECT_EQ(status.error().code(), ErrorCode::kAuthenticationFailed);
  EXPECT_EQ(status.error().message(), "chunks: final chunk does not authenticate");
  EXPECT_TRUE(answer.empty());
}

TEST_F(SealedTest, RejectsFlippedBodyNonceBit) {
  Bytes wire = Seal();
  wire[kHeader - 1] ^= 0x01;
  EXPECT_EQ(Open(1, wire).error().code(), ErrorCode::kAuthenticationFailed);
}

TEST_F(SealedTest, RejectsFlippedBodyBit) {
  Bytes wire = Seal();
  wire[kBody + 5] ^= 0x01;
  EXPECT_EQ(Open(0, wire).error().message(), "chunks: chunk 0 does not authenticate");
}

TEST_F(SealedTest, RejectsMissingFinalChunk) {
  Bytes wire = Seal();
  wire.resize(kBody + (1 + 23) + (1 + 20));
  auto status = Open(0, wire);
  EXPECT_EQ(status.error().code(), ErrorCode::kIncomplete);
  EXPECT_EQ(status.error().message(), "chunks: stream ended without the final chunk (truncated)");
}

TEST_F(SealedTest, RejectsTruncatedHeader) {
  Bytes wire = Seal();
  wire.resize(kHeader + 20);
  EXPECT_EQ(Open(0, wire).error().message(), "sealed: request ended before its header and candidates were complete");
}

TEST_F(SealedTest, RejectsChunkSplicedFromAnotherRequest) {
  const Bytes first = Seal();
  const Bytes second = Seal();
  Bytes spliced(first.begin(), first.begin() + kBody + 24);
  Append(spliced, ByteView(second).subspan(kBody + 24));
  EXPECT_EQ(Open(0, spliced).error().message(), "chunks: chunk 1 does not authenticate");
}

TEST_F(SealedTest, RejectsOverlongChunkLengthAndOversizedRequest) {
  Bytes wire = Seal();
  wire.resize(kBody);
  wire.insert(wire.end(), {0x80, 0x02, 0x00, 0x00});  // 131072 > 64 KiB + 16
  EXPECT_EQ(Open(0, wire).error().message(), "chunks: chunk 0 length 131072 exceeds the limit of 65552");
  Bytes big = Seal();
  big.resize(big.size() + 2 * 1024 * 1024);
  SealedRequestReader reader({nodes_[0].key});
  SecretBytes plaintext;
  EXPECT_EQ(reader.Push(big, plaintext).error().code(), ErrorCode::kOutOfRange);
}

TEST_F(SealedTest, SizeLimitCountsTheWholeRequestHoweverItIsSplit) {
  const Bytes wire = Seal();
  ChunkLimits limits;
  limits.max_total = wire.size() - 1;  // the body alone fits; header + candidates + body do not
  for (size_t piece : {wire.size(), size_t{1}, size_t{100}}) {
    SealedRequestReader reader({nodes_[0].key}, limits);
    SecretBytes plaintext;
    Status status = OkStatus();
    for (size_t offset = 0; offset < wire.size() && status.ok(); offset += piece) {
      status = reader.Push(ByteView(wire).subspan(offset, std::min(piece, wire.size() - offset)), plaintext);
    }
    if (status.ok()) status = reader.Finish(plaintext);
    EXPECT_EQ(status.error().code(), ErrorCode::kOutOfRange) << "pieces of " << piece;
  }
  limits.max_total = wire.size();
  SealedRequestReader exact({nodes_[0].key}, limits);
  SecretBytes plaintext;
  ASSERT_TRUE(exact.Push(wire, plaintext).ok());
  EXPECT_TRUE(exact.Finish(plaintext).ok());
  // The writer counts the same way.
  SealOptions options;
  options.limits.max_total = kBody + 10;
  Bytes out;
  auto writer = SealedRequestWriter::Create(Candidates(), out, options);
  ASSERT_TRUE(writer.ok());
  EXPECT_EQ(writer->Finish(Bytes(20, 1), out).error().code(), ErrorCode::kOutOfRange);
}

TEST_F(SealedTest, ReplayCheckSeesEncBeforeAnyPlaintextAndCanRefuse) {
  const Bytes wire = Seal();
  std::set<Bytes> seen;
  auto replay_table = [&seen](ByteView enc) -> Status {
    if (!seen.insert(ToBytes(enc)).second) return Error(ErrorCode::kReplay, "enc seen before");
    return OkStatus();
  };
  SealedRequestReader first({nodes_[0].key}, {}, replay_table);
  SecretBytes plaintext;
  ASSERT_TRUE(first.Push(wire, plaintext).ok());
  ASSERT_TRUE(first.Finish(plaintext).ok());
  EXPECT_EQ(seen.size(), 1u);
  EXPECT_EQ(*seen.begin(), ToBytes(first.enc()));

  SealedRequestReader replayed({nodes_[0].key}, {}, replay_table);
  SecretBytes replayed_plaintext;
  auto status = replayed.Push(wire, replayed_plaintext);
  EXPECT_EQ(status.error().code(), ErrorCode::kReplay);
  EXPECT_EQ(status.error().message(), "sealed: enc seen before");
  EXPECT_TRUE(replayed_plaintext.empty());  // not one body byte was decrypted
}

TEST_F(SealedTest, ReaderAndResponseWriterAreSingleUse) {
  std::optional<SealedRequestReader> reader;
  ASSERT_TRUE(Open(0, Seal(), nullptr, &reader).ok());
  SecretBytes more;
  EXPECT_EQ(reader->Finish(more).error().message(), "sealed: request stream already finished");
  Bytes response;
  ASSERT_TRUE(reader->MakeResponseWriter(response).ok());
  EXPECT_EQ(reader->MakeResponseWriter(response).error().message(), "sealed: response already started");
  SealedRequestReader failed({nodes_[0].key});
  Bytes broken = Seal();
  broken[0] = 9;
  EXPECT_FALSE(failed.Push(broken, more).ok());
  EXPECT_EQ(failed.MakeResponseWriter(response).error().code(), ErrorCode::kFailedPrecondition);
}

// ---- Refusals by the client ----

class SealedResponseTest : public SealedTest {
 protected:
  void SetUp() override {
    wire_ = Seal(&writer_);
    ASSERT_TRUE(Open(0, wire_, nullptr, &reader_).ok());
    auto w = reader_->MakeResponseWriter(response_);
    ASSERT_TRUE(w->Write(ToBytes("token one"), response_).ok());
    ASSERT_TRUE(w->Finish(ToBytes(" two"), response_).ok());
  }
  Status Read(ByteView response, SecretBytes* out = nullptr) {
    auto client = writer_->MakeResponseReader();
    SecretBytes answer;
    OPENPCC_RETURN_IF_ERROR(client->Push(response, answer));
    OPENPCC_RETURN_IF_ERROR(client->Finish(answer));
    if (out != nullptr) *out = std::move(answer);
    return OkStatus();
  }
  std::optional<SealedRequestWriter> writer_;
  std::optional<SealedRequestReader> reader_;
  Bytes wire_, response_;
};

TEST_F(SealedResponseTest, AcceptsGenuineResponse) {
  SecretBytes answer;
  ASSERT_TRUE(Read(response_, &answer).ok());
  EXPECT_EQ(AsChars(answer.view()), "token one two");
}

TEST_F(SealedResponseTest, RejectsResponseFromANodeThatWasNotACandidate) {
  Bytes forged = response_;
  forged[0] ^= 0x01;
  auto status = Read(forged);
  EXPECT_EQ(status.error().code(), ErrorCode::kUnknownKey);
  EXPECT_EQ(status.error().message(), "sealed response: node_id is not one of the request's candidates");
}

TEST_F(SealedResponseTest, RejectsResponseClaimingAnotherCandidate) {
  Bytes swapped = response_;
  std::copy(nodes_[2].key.node_id.begin(), nodes_[2].key.node_id.end(), swapped.begin());
  EXPECT_EQ(Read(swapped).error().code(), ErrorCode::kAuthenticationFailed);
}

TEST_F(SealedResponseTest, RejectsTruncatedResponse) {
  Bytes truncated(response_.begin(), response_.begin() + 32 + 32 + 1 + 9 + 16);
  auto status = Read(truncated);
  EXPECT_EQ(status.error().code(), ErrorCode::kIncomplete);
  Bytes too_short(response_.begin(), response_.begin() + 40);
  EXPECT_EQ(Read(too_short).error().message(), "sealed response: stream ended before node_id and response_nonce");
}

TEST_F(SealedResponseTest, RejectsFlippedResponseBit) {
  for (size_t offset : {size_t{40}, size_t{70}, response_.size() - 1}) {
    Bytes flipped = response_;
    flipped[offset] ^= 0x20;
    EXPECT_EQ(Read(flipped).error().code(), ErrorCode::kAuthenticationFailed) << "offset " << offset;
  }
}

TEST_F(SealedResponseTest, RejectsResponseToAnotherRequest) {
  std::optional<SealedRequestWriter> other;
  Seal(&other);
  auto client = other->MakeResponseReader();
  SecretBytes answer;
  Status status = client->Push(response_, answer);
  if (status.ok()) status = client->Finish(answer);
  EXPECT_EQ(status.error().code(), ErrorCode::kAuthenticationFailed);
  EXPECT_EQ(status.error().message(), "chunks: chunk 0 does not authenticate");
  EXPECT_TRUE(answer.empty());
}

}  // namespace
}  // namespace openpcc::wire
