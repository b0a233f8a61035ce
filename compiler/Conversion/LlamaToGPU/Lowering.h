//===- Lowering.h - llama to GPU kernels: shared lowering state -*- C++ -*-===//
//
// The CUDA conversion walks each entry function's straight-line body once.
// Every llama op becomes one or more `gpu.launch_func` of a kernel from the
// module's `gpu.module @llama_kernels`, reading and writing flat device
// buffers. `GPULowering` is what the per-op-family lowerings share: the
// tensor -> buffer map, buffer allocation, weight and KV-cache views, and
// the kernel cache (one gpu.func per specialisation).
//
//===----------------------------------------------------------------------===//
#ifndef LLAMAC_COMPILER_CONVERSION_LLAMATOGPU_LOWERING_H
#define LLAMAC_COMPILER_CONVERSION_LLAMATOGPU_LOWERING_H

#include "compiler/Conversion/LlamaToGPU/KernelBuilder.h"

#include "mlir/Dialect/Func/IR/FuncOps.h"
#include "mlir/Dialect/GPU/IR/GPUDialect.h"
#include "mlir/IR/Builders.h"
#include "llvm/ADT/DenseMap.h"
#include "llvm/ADT/StringMap.h"

namespace mlir::llama {
class EmbeddingOp;
class LastPositionsOp;
class MatmulOp;
class MultiMatmulOp;
class SwiGLUOp;
class RMSNormOp;
class AddRMSNormOp;
class AttentionOp;
} // namespace mlir::llama

namespace llamac::gpu {

/// Threads per block of the row-parallel kernels (8 warps).
inline constexpr int64_t kBlockThreads = 256;
inline constexpr int64_t kWarpSize = 32;
/// The shared memory a kernel may declare statically.
inline constexpr int64_t kStaticSharedBytes = 48 * 1024;

/// The warps of a GEMM tile whose `gemm-tile` name gives none ("128x128").
inline constexpr int64_t kGemmTileUnnamedWarps = 8;

/// Rows of a wgmma tile per warp: a warpgroup's m64 over its four warps.
inline constexpr int64_t kWgmmaRowsPerWarp = 16;

/// The output tile one block of prefill's tensor-core GEMM computes: rows
/// of the B * T activation rows by features of the weights it streams, and
/// the warps that share it (the default: `gemm-tile` 128x128/4). With
/// `wgmma` (`gemm-tile` ROWSxFEATURES/wgmma, Hopper's sm_90a only), each
/// warpgroup of four warps multiplies 64 rows by all the features with
/// wgmma.mma_async instead of the warps' mma.sync.
struct GemmTile {
  int64_t rows = 128;
  int64_t features = 128;
  int64_t warps = 4;
  bool wgmma = false;
};

/// How the CUDA lowering builds its kernels (the pass's options).
struct KernelOptions {
  /// The tile of the GEMMs that widen their rows (q/k/v, gate/up, the
  /// logits), and of those that project them back to no more features than
  /// they read (o_proj, down_proj: `narrow-gemm-tile`). At 512 rows of the
  /// 7B shape the narrow ones have a third to a sixth of the wide ones'
  /// blocks, so the tile that fills the multiprocessors differs.
  GemmTile gemmTile;
  GemmTile narrowGemmTile;
  /// Prefill's linear ops and attention on the tensor cores where the dtype
  /// allows; off, they take the CUDA-core kernels (to isolate one of them).
  bool tensorCoreGemm = true;
  bool tensorCoreAttention = true;
  /// Decode's matrix-vector kernels normalize their own input row instead
  /// of reading it from a norm kernel launched before them, where the row
  /// fits (linearOpsComputeNorm).
  bool foldDecodeNorms = true;
  /// Prefill's q/k/v GEMM does rope_qkv's work in its epilogue where a
  /// tensor-core attention is the only reader (attentionRotatedByProjection).
  bool foldPrefillRope = false;
  /// Decode's matrix-vector kernels with fewer blocks than this split each
  /// weight row between warps (decodeWarpsPerFeature); 0 never splits.
  int64_t matvecMinBlocks = 1024;
  /// int4 codes a matrix-vector lane loads at once (8, 16 or 32: 4, 8 or
  /// 16 bytes), where the group holds that many (WeightFormat::lanes).
  int64_t int4Lanes = 8;
};

/// An RMSNorm of float32 rows of `hidden` elements: add_rms_norm when
/// `residual` is set, whose `sum` receives input + residual. The operands of
/// the norm kernel, or of a decode linear op that normalizes its own input
/// (GPULowering::foldNorm).
struct RowNorm {
  mlir::Value input, residual, weight, sum, epsilon;
  int64_t hidden = 0;
};

class GPULowering {
public:
  GPULowering(mlir::ModuleOp module, mlir::gpu::GPUModuleOp kernels,
              mlir::Type computeType, int64_t maxBatch, int64_t maxSeq,
              KernelOptions options);

