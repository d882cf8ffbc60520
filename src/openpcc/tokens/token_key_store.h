// tokens/token_key_store.h — the issuer's token keys on disk, one file per key in a directory only
// the issuer reads (created 0700; files 0600, written atomically and fsynced before the key is used).
//
// A key file is a PKCS#8 PEM private key preceded by the key's windows, so `openssl pkey -in FILE`
// reads it as it is and `openpcc keys` can write the same format:
//
//   openpcc-token-key: 1
//   not-before: 1700000000
//   issue-until: 1700604800
//   redeem-until: 1700777600
//
//   -----BEGIN PRIVATE KEY-----
//   ...
//   -----END PRIVATE KEY-----
//
// Files are named token-<not-before>-<first 8 bytes of the key id, hex>.pem; only names of that
// shape are read. A file readable by group or others is refused, as is a file whose windows are
// missing or out of order. Times are seconds since the Unix epoch.
//
// Thread safety: plain functions; callers serialise writers of one directory (the issuer has one).
#pragma once

#include <chrono>
#include <string>
#include <vector>

#include "openpcc/tokens/key_set.h"

namespace openpcc::tokens {

struct StoredTokenKey {
  std::string path;
  IssuerKey key;
};

// The file's text for `key` (the format above). The PEM body is secret: the result wipes itself.
Result<crypto::SecretString> FormatTokenKeyFile(const IssuerKey& key);
Result<IssuerKey> ParseTokenKeyFile(ByteView text);

// Creates `dir` (0700) if needed and writes the key's file atomically (temporary file, fsync,
// rename, fsync of the directory). Refuses to overwrite an existing file.
Status SaveTokenKey(const std::string& dir, const IssuerKey& key);
// Every key file in `dir`, ordered by not_before; a missing directory holds no keys. Errors name
// the file.
Result<std::vector<StoredTokenKey>> LoadTokenKeys(const std::string& dir);
// Removes the files of keys whose redemption window closed at or before `now`; returns how many.
Result<size_t> RemoveExpiredTokenKeys(const std::string& dir, std::chrono::sys_seconds now);

}  // namespace openpcc::tokens
