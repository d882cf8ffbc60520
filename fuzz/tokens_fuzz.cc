// libFuzzer target for tokens/token (Privacy Pass type 0x0002 structures, RFC 9577 TokenChallenge,
// generic batches). The first input byte picks the structure; the rest is parsed. Aborts unless
// every structure that parses re-encodes to exactly the input (the formats have one encoding).
#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <vector>

#include "openpcc/tokens/token.h"

namespace {

using namespace openpcc;
using namespace openpcc::tokens;

void Check(bool condition, const char* what) {
  if (!condition) {
    std::fprintf(stderr, "tokens_fuzz: %s\n", what);
    std::abort();
  }
}

bool Same(const Bytes& a, ByteView b) { return a.size() == b.size() && std::equal(a.begin(), a.end(), b.begin()); }

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  if (size == 0) return 0;
  const ByteView in(data + 1, size - 1);
  switch (data[0] % 6) {
    case 0:
      if (auto c = TokenChallenge::Parse(in); c.ok()) {
        auto enc = c->Encode();
        Check(enc.ok() && Same(*enc, in), "challenge round trip");
      }
      break;
    case 1:
      if (auto r = TokenRequest::Parse(in); r.ok()) Check(Same(r->Encode(), in), "request round trip");
      break;
    case 2:
      if (auto r = TokenResponse::Parse(in); r.ok()) Check(Same(r->Encode(), in), "response round trip");
      break;
    case 3:
      if (auto t = Token::Parse(in); t.ok()) Check(Same(t->Encode(), in), "token round trip");
      break;
    case 4:
      if (auto b = ParseBatchTokenRequest(in, 64); b.ok()) {
        Check(!b->empty() && b->size() <= 64, "batch request count");
        auto enc = EncodeBatchTokenRequest(*b);
        // Varint lengths may be non-minimal in the input, so compare re-parses, not bytes.
        Check(enc.ok(), "batch request re-encodes");
        auto again = ParseBatchTokenRequest(*enc, 64);
        Check(again.ok() && again->size() == b->size(), "batch request round trip");
      }
      break;
    case 5:
      if (auto b = ParseBatchTokenResponse(in, 64); b.ok()) {
        auto enc = EncodeBatchTokenResponse(*b);
        Check(enc.ok(), "batch response re-encodes");
        auto again = ParseBatchTokenResponse(*enc, 64);
        Check(again.ok() && again->size() == b->size(), "batch response round trip");
      }
      break;
  }
  return 0;
}
