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

TEST_F(BenchmarkTest, AnInt4EntryCountsItsQuantizedLayout) {
  Manifest manifest = model->manifest();
  WeightTableEntry &embedding = manifest.weightTable[0];
  WeightTableEntry &query = manifest.weightTable[2];
  ASSERT_EQ(embedding.name, "model.embed_tokens.weight");
  ASSERT_EQ(query.name, "model.layers.0.self_attn.q_proj.weight");
  uint64_t stored = weightBytesReadPerToken(manifest);
  // [16, 16] in groups of 8: 128 bytes of codes, 32 groups of 4 bytes.
  query.int4GroupSize = 8;
  const uint64_t quantizedQuery = stored - 16 * 16 * 4 + 128 + 32 * 4;
  EXPECT_EQ(weightBytesReadPerToken(manifest), quantizedQuery);
  // One row of the untied [64, 16] embedding: 8 bytes of codes, one group.
  embedding.int4GroupSize = 16;
  EXPECT_EQ(weightBytesReadPerToken(manifest), quantizedQuery - 16 * 4 + 8 + 4);
}

TEST_F(BenchmarkTest, MeasuresEveryRateAgainstTheHostBandwidth) {
  std::string error;
  std::optional<BenchmarkResult> result =
      runBenchmark(*model, smallOptions(), error);
  ASSERT_TRUE(result) << error;
  EXPECT_GT(result->prefillTokensPerSecond, 0);
  EXPECT_GT(result->decodeTokensPerSecond, 0);
  EXPECT_GT(result->bandwidthBytesPerSecond, 0);
  EXPECT_GT(result->floorTokensPerSecond(), 0);
  EXPECT_EQ(result->bandwidthSource, kHostReadBandwidth);
  EXPECT_FALSE(result->processor.empty());
  // A CPU artifact has no device to profile.
  EXPECT_FALSE(result->launches);
}

TEST_F(BenchmarkTest, WithoutAContextDecodeFollowsThePrompt) {
  int64_t callsBefore = fakeModelCallCount();
  std::string error;
  std::optional<BenchmarkResult> result =
      runBenchmark(*model, smallOptions(), error);
  ASSERT_TRUE(result) << error;
  EXPECT_EQ(result->contextTokens, 8 + 4);
  // One prefill, then the decode steps.
  EXPECT_EQ(fakeModelCallCount() - callsBefore, 1 + 4);
}

TEST_F(BenchmarkTest, WithAContextDecodeFillsItsLastSlots) {
  BenchmarkOptions options = smallOptions();
  options.contextTokens = 32;
  int64_t callsBefore = fakeModelCallCount();
  std::string error;
  std::optional<BenchmarkResult> result = runBenchmark(*model, options, error);
  ASSERT_TRUE(result) << error;
  EXPECT_EQ(result->contextTokens, 32);
  EXPECT_EQ(result->promptTokens, 8);
  // The timed prefill, the untimed 28-token prompt decode follows, then the
  // decode steps in slots 28..31, the artifact's last.
  EXPECT_EQ(fakeModelCallCount() - callsBefore, 2 + 4);
}

/// The error of a refused request, which must compute nothing.
static std::string refusal(CompiledModel &model,
                           const BenchmarkOptions &options) {
  int64_t callsBefore = fakeModelCallCount();
  std::string error;
  EXPECT_FALSE(runBenchmark(model, options, error));
  EXPECT_EQ(fakeModelCallCount(), callsBefore);
  return error;
}

TEST_F(BenchmarkTest, RefusesMoreTokensThanMaxSeq) {
  BenchmarkOptions options = smallOptions();
  options.promptTokens = 30;
  options.decodeTokens = 3;
  EXPECT_EQ(refusal(*model, options),
            "-p 30 plus -n 3 exceeds the artifact's max_seq of 32");
}

TEST_F(BenchmarkTest, RefusesAContextBeyondMaxSeq) {
  BenchmarkOptions options = smallOptions();
  options.contextTokens = 33;
  EXPECT_EQ(refusal(*model, options),
            "--ctx 33 exceeds the artifact's max_seq of 32");
}

TEST_F(BenchmarkTest, RefusesAContextNoLongerThanTheDecodeSteps) {
  BenchmarkOptions options = smallOptions();
  options.contextTokens = 4;
  EXPECT_THAT(refusal(*model, options),
              ::testing::StartsWith("--ctx 4 must exceed -n 4"));
}

TEST_F(BenchmarkTest, WithAContextRefusesAPromptBeyondMaxSeq) {
  BenchmarkOptions options = smallOptions();
  options.contextTokens = 16;
  options.promptTokens = 40;
  EXPECT_EQ(refusal(*model, options),
            "-p 40 exceeds the artifact's max_seq of 32");
}
