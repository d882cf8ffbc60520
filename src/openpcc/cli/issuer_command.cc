// `openpcc issuer`: the Privacy Pass issuer process (services/issuer), and `openpcc issuer admin`:
// accounts, API keys and quotas in the same SQLite state, safe while the server runs (SQLite WAL
// with a busy timeout serialises the writers).
#include <signal.h>

#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <mutex>
#include <string>

#include <boost/json.hpp>

#include "openpcc/cli/cli_util.h"
#include "openpcc/cli/commands.h"
#include "openpcc/cli/options.h"
#include "openpcc/cli/service_flags.h"
#include "openpcc/net/url.h"
#include "openpcc/services/issuer/issuer_service.h"
#include "openpcc/services/process.h"
#include "openpcc/tokens/account_store.h"

namespace openpcc::cli {
namespace {

constexpr std::string_view kCommand = "issuer";

std::string DefaultStateDir() {
  const char* xdg = std::getenv("XDG_STATE_HOME");
  if (xdg != nullptr && *xdg != '\0') return std::string(xdg) + "/openpcc/issuer";
  const char* home = std::getenv("HOME");
  return std::string(home != nullptr ? home : ".") + "/.local/state/openpcc/issuer";
}

// TEST ONLY (--testing-clock-file): the time is the integer number of seconds since the epoch in a
// file, re-read on every call, so process-level tests move the issuer's clock (quota windows, key
// rotation) without waiting. A read that fails keeps the last time read.
class FileClock final : public Clock {
 public:
  static Result<std::unique_ptr<FileClock>> Open(std::string path) {
    std::unique_ptr<FileClock> clock(new FileClock(std::move(path)));
    if (!clock->Read()) {
      return Error(ErrorCode::kInvalidArgument,
                   "--testing-clock-file: cannot read seconds since the epoch from " + clock->path_);
    }
    return clock;
  }
  SysTime Now() const override {
    Read();
    std::lock_guard lock(mu_);
    return last_;
  }

 private:
  explicit FileClock(std::string path) : path_(std::move(path)) {}
  bool Read() const {
    std::ifstream in(path_);
    long long seconds = 0;
    if (!(in >> seconds) || seconds < 0) return false;
    std::lock_guard lock(mu_);
    last_ = SysTime(std::chrono::seconds(seconds));
    return true;
  }

  const std::string path_;
  mutable std::mutex mu_;
  mutable SysTime last_{};
};

constexpr char kExampleConfig[] = R"(Example config (openpcc issuer --config issuer.conf):

