//===- TextGenerationTest.cpp - Generated ids as streamed text ------------===//

#include "runtime/TextGeneration.h"
#include "test/unittests/runtime/FakeArtifact.h"
#include "test/unittests/runtime/FakeModelRule.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

using namespace llamac;
using namespace llamac::test;
using ::testing::HasSubstr;

namespace {

using Ids = std::vector<int32_t>;
constexpr int64_t kVocab = 512;
constexpr int32_t kEos = 2;

LlamaConfig textConfig() {
  LlamaConfig config = tinyCausalConfig();
  config.vocabSize = kVocab;
  return config;
}

class TextGenerationTest : public ::testing::Test {
protected:
  void SetUp() override {
    artifact = makeFakeArtifactWithTokenizer(root, textConfig(), 2, 64);
    std::string error;
    model = CompiledModel::load(artifact.artifactDir, "", error);
    ASSERT_TRUE(model) << error;
    tokenizer = loadArtifactTokenizer(model->manifest(), error);
    ASSERT_TRUE(tokenizer) << error;
  }

  /// What the prompt and `generated` decode to, less what the prompt alone
  /// decodes to.
  std::string continuation(const Ids &prompt, const Ids &generated) {
    Ids whole = prompt;
    whole.insert(whole.end(), generated.begin(), generated.end());
    std::string error;
    DecodeOptions options{/*skipSpecialTokens=*/true};
    std::optional<std::string> text = tokenizer->decode(whole, options, error);
    std::optional<std::string> promptText =
        tokenizer->decode(prompt, options, error);
    EXPECT_TRUE(text && promptText) << error;
    EXPECT_EQ(text->substr(0, promptText->size()), *promptText);
    return text->substr(promptText->size());
  }

  TextGenerationResult generateOrFail(const std::vector<Ids> &prompts,
                                      const TextGenerationOptions &options,
                                      const TextSink &sink = {}) {
    std::string error;
    std::optional<TextGenerationResult> result =
        generateText(*model, *tokenizer, prompts, options, sink, error);
    EXPECT_TRUE(result) << error;
    return result ? *result : TextGenerationResult();
  }

  TemporaryDirectory root;
  FakeArtifact artifact;
  std::unique_ptr<CompiledModel> model;
  std::unique_ptr<Tokenizer> tokenizer;
};

/// "Once upon a time" in stories260K's vocabulary, then the first token
/// after which the fake runs `length` tokens without EOS.
Ids promptRunningFor(int64_t length) {
  for (int32_t last = 259; last < kVocab; ++last) {
    Ids prompt = {1, 403, 407, 261, 378, last};
    Ids generated = fake::greedy(prompt, length, kVocab, kEos);
    if (int64_t(generated.size()) == length && generated.back() != kEos)
      return prompt;
  }
  ADD_FAILURE() << "no such prompt";
  return {1};
}

} // namespace

TEST_F(TextGenerationTest, StreamedPiecesMakeTheTextOfTheContinuation) {
  Ids prompt = promptRunningFor(40);
  TextGenerationOptions options;
  options.generation.maxNewTokens = 40;
  options.generation.topLogprobs = 1;
  std::vector<std::string> pieces;
  Ids streamedIds;
  std::vector<float> streamedLogprobs;
  TextGenerationResult result = generateOrFail(
      {prompt}, options, [&](size_t row, const TextPiece &piece) {
        EXPECT_EQ(row, 0u);
        EXPECT_FALSE(piece.text.empty());
        EXPECT_FALSE(piece.tokens.empty());
        EXPECT_EQ(piece.logprobs.size(), piece.tokens.size());
        pieces.emplace_back(piece.text);
        streamedIds.insert(streamedIds.end(), piece.tokens.begin(),
                           piece.tokens.end());
        for (const GeneratedTokenLogprobs &token : piece.logprobs)
          streamedLogprobs.push_back(token.logprob);
      });
  Ids expected = fake::greedy(prompt, 40, kVocab, kEos);
  ASSERT_EQ(result.ids.generated.front(), expected);
  EXPECT_EQ(streamedIds, expected);
  std::vector<float> keptLogprobs;
  for (const GeneratedTokenLogprobs &token : result.ids.logprobs.front())
    keptLogprobs.push_back(token.logprob);
  EXPECT_EQ(streamedLogprobs, keptLogprobs);
  std::string streamed;
  for (const std::string &piece : pieces)
    streamed += piece;
  EXPECT_EQ(streamed, result.texts.front());
  EXPECT_EQ(result.texts.front(), continuation(prompt, expected));
  EXPECT_GT(pieces.size(), 10u);
  EXPECT_EQ(result.finishReasons.front(), FinishReason::Length);
}

