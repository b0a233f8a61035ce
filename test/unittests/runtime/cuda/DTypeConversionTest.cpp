//===- DTypeConversionTest.cpp - Weights to the device compute dtype ------===//

#include "frontends/FloatConversion.h"
#include "runtime/cuda/DTypeConversion.h"

#include <cmath>
#include <cstring>
#include <gtest/gtest.h>
#include <limits>

using namespace llamac;
using namespace llamac::cuda;

TEST(DTypeConversionTest, HalfKnownValues) {
  EXPECT_EQ(floatToHalfBits(1.0f), 0x3c00);
  EXPECT_EQ(floatToHalfBits(-2.0f), 0xc000);
  EXPECT_EQ(floatToHalfBits(65504.0f), 0x7bff);
  EXPECT_EQ(floatToHalfBits(std::ldexp(1.0f, -24)), 0x0001); // Smallest subnormal.
  EXPECT_EQ(floatToHalfBits(std::ldexp(1.0f, -14)), 0x0400); // Smallest normal.
  EXPECT_EQ(floatToHalfBits(0.0f), 0x0000);
  EXPECT_EQ(floatToHalfBits(-0.0f), 0x8000);
  EXPECT_EQ(halfBitsToFloat(0x3555), 0.333251953125f);
}

TEST(DTypeConversionTest, HalfRoundsToNearestEven) {
  // 1 + 2^-11 lies halfway between 1 and 1 + 2^-10: ties go to the even 1.
  EXPECT_EQ(floatToHalfBits(1.0f + std::ldexp(1.0f, -11)), 0x3c00);
  // 1 + 3 * 2^-11 lies halfway between 0x3c01 and 0x3c02: to 0x3c02.
  EXPECT_EQ(floatToHalfBits(1.0f + 3 * std::ldexp(1.0f, -11)), 0x3c02);
  // Just above the half point rounds up.
  EXPECT_EQ(floatToHalfBits(std::nextafter(1.0f + std::ldexp(1.0f, -11), 2.0f)), 0x3c01);
  // Half subnormals round to nearest even too: 1.5 * 2^-24 -> 2 * 2^-24.
  EXPECT_EQ(floatToHalfBits(1.5f * std::ldexp(1.0f, -24)), 0x0002);
  EXPECT_EQ(floatToHalfBits(0.5f * std::ldexp(1.0f, -24)), 0x0000);
}

TEST(DTypeConversionTest, HalfOverflowAndNaN) {
  EXPECT_EQ(floatToHalfBits(65519.0f), 0x7bff);
  EXPECT_EQ(floatToHalfBits(65520.0f), 0x7c00);
  EXPECT_EQ(floatToHalfBits(-std::numeric_limits<float>::infinity()), 0xfc00);
  uint16_t nan = floatToHalfBits(std::numeric_limits<float>::quiet_NaN());
  EXPECT_EQ(nan & 0x7c00, 0x7c00);
  EXPECT_NE(nan & 0x3ff, 0);
  EXPECT_TRUE(std::isnan(halfBitsToFloat(0x7e00)));
  EXPECT_TRUE(std::isinf(halfBitsToFloat(0x7c00)));
}

TEST(DTypeConversionTest, EveryHalfRoundTripsThroughFloat) {
  for (uint32_t bits = 0; bits <= 0xffff; ++bits) {
    if ((bits & 0x7c00) == 0x7c00 && (bits & 0x3ff) != 0)
      continue; // NaN payloads are not preserved bit for bit.
    ASSERT_EQ(floatToHalfBits(halfBitsToFloat(uint16_t(bits))), bits) << std::hex << bits;
  }
}

