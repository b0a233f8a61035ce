//===- GenerationConfigTest.cpp - Sampling defaults from the artifact -----===//

#include "runtime/GenerationConfig.h"
#include "runtime/Manifest.h"
#include "test/unittests/runtime/FakeArtifact.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

using namespace llamac;
using namespace llamac::test;
using nlohmann::json;
using ::testing::HasSubstr;

namespace {

SamplingOptions defaultsOf(const json &generationConfig) {
  std::string error;
  std::optional<GenerationConfig> config =
      parseGenerationConfig(generationConfig, error);
  EXPECT_TRUE(config) << error;
  return defaultSampling(config);
}

} // namespace

TEST(GenerationConfigTest, WithoutAConfigDecodingIsGreedy) {
  SamplingOptions options = defaultSampling(std::nullopt);
  EXPECT_TRUE(options.isGreedy());
  EXPECT_EQ(options.repetitionPenalty, 1.0f);
}

TEST(GenerationConfigTest, LlamaTwoChatSamplesWithItsSettings) {
  // configs/llama-2-7b-chat/generation_config.json
  SamplingOptions options = defaultsOf({{"bos_token_id", 1},
                                        {"eos_token_id", 2},
                                        {"pad_token_id", 0},
                                        {"do_sample", true},
                                        {"temperature", 0.6},
                                        {"top_p", 0.9},
                                        {"max_length", 4096}});
  EXPECT_FALSE(options.isGreedy());
  EXPECT_EQ(options.temperature, 0.6f);
  EXPECT_EQ(options.topP, 0.9f);
  // Hugging Face's default, which the file does not override.
  EXPECT_EQ(options.topK, 50);
  EXPECT_EQ(options.minP, 0.0f);
}

TEST(GenerationConfigTest, SamplingSettingsWithoutDoSampleStayGreedy) {
  SamplingOptions options = defaultsOf(
      {{"temperature", 0.7}, {"top_k", 5}, {"repetition_penalty", 1.3}});
  EXPECT_TRUE(options.isGreedy());
  EXPECT_EQ(options.topK, 5);
  // The penalty applies to greedy decoding too.
  EXPECT_EQ(options.repetitionPenalty, 1.3f);
}

TEST(GenerationConfigTest, HuggingFacesBansAreRead) {
  SamplingOptions options = defaultsOf(
      {{"no_repeat_ngram_size", 3}, {"min_length", 12}, {"min_new_tokens", 5}});
  EXPECT_EQ(options.noRepeatNgramSize, 3);
  EXPECT_EQ(options.minLength, 12);
  EXPECT_EQ(options.minNewTokens, 5);
  SamplingOptions none = defaultSampling(std::nullopt);
  EXPECT_EQ(none.noRepeatNgramSize, 0);
  EXPECT_EQ(none.minLength, 0);
  EXPECT_EQ(none.minNewTokens, 0);
}

TEST(GenerationConfigTest, NullFieldsAreAbsent) {
  SamplingOptions options = defaultsOf(
      {{"do_sample", true}, {"temperature", nullptr}, {"top_k", nullptr}});
  EXPECT_EQ(options.temperature, 1.0f);
  EXPECT_EQ(options.topK, 50);
}

TEST(GenerationConfigTest, AWrongTypeNamesTheField) {
  std::string error;
  EXPECT_FALSE(parseGenerationConfig({{"top_k", 0.5}}, error));
  EXPECT_EQ(error, "field 'generation_config.top_k' must be an integer");
  EXPECT_FALSE(parseGenerationConfig({{"do_sample", "yes"}}, error));
  EXPECT_EQ(error, "field 'generation_config.do_sample' must be true or false");
  EXPECT_FALSE(parseGenerationConfig(json::array(), error));
  EXPECT_THAT(error, HasSubstr("must be an object or null"));
}

TEST(GenerationConfigTest, TheManifestCarriesTokenizerAndGenerationConfig) {
  TemporaryDirectory root;
  FakeArtifact artifact = makeFakeArtifact(root, tinyCausalConfig(), 1, 16);
  json document = artifact.manifest;
  std::string error;
  std::optional<Manifest> manifest =
      parseManifest(document, artifact.artifactDir, error);
  ASSERT_TRUE(manifest) << error;
  EXPECT_FALSE(manifest->tokenizerPath);
  EXPECT_FALSE(manifest->generationConfig);

  document["tokenizer"] = "tokenizer.model";
  document["generation_config"] = {{"do_sample", true}, {"top_p", 0.5}};
  manifest = parseManifest(document, artifact.artifactDir, error);
  ASSERT_TRUE(manifest) << error;
  EXPECT_EQ(manifest->tokenizerPath, artifact.artifactDir + "/tokenizer.model");
  ASSERT_TRUE(manifest->generationConfig);
  EXPECT_EQ(manifest->generationConfig->topP, 0.5f);

  document["generation_config"] = {{"temperature", "hot"}};
  EXPECT_FALSE(parseManifest(document, artifact.artifactDir, error));
  EXPECT_THAT(
      error,
      HasSubstr("field 'generation_config.temperature' must be a number"));
}
