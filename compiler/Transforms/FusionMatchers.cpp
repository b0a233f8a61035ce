//===- FusionMatchers.cpp - Matchers the fusion passes share --------------===//
#include "compiler/Transforms/FusionMatchers.h"

#include "mlir/IR/Matchers.h"

using namespace mlir;

FloatAttr llamac::matchScalarConstant(Value value) {
  FloatAttr constant;
  if (!matchPattern(value, m_Constant(&constant)) ||
      !constant.getType().isF32())
    return nullptr;
  return constant;
}
