// tlog/note.h, checkpoint.h, cosignature.h: the C2SP signed-note vectors (example key, the real
// sum.golang.org checkpoint, the tampered one fails), strict parsing, vkeys, checkpoints, and
// cosignature/v1 round trips with the exact signed message.
#include <gtest/gtest.h>

#include <boost/json.hpp>

#include "openpcc/tlog/checkpoint.h"
#include "openpcc/tlog/cosignature.h"
#include "openpcc/tlog/note.h"
#include "openpcc/util/base64.h"
#include "support/vectors.h"

namespace openpcc::tlog {
namespace {

namespace json = boost::json;

crypto::Ed25519PrivateKey Key(uint8_t fill) { return std::move(crypto::Ed25519PrivateKey::FromSeed(Bytes(32, fill))).value(); }

TEST(NoteTest, C2spVectorsGiveTheirExpectedResults) {
  const auto vectors = json::parse(openpcc::testing::ReadVectorFile("protocols/signed-note-c2sp/signed-note-vectors.json"));
  ASSERT_EQ(vectors.as_array().size(), 3u);
  for (const auto& v : vectors.as_array()) {
    const std::string vkey(v.at("vkey").as_string());
    const std::string text(v.at("note").as_string());
    auto verifier = NoteVerifier::FromVkey(vkey);
    ASSERT_EQ(verifier.ok(), v.at("expected").at("key_id_ok").as_bool()) << vkey;
    EXPECT_EQ(verifier->vkey(), vkey);
    auto note = ParseNote(text);
    ASSERT_TRUE(note.ok()) << note.error().ToString();
    EXPECT_EQ(FormatNote(*note), text);
    auto result = VerifyNote(*note, std::span(&*verifier, 1));
    const auto& expected = v.at("expected").at("sigs").as_array()[0].as_array();
    EXPECT_EQ(note->signatures[0].name, std::string(expected[0].as_string()));
    if (expected[1].as_string() == "OK") {
      ASSERT_TRUE(result.ok()) << result.error().ToString();
      EXPECT_TRUE((*result)[0]);
    } else {
      ASSERT_FALSE(result.ok());
      EXPECT_EQ(result.error().message(), "note: signature by sum.golang.org does not verify");
    }
  }
}

TEST(NoteTest, SumDbCheckpointParses) {
  const auto vectors = json::parse(openpcc::testing::ReadVectorFile("protocols/signed-note-c2sp/signed-note-vectors.json"));
  const std::string text(vectors.as_array()[1].at("note").as_string());
  auto verifier = NoteVerifier::FromVkey(std::string(vectors.as_array()[1].at("vkey").as_string()));
  auto c = VerifyCheckpointNote(text, "go.sum database tree", *verifier);
  ASSERT_TRUE(c.ok()) << c.error().ToString();
  EXPECT_EQ(c->checkpoint.size, 6476701u);
  EXPECT_EQ(Base64Encode(View(c->checkpoint.root)), "mb8QLQIs0Z0yP5Cstq6guj87oXWeC9gEM8oVikmm9Wk=");
  EXPECT_EQ(VerifyCheckpointNote(text, "other origin", *verifier).error().message(),
            "checkpoint: origin \"go.sum database tree\" is not the expected \"other origin\"");
}

TEST(NoteTest, UnknownSignaturesAreIgnoredButOneKnownIsNeeded) {
  auto signer = std::move(NoteSigner::Create("example.com/log", Key(1))).value();
  auto other = std::move(NoteSigner::Create("example.com/other", Key(2))).value();
  auto note_text = *SignNote("hello\n", signer);
  auto note = *ParseNote(note_text);
  note.signatures.insert(note.signatures.begin(), *other.Sign("hello\n"));
  const auto verifier = signer.verifier();
  auto result = VerifyNote(note, std::span(&verifier, 1));
  ASSERT_TRUE(result.ok());
  const auto other_verifier = other.verifier();
  note.signatures.erase(note.signatures.begin() + 1);
  EXPECT_EQ(VerifyNote(note, std::span(&verifier, 1)).error().message(), "note: no signature by a known key");
  // Same name, other key id: ignored, not failed.
  auto impostor = *other.Sign("hello\n");
  impostor.name = "example.com/log";
  note.signatures = {impostor};
  EXPECT_EQ(VerifyNote(note, std::span(&verifier, 1)).error().message(), "note: no signature by a known key");
  EXPECT_TRUE(VerifyNote(*ParseNote(note_text), std::span(&verifier, 1)).ok());
  (void)other_verifier;
}

TEST(NoteTest, ParsingIsStrictAndBounded) {
  const std::string sig = " AAAAAAA=\n";  // key id 0 and one byte of signature
  const std::string dash = "\xe2\x80\x94 ";
  EXPECT_TRUE(ParseNote("text\n\n" + dash + "k" + sig).ok());
  EXPECT_EQ(ParseNote("text\n\n" + dash + "k" + sig.substr(0, sig.size() - 1)).error().message(), "note: note does not end with a newline");
  EXPECT_EQ(ParseNote("text\n" + dash + "k" + sig).error().message(), "note: note has no blank line before its signatures");
  EXPECT_EQ(ParseNote("te\txt\n\n" + dash + "k" + sig).error().message(), "note: note has a control character at byte 2");
  EXPECT_EQ(ParseNote("te\xffxt\n\n" + dash + "k" + sig).error().message(), "note: note is not valid UTF-8 at byte 2");
  EXPECT_EQ(ParseNote("text\n\n- k" + sig).error().message(), "note: signature line does not start with an em dash and a space");
  EXPECT_EQ(ParseNote("text\n\n" + dash + "a+b" + sig).error().message(), "note: key name contains '+'");
  EXPECT_EQ(ParseNote("text\n\n" + dash + "k AAAA\n").error().message(), "note: signature of key k is shorter than 5 bytes");
  EXPECT_EQ(ParseNote("text\n\n" + dash + "k AAAAAAB=\n").error().message(),
            "note: signature of key k: base64: non-canonical final character");
  std::string many = "text\n\n";
  for (int i = 0; i < 33; ++i) many += dash + "k" + sig;
  EXPECT_EQ(ParseNote(many).error().message(), "note: more than 32 signatures");
  EXPECT_EQ(ParseNote(std::string(20000, 'a')).error().message(), "note: note is 20000 bytes, limit 16384");
}

TEST(NoteTest, VkeysRoundTripAndRefuseWrongKeyIds) {
  auto signer = std::move(NoteSigner::Create("example.com/log", Key(3))).value();
  const std::string vkey = signer.verifier().vkey();
  EXPECT_EQ(NoteVerifier::FromVkey(vkey)->key_id(), signer.verifier().key_id());
  std::string wrong = vkey;
  wrong[wrong.find('+') + 1] = wrong[wrong.find('+') + 1] == '0' ? '1' : '0';
  EXPECT_EQ(NoteVerifier::FromVkey(wrong).error().message(), "note: vkey key id does not match SHA-256(name, type, key)");
  auto cosigner = std::move(Cosigner::Create("witness.example/w1", Key(4))).value();
  EXPECT_EQ(NoteVerifier::FromVkey(cosigner.verifier().vkey()).error().message(),
            "note: vkey of witness.example/w1 has signature type 4, expected 1 (Ed25519)");
  EXPECT_TRUE(CosignatureVerifier::FromVkey(cosigner.verifier().vkey()).ok());
}

TEST(CheckpointTest, ParsesC2spExampleAndRefusesMalformedText) {
  auto c = ParseCheckpointText("example.com/behind-the-sofa\n20852163\nCsUYapGGPo4dkMgIAUqom/Xajj7h2fB2MPA3j2jxq2I=\n");
  ASSERT_TRUE(c.ok());
  EXPECT_EQ(c->origin, "example.com/behind-the-sofa");
  EXPECT_EQ(c->size, 20852163u);
  EXPECT_EQ(FormatCheckpointText(*c), "example.com/behind-the-sofa\n20852163\nCsUYapGGPo4dkMgIAUqom/Xajj7h2fB2MPA3j2jxq2I=\n");
  const std::string root = "CsUYapGGPo4dkMgIAUqom/Xajj7h2fB2MPA3j2jxq2I=";
  EXPECT_TRUE(ParseCheckpointText("o\n0\n" + root + "\next\n").ok());
  EXPECT_EQ(ParseCheckpointText("o\n012\n" + root + "\n").error().message(), "checkpoint: tree size has a leading zero");
  EXPECT_EQ(ParseCheckpointText("o\n-1\n" + root + "\n").error().message(), "checkpoint: tree size is not a decimal number");
  EXPECT_EQ(ParseCheckpointText("o\n99999999999999999999\n" + root + "\n").error().message(),
            "checkpoint: tree size does not fit in 63 bits");
  EXPECT_EQ(ParseCheckpointText("o\n1\nAAAA\n").error().message(), "checkpoint: root hash is 3 bytes, expected 32");
  EXPECT_EQ(ParseCheckpointText("\n1\n" + root + "\n").error().message(), "checkpoint: origin line is empty");
  EXPECT_EQ(ParseCheckpointText("o\n1\n" + root + "\n\n").error().message(), "checkpoint: extension line 1 is empty");
  EXPECT_EQ(ParseCheckpointText("o\n1\n").error().message(), "checkpoint: text has fewer than 3 lines");
}

TEST(CosignatureTest, SignsTheSpecifiedMessageAndVerifiesWithTimestamp) {
  const std::string text = "example.com/behind-the-sofa\n20852163\nCsUYapGGPo4dkMgIAUqom/Xajj7h2fB2MPA3j2jxq2I=\n";
  EXPECT_EQ(CosignedMessage(text, 1679315147),
            "cosignature/v1\ntime 1679315147\nexample.com/behind-the-sofa\n20852163\nCsUYapGGPo4dkMgIAUqom/Xajj7h2fB2MPA3j2jxq2I=\n");
  auto cosigner = std::move(Cosigner::Create("witness.example.com/w1", Key(5))).value();
  auto sig = *cosigner.Cosign(text, 1679315147);
  EXPECT_EQ(sig.signature.size(), 72u);
  EXPECT_EQ(sig.key_id, KeyId("witness.example.com/w1", 0x04, Key(5).public_key().bytes()));
  // The signature is an Ed25519 signature of exactly CosignedMessage.
  EXPECT_TRUE(Key(5).public_key().Verify(AsBytes(CosignedMessage(text, 1679315147)), ByteView(sig.signature).subspan(8)).ok());
  const auto verifier = cosigner.verifier();
  EXPECT_EQ(*verifier.Verify(text, sig), 1679315147u);
  auto later = sig;
  later.signature[7] ^= 1;  // the timestamp is signed
  EXPECT_EQ(verifier.Verify(text, later).error().message(), "cosignature: by witness.example.com/w1 does not verify");
  auto shorter = sig;
  shorter.signature.pop_back();
  EXPECT_EQ(verifier.Verify(text, shorter).error().message(), "cosignature: by witness.example.com/w1 is not 8 + 64 bytes");
}

}  // namespace
}  // namespace openpcc::tlog