TEST(DTypeConversionTest, Bfloat16RoundsToNearestEven) {
  EXPECT_EQ(floatToBFloat16Bits(1.0f), 0x3f80);
  EXPECT_EQ(floatToBFloat16Bits(1.0f + std::ldexp(1.0f, -8)), 0x3f80);
  EXPECT_EQ(floatToBFloat16Bits(1.0f + 3 * std::ldexp(1.0f, -8)), 0x3f82);
  EXPECT_EQ(floatToBFloat16Bits(-3.0f), 0xc040);
  EXPECT_EQ(bfloat16BitsToFloat(0x3f80), 1.0f);
  EXPECT_TRUE(std::isnan(bfloat16BitsToFloat(
      floatToBFloat16Bits(std::numeric_limits<float>::quiet_NaN()))));
  // The largest float rounds up to infinity, as torch does.
  EXPECT_EQ(floatToBFloat16Bits(std::numeric_limits<float>::max()), 0x7f80);
}

TEST(DTypeConversionTest, ConvertsTensors) {
  const float values[] = {1.0f, -0.5f, 3.140625f, 65504.0f};
  std::vector<uint8_t> half = convertElements(values, 4, DType::F32, DType::F16);
  ASSERT_EQ(half.size(), 8u);
  std::vector<uint8_t> back = convertElements(half.data(), 4, DType::F16, DType::F32);
  float roundTrip[4];
  std::memcpy(roundTrip, back.data(), sizeof(roundTrip));
  for (int i = 0; i < 4; ++i)
    EXPECT_EQ(roundTrip[i], values[i]);

  std::vector<uint8_t> bf16 = convertElements(half.data(), 4, DType::F16, DType::BF16);
  uint16_t first;
  std::memcpy(&first, bf16.data(), sizeof(first));
  EXPECT_EQ(first, 0x3f80);

  std::vector<uint8_t> same = convertElements(values, 4, DType::F32, DType::F32);
  EXPECT_EQ(std::memcmp(same.data(), values, sizeof(values)), 0);
}

TEST(DTypeConversionTest, FindsFloatsBeyondHalfRange) {
  const float inf = std::numeric_limits<float>::infinity();
  const float nan = std::numeric_limits<float>::quiet_NaN();
  // In range, or already not finite: nothing to report.
  std::vector<float> values = {1.0f, -65504.0f, 65519.0f, inf, -inf, nan};
  EXPECT_EQ(firstBeyondHalfRange(values.data(), values.size(), DType::F32, DType::F16),
            std::nullopt);
  // 65520 and past round to infinity in float16, in the second of two blocks.
  values.assign(5000, 0.5f);
  values[4100] = -65520.0f;
  values[4200] = 1e30f;
  EXPECT_EQ(firstBeyondHalfRange(values.data(), values.size(), DType::F32, DType::F16),
            4100u);
  // Through bf16, 65408 first rounds to 65536; 65407 to 65280, which fits.
  values = {65407.0f, 65408.0f};
  EXPECT_EQ(firstBeyondHalfRange(values.data(), 1, DType::F32, DType::BF16), std::nullopt);
  EXPECT_EQ(firstBeyondHalfRange(values.data(), 2, DType::F32, DType::BF16), 1u);
  EXPECT_EQ(firstBeyondHalfRange(values.data(), 2, DType::F32, DType::F16), std::nullopt);
}

TEST(DTypeConversionTest, FindsBfloat16BeyondHalfRange) {
  // 65280 (0x477f) fits float16; -65536 (0xc780) is the first past it;
  // infinity (0x7f80) and NaN (0x7fc0) are not finite.
  const uint16_t bits[] = {0x3f80, 0x477f, 0x7f80, 0x7fc0, 0xc780};
  EXPECT_EQ(firstBeyondHalfRange(bits, 4, DType::BF16, DType::BF16), std::nullopt);
  EXPECT_EQ(firstBeyondHalfRange(bits, 5, DType::BF16, DType::BF16), 4u);
  EXPECT_EQ(elementAt(bits, 4, DType::BF16), -65536.0f);
  // float16 weights are in range by construction.
  const uint16_t half[] = {0x7bff, 0x7c00};
  EXPECT_EQ(firstBeyondHalfRange(half, 2, DType::F16, DType::F16), std::nullopt);
}