  listen = 127.0.0.1:7300
  state-dir = /var/lib/openpcc/issuer
  public-url = https://issuer.example.net
  issuer-name = issuer.example.net
  origin-info = openpcc
  rotation-period = 7d        # each token key issues this long
  rotation-lead = 1d          # the next key appears this long before the current one stops
  redeem-grace = 2d           # tokens stay redeemable this long after their key stops issuing
  max-batch = 256
  tls-cert = /etc/openpcc/issuer.crt
  tls-key = /etc/openpcc/issuer.key

Accounts and API keys: 'openpcc issuer admin --help'. Beyond loopback the issuer needs TLS: API
keys travel only inside TLS.
)";

int Serve(const Args& args) {
  ServiceFlags flags;
  services::IssuerServiceConfig config;
  config.state_dir = DefaultStateDir();
  std::string public_url;
  std::string clock_file;
  int64_t max_batch = static_cast<int64_t>(config.max_batch);
  int64_t workers = static_cast<int64_t>(config.workers);
  std::chrono::milliseconds period = config.rotation.issue_period;
  std::chrono::milliseconds grace = config.rotation.redeem_grace;
  std::chrono::milliseconds lead = config.rotation.lead_time;
  std::chrono::milliseconds check = config.rotation_check;
  std::chrono::milliseconds max_age = config.directory_max_age;
  OptionSet options(
      "issuer [options] | issuer admin COMMAND ...",
      "The Privacy Pass issuer (RFC 9578 type 2, blind RSA): serves the issuer directory at\n"
      "/.well-known/private-token-issuer-directory and signs blinded token requests at\n"
      "POST /token-request for accounts that present an API key (Authorization: Bearer), within\n"
      "their hourly and daily quotas. Token keys rotate with overlapping validity (at most two\n"
      "valid at once) and are kept in STATE-DIR/token-keys (0600 files); accounts, hashed API\n"
      "keys and usage in STATE-DIR/issuer.db.");
  AddServiceFlags(options, flags, "127.0.0.1:7300");
  options.AddString("state-dir", &config.state_dir,
                    "Directory of the issuer's database and token keys (created 0700).", "DIR");
  options.AddString("public-url", &public_url,
                    "The origin clients use (https://issuer.example); the directory's "
                    "issuer-request-uri is its /token-request. Default: the listening address.",
                    "URL");
  options.AddString("issuer-name", &config.issuer_name,
                    "issuer_name of the fixed TokenChallenge. Default: the host of --public-url, "
                    "else of --listen.",
                    "NAME");
  options.AddString("origin-info", &config.origin_info,
                    "origin_info of the fixed TokenChallenge: the one logical name of the service.",
                    "NAME");
  options.AddDuration("rotation-period", &period, "How long each token key issues.");
  options.AddDuration("rotation-lead", &lead,
                      "How long before a key stops issuing its successor is created and listed.");
  options.AddDuration("redeem-grace", &grace,
                      "How long tokens stay redeemable after their key stops issuing.");
  options.AddDuration("rotation-check", &check, "How often the rotation schedule is checked.");
  options.AddDuration("directory-max-age", &max_age,
                      "Cache-Control max-age of the directory (keep it well below rotation-lead).");
  options.AddInt("max-batch", &max_batch, "Most token requests in one batch.", 1, 1024);
  options.AddInt("workers", &workers, "Threads that sign tokens and charge quotas.", 1, 64);
  options.AddString("testing-clock-file", &clock_file,
                    "TEST ONLY: read the current time (seconds since the epoch) from FILE on "
                    "every use, instead of the system clock.",
                    "FILE");
  options.AddNotes(kExampleConfig);
  if (std::optional<int> exit_status = ParseOrExitStatus(options, args, kCommand)) return *exit_status;

  Result<net::ServerOptions> server_options = ToServerOptions(flags, kCommand);
  if (!server_options.ok()) {
    PrintError(kCommand, server_options.error());
    return kExitUsage;
  }
  const std::string host = server_options->address;
  if (!net::IsLoopbackHost(host) && !server_options->tls &&
      !server_options->allow_insecure_non_loopback) {
    PrintError(kCommand, "--listen " + flags.listen +
                             " is not a loopback address: API keys travel only inside TLS, so "
                             "give --tls-cert and --tls-key (or --insecure-non-loopback behind a "
                             "TLS terminator)");
    return kExitUsage;
  }
  std::string origin;
  std::string default_name = host;
  if (!public_url.empty()) {
    Result<net::Url> url = net::ParseUrl(public_url);
    if (!url.ok() || url->target != "/") {
      PrintError(kCommand, "--public-url: expected an origin such as https://issuer.example, got '" +
                               public_url + "'");
      return kExitUsage;
    }
    origin = public_url;
    while (!origin.empty() && origin.back() == '/') origin.pop_back();
    default_name = url->host;
  } else if (host == "0.0.0.0" || host == "::") {
    PrintError(kCommand, "--public-url is required when listening on a wildcard address");
    return kExitUsage;
  }
  if (config.issuer_name.empty()) config.issuer_name = default_name;
  // Every thread started from here on (server, workers, rotation) inherits a mask that blocks
  // SIGTERM and SIGINT, so only ServeUntilSignal's sigwait receives them; otherwise the kernel may
  // deliver one to a thread that does not block it, and its default action kills the process
  // without a graceful stop.
  services::BlockStopSignals();
  using std::chrono::duration_cast;
  using std::chrono::seconds;
  config.rotation.issue_period = duration_cast<seconds>(period);
  config.rotation.redeem_grace = duration_cast<seconds>(grace);
  config.rotation.lead_time = duration_cast<seconds>(lead);
  config.rotation_check = check;
  config.directory_max_age = duration_cast<seconds>(max_age);
  config.max_batch = static_cast<size_t>(max_batch);
  config.workers = static_cast<size_t>(workers);

  std::unique_ptr<FileClock> file_clock;
  const Clock* clock = &SystemClock::Instance();
  if (!clock_file.empty()) {
    Result<std::unique_ptr<FileClock>> opened = FileClock::Open(clock_file);
    if (!opened.ok()) {
      PrintError(kCommand, opened.error());
      return kExitUsage;
    }
    file_clock = std::move(opened).value();
    clock = file_clock.get();
  }

  Result<std::unique_ptr<services::IssuerService>> service =
      services::IssuerService::Create(config, *clock);
  if (!service.ok()) {
    PrintError(kCommand, service.error());
    return kExitFailure;
  }
  const bool tls = server_options->tls.has_value();
  Result<std::unique_ptr<net::Server>> server =
      net::Server::Start(*server_options, (*service)->Routes());
  if (!server.ok()) {
    PrintError(kCommand, server.error());
    return kExitFailure;
  }
  if (origin.empty()) {
    const std::string shown = host.find(':') != std::string::npos ? "[" + host + "]" : host;
    origin = std::string(tls ? "https" : "http") + "://" + shown + ":" +
             std::to_string((*server)->port());
  }
  (*service)->SetPublicOrigin(origin);
  (*service)->StartRotation();
  const int status = services::ServeUntilSignal(**server, ToProcessOptions(flags, "issuer"),
                                                [&] { (*service)->Stop(); });
  return status == 0 ? kExitOk : kExitFailure;
}

// ---- admin ----

struct AdminContext {
  std::string state_dir = DefaultStateDir();
};

Result<std::unique_ptr<tokens::AccountStore>> OpenStore(const AdminContext& ctx) {
  std::error_code ec;
  std::filesystem::create_directories(ctx.state_dir, ec);
  return tokens::AccountStore::Open((std::filesystem::path(ctx.state_dir) / "issuer.db").string());
}

Result<tokens::AccountId> FindAccount(tokens::AccountStore& store, const std::string& name) {
  OPENPCC_ASSIGN_OR_RETURN(std::vector<tokens::AccountInfo> accounts, store.ListAccounts());
  for (const tokens::AccountInfo& a : accounts) {
    if (a.name == name) return a.id;
  }
  return Error(ErrorCode::kInvalidArgument, "no account named '" + name + "'");
}

int Fail(std::string_view what, const Error& error) {
  PrintError(std::string(kCommand) + " admin " + std::string(what), error);
  return kExitFailure;
}

int Admin(const Args& args) {
  static constexpr char kAdminUsage[] =
      "Usage: openpcc issuer admin COMMAND [--state-dir DIR] ...\n\n"
      "Commands (each operates on STATE-DIR/issuer.db, safe while the issuer runs):\n"
      "  create-account NAME [--per-hour N --per-day N]   a new account with token quotas\n"
      "  create-key ACCOUNT      a new API key for ACCOUNT, printed once on stdout\n"
      "  revoke-key KEY_ID       revoke an API key at once (KEY_ID as 'list' shows it)\n"
      "  set-quota ACCOUNT --per-hour N --per-day N\n"
      "  list                    accounts, quotas and API key ids as JSON (never the keys)\n";
  if (args.empty() || args[0] == "--help" || args[0] == "-h") {
    std::printf("%s", kAdminUsage);
    return args.empty() ? kExitUsage : kExitOk;
  }
  const std::string sub = args[0];
  const Args rest(args.begin() + 1, args.end());
  AdminContext ctx;
  std::string name;
  int64_t per_hour = 100;
  int64_t per_day = 1000;
  OptionSet options("issuer admin " + sub + " [options]", "See 'openpcc issuer admin --help'.");
  options.DisableConfigFile();
  options.AddString("state-dir", &ctx.state_dir, "The issuer's state directory.", "DIR");
  if (sub == "create-account") {
    options.AddPositional("NAME", &name, "Account name (1..64 printable ASCII characters).", true);
    options.AddInt("per-hour", &per_hour, "Tokens per clock hour.", 0, UINT32_MAX);
    options.AddInt("per-day", &per_day, "Tokens per UTC day.", 0, UINT32_MAX);
  } else if (sub == "create-key" || sub == "set-quota") {
    options.AddPositional("ACCOUNT", &name, "Account name.", true);
    if (sub == "set-quota") {
      per_hour = -1;
      per_day = -1;
      options.AddInt("per-hour", &per_hour, "Tokens per clock hour.", 0, UINT32_MAX);
      options.AddInt("per-day", &per_day, "Tokens per UTC day.", 0, UINT32_MAX);
    }
  } else if (sub == "revoke-key") {
    options.AddPositional("KEY_ID", &name, "The API key's id (16 hex characters).", true);
  } else if (sub != "list") {
    PrintError(std::string(kCommand) + " admin",
               "unknown command '" + sub +
                   "' (expected create-account, create-key, revoke-key, set-quota or list)");
    return kExitUsage;
  }
  Result<OptionSet::Outcome> parsed = options.Parse(rest);
  if (!parsed.ok()) {
    PrintError(std::string(kCommand) + " admin " + sub, parsed.error());
    return kExitUsage;
  }
  if (parsed.value() == OptionSet::Outcome::kHelpShown) return kExitOk;
  Result<std::unique_ptr<tokens::AccountStore>> store = OpenStore(ctx);
  if (!store.ok()) return Fail(sub, store.error());
  tokens::AccountStore& s = **store;
  // Administrative commands read the wall clock: creation and revocation times.
  const std::chrono::sys_seconds now = SystemClock::Instance().NowSeconds();

  if (sub == "create-account") {
    Result<tokens::AccountId> id = s.CreateAccount(name, static_cast<uint32_t>(per_hour),
                                                   static_cast<uint32_t>(per_day), now);
    if (!id.ok()) return Fail(sub, id.error());
    std::printf("created account '%s' (id %lld): %lld tokens per hour, %lld per day\n",
                name.c_str(), static_cast<long long>(*id), static_cast<long long>(per_hour),
                static_cast<long long>(per_day));
    return kExitOk;
  }
  if (sub == "create-key") {
    Result<tokens::AccountId> id = FindAccount(s, name);
    if (!id.ok()) return Fail(sub, id.error());
    Result<tokens::NewApiKey> key = s.CreateApiKey(*id, now);
    if (!key.ok()) return Fail(sub, key.error());
    std::fprintf(stderr, "API key %s for account '%s' (shown once; the issuer keeps only its hash):\n",
                 key->key_id.c_str(), name.c_str());
    std::fwrite(key->api_key.data(), 1, key->api_key.size(), stdout);
    std::fputc('\n', stdout);
    return kExitOk;
  }
  if (sub == "revoke-key") {
    Status revoked = s.RevokeApiKey(name, now);
    if (!revoked.ok()) return Fail(sub, revoked.error());
    std::printf("revoked API key %s\n", name.c_str());
    return kExitOk;
  }
  if (sub == "set-quota") {
    if (per_hour < 0 || per_day < 0) {
      PrintError(std::string(kCommand) + " admin set-quota", "--per-hour and --per-day are required");
      return kExitUsage;
    }
    Result<tokens::AccountId> id = FindAccount(s, name);
    if (!id.ok()) return Fail(sub, id.error());
    Status set = s.SetQuotas(*id, static_cast<uint32_t>(per_hour), static_cast<uint32_t>(per_day));
    if (!set.ok()) return Fail(sub, set.error());
    std::printf("account '%s': %lld tokens per hour, %lld per day\n", name.c_str(),
                static_cast<long long>(per_hour), static_cast<long long>(per_day));
    return kExitOk;
  }
  // list
  Result<std::vector<tokens::AccountInfo>> accounts = s.ListAccounts();
  if (!accounts.ok()) return Fail(sub, accounts.error());
  boost::json::array out;
  for (const tokens::AccountInfo& a : *accounts) {
    boost::json::array keys;
    for (const tokens::ApiKeyInfo& k : a.keys) {
      boost::json::object key{{"key_id", k.key_id},
                              {"created_at", k.created_at.time_since_epoch().count()}};
      if (k.revoked_at) key["revoked_at"] = k.revoked_at->time_since_epoch().count();
      keys.push_back(std::move(key));
    }
    out.push_back(boost::json::object{{"id", a.id},
                                      {"name", a.name},
                                      {"per_hour", a.hourly_quota},
                                      {"per_day", a.daily_quota},
                                      {"created_at", a.created_at.time_since_epoch().count()},
                                      {"api_keys", std::move(keys)}});
  }
  std::printf("%s", PrettyJson(boost::json::object{{"accounts", std::move(out)}}).c_str());
  return kExitOk;
}

}  // namespace

int RunIssuer(const Args& args) {
  if (!args.empty() && args[0] == "admin") return Admin(Args(args.begin() + 1, args.end()));
  return Serve(args);
}

}  // namespace openpcc::cli
