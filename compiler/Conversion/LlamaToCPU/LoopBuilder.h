//===- LoopBuilder.h - Building blocks of the CPU kernels -------*- C++ -*-===//
//
// The CPU lowering writes every llama op as a buffer plus loops over it.
// These helpers build the loop shapes the kernels share, so each op's lowering
// only says what happens at one point of its iteration space.
//
//===----------------------------------------------------------------------===//
#ifndef LLAMAC_COMPILER_CONVERSION_LLAMATOCPU_LOOPBUILDER_H
#define LLAMAC_COMPILER_CONVERSION_LLAMATOCPU_LOOPBUILDER_H

#include "compiler/Conversion/LlamaToCPU/LinearWeight.h"

#include "mlir/IR/Builders.h"
#include "mlir/IR/BuiltinTypes.h"
#include "mlir/IR/Value.h"
#include "llvm/ADT/STLFunctionalExtras.h"

namespace llamac::cpu {

using BodyBuilder =
    llvm::function_ref<void(mlir::OpBuilder &, mlir::Location, mlir::ValueRange)>;

/// Knobs of the generated kernels.
struct KernelOptions {
  /// float32 lanes of the vector loops.
  int64_t vectorWidth = 16;
};

/// The sizes of `buffer` as index values (constants where static).
llvm::SmallVector<mlir::Value> getSizes(mlir::OpBuilder &b, mlir::Location loc,
                                        mlir::Value buffer);

/// A new row-major buffer of `type`'s shape; dynamic sizes come from
/// `dynamicSizes`, in order.
mlir::Value allocBuffer(mlir::OpBuilder &b, mlir::Location loc,
                        mlir::ShapedType type, mlir::ValueRange dynamicSizes);

/// A new row-major buffer of `type`'s shape whose dynamic sizes are taken
/// from `sizes` (all of the buffer's sizes, static ones included).
mlir::Value allocBufferOfSizes(mlir::OpBuilder &b, mlir::Location loc,
                               mlir::ShapedType type, mlir::ValueRange sizes);

/// The row-major buffer for the op result of `type` whose sizes equal those of
/// `like` (a buffer of the same rank) where `type` is dynamic.
mlir::Value allocBufferLike(mlir::OpBuilder &b, mlir::Location loc,
                            mlir::ShapedType type, mlir::Value like);

/// One iteration per point of [0, upperBounds), run in parallel (scf.parallel,
/// OpenMP after lowering). `body` receives the induction variables.
void buildParallelLoops(mlir::OpBuilder &b, mlir::Location loc,
                        mlir::ValueRange upperBounds, BodyBuilder body);

/// The same iteration space as nested sequential scf.for loops.
void buildSerialLoops(mlir::OpBuilder &b, mlir::Location loc,
                      mlir::ValueRange upperBounds, BodyBuilder body);

/// Views `buffer` [d0, ..., dn-1, K] as [d0 * ... * dn-1, K].
mlir::Value collapseToRows(mlir::OpBuilder &b, mlir::Location loc,
                           mlir::Value buffer);

/// Reads one element of `buffer` at `indices` widened to float32.
mlir::Value loadAsF32(mlir::OpBuilder &b, mlir::Location loc,
                      mlir::Value buffer, mlir::ValueRange indices);

/// Reads `width` consecutive elements of a row-major buffer starting at
/// `indices`, widened to a float32 vector.
mlir::Value loadVectorAsF32(mlir::OpBuilder &b, mlir::Location loc,
                            mlir::Value buffer, mlir::ValueRange indices,
                            int64_t width);

/// sum_k lhs[lhsRow, k] * rhs[rhsRow, k] for k in [0, length) over two
/// 2-D row-major buffers (rhs in any float type, widened as read): vector
/// loop with several accumulators, then a scalar tail.
mlir::Value buildDotProduct(mlir::OpBuilder &b, mlir::Location loc,
                            mlir::Value lhs, mlir::Value lhsRow,
                            mlir::Value rhs, mlir::Value rhsRow,
                            int64_t length, const KernelOptions &options);

/// The dot products of `lhsRows.size()` rows of `lhs` with one row of each
/// of `rhs` (pairs of weight and row index), all over [0, length): result
/// [i * rhs.size() + j] = sum_k lhs[lhsRows[i], k] * rhs[j].weight[row, k].
/// Each vector load is reused across the tile, which is what makes prefill
/// compute-bound rather than load-bound.
mlir::SmallVector<mlir::Value>
buildDotProductTile(mlir::OpBuilder &b, mlir::Location loc, mlir::Value lhs,
                    mlir::ValueRange lhsRows,
                    llvm::ArrayRef<std::pair<LinearWeight, mlir::Value>> rhs,
                    int64_t length, const KernelOptions &options);

/// Index and float constants.
mlir::Value indexConstant(mlir::OpBuilder &b, mlir::Location loc,
                          int64_t value);
mlir::Value f32Constant(mlir::OpBuilder &b, mlir::Location loc, float value);

/// Sum over [0, length) of `element(k)` with a scalar float32 accumulator.
mlir::Value
buildSerialSum(mlir::OpBuilder &b, mlir::Location loc, mlir::Value length,
               llvm::function_ref<mlir::Value(mlir::OpBuilder &, mlir::Location,
                                              mlir::Value)>
                   element);

/// Maximum over [0, length) of `element(k)` (length >= 1).
mlir::Value
buildSerialMax(mlir::OpBuilder &b, mlir::Location loc, mlir::Value length,
               llvm::function_ref<mlir::Value(mlir::OpBuilder &, mlir::Location,
                                              mlir::Value)>
                   element);

/// silu(x) = x / (1 + exp(-x)) on a float32 scalar or vector.
mlir::Value buildSilu(mlir::OpBuilder &b, mlir::Location loc, mlir::Value x);

/// A module-level constant table of the rotary inverse frequencies
/// (head_dim / 2 float32 values, computed as Hugging Face does in float32),
/// returned as a memref<head_dim/2 x f32>.
mlir::Value getRopeInverseFrequencies(mlir::OpBuilder &b, mlir::Location loc,
                                      mlir::Operation *anchor, int64_t headDim,
                                      double theta, double scale);

} // namespace llamac::cpu

#endif // LLAMAC_COMPILER_CONVERSION_LLAMATOCPU_LOOPBUILDER_H
