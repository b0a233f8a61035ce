//===- AttentionKernels.h - what the attention kernels share ----*- C++ -*-===//
//
// The cache geometry and the rotary embedding that the SIMT attention
// kernels (AttentionOpLowering.cpp) and prefill's tensor-core attention
// (FlashAttention.cpp) both use.
//
//===----------------------------------------------------------------------===//
#ifndef LLAMAC_COMPILER_CONVERSION_LLAMATOGPU_ATTENTIONKERNELS_H
#define LLAMAC_COMPILER_CONVERSION_LLAMATOGPU_ATTENTIONKERNELS_H

#include "compiler/Conversion/LlamaToGPU/Lowering.h"

namespace mlir::memref {
class GlobalOp;
} // namespace mlir::memref

namespace llamac::gpu {

/// What the attention kernels need to know about the cache and the heads.
struct AttentionShape {
  int64_t numHeads, numKVHeads, headDim;
  int64_t cacheBatch, cacheSeq; ///< max_batch, max_seq of the cache.
  bool decode;                  ///< Slots from positions (AttentionOpLowering.cpp).

  std::string suffix(GPULowering &l) const;
  /// Elements of one half (keys or values) of one layer of the cache.
  int64_t halfLayer() const { return cacheBatch * numKVHeads * cacheSeq * headDim; }
};

/// (x1 cos - x2 sin, x2 cos + x1 sin) for the pair (i, i + d/2) at
/// `position`, with the inverse frequencies of `table`.
std::pair<mlir::Value, mlir::Value> rotate(DeviceBuilder &d, mlir::Value table,
                                           mlir::Value position, mlir::Value i,
                                           mlir::Value x1, mlir::Value x2);
/// The same with the angle's cosine and sine given.
std::pair<mlir::Value, mlir::Value> rotateBy(DeviceBuilder &d, mlir::Value cos,
                                             mlir::Value sin, mlir::Value x1,
                                             mlir::Value x2);

/// Offsets of the keys of `kvHead` of `row` in the cache; its values
/// follow half a layer later.
mlir::Value keyBaseOf(DeviceBuilder &d, const AttentionShape &shape,
                      mlir::Value layerBase, mlir::Value row, mlir::Value kvHead);

/// Whether prefill attention of `shape` runs on the tensor cores: an f16 or
/// bf16 model (its cache is f16) whose head_dim is 16, 32, 64 or 128.
bool flashAttentionApplies(GPULowering &l, const AttentionShape &shape);

/// Whether `use` is the query, key or value of a prefill attention on the
/// tensor cores: rope_qkv reads them, and rounds what it writes to the
/// cache's dtype anyway, so they may arrive in float16 (activationType).
bool rotatedBeforeFlashAttention(GPULowering &l, mlir::OpOperand &use);

/// What rope_qkv does before a prefill attention on the tensor cores, for
/// the q/k/v GEMM to do in its epilogue instead (TensorCoreGemm.cpp): the
/// attention's shape, and the host values of the cosine and sine of every
/// token's angles (flat float32 [rows, tokens, head_dim / 2, 2], computed
/// once per prefill for all layers), the cache (flat, the cache's dtype),
/// start, tokens per row and the offset of its layer in the cache.
struct RotaryEpilogue {
  AttentionShape shape;
  mlir::Value angles, cache, start, tokens, layerBase;
};

/// The prefill attention on the tensor cores that reads `projections` (a
/// q/k/v GEMM's results) as its query, key and value, each its only use:
/// the GEMM then rotates and stores them itself, and no rope_qkv runs.
/// Null otherwise, and with `fold-prefill-rope` off.
mlir::Operation *attentionRotatedByProjection(GPULowering &l,
                                              mlir::ValueRange projections);
/// The epilogue that GEMM runs for `attention` (host values at `loc`).
RotaryEpilogue rotaryEpilogueOf(GPULowering &l, mlir::Location loc,
                                mlir::Operation *attention);

/// Queries (consecutive tokens of one head and row) a block of the
/// tensor-core prefill attention computes, and its threads.
inline constexpr int64_t kFlashQueries = 64;
inline constexpr int64_t kFlashThreads = 128;

/// Prefill attention on the tensor cores (FlashAttention.cpp). Args: the
/// queries as rope_qkv rotated them (the cache's dtype), first_slot, cache,
/// out (of `outElement`), start, tokens, layer base, scale.
mlir::gpu::GPUFuncOp getFlashAttentionKernel(GPULowering &l,
                                             const AttentionShape &shape,
                                             mlir::Type outElement);

} // namespace llamac::gpu

#endif // LLAMAC_COMPILER_CONVERSION_LLAMATOGPU_ATTENTIONKERNELS_H
