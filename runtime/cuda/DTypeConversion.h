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
#include <vector>

namespace llamac::cuda {

/// `count` elements of `from` at `source` converted to `to`, as bytes.
std::vector<uint8_t> convertElements(const void *source, uint64_t count,
                                     DType from, DType to);

} // namespace llamac::cuda

#endif // LLAMAC_RUNTIME_CUDA_DTYPECONVERSION_H
