//===- TensorCoreOps.h - mma.sync and ldmatrix for the kernels --*- C++ -*-===//
//
// The warp-level tensor-core operations the prefill kernels are built from
// (TensorCoreGemm.cpp, FlashAttention.cpp): mma.sync m16n8k16 with float32
// accumulators, and ldmatrix.x4 from shared memory; and Hopper's
// warpgroup-level wgmma with its descriptors and fences. Fragments follow the
// PTX ISA: lane 4 * g + t holds A (16 x 16, row-major) at rows g and g + 8,
// columns 2t, 2t + 1 and 2t + 8, 2t + 9 (registers a0..a3: (g, 0-7),
// (g + 8, 0-7), (g, 8-15), (g + 8, 8-15)); B (16 x 8, "col") at column g,
// rows 2t, 2t + 1 and 2t + 8, 2t + 9; C at rows g and g + 8, columns 2t,
// 2t + 1. A register is a pair of 16-bit elements, the lower first.
//
//===----------------------------------------------------------------------===//
#ifndef LLAMAC_COMPILER_CONVERSION_LLAMATOGPU_TENSORCOREOPS_H
#define LLAMAC_COMPILER_CONVERSION_LLAMATOGPU_TENSORCOREOPS_H

#include "compiler/Conversion/LlamaToGPU/KernelBuilder.h"

namespace llamac::gpu {

/// One m16n8k16 shape.
inline constexpr int64_t kMmaM = 16;
inline constexpr int64_t kMmaN = 8;
inline constexpr int64_t kMmaK = 16;
/// Rows of one wgmma (m64nNk16), a warpgroup's.
inline constexpr int64_t kWgmmaM = 64;
/// 16-bit elements in one 16-byte chunk: a row of an ldmatrix matrix, one
/// cp.async copy.
inline constexpr int64_t kChunk = 8;

/// D = A B + C on the warp's fragments: `a` four and `b` two registers
/// (vector<2 x element>, element f16 or bf16), `c` four float32
/// accumulators; returns D's four.
llvm::SmallVector<mlir::Value> mmaSync(DeviceBuilder &d, mlir::Type element,
                                       llvm::ArrayRef<mlir::Value> a,
                                       llvm::ArrayRef<mlir::Value> b,
                                       llvm::ArrayRef<mlir::Value> c);

/// ldmatrix.x4 from the flat shared buffer `shared`: the lane names the
/// 16-byte row at element `position`, lanes 8i..8i + 7 the rows of matrix
/// i. Each lane receives a register of each matrix (vector<2 x element>):
/// word t of row g, or transposed, elements (2t, g) and (2t + 1, g).
llvm::SmallVector<mlir::Value> loadMatrices(DeviceBuilder &d, mlir::Value shared,
                                            mlir::Value position, mlir::Type element,
                                            bool transpose = false);

/// Starts a cp.async of the 16-byte chunk at element `position` of
/// `buffer` to element `sharedPosition` of the shared buffer `shared`,
/// bypassing L1. With `exists` (i1), a chunk that does not exist copies no
/// bytes and is zero-filled. Returns the copy's token.
mlir::Value copyChunkAsync(DeviceBuilder &d, mlir::Value shared,
                           mlir::Value sharedPosition, mlir::Value buffer,
                           mlir::Value position, mlir::Value exists = {});
/// Commits `copies` (possibly none) as one group; returns its token.
mlir::Value commitCopies(DeviceBuilder &d, mlir::ValueRange copies);
/// Waits until at most `pending` committed groups are still in flight.
void waitForCopies(DeviceBuilder &d, mlir::Value group, int32_t pending);

/// The row (0-15) and chunk (0 or 1) of a 16 x 16 block of 16-bit elements
/// that this lane names to ldmatrix.x4.
struct MatrixLane {
  mlir::Value row, chunk;
};
/// An A fragment's order: matrices 1 and 3 are rows 8-15, 2 and 3 columns
/// 8-15. Transposed, the same order reads two B fragments of a matrix
/// stored k-major (k rows, n columns): n 0-7, then n 8-15.
MatrixLane aFragmentLane(DeviceBuilder &d);
/// Two B fragments of a matrix stored n-major (a weight's or a key's rows):
/// matrices 2 and 3 are the second fragment (rows 8-15), 1 and 3 its k
/// elements 8-15.
MatrixLane bFragmentPairLane(DeviceBuilder &d);

/// The 64-bit shared-memory matrix descriptor wgmma reads an operand
/// through: its first row at shared address `address` (i64, within an
/// atom of 8 rows that starts at a multiple of 1 KiB, plus 32 bytes a k
/// step), rows of 64 16-bit elements (K-major) with chunk c of row r at
/// c ^ (r % 8), the 128-byte swizzle, and 8-row atoms 1 KiB apart.
mlir::Value swizzledMatrixDescriptor(DeviceBuilder &d, mlir::Value address);
/// The shared address (i64) of the start of `shared`, as wgmma's
/// descriptors take it.
mlir::Value sharedAddress(DeviceBuilder &d, mlir::Value shared);
/// D = A B + D over the warpgroup: wgmma.mma_async m64nNk16 with f16
/// operands read through the descriptors (A: 64 rows, B: N weight rows,
/// both K-major) and float32 accumulators, `acc` (N / 2 of them: lane
/// 4g + t of warp w holds D[16w + g + 8 (i / 2 % 2)][8 (i / 4) + 2t + i % 2]
/// in accumulator i, the mma.sync fragments of TensorCoreOps.h side by
/// side). Issued asynchronously: see fenceWarpgroupOperands and
/// waitForWarpgroupMma.
llvm::SmallVector<mlir::Value> warpgroupMma(DeviceBuilder &d, mlir::Value descriptorA,
                                            mlir::Value descriptorB,
                                            llvm::ArrayRef<mlir::Value> acc);
/// wgmma.fence: orders the accumulators' earlier accesses before the next
/// warpgroupMma reads them.
void fenceWarpgroupOperands(DeviceBuilder &d);
/// Commits the warpgroup's wgmmas as a group and waits until at most
/// `pending` of its groups are still running: their accumulators may then
/// be read, and the shared memory of the others written.
void waitForWarpgroupMma(DeviceBuilder &d, int64_t pending);
/// fence.proxy.async.shared::cta: makes the thread's shared-memory writes
/// (cp.async included) visible to wgmma, which reads through the async
/// proxy.
void fenceSharedForAsyncProxy(DeviceBuilder &d);

/// The 16-bit elements of `a` and `b` (float32) rounded to `element` as one
/// register (vector<2 x element>), `a` in the lower half.
mlir::Value packPair(DeviceBuilder &d, mlir::Type element, mlir::Value a, mlir::Value b);

} // namespace llamac::gpu

#endif // LLAMAC_COMPILER_CONVERSION_LLAMATOGPU_TENSORCOREOPS_H
