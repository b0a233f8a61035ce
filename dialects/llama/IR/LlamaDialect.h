//===- LlamaDialect.h - The llama dialect -----------------------*- C++ -*-===//
#ifndef LLAMAC_DIALECTS_LLAMA_IR_LLAMADIALECT_H
#define LLAMAC_DIALECTS_LLAMA_IR_LLAMADIALECT_H

#include "mlir/Dialect/Bufferization/IR/Bufferization.h"
#include "mlir/IR/Dialect.h"

#include "dialects/llama/IR/LlamaDialect.h.inc"

#endif // LLAMAC_DIALECTS_LLAMA_IR_LLAMADIALECT_H
