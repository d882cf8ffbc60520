// crypto/hpke_labels.h — LabeledExtract and LabeledExpand of RFC 9180 §4, shared by the KEM and
// the key schedule. `suite_id` is "KEM" || kem_id for the KEM, "HPKE" || kem || kdf || aead for the
// key schedule. Internal to crypto/. Pure functions; thread-safe.
#pragma once

#include <string_view>

#include "openpcc/crypto/kdf.h"

namespace openpcc::crypto {

Result<SecretBytes> LabeledExtract(KdfId kdf, ByteView suite_id, ByteView salt,
                                   std::string_view label, ByteView ikm);
Result<SecretBytes> LabeledExpand(KdfId kdf, ByteView suite_id, ByteView prk,
                                  std::string_view label, ByteView info, size_t length);

}  // namespace openpcc::crypto
