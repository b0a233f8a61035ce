//===- Passes.h - llamac conversions ----------------------------*- C++ -*-===//
#ifndef LLAMAC_COMPILER_CONVERSION_PASSES_H
#define LLAMAC_COMPILER_CONVERSION_PASSES_H

#include "mlir/Dialect/Arith/IR/Arith.h"
#include "mlir/Dialect/Func/IR/FuncOps.h"
#include "mlir/Dialect/GPU/IR/GPUDialect.h"
#include "mlir/Dialect/LLVMIR/LLVMDialect.h"
#include "mlir/Dialect/LLVMIR/NVVMDialect.h"
#include "mlir/Dialect/Math/IR/Math.h"
#include "mlir/Dialect/MemRef/IR/MemRef.h"
#include "mlir/Dialect/NVGPU/IR/NVGPUDialect.h"
#include "mlir/Dialect/SCF/IR/SCF.h"
#include "mlir/Dialect/Vector/IR/VectorOps.h"
#include "mlir/IR/BuiltinOps.h"
#include "mlir/Pass/Pass.h"

namespace llamac {

#define GEN_PASS_DECL
#include "compiler/Conversion/Passes.h.inc"

#define GEN_PASS_REGISTRATION
#include "compiler/Conversion/Passes.h.inc"

inline void registerConversionPasses() { registerLlamacConversionPasses(); }

/// The output tiles ("ROWSxFEATURES", "/WARPS" when not 8)
/// lmc-convert-llama-to-gpu builds prefill's tensor-core GEMM with (its
/// `gemm-tile`); the first is the default.
llvm::ArrayRef<llvm::StringRef> supportedGemmTiles();

/// Which prefill kernels lmc-convert-llama-to-gpu builds on the tensor
/// cores (its `prefill-tensor-cores`): all (the default), gemm, attention or
/// none.
llvm::ArrayRef<llvm::StringRef> prefillTensorCoreChoices();

/// lmc-convert-llama-to-gpu's int4 group sizes are multiples of this (its
/// kernels read that many codes at a time).
int64_t cudaInt4GroupMultiple();

} // namespace llamac

#endif // LLAMAC_COMPILER_CONVERSION_PASSES_H