TEST_F(TextGenerationTest, AStopStringAcrossTokensEndsTheRow) {
  Ids prompt = promptRunningFor(40);
  TextGenerationOptions options;
  options.generation.maxNewTokens = 40;
  Ids full = fake::greedy(prompt, 40, kVocab, kEos);
  std::string fullText = continuation(prompt, full);
  // The end of one token's text and the start of the next.
  size_t boundary =
      continuation(prompt, Ids(full.begin(), full.begin() + 20)).size();
  ASSERT_GT(boundary, 2u);
  ASSERT_GT(fullText.size(), boundary + 2);
  std::string stop = fullText.substr(boundary - 2, 4);
  options.stopStrings = {stop};
  size_t asked = 0;
  options.keepGoing = [&] { return ++asked > 0; };

  Ids streamedIds;
  Ids lastPieceIds;
  std::string lastPieceText = "none";
  TextGenerationResult result =
      generateOrFail({prompt}, options, [&](size_t, const TextPiece &piece) {
        streamedIds.insert(streamedIds.end(), piece.tokens.begin(),
                           piece.tokens.end());
        lastPieceIds = piece.tokens;
        lastPieceText = piece.text;
      });
  EXPECT_EQ(result.texts.front(), fullText.substr(0, fullText.find(stop)));
  EXPECT_EQ(streamedIds, result.ids.generated.front());
  // The tokens of the stop string come last, with no text.
  EXPECT_EQ(lastPieceText, "");
  EXPECT_FALSE(lastPieceIds.empty());
  EXPECT_EQ(result.finishReasons.front(), FinishReason::StopString);
  // The row ended with the token that completed the stop string.
  const Ids &generated = result.ids.generated.front();
  ASSERT_FALSE(generated.empty());
  EXPECT_EQ(asked, generated.size()) << "keepGoing is asked after each token";
  EXPECT_EQ(generated, Ids(full.begin(), full.begin() + generated.size()));
  EXPECT_THAT(continuation(prompt, generated), HasSubstr(stop));
  EXPECT_THAT(continuation(prompt, Ids(generated.begin(), generated.end() - 1)),
              ::testing::Not(HasSubstr(stop)));
}

TEST_F(TextGenerationTest, RowsOfABatchStreamSeparately) {
  Ids prompt = promptRunningFor(12);
  TextGenerationOptions options;
  options.generation.maxNewTokens = 12;
  Ids other = {1, 261, 378};
  std::vector<std::string> streamed(2);
  TextGenerationResult result = generateOrFail(
      {prompt, other}, options,
      [&](size_t row, const TextPiece &piece) { streamed[row] += piece.text; });
  EXPECT_EQ(streamed, result.texts);
  EXPECT_EQ(result.texts[1],
            continuation(other, fake::greedy(other, 12, kVocab, kEos)));
}

TEST(ArtifactTokenizerTest, RefusesMissingAndOversizedTokenizers) {
  TemporaryDirectory root;
  FakeArtifact bare = makeFakeArtifact(root, textConfig(), 1, 16);
  std::string error;
  std::optional<Manifest> manifest = loadManifest(bare.artifactDir, error);
  ASSERT_TRUE(manifest) << error;
  EXPECT_FALSE(loadArtifactTokenizer(*manifest, error));
  EXPECT_THAT(error, HasSubstr("the artifact has no tokenizer"));

  TemporaryDirectory smallRoot;
  FakeArtifact small =
      makeFakeArtifactWithTokenizer(smallRoot, tinyCausalConfig(), 1, 16);
  manifest = loadManifest(small.artifactDir, error);
  ASSERT_TRUE(manifest) << error;
  EXPECT_FALSE(loadArtifactTokenizer(*manifest, error));
  EXPECT_THAT(
      error,
      HasSubstr("has 512 pieces, more than the model's vocab_size of 64"));
}
