// tokens/issuer.h — the issuer's request handling, independent of HTTP: authenticate the account's
// API key, find the key each TokenRequest names, charge the quota for those naming an issuing key,
// and blind-sign them (a request naming no issuing key costs the account nothing; one whose
// blinded_msg is not below the key's modulus is charged, then refused).
//
// `openpcc issuer` (services/) maps POST /token-request onto HandleTokenRequest: the Bearer API key,
// the request's media type and body in; the response's media type and body (or an error whose code
// maps to a status: kAuthenticationFailed → 401, kOutOfRange → 429 for quotas or 413 for batch size,
// kUnknownKey → 400 for an unknown key, kMalformed/kTruncated/kUnsupported → 400) out.
// The issuer learns the account, the time and how many tokens; blinding hides the token inputs.
//
// Thread safety: safe for concurrent calls (the key set and account store synchronise themselves).
#pragma once

#include <chrono>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "openpcc/tokens/account_store.h"
#include "openpcc/tokens/key_set.h"
#include "openpcc/tokens/token.h"

namespace openpcc::tokens {

struct IssuerResponse {
  std::string_view media_type;
  Bytes body;
};

class Issuer {
 public:
  Issuer(const TokenKeySet& keys, AccountStore& accounts, size_t max_batch = 256)
      : keys_(keys), accounts_(accounts), max_batch_(max_batch) {}

  // Authenticates, checks the batch size, looks up the key each request names, charges the quota
  // for every request naming an issuing key, then signs those; a request naming no issuing key gets
  // an absent response (std::nullopt) and is not charged.
  Result<std::vector<std::optional<TokenResponse>>> IssueBatch(
      std::string_view api_key, std::span<const TokenRequest> requests,
      std::chrono::sys_seconds now);

  // application/private-token-request (one TokenRequest; an unknown key is kUnknownKey) or
  // application/private-token-generic-batch-request; any other media type is kUnsupported.
  Result<IssuerResponse> HandleTokenRequest(std::string_view api_key, std::string_view media_type,
                                            ByteView body, std::chrono::sys_seconds now);

  // The same two steps for an account the caller already authenticated (the HTTP service checks
  // the API key before it reads the body, so an unauthenticated client learns nothing more).
  Result<std::vector<std::optional<TokenResponse>>> IssueBatchFor(
      AccountId account, std::span<const TokenRequest> requests, std::chrono::sys_seconds now);
  Result<IssuerResponse> HandleTokenRequestFor(AccountId account, std::string_view media_type,
                                               ByteView body, std::chrono::sys_seconds now);

  // The signing step alone, without account or quota (for tests, benchmarks and tools).
  std::optional<TokenResponse> SignOne(const TokenRequest& request,
                                       std::chrono::sys_seconds now) const;

 private:
  const TokenKeySet& keys_;
  AccountStore& accounts_;
  const size_t max_batch_;
};

}  // namespace openpcc::tokens
