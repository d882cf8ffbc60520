// Interoperability of our HPKE (RFC 9180) with @hpke/core 1.9.0 plus @hpke/dhkem-x25519 and
// @hpke/chacha20poly1305, an independent TypeScript implementation, run as a Node.js peer
// (tests/interop/hpke_peer.mjs).
//
// Every suite and mode both sides implement is exercised in both directions — KEM {X25519, P-256}
// x KDF {HKDF-SHA256, -SHA384, -SHA512} x AEAD {AES-128-GCM, AES-256-GCM, ChaCha20-Poly1305,
// export-only} x mode {base, psk, auth, auth_psk} x info {empty, non-empty}: 192 contexts per
// direction. Each sealing context carries four messages (so nonces for sequence numbers 0..3 must
// agree), with empty and non-empty aad and an empty plaintext; each context exports three secrets,
// including one longer than Nh, compared between sender and recipient. Export-only suites carry no
// messages, only exports. The peer supports every one of these combinations.
//
// Both sides derive the recipient and sender key pairs from the same ikm with DeriveKeyPair (RFC
// 9180 §7.1.3); the peer reports the public keys it derived, which must equal ours. Private keys
// travel to the peer in SerializePrivateKey form.
//
// The tampering tests check, for each suite that can seal, that each side rejects the other's
// forged messages (flipped ciphertext or tag bit, wrong aad, reordering) and then still opens the
// genuine stream from sequence number 0.
//
// Independence: the HPKE logic of the peer (key schedule, KEM, nonces, exporter) shares no code
// with ours, nor do its X25519 and ChaCha20-Poly1305 (pure JavaScript). Its P-256, HMAC and AES-GCM
// come from WebCrypto, which in Node.js is OpenSSL, as ours are.
//
// Node.js starts slowly, so each test sends all its cases to one peer invocation.
#include <boost/json.hpp>
#include <gtest/gtest.h>

#include <optional>
#include <string>
#include <vector>

#include "openpcc/crypto/hpke.h"
#include "support/node.h"
#include "support/vectors.h"

namespace openpcc::crypto {
namespace {

namespace json = boost::json;
using openpcc::testing::Hex;
using openpcc::testing::RunNodePeer;

constexpr char kPeer[] = "hpke_peer.mjs";

const char* ModeName(HpkeMode mode) {
  switch (mode) {
    case HpkeMode::kBase: return "base";
    case HpkeMode::kPsk: return "psk";
    case HpkeMode::kAuth: return "auth";
    case HpkeMode::kAuthPsk: return "auth_psk";
  }
  return "?";
}

bool HasPsk(HpkeMode mode) { return mode == HpkeMode::kPsk || mode == HpkeMode::kAuthPsk; }
bool HasAuth(HpkeMode mode) { return mode == HpkeMode::kAuth || mode == HpkeMode::kAuthPsk; }

struct Case {
  HpkeSuite suite;
  HpkeMode mode;
  Bytes info;
  std::string id;  // names the case in the peer's results and in failure messages
};

std::vector<Case> AllCases() {
  std::vector<Case> cases;
  for (KemId kem : {KemId::kX25519HkdfSha256, KemId::kP256HkdfSha256}) {
    for (KdfId kdf : {KdfId::kHkdfSha256, KdfId::kHkdfSha384, KdfId::kHkdfSha512}) {
      for (AeadId aead : {AeadId::kAes128Gcm, AeadId::kAes256Gcm, AeadId::kChaCha20Poly1305,
                          AeadId::kExportOnly}) {
        for (HpkeMode mode : {HpkeMode::kBase, HpkeMode::kPsk, HpkeMode::kAuth, HpkeMode::kAuthPsk}) {
          for (bool empty_info : {true, false}) {
            Case c{{kem, kdf, aead}, mode, {}, {}};
            c.id = "kem=" + std::to_string(static_cast<unsigned>(kem)) +
                   " kdf=" + std::to_string(static_cast<unsigned>(kdf)) +
                   " aead=" + std::to_string(static_cast<unsigned>(aead)) + " mode=" + ModeName(mode) +
                   (empty_info ? " info=empty" : " info=set");
            if (!empty_info) c.info = ToBytes("interop info for " + c.id);
            cases.push_back(std::move(c));
          }
        }
      }
    }
  }
  return cases;
}

// The suites whose AEAD can seal, in base mode, for the tampering tests.
std::vector<Case> SealingCases() {
  std::vector<Case> cases;
  for (Case& c : AllCases()) {
    if (c.suite.aead != AeadId::kExportOnly && c.mode == HpkeMode::kBase && !c.info.empty()) {
      cases.push_back(std::move(c));
    }
  }
  return cases;
}

// Key pairs and PSK of one case, derived from ikm that depends on the case id.
struct CaseKeys {
  Bytes ikm_r;
  SoftwareDhKey recipient;
  Bytes ikm_s;
  std::optional<SoftwareDhKey> sender;
  Bytes psk;
  Bytes psk_id;

