//===- Int4WeightsTest.cpp - int4 weight-only quantization at load --------===//
//
// The expected bytes of the small cases were computed by hand and checked
// against a float32/float16 reimplementation in Python (struct's 'e' format
// rounds to nearest even, round() rounds halves to even).
//
//===----------------------------------------------------------------------===//

#include "runtime/Int4Weights.h"

#include "frontends/FloatConversion.h"
#include "runtime/ModelABI.h"

#include <algorithm>
#include <cmath>
#include <cstring>
#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <limits>
#include <random>

using namespace llamac;
using ::testing::AllOf;
using ::testing::HasSubstr;

namespace {

/// A quantized weight's layout read back: one code per element, and the
/// f16 bits of each group's scale and minimum, all row-major.
struct Int4Parts {
  std::vector<uint8_t> codes;
  std::vector<uint16_t> scales;
  std::vector<uint16_t> minimums;

  /// What the compiled code reconstructs for element `index` of group `group`.
  float dequantized(int64_t index, int64_t group) const {
    return std::fma(float(codes[index]), halfBitsToFloat(scales[group]),
                    halfBitsToFloat(minimums[group]));
  }
};

Int4Parts readInt4(const std::vector<uint8_t> &buffer, int64_t rows,
                   int64_t cols, int64_t groupSize) {
  EXPECT_EQ(int64_t(buffer.size()), int4BufferBytes(rows, cols, groupSize));
  Int4Parts parts;
  for (int64_t i = 0; i < rows * cols; ++i)
    parts.codes.push_back(i % 2 ? buffer[i / 2] >> 4 : buffer[i / 2] & 15);
  const int64_t groups = rows * (cols / groupSize);
  parts.scales.resize(groups);
  parts.minimums.resize(groups);
  std::memcpy(parts.scales.data(), buffer.data() + rows * cols / 2, 2 * groups);
  std::memcpy(parts.minimums.data(), buffer.data() + rows * cols / 2 + 2 * groups,
              2 * groups);
  return parts;
}

std::vector<uint8_t> quantize(const std::vector<float> &values, int64_t rows,
                              int64_t groupSize) {
  std::string error;
  std::optional<std::vector<uint8_t>> buffer =
      quantizeInt4(values.data(), DType::F32, rows, int64_t(values.size()) / rows,
                   groupSize, "w", error);
  EXPECT_TRUE(buffer) << error;
  return buffer.value_or(std::vector<uint8_t>());
}

/// The error quantizing `values` as `rows` rows gives.
std::string quantizeError(const std::vector<float> &values, int64_t rows,
                          int64_t groupSize) {
  std::string error;
  EXPECT_FALSE(quantizeInt4(values.data(), DType::F32, rows,
                            int64_t(values.size()) / rows, groupSize, "w", error));
  return error;
}

std::vector<float> normalValues(uint64_t seed, int64_t count, float deviation) {
  std::mt19937_64 random(seed);
  std::normal_distribution<float> normal(0, deviation);
  std::vector<float> values(count);
  for (float &value : values)
    value = normal(random);
  return values;
}

} // namespace

// The scale and minimum bytes below are little-endian, as x86's memory is.

TEST(Int4WeightsTest, PacksTwoCodesPerByteLowNibbleFirst) {
  // lo 0 and hi 15: scale 1 and minimum 0 are exact, so every code is its
  // weight rounded to even (2.5 -> 2, 3.5 -> 4).
  EXPECT_EQ(quantize({0, 1, 2.5, 3.5, 4, 5, 6, 15}, 1, 8),
            (std::vector<uint8_t>{0x10, 0x42, 0x54, 0xf6,  // codes
                                  0x00, 0x3c,              // scale 1.0
                                  0x00, 0x00}));           // minimum 0.0
}

TEST(Int4WeightsTest, CodesAgainstTheF16ScaleAndMinimum) {
  // step (1.8 + 2.7) / 15 = 0.3 is f16 0.300048828125 (0x34cd); -2.7 is f16
  // -2.69921875 (0xc166). 0.15 codes as 9 against those ((0.15 + 2.69921875)
  // / 0.300048828125 = 9.497), where the exact step and minimum give 9.5
  // rounded to 10.
  EXPECT_EQ(quantize({-2.7f, 1.8f, -2.56f, 0.15f}, 1, 4),
            (std::vector<uint8_t>{0xf0, 0x90, 0xcd, 0x34, 0x66, 0xc1}));
}

