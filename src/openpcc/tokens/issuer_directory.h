// tokens/issuer_directory.h — the issuer directory (RFC 9578 §4), the JSON body served at
// /.well-known/private-token-issuer-directory with media type
// application/private-token-issuer-directory.
//
//   { "issuer-request-uri": "https://issuer.example/token-request",
//     "token-keys": [ { "token-type": 2, "token-key": "<base64url SPKI>", "not-before": 1700000000,
//                       "openpcc-redeem-until": 1701000000 } ],
//     "openpcc-token-challenge": "<base64url TokenChallenge>" }
//
// `openpcc-token-challenge` and `openpcc-redeem-until` are OpenPCC's additions (DESIGN §2.3: the fixed challenge's bytes are
// published); RFC 9578 clients ignore it. Parsing is bounded (64 KiB, nesting depth 8, 16 keys),
// ignores unknown members, keeps keys of every token type (clients use those they support, RFC
// 9578 §4), and refuses wrong types,
// out-of-range numbers and values that are not base64url. It does not validate the key bytes.
// Thread safety: pure functions.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "openpcc/util/bytes.h"
#include "openpcc/util/result.h"

namespace openpcc::tokens {

inline constexpr std::string_view kIssuerDirectoryPath = "/.well-known/private-token-issuer-directory";
inline constexpr std::string_view kIssuerDirectoryMediaType = "application/private-token-issuer-directory";
inline constexpr std::string_view kTokenRequestMediaType = "application/private-token-request";
inline constexpr std::string_view kTokenResponseMediaType = "application/private-token-response";
inline constexpr std::string_view kBatchTokenRequestMediaType =
    "application/private-token-generic-batch-request";
inline constexpr std::string_view kBatchTokenResponseMediaType =
    "application/private-token-generic-batch-response";
inline constexpr size_t kMaxIssuerDirectoryLength = 64 * 1024;
inline constexpr size_t kMaxDirectoryKeys = 16;

struct DirectoryTokenKey {
  uint16_t token_type = 0;
  Bytes token_key;                      // type 0x0002: RFC 9578 SPKI
  std::optional<int64_t> not_before;    // seconds since the Unix epoch
  // OpenPCC extension "openpcc-redeem-until": end of the key's redemption window, so redeemers
  // and wallets know when its tokens stop being accepted.
  std::optional<int64_t> redeem_until;
};

struct IssuerDirectory {
  std::string issuer_request_uri;
  std::vector<DirectoryTokenKey> token_keys;  // in the issuer's order (most preferred first)
  Bytes token_challenge;                      // empty when absent

  std::string ToJson() const;
  static Result<IssuerDirectory> Parse(std::string_view json);
};

}  // namespace openpcc::tokens
