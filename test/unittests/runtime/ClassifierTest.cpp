//===- ClassifierTest.cpp - Sequence classification over the fake model ---===//

#include "runtime/Classifier.h"
#include "test/unittests/runtime/FakeArtifact.h"
#include "test/unittests/runtime/FakeModelRule.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

using namespace llamac;
using namespace llamac::test;
using ::testing::HasSubstr;

namespace {

using Ids = std::vector<int32_t>;
constexpr int64_t kLabels = 3;

/// The fake's scores after the first `count` tokens of `row`, run alone.
std::vector<float> referenceScores(const Ids &row, int64_t count) {
  Ids positions;
  for (int32_t position = 0; position < int32_t(count); ++position)
    positions.push_back(position);
  int32_t winner = fake::nextIndex(row.data(), positions.data(), count, kLabels);
  std::vector<float> scores;
  for (int64_t label = 0; label < kLabels; ++label)
    scores.push_back(fake::outputValue(label, winner));
  return scores;
}

class ClassifierTest : public ::testing::Test {
protected:
  void SetUp() override {
    artifact = makeFakeArtifact(root, tinyClassifierConfig(), /*maxBatch=*/2,
                                /*maxSeq=*/16);
    std::string error;
    model = CompiledModel::load(artifact.artifactDir, "", error);
    ASSERT_TRUE(model) << error;
  }

  std::vector<std::vector<float>> classifyOrFail(const std::vector<Ids> &rows) {
    std::string error;
    auto scores = classify(*model, rows, error);
    EXPECT_TRUE(scores) << error;
    return scores ? *scores : std::vector<std::vector<float>>();
  }

  TemporaryDirectory root;
  FakeArtifact artifact;
  std::unique_ptr<CompiledModel> model;
};

} // namespace

TEST_F(ClassifierTest, ReadsScoresAtTheLastNonPadToken) {
  Ids padded = {1, 10, 20, 30, 40, 0, 0};
  Ids full = {1, 50, 60, 7, 8, 9, 10};
  std::vector<std::vector<float>> scores = classifyOrFail({padded, full});
  ASSERT_EQ(scores.size(), 2u);
  EXPECT_EQ(scores[0], referenceScores(padded, 5));
  EXPECT_EQ(scores[1], referenceScores(full, 7));
}

TEST_F(ClassifierTest, RowsOfAnyLengthAndNumberScoreAsAlone) {
  std::vector<Ids> rows = {{1, 2, 3}, {1, 4, 5, 6, 7}, {8, 9}, {1, 5}, {3}};
  std::vector<std::vector<float>> scores = classifyOrFail(rows);
  ASSERT_EQ(scores.size(), rows.size());
  for (size_t row = 0; row < rows.size(); ++row)
    EXPECT_EQ(scores[row], referenceScores(rows[row], int64_t(rows[row].size())))
        << row;
}

TEST_F(ClassifierTest, RefusesARowLongerThanMaxSeqBeforeComputing) {
  int64_t callsBefore = fakeModelCallCount();
  std::string error;
  EXPECT_FALSE(classify(*model, {{1, 2}, Ids(17, 4)}, error));
  EXPECT_THAT(error, HasSubstr("max_seq of 16"));
  EXPECT_EQ(fakeModelCallCount(), callsBefore);
}
