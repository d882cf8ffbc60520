// Interoperability of our sealed request and sealed response (DESIGN.md §2.2) with a second,
// independent implementation written from the design text alone: tests/interop/sealed_peer.mjs
// (HPKE from @hpke/core 1.9.0 with @hpke/dhkem-x25519 and @hpke/chacha20poly1305; SHA-256, HKDF
// and the chunk AEADs from Node's crypto). The script's header documents its job contract.
//
//   - the peer rebuilds the committed vectors byte for byte and opens them in both roles;
//   - the peer seals, our node opens and answers, the peer's client opens the answer;
//   - we seal, the peer's node opens and answers, our client opens the answer;
//   - tampered requests and responses are refused by both implementations, at the same check;
//   - non-final chunks that carry no data (chunked OHTTP forbids them) are refused by both.
// Candidate lists of 1, 3 and 8 nodes mix X25519 and P-256 nodes, every KDF and every AEAD, and
// a body chunk of exactly 64 KiB (the largest allowed).
//
// Node.js starts slowly, so each test sends all its cases to one peer invocation (two for the test
// whose peer client must read what our node wrote).
#include <boost/json.hpp>
#include <gtest/gtest.h>

#include <algorithm>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "openpcc/wire/sealed.h"
#include "support/node.h"
#include "support/vectors.h"

namespace openpcc::wire {
namespace {

using crypto::AeadId;
using crypto::KdfId;
using crypto::KemId;
using crypto::SecretBytes;
using crypto::SoftwareDhKey;
using openpcc::testing::Hex;
using openpcc::testing::RunNodePeer;
namespace json = boost::json;

constexpr char kPeer[] = "sealed_peer.mjs";

struct TestNode {
  std::shared_ptr<SoftwareDhKey> private_key;
  NodeKey key;
  SealedCandidate candidate;
};

TestNode MakeNode(KemId kem, SymmetricSuite suite, uint8_t key_id = 1) {
  auto generated = SoftwareDhKey::Generate(kem);
  EXPECT_TRUE(generated.ok());
  auto private_key = std::make_shared<SoftwareDhKey>(std::move(generated).value());
  KeyConfig config;
  config.key_id = key_id;
  config.kem = kem;
  config.public_key = ToBytes(private_key->public_key());
  config.suites = {suite, {KdfId::kHkdfSha256, AeadId::kAes128Gcm}};
  if (suite == SymmetricSuite{KdfId::kHkdfSha256, AeadId::kAes128Gcm}) config.suites.resize(1);
  auto key = MakeNodeKey(config, private_key);
  EXPECT_TRUE(key.ok()) << key.error().ToString();
  return TestNode{private_key, std::move(key).value(), SealedCandidate{config, suite}};
}

std::string HexOf(ByteView bytes) { return HexEncode(bytes); }
Bytes HexField(const json::value& v, std::string_view field) { return Hex(std::string(v.at(field).as_string())); }
std::string Text(const json::value& v, std::string_view field) {
  return std::string(AsChars(HexField(v, field)));
}

// {node_private_key, key_config} for the peer's node role.
json::object NodeKeyJson(const TestNode& node) {
  return json::object{
      {"node_private_key", HexOf(node.private_key->PrivateKeyBytes()->view())},
      {"key_config", HexOf(*EncodeKeyConfig(node.key.config))},
  };
}
// {key_config, kdf_id, aead_id} for the peer's client role.
json::object CandidateJson(const TestNode& node) {
  return json::object{
      {"key_config", HexOf(*EncodeKeyConfig(node.key.config))},
      {"kdf_id", static_cast<int>(node.candidate.suite.kdf)},
      {"aead_id", static_cast<int>(node.candidate.suite.aead)},
  };
}
json::array HexArray(const std::vector<std::string>& items) {
  json::array out;
  for (const auto& s : items) out.emplace_back(HexOf(AsBytes(s)));
  return out;
}
std::string Joined(const std::vector<std::string>& items) {
  std::string out;
  for (const auto& s : items) out += s;
  return out;
}

// One request shape: the candidates' KEMs and suites and the body AEAD.
struct Scenario {
  std::string name;
  AeadId body_aead;
  std::vector<TestNode> nodes;
  std::vector<std::string> chunks;  // last one is the final chunk

