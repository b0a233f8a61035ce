//===- TextGenerationTest.cpp - Generated ids as streamed text ------------===//

#include "runtime/TextGeneration.h"
#include "runtime/JsonConstraint.h"
#include "test/unittests/runtime/FakeArtifact.h"
#include "test/unittests/runtime/FakeModelRule.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

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
    artifact = makeFakeArtifactWithTokenizer(root, textConfig(), 4, 64);
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
  options.keepGoing = [&](size_t) { return ++asked > 0; };

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

/// What a job's sink received, per row.
struct Streamed {
  std::vector<std::string> texts;
  std::vector<Ids> ids;
};

/// A job whose sink appends to `streamed` and whose client leaves after
/// row 1's third token.
TextGenerationJob recordedJob(std::vector<Ids> prompts,
                              TextGenerationOptions options,
                              Streamed &streamed) {
  streamed = Streamed{std::vector<std::string>(prompts.size()),
                      std::vector<Ids>(prompts.size())};
  options.keepGoing = [&streamed](size_t row) {
    return row != 1 || streamed.ids[1].size() < 3;
  };
  return {std::move(prompts), std::move(options),
          [&streamed](size_t row, const TextPiece &piece) {
            streamed.texts[row] += piece.text;
            streamed.ids[row].insert(streamed.ids[row].end(),
                                     piece.tokens.begin(), piece.tokens.end());
          }};
}

TEST_F(TextGenerationTest, JobsOfABatchGenerateAsEachDoesAlone) {
  // A greedy completion with a stop string and one log-probability, and a
  // sampled chat answer of two rows with three, whose second row's client
  // leaves early.
  TextGenerationOptions completion, chat;
  completion.generation.maxNewTokens = 6;
  completion.generation.topLogprobs = 1;
  completion.stopStrings = {"zzz"};
  chat.generation.maxNewTokens = 12;
  chat.generation.sampling.temperature = 1.1f;
  chat.generation.sampling.seed = 5;
  chat.generation.topLogprobs = 3;
  chat.context = TextContext::None;
  const std::vector<std::vector<Ids>> prompts = {
      {promptRunningFor(12)}, {promptRunningFor(12), {1, 261, 378}}};
  const std::vector<TextGenerationOptions> options = {completion, chat};

  std::vector<Streamed> aloneStreams(2), batchStreams(2);
  std::vector<TextGenerationResult> alone;
  std::vector<TextGenerationJob> jobs;
  std::string error;
  for (size_t job = 0; job < 2; ++job) {
    TextGenerationJob single =
        recordedJob(prompts[job], options[job], aloneStreams[job]);
    alone.push_back(
        generateOrFail(single.prompts, single.options, single.sink));
    jobs.push_back(recordedJob(prompts[job], options[job], batchStreams[job]));
  }
  std::optional<std::vector<TextGenerationResult>> batch =
      generateTextBatch(*model, *tokenizer, jobs, error);
  ASSERT_TRUE(batch) << error;
  ASSERT_EQ(batch->size(), 2u);
  EXPECT_EQ((*batch)[1].ids.generated[1].size(), 3u);
  for (size_t job = 0; job < 2; ++job) {
    const TextGenerationResult &together = (*batch)[job];
    EXPECT_EQ(together.texts, alone[job].texts) << job;
    EXPECT_EQ(together.ids.generated, alone[job].ids.generated) << job;
    EXPECT_EQ(together.finishReasons, alone[job].finishReasons) << job;
    EXPECT_EQ(together.ids.promptTokens, alone[job].ids.promptTokens) << job;
    EXPECT_EQ(batchStreams[job].texts, together.texts) << job;
    EXPECT_EQ(batchStreams[job].ids, together.ids.generated) << job;
    const auto &steps = together.ids.logprobs;
    ASSERT_EQ(steps.size(), alone[job].ids.logprobs.size()) << job;
    for (size_t row = 0; row < steps.size(); ++row)
      for (size_t i = 0; i < steps[row].size(); ++i) {
        const GeneratedTokenLogprobs &expected = alone[job].ids.logprobs[row][i];
        EXPECT_EQ(steps[row][i].logprob, expected.logprob);
        ASSERT_EQ(steps[row][i].top.size(), expected.top.size());
        for (size_t k = 0; k < expected.top.size(); ++k)
          EXPECT_EQ(steps[row][i].top[k].token, expected.top[k].token);
      }
  }

  jobs[1].options.generation.ignoreEos = true;
  EXPECT_FALSE(generateTextBatch(*model, *tokenizer, jobs, error));
  EXPECT_THAT(error, HasSubstr("the jobs of a batch differ in ignoreEos"));
}

