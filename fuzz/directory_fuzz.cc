// fuzz/directory_fuzz.cc — the node directory (directory/node_directory.h) and the /v1/directory
// response (directory/directory_response.h).
// Invariants: a directory that parses re-encodes to exactly its input (the text is canonical);
// an entry that verifies under the fixed directory key has a body equal to its directory's
// canonical form; a response that parses re-encodes to a response that parses equal to it.
// Seeds (fuzz/corpus/directory_fuzz): a signed entry (key: seed 32 × 0x01), its canonical body,
// and a response carrying it.
#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <cstdlib>

#include "openpcc/directory/directory_response.h"
#include "openpcc/directory/node_directory.h"
#include "openpcc/tlog/entry.h"

namespace {

[[noreturn]] void Violated(const char* what) {
  std::fprintf(stderr, "directory invariant violated: %s\n", what);
  std::abort();
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  using namespace openpcc;
  const ByteView input(data, size);
  const std::string_view text(reinterpret_cast<const char*>(data), size);
  static const crypto::Ed25519PublicKey key =
      std::move(crypto::Ed25519PrivateKey::FromSeed(Bytes(32, 1))).value().public_key();

  if (auto d = directory::ParseNodeDirectory(text); d.ok()) {
    auto again = d->EncodeCanonical();
    if (!again.ok() || *again != text) Violated("parsed directory does not re-encode to its input");
  }
  if (auto d = directory::VerifyDirectoryEntry(input, key); d.ok()) {
    auto entry = tlog::ParseEntry(input);
    if (!entry.ok() || entry->body != *d->EncodeCanonical()) Violated("verified entry body is not its canonical form");
  }
  if (auto r = directory::ParseDirectoryResponse(text); r.ok()) {
    auto again = directory::ParseDirectoryResponse(r->Encode());
    if (!again.ok() || !(*again == *r)) Violated("response does not round-trip");
    tlog::Checkpoint checkpoint;
    checkpoint.size = r->log_index + 1;
    (void)directory::CheckInclusion(*r, checkpoint);
  }
  return 0;
}
