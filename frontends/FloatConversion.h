//===- FloatConversion.h - float <-> fp16 / bf16 bit patterns ---*- C++ -*-===//
//
// Round-to-nearest-even conversions, as torch's .to(float16/bfloat16) does,
// so that synthesized half-precision checkpoints hold what torch would store.
//
//===----------------------------------------------------------------------===//
#ifndef LLAMAC_FRONTENDS_FLOATCONVERSION_H
#define LLAMAC_FRONTENDS_FLOATCONVERSION_H

#include <cmath>
#include <cstdint>
#include <cstring>

namespace llamac {

inline uint32_t floatBits(float value) {
  uint32_t bits;
  std::memcpy(&bits, &value, sizeof bits);
  return bits;
}

inline float floatFromBits(uint32_t bits) {
  float value;
  std::memcpy(&value, &bits, sizeof value);
  return value;
}

inline uint16_t floatToHalfBits(float value) {
  const uint32_t bits = floatBits(value);
  const uint16_t sign = (bits >> 16) & 0x8000;
  const uint32_t magnitude = bits & 0x7fffffff;
  if (magnitude > 0x7f800000) // NaN stays a (quiet) NaN.
    return sign | 0x7e00;
  if (magnitude >= 0x477ff000) // >= 65520 rounds to infinity.
    return sign | 0x7c00;
  if (magnitude < 0x38800000) { // Below 2^-14: a subnormal half (or zero).
    // Scaling by 2^24 is exact, so nearbyint rounds to even exactly once; a
    // result of 1024 is the smallest normal's encoding, as it should be.
    float units = std::nearbyint(std::fabs(value) * 16777216.0f);
    return sign | static_cast<uint16_t>(units);
  }
  uint32_t half = ((magnitude >> 23) - 112) << 10 | (magnitude & 0x7fffff) >> 13;
  const uint32_t dropped = magnitude & 0x1fff;
  if (dropped > 0x1000 || (dropped == 0x1000 && (half & 1)))
    ++half; // A carry into the exponent is the correct rounding.
  return sign | static_cast<uint16_t>(half);
}

/// Branch-free, so that loops widening f16 rows (int4 quantization at load)
/// vectorize.
inline float halfBitsToFloat(uint16_t half) {
  const uint32_t sign = uint32_t(half & 0x8000) << 16;
  const uint32_t shifted = uint32_t(half & 0x7fff) << 13; // float's bit positions
  const uint32_t exponent = shifted & 0x0f800000;
  // Rebiasing the exponent (15 to 127) maps normal values; infinities and
  // NaNs (exponent 31) need the rest of the way to 255.
  const uint32_t rebiased =
      shifted + ((127 - 15) << 23) + (exponent == 0x0f800000 ? (128 - 16) << 23 : 0);
  // A subnormal half is mantissa * 2^-24, an exact float product.
  const float subnormal = static_cast<float>(half & 0x3ff) * 0x1p-24f;
  const float magnitude = exponent == 0 ? subnormal : floatFromBits(rebiased);
  return floatFromBits(floatBits(magnitude) | sign);
}

inline uint16_t floatToBFloat16Bits(float value) {
  const uint32_t bits = floatBits(value);
  if ((bits & 0x7fffffff) > 0x7f800000)
    return static_cast<uint16_t>(bits >> 16 | 0x40);
  return static_cast<uint16_t>((bits + 0x7fff + ((bits >> 16) & 1)) >> 16);
}

inline float bfloat16BitsToFloat(uint16_t bits) {
  return floatFromBits(uint32_t(bits) << 16);
}

} // namespace llamac

#endif // LLAMAC_FRONTENDS_FLOATCONVERSION_H