  mlir::OpBuilder &builder() { return b; }
  mlir::Type computeType() const { return compute; }
  const KernelOptions &options() const { return kernelOptions; }
  /// The 16-bit dtype prefill's tensor cores multiply: float16 for f16 and
  /// bf16 models alike. bf16 rows would keep 8 bits of each activation, f16
  /// rows keep 11, and a bf16 model's weights convert to f16 exactly
  /// (TensorCoreGemm.cpp). float32 for f32 models, which take no tensor cores.
  mlir::Type tensorCoreType() const;
  /// The KV cache's element type (see kvCacheDType in frontends/ModelSpec.h):
  /// what prefill attention's tensor cores read.
  mlir::Type cacheType() const { return tensorCoreType(); }

  /// Starts lowering `func`: maps its `llama.weight_table` argument and
  /// opens the function's stream (`gpu.wait async`) and its scratch arena.
  mlir::LogicalResult beginFunction(mlir::func::FuncOp func);
  /// Places every buffer `allocate` made in `func` in the scratch arena
  /// (buffers whose lifetimes do not overlap share bytes), frees the arena
  /// and waits for the stream before the return. Returns the arena's size.
  int64_t endFunction(mlir::func::FuncOp func);

  /// The buffer that holds `tensor` (a memref with the tensor's shape).
  mlir::Value bufferOf(mlir::Value tensor) const;
  void setBuffer(mlir::Value tensor, mlir::Value buffer) {
    buffers[tensor] = buffer;
  }
  /// Records that `tensor`, a norm's result, is computed by the linear ops
  /// that read it, from `norm` (device buffers), and has no buffer.
  void foldNorm(mlir::Value tensor, const RowNorm &norm) { foldedNorms[tensor] = norm; }
  /// The norm that yields `tensor` inside its reader's kernel, if folded.
  const RowNorm *foldedNorm(mlir::Value tensor) const {
    auto found = foldedNorms.find(tensor);
    return found == foldedNorms.end() ? nullptr : &found->second;
  }
  /// Records that the q/k/v GEMM before `attention` rotated its queries
  /// into `buffer` and wrote its keys and values to the cache.
  void setRotatedQueries(mlir::Operation *attention, mlir::Value buffer) {
    rotatedQueryBuffers[attention] = buffer;
  }
  /// Those queries, or null where the attention rotates its own.
  mlir::Value rotatedQueries(mlir::Operation *attention) const {
    return rotatedQueryBuffers.lookup(attention);
  }
  /// The function's buffer of rotary cosines and sines for the inverse
  /// frequencies `table` names, once set (RotaryEpilogue).
  mlir::Value &rotaryAngles(llvm::StringRef table) { return angleBuffers[table]; }

  /// A buffer for `result`, a new op result: the entry function's output
  /// when `result` is materialized into it, else a `memref.alloc` that the
  /// pass later places in the scratch arena. Dynamic dimensions are taken
  /// from the leading dimensions of `like`. `element`, when given, replaces
  /// the tensor's float32 in a scratch buffer (see activationType).
  mlir::Value allocate(mlir::Location loc, mlir::Value result, mlir::Value like,
                       mlir::Type element = {});
  /// A scratch buffer of `type` that the pass later places in the arena;
  /// its dynamic dimensions, given by `sizes`, are bounded like those of
  /// activations (dimension 0 by max_batch, others by max_seq).
  mlir::Value allocateScratch(mlir::Location loc, mlir::MemRefType type,
                              mlir::ValueRange sizes);

  /// `buffer` collapsed to one dimension (kernels index flat buffers).
  mlir::Value flatten(mlir::Location loc, mlir::Value buffer);
  /// Product of all dimensions of `buffer` but the last, as an index.
  mlir::Value rowCount(mlir::Location loc, mlir::Value buffer);
  mlir::Value dim(mlir::Location loc, mlir::Value buffer, int64_t index);

  /// The flat device buffer of a weight (`tensor` produced by llama.weight),
  /// in the compute dtype: the runtime converts weights to it on upload.
  mlir::FailureOr<mlir::Value> weight(mlir::Location loc, mlir::Value tensor);
  /// The KV cache argument viewed as a flat buffer of the compute dtype.
  mlir::Value cache(mlir::Location loc, mlir::Value cacheBuffer);

