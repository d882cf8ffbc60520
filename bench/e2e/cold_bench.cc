// e2e_cold_bench — mode (d) of the end-to-end benchmark (issue 10): the cold path, the first
// request of a fresh client, with tokens already in its wallet.
//
//   e2e_cold_bench --client-config run/client/client.json --model NAME --work-dir DIR
//                  [--reps 10] [--steady 3] [--max-tokens 16]
//
// Each repetition:
//   1. prepares a fresh state directory under --work-dir: a filler client (the configuration of
//      `openpcc up`, with its own state dir and wallet) bootstraps and fetches one small batch of
//      tokens from the issuer, then the persisted checkpoint is deleted — the wallet file is all
//      that stays, so nothing of the bootstrap is cached (the bundle cache lives in memory);
//   2. times a fresh client over that directory: Create (configuration, policy, wallet), Bootstrap
//      (OHTTP keys through the relay, directory, log entries, checkpoint, trust with every node's
//      evidence), then the first streamed chat request to its first content token. The evidence
//      verification is timed from the trust observer's reports: from "model" (reported just
//      before the nodes' bundles) to the last "bundle";
//   3. sends --steady more requests on the same (now warm) client for the steady TTFT.
// Every repetition gets its own tokens (the filler's batch), so no token is presented twice.
//
// Prints JSON on stdout: per repetition and as median/p99, cold TTFT (Create to first token), its
// parts, the evidence verification time, the steady TTFT and cold − verification − steady.
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <optional>
#include <string>
#include <vector>

#include <boost/json.hpp>

#include "e2e/load.h"
#include "openpcc/client/client.h"
#include "openpcc/util/clock.h"

namespace {

using namespace openpcc;
using namespace openpcc::bench;
namespace fs = std::filesystem;
using Clock = std::chrono::steady_clock;

// Every request's prompt differs from the one before it, so the engine's prompt cache does not
// make the steady requests cheaper than the cold one (they share only the chat template).
std::string Prompt(int request) {
  return "Request " + std::to_string(request) + ": write a short story about a lighthouse keeper and the sea.";
}

const char* kUsage =
    "usage: e2e_cold_bench --client-config FILE --model NAME --work-dir DIR [--reps N] [--steady N]\n"
    "                      [--max-tokens N]\n"
    "Times the first request of a fresh client (bootstrap with evidence verification, then the\n"
    "first token) against a running `openpcc up`, N times, and prints JSON on stdout.\n";

struct Flags {
  std::string client_config;
  std::string work_dir;
  ChatSettings settings;
  int reps = 10;
  int steady = 3;
};

bool ParseFlags(int argc, char** argv, Flags& flags) {
  flags.settings.max_tokens = 16;
  for (int i = 1; i < argc; ++i) {
    const std::string name = argv[i];
    if (name == "--help" || i + 1 >= argc) return false;
    const std::string value = argv[++i];
    if (name == "--client-config") {
      flags.client_config = value;
    } else if (name == "--work-dir") {
      flags.work_dir = value;
    } else if (name == "--model") {
      flags.settings.model = value;
    } else if (name == "--reps") {
      flags.reps = std::atoi(value.c_str());
    } else if (name == "--steady") {
      flags.steady = std::atoi(value.c_str());
    } else if (name == "--max-tokens") {
      flags.settings.max_tokens = static_cast<uint32_t>(std::strtoul(value.c_str(), nullptr, 10));
    } else {
      std::fprintf(stderr, "unknown flag %s\n", name.c_str());
      return false;
    }
  }
  return !flags.client_config.empty() && !flags.work_dir.empty() && !flags.settings.model.empty() &&
         flags.reps >= 1 && flags.steady >= 1 && flags.settings.max_tokens >= 1;
}

double MsBetween(Clock::time_point a, Clock::time_point b) {
  return std::chrono::duration<double, std::milli>(b - a).count();
}

// The proxy's side of a call, reduced to timing: content tokens as they authenticate.
class TimingSink final : public client::AnswerSink {
 public:
  Status OnHead(const client::InnerResponseHead& head) override {
    if (head.status != 200) return Error(ErrorCode::kFailedPrecondition, "engine answered HTTP " + std::to_string(head.status));
    return OkStatus();
  }
  Status OnContent(ByteView piece) override {
    return parser_.Feed(std::string_view(reinterpret_cast<const char*>(piece.data()), piece.size()), Clock::now());
  }
  const ChatStreamParser& parser() const { return parser_; }

