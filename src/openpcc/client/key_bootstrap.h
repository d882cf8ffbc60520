// client/key_bootstrap.h — which OHTTP key configuration the client encrypts to (DESIGN §2.1, key
// consistency).
//
// A gateway could tag one client by serving it a key config no one else gets. The defence is the
// logged node directory (§2.5): it lists the valid OHTTP configs (at most two), and a client uses a
// config only if that list contains it. Bootstrap is therefore two steps:
//   1. `FetchServedConfigs` — GET /ohttp-keys *through the relay* (the relay passes that one GET
//      on to the gateway; see services/relay), so even the bootstrap never shows the client's
//      address to the gateway. The relay's origin + /ohttp-keys is the default URL; a client may
//      name another. `ChooseBootstrapConfig` picks the first served config offering the
//      transport's suite — *provisionally*: the client uses it only to fetch the directory.
//   2. `ConfirmListed` — once the directory has been verified (signature, inclusion in the log),
//      the config in use must be one it lists; otherwise the client stops, with an error that says
//      the gateway served a config outside the logged directory. `ChooseListedConfig` picks the
//      config for later requests among those served *and* listed.
// Two configs are the same config when key_id, KEM and public key are equal and the logged one
// also offers the suite in use (a served list may omit suites this client does not support;
// RFC 9458 §3.2).
//
// Thread safety: pure functions, plus `FetchServedConfigs`, which is as thread-safe as the client.
#pragma once

#include <span>
#include <string>
#include <vector>

#include "openpcc/net/client.h"
#include "openpcc/util/result.h"
#include "openpcc/wire/key_config.h"

namespace openpcc::client {

inline constexpr std::string_view kOhttpKeysPath = "/ohttp-keys";
inline constexpr size_t kMaxKeyListBytes = 64 * 1024;

// "scheme://host:port/ohttp-keys" for a relay URL.
Result<std::string> DefaultKeysUrl(std::string_view relay_url);

// GET `keys_url`; 200 with application/ohttp-keys, parsed (unsupported configs skipped). Errors:
// "relay hop: ..." for HTTP failures, "ohttp-keys: ..." for the body.
Result<std::vector<wire::KeyConfig>> FetchServedConfigs(net::BlockingClient& http,
                                                        const std::string& keys_url);

// The first served config offering `suite` (for fetching the directory only).
Result<wire::KeyConfig> ChooseBootstrapConfig(std::span<const wire::KeyConfig> served,
                                              const wire::SymmetricSuite& suite);

// OK if `used` (with `suite`) is one of `logged`; else kUnknownKey naming the key id.
Status ConfirmListed(const wire::KeyConfig& used, const wire::SymmetricSuite& suite,
                     std::span<const wire::KeyConfig> logged);

// The first served config that the directory lists, with `suite`; kUnknownKey if none.
Result<wire::KeyConfig> ChooseListedConfig(std::span<const wire::KeyConfig> served,
                                           const wire::SymmetricSuite& suite,
                                           std::span<const wire::KeyConfig> logged);

}  // namespace openpcc::client
