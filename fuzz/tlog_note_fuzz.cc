// fuzz/tlog_note_fuzz.cc — C2SP signed notes, checkpoints and vkeys on untrusted text.
// Invariants: a note that parses formats back to exactly its input; a checkpoint text that parses
// formats back to its input; a vkey that parses re-encodes to its input; verification under a fixed
// key never crashes and never accepts (the fuzzer cannot forge Ed25519).
#include <cstddef>
#include <cstdint>

#include "openpcc/tlog/checkpoint.h"
#include "openpcc/tlog/cosignature.h"
#include "openpcc/tlog/note.h"
#include "tlog_fuzz_util.h"

namespace openpcc::fuzz {
namespace {

const tlog::NoteVerifier& Verifier() {
  static const auto v = std::move(tlog::NoteVerifier::FromVkey(
                                      "example.com/foo+530d903a+AekyeRrm56hApGFkyQR4ZCbV54Id2LKaANYcrnKv3U2k"))
                            .value();
  return v;
}

}  // namespace
}  // namespace openpcc::fuzz

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  using namespace openpcc;
  const std::string_view input(reinterpret_cast<const char*>(data), size);
  if (auto note = tlog::ParseNote(input); note.ok()) {
    if (tlog::FormatNote(*note) != input) fuzz::TlogInvariantViolated("note does not format back to its input");
    auto verified = tlog::VerifyNote(*note, std::span(&fuzz::Verifier(), 1));
    if (verified.ok() && note->text != "This is an example message.\n") fuzz::TlogInvariantViolated("forged note accepted");
  }
  if (auto c = tlog::ParseCheckpointText(input); c.ok()) {
    if (tlog::FormatCheckpointText(*c) != input) fuzz::TlogInvariantViolated("checkpoint does not format back");
  }
  if (auto v = tlog::ParseVkey(input); v.ok()) {
    if (tlog::FormatVkey(v->name, v->type, v->key) != input) fuzz::TlogInvariantViolated("vkey does not re-encode");
  }
  if (auto lines = tlog::ParseSignatureLines(input); lines.ok()) {
    std::string out;
    for (const auto& s : *lines) out += tlog::FormatSignatureLine(s);
    if (out != input) fuzz::TlogInvariantViolated("signature lines do not format back");
  }
  return 0;
}
