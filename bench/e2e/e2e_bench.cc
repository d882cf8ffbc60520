// e2e_bench — one mode of the end-to-end benchmark (issue 10): streamed chat requests at each
// concurrency level against one backend, printed as JSON for bench/e2e/run, which starts the
// processes, repeats the runs and computes the ratios.
//
//   e2e_bench --base-url http://127.0.0.1:8080 --model NAME [--concurrency 1,4,16]
//             [--requests 8] [--max-tokens 64] [--warmup 2]
//
// --requests is per worker; each level runs concurrency × requests requests.
#include <algorithm>
#include <cstdio>
#include <cstdlib>
#include <sstream>
#include <string>
#include <vector>

#include <boost/json.hpp>

#include "e2e/load.h"

namespace {

using namespace openpcc;
using namespace openpcc::bench;

// Prompts of different lengths, so prefill is not always the same size.
const std::vector<std::string> kPrompts = {
    "Write a short story about a lighthouse keeper and the sea.",
    "Explain how a transparency log lets clients detect a split view, in three sentences.",
    "List five facts about the moon.",
    "Describe a walk through a city at night, paying attention to sounds and light, and end with a "
    "surprising encounter that changes how the walker sees the place.",
};

const char* kUsage =
    "usage: e2e_bench --base-url URL --model NAME [--concurrency 1,4,16] [--requests N]\n"
    "                 [--max-tokens N] [--warmup N]\n"
    "Streams chat completions (temperature 0) against an OpenAI-compatible server on loopback\n"
    "and prints, per concurrency level, every request's time to first token and time per\n"
    "output token and the level's tokens per second, as JSON on stdout.\n";

struct Flags {
  std::string base_url;
  ChatSettings settings;
  std::vector<int> levels = {1, 4, 16};
  int requests = 8;
  int warmup = 2;
};

bool ParseFlags(int argc, char** argv, Flags& flags) {
  for (int i = 1; i < argc; ++i) {
    const std::string name = argv[i];
    if (name == "--help") return false;
    if (i + 1 >= argc) {
      std::fprintf(stderr, "%s needs a value\n", name.c_str());
      return false;
    }
    const std::string value = argv[++i];
    if (name == "--base-url") {
      flags.base_url = value;
    } else if (name == "--model") {
      flags.settings.model = value;
    } else if (name == "--max-tokens") {
      flags.settings.max_tokens = static_cast<uint32_t>(std::strtoul(value.c_str(), nullptr, 10));
    } else if (name == "--requests") {
      flags.requests = std::atoi(value.c_str());
    } else if (name == "--warmup") {
      flags.warmup = std::atoi(value.c_str());
    } else if (name == "--concurrency") {
      if (!ParseConcurrencyLevels(value, flags.levels)) return false;
    } else {
      std::fprintf(stderr, "unknown flag %s\n", name.c_str());
      return false;
    }
  }
  const bool levels_ok = !flags.levels.empty();
  if (flags.base_url.empty() || flags.settings.model.empty() || flags.requests < 1 || !levels_ok ||
      flags.settings.max_tokens < 2) {
    std::fprintf(stderr, "--base-url and --model are required; --requests >= 1; --max-tokens >= 2; "
                         "--concurrency: a list of integers in [1, 256]\n");
    return false;
  }
  return true;
}

boost::json::object Summarise(const LevelResult& level) {
  std::vector<double> ttft, tpot;
  for (const RequestSample& sample : level.samples) {
    ttft.push_back(sample.ttft_ms);
    if (sample.tpot_ms > 0) tpot.push_back(sample.tpot_ms);
  }
  boost::json::object out;
  out["concurrency"] = level.concurrency;
  out["requests"] = level.samples.size();
  out["failures"] = level.failures;
  if (!level.first_error.empty()) out["first_error"] = level.first_error;
  out["ttft_ms"] = boost::json::array(ttft.begin(), ttft.end());
  out["tpot_ms"] = boost::json::array(tpot.begin(), tpot.end());
  out["ttft_median_ms"] = Percentile(ttft, 50);
  out["ttft_p99_ms"] = Percentile(ttft, 99);
  out["tpot_median_ms"] = Percentile(tpot, 50);
  out["tpot_p99_ms"] = Percentile(tpot, 99);
  out["tokens_per_second"] = level.tokens_per_second;
  out["wall_seconds"] = level.wall_seconds;
  return out;
}

}  // namespace

int main(int argc, char** argv) {
  Flags flags;
  if (!ParseFlags(argc, argv, flags)) {
    std::fputs(kUsage, stderr);
    return 2;
  }
  const BackendFactory factory = [&] { return MakeOpenAiHttpBackend(flags.base_url); };
  if (flags.warmup > 0) {
    const LevelResult warm = RunLevel(factory, 1, flags.warmup, kPrompts, flags.settings);
    if (warm.failures > 0) {
      std::fprintf(stderr, "warm-up failed: %s\n", warm.first_error.c_str());
      return 1;
    }
  }
  boost::json::array levels;
  int failures = 0;
  for (int c : flags.levels) {
    const LevelResult level = RunLevel(factory, c, flags.requests, kPrompts, flags.settings);
    failures += level.failures;
    if (level.failures > 0) std::fprintf(stderr, "c=%d: %d failures, first: %s\n", c, level.failures, level.first_error.c_str());
    levels.push_back(Summarise(level));
  }
  boost::json::object report;
  report["base_url"] = flags.base_url;
  report["model"] = flags.settings.model;
  report["max_tokens"] = flags.settings.max_tokens;
  report["levels"] = std::move(levels);
  std::printf("%s\n", boost::json::serialize(report).c_str());
  return failures > 0 ? 1 : 0;
}
