// fuzz/chunked_ohttp_fuzz.cc — chunked OHTTP (draft-ietf-ohai-chunked-ohttp) streams on untrusted
// bytes: the gateway's ChunkedRequestReader with fixed keys, and the client's response reader for a
// fixed request (the draft example's). Input: a split control prefix, then the stream (see
// SplitInput in fuzz_fixtures.h); each reader reads it whole and split, then Finish.
//
// Invariant beyond "no crash, leak or undefined behaviour": the outcome (ok, or the error's code and
// message, and the plaintext released) does not depend on how the stream was split.
#include <cstddef>
#include <cstdint>

#include "fuzz_fixtures.h"

namespace openpcc::fuzz {
namespace {

void FuzzGateway(const SplitInput& input) {
  static const auto keys = ChunkedGatewayKeys();
  wire::ChunkedRequestReader whole(keys, input.limits());
  wire::ChunkedRequestReader split(keys, input.limits());
  const Outcome a = FeedWholeAndSplit("chunked ohttp request", whole, split, input);
  if (!a.ok) return;
  if (!whole.finished() || !split.finished() || whole.key_id() != split.key_id() || whole.key_id() != input.message[0]) {
    InvariantViolated("chunked ohttp request: finished readers disagree on state or key id");
  }
  Bytes response;
  auto writer = whole.MakeResponseWriter(response, input.limits());
  if (!writer.ok()) InvariantViolated("chunked ohttp: no response writer after a good request");
}

void FuzzClient(const SplitInput& input) {
  static Bytes request;
  static const wire::ChunkedRequestWriter writer = FixedChunkedRequest(request);
  auto whole = writer.MakeResponseReader(input.limits());
  auto split = writer.MakeResponseReader(input.limits());
  const Outcome a = FeedWholeAndSplit("chunked ohttp response", whole, split, input);
  if (a.ok && (!whole.finished() || !split.finished())) InvariantViolated("chunked ohttp response: not finished");
}

}  // namespace
}  // namespace openpcc::fuzz

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  using namespace openpcc::fuzz;
  SplitInput input;
  if (!ParseSplitInput(data, size, &input)) return 0;
  FuzzGateway(input);
  FuzzClient(input);
  return 0;
}
