#include "openpcc/client/key_bootstrap.h"

#include <cctype>

#include "openpcc/client/ohttp_transport.h"
#include "openpcc/net/url.h"

namespace openpcc::client {
namespace {

bool SameKey(const wire::KeyConfig& a, const wire::KeyConfig& b) {
  return a.key_id == b.key_id && a.kem == b.kem && a.public_key == b.public_key;
}

std::string Describe(const wire::KeyConfig& c) {
  const size_t shown = std::min<size_t>(c.public_key.size(), 8);
  return "key_id " + std::to_string(c.key_id) + ", public key " +
         HexEncode(ByteView(c.public_key.data(), shown)) + "...";
}

}  // namespace

Result<std::string> DefaultKeysUrl(std::string_view relay_url) {
  Result<net::Url> url = net::ParseUrl(relay_url);
  if (!url.ok()) return Error(ErrorCode::kInvalidArgument, "relay url: " + url.error().message());
  return url->Origin() + std::string(kOhttpKeysPath);
}

Result<std::vector<wire::KeyConfig>> FetchServedConfigs(net::BlockingClient& http,
                                                        const std::string& keys_url) {
  net::ClientRequest request("GET", keys_url);
  Result<net::ClientResponse> answer = http.Fetch(request, "", kMaxKeyListBytes);
  if (!answer.ok()) return Error(answer.error().code(), "relay hop: " + answer.error().message());
  if (answer->status != 200) return RelayHopError(answer->status, answer->body);
  std::string media = answer->header("content-type").value_or("");
  media = media.substr(0, media.find(';'));
  for (char& c : media) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  if (media != "application/ohttp-keys") {
    return Error(ErrorCode::kMalformed,
                 "ohttp-keys: media type '" + media + "', expected application/ohttp-keys");
  }
  Result<std::vector<wire::KeyConfig>> parsed = wire::ParseKeyConfigList(AsBytes(answer->body));
  if (!parsed.ok()) return Error(parsed.error().code(), "ohttp-keys: " + parsed.error().message());
  return parsed;
}

Result<wire::KeyConfig> ChooseBootstrapConfig(std::span<const wire::KeyConfig> served,
                                              const wire::SymmetricSuite& suite) {
  for (const wire::KeyConfig& c : served) {
    if (c.Supports(suite)) return c;
  }
  return Error(ErrorCode::kUnsupported,
               "ohttp-keys: none of the " + std::to_string(served.size()) +
                   " served configs offers the client's suite");
}

Status ConfirmListed(const wire::KeyConfig& used, const wire::SymmetricSuite& suite,
                     std::span<const wire::KeyConfig> logged) {
  for (const wire::KeyConfig& c : logged) {
    if (SameKey(c, used) && c.Supports(suite)) return OkStatus();
  }
  return Error(ErrorCode::kUnknownKey,
               "key consistency: the gateway's OHTTP config (" + Describe(used) +
                   ") is not listed in the logged directory's " + std::to_string(logged.size()) +
                   " configs; it could single this client out, so the client stops");
}

Result<wire::KeyConfig> ChooseListedConfig(std::span<const wire::KeyConfig> served,
                                           const wire::SymmetricSuite& suite,
                                           std::span<const wire::KeyConfig> logged) {
  for (const wire::KeyConfig& c : served) {
    if (c.Supports(suite) && ConfirmListed(c, suite, logged).ok()) return c;
  }
  return Error(ErrorCode::kUnknownKey,
               "key consistency: none of the " + std::to_string(served.size()) +
                   " served OHTTP configs is listed in the logged directory; the client stops");
}

}  // namespace openpcc::client
