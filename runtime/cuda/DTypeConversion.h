//===- DTypeConversion.h - Weights to the device compute dtype --*- C++ -*-===//
//
// A CUDA artifact computes with its weights in `compute_dtype`, whatever the
// checkpoint stores; the runtime converts each tensor once, on upload.
// Narrowing rounds to nearest even (as torch's .to() does); NaN stays NaN.
//
//===----------------------------------------------------------------------===//
#ifndef LLAMAC_RUNTIME_CUDA_DTYPECONVERSION_H
#define LLAMAC_RUNTIME_CUDA_DTYPECONVERSION_H

#include "frontends/ModelSpec.h"

#include <cstdint>
#include <optional>
#include <vector>

namespace llamac::cuda {

/// `count` elements of `from` at `source` converted to `to`, as bytes.
std::vector<uint8_t> convertElements(const void *source, uint64_t count,
                                     DType from, DType to);

/// The index of the first of `count` elements of `from` at `source` that
/// is finite but, converted to `through` and then to float16, infinite
/// (beyond float16's 65504), if any.
std::optional<uint64_t> firstBeyondHalfRange(const void *source, uint64_t count,
                                             DType from, DType through);

/// Element `i` of `dtype` at `source`, as float32 (exact).
float elementAt(const void *source, uint64_t i, DType dtype);

} // namespace llamac::cuda

#endif // LLAMAC_RUNTIME_CUDA_DTYPECONVERSION_H
