//===- SamplerTest.cpp - Sampling options and seeded draws ----------------===//

#include "runtime/Sampler.h"

#include <cmath>
#include <gtest/gtest.h>
#include <limits>
#include <random>

using namespace llamac;

namespace {

std::vector<float> randomLogits(uint64_t seed, int64_t size) {
  std::mt19937_64 random(seed);
  std::normal_distribution<float> normal(0, 3);
  std::vector<float> logits(size);
  for (float &logit : logits)
    logit = normal(random);
  return logits;
}

/// Logits whose softmax is exactly `probabilities`.
std::vector<float> logitsOf(const std::vector<float> &probabilities) {
  std::vector<float> logits;
  for (float probability : probabilities)
    logits.push_back(std::log(probability));
  return logits;
}

std::vector<int32_t> tokensOf(const std::vector<TokenProbability> &kept) {
  std::vector<int32_t> tokens;
  for (const TokenProbability &candidate : kept)
    tokens.push_back(candidate.token);
  return tokens;
}

int32_t sampleOnce(const SamplingOptions &options, std::vector<float> logits) {
  Sampler sampler(options);
  return sampler.next(logits.data(), int64_t(logits.size()), {}, {});
}

} // namespace

TEST(SamplerTest, ArgmaxPrefersTheLowestIndexAmongEquals) {
  std::vector<float> logits = {1, 3, 2, 3, 3};
  EXPECT_EQ(argmax(logits.data(), 5), 1);
}

TEST(SamplerTest, GreedyIsArgmax) {
  std::vector<float> logits = randomLogits(1, 1000);
  EXPECT_EQ(sampleOnce(SamplingOptions(), logits), argmax(logits.data(), 1000));
}

TEST(SamplerTest, TopKOneIsGreedy) {
  for (uint64_t seed = 0; seed < 20; ++seed) {
    std::vector<float> logits = randomLogits(seed, 500);
    SamplingOptions options;
    options.temperature = 1.5f;
    options.topK = 1;
    options.seed = seed;
    EXPECT_EQ(sampleOnce(options, logits), argmax(logits.data(), 500));
  }
}

TEST(SamplerTest, TopKOneIsGreedyAmongEqualLogits) {
  SamplingOptions options;
  options.temperature = 1;
  options.topK = 1;
  EXPECT_EQ(sampleOnce(options, {0, 5, 5, 1}), 1);
}

TEST(SamplerTest, TemperatureTowardZeroIsGreedy) {
  for (uint64_t seed = 0; seed < 20; ++seed) {
    std::vector<float> logits = randomLogits(seed, 500);
    SamplingOptions options;
    options.temperature = 1e-4f;
    options.seed = seed;
    EXPECT_EQ(sampleOnce(options, logits), argmax(logits.data(), 500));
  }
}

TEST(SamplerTest, TopKKeepsExactlyKRenormalized) {
  SamplingOptions options;
  options.temperature = 1;
  options.topK = 2;
  std::vector<float> logits = logitsOf({0.15f, 0.5f, 0.05f, 0.3f});
  std::vector<TokenProbability> kept =
      samplingCandidates(logits.data(), 4, options);
  EXPECT_EQ(tokensOf(kept), (std::vector<int32_t>{1, 3}));
  EXPECT_NEAR(kept[0].probability, 0.625f, 1e-6);
  EXPECT_NEAR(kept[1].probability, 0.375f, 1e-6);
}

TEST(SamplerTest, TopPKeepsTheSmallestSetReachingP) {
  SamplingOptions options;
  options.temperature = 1;
  std::vector<float> logits = logitsOf({0.15f, 0.5f, 0.05f, 0.3f});
  options.topP = 0.75f;
  EXPECT_EQ(tokensOf(samplingCandidates(logits.data(), 4, options)),
            (std::vector<int32_t>{1, 3}));
  options.topP = 0.85f;
  EXPECT_EQ(tokensOf(samplingCandidates(logits.data(), 4, options)),
            (std::vector<int32_t>{1, 3, 0}));
  options.topP = 0.3f;
  EXPECT_EQ(tokensOf(samplingCandidates(logits.data(), 4, options)),
            (std::vector<int32_t>{1}));
}

