//===- FuseQKV.cpp - projections of one input -> llama.multi_matmul -------===//
#include "compiler/Transforms/Passes.h"

#include "mlir/IR/Dominance.h"
#include "mlir/Transforms/GreedyPatternRewriteDriver.h"

namespace llamac {
#define GEN_PASS_DEF_FUSEQKV
#include "compiler/Transforms/Passes.h.inc"
} // namespace llamac

using namespace mlir;
using namespace mlir::llama;
using namespace llamac;

/// Weights that can be read as one matrix concatenated along the output
/// dimension: the same element type and in_features.
static bool areConcatenable(Value lhs, Value rhs) {
  auto lhsType = cast<RankedTensorType>(lhs.getType());
  auto rhsType = cast<RankedTensorType>(rhs.getType());
  return lhsType.getElementType() == rhsType.getElementType() &&
         lhsType.getDimSize(1) == rhsType.getDimSize(1);
}

/// A weight read defined after `point` can move before it: it has no
/// operands (the importer emits each read right before its use).
static bool isAvailableAt(Value weight, Operation *point,
                          DominanceInfo &dominance) {
  return dominance.properlyDominates(weight, point) ||
         weight.getDefiningOp<WeightOp>();
}

/// The used matmuls of `projection`'s input in its block whose weights
/// concatenate with its weight, in block order, less those whose weight is
/// computed after the first of them, where the fused op goes.
static SmallVector<MatmulOp> collectProjections(MatmulOp projection) {
  SmallVector<MatmulOp> group;
  for (OpOperand &use : projection.getInput().getUses()) {
    auto matmul = dyn_cast<MatmulOp>(use.getOwner());
    if (matmul && &use == &matmul.getInputMutable() &&
        matmul->getBlock() == projection->getBlock() && !matmul.use_empty() &&
        areConcatenable(matmul.getWeight(), projection.getWeight()))
      group.push_back(matmul);
  }
  if (group.empty())
    return group;
  llvm::sort(group, [](MatmulOp lhs, MatmulOp rhs) {
    return lhs->isBeforeInBlock(rhs);
  });
  DominanceInfo dominance(projection->getParentOp());
  Operation *first = group.front();
  llvm::erase_if(group, [&](MatmulOp matmul) {
    return !isAvailableAt(matmul.getWeight(), first, dominance);
  });
  return group;
}

namespace {

/// Rooted at any matmul of the group; the first match rewrites the group.
struct QKVPattern : OpRewritePattern<MatmulOp> {
  QKVPattern(MLIRContext *context, Pass::Statistic &numGroups,
             Pass::Statistic &numMatmulsFused)
      : OpRewritePattern(context), numGroups(numGroups),
        numMatmulsFused(numMatmulsFused) {}

  LogicalResult matchAndRewrite(MatmulOp op,
                                PatternRewriter &rewriter) const override {
    SmallVector<MatmulOp> group = collectProjections(op);
    if (group.size() < 2)
      return rewriter.notifyMatchFailure(op, "no other projection to join");

    SmallVector<Value> weights;
    SmallVector<Type> resultTypes;
    for (MatmulOp matmul : group) {
      weights.push_back(matmul.getWeight());
      resultTypes.push_back(matmul.getType());
    }
    DominanceInfo dominance(op->getParentOp());
    for (Value weight : weights)
      if (!dominance.properlyDominates(weight, group.front()))
        rewriter.moveOpBefore(weight.getDefiningOp(), group.front());
    rewriter.setInsertionPoint(group.front());
    auto fused = MultiMatmulOp::create(rewriter, group.front().getLoc(),
                                       resultTypes, op.getInput(), weights);
    for (auto [matmul, result] : llvm::zip_equal(group, fused.getResults()))
      rewriter.replaceOp(matmul, result);
    ++numGroups;
    numMatmulsFused += group.size();
    return success();
  }

  Pass::Statistic &numGroups;
  Pass::Statistic &numMatmulsFused;
};

struct FuseQKVPass : llamac::impl::FuseQKVBase<FuseQKVPass> {
  void runOnOperation() override {
    RewritePatternSet patterns(&getContext());
    patterns.add<QKVPattern>(&getContext(), numGroups, numMatmulsFused);
    if (failed(applyPatternsGreedily(getOperation(), std::move(patterns))))
      signalPassFailure();
  }
};

} // namespace
