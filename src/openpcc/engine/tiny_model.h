// engine/tiny_model.h — writes small llama-architecture GGUF models with random weights.
//
// Tests, demos and benchmarks need a real model file that llama.cpp loads and runs like any other,
// without downloading one. This writes a Llama-style decoder (RMSNorm, rotary attention with
// grouped-query heads, SwiGLU feed-forward, embeddings tied to the output) whose weights are drawn
// from a seeded generator, so the same options always give the same file. Its tokenizer is the
// Llama-3 vocabulary that ships with llama.cpp (models/ggml-vocab-llama-bpe.gguf, installed by
// scripts/setup), copied key for key, and it carries a Llama-3 chat template, so chat formatting,
// tokenization and stop tokens behave as with a real Llama-3 model. The text it generates is
// random, of course.
//
// Shapes are derived from two numbers: `layers` and `width` (the embedding size). The head size is
// 32 below width 256 and 64 from there; heads = width / head size; key/value heads are a quarter of
// the heads once there are at least 8 (grouped-query attention), else all of them; the
// feed-forward size is 4 x width. The default (2 layers, width 64) loads and generates in well
// under a second on a CPU; `kBenchLayers` x `kBenchWidth` is the ~100M-parameter benchmark model
// (most of it the 128256 x 512 embedding).
//
// Thread safety: free functions without shared state.
#pragma once

#include <cstdint>
#include <filesystem>
#include <string>

#include "openpcc/util/result.h"

namespace openpcc::engine {

inline constexpr uint32_t kBenchLayers = 8;
inline constexpr uint32_t kBenchWidth = 512;
inline constexpr uint32_t kLlama3VocabSize = 128256;

struct TinyModelOptions {
  uint32_t layers = 2;             // [1, 64]
  uint32_t width = 64;             // [32, 4096], a multiple of 32
  uint32_t context_length = 4096;  // the model's trained context (llama.context_length)
  uint64_t seed = 1;
  bool f16 = true;                 // matrices as F16 (halves the file); norms are always F32
  bool chat_template = true;       // false: no tokenizer.chat_template (tests the engine's fallback)
  // The GGUF file to copy the tokenizer from. Empty: $OPENPCC_LLAMA_VOCAB if set, else the
  // pinned llama.cpp install's share/openpcc/ggml-vocab-llama-bpe.gguf.
  std::filesystem::path vocab_path;
};

struct TinyModelShape {
  uint32_t layers = 0;
  uint32_t width = 0;
  uint32_t heads = 0;
  uint32_t kv_heads = 0;
  uint32_t head_dim = 0;
  uint32_t ffn = 0;
  uint32_t vocab = 0;
  uint32_t context_length = 0;
  uint64_t parameters = 0;  // every weight, the tied embedding counted once
};

// The shape the options describe, for a vocabulary of `vocab` tokens; errors name the option.
Result<TinyModelShape> TinyModelShapeFor(const TinyModelOptions& options, uint32_t vocab = kLlama3VocabSize);

// The vocabulary file `options` resolves to.
std::filesystem::path TinyModelVocabPath(const TinyModelOptions& options);

// Writes the model to `path` (through a temporary file beside it, renamed when complete).
Status MakeTinyModel(const TinyModelOptions& options, const std::filesystem::path& path);

}  // namespace openpcc::engine
