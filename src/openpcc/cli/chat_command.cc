// `openpcc chat`: one-shot (`openpcc chat "prompt"`) and interactive chat through the
// confidential path, streaming to the terminal. Exits non-zero when an answer is refused or
// truncated (the final sealed chunk did not authenticate). Interactive mode ends at EOF or
// `/exit`; a truncated answer ends it at once (status 1): the conversation cannot go on from an
// answer whose end did not authenticate, and a script reading the transcript must not take a cut
// answer for a whole one. Tokens are never fetched for a prompt (see PrepareWallet and
// client/client.h).
#include <chrono>
#include <cstdint>
#include <cstdio>
#include <iostream>
#include <memory>
#include <string>
#include <thread>
#include <vector>

#include <boost/json.hpp>

#include "openpcc/cli/cli_util.h"
#include "openpcc/cli/client_cli.h"
#include "openpcc/cli/commands.h"
#include "openpcc/cli/options.h"
#include "openpcc/net/sse.h"
#include "openpcc/util/log.h"

namespace openpcc::cli {
namespace {

namespace json = boost::json;
constexpr std::string_view kCommand = "chat";

// Prints the streamed deltas as they authenticate and keeps the whole reply.
class TerminalSink final : public client::AnswerSink {
 public:
  explicit TerminalSink(bool verbose) : verbose_(verbose) {}
  Status OnVerified(const client::VerificationReport& r) override {
    if (verbose_) {
      std::fprintf(stderr, "  answering node %s: %s%s, release %s (log index %llu)\n",
                   HexEncode(ByteView(r.node_id).first(8)).c_str(), r.platform.c_str(),
                   r.simulated ? " (simulated)" : "", r.release_version.c_str(),
                   static_cast<unsigned long long>(r.release_log_index));
    }
    return OkStatus();
  }
  Status OnHead(const client::InnerResponseHead& head) override {
    status_ = head.status;
    return OkStatus();
  }
  Status OnContent(ByteView piece) override {
    if (status_ != 200) {
      error_body_.append(AsChars(piece).substr(0, 4096 - std::min<size_t>(4096, error_body_.size())));
      return OkStatus();
    }
    std::vector<net::SseEvent> events;
    OPENPCC_RETURN_IF_ERROR(decoder_.Feed(AsChars(piece), events));
    for (const net::SseEvent& e : events) {
      if (!e.event.empty() || e.data == "[DONE]") continue;
      auto parsed = json::parse(e.data, ec_);
      if (ec_ || !parsed.is_object()) continue;
      const json::value* choices = parsed.as_object().if_contains("choices");
      if (choices == nullptr || !choices->is_array() || choices->as_array().empty()) continue;
      const json::value& choice = choices->as_array().front();
      const json::value* delta = choice.is_object() ? choice.as_object().if_contains("delta") : nullptr;
      const json::value* content = delta != nullptr && delta->is_object() ? delta->as_object().if_contains("content") : nullptr;
      if (content == nullptr) content = choice.is_object() ? choice.as_object().if_contains("text") : nullptr;
      if (content == nullptr || !content->is_string()) continue;
      const std::string_view text = content->as_string();
      reply_.append(text);
      std::fwrite(text.data(), 1, text.size(), stdout);
      std::fflush(stdout);
    }
    return OkStatus();
  }
  unsigned status() const { return status_; }
  const std::string& reply() const { return reply_; }
  const std::string& error_body() const { return error_body_; }

