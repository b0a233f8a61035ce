//===- SynthesizeTest.cpp - Checkpoints with random weights ---------------===//

#include "TestSupport.h"

#include "frontends/FloatConversion.h"
#include "frontends/Synthesize.h"

#include <cmath>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <iterator>

using namespace llamac;
using namespace llamac::testing;
namespace fs = std::filesystem;

namespace {

std::string readAll(const std::string &path) {
  std::ifstream stream(path, std::ios::binary);
  return std::string(std::istreambuf_iterator<char>(stream), {});
}

float valueAt(const WeightInfo &weight, size_t i) {
  const auto *bytes = static_cast<const uint8_t *>(weight.data);
  uint16_t half;
  std::memcpy(&half, bytes + 2 * i, 2);
  switch (weight.dtype) {
  case DType::F32:
    return static_cast<const float *>(weight.data)[i];
  case DType::F16:
    return halfBitsToFloat(half);
  case DType::BF16:
    return bfloat16BitsToFloat(half);
  }
  return NAN;
}

struct Moments {
  double mean, deviation;
};

Moments momentsOf(const WeightInfo &weight) {
  const size_t count = elementCount(weight.shape);
  double sum = 0, squares = 0;
  for (size_t i = 0; i < count; ++i) {
    double value = valueAt(weight, i);
    sum += value;
    squares += value * value;
  }
  double mean = sum / count;
  return {mean, std::sqrt(squares / count - mean * mean)};
}

class SynthesizeTest : public ::testing::TestWithParam<DType> {
protected:
  TempDir dir;
  std::string error;
};

TEST_P(SynthesizeTest, RoundTripsThroughTheLoader) {
  LlamaConfig config = tinyConfig();
  config.hiddenSize = 64;
  config.intermediateSize = 96;
  config.headDim = 16;
  ASSERT_TRUE(synthesizeCheckpoint(config, GetParam(), 7, dir.path(), error))
      << error;
  std::optional<ModelSpec> spec = loadHuggingFace(dir.path(), error);
  ASSERT_TRUE(spec) << error;
  config.dtype = GetParam();
  EXPECT_TRUE(sameConfig(spec->config, config));
  ASSERT_EQ(spec->weights.size(), canonicalWeightNames(config).size());
  for (const WeightInfo &weight : spec->weights) {
    SCOPED_TRACE(weight.name);
    EXPECT_EQ(weight.dtype, GetParam());
    Moments moments = momentsOf(weight);
    const bool isNorm = weight.shape.size() == 1;
    EXPECT_NEAR(moments.mean, isNorm ? 1.0 : 0.0, isNorm ? 0.01 : 0.002);
    EXPECT_NEAR(moments.deviation, 0.02, isNorm ? 0.008 : 0.002);
  }
}

TEST_P(SynthesizeTest, SameSeedSameBytes) {
  for (const char *name : {"a", "b"})
    ASSERT_TRUE(synthesizeCheckpoint(tinyConfig(), GetParam(), 42,
                                     dir.path(name), error))
        << error;
  ASSERT_TRUE(synthesizeCheckpoint(tinyConfig(), GetParam(), 43, dir.path("c"),
                                   error))
      << error;
  std::string a = readAll(dir.path("a/model.safetensors"));
  EXPECT_FALSE(a.empty());
  EXPECT_EQ(a, readAll(dir.path("b/model.safetensors")));
  EXPECT_NE(a, readAll(dir.path("c/model.safetensors")));
  EXPECT_EQ(readAll(dir.path("a/config.json")), readAll(dir.path("c/config.json")));
}

TEST_P(SynthesizeTest, ShardsHoldTheSameWeights) {
  ASSERT_TRUE(synthesizeCheckpoint(tinyConfig(), GetParam(), 5, dir.path("one"), error))
      << error;
  ASSERT_TRUE(synthesizeCheckpoint(tinyConfig(), GetParam(), 5, dir.path("many"),
                                   error, /*maxShardBytes=*/2000))
      << error;
  EXPECT_FALSE(fs::exists(dir.path("many/model.safetensors")));
  EXPECT_TRUE(fs::exists(dir.path("many/model.safetensors.index.json")));
  std::optional<ModelSpec> one = loadHuggingFace(dir.path("one"), error);
  ASSERT_TRUE(one) << error;
  std::optional<ModelSpec> many = loadHuggingFace(dir.path("many"), error);
  ASSERT_TRUE(many) << error;
  EXPECT_GT(many->files.size(), 3u);
  ASSERT_EQ(one->weights.size(), many->weights.size());
  for (size_t i = 0; i < one->weights.size(); ++i) {
    ASSERT_EQ(one->weights[i].byteSize, many->weights[i].byteSize);
    EXPECT_EQ(std::memcmp(one->weights[i].data, many->weights[i].data,
                          one->weights[i].byteSize),
              0)
        << one->weights[i].name;
  }
}

TEST_P(SynthesizeTest, FillsTheValuesItWrites) {
  ASSERT_TRUE(synthesizeCheckpoint(tinyConfig(), GetParam(), 9, dir.path(), error))
      << error;
  std::optional<ModelSpec> spec = loadHuggingFace(dir.path(), error);
  ASSERT_TRUE(spec) << error;
  for (size_t i = 0; i < spec->weights.size(); ++i) {
    const WeightInfo &weight = spec->weights[i];
    std::vector<uint8_t> filled(weight.byteSize);
    fillRandomWeight(weight.shape, GetParam(), 9, i, filled.data());
    EXPECT_EQ(std::memcmp(filled.data(), weight.data, filled.size()), 0) << weight.name;
  }
}

INSTANTIATE_TEST_SUITE_P(DTypes, SynthesizeTest,
                         ::testing::Values(DType::F32, DType::F16, DType::BF16),
                         [](const auto &info) { return dtypeName(info.param); });

TEST(Synthesize, ClassifierWithTiedEmbeddingsAndScaledRope) {
  TempDir dir;
  std::string error;
  LlamaConfig config = tinyConfig();
  config.architecture = Architecture::SequenceClassification;
  config.numLabels = 3;
  config.padTokenId = 0;
  config.ropeLinearFactor = 2.0;
  ASSERT_TRUE(synthesizeCheckpoint(config, DType::F32, 1, dir.path(), error)) << error;
  std::optional<ModelSpec> spec = loadHuggingFace(dir.path(), error);
  ASSERT_TRUE(spec) << error;
  EXPECT_TRUE(sameConfig(spec->config, config));
  EXPECT_EQ(spec->weights.back().name, "score.weight");
}

TEST(Synthesize, RewritingSwitchesBetweenSingleAndSharded) {
  TempDir dir;
  std::string error;
  ASSERT_TRUE(synthesizeCheckpoint(tinyConfig(), DType::F32, 1, dir.path(), error,
                                   /*maxShardBytes=*/2000))
      << error;
  ASSERT_TRUE(synthesizeCheckpoint(tinyConfig(), DType::F16, 1, dir.path(), error))
      << error;
  EXPECT_FALSE(fs::exists(dir.path("model.safetensors.index.json")));
  std::optional<ModelSpec> spec = loadHuggingFace(dir.path(), error);
  ASSERT_TRUE(spec) << error;
  EXPECT_EQ(spec->config.dtype, DType::F16);
  for (const fs::directory_entry &entry : fs::directory_iterator(dir.path()))
    EXPECT_EQ(entry.path().string().find(".tmp."), std::string::npos)
        << "temporary file left behind: " << entry.path();
}

TEST(Synthesize, RefusesInvalidConfig) {
  TempDir dir;
  std::string error;
  LlamaConfig config = tinyConfig();
  config.numKeyValueHeads = 3;
  EXPECT_FALSE(synthesizeCheckpoint(config, DType::F32, 1, dir.path("out"), error));
  EXPECT_TRUE(mentions(error, {dir.path("out"), "invalid config: num_key_value_heads 3"}));
  EXPECT_FALSE(fs::exists(dir.path("out")));
}

TEST(Synthesize, ReportsUnwritableDirectory) {
  TempDir dir;
  std::string error;
  std::string file = dir.write("file", "x");
  EXPECT_FALSE(synthesizeCheckpoint(tinyConfig(), DType::F32, 1, file + "/out", error));
  EXPECT_TRUE(mentions(error, {file + "/out"}));
}

TEST(FloatConversion, HalfRoundsToNearestEven) {
  EXPECT_EQ(floatToHalfBits(1.0f), 0x3c00);
  EXPECT_EQ(floatToHalfBits(-2.0f), 0xc000);
  EXPECT_EQ(floatToHalfBits(0.1f), 0x2e66);
  EXPECT_EQ(floatToHalfBits(65504.0f), 0x7bff);
  EXPECT_EQ(floatToHalfBits(65519.0f), 0x7bff);
  EXPECT_EQ(floatToHalfBits(65520.0f), 0x7c00);
  EXPECT_EQ(floatToHalfBits(std::ldexp(1.0f, -24)), 0x0001);
  EXPECT_EQ(floatToHalfBits(std::ldexp(1.0f, -25)), 0x0000) << "tie to even";
  EXPECT_EQ(floatToHalfBits(std::ldexp(3.0f, -25)), 0x0002) << "tie to even";
  EXPECT_EQ(floatToHalfBits(1.0f + std::ldexp(1.0f, -11)), 0x3c00) << "tie to even";
  EXPECT_EQ(floatToHalfBits(1.0f + std::ldexp(3.0f, -11)), 0x3c02) << "tie to even";
  EXPECT_EQ(floatToHalfBits(INFINITY), 0x7c00);
  EXPECT_EQ(floatToHalfBits(NAN) & 0x7e00, 0x7e00);
}

TEST(FloatConversion, EveryHalfRoundTrips) {
  for (uint32_t bits = 0; bits < 0x10000; ++bits) {
    if ((bits & 0x7c00) == 0x7c00 && (bits & 0x3ff))
      continue; // NaN payloads are not preserved.
    EXPECT_EQ(floatToHalfBits(halfBitsToFloat(bits)), bits) << std::hex << bits;
  }
}

TEST(FloatConversion, EveryHalfWidensToItsValue) {
  for (uint32_t bits = 0; bits < 0x10000; ++bits) {
    const uint32_t exponent = bits >> 10 & 0x1f, mantissa = bits & 0x3ff;
    const uint32_t widened = floatBits(halfBitsToFloat(uint16_t(bits)));
    if (exponent == 31) {
      // Infinities, and NaNs with their payload in the top mantissa bits.
      EXPECT_EQ(widened, (bits & 0x8000) << 16 | 0x7f800000 | mantissa << 13)
          << std::hex << bits;
      continue;
    }
    const float magnitude = exponent == 0
                                ? std::ldexp(float(mantissa), -24)
                                : std::ldexp(float(1024 + mantissa), int(exponent) - 25);
    EXPECT_EQ(widened, floatBits(bits & 0x8000 ? -magnitude : magnitude))
        << std::hex << bits;
  }
}

TEST(FloatConversion, BFloat16RoundsToNearestEven) {
  EXPECT_EQ(floatToBFloat16Bits(1.0f), 0x3f80);
  EXPECT_EQ(floatToBFloat16Bits(1.0f + std::ldexp(1.0f, -8)), 0x3f80);
  EXPECT_EQ(floatToBFloat16Bits(1.0f + std::ldexp(3.0f, -8)), 0x3f82);
  EXPECT_EQ(bfloat16BitsToFloat(0x3f80), 1.0f);
  EXPECT_EQ(bfloat16BitsToFloat(floatToBFloat16Bits(-0.15625f)), -0.15625f);
}

} // namespace
