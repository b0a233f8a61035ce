//===- ShapeOpLowering.cpp - reshape, transpose, repeat_kv, last_positions ===//
#include "compiler/Conversion/LlamaToCPU/Patterns.h"
#include "dialects/llama/IR/LlamaOps.h"

#include "mlir/Dialect/Arith/IR/Arith.h"
#include "mlir/Dialect/MemRef/IR/MemRef.h"

using namespace mlir;

namespace llamac::cpu {
namespace {

/// A reshape of a row-major buffer is a view: memref.reshape with the result
/// sizes, whose dynamic ones are the input's dynamic ones in order.
struct ReshapeOpLowering : LlamaLoweringPattern<llama::ReshapeOp> {
  using LlamaLoweringPattern::LlamaLoweringPattern;

  LogicalResult
  matchAndRewrite(llama::ReshapeOp op, OpAdaptor adaptor,
                  ConversionPatternRewriter &rewriter) const override {
    Location loc = op.getLoc();
    Value input = adaptor.getInput();
    auto inputType = cast<MemRefType>(input.getType());
    auto resultType = cast<MemRefType>(getTypeConverter()->convertType(op.getType()));
    SmallVector<Value> dynamicSizes;
    for (int64_t dim = 0; dim < inputType.getRank(); ++dim)
      if (inputType.isDynamicDim(dim))
        dynamicSizes.push_back(memref::DimOp::create(rewriter, loc, input, dim));
    auto shapeType = MemRefType::get({resultType.getRank()}, rewriter.getIndexType());
    Value shape = memref::AllocaOp::create(rewriter, loc, shapeType);
    auto dynamicSize = dynamicSizes.begin();
    for (int64_t dim = 0; dim < resultType.getRank(); ++dim) {
      Value size = resultType.isDynamicDim(dim)
                       ? *dynamicSize++
                       : indexConstant(rewriter, loc, resultType.getDimSize(dim));
      memref::StoreOp::create(rewriter, loc, size, shape,
                              ValueRange{indexConstant(rewriter, loc, dim)});
    }
    rewriter.replaceOpWithNewOp<memref::ReshapeOp>(op, resultType, input, shape);
    return success();
  }
};

/// Ops that fill each result element from one input element whose indices
/// are a function of the result's.
template <typename OpTy>
struct GatherOpLowering : LlamaLoweringPattern<OpTy> {
  using LlamaLoweringPattern<OpTy>::LlamaLoweringPattern;
  using OpAdaptor = typename OpTy::Adaptor;

  /// The result's dynamic sizes.
  virtual SmallVector<Value> resultSizes(OpBuilder &b, Location loc, OpTy op,
                                         Value input) const = 0;
  /// The indices of `input` read for the result element at `indices`.
  virtual SmallVector<Value> sourceIndices(OpBuilder &b, Location loc, OpTy op,
                                           Value input, ValueRange indices) const = 0;

  LogicalResult
  matchAndRewrite(OpTy op, OpAdaptor adaptor,
                  ConversionPatternRewriter &rewriter) const override {
    Location loc = op.getLoc();
    Value input = adaptor.getInput();
    auto type = cast<ShapedType>(op.getType());
    SmallVector<Value> sizes = resultSizes(rewriter, loc, op, input);
    Value result = allocBufferOfSizes(rewriter, loc, type, sizes);
    buildParallelLoops(rewriter, loc, sizes,
                       [&](OpBuilder &b, Location nloc, ValueRange ivs) {
                         Value x = memref::LoadOp::create(
                             b, nloc, input, sourceIndices(b, nloc, op, input, ivs));
                         memref::StoreOp::create(b, nloc, x, result, ivs);
                       });
    rewriter.replaceOp(op, result);
    return success();
  }
};

struct TransposeOpLowering : GatherOpLowering<llama::TransposeOp> {
  using GatherOpLowering::GatherOpLowering;

  SmallVector<Value> resultSizes(OpBuilder &b, Location loc,
                                 llama::TransposeOp op,
                                 Value input) const override {
    SmallVector<Value> inputSizes = getSizes(b, loc, input);
    SmallVector<Value> sizes;
    for (int64_t dim : op.getPermutation())
      sizes.push_back(inputSizes[dim]);
    return sizes;
  }

  SmallVector<Value> sourceIndices(OpBuilder &, Location, llama::TransposeOp op,
                                   Value, ValueRange indices) const override {
    SmallVector<Value> source(indices.size());
    for (auto [resultDim, inputDim] : llvm::enumerate(op.getPermutation()))
      source[inputDim] = indices[resultDim];
    return source;
  }
};

struct RepeatKVOpLowering : GatherOpLowering<llama::RepeatKVOp> {
  using GatherOpLowering::GatherOpLowering;

  SmallVector<Value> resultSizes(OpBuilder &b, Location loc,
                                 llama::RepeatKVOp op,
                                 Value input) const override {
    SmallVector<Value> sizes = getSizes(b, loc, input);
    sizes[1] = arith::MulIOp::create(b, loc, sizes[1],
                                     indexConstant(b, loc, op.getRepeats()));
    return sizes;
  }

  SmallVector<Value> sourceIndices(OpBuilder &b, Location loc,
                                   llama::RepeatKVOp op, Value,
                                   ValueRange indices) const override {
    SmallVector<Value> source(indices);
    source[1] = arith::DivUIOp::create(b, loc, indices[1],
                                       indexConstant(b, loc, op.getRepeats()));
    return source;
  }
};

/// Position t of the result is position seq - count + t of the input.
struct LastPositionsOpLowering : GatherOpLowering<llama::LastPositionsOp> {
  using GatherOpLowering::GatherOpLowering;

  SmallVector<Value> resultSizes(OpBuilder &b, Location loc,
                                 llama::LastPositionsOp op,
                                 Value input) const override {
    SmallVector<Value> sizes = getSizes(b, loc, input);
    sizes[1] = op.getCount();
    return sizes;
  }

  SmallVector<Value> sourceIndices(OpBuilder &b, Location loc,
                                   llama::LastPositionsOp op, Value input,
                                   ValueRange indices) const override {
    Value skipped = arith::SubIOp::create(
        b, loc, memref::DimOp::create(b, loc, input, 1), op.getCount());
    SmallVector<Value> source(indices);
    source[1] = arith::AddIOp::create(b, loc, indices[1], skipped);
    return source;
  }
};

} // namespace

void populateShapeOpLoweringPatterns(RewritePatternSet &patterns,
                                     const TypeConverter &converter,
                                     const LoweringContext &context) {
  addLoweringPatterns<ReshapeOpLowering, TransposeOpLowering, RepeatKVOpLowering,
                      LastPositionsOpLowering>(patterns, converter, context);
}

} // namespace llamac::cpu
