//===- LlamaDialect.h - The llama dialect -----------------------*- C++ -*-===//
#ifndef LLAMAC_DIALECTS_LLAMA_IR_LLAMADIALECT_H
#define LLAMAC_DIALECTS_LLAMA_IR_LLAMADIALECT_H

#include "mlir/Dialect/Bufferization/IR/Bufferization.h"
#include "mlir/IR/Dialect.h"

#include "dialects/llama/IR/LlamaDialect.h.inc"

namespace mlir::llama {
/// Marks a kernel argument whose memory, where the kernel reads it, no
/// earlier kernel of the same call writes (the weights; decode attention's
/// positions and KV cache): the kernel may read it before waiting for the
/// grid it depends on (see lmc-gpu-dependent-launch).
inline constexpr llvm::StringLiteral kInvariantArgAttr = "llama.invariant";
} // namespace mlir::llama

#endif // LLAMAC_DIALECTS_LLAMA_IR_LLAMADIALECT_H