 private:
  ChatStreamParser parser_;
};

// One streamed chat call; the first content token's arrival.
Result<Clock::time_point> FirstToken(client::Client& c, const std::string& prompt, const ChatSettings& settings,
                                     client::CallTiming* timing) {
  TimingSink sink;
  OPENPCC_ASSIGN_OR_RETURN(client::VerificationReport report, c.Chat(ChatBody(prompt, settings), sink));
  if (sink.parser().token_times().empty()) return Error(ErrorCode::kIncomplete, "the answer had no content token");
  if (timing != nullptr) *timing = report.timing;
  return sink.parser().token_times().front();
}

client::ClientConfig RepConfig(const client::ClientConfig& base, const fs::path& dir) {
  client::ClientConfig c = base;
  c.state_dir = dir / "state";
  c.wallet = c.state_dir / "wallet";
  c.token_batch_size = 8;  // above the wallet's refill threshold: the timed client never refills
  c.empty_refill_delay = std::chrono::seconds(0);
  return c;
}

// Step 1: a state directory whose wallet holds tokens and nothing else.
Status Prepare(const client::ClientConfig& config, const std::string& model) {
  {
    OPENPCC_ASSIGN_OR_RETURN(auto filler, client::Client::Create(config, SystemClock::Instance()));
    OPENPCC_ASSIGN_OR_RETURN(client::TrustedDirectory directory, filler->Bootstrap(model));
    (void)directory;
    OPENPCC_ASSIGN_OR_RETURN(size_t added, filler->TickWallet());
    (void)added;
    if (filler->tokens() == 0) return Error(ErrorCode::kFailedPrecondition, "the filler client got no tokens");
  }
  std::error_code ec;
  fs::remove_all(config.state_dir / "checkpoints", ec);
  if (ec) return Error(ErrorCode::kFailedPrecondition, "removing the persisted checkpoint: " + ec.message());
  return OkStatus();
}

struct Rep {
  double create_ms = 0, bootstrap_ms = 0, fetch_ms = 0, evidence_ms = 0, first_call_ttft_ms = 0;
  double cold_ttft_ms = 0, steady_ttft_ms = 0;
  client::CallTiming first_call;
};

Result<Rep> RunRep(const client::ClientConfig& config, const Flags& flags, int rep) {
  Rep r;
  int request = rep * (flags.steady + 1);
  const Clock::time_point t0 = Clock::now();
  OPENPCC_ASSIGN_OR_RETURN(auto c, client::Client::Create(config, SystemClock::Instance()));
  const Clock::time_point created = Clock::now();
  std::optional<Clock::time_point> first_check, model_check, last_bundle;
  client::TrustObserver observer = [&](std::string_view check, std::string_view) {
    const Clock::time_point now = Clock::now();
    if (!first_check) first_check = now;
    if (check == "model") model_check = now;
    if (check == "bundle") last_bundle = now;
  };
  OPENPCC_ASSIGN_OR_RETURN(client::TrustedDirectory directory, c->Bootstrap(flags.settings.model, &observer));
  (void)directory;
  const Clock::time_point bootstrapped = Clock::now();
  if (!first_check || !model_check || !last_bundle) {
    return Error(ErrorCode::kInternal, "the trust observer did not report the model and bundle checks");
  }
  const Clock::time_point call_start = Clock::now();
  OPENPCC_ASSIGN_OR_RETURN(Clock::time_point first, FirstToken(*c, Prompt(request++), flags.settings, &r.first_call));
  r.create_ms = MsBetween(t0, created);
  r.bootstrap_ms = MsBetween(created, bootstrapped);
  r.fetch_ms = MsBetween(created, *first_check);
  r.evidence_ms = MsBetween(*model_check, *last_bundle);
  r.first_call_ttft_ms = MsBetween(call_start, first);
  r.cold_ttft_ms = MsBetween(t0, first);
  std::vector<double> steady;
  for (int i = 0; i < flags.steady; ++i) {
    const Clock::time_point start = Clock::now();
    OPENPCC_ASSIGN_OR_RETURN(Clock::time_point token, FirstToken(*c, Prompt(request++), flags.settings, nullptr));
    steady.push_back(MsBetween(start, token));
  }
  r.steady_ttft_ms = Percentile(steady, 50);
  return r;
}

boost::json::object Stats(const std::vector<double>& values) {
  return boost::json::object{{"median", Percentile(values, 50)}, {"p99", Percentile(values, 99)}};
}

}  // namespace