  static CaseKeys For(const Case& c) {
    CaseKeys keys{ToBytes("recipient ikm " + c.id), Derive(c.suite.kem, "recipient ikm " + c.id),
                  {}, std::nullopt, {}, {}};
    if (HasAuth(c.mode)) {
      keys.ikm_s = ToBytes("sender ikm " + c.id);
      keys.sender.emplace(Derive(c.suite.kem, "sender ikm " + c.id));
    }
    if (HasPsk(c.mode)) {
      keys.psk = ToBytes("a pre-shared key of at least 32 bytes: " + c.id);
      keys.psk_id = ToBytes("psk id " + c.id);
    }
    return keys;
  }

  std::optional<HpkePsk> Psk() const {
    if (psk.empty()) return std::nullopt;
    return HpkePsk{psk, psk_id};
  }

 private:
  static SoftwareDhKey Derive(KemId kem, const std::string& ikm) {
    auto key = SoftwareDhKey::Derive(kem, AsBytes(ikm));
    EXPECT_TRUE(key.ok()) << key.error().ToString();
    return std::move(key).value();
  }
};

struct Message {
  Bytes aad;
  Bytes plaintext;
};

// Four messages on one context: sequence numbers 0..3, empty and non-empty aad, an empty
// plaintext, and one that spans several AES and ChaCha20 blocks. None for export-only suites.
std::vector<Message> MessagesFor(const Case& c) {
  if (c.suite.aead == AeadId::kExportOnly) return {};
  Bytes long_plaintext(150);
  for (size_t i = 0; i < long_plaintext.size(); ++i) long_plaintext[i] = static_cast<uint8_t>(i * 7);
  return {
      {{}, ToBytes("message 0 of " + c.id)},
      {ToBytes("aad of message 1"), long_plaintext},
      {ToBytes("aad of message 2"), {}},
      {{}, ToBytes("message 3")},
  };
}

struct ExportRequest {
  Bytes context;
  size_t length;
};

// An empty exporter context, a length over Nh (several HKDF-Expand blocks), and a 1-byte export.
std::vector<ExportRequest> ExportsFor(const Case& c) {
  return {{{}, 32},
          {ToBytes("exporter context"), 2 * KdfHashLength(c.suite.kdf) + 5},
          {ToBytes("x"), 1}};
}

json::string HexJson(ByteView bytes) { return json::string(HexEncode(bytes)); }

Bytes HexField(const json::object& o, const char* name) {
  const json::value* v = o.if_contains(name);
  if (v == nullptr || !v->is_string()) {
    ADD_FAILURE() << "peer result has no string field \"" << name << "\"";
    return {};
  }
  return Hex(std::string(v->as_string()));
}

// The fields of a job that do not depend on the direction.
json::object JobBase(const Case& c, const CaseKeys& keys, const char* op) {
  json::object job;
  job["id"] = c.id;
  job["op"] = op;
  job["kem"] = static_cast<unsigned>(c.suite.kem);
  job["kdf"] = static_cast<unsigned>(c.suite.kdf);
  job["aead"] = static_cast<unsigned>(c.suite.aead);
  job["info"] = HexJson(c.info);
  job["ikm_r"] = HexJson(keys.ikm_r);
  if (keys.sender) job["ikm_s"] = HexJson(keys.ikm_s);
  if (!keys.psk.empty()) {
    job["psk"] = HexJson(keys.psk);
    job["psk_id"] = HexJson(keys.psk_id);
  }
  json::array exports;
  for (const ExportRequest& x : ExportsFor(c)) {
    exports.push_back(json::object{{"context", HexJson(x.context)}, {"length", x.length}});
  }
  job["exports"] = std::move(exports);
  return job;
}

// Runs the peer on `jobs` and returns its results, failing the test unless there is exactly one
// result per job, in order, that set up without error and derived the same public keys as we did.
std::optional<json::array> RunPeer(const json::array& jobs, const std::vector<CaseKeys>& keys) {
  const json::value output = RunNodePeer(kPeer, json::object{{"jobs", jobs}});
  const json::value* results = output.is_object() ? output.as_object().if_contains("results") : nullptr;
  if (results == nullptr || !results->is_array()) {
    ADD_FAILURE() << "peer output has no \"results\" array";
    return std::nullopt;
  }
  const json::array& array = results->as_array();
  if (array.size() != jobs.size()) {
    ADD_FAILURE() << "peer returned " << array.size() << " results for " << jobs.size() << " jobs";
    return std::nullopt;
  }
  bool all_set_up = true;
  for (size_t i = 0; i < array.size(); ++i) {
    const json::object& r = array[i].as_object();
    const json::string& id = jobs[i].as_object().at("id").as_string();
    SCOPED_TRACE(std::string(id));
    EXPECT_EQ(r.at("id").as_string(), id) << "results out of order";
    if (const json::value* error = r.if_contains("error")) {
      ADD_FAILURE() << "peer could not run the job: " << error->as_string();
      all_set_up = false;
      continue;
    }
    EXPECT_EQ(HexField(r, "pk_r"), ToBytes(keys[i].recipient.public_key()))
        << "DeriveKeyPair of the recipient differs";
    if (keys[i].sender) {
      EXPECT_EQ(HexField(r, "pk_s"), ToBytes(keys[i].sender->public_key()))
          << "DeriveKeyPair of the sender differs";
    }
  }
  if (!all_set_up) return std::nullopt;
  return array;
}

HpkeSenderOptions SenderOptions(const CaseKeys& keys) {
  HpkeSenderOptions options;
  options.psk = keys.Psk();
  if (keys.sender) options.sender_key = &*keys.sender;
  return options;
}

HpkeRecipientOptions RecipientOptions(const CaseKeys& keys) {
  HpkeRecipientOptions options;
  options.psk = keys.Psk();
  if (keys.sender) options.sender_public_key = keys.sender->public_key();
  return options;
}

Bytes PrivateKey(const SoftwareDhKey& key) {
  auto bytes = key.PrivateKeyBytes();
  EXPECT_TRUE(bytes.ok());
  return bytes.ok() ? ToBytes(bytes->view()) : Bytes{};
}

// An open job for the peer: the recipient's private key and, in auth modes, the sender's public key.
json::object OpenJob(const Case& c, const CaseKeys& keys, ByteView enc) {
  json::object job = JobBase(c, keys, "open");
  job["sk_r"] = HexJson(PrivateKey(keys.recipient));
  if (keys.sender) job["pk_s"] = HexJson(keys.sender->public_key());
  job["enc"] = HexJson(enc);
  return job;
}

json::object CiphertextMessage(ByteView aad, ByteView ciphertext) {
  return {{"aad", HexJson(aad)}, {"ct", HexJson(ciphertext)}};
}

TEST(HpkeInteropTest, NodeOpensWhatWeSeal) {
  const std::vector<Case> cases = AllCases();
  ASSERT_EQ(cases.size(), 192u);
  std::vector<CaseKeys> keys;
  std::vector<std::vector<Bytes>> our_exports(cases.size());
  json::array jobs;
  for (size_t i = 0; i < cases.size(); ++i) {
    const Case& c = cases[i];
    SCOPED_TRACE(c.id);
    keys.push_back(CaseKeys::For(c));
    auto sender = SetupSender(c.suite, keys[i].recipient.public_key(), c.info, SenderOptions(keys[i]));
    ASSERT_TRUE(sender.ok()) << sender.error().ToString();
    json::object job = OpenJob(c, keys[i], sender->enc);
    json::array messages;
    for (const Message& m : MessagesFor(c)) {
      auto ct = sender->context.Seal(m.aad, m.plaintext);
      ASSERT_TRUE(ct.ok()) << ct.error().ToString();
      messages.push_back(CiphertextMessage(m.aad, *ct));
    }
    job["messages"] = std::move(messages);
    for (const ExportRequest& x : ExportsFor(c)) {
      auto exported = sender->context.Export(x.context, x.length);
      ASSERT_TRUE(exported.ok()) << exported.error().ToString();
      our_exports[i].push_back(ToBytes(exported->view()));
    }
    jobs.push_back(std::move(job));
  }

  const auto results = RunPeer(jobs, keys);
  ASSERT_TRUE(results.has_value());
  size_t messages_opened = 0;
  for (size_t i = 0; i < cases.size(); ++i) {
    const Case& c = cases[i];
    SCOPED_TRACE(c.id);
    const json::object& r = (*results)[i].as_object();
    const std::vector<Message> expected = MessagesFor(c);
    const json::array& opened = r.at("messages").as_array();
    ASSERT_EQ(opened.size(), expected.size());
    for (size_t m = 0; m < expected.size(); ++m) {
      const json::object& o = opened[m].as_object();
      ASSERT_FALSE(o.contains("error")) << "message " << m << ": " << o.at("error").as_string();
      EXPECT_EQ(HexField(o, "pt"), expected[m].plaintext) << "message " << m;
      ++messages_opened;
    }
    const json::array& exported = r.at("exports").as_array();
    ASSERT_EQ(exported.size(), our_exports[i].size());
    for (size_t x = 0; x < exported.size(); ++x) {
      EXPECT_EQ(Hex(std::string(exported[x].as_string())), our_exports[i][x]) << "export " << x;
    }
  }
  EXPECT_EQ(messages_opened, 144u * 4u);  // 144 sealing contexts, 4 messages each
}

TEST(HpkeInteropTest, WeOpenWhatNodeSeals) {
  const std::vector<Case> cases = AllCases();
  ASSERT_EQ(cases.size(), 192u);
  std::vector<CaseKeys> keys;
  json::array jobs;
  for (const Case& c : cases) {
    keys.push_back(CaseKeys::For(c));
    json::object job = JobBase(c, keys.back(), "seal");
    job["pk_r"] = HexJson(keys.back().recipient.public_key());
    if (keys.back().sender) job["sk_s"] = HexJson(PrivateKey(*keys.back().sender));
    json::array messages;
    for (const Message& m : MessagesFor(c)) {
      messages.push_back(json::object{{"aad", HexJson(m.aad)}, {"pt", HexJson(m.plaintext)}});
    }
    job["messages"] = std::move(messages);
    jobs.push_back(std::move(job));
  }

  const auto results = RunPeer(jobs, keys);
  ASSERT_TRUE(results.has_value());
  size_t messages_opened = 0;
  for (size_t i = 0; i < cases.size(); ++i) {
    const Case& c = cases[i];
    SCOPED_TRACE(c.id);
    const json::object& r = (*results)[i].as_object();
    auto opener = SetupRecipient(c.suite, HexField(r, "enc"), keys[i].recipient, c.info,
                                 RecipientOptions(keys[i]));
    ASSERT_TRUE(opener.ok()) << opener.error().ToString();
    const std::vector<Message> expected = MessagesFor(c);
    const json::array& sealed = r.at("messages").as_array();
    ASSERT_EQ(sealed.size(), expected.size());
    for (size_t m = 0; m < expected.size(); ++m) {
      auto pt = opener->Open(expected[m].aad, HexField(sealed[m].as_object(), "ct"));
      ASSERT_TRUE(pt.ok()) << "message " << m << ": " << pt.error().ToString();
      EXPECT_EQ(ToBytes(pt->view()), expected[m].plaintext) << "message " << m;
      ++messages_opened;
    }
    const std::vector<ExportRequest> requests = ExportsFor(c);
    const json::array& exported = r.at("exports").as_array();
    ASSERT_EQ(exported.size(), requests.size());
    for (size_t x = 0; x < requests.size(); ++x) {
      auto ours = opener->Export(requests[x].context, requests[x].length);
      ASSERT_TRUE(ours.ok()) << ours.error().ToString();
      EXPECT_EQ(Hex(std::string(exported[x].as_string())), ToBytes(ours->view())) << "export " << x;
    }
  }
  EXPECT_EQ(messages_opened, 144u * 4u);
}

Bytes FlipBit(Bytes bytes, size_t index) {
  bytes.at(index) ^= 0x01;
  return bytes;
}

// The error code of an Open that must fail; nullopt (which fails the comparison) if it opened.
std::optional<ErrorCode> OpenErrorCode(HpkeContext& opener, ByteView aad, ByteView ciphertext) {
  auto pt = opener.Open(aad, ciphertext);
  if (pt.ok()) return std::nullopt;
  return pt.error().code();
}

TEST(HpkeInteropTest, RejectsTamperedCiphertextFromNode) {
  const std::vector<Case> cases = SealingCases();
  ASSERT_EQ(cases.size(), 18u);
  std::vector<CaseKeys> keys;
  json::array jobs;
  const Bytes aad = ToBytes("aad");
  for (const Case& c : cases) {
    keys.push_back(CaseKeys::For(c));
    json::object job = JobBase(c, keys.back(), "seal");
    job["pk_r"] = HexJson(keys.back().recipient.public_key());
    job["messages"] = json::array{json::object{{"aad", HexJson(aad)}, {"pt", HexJson(AsBytes("first"))}},
                                  json::object{{"aad", HexJson(aad)}, {"pt", HexJson(AsBytes("second"))}}};
    jobs.push_back(std::move(job));
  }
  const auto results = RunPeer(jobs, keys);
  ASSERT_TRUE(results.has_value());
  for (size_t i = 0; i < cases.size(); ++i) {
    const Case& c = cases[i];
    SCOPED_TRACE(c.id);
    const json::object& r = (*results)[i].as_object();
    const Bytes enc = HexField(r, "enc");
    const json::array& sealed = r.at("messages").as_array();
    ASSERT_EQ(sealed.size(), 2u);
    const Bytes first = HexField(sealed[0].as_object(), "ct");
    const Bytes second = HexField(sealed[1].as_object(), "ct");
    ASSERT_EQ(first.size(), 5 + kAeadTagLength);

    auto opener = SetupRecipient(c.suite, enc, keys[i].recipient, c.info);
    ASSERT_TRUE(opener.ok()) << opener.error().ToString();
    EXPECT_EQ(OpenErrorCode(*opener, aad, FlipBit(first, 0)), ErrorCode::kAuthenticationFailed)
        << "flipped ciphertext bit";
    EXPECT_EQ(OpenErrorCode(*opener, aad, FlipBit(first, first.size() - 1)),
              ErrorCode::kAuthenticationFailed)
        << "flipped tag bit";
    EXPECT_EQ(OpenErrorCode(*opener, ToBytes("other aad"), first), ErrorCode::kAuthenticationFailed)
        << "wrong aad";
    EXPECT_EQ(OpenErrorCode(*opener, aad, second), ErrorCode::kAuthenticationFailed)
        << "second message in the first message's place";
    // The rejected messages consumed no sequence number: the genuine stream still opens in order.
    auto pt = opener->Open(aad, first);
    ASSERT_TRUE(pt.ok()) << pt.error().ToString();
    EXPECT_EQ(AsChars(pt->view()), "first");
    pt = opener->Open(aad, second);
    ASSERT_TRUE(pt.ok()) << pt.error().ToString();
    EXPECT_EQ(AsChars(pt->view()), "second");

    // Every 32-byte string is an X25519 public key, so a tampered enc sets up a context with
    // another key, which then fails to authenticate. A tampered P-256 enc is most likely off the
    // curve and fails at setup instead (covered in hpke_test).
    if (c.suite.kem == KemId::kX25519HkdfSha256) {
      auto wrong = SetupRecipient(c.suite, FlipBit(enc, 0), keys[i].recipient, c.info);
      ASSERT_TRUE(wrong.ok()) << wrong.error().ToString();
      EXPECT_EQ(OpenErrorCode(*wrong, aad, first), ErrorCode::kAuthenticationFailed) << "tampered enc";
    }
  }
}

TEST(HpkeInteropTest, NodeRejectsOurTamperedCiphertext) {
  const std::vector<Case> cases = SealingCases();
  ASSERT_EQ(cases.size(), 18u);
  std::vector<CaseKeys> keys;
  json::array jobs;
  const Bytes aad = ToBytes("aad");
  for (const Case& c : cases) {
    SCOPED_TRACE(c.id);
    keys.push_back(CaseKeys::For(c));
    auto sender = SetupSender(c.suite, keys.back().recipient.public_key(), c.info);
    ASSERT_TRUE(sender.ok()) << sender.error().ToString();
    auto first = sender->context.Seal(aad, ToBytes("first"));
    auto second = sender->context.Seal(aad, ToBytes("second"));
    ASSERT_TRUE(first.ok() && second.ok());
    json::object job = OpenJob(c, keys.back(), sender->enc);
    // Four forgeries, then the genuine stream, which must still open from sequence number 0.
    job["messages"] = json::array{
        CiphertextMessage(aad, FlipBit(*first, 0)),
        CiphertextMessage(aad, FlipBit(*first, first->size() - 1)),
        CiphertextMessage(ToBytes("other aad"), *first),
        CiphertextMessage(aad, *second),
        CiphertextMessage(aad, *first),
        CiphertextMessage(aad, *second),
    };
    jobs.push_back(std::move(job));
  }
  const auto results = RunPeer(jobs, keys);
  ASSERT_TRUE(results.has_value());
  for (size_t i = 0; i < cases.size(); ++i) {
    SCOPED_TRACE(cases[i].id);
    const json::array& opened = (*results)[i].as_object().at("messages").as_array();
    ASSERT_EQ(opened.size(), 6u);
    const char* const forgeries[] = {"flipped ciphertext bit", "flipped tag bit", "wrong aad",
                                     "second message in the first message's place"};
    for (size_t m = 0; m < 4; ++m) {
      const json::object& o = opened[m].as_object();
      ASSERT_TRUE(o.contains("error")) << forgeries[m] << ": the peer opened it";
      EXPECT_EQ(std::string(o.at("error").as_string()).rfind("OpenError:", 0), 0u)
          << forgeries[m] << ": " << o.at("error").as_string();
    }
    EXPECT_EQ(HexField(opened[4].as_object(), "pt"), ToBytes("first"));
    EXPECT_EQ(HexField(opened[5].as_object(), "pt"), ToBytes("second"));
  }
}

}  // namespace
}  // namespace openpcc::crypto
