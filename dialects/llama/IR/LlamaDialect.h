//===- LlamaDialect.h - The llama dialect -----------------------*- C++ -*-===//
#ifndef LLAMAC_DIALECTS_LLAMA_IR_LLAMADIALECT_H
#define LLAMAC_DIALECTS_LLAMA_IR_LLAMADIALECT_H

#include "mlir/Dialect/Bufferization/IR/Bufferization.h"
#include "mlir/IR/BuiltinTypes.h"
#include "mlir/IR/Dialect.h"

#include "dialects/llama/IR/LlamaDialect.h.inc"

#define GET_ATTRDEF_CLASSES
#include "dialects/llama/IR/LlamaAttrs.h.inc"

namespace mlir::llama {
/// Marks a kernel argument whose memory, where the kernel reads it, no
/// earlier kernel of the same call writes (the weights; decode attention's
/// positions and KV cache): the kernel may read it before waiting for the
/// grid it depends on (see lmc-gpu-dependent-launch).
inline constexpr llvm::StringLiteral kInvariantArgAttr = "llama.invariant";

/// On a module lowered for CUDA, {weight name = group size} of its int4
/// weights, which the host quantizes before the kernels read them.
inline constexpr llvm::StringLiteral kInt4WeightsAttr = "llama.int4_weights";

/// The #llama.int4 encoding of a weight quantized to int4, or null for a
/// float weight.
Int4Attr getInt4Encoding(Type type);
} // namespace mlir::llama

#endif // LLAMAC_DIALECTS_LLAMA_IR_LLAMADIALECT_H
