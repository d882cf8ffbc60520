// fuzz/tlog_entry_fuzz.cc — the log entry envelope and the release-key JSON bodies.
// Invariants: an envelope that parses re-encodes to its input; an entry that verifies under the
// fixed keyring has a canonical body that passes its kind's schema; the body, parsed as JSON and checked against each kind's schema, never
// crashes, and a manifest or minimum-TCB notice that parses serializes back to one equal to it.
#include <cstddef>
#include <cstdint>

#include "openpcc/tlog/entry.h"
#include "openpcc/tlog/release.h"
#include "openpcc/wire/jcs.h"
#include "tlog_fuzz_util.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  using namespace openpcc;
  const ByteView input(data, size);
  static const tlog::EntryKeyring keyring = [] {
    tlog::EntryKeyring k;
    k.AddReleaseKey(std::move(crypto::Ed25519PrivateKey::FromSeed(Bytes(32, 1))).value().public_key());
    return k;
  }();
  if (auto entry = tlog::ParseEntry(input); entry.ok()) {
    auto encoded = tlog::EncodeEntry(*entry);
    if (!encoded.ok() || *encoded != ToBytes(input)) fuzz::TlogInvariantViolated("entry does not re-encode");
    // The seed corpus holds entries genuinely signed by the keyring's key, so mutations of their
    // unsigned parts reach the verification past the signature.
    if (auto verified = keyring.Verify(input); verified.ok()) {
      auto canonical = wire::Canonicalize(verified->body);
      if (!canonical.ok() || *canonical != verified->body_text) fuzz::TlogInvariantViolated("verified body is not canonical");
      if (!tlog::CheckEntryBody(verified->kind, verified->body).ok()) fuzz::TlogInvariantViolated("verified body fails its schema");
      if (verified->body_text != entry->body) fuzz::TlogInvariantViolated("verified body differs from the envelope's");
    }
  }
  if (auto json = wire::ParseJson(AsChars(input)); json.ok()) {
    if (auto manifest = tlog::ParseReleaseManifest(*json); manifest.ok()) {
      auto back = tlog::ReleaseManifestToJson(*manifest);
      if (!back.ok() || !(*tlog::ParseReleaseManifest(*back) == *manifest)) fuzz::TlogInvariantViolated("manifest does not round-trip");
    }
    (void)tlog::ParseRevocation(*json);
    if (auto notice = tlog::ParseMinimumTcb(*json); notice.ok()) {
      // A notice that parses names only enforced components, so it serializes back to itself.
      auto back = tlog::MinimumTcbToJson(*notice);
      if (!back.ok() || !(*tlog::ParseMinimumTcb(*back) == *notice)) fuzz::TlogInvariantViolated("notice does not round-trip");
    }
    (void)tlog::CheckEntryBody(tlog::EntryKind::kNodeDirectory, *json);
  }
  return 0;
}
