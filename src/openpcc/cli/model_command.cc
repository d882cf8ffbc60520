// `openpcc model make-tiny`: writes a llama-architecture GGUF with random weights and the Llama-3
// tokenizer, for tests, demos and benchmarks (engine/tiny_model.h).
#include <cstdio>
#include <string>

#include "openpcc/cli/cli_util.h"
#include "openpcc/cli/commands.h"
#include "openpcc/cli/options.h"
#include "openpcc/engine/tiny_model.h"

namespace openpcc::cli {
namespace {

int MakeTiny(const Args& args) {
  engine::TinyModelOptions model;
  std::string out;
  int64_t layers = model.layers;
  int64_t width = model.width;
  int64_t context = model.context_length;
  int64_t seed = static_cast<int64_t>(model.seed);
  std::string vocab;
  bool bench = false;
  OptionSet options(
      "model make-tiny OUT.gguf [--layers N --width N]",
      "Writes a Llama-style GGUF model with random (seeded) weights and the Llama-3 tokenizer and\n"
      "chat template, so llama.cpp loads and runs it like a real model. The text it generates is\n"
      "random. The default shape loads and answers in well under a second on a CPU; --bench\n"
      "selects the ~100M-parameter shape used by the benchmarks (8 layers, width 512).");
  options.DisableConfigFile();
  options.AddPositional("OUT.gguf", &out, "Where to write the model (written atomically).", true);
  options.AddInt("layers", &layers, "Decoder layers.", 1, 64);
  options.AddInt("width", &width, "Embedding width (a multiple of 32).", 32, 4096);
  options.AddInt("context", &context, "The model's trained context length in tokens.", 256, 131072);
  options.AddInt("seed", &seed, "Seed of the weights: the same options give the same file.", 0,
                 INT64_MAX);
  options.AddBool("bench", &bench, "Use the ~100M-parameter benchmark shape (8 x 512).");
  options.AddString("vocab", &vocab,
                    "GGUF to copy the tokenizer from (default: the one scripts/setup installs).",
                    "FILE");
  if (std::optional<int> exit_status = ParseOrExitStatus(options, args, "model make-tiny")) return *exit_status;
  model.layers = static_cast<uint32_t>(bench ? engine::kBenchLayers : layers);
  model.width = static_cast<uint32_t>(bench ? engine::kBenchWidth : width);
  model.context_length = static_cast<uint32_t>(context);
  model.seed = static_cast<uint64_t>(seed);
  if (!vocab.empty()) model.vocab_path = vocab;
  Result<engine::TinyModelShape> shape = engine::TinyModelShapeFor(model);
  if (!shape.ok()) {
    PrintError("model make-tiny", shape.error());
    return kExitUsage;
  }
  Status status = engine::MakeTinyModel(model, out);
  if (!status.ok()) {
    PrintError("model make-tiny", status.error());
    return kExitFailure;
  }
  const engine::TinyModelShape& s = shape.value();
  std::printf("wrote %s: %u layers, width %u, %u heads (%u kv), ffn %u, vocab %u, context %u, "
              "%llu parameters\n",
              out.c_str(), s.layers, s.width, s.heads, s.kv_heads, s.ffn, s.vocab,
              s.context_length, static_cast<unsigned long long>(s.parameters));
  return kExitOk;
}

}  // namespace

int RunModel(const Args& args) {
  if (args.empty() || args[0] == "--help" || args[0] == "-h") {
    std::printf("Usage: openpcc model make-tiny OUT.gguf [options]\n\n"
                "Run 'openpcc model make-tiny --help' for the options.\n");
    return args.empty() ? kExitUsage : kExitOk;
  }
  if (args[0] != "make-tiny") {
    PrintError("model", "unknown subcommand '" + args[0] + "' (expected: make-tiny)");
    return kExitUsage;
  }
  return MakeTiny(Args(args.begin() + 1, args.end()));
}

}  // namespace openpcc::cli