TEST(SamplerTest, MinPDropsTokensFarBelowTheMostLikely) {
  SamplingOptions options;
  options.temperature = 1;
  std::vector<float> logits = logitsOf({0.15f, 0.5f, 0.05f, 0.3f});
  options.minP = 0.25f; // keeps probability >= 0.125
  std::vector<TokenProbability> kept =
      samplingCandidates(logits.data(), 4, options);
  EXPECT_EQ(tokensOf(kept), (std::vector<int32_t>{1, 3, 0}));
  EXPECT_NEAR(kept[0].probability, 0.5f / 0.95f, 1e-6);
  options.minP = 0.7f; // keeps probability >= 0.35
  EXPECT_EQ(tokensOf(samplingCandidates(logits.data(), 4, options)),
            (std::vector<int32_t>{1}));
}

TEST(SamplerTest, TemperatureFlattensTheDistribution) {
  SamplingOptions options;
  options.temperature = 2;
  std::vector<float> logits = {0, std::log(4.0f)};
  std::vector<TokenProbability> kept =
      samplingCandidates(logits.data(), 2, options);
  EXPECT_NEAR(kept[0].probability, 2.0f / 3, 1e-6); // odds 4 become 2
}

TEST(SamplerTest, RepetitionPenaltyFollowsHuggingFace) {
  std::vector<float> logits = {2, -2, 1, 0.5f};
  applyRepetitionPenalty(logits.data(), 4, {0, 1, 1, 0}, 2);
  EXPECT_EQ(logits, (std::vector<float>{1, -4, 1, 0.5f}));
}

TEST(SamplerTest, RepetitionPenaltyAppliesWhenGreedy) {
  SamplingOptions options;
  options.repetitionPenalty = 4;
  std::vector<float> logits = {3, 2, 0};
  Sampler sampler(options);
  EXPECT_EQ(sampler.next(logits.data(), 3, {0}, {}), 1); // 3 / 4 < 2
}

TEST(SamplerTest, PresenceAndFrequencyPenaltiesFollowOpenAI) {
  // logit -= frequency * count + presence * (count > 0).
  std::vector<float> logits = {2, -2, 1, 0.5f};
  applyPresenceAndFrequencyPenalties(logits.data(), 4, {1, 0, 1, 1}, 0.5f,
                                     0.25f);
  EXPECT_EQ(logits, (std::vector<float>{1.25f, -3.25f, 1, 0.5f}));
  applyPresenceAndFrequencyPenalties(logits.data(), 4, {2}, -1, -1);
  EXPECT_EQ(logits, (std::vector<float>{1.25f, -3.25f, 3, 0.5f}));
}

TEST(SamplerTest, PresencePenaltyCountsGeneratedTokensOnly) {
  // Token 0 is in the prompt only: unpenalized; token 1 was generated.
  SamplingOptions options;
  options.presencePenalty = 2;
  std::vector<float> logits = {3, 3.5f, 2};
  Sampler sampler(options);
  EXPECT_EQ(sampler.next(logits.data(), 3, {0, 0, 1}, {1}), 0);
}

TEST(SamplerTest, RepeatedNgramsAreBannedAsHuggingFaceBansThem) {
  // transformers' test_no_repeat_ngram_dist_processor: vocabulary of 3.
  auto banned = [](const std::vector<int32_t> &history, int64_t n) {
    std::vector<float> logits(3, 0.0f);
    banRepeatedNgrams(logits.data(), 3, history, n);
    std::vector<bool> isBanned;
    for (float logit : logits)
      isBanned.push_back(std::isinf(logit));
    return isBanned;
  };
  EXPECT_EQ(banned({1, 1, 2, 1}, 2), (std::vector<bool>{false, true, true}));
  EXPECT_EQ(banned({0, 1, 0, 1}, 2), (std::vector<bool>{true, false, false}));
  EXPECT_EQ(banned({1, 1, 2, 1}, 3), (std::vector<bool>{false, false, false}));
  EXPECT_EQ(banned({0, 1, 0, 1}, 3), (std::vector<bool>{true, false, false}));
  // Too short a history for an n-gram, and n = 1: every token seen.
  EXPECT_EQ(banned({0}, 3), (std::vector<bool>{false, false, false}));
  EXPECT_EQ(banned({0, 2}, 1), (std::vector<bool>{true, false, true}));
  EXPECT_EQ(banned({}, 0), (std::vector<bool>{false, false, false}));
}

