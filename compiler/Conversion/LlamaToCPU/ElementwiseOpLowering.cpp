//===- ElementwiseOpLowering.cpp - add, mul, rsqrt, silu, cast, constant --===//
#include "compiler/Conversion/LlamaToCPU/Patterns.h"
#include "dialects/llama/IR/LlamaOps.h"

#include "mlir/Dialect/Arith/IR/Arith.h"
#include "mlir/Dialect/Math/IR/Math.h"
#include "mlir/Dialect/MemRef/IR/MemRef.h"

using namespace mlir;

namespace llamac::cpu {
namespace {

/// The indices of `rhs` that broadcast against `lhs` at `lhsIndices`:
/// trailing-aligned, size-1 dimensions pinned to 0.
SmallVector<Value> broadcastIndices(OpBuilder &b, Location loc,
                                    MemRefType lhs, MemRefType rhs,
                                    ValueRange lhsIndices) {
  int64_t offset = lhs.getRank() - rhs.getRank();
  SmallVector<Value> indices;
  for (int64_t dim = 0; dim < rhs.getRank(); ++dim)
    indices.push_back(rhs.getDimSize(dim) == 1 && lhs.getDimSize(offset + dim) != 1
                          ? indexConstant(b, loc, 0)
                          : lhsIndices[offset + dim]);
  return indices;
}

template <typename OpTy, typename ArithOpTy>
struct BinaryOpLowering : LlamaLoweringPattern<OpTy> {
  using LlamaLoweringPattern<OpTy>::LlamaLoweringPattern;
  using OpAdaptor = typename OpTy::Adaptor;

  LogicalResult
  matchAndRewrite(OpTy op, OpAdaptor adaptor,
                  ConversionPatternRewriter &rewriter) const override {
    Location loc = op.getLoc();
    Value lhs = adaptor.getLhs(), rhs = adaptor.getRhs();
    auto lhsType = cast<MemRefType>(lhs.getType());
    auto rhsType = cast<MemRefType>(rhs.getType());
    Value result = allocBufferLike(rewriter, loc, op.getType(), lhs);
    buildParallelLoops(
        rewriter, loc, getSizes(rewriter, loc, lhs),
        [&](OpBuilder &b, Location nloc, ValueRange ivs) {
          Value x = memref::LoadOp::create(b, nloc, lhs, ivs);
          Value y = memref::LoadOp::create(
              b, nloc, rhs, broadcastIndices(b, nloc, lhsType, rhsType, ivs));
          Value z = ArithOpTy::create(b, nloc, x, y);
          memref::StoreOp::create(b, nloc, z, result, ivs);
        });
    rewriter.replaceOp(op, result);
    return success();
  }
};

/// Unary ops: one result element from one input element.
template <typename OpTy>
struct UnaryOpLowering : LlamaLoweringPattern<OpTy> {
  using LlamaLoweringPattern<OpTy>::LlamaLoweringPattern;
  using OpAdaptor = typename OpTy::Adaptor;

  virtual Value compute(OpBuilder &b, Location loc, Value x) const = 0;

  LogicalResult
  matchAndRewrite(OpTy op, OpAdaptor adaptor,
                  ConversionPatternRewriter &rewriter) const override {
    Location loc = op.getLoc();
    Value input = adaptor.getInput();
    Value result = allocBufferLike(rewriter, loc,
                                   cast<ShapedType>(op.getType()), input);
    buildParallelLoops(rewriter, loc, getSizes(rewriter, loc, input),
                       [&](OpBuilder &b, Location nloc, ValueRange ivs) {
                         Value x = loadAsF32(b, nloc, input, ivs);
                         memref::StoreOp::create(b, nloc, compute(b, nloc, x),
                                                 result, ivs);
                       });
    rewriter.replaceOp(op, result);
    return success();
  }
};

struct RsqrtOpLowering : UnaryOpLowering<llama::RsqrtOp> {
  using UnaryOpLowering::UnaryOpLowering;
  Value compute(OpBuilder &b, Location loc, Value x) const override {
    return math::RsqrtOp::create(b, loc, x);
  }
};

struct SiluOpLowering : UnaryOpLowering<llama::SiluOp> {
  using UnaryOpLowering::UnaryOpLowering;
  Value compute(OpBuilder &b, Location loc, Value x) const override {
    return buildSilu(b, loc, x);
  }
};

/// The widening itself happens in loadAsF32.
struct CastOpLowering : UnaryOpLowering<llama::CastOp> {
  using UnaryOpLowering::UnaryOpLowering;
  Value compute(OpBuilder &, Location, Value x) const override { return x; }
};

struct ConstantOpLowering : LlamaLoweringPattern<llama::ConstantOp> {
  using LlamaLoweringPattern::LlamaLoweringPattern;

  LogicalResult
  matchAndRewrite(llama::ConstantOp op, OpAdaptor,
                  ConversionPatternRewriter &rewriter) const override {
    Location loc = op.getLoc();
    Value result = allocBuffer(rewriter, loc, op.getType(), {});
    Value value = arith::ConstantOp::create(rewriter, loc, op.getValueAttr());
    memref::StoreOp::create(rewriter, loc, value, result, ValueRange{});
    rewriter.replaceOp(op, result);
    return success();
  }
};

} // namespace

void populateElementwiseOpLoweringPatterns(RewritePatternSet &patterns,
                                           const TypeConverter &converter,
                                           const LoweringContext &context) {
  addLoweringPatterns<BinaryOpLowering<llama::AddOp, arith::AddFOp>,
                      BinaryOpLowering<llama::MulOp, arith::MulFOp>,
                      RsqrtOpLowering, SiluOpLowering, CastOpLowering,
                      ConstantOpLowering>(patterns, converter, context);
}

} // namespace llamac::cpu
