//===- LlamaDialect.cpp - The llama dialect -------------------------------===//
#include "dialects/llama/IR/LlamaDialect.h"
#include "dialects/llama/IR/LlamaOps.h"

using namespace mlir;
using namespace mlir::llama;

#include "mlir/IR/DialectImplementation.h"
#include "llvm/ADT/TypeSwitch.h"

#include "dialects/llama/IR/LlamaDialect.cpp.inc"

#define GET_ATTRDEF_CLASSES
#include "dialects/llama/IR/LlamaAttrs.cpp.inc"

void LlamaDialect::initialize() {
  addOperations<
#define GET_OP_LIST
#include "dialects/llama/IR/LlamaOps.cpp.inc"
      >();
  addAttributes<
#define GET_ATTRDEF_LIST
#include "dialects/llama/IR/LlamaAttrs.cpp.inc"
      >();
}

LogicalResult Int4Attr::verify(function_ref<InFlightDiagnostic()> emitError,
                               int64_t groupSize) {
  // Two codes share a byte, so a group must not end inside one.
  if (groupSize <= 0 || groupSize % 2 != 0)
    return emitError() << "int4 group_size must be positive and even, got "
                       << groupSize;
  return success();
}

Int4Attr mlir::llama::getInt4Encoding(Type type) {
  auto tensor = dyn_cast<RankedTensorType>(type);
  return tensor ? dyn_cast_or_null<Int4Attr>(tensor.getEncoding()) : Int4Attr();
}