TEST(Int4WeightsTest, AGroupWithoutAStepIsItsMinimum) {
  EXPECT_EQ(quantize({3, 3, 3, 3}, 1, 4),
            (std::vector<uint8_t>{0x00, 0x00, 0x00, 0x00, 0x00, 0x42}));
  // A step of 2^-23 / 15 is below f16's smallest subnormal: scale 0 too.
  const float above = std::nextafter(1.0f, 2.0f);
  EXPECT_EQ(quantize({1, above, above, 1}, 1, 4),
            (std::vector<uint8_t>{0x00, 0x00, 0x00, 0x00, 0x00, 0x3c}));
}

TEST(Int4WeightsTest, AZeroMinimumIsTheGroupsFirstZero) {
  // As an in-order std::min finds it, whatever the later zeros' signs; a
  // group of zeros has the step +0.
  EXPECT_EQ(quantize({2, -0.0f, 0.0f, 1}, 1, 4),
            (std::vector<uint8_t>{0x0f, 0x80, 0x44, 0x30, 0x00, 0x80}));
  EXPECT_EQ(quantize({2, 0.0f, -0.0f, 1}, 1, 4),
            (std::vector<uint8_t>{0x0f, 0x80, 0x44, 0x30, 0x00, 0x00}));
  EXPECT_EQ(quantize({0.0f, -0.0f, -0.0f, 0.0f}, 1, 4),
            (std::vector<uint8_t>{0x00, 0x00, 0x00, 0x00, 0x00, 0x00}));
  EXPECT_EQ(quantize({-0.0f, 0.0f, 0.0f, -0.0f}, 1, 4),
            (std::vector<uint8_t>{0x00, 0x00, 0x00, 0x00, 0x00, 0x80}));
}

TEST(Int4WeightsTest, WidensF16AndBF16WeightsExactly) {
  const std::vector<float> values = {-2.5, 0, 1, 3.5, 4, 5, 6, 15.5};
  std::vector<uint16_t> halves, bfloats;
  for (float value : values) {
    halves.push_back(floatToHalfBits(value));
    bfloats.push_back(floatToBFloat16Bits(value));
  }
  std::vector<uint8_t> expected = quantize(values, 1, 8);
  std::string error;
  EXPECT_EQ(quantizeInt4(halves.data(), DType::F16, 1, 8, 8, "w", error),
            expected)
      << error;
  EXPECT_EQ(quantizeInt4(bfloats.data(), DType::BF16, 1, 8, 8, "w", error),
            expected)
      << error;
}

TEST(Int4WeightsTest, LaysOutCodesScalesAndMinimumsRowMajor) {
  // [2, 16] in groups of 8: each of the four groups has its own range.
  std::vector<float> values(32);
  for (int64_t i = 0; i < 32; ++i)
    values[i] = float(i / 8 + 1) * float(i % 8) - float(i / 8);
  Int4Parts whole = readInt4(quantize(values, 2, 8), 2, 16, 8);
  for (int64_t group = 0; group < 4; ++group) {
    std::vector<float> alone(values.begin() + 8 * group,
                             values.begin() + 8 * (group + 1));
    Int4Parts part = readInt4(quantize(alone, 1, 8), 1, 8, 8);
    EXPECT_EQ(whole.scales[group], part.scales[0]) << group;
    EXPECT_EQ(whole.minimums[group], part.minimums[0]) << group;
    EXPECT_EQ(std::vector<uint8_t>(whole.codes.begin() + 8 * group,
                                   whole.codes.begin() + 8 * (group + 1)),
              part.codes)
        << group;
  }
  // Groups have distinct minimums (0, -1, -2, -3) and scales.
  EXPECT_EQ(whole.minimums[3], floatToHalfBits(-3.0f));
  EXPECT_EQ(whole.scales[1], floatToHalfBits(14.0f / 15.0f));
}

TEST(Int4WeightsTest, ReconstructsWithinHalfAStep) {
  const int64_t rows = 8, cols = 512;
  for (int64_t groupSize : {32, 128}) {
    std::vector<float> values = normalValues(groupSize, rows * cols, 0.02f);
    Int4Parts parts =
        readInt4(quantize(values, rows, groupSize), rows, cols, groupSize);
    for (int64_t i = 0; i < rows * cols; ++i) {
      const int64_t group = i / groupSize;
      auto first = values.begin() + group * groupSize;
      const float lo = *std::min_element(first, first + groupSize);
      const float hi = *std::max_element(first, first + groupSize);
      const float s = halfBitsToFloat(parts.scales[group]);
      const float m = halfBitsToFloat(parts.minimums[group]);
      // Half a step, plus what rounding the minimum and the step (15 times,
      // at the top code) to f16 moved the codes' range off [lo, hi], plus
      // float32 rounding.
      const float bound = s / 2 + std::fabs(m - lo) +
                          15 * std::fabs(s - (hi - lo) / 15) + 1e-6f;
      EXPECT_LE(std::fabs(parts.dequantized(i, group) - values[i]), bound)
          << "element " << i << " of groups of " << groupSize;
    }
  }
}

