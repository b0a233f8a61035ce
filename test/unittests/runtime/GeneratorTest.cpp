//===- GeneratorTest.cpp - The generation loop over the fake model --------===//

#include "runtime/Generator.h"
#include "test/unittests/runtime/FakeArtifact.h"
#include "test/unittests/runtime/FakeModelRule.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

using namespace llamac;
using namespace llamac::test;
using ::testing::HasSubstr;

namespace {

using Ids = std::vector<int32_t>;
constexpr int64_t kVocab = 64;
constexpr int32_t kEos = 2;

Ids referenceGreedy(const Ids &prompt, int64_t maxNewTokens) {
  return fake::greedy(prompt, maxNewTokens, kVocab, kEos);
}

/// A prompt whose greedy continuation ends with EOS before `maxNewTokens`
/// (`stops`), or runs the full length without it.
Ids findPrompt(bool stops, int64_t maxNewTokens) {
  for (int32_t x = 3; x < kVocab * kVocab; ++x) {
    Ids prompt = {1, x % int32_t(kVocab), x / int32_t(kVocab)};
    Ids generated = referenceGreedy(prompt, maxNewTokens);
    bool stopped = int64_t(generated.size()) < maxNewTokens;
    if (stopped == stops && (!stops || generated.size() >= 2))
      return prompt;
  }
  ADD_FAILURE() << "no such prompt";
  return {1};
}

class GeneratorTest : public ::testing::Test {
protected:
  void SetUp() override {
    artifact = makeFakeArtifact(root, tinyCausalConfig(), /*maxBatch=*/4,
                                /*maxSeq=*/48);
    std::string error;
    model = CompiledModel::load(artifact.artifactDir, "", error);
    ASSERT_TRUE(model) << error;
  }

  GenerationResult generateOrFail(const std::vector<Ids> &prompts,
                                  const GenerationOptions &options) {
    std::string error;
    std::optional<GenerationResult> result =
        generate(*model, prompts, options, error);
    EXPECT_TRUE(result) << error;
    return result ? *result : GenerationResult();
  }

  std::vector<Ids> greedy(const std::vector<Ids> &prompts,
                          int64_t maxNewTokens) {
    GenerationOptions options;
    options.maxNewTokens = maxNewTokens;
    return generateOrFail(prompts, options).generated;
  }

  /// The error of a request that must be refused without running the model.
  std::string refusal(const std::vector<Ids> &prompts,
                      const GenerationOptions &options) {
    int64_t callsBefore = fakeModelCallCount();
    std::string error;
    EXPECT_FALSE(generate(*model, prompts, options, error));
    EXPECT_EQ(fakeModelCallCount(), callsBefore);
    return error;
  }

  TemporaryDirectory root;
  FakeArtifact artifact;
  std::unique_ptr<CompiledModel> model;
};

} // namespace

TEST_F(GeneratorTest, GreedyFollowsTheModel) {
  Ids prompt = findPrompt(/*stops=*/false, 12);
  EXPECT_EQ(greedy({prompt}, 12), (std::vector<Ids>{referenceGreedy(prompt, 12)}));
}

TEST_F(GeneratorTest, PaddingDoesNotChangeARow) {
  std::vector<Ids> prompts = {{1, 5, 9, 13, 17, 21}, {1, 7}, {1, 3, 3}};
  std::vector<Ids> batched = greedy(prompts, 10);
  ASSERT_EQ(batched.size(), 3u);
  for (size_t row = 0; row < prompts.size(); ++row) {
    EXPECT_EQ(batched[row], referenceGreedy(prompts[row], 10)) << row;
    EXPECT_EQ(greedy({prompts[row]}, 10).front(), batched[row]) << row;
  }
}

TEST_F(GeneratorTest, ARowStopsAfterEosWhileOthersContinue) {
  const int64_t maxNew = 20;
  Ids stopper = findPrompt(/*stops=*/true, maxNew);
  Ids runner = findPrompt(/*stops=*/false, maxNew);
  std::vector<Ids> generated = greedy({stopper, runner}, maxNew);
  EXPECT_EQ(generated[0], referenceGreedy(stopper, maxNew));
  EXPECT_EQ(generated[0].back(), kEos);
  EXPECT_EQ(generated[1], referenceGreedy(runner, maxNew));
  EXPECT_EQ(int64_t(generated[1].size()), maxNew);
}

