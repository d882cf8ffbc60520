// `openpcc relay`: the Oblivious HTTP relay process (services/relay).
#include <cstdint>
#include <memory>
#include <string>

#include "openpcc/cli/cli_util.h"
#include "openpcc/cli/commands.h"
#include "openpcc/cli/options.h"
#include "openpcc/cli/service_flags.h"
#include "openpcc/services/process.h"
#include "openpcc/services/relay/relay_service.h"
#include "openpcc/util/log.h"

namespace openpcc::cli {
namespace {

constexpr std::string_view kCommand = "relay";

constexpr char kExampleConfig[] = R"(Example config (openpcc relay --config relay.conf):

  listen = 0.0.0.0:7100
  tls-cert = /etc/openpcc/relay.crt
  tls-key = /etc/openpcc/relay.key
  gateway = https://gateway.example.net/gateway
  gateway-ca = /etc/openpcc/gateway-ca.pem
  max-body-bytes = 1048576     # one OHTTP request (a sealed request is at most 1 MiB)
  max-response-bytes = 67108864
  max-streams = 256
  request-timeout = 5m

Clients POST message/ohttp-req or message/ohttp-chunked-req to any path of the relay and fetch
the gateway's key configurations at GET /ohttp-keys. Aggregate counters: GET /metrics.
)";

}  // namespace

int RunRelay(const Args& args) {
  ServiceFlags flags;
  services::RelayConfig config;
  std::chrono::milliseconds connect_timeout = config.connect_timeout;
  int64_t max_response = static_cast<int64_t>(config.max_response_bytes);
  int64_t max_idle = static_cast<int64_t>(config.max_idle_connections);
  OptionSet options(
      "relay [options]",
      "The Oblivious HTTP relay (RFC 9458): forwards OHTTP requests (message/ohttp-req,\n"
      "message/ohttp-chunked-req) to one gateway, streaming both directions, and passes on no\n"
      "client header but Content-Type and Incremental. It sees the client's address and the\n"
      "sizes and timing of opaque messages; it logs no request and keeps only aggregate\n"
      "counters (GET /metrics). GET /ohttp-keys passes the gateway's key configurations on.");
  AddServiceFlags(options, flags, "127.0.0.1:7100");
  options.AddString("gateway", &config.gateway_url,
                    "The gateway's OHTTP endpoint; https unless the gateway is on loopback.", "URL");
  options.AddString("gateway-keys", &config.keys_url,
                    "Where GET /ohttp-keys is fetched. Default: the gateway's origin + /ohttp-keys.",
                    "URL");
  options.AddString("gateway-ca", &config.gateway_ca_file,
                    "PEM CA bundle that verifies an https gateway (default: the system store).",
                    "FILE");
  options.AddDuration("gateway-connect-timeout", &connect_timeout,
                      "Connecting to the gateway (TCP and TLS) must finish within this.");
  options.AddInt("max-response-bytes", &max_response,
                 "A gateway response larger than this is cut (the client sees a truncated stream).",
                 1, INT64_MAX);
  options.AddInt("gateway-pool", &max_idle, "Idle connections kept open to the gateway.", 0, 4096);
  options.AddNotes(kExampleConfig);
  if (std::optional<int> exit_status = ParseOrExitStatus(options, args, kCommand)) return *exit_status;

  Result<net::ServerOptions> server_options = ToServerOptions(flags, kCommand);
  if (!server_options.ok()) {
    PrintError(kCommand, server_options.error());
    return kExitUsage;
  }
  config.connect_timeout = connect_timeout;
  config.idle_timeout = flags.idle_timeout;
  config.total_timeout = flags.request_timeout;
  config.max_response_bytes = static_cast<uint64_t>(max_response);
  config.max_idle_connections = static_cast<size_t>(max_idle);
  Result<std::unique_ptr<services::RelayService>> service = services::RelayService::Create(config);
  if (!service.ok()) {
    PrintError(kCommand, service.error());
    return kExitUsage;
  }
  // No access log: a line per request (even without an address) would be a record of when each
  // client's message passed; the relay keeps counters only.
  server_options->access_log = (*service)->AccessCounter();
  Result<std::unique_ptr<net::Server>> server =
      net::Server::Start(*server_options, (*service)->Routes());
  if (!server.ok()) {
    PrintError(kCommand, server.error());
    return kExitFailure;
  }
  Status attached = (*service)->Attach((*server)->executor());
  if (!attached.ok()) {
    PrintError(kCommand, attached.error());
    return kExitFailure;
  }
  LogInfo(kCommand, "relaying", {{"gateway", (*service)->gateway().Origin()}});
  const int status = services::ServeUntilSignal(**server, ToProcessOptions(flags, "relay"));
  (*service)->Detach();  // pooled gateway connections close before the server's io_context goes
  return status == 0 ? kExitOk : kExitFailure;
}

}  // namespace openpcc::cli