TEST(SamplerTest, EosIsHeldBackUntilTheMinimumLength) {
  // EOS (token 0) is the likeliest; min_new_tokens counts generated tokens,
  // min_length the whole sequence.
  std::vector<float> logits = {5, 1, 2};
  SamplingOptions options;
  options.minNewTokens = 2;
  Sampler sampler(options, /*eosId=*/0);
  std::vector<float> step = logits;
  EXPECT_EQ(sampler.next(step.data(), 3, {7, 7}, {2}), 2);
  step = logits;
  EXPECT_EQ(sampler.next(step.data(), 3, {7, 7, 2, 2}, {2, 2}), 0);
  options = SamplingOptions();
  options.minLength = 4;
  Sampler byLength(options, /*eosId=*/0);
  step = logits;
  EXPECT_EQ(byLength.next(step.data(), 3, {7, 7, 2}, {2}), 2);
  step = logits;
  EXPECT_EQ(byLength.next(step.data(), 3, {7, 7, 2, 2}, {2, 2}), 0);
  // Without an EOS to hold back, nothing is banned.
  step = logits;
  EXPECT_EQ(Sampler(options).next(step.data(), 3, {7}, {}), 0);
}

TEST(SamplerTest, WithEveryTokenBannedEvenSamplingTakesTheFirst) {
  SamplingOptions options;
  options.temperature = 1;
  options.noRepeatNgramSize = 1;
  std::vector<float> logits = {1, 3, 2};
  Sampler sampler(options);
  EXPECT_EQ(sampler.next(logits.data(), 3, {2, 1, 0}, {}), 0);
}

TEST(SamplerTest, RefusesPenaltiesOutsideOpenAIsRange) {
  SamplingOptions options;
  options.presencePenalty = 2.5f;
  EXPECT_EQ(validateSamplingOptions(options, 10),
            "--presence-penalty must be between -2 and 2");
  options.presencePenalty = -2;
  options.frequencyPenalty = NAN;
  EXPECT_EQ(validateSamplingOptions(options, 10, SettingNames::Json),
            "frequency_penalty must be between -2 and 2");
  options.frequencyPenalty = 0;
  options.noRepeatNgramSize = -1;
  EXPECT_EQ(validateSamplingOptions(options, 10),
            "--no-repeat-ngram-size must be >= 0");
  options.noRepeatNgramSize = 0;
  options.minNewTokens = -2;
  EXPECT_EQ(validateSamplingOptions(options, 10, SettingNames::Json),
            "min_tokens must be >= 0");
}

TEST(SamplerTest, DrawsFollowTheDistribution) {
  SamplingOptions options;
  options.temperature = 1;
  options.seed = 3;
  std::vector<float> probabilities = {0.15f, 0.5f, 0.05f, 0.3f};
  std::vector<float> logits = logitsOf(probabilities);
  Sampler sampler(options);
  std::vector<int> counts(4);
  const int draws = 20000;
  for (int i = 0; i < draws; ++i) {
    std::vector<float> scratch = logits;
    ++counts[sampler.next(scratch.data(), 4, {}, {})];
  }
  for (int token = 0; token < 4; ++token)
    EXPECT_NEAR(double(counts[token]) / draws, probabilities[token], 0.015);
}

TEST(SamplerTest, NeverDrawsATokenARowMayNotHave) {
  // A constraint (JSON mode) leaves every third token of 3,000; the others'
  // logits are -infinity, whatever the settings keep.
  std::vector<float> logits = randomLogits(5, 3000);
  for (size_t token = 0; token < logits.size(); ++token)
    if (token % 3 != 0)
      logits[token] = -std::numeric_limits<float>::infinity();
  for (int64_t topK : {0, 2000}) {
    SamplingOptions options;
    options.temperature = 1.5f;
    options.topK = topK;
    options.presencePenalty = 1;
    Sampler sampler(options);
    for (int i = 0; i < 5000; ++i) {
      std::vector<float> scratch = logits;
      const int32_t token = sampler.next(scratch.data(), 3000, {}, {3, 4});
      ASSERT_EQ(token % 3, 0) << "top-k " << topK << ", draw " << i;
    }
  }
}

