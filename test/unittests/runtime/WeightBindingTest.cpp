//===- WeightBindingTest.cpp - Weights for the weight table ---------------===//

#include "frontends/Synthesize.h"
#include "runtime/Int4Weights.h"
#include "runtime/ModelABI.h"
#include "runtime/WeightBinding.h"

#include <cstring>
#include <gtest/gtest.h>

using namespace llamac;

namespace {

/// A norm, a dense f16 matrix and an int4 one in groups of 8.
std::vector<WeightTableEntry> table() {
  return {{"model.norm.weight", DType::F32, {16}, 0},
          {"model.embed_tokens.weight", DType::F16, {32, 16}, 0},
          {"model.layers.0.mlp.down_proj.weight", DType::F16, {24, 16}, 8}};
}

std::vector<uint8_t> bytesOf(const void *data, size_t size) {
  const auto *bytes = static_cast<const uint8_t *>(data);
  return {bytes, bytes + size};
}

} // namespace

TEST(RandomWeights, EntryIHoldsStreamIAndInt4EntriesItsQuantization) {
  std::string error;
  const std::vector<WeightTableEntry> entries = table();
  std::optional<BoundWeights> bound = bindRandomWeights(entries, 3, error);
  ASSERT_TRUE(bound) << error;
  ASSERT_EQ(bound->pointers.size(), entries.size());
  for (size_t i = 0; i < entries.size(); ++i) {
    const WeightTableEntry &entry = entries[i];
    SCOPED_TRACE(entry.name);
    std::vector<uint8_t> drawn(elementCount(entry.shape) * dtypeSize(entry.dtype));
    fillRandomWeight(entry.shape, entry.dtype, 3, i, drawn.data());
    if (!entry.int4GroupSize) {
      EXPECT_EQ(bytesOf(bound->pointers[i], drawn.size()), drawn);
      continue;
    }
    std::optional<std::vector<uint8_t>> quantized =
        quantizeInt4(drawn.data(), entry.dtype, entry.shape[0], entry.shape[1],
                     entry.int4GroupSize, entry.name, error);
    ASSERT_TRUE(quantized) << error;
    EXPECT_EQ(bytesOf(bound->pointers[i], quantized->size()), *quantized);
  }
}

TEST(RandomWeights, AnotherSeedDrawsOtherValues) {
  std::string error;
  std::optional<BoundWeights> a = bindRandomWeights(table(), 3, error);
  std::optional<BoundWeights> b = bindRandomWeights(table(), 4, error);
  ASSERT_TRUE(a && b) << error;
  EXPECT_NE(bytesOf(a->pointers[1], 32 * 16 * 2), bytesOf(b->pointers[1], 32 * 16 * 2));
}

namespace {

/// A checkpoint holding one [2, 8] weight `w` stored as int4 in groups of 4.
struct StoredInt4 {
  std::vector<uint8_t> layout = std::vector<uint8_t>(int4BufferBytes(2, 8, 4), 7);
  ModelSpec spec;

  StoredInt4() {
    spec.sourcePath = "checkpoint";
    WeightInfo weight{"w", DType::F16, {2, 8}, layout.data(), layout.size()};
    weight.int4GroupSize = 4;
    spec.weights.push_back(weight);
  }
};

} // namespace

TEST(WeightBindingTest, BindsAStoredInt4WeightInPlace) {
  StoredInt4 checkpoint;
  std::string error;
  std::optional<BoundWeights> bound =
      bindWeights({{"w", DType::F32, {2, 8}, 4}}, checkpoint.spec, error);
  ASSERT_TRUE(bound) << error;
  EXPECT_EQ(bound->pointers[0], checkpoint.layout.data())
      << "whatever dtype it was quantized from";
  EXPECT_TRUE(bound->owned.empty());
}

TEST(WeightBindingTest, RefusesAStoredInt4WeightTheArtifactReadsOtherwise) {
  StoredInt4 checkpoint;
  std::string error;
  EXPECT_FALSE(bindWeights({{"w", DType::F16, {2, 8}, 8}}, checkpoint.spec, error));
  EXPECT_EQ(error, "checkpoint: weight 'w' is stored as int4 in groups of 4, the "
                   "artifact expects int4 in groups of 8 (compile an artifact from "
                   "this checkpoint)");
  EXPECT_FALSE(bindWeights({{"w", DType::F16, {2, 8}, 0}}, checkpoint.spec, error));
  EXPECT_EQ(error, "checkpoint: weight 'w' is stored as int4 in groups of 4, the "
                   "artifact expects f16 (compile an artifact from this checkpoint)");
  EXPECT_FALSE(bindWeights({{"w", DType::F16, {8, 2}, 4}}, checkpoint.spec, error));
  EXPECT_EQ(error, "checkpoint: weight 'w' shape is [2, 8], the artifact expects [8, 2]");
}
