//===- DTypeConversion.cpp - Weights to the device compute dtype ----------===//
#include "runtime/cuda/DTypeConversion.h"

#include "frontends/FloatConversion.h"

#include <cmath>
#include <cstring>

namespace llamac::cuda {

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
    return dtype == DType::F16 ? halfBitsToFloat(bits) : bfloat16BitsToFloat(bits);
  }
  }
  return 0;
}

void writeElement(uint8_t *target, uint64_t i, DType dtype, float value) {
  if (dtype == DType::F32) {
    std::memcpy(target + 4 * i, &value, sizeof(value));
    return;
  }
  uint16_t bits = dtype == DType::F16 ? floatToHalfBits(value) : floatToBFloat16Bits(value);
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
