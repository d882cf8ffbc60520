// fuzz/make_seeds.cc — writes the seed corpora of ohttp_fuzz, chunked_ohttp_fuzz and sealed_fuzz:
// the published RFC 9458 / chunked-draft messages, genuine messages of our own to the fixed keys of
// fuzz_fixtures.h, and truncated or tampered variants. Deterministic, so re-running it reproduces
// the committed files byte for byte.
//
//   fuzz_make_seeds <repo>/fuzz/corpus
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <string>

#include "fuzz_fixtures.h"

namespace openpcc::fuzz {
namespace {

namespace fs = std::filesystem;
using namespace std::string_view_literals;

class SeedDir {
 public:
  SeedDir(const fs::path& root, const char* target) : dir_(root / target) { fs::create_directories(dir_); }
  void Write(const std::string& name, ByteView bytes) {
    std::ofstream out(dir_ / name, std::ios::binary | std::ios::trunc);
    out.write(reinterpret_cast<const char*>(bytes.data()), static_cast<std::streamsize>(bytes.size()));
    if (!out) FixtureFailed("cannot write " + (dir_ / name).string());
    ++count_;
  }
  ~SeedDir() { std::printf("%s: %zu seeds\n", dir_.string().c_str(), count_); }

 private:
  fs::path dir_;
  size_t count_ = 0;
};

Bytes Prefix(ByteView bytes, size_t length) { return ToBytes(bytes.first(length)); }
Bytes Flipped(ByteView bytes, size_t offset, uint8_t mask = 0x01) {
  Bytes out = ToBytes(bytes);
  out.at(offset) ^= mask;
  return out;
}
Bytes U16Prefixed(ByteView bytes) {
  Bytes out{static_cast<uint8_t>(bytes.size() >> 8), static_cast<uint8_t>(bytes.size())};
  Append(out, bytes);
  return out;
}

// A `message/bhttp request` stand-in; the OHTTP layer does not look inside.
const std::string_view kBhttpGet = "\x00\x03GET\x05https\x0b" "example.com\x01/"sv;

const wire::GatewayKey& OwnKey(uint8_t key_id) {
  static const auto keys = OwnGatewayKeys();
  for (const auto& k : keys) {
    if (k.config.key_id == key_id) return k;
  }
  FixtureFailed("no own key " + std::to_string(key_id));
}

wire::OhttpClientRequest OwnRequest(uint8_t key_id, const SymmetricSuite& suite, std::string_view label) {
  const auto& key = OwnKey(key_id);
  const auto ephemeral = DerivedKey(key.config.kem, label);
  const wire::OhttpTestingOptions testing{ephemeral.get(), {}};
  return Must(wire::EncapsulateRequest(key.config, suite, AsBytes(kBhttpGet), &testing), "own request");
}

void WriteOhttpSeeds(const fs::path& root) {
  SeedDir seeds(root, "ohttp_fuzz");
  const Bytes rfc_config = MustHex(rfc9458::kKeyConfig);
  const KeyConfig own_x25519 = OwnKey(kOwnX25519KeyId).config;
  const KeyConfig own_p256 = OwnKey(kOwnP256KeyId).config;
  seeds.Write("rfc9458-key-config", rfc_config);
  seeds.Write("own-key-config-p256", Must(wire::EncodeKeyConfig(own_p256), "encode"));
  seeds.Write("key-config-list", Must(wire::EncodeKeyConfigList(
                                          {Must(wire::ParseKeyConfig(rfc_config), "parse"), own_x25519, own_p256}),
                                      "encode list"));
  // A list whose first config has an unknown KEM and whose second lists an unknown KDF: a client
  // skips both the config and the suite.
  Bytes unknown_kem = rfc_config;
  unknown_kem[2] = 0x21;
  Bytes unknown_suite = Must(wire::EncodeKeyConfig(own_x25519), "encode");
  const size_t suites_length_offset = 3 + 32;
  unknown_suite[suites_length_offset + 1] = static_cast<uint8_t>(unknown_suite[suites_length_offset + 1] + 4);
  Append(unknown_suite, Bytes{0x00, 0x04, 0x00, 0x01});
  seeds.Write("key-config-list-skips-unknown", Concat(U16Prefixed(unknown_kem), U16Prefixed(unknown_suite)));

  const Bytes rfc_request = MustHex(rfc9458::kEncapsulatedRequest);
  const Bytes rfc_response = MustHex(rfc9458::kEncapsulatedResponse);
  seeds.Write("rfc9458-request", rfc_request);
  seeds.Write("rfc9458-response", rfc_response);
  seeds.Write("rfc9458-request-truncated-enc", Prefix(rfc_request, 20));
  seeds.Write("rfc9458-request-flipped-tag", Flipped(rfc_request, rfc_request.size() - 1));
  seeds.Write("rfc9458-response-shorter-than-nonce", Prefix(rfc_response, 10));
  seeds.Write("own-request-x25519-chacha", OwnRequest(kOwnX25519KeyId, kChaChaSha384, "ohttp seed 1").encapsulated);
  seeds.Write("own-request-x25519-aes256", OwnRequest(kOwnX25519KeyId, kAes256, "ohttp seed 2").encapsulated);
  seeds.Write("own-request-p256", OwnRequest(kOwnP256KeyId, kAes128, "ohttp seed 3").encapsulated);
  Bytes unknown_key = OwnRequest(kOwnX25519KeyId, kAes128, "ohttp seed 4").encapsulated;
  unknown_key[0] = 9;
  seeds.Write("own-request-unknown-key-id", unknown_key);
}

// A chunked request of `chunks` (the last one final) to one of our own gateway keys.
Bytes OwnChunkedRequest(uint8_t key_id, const SymmetricSuite& suite, const std::vector<std::string_view>& chunks,
                        std::string_view label, wire::ChunkLimits limits = {}) {
  const auto& key = OwnKey(key_id);
  const auto ephemeral = DerivedKey(key.config.kem, label);
  const wire::OhttpTestingOptions testing{ephemeral.get(), {}};
  Bytes wire;
  auto writer = Must(wire::ChunkedRequestWriter::Create(key.config, suite, wire, limits, &testing), "chunked writer");
  for (size_t i = 0; i + 1 < chunks.size(); ++i) Must(writer.Write(AsBytes(chunks[i]), wire), "chunked write");
  Must(writer.Finish(AsBytes(chunks.back()), wire), "chunked finish");
  return wire;
}

void WriteChunkedSeeds(const fs::path& root) {
  SeedDir seeds(root, "chunked_ohttp_fuzz");
  const Bytes draft_request = MustHex(chunked_draft::kEncapsulatedRequest);
  const Bytes draft_response = MustHex(chunked_draft::kEncapsulatedResponse);
  seeds.Write("draft-request-byte-by-byte", MakeSplitInput(kByteByByte, {}, draft_request));
  // Cuts after the KEM id, inside enc, at the end of the header, inside and between chunks.
  seeds.Write("draft-request-cuts", MakeSplitInput(0, {3, 4, 32, 10, 0, 20}, draft_request));
  seeds.Write("draft-response-whole", MakeSplitInput(0, {}, draft_response));
  seeds.Write("draft-response-cuts", MakeSplitInput(0, {10, 7, 1, 30}, draft_response));
  seeds.Write("draft-response-tampered", MakeSplitInput(0, {20}, Flipped(draft_response, 30)));
  // The request without its final chunk (empty plaintext: marker and tag).
  seeds.Write("draft-request-missing-final",
              MakeSplitInput(0, {39}, Prefix(draft_request, draft_request.size() - 1 - crypto::kAeadTagLength)));

  seeds.Write("own-request-x25519-chacha",
              MakeSplitInput(0, {40, 2, 17},
                             OwnChunkedRequest(kOwnX25519KeyId, kChaChaSha384, {"\x00\x03GET"sv, "\x05https"sv, "/"sv},
                                               "chunked seed 1")));
  seeds.Write("own-request-p256", MakeSplitInput(kByteByByte, {},
                                                 OwnChunkedRequest(kOwnP256KeyId, kAes128, {"GET / ", ""}, "chunked seed 2")));
  const Bytes small = OwnChunkedRequest(kOwnX25519KeyId, kAes256,
                                        {"0123456789abcdef0123456789abcdef", "x", "0123456789abcdef0123456789abcdef",
                                         "y", "0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef"},
                                        "chunked seed 3", kSmallChunkLimits);
  seeds.Write("own-request-small-limits", MakeSplitInput(kSmallLimits, {50, 50, 50}, small));
  // Regression: an unknown KEM was refused when the stream was split after it and read as a
  // truncated header when it came in one piece.
  seeds.Write("request-unknown-kem-byte-by-byte", MakeSplitInput(kByteByByte, {}, Bytes{0x07, 0x00, 0x21, 0x00}));
  Bytes overlong = Prefix(small, wire::kOhttpHeaderLength + 32);
  Append(overlong, Bytes{0x80, 0x10, 0x00, 0x00});  // a 1 MiB chunk
  seeds.Write("own-request-overlong-chunk-length", MakeSplitInput(0, {}, overlong));

  // Our own response to the draft example request: the fuzzed client reader opens it.
  wire::ChunkedRequestReader gateway(ChunkedGatewayKeys());
  SecretBytes ignored;
  Must(gateway.Push(draft_request, ignored), "gateway push");
  Must(gateway.Finish(ignored), "gateway finish");
  const Bytes nonce(16, 0xa5);
  const wire::OhttpTestingOptions testing{nullptr, nonce};
  Bytes response;
  auto writer = Must(gateway.MakeResponseWriter(response, {}, &testing), "response writer");
  Must(writer.Write(AsBytes("\x01"), response), "response write");
  Must(writer.Write(AsBytes("\x40\xc8"), response), "response write");
  Must(writer.Write(AsBytes("more body"), response), "response write");
  Must(writer.Finish({}, response), "response finish");
  seeds.Write("own-response-cuts", MakeSplitInput(0, {16, 1, 18, 5}, response));
  seeds.Write("own-response-truncated-in-nonce", MakeSplitInput(0, {3}, Prefix(response, 9)));
}

void WriteSealedSeeds(const fs::path& root) {
  SeedDir seeds(root, "sealed_fuzz");
  const SealedNode current = SealedCurrentKey();
  const SealedNode grace = SealedGraceKey();
  std::vector<SealedNode> others;
  for (size_t i = 0; i < 7; ++i) others.push_back(SealedOtherNode(i));

  Bytes to_current;
  SealFixed({current.Candidate(kAes256)}, AeadId::kAes256Gcm, {"hello, ", "node", "!"}, "sealed seed 1", to_current);
  seeds.Write("request-current-byte-by-byte", MakeSplitInput(kByteByByte, {}, to_current));
  // Header is 4 + 32 + 12, the candidate 6 + 32 + 32 + 16: cut before and inside both.
  seeds.Write("request-current-cuts", MakeSplitInput(0, {1, 3, 32, 12, 6, 32, 48, 10}, to_current));

  Bytes three;
  SealFixed({others[0].Candidate(kAes128), current.Candidate(kChaChaSha384), others[1].Candidate(kAes256)},
            AeadId::kAes128Gcm, {"three ", "candidates", ""}, "sealed seed 2", three);
  seeds.Write("request-three-candidates-cuts", MakeSplitInput(0, {4, 96, 12, 50, 100, 90}, three));

  Bytes to_grace;
  SealFixed({grace.Candidate(kAes128), others[2].Candidate(kAes128)}, AeadId::kChaCha20Poly1305,
            {"grace period key"}, "sealed seed 3", to_grace);
  seeds.Write("request-grace-key-chacha-body", MakeSplitInput(0, {}, to_grace));

  Bytes many;
  SealFixed({current.Candidate(kAes128)}, AeadId::kAes128Gcm,
            {"chunk 1 ", "chunk 2 ", "chunk 3 ", "chunk 4 ", "chunk 5 ", "chunk 6 ", "chunk 7 ", ""}, "sealed seed 4",
            many);
  seeds.Write("request-many-chunks-small-limits", MakeSplitInput(kSmallLimits, {100, 40, 1, 30}, many));

  Bytes eight;
  std::vector<wire::SealedCandidate> candidates;
  for (const auto& other : others) candidates.push_back(other.Candidate(kAes128));
  candidates.push_back(current.Candidate(kAes256));
  SealFixed(candidates, AeadId::kAes256Gcm, {"eight"}, "sealed seed 5", eight);
  seeds.Write("request-eight-candidates", MakeSplitInput(0, {255, 255, 255}, eight));
  // Regression: over the small limits in one piece, but each piece under them. It was refused
  // whole and accepted split (the limit counted each piece of the header, then only the body).
  seeds.Write("request-eight-candidates-small-limits", MakeSplitInput(kSmallLimits, {255, 255, 255}, eight));

  seeds.Write("request-current-truncated-prelude", MakeSplitInput(0, {60}, Prefix(to_current, 120)));
  seeds.Write("request-current-flipped-wrapped-dek", MakeSplitInput(0, {}, Flipped(to_current, 4 + 32 + 12 + 6 + 32 + 3)));
  // Without its final chunk ("!": marker, 1 byte and tag).
  seeds.Write("request-current-missing-final",
              MakeSplitInput(0, {134}, Prefix(to_current, to_current.size() - 1 - 1 - crypto::kAeadTagLength)));

  // Responses to the fixed request, from each of its two candidates.
  Bytes fixed;
  FixedSealedRequest(fixed);
  const auto respond = [&fixed](const SealedNode& node, size_t nonce_length, const std::vector<std::string_view>& chunks) {
    wire::SealedRequestReader reader({node.key});
    SecretBytes ignored;
    Must(reader.Push(fixed, ignored), "node push");
    Must(reader.Finish(ignored), "node finish");
    const Bytes nonce(nonce_length, 0x3c);
    Bytes response;
    auto writer = Must(reader.MakeResponseWriter(response, {}, nonce), "response writer");
    for (size_t i = 0; i + 1 < chunks.size(); ++i) Must(writer.Write(AsBytes(chunks[i]), response), "write");
    Must(writer.Finish(AsBytes(chunks.back()), response), "finish");
    return response;
  };
  // AES-256-GCM answers with a 32-byte nonce (max(Nn, Nk)); AES-128-GCM with 16.
  const Bytes from_current = respond(current, 32, {"The answer", " is", " 42."});
  seeds.Write("response-from-current-cuts", MakeSplitInput(0, {32, 16, 5, 20}, from_current));
  seeds.Write("response-from-other-byte-by-byte", MakeSplitInput(kByteByByte, {}, respond(SealedOtherNode(1), 16, {""})));
  seeds.Write("response-from-current-unknown-node", MakeSplitInput(0, {}, Flipped(from_current, 0)));
}

}  // namespace
}  // namespace openpcc::fuzz

int main(int argc, char** argv) {
  if (argc != 2) {
    std::fprintf(stderr, "usage: %s <repo>/fuzz/corpus\n", argv[0]);
    return 2;
  }
  const std::filesystem::path root(argv[1]);
  openpcc::fuzz::WriteOhttpSeeds(root);
  openpcc::fuzz::WriteChunkedSeeds(root);
  openpcc::fuzz::WriteSealedSeeds(root);
  return 0;
}