TEST_F(GeneratorTest, DecodingEndsWhenEveryRowHasStopped) {
  Ids stopper = findPrompt(/*stops=*/true, 20);
  int64_t callsBefore = fakeModelCallCount();
  std::vector<Ids> generated = greedy({stopper}, 20);
  // One prefill, then one decode per token after the first.
  EXPECT_EQ(fakeModelCallCount() - callsBefore,
            int64_t(generated.front().size()));
}

TEST_F(GeneratorTest, ZeroNewTokensOnlyPrefills) {
  int64_t callsBefore = fakeModelCallCount();
  EXPECT_EQ(greedy({{1, 2}, {3}}, 0), (std::vector<Ids>{{}, {}}));
  EXPECT_EQ(fakeModelCallCount() - callsBefore, 1);
}

TEST_F(GeneratorTest, KeepsPromptLogitsAsPositionsByVocab) {
  GenerationOptions options;
  options.maxNewTokens = 1;
  options.keepPromptLogits = true;
  Ids prompt = {1, 5, 9, 13};
  Ids positions = {0, 1, 2, 3};
  GenerationResult result = generateOrFail({prompt}, options);
  ASSERT_EQ(result.promptLogits.size(), prompt.size() * kVocab);
  for (int64_t t = 0; t < int64_t(prompt.size()); ++t) {
    int32_t winner =
        fake::nextIndex(prompt.data(), positions.data(), t + 1, kVocab);
    for (int64_t v = 0; v < kVocab; ++v)
      ASSERT_EQ(result.promptLogits[t * kVocab + v],
                fake::outputValue(v, winner))
          << "position " << t << ", token " << v;
  }
  EXPECT_EQ(result.promptTokens, 4);
}

TEST_F(GeneratorTest, SeededSamplingIsIndependentOfTheBatch) {
  GenerationOptions options;
  options.maxNewTokens = 16;
  options.sampling.temperature = 1.5f;
  options.sampling.seed = 11;
  Ids prompt = findPrompt(/*stops=*/false, 16);
  Ids alone = generateOrFail({prompt}, options).generated.front();
  EXPECT_EQ(generateOrFail({prompt}, options).generated.front(), alone);
  EXPECT_EQ(generateOrFail({prompt, {1, 4}, {1}}, options).generated.front(),
            alone);
  // A temperature this high makes the sampled run leave the greedy path.
  EXPECT_NE(alone, referenceGreedy(prompt, 16));
}

TEST_F(GeneratorTest, RefusesToExceedMaxSeqBeforeComputing) {
  GenerationOptions options;
  options.maxNewTokens = 9;
  Ids longPrompt(40, 5);
  EXPECT_THAT(refusal({{1}, longPrompt}, options),
              HasSubstr("a prompt of 40 tokens plus 9 new tokens exceeds the "
                        "artifact's max_seq of 48"));
  options.maxNewTokens = 8;
  EXPECT_EQ(greedy({longPrompt}, 8).front(), referenceGreedy(longPrompt, 8));
}

TEST_F(GeneratorTest, RefusesTooManyRowsBeforeComputing) {
  GenerationOptions options;
  options.maxNewTokens = 1;
  EXPECT_THAT(refusal({{1}, {1}, {1}, {1}, {1}}, options),
              HasSubstr("5 prompts exceed the artifact's max_batch of 4"));
}

TEST_F(GeneratorTest, RefusesIdsOutsideTheVocabulary) {
  GenerationOptions options;
  options.maxNewTokens = 1;
  EXPECT_THAT(refusal({{1, 64}}, options),
              HasSubstr("token id 64 in prompt row 0"));
}

TEST_F(GeneratorTest, RefusesInvalidSamplingOptions) {
  GenerationOptions options;
  options.maxNewTokens = 1;
  options.sampling.topP = 0;
  EXPECT_THAT(refusal({{1}}, options), HasSubstr("--top-p"));
}

