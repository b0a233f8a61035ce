//===- ReductionOpLowering.cpp - mean, softmax, rms_norm, add_rms_norm ----===//
//
// All reduce over the last dimension: one parallel loop over the rows, the
// reduction and the writes of a row inside.
//
//===----------------------------------------------------------------------===//
#include "compiler/Conversion/LlamaToCPU/Patterns.h"
#include "dialects/llama/IR/LlamaOps.h"

#include "mlir/Dialect/Arith/IR/Arith.h"
#include "mlir/Dialect/Math/IR/Math.h"
#include "mlir/Dialect/MemRef/IR/MemRef.h"
#include "mlir/Dialect/SCF/IR/SCF.h"

using namespace mlir;

namespace llamac::cpu {
namespace {

/// Calls `body(row)` for every row of the [rows, columns] view of `buffer`,
/// in parallel.
void forEachRow(OpBuilder &b, Location loc, Value rows,
                function_ref<void(OpBuilder &, Location, Value)> body) {
  buildParallelLoops(b, loc, {rows},
                     [&](OpBuilder &nb, Location nloc, ValueRange ivs) {
                       body(nb, nloc, ivs[0]);
                     });
}

/// Calls `body(column)` for each column of a row.
void forEachColumn(OpBuilder &b, Location loc, Value columns,
                   function_ref<void(OpBuilder &, Location, Value)> body) {
  buildSerialLoops(b, loc, {columns},
                   [&](OpBuilder &nb, Location nloc, ValueRange ivs) {
                     body(nb, nloc, ivs[0]);
                   });
}

/// An op over the last dimension: its input and a new result buffer, both
/// viewed as [rows, columns].
struct RowViews {
  Value input;   ///< [rows, columns] view of the input.
  Value result;  ///< The result buffer, in the op's shape.
  Value output;  ///< [rows, N] view of the result.
  Value rows;
  Value columns;
  int64_t staticColumns;
};

RowViews makeRowViews(OpBuilder &b, Location loc, ShapedType resultType,
                      Value input) {
  RowViews views;
  views.input = collapseToRows(b, loc, input);
  views.result = allocBufferLike(b, loc, resultType, input);
  views.output = collapseToRows(b, loc, views.result);
  SmallVector<Value> sizes = getSizes(b, loc, views.input);
  views.rows = sizes[0];
  views.columns = sizes[1];
  views.staticColumns = cast<MemRefType>(views.input.getType()).getDimSize(1);
  return views;
}

struct MeanOpLowering : LlamaLoweringPattern<llama::MeanOp> {
  using LlamaLoweringPattern::LlamaLoweringPattern;

  LogicalResult
  matchAndRewrite(llama::MeanOp op, OpAdaptor adaptor,
                  ConversionPatternRewriter &rewriter) const override {
    Location loc = op.getLoc();
    RowViews views = makeRowViews(rewriter, loc, op.getType(), adaptor.getInput());
    forEachRow(rewriter, loc, views.rows, [&](OpBuilder &b, Location nloc, Value row) {
      Value sum = buildSerialSum(b, nloc, views.columns,
                                 [&](OpBuilder &nb, Location l, Value k) -> Value {
                                   return memref::LoadOp::create(nb, l, views.input,
                                                                 ValueRange{row, k});
                                 });
      Value mean = arith::DivFOp::create(b, nloc, sum,
                                         f32Constant(b, nloc, views.staticColumns));
      memref::StoreOp::create(b, nloc, mean, views.output,
                              ValueRange{row, indexConstant(b, nloc, 0)});
    });
    rewriter.replaceOp(op, views.result);
    return success();
  }
};

struct SoftmaxOpLowering : LlamaLoweringPattern<llama::SoftmaxOp> {
  using LlamaLoweringPattern::LlamaLoweringPattern;

