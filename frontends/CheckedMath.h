//===- CheckedMath.h - Overflow-checked size arithmetic ---------*- C++ -*-===//
//
// Sizes computed from untrusted headers (shapes, llama2.c dimensions) must
// not wrap around: a wrapped product would let a tiny file claim a huge
// tensor, or a huge tensor pass a size check.
//
//===----------------------------------------------------------------------===//
#ifndef LLAMAC_FRONTENDS_CHECKEDMATH_H
#define LLAMAC_FRONTENDS_CHECKEDMATH_H

#include <cstdint>
#include <optional>

namespace llamac {

inline std::optional<uint64_t> checkedMul(uint64_t a, uint64_t b) {
  uint64_t result;
  if (__builtin_mul_overflow(a, b, &result))
    return std::nullopt;
  return result;
}

inline std::optional<uint64_t> checkedAdd(uint64_t a, uint64_t b) {
  uint64_t result;
  if (__builtin_add_overflow(a, b, &result))
    return std::nullopt;
  return result;
}

} // namespace llamac

#endif // LLAMAC_FRONTENDS_CHECKEDMATH_H
