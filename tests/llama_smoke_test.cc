// The pinned llama.cpp loads: the shared library initialises and its Llama-3 tokenizer vocabulary
// (shipped in the pinned source) tokenizes and detokenizes text. No inference (that is issue 7's).
#include <gtest/gtest.h>
#include <llama.h>

#include <string>
#include <vector>

namespace {

TEST(LlamaSmokeTest, LoadsLibraryAndTokenizesWithLlama3Vocabulary) {
  llama_backend_init();
  const std::string info = llama_print_system_info();
  EXPECT_NE(info.find("CPU"), std::string::npos) << info;

  llama_model_params params = llama_model_default_params();
  params.vocab_only = true;
  llama_model* model = llama_model_load_from_file(OPENPCC_LLAMA_VOCAB, params);
  ASSERT_NE(model, nullptr) << "could not load " << OPENPCC_LLAMA_VOCAB;
  const llama_vocab* vocab = llama_model_get_vocab(model);
  EXPECT_EQ(llama_vocab_n_tokens(vocab), 128256);  // Llama-3's vocabulary size

  const std::string text = "Confidential inference, verified.";
  std::vector<llama_token> tokens(64);
  const int32_t n = llama_tokenize(vocab, text.data(), static_cast<int32_t>(text.size()), tokens.data(),
                                   static_cast<int32_t>(tokens.size()), false, false);
  ASSERT_GT(n, 1);
  ASSERT_LT(n, static_cast<int32_t>(text.size()));  // BPE merges: fewer tokens than bytes
  std::string round_trip(256, '\0');
  const int32_t length = llama_detokenize(vocab, tokens.data(), n, round_trip.data(),
                                          static_cast<int32_t>(round_trip.size()), false, false);
  ASSERT_GT(length, 0);
  round_trip.resize(static_cast<size_t>(length));
  EXPECT_EQ(round_trip, text);
  llama_model_free(model);
  llama_backend_free();
}

}  // namespace