  LogicalResult
  matchAndRewrite(llama::SoftmaxOp op, OpAdaptor adaptor,
                  ConversionPatternRewriter &rewriter) const override {
    Location loc = op.getLoc();
    RowViews views = makeRowViews(rewriter, loc, op.getType(), adaptor.getInput());
    forEachRow(rewriter, loc, views.rows, [&](OpBuilder &b, Location nloc, Value row) {
      auto load = [&](OpBuilder &nb, Location l, Value k) -> Value {
        return memref::LoadOp::create(nb, l, views.input, ValueRange{row, k});
      };
      Value max = buildSerialMax(b, nloc, views.columns, load);
      auto shiftedExp = [&](OpBuilder &nb, Location l, Value k) -> Value {
        Value shifted = arith::SubFOp::create(nb, l, load(nb, l, k), max);
        return math::ExpOp::create(nb, l, shifted);
      };
      Value sum = buildSerialSum(b, nloc, views.columns, shiftedExp);
      forEachColumn(b, nloc, views.columns, [&](OpBuilder &nb, Location l, Value k) {
        Value p = arith::DivFOp::create(nb, l, shiftedExp(nb, l, k), sum);
        memref::StoreOp::create(nb, l, p, views.output, ValueRange{row, k});
      });
    });
    rewriter.replaceOp(op, views.result);
    return success();
  }
};

/// Writes rms_norm(input[row]) * weight into output[row]; the arithmetic
/// follows Hugging Face: x * rsqrt(mean(x^2) + eps), then times the weight.
void buildNormalizedRow(OpBuilder &b, Location loc, Value input, Value weight,
                        Value output, Value row, int64_t columns, float epsilon,
                        const KernelOptions &options) {
  Value sumOfSquares =
      buildDotProduct(b, loc, input, row, input, row, columns, options);
  Value mean = arith::DivFOp::create(b, loc, sumOfSquares,
                                     f32Constant(b, loc, columns));
  Value shifted = arith::AddFOp::create(b, loc, mean, f32Constant(b, loc, epsilon));
  Value inverse = math::RsqrtOp::create(b, loc, shifted);
  forEachColumn(b, loc, indexConstant(b, loc, columns),
                [&](OpBuilder &nb, Location l, Value k) {
                  Value x = memref::LoadOp::create(nb, l, input, ValueRange{row, k});
                  Value normalized = arith::MulFOp::create(nb, l, x, inverse);
                  Value w = loadAsF32(nb, l, weight, ValueRange{k});
                  Value y = arith::MulFOp::create(nb, l, normalized, w);
                  memref::StoreOp::create(nb, l, y, output, ValueRange{row, k});
                });
}

struct RMSNormOpLowering : LlamaLoweringPattern<llama::RMSNormOp> {
  using LlamaLoweringPattern::LlamaLoweringPattern;

  LogicalResult
  matchAndRewrite(llama::RMSNormOp op, OpAdaptor adaptor,
                  ConversionPatternRewriter &rewriter) const override {
    Location loc = op.getLoc();
    RowViews views = makeRowViews(rewriter, loc, op.getType(), adaptor.getInput());
    forEachRow(rewriter, loc, views.rows, [&](OpBuilder &b, Location nloc, Value row) {
      buildNormalizedRow(b, nloc, views.input, adaptor.getWeight(), views.output,
                         row, views.staticColumns, op.getEpsilon().convertToFloat(),
                         context.options);
    });
    rewriter.replaceOp(op, views.result);
    return success();
  }
};

struct AddRMSNormOpLowering : LlamaLoweringPattern<llama::AddRMSNormOp> {
  using LlamaLoweringPattern::LlamaLoweringPattern;

  LogicalResult
  matchAndRewrite(llama::AddRMSNormOp op, OpAdaptor adaptor,
                  ConversionPatternRewriter &rewriter) const override {
    Location loc = op.getLoc();
    Value input = collapseToRows(rewriter, loc, adaptor.getInput());
    Value residual = collapseToRows(rewriter, loc, adaptor.getResidual());
    Value sum = allocBufferLike(rewriter, loc, op.getSum().getType(),
                                adaptor.getInput());
    Value normalized = allocBufferLike(rewriter, loc, op.getResult().getType(),
                                       adaptor.getInput());
    Value sumRows = collapseToRows(rewriter, loc, sum);
    Value output = collapseToRows(rewriter, loc, normalized);
    int64_t columns = cast<MemRefType>(input.getType()).getDimSize(1);
    Value rows = getSizes(rewriter, loc, input)[0];
    forEachRow(rewriter, loc, rows, [&](OpBuilder &b, Location nloc, Value row) {
      forEachColumn(b, nloc, indexConstant(b, nloc, columns),
                    [&](OpBuilder &nb, Location l, Value k) {
                      SmallVector<Value, 2> at = {row, k};
                      Value x = memref::LoadOp::create(nb, l, input, at);
                      Value r = memref::LoadOp::create(nb, l, residual, at);
                      Value s = arith::AddFOp::create(nb, l, x, r);
                      memref::StoreOp::create(nb, l, s, sumRows, at);
                    });
      buildNormalizedRow(b, nloc, sumRows, adaptor.getWeight(), output, row,
                         columns, op.getEpsilon().convertToFloat(),
                         context.options);
    });
    rewriter.replaceOp(op, {sum, normalized});
    return success();
  }
};

} // namespace

void populateReductionOpLoweringPatterns(RewritePatternSet &patterns,
                                         const TypeConverter &converter,
                                         const LoweringContext &context) {
  addLoweringPatterns<MeanOpLowering, SoftmaxOpLowering, RMSNormOpLowering,
                      AddRMSNormOpLowering>(patterns, converter, context);
}

} // namespace llamac::cpu
