//===- LinearOpLowering.cpp - embedding, matmul, multi_matmul, swiglu -----===//
//
// Linear layers read each weight row once and reuse it for every input row:
// the loop over output features is the parallel one, so at decode (one
// input row) every thread streams its own share of the weight.
//
//===----------------------------------------------------------------------===//
#include "compiler/Conversion/LlamaToCPU/Patterns.h"
#include "dialects/llama/IR/LlamaOps.h"

#include "mlir/Dialect/Arith/IR/Arith.h"
#include "mlir/Dialect/MemRef/IR/MemRef.h"

using namespace mlir;

namespace llamac::cpu {
namespace {

/// For every output feature n (in parallel) and input row m:
/// output[m, n] = epilogue(dot(input[m], weights[i][n]) for each weight i).
void buildLinear(OpBuilder &b, Location loc, Value input, ValueRange weights,
                 Value output,
                 function_ref<Value(OpBuilder &, Location, ValueRange)> epilogue,
                 const KernelOptions &options) {
  Value rows = collapseToRows(b, loc, input);
  Value outputRows = collapseToRows(b, loc, output);
  auto weightType = cast<MemRefType>(weights.front().getType());
  int64_t inFeatures = weightType.getDimSize(1);
  Value outFeatures = indexConstant(b, loc, weightType.getDimSize(0));
  Value rowCount = getSizes(b, loc, rows)[0];
  buildParallelLoops(
      b, loc, {outFeatures}, [&](OpBuilder &pb, Location ploc, ValueRange n) {
        buildSerialLoops(
            pb, ploc, {rowCount}, [&](OpBuilder &sb, Location sloc, ValueRange m) {
              SmallVector<Value> dots;
              for (Value weight : weights)
                dots.push_back(buildDotProduct(sb, sloc, rows, m[0], weight,
                                               n[0], inFeatures, options));
              memref::StoreOp::create(sb, sloc, epilogue(sb, sloc, dots),
                                      outputRows, ValueRange{m[0], n[0]});
            });
      });
}

Value identityEpilogue(OpBuilder &, Location, ValueRange dots) {
  return dots[0];
}

struct MatmulOpLowering : LlamaLoweringPattern<llama::MatmulOp> {
  using LlamaLoweringPattern::LlamaLoweringPattern;

  LogicalResult
  matchAndRewrite(llama::MatmulOp op, OpAdaptor adaptor,
                  ConversionPatternRewriter &rewriter) const override {
    Location loc = op.getLoc();
    Value result = allocBufferLike(rewriter, loc, op.getType(), adaptor.getInput());
    buildLinear(rewriter, loc, adaptor.getInput(), {adaptor.getWeight()},
                result, identityEpilogue, context.options);
    rewriter.replaceOp(op, result);
    return success();
  }
};

struct MultiMatmulOpLowering : LlamaLoweringPattern<llama::MultiMatmulOp> {
  using LlamaLoweringPattern::LlamaLoweringPattern;

  LogicalResult
  matchAndRewrite(llama::MultiMatmulOp op, OpAdaptor adaptor,
                  ConversionPatternRewriter &rewriter) const override {
    Location loc = op.getLoc();
    SmallVector<Value> results;
    for (auto [weight, result] : llvm::zip(adaptor.getWeights(), op.getResults())) {
      Value buffer = allocBufferLike(
          rewriter, loc, cast<ShapedType>(result.getType()), adaptor.getInput());
      buildLinear(rewriter, loc, adaptor.getInput(), {weight}, buffer,
                  identityEpilogue, context.options);
      results.push_back(buffer);
    }
    rewriter.replaceOp(op, results);
    return success();
  }
};

struct SwiGLUOpLowering : LlamaLoweringPattern<llama::SwiGLUOp> {
  using LlamaLoweringPattern::LlamaLoweringPattern;

  LogicalResult
  matchAndRewrite(llama::SwiGLUOp op, OpAdaptor adaptor,
                  ConversionPatternRewriter &rewriter) const override {
    Location loc = op.getLoc();
    Value result = allocBufferLike(rewriter, loc, op.getType(), adaptor.getInput());
    buildLinear(
        rewriter, loc, adaptor.getInput(), {adaptor.getGate(), adaptor.getUp()},
        result,
        [](OpBuilder &b, Location l, ValueRange dots) -> Value {
          return arith::MulFOp::create(b, l, buildSilu(b, l, dots[0]), dots[1]);
        },
        context.options);
    rewriter.replaceOp(op, result);
    return success();
  }
};

struct EmbeddingOpLowering : LlamaLoweringPattern<llama::EmbeddingOp> {
  using LlamaLoweringPattern::LlamaLoweringPattern;

  LogicalResult
  matchAndRewrite(llama::EmbeddingOp op, OpAdaptor adaptor,
                  ConversionPatternRewriter &rewriter) const override {
    Location loc = op.getLoc();
    Value ids = adaptor.getIds();
    Value table = adaptor.getTable();
    Value result = allocBufferLike(rewriter, loc, op.getType(), ids);
    SmallVector<Value> sizes = getSizes(rewriter, loc, result);
    buildParallelLoops(
        rewriter, loc, {sizes[0], sizes[1]},
        [&](OpBuilder &b, Location nloc, ValueRange bt) {
          Value id = memref::LoadOp::create(b, nloc, ids, bt);
          Value row = arith::IndexCastOp::create(b, nloc, b.getIndexType(), id);
          buildSerialLoops(b, nloc, {sizes[2]},
                           [&](OpBuilder &nb, Location l, ValueRange d) {
                             Value x = loadAsF32(nb, l, table, {row, d[0]});
                             memref::StoreOp::create(
                                 nb, l, x, result, ValueRange{bt[0], bt[1], d[0]});
                           });
        });
    rewriter.replaceOp(op, result);
    return success();
  }
};

} // namespace

void populateLinearOpLoweringPatterns(RewritePatternSet &patterns,
                                      const TypeConverter &converter,
                                      const LoweringContext &context) {
  addLoweringPatterns<MatmulOpLowering, MultiMatmulOpLowering, SwiGLUOpLowering,
                      EmbeddingOpLowering>(patterns, converter, context);
}

} // namespace llamac::cpu