TEST_F(GeneratorTest, ARowInABatchSamplesAsItDoesAlone) {
  GenerationOptions options;
  options.maxNewTokens = 12;
  options.sampling.temperature = 1.5f;
  options.sampling.seed = 5;
  Ids prompt = findPrompt(/*stops=*/false, 12);
  Ids alone = generateOrFail({prompt}, options).generated.front();
  std::vector<Ids> batched =
      generateOrFail({{1, 4}, prompt, prompt}, options).generated;
  EXPECT_EQ(batched[1], alone);
  EXPECT_EQ(batched[2], alone);
}

TEST_F(GeneratorTest, TheObserverSeesEveryTokenAndCanEndARow) {
  Ids prompt = findPrompt(/*stops=*/false, 10);
  Ids expected = referenceGreedy(prompt, 10);
  GenerationOptions options;
  options.maxNewTokens = 10;
  std::vector<std::pair<size_t, int32_t>> seen;
  options.onToken = [&](size_t row, int32_t token,
                        const GeneratedTokenLogprobs *logprobs) {
    EXPECT_EQ(logprobs, nullptr);
    seen.push_back({row, token});
    return seen.size() < 4;
  };
  Ids generated = generateOrFail({prompt}, options).generated.front();
  EXPECT_EQ(generated, Ids(expected.begin(), expected.begin() + 4));
  ASSERT_EQ(seen.size(), 4u);
  for (size_t i = 0; i < seen.size(); ++i)
    EXPECT_EQ(seen[i], std::make_pair(size_t(0), expected[i])) << i;
}

TEST_F(GeneratorTest, TheObserverSeesTheLogprobsTheResultKeeps) {
  Ids prompt = findPrompt(/*stops=*/false, 6);
  GenerationOptions options;
  options.maxNewTokens = 6;
  options.topLogprobs = 2;
  std::vector<GeneratedTokenLogprobs> seen;
  options.onToken = [&](size_t, int32_t,
                        const GeneratedTokenLogprobs *logprobs) {
    EXPECT_NE(logprobs, nullptr);
    if (logprobs)
      seen.push_back(*logprobs);
    return true;
  };
  GenerationResult result = generateOrFail({prompt}, options);
  const std::vector<GeneratedTokenLogprobs> &kept = result.logprobs.front();
  ASSERT_EQ(seen.size(), 6u);
  ASSERT_EQ(kept.size(), 6u);
  for (size_t i = 0; i < kept.size(); ++i) {
    EXPECT_EQ(seen[i].logprob, kept[i].logprob) << i;
    ASSERT_EQ(seen[i].top.size(), 2u) << i;
    for (size_t j = 0; j < 2; ++j) {
      EXPECT_EQ(seen[i].top[j].token, kept[i].top[j].token) << i;
      EXPECT_EQ(seen[i].top[j].logprob, kept[i].top[j].logprob) << i;
    }
  }
}

TEST_F(GeneratorTest, ContinuingPrefillsOnlyTheNewTokens) {
  const int64_t maxNew = 8;
  Ids first = findPrompt(/*stops=*/false, maxNew);
  Ids firstAnswer = greedy({first}, maxNew).front();
  // The cache holds `first` and the answer but its last token, which the
  // continuation prefills with the new tokens.
  Ids cached = first;
  cached.insert(cached.end(), firstAnswer.begin(), firstAnswer.end() - 1);
  Ids added = {firstAnswer.back(), 9, 11, 13};
  Ids whole = cached;
  whole.insert(whole.end(), added.begin(), added.end());

  GenerationOptions options;
  options.maxNewTokens = maxNew;
  std::string error;
  std::optional<GenerationResult> continued =
      generateContinuing(*model, cached, added, options, error);
  ASSERT_TRUE(continued) << error;
  EXPECT_EQ(continued->generated.front(), referenceGreedy(whole, maxNew));
  EXPECT_EQ(continued->promptTokens, int64_t(added.size()));
}

