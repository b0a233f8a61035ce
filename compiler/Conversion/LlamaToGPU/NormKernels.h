//===- NormKernels.h - a row's RMSNorm inside a kernel ----------*- C++ -*-===//
//
// The RMSNorm of one row as a block of kBlockThreads computes it. The norm
// kernels (NormOpLowering.cpp) store the result; decode's matrix-vector
// kernels compute their input row with it (LinearOpLowering.cpp), so one
// sequence of operations gives both the same bits.
//
//===----------------------------------------------------------------------===//
#ifndef LLAMAC_COMPILER_CONVERSION_LLAMATOGPU_NORMKERNELS_H
#define LLAMAC_COMPILER_CONVERSION_LLAMATOGPU_NORMKERNELS_H

#include "compiler/Conversion/LlamaToGPU/Lowering.h"

namespace llamac::gpu {

/// The kernel arguments that carry a row norm: input, (residual, of
/// `residualElement`: float16 where a prefill GEMM rounded it, see
/// activationType,) weight, (sum,) epsilon.
llvm::SmallVector<mlir::Type> rowNormArgumentTypes(GPULowering &l, bool withResidual,
                                                   mlir::Type residualElement);
/// Those arguments for `norm` (host buffers, flattened).
llvm::SmallVector<mlir::Value> rowNormArguments(GPULowering &l, mlir::Location loc,
                                                const RowNorm &norm);
/// The norm `kernel` reads from its arguments `next` on; advances `next`
/// past them.
RowNorm rowNormFromArguments(mlir::gpu::GPUFuncOp kernel, unsigned &next,
                             int64_t hidden, bool withResidual);

/// Vector loads of the row each thread issues in rowNorm (and as many of the
/// residual).
int64_t rowNormLoadsPerThread(mlir::MLIRContext *context, int64_t hidden);

/// The shared memory rowNorm reduces through (one float per warp).
mlir::MemRefType rowNormScratchType(GPULowering &l);

/// Normalizes row `row` of `norm` (kernel arguments; float32 rows, the
/// weight in the compute dtype): x = input (+ residual), then
/// (x * rsqrt(mean(x^2) + eps)) * weight in Hugging Face's order. Where
/// `norm.sum` is set, threads for which `storesSum` holds store x there.
/// Each thread computes vectors of the row and hands each, with its first
/// column, to `use`. Every thread of the block must call it (barriers).
/// With a `stash` (shared memory of the row's length), x waits there for
/// the reduction instead of in registers, which a kernel holding other
/// loads across it lacks, and the weight is loaded after the row; `use`
/// may overwrite the stash.
void rowNorm(DeviceBuilder &d, const RowNorm &norm, mlir::Value row,
             mlir::Value storesSum, mlir::Value scratch, mlir::Value stash,
             llvm::function_ref<void(mlir::Value normed, mlir::Value column)> use);

} // namespace llamac::gpu

#endif // LLAMAC_COMPILER_CONVERSION_LLAMATOGPU_NORMKERNELS_H
