// cli/evidence_tpm.h — `openpcc evidence verify --type tpm`: reads the files, runs
// attest::tpm::VerifyTpmEvidence and prints the verified claims as JSON on stdout.
#pragma once

#include "openpcc/cli/commands.h"

namespace openpcc::cli {

// `args` are the arguments after "evidence verify" (they include --type tpm).
int RunEvidenceVerifyTpm(const Args& args);

}  // namespace openpcc::cli
