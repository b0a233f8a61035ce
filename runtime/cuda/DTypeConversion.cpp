//===- DTypeConversion.cpp - Weights to the device compute dtype ----------===//
#include "runtime/cuda/DTypeConversion.h"

#include <cmath>
#include <cstring>

namespace llamac::cuda {

float halfToFloat(uint16_t bits) {
  uint32_t sign = uint32_t(bits & 0x8000) << 16;
  uint32_t exponent = (bits >> 10) & 0x1f;
  uint32_t mantissa = bits & 0x3ff;
  uint32_t result;
  if (exponent == 0x1f) {
    result = sign | 0x7f800000 | (mantissa << 13);
  } else if (exponent != 0) {
    result = sign | ((exponent + 112) << 23) | (mantissa << 13);
  } else if (mantissa == 0) {
    result = sign;
  } else {
    // Subnormal: mantissa * 2^-24 is exact in float32.
    float magnitude = std::ldexp(float(mantissa), -24);
    std::memcpy(&result, &magnitude, sizeof(result));
    result |= sign;
  }
  float value;
  std::memcpy(&value, &result, sizeof(value));
  return value;
}

uint16_t floatToHalf(float value) {
  uint32_t bits;
  std::memcpy(&bits, &value, sizeof(bits));
  uint16_t sign = uint16_t((bits >> 16) & 0x8000);
  uint32_t magnitude = bits & 0x7fffffff;
  if (magnitude > 0x7f800000)
    return sign | 0x7e00; // NaN
  if (magnitude >= 0x477ff000)
    return sign | 0x7c00; // Rounds to or beyond infinity.
  if (magnitude < 0x38800000) {
    // Half subnormal (or zero): round |value| * 2^24 to an integer, ties to
    // even, which std::nearbyint does in the default rounding mode.
    float absolute;
    std::memcpy(&absolute, &magnitude, sizeof(absolute));
    return sign | uint16_t(std::nearbyint(std::ldexp(absolute, 24)));
  }
  // Normal: rebias the exponent, round the 13 dropped bits to nearest even;
  // a carry out of the mantissa correctly bumps the exponent.
  uint32_t rebased = magnitude - (112u << 23);
  uint32_t rounded = rebased + 0xfff + ((rebased >> 13) & 1);
  return sign | uint16_t(rounded >> 13);
}

float bfloat16ToFloat(uint16_t bits) {
  uint32_t widened = uint32_t(bits) << 16;
  float value;
  std::memcpy(&value, &widened, sizeof(value));
  return value;
}

uint16_t floatToBfloat16(float value) {
  uint32_t bits;
  std::memcpy(&bits, &value, sizeof(bits));
  if ((bits & 0x7fffffff) > 0x7f800000)
    return uint16_t((bits >> 16) | 0x40); // NaN stays a (quiet) NaN.
  uint32_t rounded = bits + 0x7fff + ((bits >> 16) & 1);
  return uint16_t(rounded >> 16);
}

namespace {

float readElement(const uint8_t *source, uint64_t i, DType dtype) {
  switch (dtype) {
  case DType::F32: {
    float value;
    std::memcpy(&value, source + 4 * i, sizeof(value));
    return value;
  }
  case DType::F16:
  case DType::BF16: {
    uint16_t bits;
    std::memcpy(&bits, source + 2 * i, sizeof(bits));
    return dtype == DType::F16 ? halfToFloat(bits) : bfloat16ToFloat(bits);
  }
  }
  return 0;
}

void writeElement(uint8_t *target, uint64_t i, DType dtype, float value) {
  if (dtype == DType::F32) {
    std::memcpy(target + 4 * i, &value, sizeof(value));
    return;
  }
  uint16_t bits = dtype == DType::F16 ? floatToHalf(value) : floatToBfloat16(value);
  std::memcpy(target + 2 * i, &bits, sizeof(bits));
}

} // namespace

std::vector<uint8_t> convertElements(const void *source, uint64_t count,
                                     DType from, DType to) {
  std::vector<uint8_t> converted(count * dtypeSize(to));
  const auto *bytes = static_cast<const uint8_t *>(source);
  if (from == to) {
    std::memcpy(converted.data(), bytes, converted.size());
    return converted;
  }
  // Every f16 and bf16 value is exact in float32, so going through it
  // rounds once.
  for (uint64_t i = 0; i < count; ++i)
    writeElement(converted.data(), i, to, readElement(bytes, i, from));
  return converted;
}

} // namespace llamac::cuda