 private:
  bool verbose_;
  unsigned status_ = 0;
  net::SseDecoder decoder_;
  boost::system::error_code ec_;
  std::string reply_;
  std::string error_body_;
};

// The first use of an empty wallet: fetch one batch now, then hold it for a random delay (uniform
// in [0, empty_refill_delay]) before the first spend, so that the issuer's fetch at T and the
// gateway's spend are not T and T+ε. A wallet holding a token fetches nothing here.
bool PrepareWallet(client::Client& c) {
  auto first = c.FillEmptyWallet();
  if (!first.ok()) {
    PrintError(kCommand, first.error());
    return false;
  }
  if (first->fetched == 0) return true;
  std::fprintf(stderr,
               "wallet empty: fetched %zu tokens; waiting %.1fs before the first use so issuance and "
               "spending do not line up\n",
               first->fetched, static_cast<double>(first->hold.count()) / 1000.0);
  std::this_thread::sleep_for(first->hold);
  return true;
}

}  // namespace

int RunChat(const Args& args) {
  std::string config_path = DefaultClientConfigPath();
  std::string model;
  std::string system_prompt;
  bool verbose = false;
  int64_t max_tokens = 512;
  std::vector<std::string> prompt_words;
  int64_t testing_start_time = 0;
  OptionSet options("chat [options] [PROMPT...]",
                    "Chat through the confidential path. With a prompt: one answer, then exit. Without:\n"
                    "an interactive conversation, one prompt per line of standard input; Ctrl-D (EOF) or\n"
                    "/exit ends it. Answers stream as each sealed chunk authenticates; a truncated answer\n"
                    "is an error (exit status 1) and ends an interactive conversation at once. Any other\n"
                    "failed answer is reported and the conversation goes on, exiting 1 at its end.\n"
                    "Tokens: a prompt never fetches one. An empty wallet gets one batch at the start,\n"
                    "held for a random delay (up to the config's empty_refill_delay_seconds) before its\n"
                    "first use; an interactive conversation refills in the background.");
  options.AddString("client-config", &config_path,
                    "The client configuration (default $OPENPCC_CLIENT_CONFIG, else "
                    "~/.config/openpcc/client.json, else the one a running `openpcc up` wrote).",
                    "FILE");
  options.AddString("model", &model, "The model (default: the first the gateway lists).", "NAME");
  options.AddString("system", &system_prompt, "A system message to start the conversation with.", "TEXT");
  options.AddBool("verbose", &verbose, "Print each verification step (stderr) as it happens.");
  options.AddInt("max-tokens", &max_tokens, "The answer's token limit.", 1, 1 << 20);
  options.AddInt("testing-start-time", &testing_start_time,
                 "TEST ONLY: the clock starts at these seconds since the epoch (0: the system clock).", 0,
                 INT64_MAX);
  options.AddRest("prompt", &prompt_words, "The prompt (one-shot mode).");
  options.DisableConfigFile();
  if (std::optional<int> exit_status = ParseOrExitStatus(options, args, kCommand)) return *exit_status;
  if (!verbose) SetLogLevel(LogLevel::kWarning);

  static const SystemClock system_clock;
  static const OffsetClock testing_clock{std::chrono::sys_seconds(std::chrono::seconds(testing_start_time))};
  const Clock& clock = testing_start_time > 0 ? static_cast<const Clock&>(testing_clock) : system_clock;
  Result<std::unique_ptr<client::Client>> opened = OpenClient(config_path, clock);
  if (!opened.ok()) {
    PrintError(kCommand, opened.error());
    return kExitUsage;
  }
  client::Client& c = **opened;
  if (verbose) {
    c.set_observer([](std::string_view check, std::string_view detail) {
      std::fprintf(stderr, "  ok %.*s: %.*s\n", static_cast<int>(check.size()), check.data(),
                   static_cast<int>(detail.size()), detail.data());
    });
  }
  if (model.empty()) {
    auto models = c.Models();
    auto first = models.ok() ? FirstModel(*models) : Result<std::string>(models.error());
    if (!first.ok()) {
      PrintError(kCommand, first.error());
      return kExitFailure;
    }
    model = *first;
  }
  if (verbose) std::fprintf(stderr, "verifying the directory for %s:\n", model.c_str());
  auto trusted = c.Bootstrap(model);
  if (!trusted.ok()) {
    PrintError(kCommand, trusted.error());
    return kExitFailure;
  }

  if (!PrepareWallet(c)) return kExitFailure;

  json::array messages;
  if (!system_prompt.empty()) messages.push_back(json::object{{"role", "system"}, {"content", system_prompt}});
  enum class Outcome { kAnswered, kFailed, kTruncated };
  auto ask = [&](const std::string& prompt) -> Outcome {
    messages.push_back(json::object{{"role", "user"}, {"content", prompt}});
    json::object body{{"model", model}, {"messages", messages}, {"stream", true}, {"max_tokens", max_tokens}};
    TerminalSink sink(verbose);
    auto answer = c.Chat(json::serialize(body), sink);
    std::fputc('\n', stdout);
    std::fflush(stdout);
    if (!answer.ok()) {
      PrintError(kCommand, answer.error());
      messages.pop_back();
      // The answer had begun (its head authenticated) and did not end: truncated.
      return sink.status() != 0 ? Outcome::kTruncated : Outcome::kFailed;
    }
    if (sink.status() != 200) {
      PrintError(kCommand, "the node answered HTTP " + std::to_string(sink.status()) + ": " + sink.error_body());
      messages.pop_back();
      return Outcome::kFailed;
    }
    if (verbose) {
      std::fprintf(stderr, "  answer authenticated to its final chunk; evidence %lld s old; attempt %d\n",
                   static_cast<long long>(answer->FreshnessAgeSeconds()), answer->attempts);
    }
    messages.push_back(json::object{{"role", "assistant"}, {"content", sink.reply()}});
    return Outcome::kAnswered;
  };

  if (!prompt_words.empty()) {
    std::string prompt;
    for (const std::string& w : prompt_words) prompt += (prompt.empty() ? "" : " ") + w;
    return ask(prompt) == Outcome::kAnswered ? kExitOk : kExitFailure;
  }
  // Interactive: refills in the background at the wallet's random instants, never on a prompt's
  // path (a one-shot chat with tokens fetches nothing at all).
  WalletTicker ticker(c, kCommand);
  bool all_ok = true;
  std::string line;
  while (true) {
    std::fputs("> ", stderr);
    std::fflush(stderr);
    if (!std::getline(std::cin, line)) break;
    if (!line.empty() && line.back() == '\r') line.pop_back();
    if (line == "/exit" || line == "/quit") break;
    if (line.empty()) continue;
    const Outcome outcome = ask(line);
    if (outcome == Outcome::kTruncated) return kExitFailure;
    all_ok = outcome == Outcome::kAnswered && all_ok;
  }
  std::fputc('\n', stderr);
  return all_ok ? kExitOk : kExitFailure;
}

}  // namespace openpcc::cli