TEST(SamplerTest, TheSeedAloneChoosesTheTokens) {
  SamplingOptions options;
  options.temperature = 1;
  std::vector<float> logits = randomLogits(9, 100);
  auto draw = [&](uint64_t seed) {
    options.seed = seed;
    Sampler sampler(options);
    std::vector<int32_t> tokens;
    for (int i = 0; i < 50; ++i) {
      std::vector<float> scratch = logits;
      tokens.push_back(sampler.next(scratch.data(), 100, {}, {}));
    }
    return tokens;
  };
  EXPECT_EQ(draw(42), draw(42));
  EXPECT_NE(draw(42), draw(43));
}

TEST(SamplerTest, RejectsNonsenseOptions) {
  auto problem = [](auto change) {
    SamplingOptions options;
    change(options);
    return validateSamplingOptions(options, 10);
  };
  EXPECT_EQ(problem([](SamplingOptions &) {}), "");
  EXPECT_NE(problem([](SamplingOptions &o) { o.temperature = -1; }), "");
  EXPECT_NE(problem([](SamplingOptions &o) { o.topK = -1; }), "");
  EXPECT_NE(problem([](SamplingOptions &o) { o.topP = 0; }), "");
  EXPECT_NE(problem([](SamplingOptions &o) { o.topP = 1.5f; }), "");
  EXPECT_NE(problem([](SamplingOptions &o) { o.minP = -0.1f; }), "");
  EXPECT_NE(problem([](SamplingOptions &o) { o.repetitionPenalty = 0; }), "");
  EXPECT_EQ(problem([](SamplingOptions &o) { o.logitBias = {{9, -100}}; }), "");
  EXPECT_EQ(problem([](SamplingOptions &o) {
              o.logitBias = {{10, 1}};
            }),
            "--logit-bias names token id 10, outside the vocabulary of 10");
  EXPECT_EQ(problem([](SamplingOptions &o) {
              o.logitBias = {{-1, 1}};
            }),
            "--logit-bias names token id -1, outside the vocabulary of 10");
  EXPECT_EQ(problem([](SamplingOptions &o) {
              o.logitBias = {{3, 101}};
            }),
            "--logit-bias values must be between -100 and 100");
}

TEST(SamplerTest, LogitBiasIsAddedBeforeThePenalties) {
  SamplingOptions options;
  options.logitBias = {{0, -3}, {2, 1.5f}};
  options.repetitionPenalty = 2;
  std::vector<float> logits = {4, 1.5f, 1};
  Sampler sampler(options);
  // Token 0: (4 - 3) / 2 = 0.5; token 2: (1 + 1.5) / 2 = 1.25; token 1: 1.5.
  EXPECT_EQ(sampler.next(logits.data(), 3, {0, 2}, {}), 1);
  EXPECT_EQ(logits, (std::vector<float>{0.5f, 1.5f, 1.25f}));
}

TEST(SamplerTest, LogSumExpDoesNotOverflow) {
  std::vector<float> logits = {1000.0f, 1000.0f, -1000.0f};
  EXPECT_DOUBLE_EQ(logSumExp(logits.data(), 3), 1000.0 + std::log(2.0));
}

TEST(SamplerTest, MostLikelyTokensComeInOrderLowestIndexAmongEquals) {
  std::vector<float> logits = {0.5f, 2.0f, -1.0f, 2.0f, 1.0f};
  double normalizer = logSumExp(logits.data(), 5);
  std::vector<TokenLogprob> top =
      mostLikelyTokens(logits.data(), 5, 3, normalizer);
  ASSERT_EQ(top.size(), 3u);
  EXPECT_EQ(top[0].token, 1);
  EXPECT_EQ(top[1].token, 3);
  EXPECT_EQ(top[2].token, 4);
  EXPECT_FLOAT_EQ(top[2].logprob, float(1.0 - normalizer));
  EXPECT_TRUE(mostLikelyTokens(logits.data(), 5, 0, normalizer).empty());
}
