// tokens/issuer_client.h — the client side of `openpcc issuer` over HTTP: fetch the issuer
// directory, keep only the token keys the caller's policy lists, and send TokenRequests with the
// account's API key. `Fetcher()` is the wallet's injected TokenFetcher (tokens/wallet.h).
//
// This module is its own library (openpcc_tokens_http) so that openpcc_tokens stays free of net/.
//
// Trust: the API key is sent only to the issuer URL the caller configured — never to another
// origin a directory names (a directory whose issuer-request-uri points elsewhere is refused) —
// and, beyond loopback, only over https (net::Client refuses plain http off the machine). The
// directory itself is not trusted for key choice: keys must also be in the caller's allow list
// (the logged directory, DESIGN §2.3), and the TokenChallenge is the caller's, not the server's.
//
// Errors: 401 → kAuthenticationFailed, 429 → kOutOfRange (with the Retry-After seconds in the
// message), other statuses → kFailedPrecondition naming the status and the server's error code.
//
// Thread safety: safe for concurrent calls (net::BlockingClient is thread-safe).
#pragma once

#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <vector>

#include "openpcc/crypto/secret.h"
#include "openpcc/net/client.h"
#include "openpcc/net/url.h"
#include "openpcc/tokens/issuer_directory.h"
#include "openpcc/tokens/key_set.h"
#include "openpcc/tokens/wallet.h"

namespace openpcc::tokens {

class IssuerClient {
 public:
  // `issuer_url`: the issuer's origin ("https://issuer.example" or "http://127.0.0.1:7300"); the
  // directory is fetched from its /.well-known path.
  static Result<std::unique_ptr<IssuerClient>> Create(std::string issuer_url,
                                                      crypto::SecretString api_key,
                                                      net::ClientOptions options = {});

  // GET the RFC 9578 directory and parse it.
  Result<IssuerDirectory> FetchDirectory();
  // The directory's type-0x0002 keys that `allowed` lists (kUnknownKey if none is listed).
  Result<std::vector<TokenVerificationKey>> FetchAllowedKeys(const std::vector<TokenKeyId>& allowed);

  // POSTs the requests: one as application/private-token-request, several as one generic batch.
  // Returns one optional response per request, in order.
  Result<std::vector<std::optional<TokenResponse>>> Issue(const std::vector<TokenRequest>& requests);
  // Issue, as a wallet TokenFetcher; the client must outlive it.
  TokenFetcher Fetcher();

 private:
  IssuerClient(net::Url base, crypto::SecretString api_key,
               std::unique_ptr<net::BlockingClient> http)
      : base_(std::move(base)), api_key_(std::move(api_key)), http_(std::move(http)) {}
  Result<std::string> RequestUrl();

  const net::Url base_;
  const crypto::SecretString api_key_;
  std::unique_ptr<net::BlockingClient> http_;
  std::mutex mu_;
  std::optional<std::string> request_url_;  // from the directory, same origin as base_
};

}  // namespace openpcc::tokens
