// attest/snp/roots.h — the pinned AMD root keys (ARK-Milan, ARK-Genoa, ARK-Turin).
//
// Trust in an SEV-SNP report ends at one of these self-signed certificates, compiled in: a chain
// file given at verification time only supplies the untrusted intermediates (ASK, ASVK), and its
// copy of the ARK is never trusted. The fingerprints are listed in roots.cc and checked by tests.
//
// Thread safety: PinnedAmdRoots() parses once (a function-local static) and returns immutable
// certificates that may be read from any thread.
#pragma once

#include <vector>

#include "openpcc/attest/snp/report.h"
#include "openpcc/crypto/x509.h"

namespace openpcc::attest::snp {

// A trust anchor and the processor family it signs for (its ASK is "SEV-<Family>", its ASVK
// "SEV-VLEK-<Family>").
struct SnpRoot {
  SnpFamily family;
  crypto::Certificate ark;
};

// Milan, Genoa and Turin, in that order.
const std::vector<SnpRoot>& PinnedAmdRoots();

}  // namespace openpcc::attest::snp
