//===- FuseRMSNorm.cpp - x * rsqrt(mean(x^2) + eps) * w -> llama.rms_norm -===//
#include "compiler/Transforms/FusionMatchers.h"
#include "compiler/Transforms/Passes.h"

#include "mlir/Transforms/GreedyPatternRewriteDriver.h"

namespace llamac {
#define GEN_PASS_DEF_FUSERMSNORM
#include "compiler/Transforms/Passes.h.inc"
} // namespace llamac

using namespace mlir;
using namespace mlir::llama;
using namespace llamac;

/// Matches `x * rsqrt(mean(x * x) + eps)`, binding x and eps. The epsilon
/// must be a positive constant: it becomes an attribute of the fused op.
static bool matchNormalization(Value normalized, Value &input,
                               FloatAttr &epsilon) {
  auto scaled = getAbsorbableDefiningOp<MulOp>(normalized);
  if (!scaled)
    return false;
  return matchEitherOrder(scaled, [&](Value x, Value inverseRms) {
    auto rsqrt = getAbsorbableDefiningOp<RsqrtOp>(inverseRms);
    auto shifted =
        rsqrt ? getAbsorbableDefiningOp<AddOp>(rsqrt.getInput()) : nullptr;
    if (!shifted)
      return false;
    return matchEitherOrder(shifted, [&](Value meanSquare, Value eps) {
      auto mean = getAbsorbableDefiningOp<MeanOp>(meanSquare);
      auto square =
          mean ? getAbsorbableDefiningOp<MulOp>(mean.getInput()) : nullptr;
      if (!square || square.getLhs() != x || square.getRhs() != x)
        return false;
      epsilon = matchScalarConstant(eps);
      if (!epsilon || !(epsilon.getValueAsDouble() > 0))
        return false;
      input = x;
      return true;
    });
  });
}

/// The weight behind the scale `scale` in its storage type: a `llama.weight`
/// used as is or through its float32 `llama.cast`, one value per element of
/// the input's last dimension. Null when `scale` is anything else.
static Value matchNormWeight(Value scale, RankedTensorType inputType) {
  Value weight = scale;
  if (auto widened = scale.getDefiningOp<CastOp>())
    weight = widened.getInput();
  if (!weight.getDefiningOp<WeightOp>())
    return nullptr;
  auto weightType = cast<RankedTensorType>(weight.getType());
  if (weightType.getRank() != 1 || inputType.getRank() < 1 ||
      inputType.isDynamicDim(inputType.getRank() - 1) ||
      weightType.getDimSize(0) != inputType.getShape().back())
    return nullptr;
  return weight;
}

namespace {

/// Rooted at the multiplication by the weight, the last op of the chain.
struct RMSNormPattern : OpRewritePattern<MulOp> {
  RMSNormPattern(MLIRContext *context, Pass::Statistic &numFused)
      : OpRewritePattern(context), numFused(numFused) {}

  LogicalResult matchAndRewrite(MulOp op,
                                PatternRewriter &rewriter) const override {
    Value input, weight;
    FloatAttr epsilon;
    bool matched = matchEitherOrder(op, [&](Value normalized, Value scale) {
      if (!matchNormalization(normalized, input, epsilon))
        return false;
      weight = matchNormWeight(scale, cast<RankedTensorType>(input.getType()));
      return static_cast<bool>(weight);
    });
    if (!matched || op.getType() != input.getType())
      return rewriter.notifyMatchFailure(op, "not an RMSNorm chain");
    rewriter.replaceOpWithNewOp<RMSNormOp>(op, op.getType(), input, weight,
                                           epsilon);
    ++numFused;
    return success();
  }

  Pass::Statistic &numFused;
};

struct FuseRMSNormPass : llamac::impl::FuseRMSNormBase<FuseRMSNormPass> {
  void runOnOperation() override {
    RewritePatternSet patterns(&getContext());
    patterns.add<RMSNormPattern>(&getContext(), numFused);
    if (failed(applyPatternsGreedily(getOperation(), std::move(patterns))))
      signalPassFailure();
  }
};

} // namespace
