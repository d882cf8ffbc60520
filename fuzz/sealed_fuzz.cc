// fuzz/sealed_fuzz.cc — OpenPCC sealed requests and responses (DESIGN.md §2.2) on untrusted bytes:
// the node's SealedRequestReader holding a fixed current and grace-period key, and the client's
// SealedResponseReader for a fixed sealed request. Input: a split control prefix, then the stream
// (see SplitInput in fuzz_fixtures.h); each reader reads it whole and split, then Finish.
//
// The seed corpus holds genuine requests to the fixed keys (written by make_seeds), without which
// mutation could not get past the wrapped-DEK check to the body.
//
// Invariant beyond "no crash, leak or undefined behaviour": the outcome (ok, or the error's code and
// message, the plaintext released, and for a request its digest, node and enc) does not depend on
// how the stream was split.
#include <cstddef>
#include <cstdint>

#include "fuzz_fixtures.h"

namespace openpcc::fuzz {
namespace {

void FuzzNode(const SplitInput& input) {
  static const std::vector<wire::NodeKey> keys = {SealedCurrentKey().key, SealedGraceKey().key};
  wire::SealedRequestReader whole(keys, input.limits());
  wire::SealedRequestReader split(keys, input.limits());
  const Outcome a = FeedWholeAndSplit("sealed request", whole, split, input);
  if (!a.ok) return;
  const auto same = [](ByteView x, ByteView y) { return std::equal(x.begin(), x.end(), y.begin(), y.end()); };
  if (!whole.finished() || !split.finished() || !same(whole.request_digest(), split.request_digest()) ||
      !same(whole.node_id(), split.node_id()) || !same(whole.enc(), split.enc())) {
    InvariantViolated("sealed request: whole and split readers disagree on digest, node or enc");
  }
  Bytes response;
  auto writer = whole.MakeResponseWriter(response, input.limits());
  if (!writer.ok()) InvariantViolated("sealed: no response writer after a good request");
}

void FuzzClient(const SplitInput& input) {
  static Bytes request;
  static const wire::SealedRequestWriter writer = FixedSealedRequest(request);
  auto whole = Must(writer.MakeResponseReader(input.limits()), "response reader");
  auto split = Must(writer.MakeResponseReader(input.limits()), "response reader");
  const Outcome a = FeedWholeAndSplit("sealed response", whole, split, input);
  if (!a.ok) return;
  const ByteView x = whole.node_id(), y = split.node_id();
  if (!whole.finished() || !split.finished() || x.empty() || !std::equal(x.begin(), x.end(), y.begin(), y.end()) ||
      !std::equal(x.begin(), x.end(), input.message.begin())) {
    InvariantViolated("sealed response: whole and split readers disagree on the answering node");
  }
}

}  // namespace
}  // namespace openpcc::fuzz

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  using namespace openpcc::fuzz;
  SplitInput input;
  if (!ParseSplitInput(data, size, &input)) return 0;
  FuzzNode(input);
  FuzzClient(input);
  return 0;
}