int main(int argc, char** argv) {
  Flags flags;
  if (!ParseFlags(argc, argv, flags)) {
    std::fputs(kUsage, stderr);
    return 2;
  }
  auto base = client::ClientConfig::Load(flags.client_config);
  if (!base.ok()) {
    std::fprintf(stderr, "%s\n", base.error().ToString().c_str());
    return 1;
  }
  boost::json::array reps;
  std::vector<double> cold, evidence, bootstrap, steady, excess, create, fetch, first_call;
  for (int i = 0; i < flags.reps; ++i) {
    const fs::path dir = fs::path(flags.work_dir) / ("rep-" + std::to_string(i));
    std::error_code ec;
    fs::remove_all(dir, ec);
    const client::ClientConfig config = RepConfig(*base, dir);
    Status prepared = Prepare(config, flags.settings.model);
    if (!prepared.ok()) {
      std::fprintf(stderr, "rep %d: preparing: %s\n", i, prepared.error().ToString().c_str());
      return 1;
    }
    auto rep = RunRep(config, flags, i);
    fs::remove_all(dir, ec);
    if (!rep.ok()) {
      std::fprintf(stderr, "rep %d: %s\n", i, rep.error().ToString().c_str());
      return 1;
    }
    const double over = rep->cold_ttft_ms - rep->evidence_ms - rep->steady_ttft_ms;
    cold.push_back(rep->cold_ttft_ms);
    evidence.push_back(rep->evidence_ms);
    bootstrap.push_back(rep->bootstrap_ms);
    steady.push_back(rep->steady_ttft_ms);
    excess.push_back(over);
    create.push_back(rep->create_ms);
    fetch.push_back(rep->fetch_ms);
    first_call.push_back(rep->first_call_ttft_ms);
    const client::CallTiming& t = rep->first_call;
    reps.push_back(boost::json::object{
        {"cold_ttft_ms", rep->cold_ttft_ms}, {"create_ms", rep->create_ms}, {"bootstrap_ms", rep->bootstrap_ms},
        {"keys_directory_entries_ms", rep->fetch_ms}, {"evidence_ms", rep->evidence_ms},
        {"first_call_ttft_ms", rep->first_call_ttft_ms}, {"first_call_wallet_ms", static_cast<double>(t.wallet.count()) / 1000.0},
        {"steady_ttft_ms", rep->steady_ttft_ms}, {"cold_minus_evidence_minus_steady_ms", over}});
  }
  boost::json::object out{{"model", flags.settings.model},
                          {"reps", std::move(reps)},
                          {"cold_ttft_ms", Stats(cold)},
                          {"create_ms", Stats(create)},
                          {"bootstrap_ms", Stats(bootstrap)},
                          {"keys_directory_entries_ms", Stats(fetch)},
                          {"evidence_ms", Stats(evidence)},
                          {"first_call_ttft_ms", Stats(first_call)},
                          {"steady_ttft_ms", Stats(steady)},
                          {"cold_minus_evidence_minus_steady_ms", Stats(excess)}};
  std::printf("%s\n", boost::json::serialize(out).c_str());
  return 0;
}