/// The token whose text is `text`.
TokenId tokenFor(const Tokenizer &tokenizer, const std::string &text) {
  for (TokenId id = 0; id < tokenizer.vocabSize(); ++id)
    if (!tokenizer.isSpecial(id) && tokenizer.pieceBytes(id) == text)
      return id;
  ADD_FAILURE() << "no token for " << text;
  return 0;
}

TEST_F(TextGenerationTest, JsonModeKeepsRowsToAnObject) {
  // The fake model's choices wander: its rows' texts begin objects, and
  // end with EOS only once one is whole.
  TextGenerationOptions options;
  options.generation.maxNewTokens = 56;
  options.jsonSchema = JsonSchema::anyObject();
  for (float temperature : {0.0f, 1.0f}) {
    options.generation.sampling.temperature = temperature;
    options.generation.sampling.seed = 11;
    TextGenerationResult result =
        generateOrFail({promptRunningFor(12), {1, 261}}, options);
    for (size_t row = 0; row < 2; ++row) {
      const std::string &text = result.texts[row];
      SCOPED_TRACE(text);
      JsonPrefix prefix(*options.jsonSchema);
      EXPECT_TRUE(prefix.push(text));
      // EOS comes once the object is whole (unless the tokens run out).
      EXPECT_TRUE(prefix.complete() ||
                  result.finishReasons[row] != FinishReason::EndOfSequence);
    }
  }
  // Led to close what it opens, a row ends with EOS right after.
  options.generation.sampling.logitBias = {{tokenFor(*tokenizer, "{"), 50},
                                           {tokenFor(*tokenizer, "}"), 100}};
  TextGenerationResult led = generateOrFail({{1, 261}}, options);
  EXPECT_EQ(led.texts[0], "{}");
  EXPECT_EQ(led.ids.generated[0].back(), kEos);
  EXPECT_TRUE(nlohmann::json::parse(led.texts[0]).is_object());
  EXPECT_EQ(led.finishReasons[0], FinishReason::EndOfSequence);

  options.generation.ignoreEos = true;
  std::string error;
  EXPECT_FALSE(
      generateText(*model, *tokenizer, {{1, 261}}, options, {}, error));
  EXPECT_THAT(error, HasSubstr("JSON output ends a row with EOS"));
}

TEST_F(TextGenerationTest, SchemaKeepsRowsToTheValuesItAccepts) {
  // The fake model wanders; the schema leaves it one key, a boolean or null,
  // and then EOS.
  std::string error;
  TextGenerationOptions options;
  options.jsonSchema =
      JsonSchema::compile(nlohmann::json::parse(R"({"type": "object",
          "properties": {"ok": {"type": ["boolean", "null"]}},
          "required": ["ok"], "additionalProperties": false})"),
                          error);
  ASSERT_TRUE(options.jsonSchema) << error;
  options.generation.maxNewTokens = 40;
  for (float temperature : {0.0f, 1.0f}) {
    options.generation.sampling.temperature = temperature;
    TextGenerationResult result =
        generateOrFail({promptRunningFor(12), {1, 261}}, options);
    for (size_t row = 0; row < 2; ++row) {
      SCOPED_TRACE(result.texts[row]);
      ASSERT_EQ(result.finishReasons[row], FinishReason::EndOfSequence);
      const nlohmann::json value = nlohmann::json::parse(result.texts[row]);
      ASSERT_TRUE(value.is_object());
      ASSERT_EQ(value.size(), 1u);
      EXPECT_TRUE(value["ok"].is_boolean() || value["ok"].is_null());
    }
  }
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
