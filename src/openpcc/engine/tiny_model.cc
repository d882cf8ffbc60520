#include "openpcc/engine/tiny_model.h"

#include <ggml.h>
#include <gguf.h>

#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <memory>
#include <string>
#include <system_error>
#include <vector>

namespace openpcc::engine {
namespace {

// Llama-3's chat template as published with the model (a Jinja template; llama.cpp recognises
// it by its header tokens and formats with its built-in "llama3" template).
constexpr const char* kLlama3ChatTemplate =
    "{% set loop_messages = messages %}{% for message in loop_messages %}{% set content = "
    "'<|start_header_id|>' + message['role'] + '<|end_header_id|>\\n\\n'+ message['content'] | trim + "
    "'<|eot_id|>' %}{% if loop.index0 == 0 %}{% set content = bos_token + content %}{% endif %}"
    "{{ content }}{% endfor %}{% if add_generation_prompt %}{{ '<|start_header_id|>assistant"
    "<|end_header_id|>\\n\\n' }}{% endif %}";

Error Invalid(const std::string& message) {
  return Error(ErrorCode::kInvalidArgument, "tiny model: " + message);
}

struct GgufFree {
  void operator()(gguf_context* c) const { gguf_free(c); }
};
struct GgmlFree {
  void operator()(ggml_context* c) const { ggml_free(c); }
};
struct FileClose {
  void operator()(std::FILE* f) const { std::fclose(f); }
};
using GgufPtr = std::unique_ptr<gguf_context, GgufFree>;
using GgmlPtr = std::unique_ptr<ggml_context, GgmlFree>;
using FilePtr = std::unique_ptr<std::FILE, FileClose>;

// A small, fully specified generator (SplitMix64 + Box-Muller), so a seed gives the same weights
// with any standard library.
class Normal {
 public:
  explicit Normal(uint64_t seed) : state_(seed) {}
  float Next() {
    if (has_spare_) {
      has_spare_ = false;
      return spare_;
    }
    const double u1 = (static_cast<double>(Bits() >> 11) + 1.0) * 0x1.0p-53;  // (0, 1]
    const double u2 = static_cast<double>(Bits() >> 11) * 0x1.0p-53;
    const double r = std::sqrt(-2.0 * std::log(u1));
    spare_ = static_cast<float>(r * std::sin(2.0 * M_PI * u2));
    has_spare_ = true;
    return static_cast<float>(r * std::cos(2.0 * M_PI * u2));
  }