  mlir::Value index(mlir::Location loc, int64_t value);
  mlir::Value ceilDiv(mlir::Location loc, mlir::Value value, int64_t divisor);

  /// Launches `kernel` (see getOrCreateKernel) with grid `grid` (x, y, z),
  /// asynchronously, after everything launched before in this function,
  /// with `dynamicSharedBytes` of dynamic shared memory per block.
  void launch(mlir::Location loc, mlir::gpu::GPUFuncOp kernel,
              std::array<mlir::Value, 3> grid, int64_t blockThreads,
              mlir::ValueRange args, int64_t dynamicSharedBytes = 0);

  /// The kernel named `name`, built by `body` on first request. `args` are
  /// the kernel's argument types, `workgroup` its shared-memory buffers.
  mlir::gpu::GPUFuncOp
  getOrCreateKernel(llvm::StringRef name, mlir::TypeRange args,
                    mlir::TypeRange workgroup,
                    llvm::function_ref<void(DeviceBuilder &, mlir::gpu::GPUFuncOp)>
                        body);

  /// `memref<?xT>`: how kernels see every buffer.
  mlir::MemRefType flatType(mlir::Type element) const;
  /// The `memref<?xT, workgroup>` type of `size` elements of shared memory.
  mlir::MemRefType sharedType(mlir::Type element, int64_t size) const;

  /// A `memref.global` constant in the kernel module, for tables that are
  /// fixed at compile time (rotary inverse frequencies).
  mlir::memref::GlobalOp getOrCreateDeviceTable(llvm::StringRef name,
                                                llvm::ArrayRef<float> values);
  /// A writable `memref.global` of `count` int32 zeros in the kernel
  /// module: counters that the kernels using them return to zero, so every
  /// launch (and every CUDA graph replay) finds them as the module loaded.
  mlir::memref::GlobalOp getOrCreateDeviceCounters(llvm::StringRef name, int64_t count);

private:
  mlir::memref::GlobalOp getOrCreateGlobal(llvm::StringRef name,
                                           mlir::DenseElementsAttr initial,
                                           bool constant);

  mlir::ModuleOp module;
  mlir::gpu::GPUModuleOp kernels;
  mlir::OpBuilder b;
  mlir::Type compute;
  KernelOptions kernelOptions;
  /// The limits scratch buffers are sized for.
  int64_t batchLimit;
  int64_t seqLimit;
  llvm::StringMap<int64_t> weightIndex;
  mlir::Value weightTable;
  /// The function's stream: the async token of its last operation.
  mlir::Value stream;
  mlir::Value arena;
  mlir::arith::ConstantIndexOp arenaSize;
  llvm::DenseMap<mlir::Value, mlir::Value> buffers;
  llvm::DenseMap<mlir::Value, RowNorm> foldedNorms;
  llvm::DenseMap<mlir::Operation *, mlir::Value> rotatedQueryBuffers;
  llvm::StringMap<mlir::Value> angleBuffers;
};

/// One function per op family; each emits the launches for `op` at the
/// builder's insertion point and records its result buffers.
mlir::LogicalResult lowerEmbedding(mlir::llama::EmbeddingOp op, GPULowering &l);
mlir::LogicalResult lowerLastPositions(mlir::llama::LastPositionsOp op,
                                      GPULowering &l);
mlir::LogicalResult lowerMatmul(mlir::llama::MatmulOp op, GPULowering &l);
mlir::LogicalResult lowerMultiMatmul(mlir::llama::MultiMatmulOp op,
                                     GPULowering &l);
mlir::LogicalResult lowerSwiGLU(mlir::llama::SwiGLUOp op, GPULowering &l);
mlir::LogicalResult lowerRMSNorm(mlir::llama::RMSNormOp op, GPULowering &l);
mlir::LogicalResult lowerAddRMSNorm(mlir::llama::AddRMSNormOp op,
                                    GPULowering &l);
mlir::LogicalResult lowerAttention(mlir::llama::AttentionOp op, GPULowering &l);

/// A short dtype name for kernel names: f32, f16, bf16.
std::string typeName(mlir::Type type);

/// The element type of `buffer`, a memref.
mlir::Type elementType(mlir::Value buffer);

/// "_<role>_f16" for a kernel whose `role` buffer holds `element` other than
/// float32, else "": kernels are shared by name.
std::string narrowedSuffix(llvm::StringRef role, mlir::Type element);

} // namespace llamac::gpu

#endif // LLAMAC_COMPILER_CONVERSION_LLAMATOGPU_LOWERING_H
