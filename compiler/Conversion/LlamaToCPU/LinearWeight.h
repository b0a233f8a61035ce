//===- LinearWeight.h - How the CPU kernels read a weight matrix -*- C++ -*-===//
//
// A linear layer's weight [out, in] is a dense buffer in its storage dtype,
// or the #llama.int4 buffer of 4-bit codes with per-group float16 scales and
// minimums. The dot-product loops read either through this one interface, so
// every linear kernel handles both.
//
//===----------------------------------------------------------------------===//
#ifndef LLAMAC_COMPILER_CONVERSION_LLAMATOCPU_LINEARWEIGHT_H
#define LLAMAC_COMPILER_CONVERSION_LLAMATOCPU_LINEARWEIGHT_H

#include "mlir/IR/Builders.h"
#include "mlir/IR/BuiltinTypes.h"
#include "mlir/IR/Value.h"

namespace llamac::cpu {

class LinearWeight {
public:
  /// `buffer` is the lowered value of a weight of the graph-level `type`;
  /// an int4 weight's groups divide `vectorWidth` or are divided by it.
  static LinearWeight view(mlir::OpBuilder &b, mlir::Location loc,
                           mlir::Value buffer, mlir::RankedTensorType type,
                           int64_t vectorWidth);

  int64_t outFeatures() const { return outFeatures_; }
  int64_t inFeatures() const { return inFeatures_; }

  /// Element (row, k) as float32.
  mlir::Value load(mlir::OpBuilder &b, mlir::Location loc, mlir::Value row,
                   mlir::Value k) const;
  /// Elements (row, k .. k + count * width) as `count` float32 vectors; k
  /// is a multiple of `width`, the vector width the weight was viewed with.
  /// An int4 weight's vectors come in pairs from one load of their codes,
  /// and share their group's scale and minimum where one group spans them.
  llvm::SmallVector<mlir::Value> loadVectors(mlir::OpBuilder &b, mlir::Location loc,
                                             mlir::Value row, mlir::Value k,
                                             int64_t width, int64_t count) const;

private:
  LinearWeight(int64_t outFeatures, int64_t inFeatures)
      : outFeatures_(outFeatures), inFeatures_(inFeatures) {}

  /// The codes of (row, k .. k + count * width) as `count` vectors of
  /// `width` bytes, from one load.
  llvm::SmallVector<mlir::Value> loadCodeVectors(mlir::OpBuilder &b,
                                                 mlir::Location loc, mlir::Value row,
                                                 mlir::Value k, int64_t width,
                                                 int64_t count) const;
  /// Scales or minimums of the groups under (row, k .. k + width).
  mlir::Value loadGroupVector(mlir::OpBuilder &b, mlir::Location loc,
                              mlir::Value groups, mlir::Value row, mlir::Value k,
                              int64_t width) const;

  int64_t outFeatures_, inFeatures_;
  mlir::Value dense;                    ///< [out, in], any float dtype.
  mlir::Value codes;                    ///< int4: [out, in / 2] bytes.
  mlir::Value scales, minimums;         ///< int4: [out, in / group] f16.
  int64_t groupSize = 0;
};

} // namespace llamac::cpu

#endif // LLAMAC_COMPILER_CONVERSION_LLAMATOCPU_LINEARWEIGHT_H