TEST_F(GeneratorTest, ContinuingRefusesToExceedMaxSeq) {
  GenerationOptions options;
  options.maxNewTokens = 9;
  std::string error;
  int64_t callsBefore = fakeModelCallCount();
  EXPECT_FALSE(
      generateContinuing(*model, Ids(30, 5), Ids(10, 6), options, error));
  EXPECT_THAT(error, HasSubstr("a prompt of 40 tokens plus 9 new tokens"));
  EXPECT_FALSE(generateContinuing(*model, {1}, {}, options, error));
  EXPECT_EQ(fakeModelCallCount(), callsBefore);
}

TEST_F(GeneratorTest, LogprobsAreTheRawLogitsOfEveryRowsTokens) {
  // Sampling with a repetition penalty in a padded batch: the
  // log-probabilities are still those of the fake's unpenalized logits
  // after each row's own history.
  GenerationOptions options;
  options.maxNewTokens = 6;
  options.topLogprobs = 3;
  options.ignoreEos = true;
  options.sampling.temperature = 0.9f;
  options.sampling.repetitionPenalty = 1.5f;
  std::vector<Ids> prompts = {{1, 7, 8, 9}, {1, 30}};
  GenerationResult result = generateOrFail(prompts, options);
  ASSERT_EQ(result.logprobs.size(), prompts.size());
  for (size_t row = 0; row < prompts.size(); ++row) {
    Ids history = prompts[row], positions;
    for (int32_t p = 0; p < int32_t(history.size()); ++p)
      positions.push_back(p);
    ASSERT_EQ(result.logprobs[row].size(), result.generated[row].size());
    for (size_t i = 0; i < result.generated[row].size(); ++i) {
      int32_t winner = fake::nextIndex(history.data(), positions.data(),
                                       int64_t(history.size()), kVocab);
      std::vector<float> logits;
      for (int64_t v = 0; v < kVocab; ++v)
        logits.push_back(fake::outputValue(v, winner));
      double normalizer = logSumExp(logits.data(), kVocab);
      int32_t token = result.generated[row][i];
      const GeneratedTokenLogprobs &step = result.logprobs[row][i];
      EXPECT_FLOAT_EQ(step.logprob, float(logits[token] - normalizer));
      ASSERT_EQ(step.top.size(), 3u);
      EXPECT_EQ(step.top[0].token, winner);
      EXPECT_FLOAT_EQ(step.top[0].logprob, float(4.0 - normalizer));
      EXPECT_GE(step.top[1].logprob, step.top[2].logprob);
      positions.push_back(int32_t(history.size()));
      history.push_back(token);
    }
  }
}

TEST_F(GeneratorTest, RefusesLogprobsBeyondTheVocabulary) {
  GenerationOptions options;
  options.maxNewTokens = 2;
  options.topLogprobs = kVocab + 1;
  EXPECT_THAT(
      refusal({{1, 2}}, options),
      HasSubstr("--logprobs must be between 0 and the vocabulary size, 64"));
  options.topLogprobs = -1;
  EXPECT_THAT(refusal({{1, 2}}, options), HasSubstr("--logprobs"));
}

namespace {

/// A prompt [1, x, y, z, x] whose greedy continuation starts with y, z: prompt
/// lookup's draft after the final x, [y, z, x], has its first two tokens
/// accepted.
Ids promptWhoseDraftIsAccepted() {
  for (int32_t x = 3; x < kVocab; ++x)
    for (int32_t y = 3; y < kVocab; ++y)
      for (int32_t z = 3; z < kVocab; ++z) {
        Ids prompt = {1, x, y, z, x};
        Ids continuation = referenceGreedy(prompt, 2);
        if (continuation == Ids{y, z})
          return prompt;
      }
  ADD_FAILURE() << "no such prompt";
  return {1};
}

GenerationOptions withPromptLookup(GenerationOptions options) {
  options.promptLookup.draftTokens = 3;
  return options;
}

} // namespace

