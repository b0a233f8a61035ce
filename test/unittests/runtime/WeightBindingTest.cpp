//===- WeightBindingTest.cpp - Random weights for the weight table --------===//

#include "frontends/Synthesize.h"
#include "runtime/Int4Weights.h"
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
