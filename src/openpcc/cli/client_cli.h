// cli/client_cli.h — what `openpcc proxy` and `openpcc chat` share: where the client configuration
// lives by default, opening a Client from it, and picking a model from the gateway's list.
//
// Default configuration: $OPENPCC_CLIENT_CONFIG, else $XDG_CONFIG_HOME/openpcc/client.json, else
// ~/.config/openpcc/client.json (client/client.h documents the file).
//
// Thread safety: plain functions.
#pragma once

#include <chrono>
#include <memory>
#include <string>
#include <string_view>

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

}  // namespace openpcc::cli
