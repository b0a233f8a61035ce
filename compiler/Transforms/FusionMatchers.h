//===- FusionMatchers.h - Matchers the fusion passes share ------*- C++ -*-===//
//
// The fusion passes recognise chains of primitive llama ops by walking from
// the chain's last op up through its operands. These helpers are the steps
// every such walk takes.
//
//===----------------------------------------------------------------------===//
#ifndef LLAMAC_COMPILER_TRANSFORMS_FUSIONMATCHERS_H
#define LLAMAC_COMPILER_TRANSFORMS_FUSIONMATCHERS_H

#include "mlir/IR/BuiltinAttributes.h"
#include "mlir/IR/Value.h"

namespace llamac {

/// The op of type `OpTy` defining `value`, provided nothing else uses
/// `value`: a fused op replaces the ops it absorbs, so absorbing one whose
/// result is also used elsewhere would compute it twice.
template <typename OpTy> OpTy getAbsorbableDefiningOp(mlir::Value value) {
  if (!value.hasOneUse())
    return nullptr;
  return value.getDefiningOp<OpTy>();
}

/// Calls `match(a, b)` with the operands of the commutative binary op `op`
/// in both orders; true when either order matched. `match` must assign all
/// of its outputs on success, since a failed first try may leave some set.
template <typename BinaryOp, typename MatchFn>
bool matchEitherOrder(BinaryOp op, MatchFn &&match) {
  return match(op.getLhs(), op.getRhs()) || match(op.getRhs(), op.getLhs());
}

/// The value of the float32 scalar constant `value`, or null when `value` is
/// not a constant.
mlir::FloatAttr matchScalarConstant(mlir::Value value);

} // namespace llamac

#endif // LLAMAC_COMPILER_TRANSFORMS_FUSIONMATCHERS_H
