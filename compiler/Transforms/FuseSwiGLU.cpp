//===- FuseSwiGLU.cpp - silu(x Wg^T) * (x Wu^T) -> llama.swiglu -----------===//
#include "compiler/Transforms/FusionMatchers.h"
#include "compiler/Transforms/Passes.h"

#include "mlir/Transforms/GreedyPatternRewriteDriver.h"

namespace llamac {
#define GEN_PASS_DEF_FUSESWIGLU
#include "compiler/Transforms/Passes.h.inc"
} // namespace llamac

using namespace mlir;
using namespace mlir::llama;
using namespace llamac;

namespace {

/// Rooted at the product of the activated gate and the up projection.
struct SwiGLUPattern : OpRewritePattern<MulOp> {
  SwiGLUPattern(MLIRContext *context, Pass::Statistic &numFused)
      : OpRewritePattern(context), numFused(numFused) {}

  LogicalResult matchAndRewrite(MulOp op,
                                PatternRewriter &rewriter) const override {
    MatmulOp gate, up;
    bool matched = matchEitherOrder(op, [&](Value activated, Value upOutput) {
      auto silu = getAbsorbableDefiningOp<SiluOp>(activated);
      gate =
          silu ? getAbsorbableDefiningOp<MatmulOp>(silu.getInput()) : nullptr;
      up = getAbsorbableDefiningOp<MatmulOp>(upOutput);
      return gate && up && gate.getInput() == up.getInput();
    });
    if (!matched)
      return rewriter.notifyMatchFailure(op, "not silu(x Wg^T) * (x Wu^T)");
    // llama.swiglu reads both weights as one matrix.
    if (gate.getWeight().getType() != up.getWeight().getType())
      return rewriter.notifyMatchFailure(op, "gate and up weight types differ");
    if (gate.getType() != op.getType() || up.getType() != op.getType())
      return rewriter.notifyMatchFailure(op, "projection types differ");
    rewriter.replaceOpWithNewOp<SwiGLUOp>(op, op.getType(), gate.getInput(),
                                          gate.getWeight(), up.getWeight());
    ++numFused;
    return success();
  }

  Pass::Statistic &numFused;
};

struct FuseSwiGLUPass : llamac::impl::FuseSwiGLUBase<FuseSwiGLUPass> {
  void runOnOperation() override {
    RewritePatternSet patterns(&getContext());
    patterns.add<SwiGLUPattern>(&getContext(), numFused);
    if (failed(applyPatternsGreedily(getOperation(), std::move(patterns))))
      signalPassFailure();
  }
};

} // namespace
