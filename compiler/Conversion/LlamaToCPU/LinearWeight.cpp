//===- LinearWeight.cpp - How the CPU kernels read a weight matrix --------===//
#include "compiler/Conversion/LlamaToCPU/LinearWeight.h"

#include "compiler/Conversion/LlamaToCPU/LoopBuilder.h"
#include "dialects/llama/IR/LlamaDialect.h"
#include "runtime/ModelABI.h"

#include "mlir/Dialect/Arith/IR/Arith.h"
#include "mlir/Dialect/Math/IR/Math.h"
#include "mlir/Dialect/MemRef/IR/MemRef.h"
#include "mlir/Dialect/Vector/IR/VectorOps.h"

using namespace mlir;

namespace llamac::cpu {
namespace {

Value byteOffsetView(OpBuilder &b, Location loc, Value buffer, int64_t offset,
                     MemRefType type) {
  return memref::ViewOp::create(b, loc, type, buffer,
                                indexConstant(b, loc, offset), ValueRange{});
}

/// code * scale + min, one rounding, as the runtime's dequantization defines.
Value dequantize(OpBuilder &b, Location loc, Value codes, Value scale,
                 Value minimum) {
  Type floatType = b.getF32Type();
  if (auto vectorType = dyn_cast<VectorType>(codes.getType()))
    floatType = VectorType::get(vectorType.getShape(), floatType);
  Value values = arith::UIToFPOp::create(b, loc, floatType, codes);
  if (isa<VectorType>(floatType))
    return vector::FMAOp::create(b, loc, values, scale, minimum);
  return math::FmaOp::create(b, loc, values, scale, minimum);
}

} // namespace

LinearWeight LinearWeight::view(OpBuilder &b, Location loc, Value buffer,
                                RankedTensorType type, int64_t vectorWidth) {
  LinearWeight weight(type.getDimSize(0), type.getDimSize(1));
  llama::Int4Attr int4 = llama::getInt4Encoding(type);
  if (!int4) {
    weight.dense = buffer;
    return weight;
  }
  int64_t rows = weight.outFeatures_, cols = weight.inFeatures_;
  weight.groupSize = int4.getGroupSize();
  assert((weight.groupSize % vectorWidth == 0 || vectorWidth % weight.groupSize == 0) &&
         "a vector reads whole groups or lies in one");
  auto groupsType = MemRefType::get({rows, cols / weight.groupSize}, b.getF16Type());
  weight.codes = byteOffsetView(b, loc, buffer, 0,
                                MemRefType::get({rows, cols / 2}, b.getI8Type()));
  weight.scales =
      byteOffsetView(b, loc, buffer, int4CodeBytes(rows, cols), groupsType);
  weight.minimums = byteOffsetView(
      b, loc, buffer,
      int4CodeBytes(rows, cols) + int4GroupBytes(rows, cols, weight.groupSize),
      groupsType);
  return weight;
}

Value LinearWeight::load(OpBuilder &b, Location loc, Value row, Value k) const {
  if (dense)
    return loadAsF32(b, loc, dense, {row, k});
  Value two = indexConstant(b, loc, 2);
  Value byte = memref::LoadOp::create(
      b, loc, codes, ValueRange{row, arith::DivUIOp::create(b, loc, k, two)});
  // Odd k sits in the high nibble.
  Value shift = arith::IndexCastOp::create(
      b, loc, b.getI8Type(),
      arith::MulIOp::create(b, loc, arith::RemUIOp::create(b, loc, k, two),
                            indexConstant(b, loc, 4)));
  Value code = arith::AndIOp::create(
      b, loc, arith::ShRUIOp::create(b, loc, byte, shift),
      arith::ConstantIntOp::create(b, loc, b.getI8Type(), 0xF));
  Value group = arith::DivUIOp::create(b, loc, k, indexConstant(b, loc, groupSize));
  return dequantize(b, loc, code, loadAsF32(b, loc, scales, {row, group}),
                    loadAsF32(b, loc, minimums, {row, group}));
}

SmallVector<Value> LinearWeight::loadVectors(OpBuilder &b, Location loc,
                                             Value row, Value k, int64_t width,
                                             int64_t count) const {
  auto offset = [&](int64_t vector) {
    return arith::AddIOp::create(b, loc, k, indexConstant(b, loc, vector * width));
  };
  SmallVector<Value> vectors;
  if (dense) {
    for (int64_t v = 0; v < count; ++v)
      vectors.push_back(loadVectorAsF32(b, loc, dense, {row, offset(v)}, width));
    return vectors;
  }
  Value sharedScale, sharedMinimum;
  if (groupSize % (width * count) == 0) {
    sharedScale = loadGroupVector(b, loc, scales, row, k, width);
    sharedMinimum = loadGroupVector(b, loc, minimums, row, k, width);
  }
  for (int64_t first = 0; first < count; first += 2) {
    int64_t pair = std::min<int64_t>(2, count - first);
    SmallVector<Value> codeVectors =
        loadCodeVectors(b, loc, row, offset(first), width, pair);
    for (auto [i, codeVector] : llvm::enumerate(codeVectors)) {
      Value at = offset(first + i);
      vectors.push_back(dequantize(
          b, loc, codeVector,
          sharedScale ? sharedScale : loadGroupVector(b, loc, scales, row, at, width),
          sharedMinimum ? sharedMinimum
                        : loadGroupVector(b, loc, minimums, row, at, width)));
    }
  }
  return vectors;
}

SmallVector<Value> LinearWeight::loadCodeVectors(OpBuilder &b, Location loc,
                                                 Value row, Value k, int64_t width,
                                                 int64_t count) const {
  int64_t byteCount = width * count / 2;
  auto bytesType = VectorType::get({byteCount}, b.getI8Type());
  Value bytes = vector::LoadOp::create(
      b, loc, bytesType, codes,
      ValueRange{row, arith::DivUIOp::create(b, loc, k, indexConstant(b, loc, 2))});
  auto splat = [&](int64_t value) {
    return arith::ConstantOp::create(
        b, loc, bytesType,
        DenseElementsAttr::get(bytesType, b.getI8IntegerAttr(value)));
  };
  Value low = arith::AndIOp::create(b, loc, bytes, splat(0xF));
  Value high = arith::ShRUIOp::create(b, loc, bytes, splat(4));
  // Element e sits in byte e / 2: the low nibbles hold the even elements,
  // the high ones (shuffle indices from byteCount on) the odd ones.
  SmallVector<Value> vectors;
  for (int64_t v = 0; v < count; ++v) {
    SmallVector<int64_t> elements;
    for (int64_t e = v * width; e < (v + 1) * width; ++e)
      elements.push_back(e % 2 ? byteCount + e / 2 : e / 2);
    vectors.push_back(vector::ShuffleOp::create(b, loc, low, high, elements));
  }
  return vectors;
}

Value LinearWeight::loadGroupVector(OpBuilder &b, Location loc, Value groups,
                                    Value row, Value k, int64_t width) const {
  auto vectorType = VectorType::get({width}, b.getF32Type());
  Value first = arith::DivUIOp::create(b, loc, k, indexConstant(b, loc, groupSize));
  if (groupSize % width == 0)
    return vector::BroadcastOp::create(b, loc, vectorType,
                                       loadAsF32(b, loc, groups, {row, first}));
  // Several groups under one vector: each value repeats over its group.
  int64_t count = width / groupSize;
  Value values = loadVectorAsF32(b, loc, groups, {row, first}, count);
  SmallVector<int64_t> repeated;
  for (int64_t lane = 0; lane < width; ++lane)
    repeated.push_back(lane / groupSize);
  return vector::ShuffleOp::create(b, loc, values, values, repeated);
}

} // namespace llamac::cpu