TEST_F(GeneratorTest, PromptLookupKeepsTheDraftTokensTheModelChooses) {
  const int64_t maxNew = 12;
  Ids prompt = promptWhoseDraftIsAccepted();
  GenerationOptions options;
  options.maxNewTokens = maxNew;
  int64_t callsBefore = fakeModelCallCount();
  GenerationResult result = generateOrFail({prompt}, withPromptLookup(options));
  int64_t calls = fakeModelCallCount() - callsBefore;
  EXPECT_EQ(result.generated.front(), referenceGreedy(prompt, maxNew));
  EXPECT_GE(result.acceptedDraftTokens, 2);
  EXPECT_GE(result.draftTokens, result.acceptedDraftTokens);
  // One prefill, then one step per token after the first, less one for each
  // draft token kept.
  EXPECT_EQ(calls, int64_t(result.generated.front().size()) -
                       result.acceptedDraftTokens);
  EXPECT_EQ(result.decodeTokens, int64_t(result.generated.front().size()) - 1);
}

TEST_F(GeneratorTest, PromptLookupGeneratesWhatOneTokenPerStepDoes) {
  // Greedy and seeded sampling, with a repetition penalty, logprobs and
  // every step's logits: all the same, token for token, with and without
  // drafts, over prompts whose drafts are mostly rejected.
  GenerationOptions options;
  options.maxNewTokens = 20;
  options.topLogprobs = 2;
  options.keepDecodeLogits = true;
  options.ignoreEos = true;
  int64_t accepted = 0;
  for (float temperature : {0.0f, 1.5f}) {
    options.sampling.temperature = temperature;
    options.sampling.repetitionPenalty = temperature ? 1.3f : 1.0f;
    options.sampling.seed = 7;
    for (int32_t x = 3; x < 40; ++x) {
      Ids prompt = {1, x, 5, x, 9, 5, x};
      GenerationResult plain = generateOrFail({prompt}, options);
      GenerationResult drafted =
          generateOrFail({prompt}, withPromptLookup(options));
      ASSERT_EQ(drafted.generated, plain.generated) << x;
      ASSERT_EQ(drafted.decodeLogits, plain.decodeLogits) << x;
      ASSERT_EQ(drafted.logprobs.front().size(), plain.logprobs.front().size());
      for (size_t i = 0; i < plain.logprobs.front().size(); ++i)
        ASSERT_EQ(drafted.logprobs.front()[i].logprob,
                  plain.logprobs.front()[i].logprob);
      EXPECT_EQ(plain.draftTokens, 0);
      accepted += drafted.acceptedDraftTokens;
    }
  }
  EXPECT_GT(accepted, 0);
}

TEST_F(GeneratorTest, PromptLookupStopsAtEosTheObserverAndMaxNewTokens) {
  Ids prompt = promptWhoseDraftIsAccepted();
  GenerationOptions options;
  for (int64_t maxNew = 1; maxNew <= 4; ++maxNew) {
    options.maxNewTokens = maxNew;
    EXPECT_EQ(generateOrFail({prompt}, withPromptLookup(options)).generated,
              std::vector<Ids>{referenceGreedy(prompt, maxNew)});
  }
  options.maxNewTokens = 10;
  int seen = 0;
  options.onToken = [&](size_t, int32_t, const GeneratedTokenLogprobs *) {
    return ++seen < 2;
  };
  Ids generated =
      generateOrFail({prompt}, withPromptLookup(options)).generated.front();
  EXPECT_EQ(generated, referenceGreedy(prompt, 2));
  Ids stopper = findPrompt(/*stops=*/true, 20);
  options.onToken = nullptr;
  options.maxNewTokens = 20;
  EXPECT_EQ(generateOrFail({stopper}, withPromptLookup(options)).generated,
            std::vector<Ids>{referenceGreedy(stopper, 20)});
}

TEST_F(GeneratorTest, PromptLookupLeavesABatchToOneTokenPerStep) {
  GenerationOptions options;
  options.maxNewTokens = 8;
  Ids prompt = promptWhoseDraftIsAccepted();
  GenerationResult result =
      generateOrFail({prompt, {1, 4}}, withPromptLookup(options));
  EXPECT_EQ(result.generated.front(), referenceGreedy(prompt, 8));
  EXPECT_EQ(result.draftTokens, 0);
}

