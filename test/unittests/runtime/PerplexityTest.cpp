//===- PerplexityTest.cpp - Sliding-window perplexity over the fake model -===//

#include "runtime/Perplexity.h"
#include "test/unittests/runtime/FakeArtifact.h"
#include "test/unittests/runtime/FakeModelRule.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <cmath>

using namespace llamac;
using namespace llamac::test;
using ::testing::HasSubstr;

namespace {

using Ids = std::vector<int32_t>;
constexpr int64_t kVocab = 64;

/// -log p(tokens[target] | tokens[begin, target)) under the fake's rule,
/// the window run alone from position 0.
double fakeNegativeLogProbability(const Ids &tokens, int64_t begin,
                                  int64_t target) {
  Ids history(tokens.begin() + begin, tokens.begin() + target), positions;
  for (int32_t position = 0; position < int32_t(history.size()); ++position)
    positions.push_back(position);
  int32_t winner = fake::nextIndex(history.data(), positions.data(),
                                   int64_t(history.size()), kVocab);
  double sum = 0;
  for (int64_t i = 0; i < kVocab; ++i)
    sum += std::exp(double(fake::outputValue(i, winner)));
  return std::log(sum) - fake::outputValue(tokens[target], winner);
}

double fakeNegativeLogLikelihood(const Ids &tokens,
                                 const std::vector<PerplexityWindow> &windows) {
  double total = 0;
  for (const PerplexityWindow &window : windows)
    for (int64_t token = window.firstScored; token < window.end; ++token)
      total += fakeNegativeLogProbability(tokens, window.begin, token);
  return total;
}

Ids textOf(int64_t length) {
  Ids tokens = {1};
  for (int64_t i = 1; i < length; ++i)
    tokens.push_back(int32_t((i * 29 + 3) % kVocab));
  return tokens;
}

class PerplexityTest : public ::testing::Test {
protected:
  void SetUp() override {
    artifact = makeFakeArtifact(root, tinyCausalConfig(), /*maxBatch=*/2,
                                /*maxSeq=*/16);
    std::string error;
    model = CompiledModel::load(artifact.artifactDir, "", error);
    ASSERT_TRUE(model) << error;
  }

  PerplexityResult evaluateOrFail(const Ids &tokens,
                                  PerplexityOptions options) {
    std::string error;
    std::optional<PerplexityResult> result =
        evaluatePerplexity(*model, tokens, options, error);
    EXPECT_TRUE(result) << error;
    return result.value_or(PerplexityResult());
  }

  TemporaryDirectory root;
  FakeArtifact artifact;
  std::unique_ptr<CompiledModel> model;
};

} // namespace

TEST(PlanWindowsTest, OverlappingWindowsScoreEveryTokenButTheFirstOnce) {
  std::vector<PerplexityWindow> windows = planWindows(10, 4, 2);
  ASSERT_EQ(windows.size(), 4u);
  EXPECT_EQ(windows[0].begin, 0);
  EXPECT_EQ(windows[0].end, 4);
  EXPECT_EQ(windows[0].firstScored, 1);
  EXPECT_EQ(windows[1].begin, 2);
  EXPECT_EQ(windows[1].end, 6);
  EXPECT_EQ(windows[1].firstScored, 4);
  EXPECT_EQ(windows[3].begin, 6);
  EXPECT_EQ(windows[3].end, 10);
  EXPECT_EQ(windows[3].firstScored, 8);
}

TEST(PlanWindowsTest, EachTokenSeesAtLeastWindowMinusStrideBeforeIt) {
  for (int64_t tokens : {2, 3, 7, 16, 31})
    for (int64_t window : {2, 3, 5, 8})
      for (int64_t stride = 1; stride < window; ++stride) {
        int64_t next = 1;
        for (const PerplexityWindow &w : planWindows(tokens, window, stride)) {
          ASSERT_EQ(w.firstScored, next)
              << tokens << " " << window << " " << stride;
          EXPECT_GE(w.firstScored - w.begin,
                    std::min(w.firstScored, window - stride));
          EXPECT_LE(w.end - w.begin, window);
          next = w.end;
        }
        EXPECT_EQ(next, tokens);
      }
}

TEST(PlanWindowsTest, DisjointWindowsLeaveEachWindowsFirstTokenUnscored) {
  std::vector<PerplexityWindow> windows = planWindows(9, 4, 4);
  // Tokens 0, 4 and 8 start windows; the last window, [8, 9), scores
  // nothing and is not run.
  ASSERT_EQ(windows.size(), 2u);
  EXPECT_EQ(windows[1].begin, 4);
  EXPECT_EQ(windows[1].firstScored, 5);
  EXPECT_EQ(windows[1].end, 8);
}

TEST_F(PerplexityTest, OneWindowScoresEveryTokenAfterTheFirst) {
  Ids tokens = textOf(12);
  PerplexityResult result = evaluateOrFail(tokens, {12, 12, nullptr});
  EXPECT_EQ(result.windows, 1);
  EXPECT_EQ(result.scoredTokens, 11);
  EXPECT_EQ(result.processedTokens, 12);
  double expected = fakeNegativeLogLikelihood(tokens, {{0, 12, 1}});
  EXPECT_NEAR(result.negativeLogLikelihood, expected, 1e-12 * expected);
  EXPECT_NEAR(result.perplexity(), std::exp(expected / 11),
              1e-12 * result.perplexity());
}

TEST_F(PerplexityTest, BatchedWindowsScoreAsEachWouldAlone) {
  // Nine windows in batches of two; the last, shorter than the rest, alone.
  Ids tokens = textOf(31);
  std::vector<PerplexityWindow> windows = planWindows(31, 8, 3);
  std::vector<int64_t> progress;
  PerplexityResult result = evaluateOrFail(
      tokens, {8, 3, [&](const PerplexityResult &sofar, int64_t total) {
                 EXPECT_EQ(total, int64_t(windows.size()));
                 progress.push_back(sofar.windows);
               }});
  EXPECT_EQ(result.windows, int64_t(windows.size()));
  EXPECT_EQ(result.scoredTokens, 30);
  double expected = fakeNegativeLogLikelihood(tokens, windows);
  EXPECT_NEAR(result.negativeLogLikelihood, expected, 1e-12 * expected);
  EXPECT_EQ(windows.size(), 9u);
  EXPECT_EQ(windows.back().end - windows.back().begin, 7);
  EXPECT_EQ(progress, (std::vector<int64_t>{2, 4, 6, 8, 9}));
}

TEST_F(PerplexityTest, RefusesBeforeComputing) {
  int64_t callsBefore = fakeModelCallCount();
  std::string error;
  EXPECT_FALSE(evaluatePerplexity(*model, textOf(20), {17, 8, nullptr}, error));
  EXPECT_THAT(error, HasSubstr("max_seq of 16"));
  EXPECT_FALSE(evaluatePerplexity(*model, textOf(20), {8, 9, nullptr}, error));
  EXPECT_THAT(error, HasSubstr("would go unscored"));
  EXPECT_FALSE(evaluatePerplexity(*model, {1}, {8, 4, nullptr}, error));
  EXPECT_THAT(error, HasSubstr("needs at least 2"));
  EXPECT_FALSE(evaluatePerplexity(*model, {1, 64}, {8, 4, nullptr}, error));
  EXPECT_THAT(error, HasSubstr("outside the vocabulary"));
  EXPECT_EQ(fakeModelCallCount(), callsBefore);
}
