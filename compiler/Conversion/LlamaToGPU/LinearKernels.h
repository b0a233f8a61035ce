//===- LinearKernels.h - matmul, multi_matmul, swiglu kernels ---*- C++ -*-===//
//
// The two kernel families of the linear ops, and what they share. Decode
// (one token per row) is matrix-vector and streams the weights once
// (LinearOpLowering.cpp); prefill multiplies many rows by the same weights
// and runs on the tensor cores where the dtype allows (TensorCoreGemm.cpp).
// Both compute one launch per op: all outputs of a multi_matmul (q, k, v),
// whose feature blocks follow each other along grid y, and swiglu's
// silu(x gate^T) * (x up^T) with gate and up read in the same pass.
//
//===----------------------------------------------------------------------===//
#ifndef LLAMAC_COMPILER_CONVERSION_LLAMATOGPU_LINEARKERNELS_H
#define LLAMAC_COMPILER_CONVERSION_LLAMATOGPU_LINEARKERNELS_H

#include "compiler/Conversion/LlamaToGPU/Lowering.h"
#include "compiler/Conversion/LlamaToGPU/WeightRows.h"

namespace llamac::gpu {

struct RotaryEpilogue;

/// The weights, output and feature count of the output group that feature
/// block `block` belongs to, the group's first block and its index.
struct OutputGroup {
  llvm::SmallVector<mlir::Value> weights;
  mlir::Value out, outFeatures, firstBlock, index;
};

/// Picks the output group of `block` (block-uniform selects, no branch).
/// Group g has `outFeatures[g]` features in `blocksPerGroup[g]` blocks.
/// Gated (swiglu): one group that reads both weights.
OutputGroup selectOutputGroup(DeviceBuilder &d, llvm::ArrayRef<int64_t> outFeatures,
                              llvm::ArrayRef<int64_t> blocksPerGroup, bool gated,
                              mlir::ValueRange weights, mlir::ValueRange outs,
                              mlir::Value block);

/// silu(gate) * up = gate / (1 + exp(-gate)) * up, as torch computes it in
/// float32 (scalars or vectors).
mlir::Value siluTimes(DeviceBuilder &d, mlir::Value gate, mlir::Value up);

/// What one linear launch computes: `outFeatures[i]` features of output i
/// from weight i ([N_i, inFeatures]), or gated, one output of
/// `outFeatures[0]` features from the two weights gate and up.
struct LinearShape {
  int64_t inFeatures = 0;
  llvm::SmallVector<int64_t> outFeatures;
  bool gated = false;
  WeightFormat weightFormat;

  /// Weight arguments of the kernel.
  int64_t numWeights() const { return gated ? 2 : outFeatures.size(); }
  int64_t numOutputs() const { return outFeatures.size(); }
  /// Weights one block reads: both of swiglu, one of q, k and v.
  int64_t streamedWeights() const { return gated ? 2 : 1; }
  /// "_n4096x1024x1024": kernels are shared by name, and the output
  /// features are baked into them.
  std::string featuresSuffix() const;
  /// Whether the outputs are no wider than the input (o_proj, down_proj):
  /// the GEMMs `narrow-gemm-tile` applies to.
  bool narrow() const { return llvm::sum_of(outFeatures) <= inFeatures; }
};

/// The element type of the buffer that holds activation `tensor`: float16
/// (GPULowering::tensorCoreType) when every user reads it as the input of a
/// linear op that suits the tensor cores, or as the query, key or value of
/// a prefill attention on them (rotatedBeforeFlashAttention), else
/// float32. The tensor-core GEMM multiplies rows of that dtype, as Hugging
/// Face's f16 models compute them; a producer that keeps float32 rows sends
/// its users to the CUDA cores.
mlir::Type activationType(GPULowering &l, mlir::Value tensor);

/// Whether the linear ops that read `normResult`, an RMSNorm's result, all
/// compute it themselves (`fold-decode-norms`): decode's matrix-vector
/// kernels, where the row's loads fit their registers (hidden <= 4096).
/// Each block then normalizes its row (rowNorm), which costs each block a
/// read of the row from L2 and a reduction, and saves a one-block kernel
/// launched and waited for between them.
bool linearOpsComputeNorm(GPULowering &l, mlir::Value normResult);

/// Whether prefill's rows of this shape suit the tensor cores: f16 and
/// bf16 weights whose rows are whole 16-byte chunks, output rows of whole
/// pairs (float32 is kept exact on the CUDA cores). int4 weights reach
/// them decoded to float16 (dequantizeToHalf).
bool tensorCoresApply(GPULowering &l, const LinearShape &shape);

/// Launches the tensor-core kernel for `rows` rows of `input` (float16);
/// `weights` and `outs` are flat buffers as the matrix-vector kernel takes
/// them (int4 ones decoded to float16 first), `outs` all float32 or all
/// float16 (activationType). With `rotary`
/// (a q/k/v projection, see attentionRotatedByProjection) the kernel does
/// rope_qkv's work: `outs` are the rotated queries and the cache twice (the
/// keys' and the values' destination).
void launchTensorCoreGemm(GPULowering &l, mlir::Location loc,
                          const LinearShape &shape, mlir::Value input,
                          mlir::ValueRange weights, mlir::ValueRange outs,
                          mlir::Value rows, const RotaryEpilogue *rotary = nullptr);

} // namespace llamac::gpu

#endif // LLAMAC_COMPILER_CONVERSION_LLAMATOGPU_LINEARKERNELS_H
