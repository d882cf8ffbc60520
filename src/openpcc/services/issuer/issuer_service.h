// services/issuer/issuer_service.h — `openpcc issuer`: the Privacy Pass issuer (DESIGN §2.3, §4)
// on net::Server. Thin: the HTTP layer over tokens/ (Issuer, AccountStore, TokenKeySet) and the
// token key files (tokens/token_key_store.h).
//
//   GET  /.well-known/private-token-issuer-directory   RFC 9578 directory, Cache-Control max-age
//   POST /token-request   Authorization: Bearer <API key>;
//        application/private-token-request → application/private-token-response, or
//        application/private-token-generic-batch-request → …-generic-batch-response.
//        401 (+ WWW-Authenticate: Bearer) missing or refused key · 415 other media types ·
//        400 malformed request or unknown token key (the message names the field) ·
//        413 batch above --max-batch · 429 (+ Retry-After) quota exhausted.
//
// State under `state_dir`: issuer.db (accounts, hashed API keys, quota usage; SQLite WAL, shared
// safely with `openpcc issuer admin`) and token-keys/ (one 0600 file per key). A rotation thread
// wakes every `rotation_check`, generates the next key when the policy says so (persisted before
// any directory lists it), and deletes the files of keys whose redemption window has closed.
//
// Signing and SQLite work run on a worker pool, never on the I/O threads (handlers must not
// block). Logs carry counts, statuses and key id prefixes — never API keys or token bytes.
//
// Thread safety: Create, Routes and StartRotation from one thread; handlers run concurrently.
#pragma once

#include <chrono>
#include <condition_variable>
#include <memory>
#include <mutex>
#include <string>
#include <thread>

#include "openpcc/net/server.h"
#include "openpcc/tokens/account_store.h"
#include "openpcc/tokens/issuer.h"
#include "openpcc/tokens/key_set.h"
#include "openpcc/util/clock.h"

namespace boost::asio {
class thread_pool;
}

namespace openpcc::services {

struct IssuerServiceConfig {
  std::string state_dir;
  std::string issuer_name;            // the TokenChallenge's issuer_name
  std::string origin_info = "openpcc";  // the one logical service name of the fixed challenge
  tokens::RotationPolicy rotation;
  std::chrono::milliseconds rotation_check{60'000};
  size_t max_batch = 256;
  size_t workers = 2;
  std::chrono::seconds directory_max_age{3600};
};

class IssuerService {
 public:
  // Opens the database, loads the token keys (deleting the files of expired ones) and rotates
  // once, so a key issues before the server listens.
  static Result<std::unique_ptr<IssuerService>> Create(IssuerServiceConfig config,
                                                       const Clock& clock);
  ~IssuerService();

  // The routes above; the service must outlive the server.
  net::Router Routes();
  // The origin ("https://issuer.example") clients reach; the directory's issuer-request-uri is
  // its /token-request. Set before the server takes requests.
  void SetPublicOrigin(std::string origin);
  // Starts the rotation thread; Stop (or the destructor) ends it.
  void StartRotation();
  void Stop();

  // One rotation step (the thread's body): rotate, persist, delete expired key files.
  Status RotateOnce();
  const tokens::TokenKeySet& keys() const { return keys_; }
  ByteView challenge() const { return challenge_; }

 private:
  IssuerService(IssuerServiceConfig config, const Clock& clock);
  net::Awaitable<void> ServeDirectory(net::Request& req, net::Response& res);
  net::Awaitable<void> ServeTokenRequest(net::Request& req, net::Response& res);
  std::string RequestUri();

  const IssuerServiceConfig config_;
  const Clock& clock_;
  const std::string key_dir_;
  Bytes challenge_;
  tokens::TokenKeySet keys_;
  std::unique_ptr<tokens::AccountStore> accounts_;
  std::unique_ptr<tokens::Issuer> issuer_;
  std::unique_ptr<boost::asio::thread_pool> workers_;

  std::mutex origin_mu_;
  std::string origin_;

  std::mutex rotate_mu_;    // serialises RotateOnce
  std::mutex rotation_mu_;  // guards stop_
  std::condition_variable rotation_cv_;
  bool stop_ = false;
  std::thread rotation_thread_;
};

}  // namespace openpcc::services