 private:
  uint64_t Bits() {
    uint64_t z = (state_ += 0x9E3779B97F4A7C15ull);
    z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ull;
    z = (z ^ (z >> 27)) * 0x94D049BB133111EBull;
    return z ^ (z >> 31);
  }
  uint64_t state_;
  float spare_ = 0;
  bool has_spare_ = false;
};

enum class Init { kOnes, kNormal };

struct TensorPlan {
  std::string name;
  int64_t cols = 0;  // ne0: the input dimension of a matrix
  int64_t rows = 1;  // ne1
  Init init = Init::kNormal;
  float scale = 1.0f;  // standard deviation of kNormal
};

std::vector<TensorPlan> PlanTensors(const TinyModelShape& s) {
  const int64_t w = s.width;
  const int64_t kv = static_cast<int64_t>(s.kv_heads) * s.head_dim;
  const int64_t ff = s.ffn;
  // Weights at 1/sqrt(fan_in), so every layer contributes at the scale of the residual stream
  // and the random model's next token depends on its whole context, not just the last token.
  const float in_w = 1.0f / std::sqrt(static_cast<float>(w));
  const float in_ff = 1.0f / std::sqrt(static_cast<float>(ff));
  std::vector<TensorPlan> plan;
  plan.push_back({"token_embd.weight", w, s.vocab, Init::kNormal, 1.0f});
  for (uint32_t i = 0; i < s.layers; ++i) {
    const std::string p = "blk." + std::to_string(i) + ".";
    plan.push_back({p + "attn_norm.weight", w, 1, Init::kOnes, 0});
    plan.push_back({p + "attn_q.weight", w, w, Init::kNormal, in_w});
    plan.push_back({p + "attn_k.weight", w, kv, Init::kNormal, in_w});
    plan.push_back({p + "attn_v.weight", w, kv, Init::kNormal, in_w});
    plan.push_back({p + "attn_output.weight", w, w, Init::kNormal, in_w});
    plan.push_back({p + "ffn_norm.weight", w, 1, Init::kOnes, 0});
    plan.push_back({p + "ffn_gate.weight", w, ff, Init::kNormal, in_w});
    plan.push_back({p + "ffn_up.weight", w, ff, Init::kNormal, in_w});
    plan.push_back({p + "ffn_down.weight", ff, w, Init::kNormal, in_ff});
  }
  plan.push_back({"output_norm.weight", w, 1, Init::kOnes, 0});
  return plan;
}

Status WriteZeros(std::FILE* f, size_t n) {
  static const char kZeros[64] = {};
  while (n > 0) {
    const size_t k = n < sizeof(kZeros) ? n : sizeof(kZeros);
    if (std::fwrite(kZeros, 1, k, f) != k) return Invalid("write failed");
    n -= k;
  }
  return OkStatus();
}

// Generates one tensor row block at a time and writes it, so memory stays small for big shapes.
Status WriteTensor(std::FILE* f, const TensorPlan& t, ggml_type type, uint64_t seed) {
  Normal normal(seed);
  std::vector<float> row(static_cast<size_t>(t.cols));
  std::vector<ggml_fp16_t> half(type == GGML_TYPE_F16 ? row.size() : 0);
  for (int64_t r = 0; r < t.rows; ++r) {
    for (auto& v : row) v = t.init == Init::kOnes ? 1.0f : normal.Next() * t.scale;
    size_t written = 0;
    if (type == GGML_TYPE_F16) {
      ggml_fp32_to_fp16_row(row.data(), half.data(), t.cols);
      written = std::fwrite(half.data(), sizeof(ggml_fp16_t), half.size(), f);
    } else {
      written = std::fwrite(row.data(), sizeof(float), row.size(), f);
    }
    if (written != row.size()) return Invalid("write failed for tensor " + t.name);
  }
  return OkStatus();
}

}  // namespace

Result<TinyModelShape> TinyModelShapeFor(const TinyModelOptions& options, uint32_t vocab) {
  if (options.layers < 1 || options.layers > 64) {
    return Invalid("--layers " + std::to_string(options.layers) + " is not in [1, 64]");
  }
  if (options.width < 32 || options.width > 4096 || options.width % 32 != 0) {
    return Invalid("--width " + std::to_string(options.width) + " is not a multiple of 32 in [32, 4096]");
  }
  if (options.context_length < 64 || options.context_length > 131072) {
    return Invalid("context length " + std::to_string(options.context_length) + " is not in [64, 131072]");
  }
  if (vocab == 0) return Invalid("the vocabulary is empty");
  TinyModelShape s;
  s.layers = options.layers;
  s.width = options.width;
  s.head_dim = options.width >= 256 ? 64 : 32;
  s.heads = options.width / s.head_dim;
  s.kv_heads = s.heads >= 8 && s.heads % 4 == 0 ? s.heads / 4 : s.heads;
  s.ffn = 4 * options.width;
  s.vocab = vocab;
  s.context_length = options.context_length;
  const uint64_t w = s.width;
  const uint64_t kv = uint64_t{s.kv_heads} * s.head_dim;
  const uint64_t per_layer = 2 * w              // attention and feed-forward norms
                             + w * w + 2 * w * kv + w * w  // q, k, v, output
                             + 3 * w * s.ffn;               // gate, up, down
  s.parameters = uint64_t{vocab} * w + s.layers * per_layer + w;  // + output norm; output tied
  return s;
}

std::filesystem::path TinyModelVocabPath(const TinyModelOptions& options) {
  if (!options.vocab_path.empty()) return options.vocab_path;
  if (const char* env = std::getenv("OPENPCC_LLAMA_VOCAB"); env != nullptr && *env != '\0') return env;
  return OPENPCC_LLAMA_VOCAB_DEFAULT;
}

Status MakeTinyModel(const TinyModelOptions& options, const std::filesystem::path& path) {
  const std::filesystem::path vocab_path = TinyModelVocabPath(options);
  gguf_init_params read_params{};
  read_params.no_alloc = true;
  read_params.ctx = nullptr;
  GgufPtr vocab(gguf_init_from_file(vocab_path.c_str(), read_params));
  if (!vocab) return Invalid("cannot read the vocabulary GGUF " + vocab_path.string());
  const int64_t tokens_key = gguf_find_key(vocab.get(), "tokenizer.ggml.tokens");
  if (tokens_key < 0 || gguf_get_kv_type(vocab.get(), tokens_key) != GGUF_TYPE_ARRAY) {
    return Invalid(vocab_path.string() + " has no tokenizer.ggml.tokens array");
  }
  const size_t n_vocab = gguf_get_arr_n(vocab.get(), tokens_key);
  if (n_vocab == 0 || n_vocab > (1u << 20)) return Invalid("vocabulary size is not in [1, 2^20]");
  OPENPCC_ASSIGN_OR_RETURN(const TinyModelShape shape,
                           TinyModelShapeFor(options, static_cast<uint32_t>(n_vocab)));

  GgufPtr out(gguf_init_empty());
  // The tokenizer, key for key; everything else in the vocabulary file describes another model.
  gguf_set_kv(out.get(), vocab.get());
  for (int64_t i = gguf_get_n_kv(vocab.get()) - 1; i >= 0; --i) {
    const std::string key = gguf_get_key(vocab.get(), i);
    if (key.rfind("tokenizer.", 0) != 0) gguf_remove_key(out.get(), key.c_str());
  }
  const std::string name = "openpcc-tiny-l" + std::to_string(shape.layers) + "-w" + std::to_string(shape.width);
  gguf_set_val_str(out.get(), "general.architecture", "llama");
  gguf_set_val_str(out.get(), "general.name", name.c_str());
  gguf_set_val_u32(out.get(), "general.file_type", options.f16 ? 1 : 0);  // mostly F16 / all F32
  gguf_set_val_u32(out.get(), "llama.context_length", shape.context_length);
  gguf_set_val_u32(out.get(), "llama.embedding_length", shape.width);
  gguf_set_val_u32(out.get(), "llama.block_count", shape.layers);
  gguf_set_val_u32(out.get(), "llama.feed_forward_length", shape.ffn);
  gguf_set_val_u32(out.get(), "llama.attention.head_count", shape.heads);
  gguf_set_val_u32(out.get(), "llama.attention.head_count_kv", shape.kv_heads);
  gguf_set_val_u32(out.get(), "llama.rope.dimension_count", shape.head_dim);
  gguf_set_val_f32(out.get(), "llama.rope.freq_base", 500000.0f);
  gguf_set_val_f32(out.get(), "llama.attention.layer_norm_rms_epsilon", 1e-5f);
  gguf_set_val_u32(out.get(), "llama.vocab_size", shape.vocab);
  if (options.chat_template) {
    gguf_set_val_str(out.get(), "tokenizer.chat_template", kLlama3ChatTemplate);
  } else {
    gguf_remove_key(out.get(), "tokenizer.chat_template");
  }

  const std::vector<TensorPlan> plan = PlanTensors(shape);
  ggml_init_params meta_params{};
  meta_params.mem_size = (plan.size() + 1) * ggml_tensor_overhead();
  meta_params.mem_buffer = nullptr;
  meta_params.no_alloc = true;  // tensor descriptions only; the data is streamed to the file
  GgmlPtr meta(ggml_init(meta_params));
  if (!meta) return Error(ErrorCode::kInternal, "tiny model: ggml_init failed");
  std::vector<ggml_type> types;
  for (const TensorPlan& t : plan) {
    const ggml_type type = options.f16 && t.rows > 1 ? GGML_TYPE_F16 : GGML_TYPE_F32;
    ggml_tensor* tensor = t.rows > 1 ? ggml_new_tensor_2d(meta.get(), type, t.cols, t.rows)
                                     : ggml_new_tensor_1d(meta.get(), type, t.cols);
    ggml_set_name(tensor, t.name.c_str());
    gguf_add_tensor(out.get(), tensor);
    types.push_back(type);
  }

  std::filesystem::path tmp = path;
  tmp += ".tmp";
  const auto write = [&]() -> Status {
    FilePtr f(std::fopen(tmp.c_str(), "wb"));
    if (!f) return Invalid("cannot create " + tmp.string());
    std::vector<uint8_t> header(gguf_get_meta_size(out.get()));
    gguf_get_meta_data(out.get(), header.data());
    if (std::fwrite(header.data(), 1, header.size(), f.get()) != header.size()) {
      return Invalid("write failed for " + tmp.string());
    }
    size_t position = 0;  // within the data section, which starts right after the header
    for (size_t i = 0; i < plan.size(); ++i) {
      const size_t offset = gguf_get_tensor_offset(out.get(), static_cast<int64_t>(i));
      OPENPCC_RETURN_IF_ERROR(WriteZeros(f.get(), offset - position));
      OPENPCC_RETURN_IF_ERROR(WriteTensor(f.get(), plan[i], types[i], options.seed * 0x100000001B3ull + i));
      position = offset + gguf_get_tensor_size(out.get(), static_cast<int64_t>(i));
    }
    if (std::fflush(f.get()) != 0) return Invalid("write failed for " + tmp.string());
    return OkStatus();
  };
  std::error_code ec;
  if (Status written = write(); !written.ok()) {
    std::filesystem::remove(tmp, ec);
    return written;
  }
  std::filesystem::rename(tmp, path, ec);
  if (ec) {
    std::filesystem::remove(tmp, ec);
    return Invalid("cannot rename the finished model to " + path.string());
  }
  return OkStatus();
}

}  // namespace openpcc::engine
