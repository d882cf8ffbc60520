// cli/client_cli.h — what `openpcc proxy` and `openpcc chat` share: where the client configuration
// lives by default, opening a Client from it, picking a model from the gateway's list, and the
// wallet's background ticker.
//
// Default configuration: $OPENPCC_CLIENT_CONFIG, else $XDG_CONFIG_HOME/openpcc/client.json, else
// ~/.config/openpcc/client.json (client/client.h documents the file).
//
// Thread safety: plain functions; WalletTicker owns one thread, joined by its destructor.
#pragma once

#include <chrono>
#include <condition_variable>
#include <memory>
#include <mutex>
#include <string>
#include <string_view>
#include <thread>

#include "openpcc/client/client.h"
#include "openpcc/util/clock.h"

namespace openpcc::cli {

// $OPENPCC_CLIENT_CONFIG; else $XDG_CONFIG_HOME/openpcc/client.json (~/.config/...) when it
// exists; else the configuration `openpcc up` wrote in its default directory, when it exists.
std::string DefaultClientConfigPath();

// TEST ONLY (`--testing-start-time`): a clock that starts at `start` and runs at the steady
// clock's pace from there, so process tests use fixed test data (checkpoints, evidence, epochs)
// while the wallet's refill timers still elapse.
class OffsetClock final : public Clock {
 public:
  explicit OffsetClock(std::chrono::sys_seconds start)
      : start_(start), steady_start_(std::chrono::steady_clock::now()) {}
  SysTime Now() const override {
    return std::chrono::time_point_cast<std::chrono::milliseconds>(start_) +
           std::chrono::duration_cast<std::chrono::milliseconds>(std::chrono::steady_clock::now() - steady_start_);
  }

 private:
  std::chrono::sys_seconds start_;
  std::chrono::steady_clock::time_point steady_start_;
};
Result<std::unique_ptr<client::Client>> OpenClient(const std::string& config_path, const Clock& clock);
// The first model id of an OpenAI model list (GET /v1/models).
Result<std::string> FirstModel(std::string_view models_json);

// One `Client::TickWallet`: a failure is logged as a warning (never fatal: the next tick retries),
// tokens added as info.
void TickWalletAndLog(client::Client& c, std::string_view command);

// Runs `Client::TickWallet` every `period` on its own thread while it lives, so that refills happen
// in the background at the wallet's random instants and never on a request's path (interactive
// `openpcc chat`; the proxy's warmer does the same). Failures are logged, never fatal.
class WalletTicker {
 public:
  WalletTicker(client::Client& c, std::string_view command,
               std::chrono::milliseconds period = std::chrono::seconds(2));
  ~WalletTicker();
  WalletTicker(const WalletTicker&) = delete;
  WalletTicker& operator=(const WalletTicker&) = delete;

 private:
  void Run();
  client::Client& client_;
  const std::string command_;
  const std::chrono::milliseconds period_;
  std::mutex mu_;
  std::condition_variable cv_;
  bool stop_ = false;
  std::thread thread_;
};

}  // namespace openpcc::cli
