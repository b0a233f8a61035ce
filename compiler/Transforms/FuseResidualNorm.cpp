//===- FuseResidualNorm.cpp - add + rms_norm -> llama.add_rms_norm --------===//
#include "compiler/Transforms/Passes.h"

#include "mlir/IR/Dominance.h"
#include "mlir/Transforms/GreedyPatternRewriteDriver.h"

namespace llamac {
#define GEN_PASS_DEF_FUSERESIDUALNORM
#include "compiler/Transforms/Passes.h.inc"
} // namespace llamac

using namespace mlir;
using namespace mlir::llama;
using namespace llamac;

/// Where one op can stand in for both `add` and `norm`: it must come after
/// the weight's definition and before every other user of the sum. The
/// importer defines the weight between the two, so the norm's place usually
/// works; the add's place works when the sum is used before the norm.
static Operation *findInsertionPoint(AddOp add, RMSNormOp norm) {
  DominanceInfo dominance(norm->getParentOp());
  if (llvm::all_of(add->getUsers(), [&](Operation *user) {
        return user == norm ||
               dominance.properlyDominates(norm.getOperation(), user);
      }))
    return norm;
  if (dominance.properlyDominates(norm.getWeight(), add))
    return add;
  return nullptr;
}

namespace {

/// Rooted at the norm, whose input is the residual sum.
struct ResidualNormPattern : OpRewritePattern<RMSNormOp> {
  ResidualNormPattern(MLIRContext *context, Pass::Statistic &numFused)
      : OpRewritePattern(context), numFused(numFused) {}

  LogicalResult matchAndRewrite(RMSNormOp norm,
                                PatternRewriter &rewriter) const override {
    auto add = norm.getInput().getDefiningOp<AddOp>();
    // A broadcasting add is not a residual connection.
    if (!add || add.getRhs().getType() != add.getLhs().getType())
      return rewriter.notifyMatchFailure(norm, "input is not a residual add");
    Operation *insertionPoint = findInsertionPoint(add, norm);
    if (!insertionPoint)
      return rewriter.notifyMatchFailure(
          norm, "no point sees the weight and precedes the sum's users");

    rewriter.setInsertionPoint(insertionPoint);
    Type type = add.getType();
    auto fused = AddRMSNormOp::create(
        rewriter, norm.getLoc(), TypeRange{type, type}, add.getLhs(),
        add.getRhs(), norm.getWeight(), norm.getEpsilonAttr());
    rewriter.replaceOp(norm, fused.getResult());
    rewriter.replaceOp(add, fused.getSum());
    ++numFused;
    return success();
  }

  Pass::Statistic &numFused;
};

struct FuseResidualNormPass
    : llamac::impl::FuseResidualNormBase<FuseResidualNormPass> {
  void runOnOperation() override {
    RewritePatternSet patterns(&getContext());
    patterns.add<ResidualNormPattern>(&getContext(), numFused);
    if (failed(applyPatternsGreedily(getOperation(), std::move(patterns))))
      signalPassFailure();
  }
};

} // namespace
