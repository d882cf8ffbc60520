// `openpcc proxy`: the local OpenAI-compatible server (services/proxy) over the client library.
#include <atomic>
#include <cstdint>
#include <chrono>
#include <condition_variable>
#include <memory>
#include <mutex>
#include <string>
#include <thread>

#include "openpcc/cli/cli_util.h"
#include "openpcc/cli/client_cli.h"
#include "openpcc/cli/commands.h"
#include "openpcc/cli/options.h"
#include "openpcc/cli/service_flags.h"
#include "openpcc/services/process.h"
#include "openpcc/services/proxy/proxy_service.h"
#include "openpcc/util/log.h"

namespace openpcc::cli {
namespace {

constexpr std::string_view kCommand = "proxy";

constexpr char kNotes[] = R"(Point any OpenAI SDK at it:

  OPENAI_BASE_URL=http://127.0.0.1:7600/v1 OPENAI_API_KEY=unused node app.mjs
  curl http://127.0.0.1:7600/v1/chat/completions -H 'content-type: application/json' \
       -d '{"model":"tiny-llama","messages":[{"role":"user","content":"hello"}],"stream":true}'

Every answer carries OpenPCC-Node-Platform, -Measurement, -Release, -Log-Index, -Freshness
headers; GET /v1/openpcc/verification shows how the last answering node was verified.
The proxy listens on loopback only and refuses requests that carry an Origin header.
)";

bool IsLoopback(const std::string& address) {
  return address == "127.0.0.1" || address == "::1" || address == "localhost" || address.starts_with("127.");
}

// Keeps the directory and the wallet warm: bootstraps the gateway's first model (so the wallet
// knows the logged token keys) and runs the wallet's scheduled refills.
class Warmer {
 public:
  explicit Warmer(client::Client& c) : client_(c), thread_([this] { Run(); }) {}
  ~Warmer() {
    {
      std::lock_guard lock(mu_);
      stop_ = true;
    }
    cv_.notify_all();
    thread_.join();
  }

 private:
  void Run() {
    bool ready = false;
    std::unique_lock lock(mu_);
    while (!stop_) {
      lock.unlock();
      if (!ready) {
        auto models = client_.Models();
        auto model = models.ok() ? FirstModel(*models) : Result<std::string>(models.error());
        auto trusted = model.ok() ? client_.Bootstrap(*model) : Result<client::TrustedDirectory>(model.error());
        if (trusted.ok()) {
          ready = true;
          LogInfo(kCommand, "directory verified",
                  {{"model", trusted->model}, {"nodes", std::to_string(trusted->nodes.size())},
                   {"epoch", std::to_string(trusted->directory.epoch)}});
        } else {
          LogWarning(kCommand, "bootstrap failed; retrying", {{"error", trusted.error().message()}});
        }
      }
      if (ready) TickWalletAndLog(client_, kCommand);
      lock.lock();
      cv_.wait_for(lock, ready ? std::chrono::seconds(2) : std::chrono::seconds(10), [this] { return stop_; });
    }
  }

  client::Client& client_;
  std::mutex mu_;
  std::condition_variable cv_;
  bool stop_ = false;
  std::thread thread_;
};

}  // namespace

int RunProxy(const Args& args) {
  ServiceFlags flags;
  std::string config_path = DefaultClientConfigPath();
  int64_t workers = 32;
  int64_t testing_start_time = 0;
  OptionSet options(
      "proxy [options]",
      "A local OpenAI-compatible server (POST /v1/chat/completions, POST /v1/completions, with\n"
      "and without stream; GET /v1/models). Every request is sealed end to end to nodes whose\n"
      "evidence the client verified, sent through the Oblivious HTTP relay, and paid with an\n"
      "anonymous token; the answer streams back as the node produced it.");
  AddServiceFlags(options, flags, "127.0.0.1:7600");
  options.AddString("client-config", &config_path,
                    "The client configuration (default $OPENPCC_CLIENT_CONFIG, else "
                    "~/.config/openpcc/client.json, else the one a running `openpcc up` wrote).",
                    "FILE");
  options.AddInt("workers", &workers, "Requests served at once (each a thread blocked in its call); more wait for a free one.", 1, 256);
  options.AddInt("testing-start-time", &testing_start_time,
                 "TEST ONLY: the clock starts at these seconds since the epoch (0: the system clock).", 0,
                 INT64_MAX);
  options.AddNotes(kNotes);
  if (std::optional<int> exit_status = ParseOrExitStatus(options, args, kCommand)) return *exit_status;
  Result<net::ServerOptions> server_options = ToServerOptions(flags, kCommand);
  if (!server_options.ok()) {
    PrintError(kCommand, server_options.error());
    return kExitUsage;
  }
  if (!IsLoopback(server_options->address)) {
    PrintError(kCommand, "--listen: the proxy serves this machine only; use a loopback address");
    return kExitUsage;
  }
  static const SystemClock system_clock;
  static const OffsetClock testing_clock{std::chrono::sys_seconds(std::chrono::seconds(testing_start_time))};
  const Clock& clock = testing_start_time > 0 ? static_cast<const Clock&>(testing_clock) : system_clock;
  if (testing_start_time > 0) LogWarning(kCommand, "TEST ONLY clock in use", {{"start", std::to_string(testing_start_time)}});
  Result<std::unique_ptr<client::Client>> c = OpenClient(config_path, clock);
  if (!c.ok()) {
    PrintError(kCommand, c.error());
    return kExitUsage;
  }
  services::ProxyConfig config;
  config.workers = static_cast<size_t>(workers);
  config.max_request_bytes = static_cast<size_t>(flags.max_body_bytes);
  services::ProxyService service(**c, config);
  Result<std::unique_ptr<net::Server>> server = net::Server::Start(*server_options, service.Routes());
  if (!server.ok()) {
    PrintError(kCommand, server.error());
    return kExitFailure;
  }
  int status = 0;
  {
    Warmer warmer(**c);
    LogInfo(kCommand, "serving", {{"config", config_path}});
    status = services::ServeUntilSignal(**server, ToProcessOptions(flags, "proxy"));
  }
  service.Stop();
  return status == 0 ? kExitOk : kExitFailure;
}

}  // namespace openpcc::cli
