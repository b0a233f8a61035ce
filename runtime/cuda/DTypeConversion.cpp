//===- DTypeConversion.cpp - Weights to the device compute dtype ----------===//
#include "runtime/cuda/DTypeConversion.h"

#include "frontends/FloatConversion.h"

#include <algorithm>
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

/// The first of `count` `Bits` words at `source` whose magnitude bits
/// (sign cleared) lie in [`from`, `infinity`): finite values that round to
/// infinity in float16. Checked a block at a time, with no early exit and
/// an integer for the verdict inside one, which the compiler vectorizes: a
/// 7B checkpoint is 6.7 G elements (~30 GB/s on one core, against ~4 with
/// a bool verdict).
template <typename Bits>
std::optional<uint64_t> firstInRange(const uint8_t *source, uint64_t count, Bits from,
                                     Bits infinity) {
  constexpr uint64_t kBlock = 4096;
  constexpr Bits kMagnitude = Bits(~Bits(0)) >> 1;
  auto beyond = [&](uint64_t i) {
    Bits bits;
    std::memcpy(&bits, source + i * sizeof(Bits), sizeof(Bits));
    // One unsigned comparison: magnitude - from wraps below `from`.
    return Bits((bits & kMagnitude) - from) < Bits(infinity - from);
  };
  for (uint64_t first = 0; first < count; first += kBlock) {
    uint64_t end = std::min(first + kBlock, count);
    Bits found = 0;
    for (uint64_t i = first; i < end; ++i)
      found |= Bits(beyond(i));
    if (found)
      for (uint64_t i = first;; ++i)
        if (beyond(i))
          return i;
  }
  return std::nullopt;
}

} // namespace

float elementAt(const void *source, uint64_t i, DType dtype) {
  return readElement(static_cast<const uint8_t *>(source), i, dtype);
}

std::optional<uint64_t> firstBeyondHalfRange(const void *source, uint64_t count,
                                             DType from, DType through) {
  const auto *bytes = static_cast<const uint8_t *>(source);
  switch (from) {
  case DType::F32:
    // float16 rounds 65520 (0x477ff000) up to infinity; bf16 first rounds
    // 65408 (0x477f8000) up to 65536, past 65504.
    return firstInRange<uint32_t>(bytes, count,
                                  through == DType::BF16 ? 0x477f8000u : 0x477ff000u,
                                  0x7f800000u);
  case DType::BF16: // 65536, the first bf16 past 65504
    return firstInRange<uint16_t>(bytes, count, 0x4780u, 0x7f80u);
  case DType::F16:
    break;
  }
  return std::nullopt;
}

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
