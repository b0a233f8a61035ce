//===- Passes.h - llamac fusion passes --------------------------*- C++ -*-===//
#ifndef LLAMAC_COMPILER_TRANSFORMS_PASSES_H
#define LLAMAC_COMPILER_TRANSFORMS_PASSES_H

#include "dialects/llama/IR/LlamaOps.h"
#include "mlir/Dialect/Func/IR/FuncOps.h"
#include "mlir/Dialect/GPU/IR/GPUDialect.h"
#include "mlir/Dialect/LLVMIR/NVVMDialect.h"
#include "mlir/Pass/Pass.h"

namespace llamac {

#define GEN_PASS_DECL
#include "compiler/Transforms/Passes.h.inc"

#define GEN_PASS_REGISTRATION
#include "compiler/Transforms/Passes.h.inc"

inline void registerTransformsPasses() { registerLlamacTransformsPasses(); }

} // namespace llamac

#endif // LLAMAC_COMPILER_TRANSFORMS_PASSES_H
