//===- LoopBuilder.cpp - Building blocks of the CPU kernels ---------------===//
#include "compiler/Conversion/LlamaToCPU/LoopBuilder.h"

#include "mlir/Dialect/Arith/IR/Arith.h"
#include "mlir/Dialect/Math/IR/Math.h"
#include "mlir/Dialect/MemRef/IR/MemRef.h"
#include "mlir/Dialect/SCF/IR/SCF.h"
#include "mlir/Dialect/Vector/IR/VectorOps.h"
#include "mlir/IR/BuiltinOps.h"
#include "mlir/IR/SymbolTable.h"
#include "llvm/ADT/bit.h"
#include "llvm/Support/FormatVariadic.h"

#include <cmath>

using namespace mlir;

namespace llamac::cpu {

Value indexConstant(OpBuilder &b, Location loc, int64_t value) {
  return arith::ConstantIndexOp::create(b, loc, value);
}

Value f32Constant(OpBuilder &b, Location loc, float value) {
  return arith::ConstantOp::create(b, loc, b.getF32FloatAttr(value));
}

SmallVector<Value> getSizes(OpBuilder &b, Location loc, Value buffer) {
  auto type = cast<MemRefType>(buffer.getType());
  SmallVector<Value> sizes;
  for (int64_t dim = 0; dim < type.getRank(); ++dim) {
    if (type.isDynamicDim(dim))
      sizes.push_back(memref::DimOp::create(b, loc, buffer, dim));
    else
      sizes.push_back(indexConstant(b, loc, type.getDimSize(dim)));
  }
  return sizes;
}

Value allocBuffer(OpBuilder &b, Location loc, ShapedType type,
                  ValueRange dynamicSizes) {
  auto memrefType = MemRefType::get(type.getShape(), type.getElementType());
  // 64-byte alignment: one cache line, the widest vector load.
  return memref::AllocOp::create(b, loc, memrefType, dynamicSizes,
                                 b.getI64IntegerAttr(64));
}

Value allocBufferOfSizes(OpBuilder &b, Location loc, ShapedType type,
                         ValueRange sizes) {
  SmallVector<Value> dynamicSizes;
  for (int64_t dim = 0; dim < type.getRank(); ++dim)
    if (type.isDynamicDim(dim))
      dynamicSizes.push_back(sizes[dim]);
  return allocBuffer(b, loc, type, dynamicSizes);
}

Value allocBufferLike(OpBuilder &b, Location loc, ShapedType type, Value like) {
  return allocBufferOfSizes(b, loc, type, getSizes(b, loc, like));
}

void buildParallelLoops(OpBuilder &b, Location loc, ValueRange upperBounds,
                        BodyBuilder body) {
  SmallVector<Value> lowerBounds(upperBounds.size(), indexConstant(b, loc, 0));
  SmallVector<Value> steps(upperBounds.size(), indexConstant(b, loc, 1));
  scf::ParallelOp::create(b, loc, lowerBounds, upperBounds, steps, body);
}

void buildSerialLoops(OpBuilder &b, Location loc, ValueRange upperBounds,
                      BodyBuilder body) {
  SmallVector<Value> lowerBounds(upperBounds.size(), indexConstant(b, loc, 0));
  SmallVector<Value> steps(upperBounds.size(), indexConstant(b, loc, 1));
  scf::buildLoopNest(b, loc, lowerBounds, upperBounds, steps, body);
}

Value collapseToRows(OpBuilder &b, Location loc, Value buffer) {
  auto type = cast<MemRefType>(buffer.getType());
  if (type.getRank() == 2)
    return buffer;
  ReassociationIndices rows;
  for (int64_t dim = 0; dim + 1 < type.getRank(); ++dim)
    rows.push_back(dim);
  SmallVector<ReassociationIndices> reassociation = {
      rows, {type.getRank() - 1}};
  return memref::CollapseShapeOp::create(b, loc, buffer, reassociation);
}

Value loadAsF32(OpBuilder &b, Location loc, Value buffer, ValueRange indices) {
  Value value = memref::LoadOp::create(b, loc, buffer, indices);
  if (value.getType().isF32())
    return value;
  return arith::ExtFOp::create(b, loc, b.getF32Type(), value);
}

Value loadVectorAsF32(OpBuilder &b, Location loc, Value buffer,
                      ValueRange indices, int64_t width) {
  Type elementType = cast<MemRefType>(buffer.getType()).getElementType();
  Value vector = vector::LoadOp::create(
      b, loc, VectorType::get({width}, elementType), buffer, indices);
  if (elementType.isF32())
    return vector;
  return arith::ExtFOp::create(b, loc, VectorType::get({width}, b.getF32Type()),
                               vector);
}

namespace {

/// Accumulates `accumulators.size()` independent vector partial sums of the
/// dot product over [begin, end) in steps of accumulators * width; returns
/// the updated accumulators. Independent accumulators hide FMA latency.
SmallVector<Value> accumulateDot(OpBuilder &b, Location loc, Value lhs,
                                 Value lhsRow, Value rhs, Value rhsRow,
                                 int64_t begin, int64_t end, int64_t width,
                                 ValueRange accumulators) {
  int64_t unroll = accumulators.size();
  auto loop = scf::ForOp::create(
      b, loc, indexConstant(b, loc, begin), indexConstant(b, loc, end),
      indexConstant(b, loc, width * unroll), accumulators,
      [&](OpBuilder &nb, Location nloc, Value k, ValueRange partial) {
        SmallVector<Value> next;
        for (int64_t u = 0; u < unroll; ++u) {
          Value offset = arith::AddIOp::create(
              nb, nloc, k, indexConstant(nb, nloc, u * width));
          Value x = loadVectorAsF32(nb, nloc, lhs, {lhsRow, offset}, width);
          Value w = loadVectorAsF32(nb, nloc, rhs, {rhsRow, offset}, width);
          next.push_back(vector::FMAOp::create(nb, nloc, x, w, partial[u]));
        }
        scf::YieldOp::create(nb, nloc, next);
      });
  return SmallVector<Value>(loop.getResults());
}

} // namespace

Value buildDotProduct(OpBuilder &b, Location loc, Value lhs, Value lhsRow,
                      Value rhs, Value rhsRow, int64_t length,
                      const KernelOptions &options) {
  constexpr int64_t kAccumulators = 4;
  int64_t width = options.vectorWidth;
  auto vectorType = VectorType::get({width}, b.getF32Type());
  Value zero = arith::ConstantOp::create(
      b, loc, vectorType, DenseElementsAttr::get(vectorType, 0.0f));

  int64_t unrolledEnd = length / (width * kAccumulators) * width * kAccumulators;
  int64_t vectorEnd = length / width * width;
  SmallVector<Value> partials(kAccumulators, zero);
  if (unrolledEnd > 0)
    partials = accumulateDot(b, loc, lhs, lhsRow, rhs, rhsRow, 0, unrolledEnd,
                             width, partials);
  Value partial = partials[0];
  for (int64_t u = 1; u < kAccumulators; ++u)
    partial = arith::AddFOp::create(b, loc, partial, partials[u]);
  if (vectorEnd > unrolledEnd)
    partial = accumulateDot(b, loc, lhs, lhsRow, rhs, rhsRow, unrolledEnd,
                            vectorEnd, width, {partial})[0];
  Value sum = vector::ReductionOp::create(b, loc, vector::CombiningKind::ADD,
                                          partial);
  if (vectorEnd == length)
    return sum;
  auto tail = scf::ForOp::create(
      b, loc, indexConstant(b, loc, vectorEnd), indexConstant(b, loc, length),
      indexConstant(b, loc, 1), ValueRange{sum},
      [&](OpBuilder &nb, Location nloc, Value k, ValueRange acc) {
        Value x = loadAsF32(nb, nloc, lhs, {lhsRow, k});
        Value w = loadAsF32(nb, nloc, rhs, {rhsRow, k});
        Value next = math::FmaOp::create(nb, nloc, x, w, acc[0]);
        scf::YieldOp::create(nb, nloc, next);
      });
  return tail.getResult(0);
}

namespace {

/// One step of the tile's vector loop: for each of `unroll` consecutive
/// vectors from k, every (lhs row, rhs row) pair's accumulator u gets one FMA.
/// Accumulators are laid out [pair][u]. Each rhs row's `unroll` vectors are
/// loaded together (an int4 row decodes them from one load).
SmallVector<Value> accumulateTile(OpBuilder &b, Location loc, Value lhs,
                                  ValueRange lhsRows,
                                  ArrayRef<std::pair<LinearWeight, Value>> rhs,
                                  Value k, int64_t width, int64_t unroll,
                                  ValueRange acc) {
  SmallVector<Value> next(acc);
  SmallVector<SmallVector<Value>> rhsVectors;
  for (const auto &[weight, row] : rhs)
    rhsVectors.push_back(weight.loadVectors(b, loc, row, k, width, unroll));
  for (int64_t u = 0; u < unroll; ++u) {
    Value offset = arith::AddIOp::create(b, loc, k, indexConstant(b, loc, u * width));
    for (auto [i, lhsRow] : llvm::enumerate(lhsRows)) {
      Value x = loadVectorAsF32(b, loc, lhs, {lhsRow, offset}, width);
      for (auto [j, w] : llvm::enumerate(rhsVectors)) {
        size_t slot = (i * rhs.size() + j) * unroll + u;
        next[slot] = vector::FMAOp::create(b, loc, x, w[u], next[slot]);
      }
    }
  }
  return next;
}

} // namespace

SmallVector<Value>
buildDotProductTile(OpBuilder &b, Location loc, Value lhs, ValueRange lhsRows,
                    ArrayRef<std::pair<LinearWeight, Value>> rhs, int64_t length,
                    const KernelOptions &options) {
  // Two interleaved accumulators per pair hide the FMA latency even when the
  // tile is a single pair (decode). Prefill and decode run this same code, so
  // a logit does not depend on how many tokens were computed with it.
  constexpr int64_t kUnroll = 2;
  int64_t width = options.vectorWidth;
  int64_t pairs = lhsRows.size() * rhs.size();
  auto vectorType = VectorType::get({width}, b.getF32Type());
  Value zero = arith::ConstantOp::create(
      b, loc, vectorType, DenseElementsAttr::get(vectorType, 0.0f));
  int64_t vectorEnd = length / (width * kUnroll) * width * kUnroll;
  SmallVector<Value> partials(pairs * kUnroll, zero);
  if (vectorEnd > 0) {
    auto loop = scf::ForOp::create(
        b, loc, indexConstant(b, loc, 0), indexConstant(b, loc, vectorEnd),
        indexConstant(b, loc, width * kUnroll), partials,
        [&](OpBuilder &nb, Location nloc, Value k, ValueRange acc) {
          scf::YieldOp::create(nb, nloc,
                               accumulateTile(nb, nloc, lhs, lhsRows, rhs, k,
                                              width, kUnroll, acc));
        });
    partials = SmallVector<Value>(loop.getResults());
  }
  SmallVector<Value> sums;
  for (int64_t pair = 0; pair < pairs; ++pair) {
    Value partial = partials[pair * kUnroll];
    for (int64_t u = 1; u < kUnroll; ++u)
      partial = arith::AddFOp::create(b, loc, partial, partials[pair * kUnroll + u]);
    sums.push_back(
        vector::ReductionOp::create(b, loc, vector::CombiningKind::ADD, partial));
  }
  if (vectorEnd == length)
    return sums;
  auto tail = scf::ForOp::create(
      b, loc, indexConstant(b, loc, vectorEnd), indexConstant(b, loc, length),
      indexConstant(b, loc, 1), sums,
      [&](OpBuilder &nb, Location nloc, Value k, ValueRange acc) {
        SmallVector<Value> next;
        for (Value lhsRow : lhsRows) {
          Value x = loadAsF32(nb, nloc, lhs, {lhsRow, k});
          for (const auto &[weight, row] : rhs) {
            Value w = weight.load(nb, nloc, row, k);
            next.push_back(math::FmaOp::create(nb, nloc, x, w, acc[next.size()]));
          }
        }
        scf::YieldOp::create(nb, nloc, next);
      });
  return SmallVector<Value>(tail.getResults());
}

Value buildSerialSum(OpBuilder &b, Location loc, Value length,
                     function_ref<Value(OpBuilder &, Location, Value)> element) {
  auto loop = scf::ForOp::create(
      b, loc, indexConstant(b, loc, 0), length, indexConstant(b, loc, 1),
      ValueRange{f32Constant(b, loc, 0.0f)},
      [&](OpBuilder &nb, Location nloc, Value k, ValueRange acc) {
        Value next =
            arith::AddFOp::create(nb, nloc, acc[0], element(nb, nloc, k));
        scf::YieldOp::create(nb, nloc, next);
      });
  return loop.getResult(0);
}

Value buildSerialMax(OpBuilder &b, Location loc, Value length,
                     function_ref<Value(OpBuilder &, Location, Value)> element) {
  Value first = element(b, loc, indexConstant(b, loc, 0));
  auto loop = scf::ForOp::create(
      b, loc, indexConstant(b, loc, 1), length, indexConstant(b, loc, 1),
      ValueRange{first},
      [&](OpBuilder &nb, Location nloc, Value k, ValueRange acc) {
        Value next =
            arith::MaximumFOp::create(nb, nloc, acc[0], element(nb, nloc, k));
        scf::YieldOp::create(nb, nloc, next);
      });
  return loop.getResult(0);
}

Value buildSilu(OpBuilder &b, Location loc, Value x) {
  Type type = x.getType();
  auto splat = [&](float value) -> Value {
    if (auto vectorType = dyn_cast<VectorType>(type))
      return arith::ConstantOp::create(
          b, loc, vectorType, DenseElementsAttr::get(vectorType, value));
    return f32Constant(b, loc, value);
  };
  Value negated = arith::NegFOp::create(b, loc, x);
  Value exp = math::ExpOp::create(b, loc, negated);
  Value denominator = arith::AddFOp::create(b, loc, splat(1.0f), exp);
  return arith::DivFOp::create(b, loc, x, denominator);
}

Value getRopeInverseFrequencies(OpBuilder &b, Location loc, Operation *anchor,
                                int64_t headDim, double theta, double scale) {
  auto module = anchor->getParentOfType<ModuleOp>();
  // The exact bits of theta and scale name the table: distinct settings must
  // never share one.
  std::string name = llvm::formatv("__llama_rope_inv_freq_{0}_{1:x}_{2:x}", headDim,
                                   llvm::bit_cast<uint64_t>(theta),
                                   llvm::bit_cast<uint64_t>(scale))
                         .str();
  auto type = MemRefType::get({headDim / 2}, b.getF32Type());
  if (!SymbolTable::lookupSymbolIn(module, name)) {
    // Hugging Face computes 1 / theta^(2i / d) in float32, then divides by
    // the linear scaling factor; do the same so the angles round alike.
    SmallVector<float> values;
    for (int64_t i = 0; i < headDim / 2; ++i) {
      float exponent = static_cast<float>(2 * i) / static_cast<float>(headDim);
      float inverse = 1.0f / std::pow(static_cast<float>(theta), exponent);
      values.push_back(inverse / static_cast<float>(scale));
    }
    OpBuilder::InsertionGuard guard(b);
    b.setInsertionPointToStart(module.getBody());
    auto tensorType = RankedTensorType::get({headDim / 2}, b.getF32Type());
    memref::GlobalOp::create(
        b, loc, b.getStringAttr(name), b.getStringAttr("private"),
        TypeAttr::get(type), DenseElementsAttr::get(tensorType, ArrayRef(values)),
        b.getUnitAttr(), b.getI64IntegerAttr(64));
  }
  return memref::GetGlobalOp::create(b, loc, type, name);
}

} // namespace llamac::cpu
