//===- TokenBatchTest.cpp - Left padding and decode bookkeeping -----------===//

#include "runtime/Classifier.h"
#include "runtime/TokenBatch.h"

#include <gtest/gtest.h>

using namespace llamac;

using Ids = std::vector<int32_t>;

TEST(TokenBatchTest, LeftPadsToTheLongestRow) {
  TokenBatch batch = padLeft({{1, 2, 3}, {4}, {5, 6}}, 9);
  EXPECT_EQ(batch.batchSize, 3);
  EXPECT_EQ(batch.length, 3);
  EXPECT_EQ(batch.tokens, (Ids{1, 2, 3, 9, 9, 4, 9, 5, 6}));
  EXPECT_EQ(batch.positions, (Ids{0, 1, 2, 0, 0, 0, 0, 0, 1}));
  EXPECT_EQ(batch.firstSlot, (Ids{0, 2, 1}));
}

TEST(TokenBatchTest, DecodeStepsContinueEachRowsPositions) {
  TokenBatch step = padLeft({{1, 2, 3}, {4}}, 0);
  step = nextDecodeStep(step, {7, 8});
  EXPECT_EQ(step.length, 1);
  EXPECT_EQ(step.tokens, (Ids{7, 8}));
  EXPECT_EQ(step.positions, (Ids{3, 1}));
  EXPECT_EQ(step.firstSlot, (Ids{0, 2}));
  step = nextDecodeStep(step, {5, 6});
  EXPECT_EQ(step.positions, (Ids{4, 2}));
  EXPECT_EQ(step.firstSlot, (Ids{0, 2}));
}

TEST(TokenBatchTest, AContinuationFollowsTheCachedTokens) {
  TokenBatch batch = continueRow({7, 8, 9}, 5);
  EXPECT_EQ(batch.batchSize, 1);
  EXPECT_EQ(batch.length, 3);
  EXPECT_EQ(batch.tokens, (Ids{7, 8, 9}));
  EXPECT_EQ(batch.positions, (Ids{5, 6, 7}));
  EXPECT_EQ(batch.firstSlot, (Ids{0}));
  EXPECT_EQ(nextDecodeStep(batch, {4}).positions, (Ids{8}));
}

TEST(TokenBatchTest, ScoreIsReadAtTheRightmostNonPadToken) {
  // The seqcls fixture's rows: the first right-padded with its pad id 0.
  TokenBatch batch = padLeft({{1, 10, 20, 30, 40, 0, 0},
                              {1, 50, 60, 70, 80, 90, 100}},
                             0);
  EXPECT_EQ(scorePosition(batch, 0, 0), 4);
  EXPECT_EQ(scorePosition(batch, 1, 0), 6);
  EXPECT_EQ(scorePosition(batch, 0, std::nullopt), 6);
}

TEST(TokenBatchTest, ScoreOfALeftPaddedRowIsAtItsLastToken) {
  TokenBatch batch = padLeft({{1, 5, 6, 7}, {1, 8}}, 0);
  EXPECT_EQ(scorePosition(batch, 1, 0), 3);
  TokenBatch allPads = padLeft({{1, 5, 6}, {0}}, 0);
  EXPECT_EQ(scorePosition(allPads, 1, 0), 2);
}
