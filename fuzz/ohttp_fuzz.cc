// fuzz/ohttp_fuzz.cc — RFC 9458 on untrusted bytes: a KeyConfig, an `application/ohttp-keys` list,
// a `message/ohttp-req` decapsulated by a gateway with fixed keys, and a `message/ohttp-res` opened
// by the client of a fixed request (RFC 9458 Appendix A's). Every input goes to all four.
//
// Invariants beyond "no crash, leak or undefined behaviour":
//  - a KeyConfig that parses re-encodes to exactly the input, and parses alone in a list;
//  - a list that parses re-encodes to a list that parses to the same configs;
//  - a request that decapsulates names the key of its first byte, its plaintext is the input less
//    header, enc and tag, and its context seals a response;
//  - a response that opens has the input's length less nonce and tag, and opens only once.
#include <cstddef>
#include <cstdint>

#include "fuzz_fixtures.h"

namespace openpcc::fuzz {
namespace {

void FuzzKeyConfig(ByteView input) {
  auto config = wire::ParseKeyConfig(input);
  if (!config.ok()) return;
  auto encoded = wire::EncodeKeyConfig(*config);
  if (!encoded.ok()) InvariantViolated("parsed KeyConfig does not encode: " + encoded.error().ToString());
  if (*encoded != ToBytes(input)) InvariantViolated("parsed KeyConfig does not re-encode to its input");
  if (input.size() > 0xffff) return;
  Bytes list{static_cast<uint8_t>(input.size() >> 8), static_cast<uint8_t>(input.size())};
  Append(list, input);
  auto parsed = wire::ParseKeyConfigList(list);
  if (!parsed.ok() || parsed->size() != 1 || (*parsed)[0] != *config) {
    InvariantViolated("a KeyConfig that parses alone does not parse as a one-entry list");
  }
}

void FuzzKeyConfigList(ByteView input) {
  auto list = wire::ParseKeyConfigList(input);
  if (!list.ok()) return;
  if (list->empty()) InvariantViolated("ParseKeyConfigList returned an empty list");
  auto encoded = wire::EncodeKeyConfigList(*list);
  if (!encoded.ok()) InvariantViolated("parsed KeyConfig list does not encode: " + encoded.error().ToString());
  auto reparsed = wire::ParseKeyConfigList(*encoded);
  if (!reparsed.ok() || *reparsed != *list) InvariantViolated("re-encoded KeyConfig list parses differently");
}

void FuzzDecapsulate(ByteView input) {
  static const auto keys = OhttpGatewayKeys();
  auto request = wire::DecapsulateRequest(keys, input);
  if (!request.ok()) return;
  const wire::GatewayKey* key = nullptr;
  for (const auto& k : keys) {
    if (k.config.key_id == input[0]) key = &k;
  }
  if (key == nullptr || request->key_id != input[0]) InvariantViolated("decapsulated with a key the header does not name");
  const size_t overhead = wire::kOhttpHeaderLength + crypto::KemPublicKeyLength(key->config.kem) + crypto::kAeadTagLength;
  if (request->request.size() + overhead != input.size()) InvariantViolated("decapsulated request has the wrong length");
  const auto aead = static_cast<AeadId>((uint16_t{input[5]} << 8) | input[6]);
  const Bytes nonce(wire::ResponseNonceLength(aead), 0x5a);
  const wire::OhttpTestingOptions testing{nullptr, nonce};
  auto response = request->context.SealResponse(AsBytes("fuzz"), &testing);
  if (!response.ok()) InvariantViolated("gateway cannot seal a response: " + response.error().ToString());
  if (request->context.SealResponse(AsBytes("again"), &testing).ok()) InvariantViolated("response sealed twice");
}

void FuzzOpenResponse(ByteView input) {
  auto client = FixedOhttpRequest();
  auto response = client.context.OpenResponse(input);
  if (!response.ok()) return;
  // AES-128-GCM: a 16-byte response nonce, a 16-byte tag.
  if (response->size() + 16 + crypto::kAeadTagLength != input.size()) {
    InvariantViolated("opened response has the wrong length");
  }
  if (client.context.OpenResponse(input).ok()) InvariantViolated("response opened twice");
}

}  // namespace
}  // namespace openpcc::fuzz

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  using namespace openpcc::fuzz;
  const openpcc::ByteView input(data, size);
  FuzzKeyConfig(input);
  FuzzKeyConfigList(input);
  FuzzDecapsulate(input);
  FuzzOpenResponse(input);
  return 0;
}
