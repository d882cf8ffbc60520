// attest/nvgpu/roots.h — NVIDIA's trust anchors for GPU evidence, pinned in the binary.
//
// Device Identity CA: roots every GPU's device certificate chain (leaf "GH100/GB100 A01 GSP FMC LF"
// ← GSP BROM ← Provisioner ICA ← GH100/GB100 Identity ← this CA). SHA-256 of the DER:
// 102bf659d5419614c9d8e6aecebc80454eb26b1df6a769ac720b9a690b167b48.
// CoRIM signing Root CA: roots the certificates that sign Reference Integrity Manifests. SHA-256:
// 12977b5115acb0381179279fffeb5a8c4d264971ebb32298023a465fa41df5d1.
// Both are NVIDIA's published roots (nvtrust local_gpu_verifier certs/); tests check the digests.
//
// Thread safety: the certificates are parsed once and immutable.
#pragma once

#include <string_view>
#include <vector>

#include "openpcc/crypto/x509.h"

namespace openpcc::attest::nvgpu {

extern const std::string_view kNvidiaDeviceIdentityRootPem;
extern const std::string_view kNvidiaRimRootPem;

const std::vector<crypto::Certificate>& NvidiaDeviceIdentityRoots();
const std::vector<crypto::Certificate>& NvidiaRimRoots();

}  // namespace openpcc::attest::nvgpu
