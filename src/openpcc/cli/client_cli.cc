#include "openpcc/cli/client_cli.h"

#include <cstdlib>
#include <filesystem>

#include <boost/json.hpp>

#include "openpcc/cli/tlog_cli.h"
#include "openpcc/util/log.h"
#include "openpcc/wire/jcs.h"

namespace openpcc::cli {

std::string DefaultClientConfigPath() {
  if (const char* path = std::getenv("OPENPCC_CLIENT_CONFIG"); path != nullptr && *path != '\0') return path;
  std::string user;
  if (const char* xdg = std::getenv("XDG_CONFIG_HOME"); xdg != nullptr && *xdg != '\0') {
    user = std::string(xdg) + "/openpcc/client.json";
  } else {
    const char* home = std::getenv("HOME");
    user = std::string(home != nullptr ? home : ".") + "/.config/openpcc/client.json";
  }
  // Without a configuration of the user's own, the one `openpcc up` wrote for its default
  // directory, so `openpcc chat "hello"` talks to the local stack.
  std::error_code ec;
  if (std::filesystem::exists(user, ec)) return user;
  const std::string up = DefaultStateDir() + "/up/run/client/client.json";
  return std::filesystem::exists(up, ec) ? up : user;
}

Result<std::unique_ptr<client::Client>> OpenClient(const std::string& config_path, const Clock& clock) {
  OPENPCC_ASSIGN_OR_RETURN(client::ClientConfig config, client::ClientConfig::Load(config_path));
  return client::Client::Create(std::move(config), clock);
}

Result<std::string> FirstModel(std::string_view models_json) {
  auto parsed = wire::ParseJson(models_json);
  if (parsed.ok() && parsed->is_object()) {
    const boost::json::value* data = parsed->as_object().if_contains("data");
    if (data != nullptr && data->is_array() && !data->as_array().empty()) {
      const boost::json::value& first = data->as_array().front();
      if (first.is_object()) {
        const boost::json::value* id = first.as_object().if_contains("id");
        if (id != nullptr && id->is_string()) return std::string(id->as_string());
      }
    }
  }
  return Error(ErrorCode::kFailedPrecondition, "models: the gateway lists no model");
}

WalletTicker::WalletTicker(client::Client& c, std::string_view command, std::chrono::milliseconds period)
    : client_(c), command_(command), period_(period), thread_([this] { Run(); }) {}

WalletTicker::~WalletTicker() {
  {
    std::lock_guard lock(mu_);
    stop_ = true;
  }
  cv_.notify_all();
  thread_.join();
}

void TickWalletAndLog(client::Client& c, std::string_view command) {
  auto added = c.TickWallet();
  if (!added.ok()) {
    LogWarning(command, "token refill failed", {{"error", added.error().message()}});
  } else if (*added > 0) {
    LogInfo(command, "tokens added", {{"count", std::to_string(*added)}});
  }
}

void WalletTicker::Run() {
  std::unique_lock lock(mu_);
  while (!cv_.wait_for(lock, period_, [this] { return stop_; })) {
    lock.unlock();
    TickWalletAndLog(client_, command_);
    lock.lock();
  }
}

}  // namespace openpcc::cli