TEST(Int4WeightsTest, RefusesNonFiniteWeights) {
  const float inf = std::numeric_limits<float>::infinity();
  std::vector<float> values(16, 0.5f);
  values[11] = std::nanf("");
  EXPECT_EQ(quantizeError(values, 2, 4),
            "weight 'w' holds NaN at [1, 3]; int4 quantization needs finite "
            "values");
  values[11] = -inf;
  EXPECT_THAT(quantizeError(values, 2, 4), HasSubstr("holds -inf at [1, 3]"));
}

TEST(Int4WeightsTest, RefusesAMinimumOrStepBeyondF16) {
  // A minimum of 65520 and more rounds to f16 infinity.
  EXPECT_EQ(quantizeError({1, 2, 3, 4, 70000, 70001, 70002, 70003}, 1, 4),
            "weight 'w' has values beyond f16's range in row 0, columns 4 to "
            "7; int4 scales and minimums are f16");
  // A step of 1e6 / 15.
  EXPECT_THAT(quantizeError({0, 1e6f, 0, 0}, 1, 4),
              AllOf(HasSubstr("beyond f16's range"), HasSubstr("columns 0 to 3")));
  // A maximum beyond f16 is fine: only the minimum and the step are stored.
  std::vector<float> wide = {60000, 960000, 60000, 60000};
  Int4Parts parts = readInt4(quantize(wide, 1, 4), 1, 4, 4);
  EXPECT_EQ(parts.dequantized(1, 0), 960000.0f);
}

TEST(Int4WeightsTest, FindsTheFirstGroupBeyondF16WhenDecoded) {
  // Row 1's second group tops out at 70000, the first group of row 2 at
  // 98304: only the first is named. 60000 (scale 4000) is within f16.
  std::vector<float> values = {0, 1,     2, 3, 0, 1, 2, 60000, //
                               0, 1,     2, 3, 0, 1, 2, 70000, //
                               0, 98304, 2, 3, 0, 1, 2, 3};
  std::vector<uint8_t> buffer = quantize(values, 3, 4);
  std::optional<Int4GroupBeyondHalf> beyond = firstGroupBeyondHalf(buffer.data(), 3, 8, 4);
  ASSERT_TRUE(beyond);
  EXPECT_EQ(beyond->row, 1);
  EXPECT_EQ(beyond->firstColumn, 4);
  EXPECT_NEAR(beyond->value, 70000.0f, 70000.0f / 1024);
  std::vector<float> within(values.begin(), values.begin() + 8);
  EXPECT_FALSE(firstGroupBeyondHalf(quantize(within, 1, 4).data(), 1, 8, 4));
}

TEST(Int4WeightsTest, ThreadsGiveTheRowByRowResult) {
  // Enough values for one worker per core.
  const int64_t rows = 1024, cols = 512, groupSize = 128;
  std::vector<float> values = normalValues(1, rows * cols, 1.0f);
  Int4Parts whole =
      readInt4(quantize(values, rows, groupSize), rows, cols, groupSize);
  const int64_t groupsPerRow = cols / groupSize;
  for (int64_t row = 0; row < rows; ++row) {
    std::vector<float> alone(values.begin() + row * cols,
                             values.begin() + (row + 1) * cols);
    Int4Parts part =
        readInt4(quantize(alone, 1, groupSize), 1, cols, groupSize);
    ASSERT_TRUE(std::equal(part.codes.begin(), part.codes.end(),
                           whole.codes.begin() + row * cols))
        << "row " << row;
    ASSERT_TRUE(std::equal(part.scales.begin(), part.scales.end(),
                           whole.scales.begin() + row * groupsPerRow))
        << "row " << row;
    ASSERT_TRUE(std::equal(part.minimums.begin(), part.minimums.end(),
                           whole.minimums.begin() + row * groupsPerRow))
        << "row " << row;
  }
}

TEST(Int4WeightsTest, ReportsTheFirstProblemWhateverTheThreads) {
  const int64_t rows = 1024, cols = 512;
  std::vector<float> values(rows * cols, 0.25f);
  values[1000 * cols + 7] = std::nanf("");
  values[3 * cols + 130] = std::numeric_limits<float>::infinity();
  EXPECT_THAT(quantizeError(values, rows, 128), HasSubstr("holds inf at [3, 130]"));
}

TEST(Int4WeightsTest, SizesTheLayout) {
  // Llama-2-7B's q_proj: 8 MiB of codes, 256 KiB each of scales and minimums.
  EXPECT_EQ(int4BufferBytes(4096, 4096, 128), (8 << 20) + (512 << 10));
}
