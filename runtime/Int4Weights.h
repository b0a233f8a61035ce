//===- Int4Weights.h - int4 weight-only quantization at load ----*- C++ -*-===//
//
// The weights a manifest marks int4 (docs/ARTIFACT.md) stay f32/f16/bf16 in
// the checkpoint; the runtime quantizes them when the artifact loads, per row
// in groups of G consecutive columns, into the buffer ModelABI.h lays out
// (int4BufferBytes) for a [N, K] weight:
//
//   N*K/2 bytes     4-bit codes, row-major: (n, k) is in byte n*(K/2) + k/2,
//                   the low nibble for an even k, the high one for an odd k
//   N*(K/G) f16     scales, row-major [N][K/G]
//   N*(K/G) f16     minimums, row-major [N][K/G]
//
// which the compiled code reads as w'(n, k) = q(n, k) * scale(n, k/G) +
// min(n, k/G), one float32 fused multiply-add. Every rounding step of the
// quantizer is specified to the bit, since a Python reference reimplements
// it: see Int4Weights.cpp.
//
//===----------------------------------------------------------------------===//
#ifndef LLAMAC_RUNTIME_INT4WEIGHTS_H
#define LLAMAC_RUNTIME_INT4WEIGHTS_H

#include "frontends/ModelSpec.h"

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

namespace llamac {

/// Quantizes the [rows, cols] tensor at `data`, stored as `dtype`, into the
/// int4 layout above: int4BufferBytes(rows, cols, groupSize) bytes.
/// `groupSize` must be even and divide `cols` (the manifest checks both). A
/// non-finite value, or a group whose minimum or step float16 cannot hold,
/// returns nullopt and sets `error` to one line naming the weight `name` and
/// where in it the problem is. Rows are split across one thread per core: a
/// 7B model has 6.5e9 weights to quantize.
std::optional<std::vector<uint8_t>>
quantizeInt4(const void *data, DType dtype, int64_t rows, int64_t cols,
             int64_t groupSize, const std::string &name, std::string &error);

/// A group of an int4 weight whose largest value float16 cannot hold.
struct Int4GroupBeyondHalf {
  int64_t row, firstColumn;
  float value; ///< min + 15 * scale, as the kernels decode it.
};

/// The first group, in row order, of `buffer` (quantizeInt4's layout of a
/// [rows, cols] weight) whose largest value, min + 15 * scale, rounds to
/// infinity in float16, if any: the CUDA target's tensor-core prefill
/// multiplies int4 weights decoded to float16.
std::optional<Int4GroupBeyondHalf> firstGroupBeyondHalf(const void *buffer, int64_t rows,
                                                        int64_t cols, int64_t groupSize);

} // namespace llamac

#endif // LLAMAC_RUNTIME_INT4WEIGHTS_H
