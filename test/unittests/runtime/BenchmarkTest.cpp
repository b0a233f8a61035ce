//===- BenchmarkTest.cpp - Speed measurement over the fake model ----------===//

#include "runtime/Benchmark.h"
#include "test/unittests/runtime/FakeArtifact.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

using namespace llamac;
using namespace llamac::test;

namespace {

class BenchmarkTest : public ::testing::Test {
protected:
  void SetUp() override {
    artifact = makeFakeArtifact(root, tinyCausalConfig(), 1, 32);
    std::string error;
    model = CompiledModel::load(artifact.artifactDir, "", error);
    ASSERT_TRUE(model) << error;
  }

  static BenchmarkOptions smallOptions() {
    BenchmarkOptions options;
    options.promptTokens = 8;
    options.decodeTokens = 4;
    options.repetitions = 1;
    options.bandwidthBytes = 16 << 20;
    options.bandwidthPasses = 1;
    return options;
  }

  TemporaryDirectory root;
  FakeArtifact artifact;
  std::unique_ptr<CompiledModel> model;
};

} // namespace

TEST_F(BenchmarkTest, AnUntiedEmbeddingCountsOneRowPerToken) {
  LlamaConfig config = tinyCausalConfig();
  uint64_t elements = 0;
  for (const WeightRequirement &weight : canonicalWeightNames(config))
    if (weight.name != "model.embed_tokens.weight")
      elements += uint64_t(weight.shape[0]) *
                  (weight.shape.size() == 2 ? uint64_t(weight.shape[1]) : 1);
  elements += uint64_t(config.hiddenSize);
  EXPECT_EQ(weightBytesReadPerToken(model->manifest()), elements * 4);
}

TEST_F(BenchmarkTest, ATiedEmbeddingIsReadWhole) {
  Manifest manifest = model->manifest();
  manifest.config.tieWordEmbeddings = true;
  uint64_t untied = weightBytesReadPerToken(model->manifest());
  uint64_t embedding = 64 * 16 * 4, oneRow = 16 * 4;
  EXPECT_EQ(weightBytesReadPerToken(manifest), untied - oneRow + embedding);
}

TEST_F(BenchmarkTest, MeasuresEveryRate) {
  std::string error;
  std::optional<BenchmarkResult> result =
      runBenchmark(*model, smallOptions(), error);
  ASSERT_TRUE(result) << error;
  EXPECT_GT(result->prefillTokensPerSecond, 0);
  EXPECT_GT(result->decodeTokensPerSecond, 0);
  EXPECT_GT(result->readBytesPerSecond, 0);
  EXPECT_GT(result->floorTokensPerSecond(), 0);
}

TEST_F(BenchmarkTest, RefusesMoreTokensThanMaxSeq) {
  BenchmarkOptions options = smallOptions();
  options.promptTokens = 30;
  options.decodeTokens = 3;
  std::string error;
  EXPECT_FALSE(runBenchmark(*model, options, error));
  EXPECT_THAT(error, ::testing::HasSubstr("max_seq of 32"));
}
