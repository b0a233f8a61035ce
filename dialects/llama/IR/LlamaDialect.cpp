//===- LlamaDialect.cpp - The llama dialect -------------------------------===//
#include "dialects/llama/IR/LlamaDialect.h"
#include "dialects/llama/IR/LlamaOps.h"

using namespace mlir;
using namespace mlir::llama;

#include "dialects/llama/IR/LlamaDialect.cpp.inc"

void LlamaDialect::initialize() {
  addOperations<
#define GET_OP_LIST
#include "dialects/llama/IR/LlamaOps.cpp.inc"
      >();
}
