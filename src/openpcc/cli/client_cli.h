// cli/client_cli.h — what `openpcc proxy` and `openpcc chat` share: where the client configuration
// lives by default, opening a Client from it, and picking a model from the gateway's list.
//
// Default configuration: $OPENPCC_CLIENT_CONFIG, else $XDG_CONFIG_HOME/openpcc/client.json, else
// ~/.config/openpcc/client.json (client/client.h documents the file).
//
// Thread safety: plain functions.
#pragma once

#include <memory>
#include <string>
#include <string_view>

#include "openpcc/client/client.h"
#include "openpcc/util/clock.h"

namespace openpcc::cli {

std::string DefaultClientConfigPath();
Result<std::unique_ptr<client::Client>> OpenClient(const std::string& config_path, const Clock& clock);
// The first model id of an OpenAI model list (GET /v1/models).
Result<std::string> FirstModel(std::string_view models_json);

}  // namespace openpcc::cli