  std::vector<SealedCandidate> Candidates() const {
    std::vector<SealedCandidate> out;
    for (const auto& n : nodes) out.push_back(n.candidate);
    return out;
  }
};

std::vector<Scenario> Scenarios() {
  const std::string max_chunk(64 * 1024, 'm');
  std::vector<Scenario> out;
  out.push_back({"one X25519 node, default suite", AeadId::kAes256Gcm,
                 {}, {"{\"model\":\"tiny\",", "\"prompt\":\"hi\"}", ""}});
  out.back().nodes.push_back(MakeNode(KemId::kX25519HkdfSha256, {KdfId::kHkdfSha256, AeadId::kAes256Gcm}));

  out.push_back({"one P-256 node, SHA-512 and ChaCha20-Poly1305", AeadId::kAes128Gcm, {}, {"x", "yz", ""}});
  out.back().nodes.push_back(MakeNode(KemId::kP256HkdfSha256, {KdfId::kHkdfSha512, AeadId::kChaCha20Poly1305}));

  out.push_back({"three mixed nodes, ChaCha20-Poly1305 body, a 64 KiB chunk", AeadId::kChaCha20Poly1305, {},
                 {"a", max_chunk, "end"}});
  out.back().nodes.push_back(MakeNode(KemId::kX25519HkdfSha256, {KdfId::kHkdfSha256, AeadId::kAes256Gcm}));
  out.back().nodes.push_back(MakeNode(KemId::kP256HkdfSha256, {KdfId::kHkdfSha256, AeadId::kAes128Gcm}));
  out.back().nodes.push_back(MakeNode(KemId::kX25519HkdfSha256, {KdfId::kHkdfSha384, AeadId::kChaCha20Poly1305}));

  out.push_back({"eight nodes, every KEM, KDF and AEAD", AeadId::kAes256Gcm, {}, {"eight", " candidates"}});
  const KemId kems[] = {KemId::kX25519HkdfSha256, KemId::kP256HkdfSha256};
  const KdfId kdfs[] = {KdfId::kHkdfSha256, KdfId::kHkdfSha384, KdfId::kHkdfSha512};
  const AeadId aeads[] = {AeadId::kAes128Gcm, AeadId::kAes256Gcm, AeadId::kChaCha20Poly1305};
  for (size_t i = 0; i < 8; ++i) {
    out.back().nodes.push_back(MakeNode(kems[i % 2], {kdfs[i % 3], aeads[(i / 2) % 3]}, static_cast<uint8_t>(i)));
  }
  return out;
}

struct Sealed {
  Bytes wire;
  std::optional<SealedRequestWriter> writer;
};

Sealed SealWithUs(const Scenario& s) {
  Sealed out;
  SealOptions options;
  options.body_aead = s.body_aead;
  auto writer = SealedRequestWriter::Create(s.Candidates(), out.wire, options);
  EXPECT_TRUE(writer.ok()) << writer.error().ToString();
  for (size_t i = 0; i + 1 < s.chunks.size(); ++i) {
    EXPECT_TRUE(writer->Write(AsBytes(s.chunks[i]), out.wire).ok());
  }
  EXPECT_TRUE(writer->Finish(AsBytes(s.chunks.back()), out.wire).ok());
  out.writer.emplace(std::move(writer).value());
  return out;
}

// Our node: opens `wire` with `keys`; on success fills the reader.
Status OpenWithUs(const std::vector<NodeKey>& keys, ByteView wire, SecretBytes& plaintext,
                  std::optional<SealedRequestReader>* keep = nullptr) {
  SealedRequestReader reader(keys);
  OPENPCC_RETURN_IF_ERROR(reader.Push(wire, plaintext));
  OPENPCC_RETURN_IF_ERROR(reader.Finish(plaintext));
  if (keep != nullptr) keep->emplace(std::move(reader));
  return OkStatus();
}

// Our client: reads a response to the request `writer` sealed.
Status ReadWithUs(const SealedRequestWriter& writer, ByteView response, SecretBytes& answer) {
  auto client = writer.MakeResponseReader();
  if (!client.ok()) return client.error();
  OPENPCC_RETURN_IF_ERROR(client->Push(response, answer));
  return client->Finish(answer);
}

const json::array* Results(const json::value& output) {
  if (output.is_null() || !output.is_object() || !output.as_object().contains("results")) return nullptr;
  return &output.at("results").as_array();
}

std::string PeerError(const json::value& result) {
  if (!result.as_object().contains("error")) return "";
  return std::string(result.at("error").as_string()) + " (" + std::string(result.at("detail").as_string()) + ")";
}

// ---- Committed vectors -------------------------------------------------------------------------

TEST(SealedInteropTest, NodeImplementationReproducesCommittedVectors) {
  const json::value committed =
      json::parse(openpcc::testing::ReadSourceFile("docs/vectors/sealed-request-v1.json"));
  const json::array& vectors = committed.at("vectors").as_array();
  const json::value output = RunNodePeer(kPeer, json::object{{"op", "reproduce"}, {"vectors", vectors}});
  const json::array* results = Results(output);
  ASSERT_NE(results, nullptr);
  ASSERT_EQ(results->size(), vectors.size());
  for (size_t i = 0; i < vectors.size(); ++i) {
    const json::value& v = vectors[i];
    const json::value& r = (*results)[i];
    SCOPED_TRACE(std::string(v.at("name").as_string()));
    for (const char* field : {"sealed_request", "request_digest", "sealed_response"}) {
      EXPECT_EQ(r.at(field), v.at(field)) << field;
    }
    std::string request_text, response_text;
    for (const auto& c : v.at("request_chunks").as_array()) request_text += AsChars(Hex(std::string(c.as_string())));
    for (const auto& c : v.at("response_chunks").as_array()) response_text += AsChars(Hex(std::string(c.as_string())));
    const json::value& opened_request = r.at("opened_request");
    ASSERT_EQ(PeerError(opened_request), "");
    EXPECT_EQ(Text(opened_request, "plaintext"), request_text);
    EXPECT_EQ(opened_request.at("request_digest"), v.at("request_digest"));
    const auto responder = static_cast<size_t>(v.at("responder").as_int64());
    EXPECT_EQ(opened_request.at("node_id"), v.at("candidates").as_array()[responder].at("node_id"));
    const json::value& opened_response = r.at("opened_response");
    ASSERT_EQ(PeerError(opened_response), "");
    EXPECT_EQ(Text(opened_response, "plaintext"), response_text);
  }
}

// ---- Round trips -------------------------------------------------------------------------------

// The peer's client seals; each of our candidate nodes opens and answers; the peer's client reads
// every answer. The peer's client also refuses tampered answers.
TEST(SealedInteropTest, NodeSealsWhatWeOpenAndOpensOurResponse) {
  const std::vector<Scenario> scenarios = Scenarios();
  json::array seal_jobs;
  for (const auto& s : scenarios) {
    json::array candidates;
    for (const auto& n : s.nodes) candidates.push_back(CandidateJson(n));
    seal_jobs.push_back(json::object{{"op", "seal"},
                                     {"candidates", candidates},
                                     {"body_aead_id", static_cast<int>(s.body_aead)},
                                     {"request_chunks", HexArray(s.chunks)}});
  }
  const json::value sealed_output = RunNodePeer(kPeer, json::object{{"op", "batch"}, {"jobs", seal_jobs}});
  const json::array* sealed = Results(sealed_output);
  ASSERT_NE(sealed, nullptr);
  ASSERT_EQ(sealed->size(), scenarios.size());

  struct Expectation {
    std::string what;
    std::string plaintext;  // empty with `error` set
    std::string error;
  };
  std::vector<Expectation> expected;
  json::array open_jobs;
  for (size_t si = 0; si < scenarios.size(); ++si) {
    const Scenario& s = scenarios[si];
    const json::value& r = (*sealed)[si];
    ASSERT_EQ(PeerError(r), "") << s.name;
    const Bytes wire = HexField(r, "sealed_request");
    for (size_t ni = 0; ni < s.nodes.size(); ++ni) {
      const std::string what = s.name + ", node " + std::to_string(ni);
      SCOPED_TRACE(what);
      SecretBytes plaintext;
      std::optional<SealedRequestReader> reader;
      const Status opened = OpenWithUs({s.nodes[ni].key}, wire, plaintext, &reader);
      ASSERT_TRUE(opened.ok()) << opened.error().ToString();
      EXPECT_EQ(AsChars(plaintext.view()), Joined(s.chunks));
      EXPECT_EQ(HexOf(reader->request_digest()), r.at("request_digest").as_string());
      EXPECT_EQ(ToBytes(reader->node_id()), s.nodes[ni].key.node_id);

      Bytes response;
      auto writer = reader->MakeResponseWriter(response);
      ASSERT_TRUE(writer.ok()) << writer.error().ToString();
      const std::string answer = "answer from " + what;
      const std::string last = ni % 2 == 0 ? "." : "";  // an empty final chunk is allowed
      ASSERT_TRUE(writer->Write(AsBytes(answer), response).ok());
      ASSERT_TRUE(writer->Finish(AsBytes(last), response).ok());

      auto job = [&](const Bytes& bytes) {
        return json::object{{"op", "open_response"},
                            {"client_state", r.at("client_state")},
                            {"sealed_response", HexOf(bytes)}};
      };
      open_jobs.push_back(job(response));
      expected.push_back({what, answer + last, ""});
      if (ni != 0) continue;
      // Tampered answers, once per scenario.
      Bytes forged = response;
      forged[0] ^= 0x01;  // node_id of no candidate
      open_jobs.push_back(job(forged));
      expected.push_back({what + ": foreign node_id", "", "not a candidate"});
      Bytes flipped = response;
      flipped.back() ^= 0x80;  // final chunk's tag
      open_jobs.push_back(job(flipped));
      expected.push_back({what + ": flipped final chunk", "", "chunk auth"});
      const size_t nonce = std::max<size_t>(12, crypto::AeadKeyLength(s.nodes[0].candidate.suite.aead));
      Bytes nonce_flipped = response;
      nonce_flipped[32 + nonce - 1] ^= 0x01;  // response_nonce: every key changes
      open_jobs.push_back(job(nonce_flipped));
      expected.push_back({what + ": flipped response_nonce", "", "chunk auth"});
      // Cut right after the first chunk: no final chunk.
      const size_t first_length = answer.size() + crypto::kAeadTagLength;
      const size_t first_chunk = (first_length < 64 ? 1 : 2) + first_length;
      ASSERT_EQ(response[32 + nonce + first_chunk], 0x00);  // the final chunk's marker
      Bytes truncated(response.begin(), response.begin() + 32 + nonce + first_chunk);
      open_jobs.push_back(job(truncated));
      expected.push_back({what + ": truncated", "", "missing final chunk"});
    }
  }

  const json::value opened_output = RunNodePeer(kPeer, json::object{{"op", "batch"}, {"jobs", open_jobs}});
  const json::array* opened = Results(opened_output);
  ASSERT_NE(opened, nullptr);
  ASSERT_EQ(opened->size(), expected.size());
  for (size_t i = 0; i < expected.size(); ++i) {
    SCOPED_TRACE(expected[i].what);
    const json::value& r = (*opened)[i];
    if (expected[i].error.empty()) {
      ASSERT_EQ(PeerError(r), "");
      EXPECT_EQ(Text(r, "plaintext"), expected[i].plaintext);
    } else {
      ASSERT_TRUE(r.as_object().contains("error")) << "the peer accepted it";
      EXPECT_EQ(r.at("error").as_string(), expected[i].error) << PeerError(r);
    }
  }
}

// Our client seals; the peer, as each candidate node, opens and answers; our client reads every
// answer, and refuses tampered ones as the peer's client does.
TEST(SealedInteropTest, WeSealWhatNodeOpensAndWeOpenItsResponse) {
  const std::vector<Scenario> scenarios = Scenarios();
  std::vector<Sealed> sealed;
  json::array jobs;
  for (const auto& s : scenarios) {
    sealed.push_back(SealWithUs(s));
    for (size_t ni = 0; ni < s.nodes.size(); ++ni) {
      json::object job = NodeKeyJson(s.nodes[ni]);
      job["op"] = "open_request";
      job["sealed_request"] = HexOf(sealed.back().wire);
      job["response_chunks"] = HexArray({"peer answer " + std::to_string(ni), "!", ""});
      jobs.push_back(std::move(job));
    }
  }
  const json::value output = RunNodePeer(kPeer, json::object{{"op", "batch"}, {"jobs", jobs}});
  const json::array* results = Results(output);
  ASSERT_NE(results, nullptr);
  size_t index = 0;
  for (size_t si = 0; si < scenarios.size(); ++si) {
    const Scenario& s = scenarios[si];
    const SealedRequestWriter& writer = *sealed[si].writer;
    for (size_t ni = 0; ni < s.nodes.size(); ++ni) {
      SCOPED_TRACE(s.name + ", node " + std::to_string(ni));
      ASSERT_LT(index, results->size());
      const json::value& r = (*results)[index++];
      ASSERT_EQ(PeerError(r), "");
      EXPECT_EQ(Text(r, "plaintext"), Joined(s.chunks));
      EXPECT_EQ(r.at("request_digest").as_string(), HexOf(writer.request_digest()));
      EXPECT_EQ(HexField(r, "node_id"), s.nodes[ni].key.node_id);

      const Bytes response = HexField(r, "sealed_response");
      SecretBytes answer;
      const Status read = ReadWithUs(writer, response, answer);
      ASSERT_TRUE(read.ok()) << read.error().ToString();
      EXPECT_EQ(AsChars(answer.view()), "peer answer " + std::to_string(ni) + "!");
      if (ni != 0) continue;

      Bytes forged = response;
      forged[0] ^= 0x01;
      SecretBytes ignored;
      EXPECT_EQ(ReadWithUs(writer, forged, ignored).error().code(), ErrorCode::kUnknownKey);
      Bytes flipped = response;
      flipped.back() ^= 0x80;
      EXPECT_EQ(ReadWithUs(writer, flipped, ignored).error().code(), ErrorCode::kAuthenticationFailed);
      const size_t nonce = std::max<size_t>(12, crypto::AeadKeyLength(s.nodes[0].candidate.suite.aead));
      const size_t first_chunk = 1 + std::string("peer answer 0").size() + crypto::kAeadTagLength;
      ASSERT_EQ(response[32 + nonce + first_chunk], 1 + crypto::kAeadTagLength);  // chunk "!"
      Bytes truncated(response.begin(), response.begin() + 32 + nonce + first_chunk);
      EXPECT_EQ(ReadWithUs(writer, truncated, ignored).error().code(), ErrorCode::kIncomplete);
    }
  }
  EXPECT_EQ(index, results->size());
}

// ---- Refusals ----------------------------------------------------------------------------------

// Requests changed on the way (as a gateway could change them) are judged alike by our node and
// the peer's node: both refuse at the same check (the peer names it, our message says it), or both
// accept with the same request digest. Sealed by us to three mixed nodes; node 0 (X25519,
// HKDF-SHA256, AES-256-GCM; its KeyConfig also lists HKDF-SHA256/AES-128-GCM) opens.
TEST(SealedInteropTest, NodeRejectsWhatWeReject) {
  const Scenario s = Scenarios()[2];
  const Sealed original = SealWithUs(s);
  const Bytes& wire = original.wire;
  const size_t count = s.nodes.size();
  const size_t header = 1 + 2 + 1 + 32 * count + 12;
  std::vector<size_t> candidate_sizes;
  for (const auto& n : s.nodes) {
    const size_t nenc = n.key.config.kem == KemId::kP256HkdfSha256 ? 65 : 32;
    candidate_sizes.push_back(6 + nenc + crypto::AeadKeyLength(s.body_aead) + crypto::kAeadTagLength);
  }
  size_t body = header;
  for (size_t size : candidate_sizes) body += size;
  // Body: varint(1 + 16) chunk "a"; varint(65536 + 16) in 4 bytes, the 64 KiB chunk; varint(0)
  // and the final chunk "end".
  const size_t chunk0 = 1 + 1 + 16;
  const size_t chunk1 = 4 + 65536 + 16;
  ASSERT_EQ(wire[body], 17);
  ASSERT_EQ(wire[body + chunk0], 0x80);
  ASSERT_EQ(wire[body + chunk0 + chunk1], 0x00);
  ASSERT_EQ(wire.size(), body + chunk0 + chunk1 + 1 + 3 + 16);

  struct Case {
    std::string what;
    Bytes wire;
    std::string peer_error;  // empty: both must accept
    std::string our_error;   // part of our node's message
    std::vector<const TestNode*> extra_keys = {};  // further keys of the opening node
  };
  std::vector<Case> cases;
  auto edit = [&](std::string what, std::string peer_error, std::string our_error, auto&& change) {
    Bytes copy = wire;
    change(copy);
    cases.push_back({std::move(what), std::move(copy), std::move(peer_error), std::move(our_error)});
  };
  auto splice = [](Bytes& w, size_t at, size_t erase, std::initializer_list<uint8_t> insert) {
    const auto pos = w.begin() + static_cast<std::ptrdiff_t>(at);
    w.insert(w.erase(pos, pos + static_cast<std::ptrdiff_t>(erase)), insert);
  };
  // Node 0's keys are its current key plus, in some cases, a grace-period key.
  const TestNode next_epoch = MakeNode(KemId::kX25519HkdfSha256, {KdfId::kHkdfSha256, AeadId::kAes256Gcm}, 9);
  const std::string kWrap = "wrapped_dek does not open";
  const std::string kChunkAuth = "does not authenticate";

  edit("untouched", "", "", [](Bytes&) {});
  // The chunk framing is not authenticated (chunked OHTTP allows any varint encoding of a length,
  // and request_digest frames chunks with encode(8, len)): same plaintext, same digest.
  edit("chunk 0 length as a 2-byte varint", "", "", [&](Bytes& w) { splice(w, body, 1, {0x40, 17}); });
  edit("final marker as an 8-byte varint", "", "",
       [&](Bytes& w) { splice(w, body + chunk0 + chunk1, 1, {0xc0, 0, 0, 0, 0, 0, 0, 0}); });

  cases.push_back({"opened with the next epoch's key beside the current one", wire, "", "", {&next_epoch}});

  edit("unknown version", "unknown version", "unknown version 2", [](Bytes& w) { w[0] = 0x02; });
  edit("export-only body AEAD", "body aead", "body_aead_id 0xffff is not supported",
       [](Bytes& w) { w[1] = 0xff; w[2] = 0xff; });
  edit("count 0", "candidate count", "candidate count 0", [](Bytes& w) { w[3] = 0; });
  edit("count 9", "candidate count", "candidate count 9", [](Bytes& w) { w[3] = 9; });
  edit("duplicate node_id", "duplicate node_id", "duplicate node_id",
       [](Bytes& w) { std::copy(w.begin() + 4, w.begin() + 36, w.begin() + 68); });
  edit("no candidate is this node", "not a candidate", "no candidate is this node",
       [](Bytes& w) { w[4 + 5] ^= 0x01; });
  // Nodes 0 and 2 (both X25519) play one node's current and grace-period keys.
  cases.push_back({"two candidates are this node", wire, "more than one own candidate",
                   "more than one candidate is this node", {&s.nodes[2]}});
  edit("header truncated", "malformed", "ended before its header", [&](Bytes& w) { w.resize(header - 3); });
  edit("flipped header bit (body_nonce)", "wrapped_dek", kWrap, [&](Bytes& w) { w[header - 1] ^= 0x01; });
  edit("flipped header bit (another node_id)", "wrapped_dek", kWrap, [](Bytes& w) { w[4 + 32 + 7] ^= 0x10; });
  edit("body_aead_id changed to an AEAD of the same sizes", "wrapped_dek", kWrap,
       [](Bytes& w) { w[2] = static_cast<uint8_t>(AeadId::kAes256Gcm); });
  edit("own suite changed to another listed suite", "wrapped_dek", kWrap,
       [&](Bytes& w) { w[header + 5] = static_cast<uint8_t>(AeadId::kAes128Gcm); });
  edit("own suite changed to an unlisted suite", "suite not listed", "does not list",
       [&](Bytes& w) { w[header + 3] = static_cast<uint8_t>(KdfId::kHkdfSha512); });
  edit("own enc flipped", "wrapped_dek", kWrap, [&](Bytes& w) { w[header + 6 + 3] ^= 0x01; });
  edit("own wrapped_dek flipped", "wrapped_dek", kWrap,
       [&](Bytes& w) { w[header + candidate_sizes[0] - 1] ^= 0x01; });
  edit("another candidate's kem unknown", "malformed", "kem_id 0x0021 is not supported",
       [&](Bytes& w) { w[header + candidate_sizes[0] + 1] = 0x21; });
  // §2.2 is silent on whether other candidates' KDFs are checked (they change no length); both
  // implementations parse strictly.
  edit("another candidate's kdf unknown", "malformed", "kdf_id 0x0009 is not supported",
       [&](Bytes& w) { w[header + candidate_sizes[0] + 3] = 0x09; });
  edit("stripped candidate", "wrapped_dek", kWrap, [&](Bytes& w) {
    // Drop the last candidate and fix up count and node_ids.
    Bytes stripped = {w[0], w[1], w[2], static_cast<uint8_t>(count - 1)};
    Append(stripped, ByteView(w).subspan(4, 32 * (count - 1)));
    Append(stripped, ByteView(w).subspan(4 + 32 * count, 12));
    Append(stripped, ByteView(w).subspan(header, body - header - candidate_sizes.back()));
    Append(stripped, ByteView(w).subspan(body));
    w = std::move(stripped);
  });
  edit("reordered candidates", "wrapped_dek", kWrap, [&](Bytes& w) {
    // Swap candidates 0 and 2 (same sizes) together with their node_ids.
    Bytes r = w;
    std::copy(w.begin() + 4, w.begin() + 36, r.begin() + 68);
    std::copy(w.begin() + 68, w.begin() + 100, r.begin() + 4);
    const size_t c2 = header + candidate_sizes[0] + candidate_sizes[1];
    std::copy(w.begin() + header, w.begin() + header + candidate_sizes[0], r.begin() + c2);
    std::copy(w.begin() + c2, w.begin() + c2 + candidate_sizes[2], r.begin() + header);
    w = std::move(r);
  });
  edit("flipped chunk 0", "chunk auth", kChunkAuth, [&](Bytes& w) { w[body + 2] ^= 0x01; });
  edit("flipped chunk 1 (64 KiB)", "chunk auth", kChunkAuth,
       [&](Bytes& w) { w[body + chunk0 + 4 + 40000] ^= 0x01; });
  edit("flipped final chunk", "chunk auth", kChunkAuth, [](Bytes& w) { w.back() ^= 0x01; });
  edit("chunks swapped", "chunk auth", kChunkAuth, [&](Bytes& w) {
    Bytes r(w.begin(), w.begin() + static_cast<std::ptrdiff_t>(body));
    Append(r, ByteView(w).subspan(body + chunk0, chunk1));
    Append(r, ByteView(w).subspan(body, chunk0));
    Append(r, ByteView(w).subspan(body + chunk0 + chunk1));
    w = std::move(r);
  });
  edit("chunk 0 dropped", "chunk auth", kChunkAuth, [&](Bytes& w) { splice(w, body, chunk0, {}); });
  edit("non-final chunk marked final", "chunk auth", kChunkAuth, [&](Bytes& w) {
    // Chunk "a" re-framed as the final chunk (its AAD was empty, not "final"), the rest dropped.
    w.resize(body + chunk0);
    w[body] = 0x00;
  });
  edit("missing final chunk", "missing final chunk", "without the final chunk",
       [&](Bytes& w) { w.resize(body + chunk0 + chunk1); });
  edit("cut inside chunk 1", "missing final chunk", "ended inside chunk 1",
       [&](Bytes& w) { w.resize(body + chunk0 + 100); });
  edit("final chunk shorter than a tag", "chunk size", "shorter than the AEAD tag",
       [](Bytes& w) { w.resize(w.size() - 9); });
  edit("chunk length above 64 KiB + Nt", "chunk size", "exceeds the limit",
       [&](Bytes& w) { w[body + chunk0 + 3] += 1; });  // 65553

  json::array jobs;
  for (const Case& c : cases) {
    json::object job = NodeKeyJson(s.nodes[0]);
    job["op"] = "open_request";
    job["sealed_request"] = HexOf(c.wire);
    json::array extra;
    for (const TestNode* n : c.extra_keys) extra.push_back(NodeKeyJson(*n));
    job["extra_keys"] = std::move(extra);
    jobs.push_back(std::move(job));
  }
  const json::value output = RunNodePeer(kPeer, json::object{{"op", "batch"}, {"jobs", jobs}});
  const json::array* results = Results(output);
  ASSERT_NE(results, nullptr);
  ASSERT_EQ(results->size(), cases.size());
  for (size_t i = 0; i < cases.size(); ++i) {
    const Case& c = cases[i];
    SCOPED_TRACE(c.what);
    SecretBytes plaintext;
    std::optional<SealedRequestReader> reader;
    std::vector<NodeKey> keys = {s.nodes[0].key};
    for (const TestNode* n : c.extra_keys) keys.push_back(n->key);
    const Status ours = OpenWithUs(keys, c.wire, plaintext, &reader);
    const json::value& theirs = (*results)[i];
    if (c.peer_error.empty()) {
      ASSERT_TRUE(ours.ok()) << ours.error().ToString();
      ASSERT_EQ(PeerError(theirs), "");
      EXPECT_EQ(AsChars(plaintext.view()), Joined(s.chunks));
      EXPECT_EQ(Text(theirs, "plaintext"), Joined(s.chunks));
      EXPECT_EQ(HexOf(reader->request_digest()), HexOf(original.writer->request_digest()));
      EXPECT_EQ(theirs.at("request_digest").as_string(), HexOf(original.writer->request_digest()));
      continue;
    }
    ASSERT_FALSE(ours.ok()) << "our node accepted it";
    EXPECT_NE(ours.error().message().find(c.our_error), std::string::npos) << ours.error().ToString();
    ASSERT_TRUE(theirs.as_object().contains("error")) << "the peer accepted it";
    EXPECT_EQ(theirs.at("error").as_string(), c.peer_error) << PeerError(theirs);
  }
}

// Chunked OHTTP ("Encapsulation of Chunks"), whose chunk rules §2.2 adopts: "A non-final chunk MUST
// NOT contain a zero-length plaintext. A receiver MUST treat the receipt of a chunk that contains
// no data as equivalent to a decryption error, unless that chunk is the final chunk." Our writers
// refuse to produce such chunks; here the peer produces them deliberately, in a request and in a
// response, and each receiver must refuse them (an empty final chunk stays valid).
TEST(SealedInteropTest, EmptyNonFinalChunksAreRefusedByBoth) {
  const Scenario s = Scenarios()[0];
  const Sealed ours = SealWithUs(s);
  json::array candidates{CandidateJson(s.nodes[0])};
  json::object seal{{"op", "seal"},
                    {"candidates", candidates},
                    {"body_aead_id", static_cast<int>(s.body_aead)},
                    {"request_chunks", HexArray({"a", "", "b", ""})},
                    {"allow_empty_chunks", true}};
  json::object answer = NodeKeyJson(s.nodes[0]);
  answer["op"] = "open_request";
  answer["sealed_request"] = HexOf(ours.wire);
  answer["response_chunks"] = HexArray({"x", "", "y"});
  answer["allow_empty_chunks"] = true;
  const json::value first = RunNodePeer(kPeer, json::object{{"op", "batch"}, {"jobs", json::array{seal, answer}}});
  const json::array* results = Results(first);
  ASSERT_NE(results, nullptr);
  ASSERT_EQ(results->size(), 2u);
  ASSERT_EQ(PeerError((*results)[0]), "");
  ASSERT_EQ(PeerError((*results)[1]), "");

  // A response with an empty non-final chunk: our client must refuse it.
  SecretBytes response_plaintext;
  const Status read = ReadWithUs(*ours.writer, HexField((*results)[1], "sealed_response"), response_plaintext);
  EXPECT_FALSE(read.ok()) << "our client accepted an empty non-final response chunk; read \""
                          << AsChars(response_plaintext.view()) << "\"";

  // A request with an empty non-final chunk: our node and the peer's node must refuse it.
  const Bytes request = HexField((*results)[0], "sealed_request");
  SecretBytes request_plaintext;
  const Status opened = OpenWithUs({s.nodes[0].key}, request, request_plaintext);
  EXPECT_FALSE(opened.ok()) << "our node accepted an empty non-final request chunk; read \""
                            << AsChars(request_plaintext.view()) << "\"";
  json::object open = NodeKeyJson(s.nodes[0]);
  open["op"] = "open_request";
  open["sealed_request"] = HexOf(request);
  const json::value second = RunNodePeer(kPeer, open);
  ASSERT_TRUE(second.is_object());
  ASSERT_TRUE(second.as_object().contains("error")) << "the peer accepted it";
  EXPECT_EQ(second.at("error").as_string(), "chunk auth") << PeerError(second);
}

}  // namespace
}  // namespace openpcc::wire