TEST_F(GeneratorTest, PromptLookupContinuesACachedSequence) {
  Ids prompt = promptWhoseDraftIsAccepted();
  Ids cached(prompt.begin(), prompt.end() - 2);
  Ids added(prompt.end() - 2, prompt.end());
  GenerationOptions options;
  generateOrFail({cached}, options); // Prefills the cache.
  options.maxNewTokens = 10;
  std::string error;
  std::optional<GenerationResult> continued = generateContinuing(
      *model, cached, added, withPromptLookup(options), error);
  ASSERT_TRUE(continued) << error;
  EXPECT_EQ(continued->generated.front(), referenceGreedy(prompt, 10));
  EXPECT_GE(continued->acceptedDraftTokens, 2);
}

TEST_F(GeneratorTest, RefusesANegativePromptLookup) {
  GenerationOptions options;
  options.maxNewTokens = 2;
  options.promptLookup.draftTokens = -1;
  EXPECT_THAT(refusal({{1, 2}}, options),
              HasSubstr("--prompt-lookup must be >= 0"));
  options.promptLookup = {3, 0};
  EXPECT_THAT(refusal({{1, 2}}, options),
              HasSubstr("--lookup-ngram must be >= 1"));
}

TEST_F(GeneratorTest, RowSamplingSamplesEachRowAsItsSettingsDoAlone) {
  GenerationOptions options;
  options.maxNewTokens = 12;
  options.sampling.temperature = 1.5f;
  Ids prompt = findPrompt(/*stops=*/false, 12);
  std::vector<Ids> alone;
  for (uint64_t seed : {3, 4}) {
    options.sampling.seed = seed;
    alone.push_back(generateOrFail({prompt}, options).generated.front());
  }
  ASSERT_NE(alone[0], alone[1]);
  options.rowSampling = {options.sampling, options.sampling};
  options.rowSampling[0].seed = 3;
  EXPECT_EQ(generateOrFail({prompt, prompt}, options).generated, alone);
  options.rowSampling.pop_back();
  EXPECT_THAT(refusal({prompt, prompt}, options),
              HasSubstr("1 rows' sampling settings for 2 prompts"));
}

TEST_F(GeneratorTest, RowsOfDifferentRequestsGenerateAsEachDoesAlone) {
  // A greedy row that stops early, a sampled one, and one that asks for no
  // tokens, each with its own limit.
  const std::vector<Ids> prompts = {findPrompt(/*stops=*/false, 10),
                                    findPrompt(/*stops=*/false, 10), {1, 9}};
  GenerationOptions greedyRow, sampledRow, emptyRow;
  greedyRow.maxNewTokens = 4;
  sampledRow.maxNewTokens = 10;
  sampledRow.sampling.temperature = 1.2f;
  sampledRow.sampling.seed = 7;
  const std::vector<GenerationOptions> each = {greedyRow, sampledRow,
                                               emptyRow};
  std::vector<Ids> alone;
  for (size_t row = 0; row < prompts.size(); ++row)
    alone.push_back(
        generateOrFail({prompts[row]}, each[row]).generated.front());
  ASSERT_EQ(alone[0].size(), 4u);
  ASSERT_EQ(alone[1].size(), 10u);

  GenerationOptions batch;
  batch.maxNewTokens = 10;
  batch.rowSampling = {greedyRow.sampling, sampledRow.sampling,
                       emptyRow.sampling};
  batch.rowMaxNewTokens = {4, 10, 0};
  EXPECT_EQ(generateOrFail(prompts, batch).generated, alone);

  batch.rowMaxNewTokens = {4, 11, 0};
  EXPECT_THAT(refusal(prompts, batch),
              HasSubstr("a row's token limit of 11 is not between 0 and "
                        "maxNewTokens, 10"));
  batch.rowMaxNewTokens = {4};
  EXPECT_THAT(refusal(prompts, batch),
              HasSubstr("1 rows' token limits for 3 prompts"));
}
