//===- LlamaOps.h - llama dialect ops ---------------------------*- C++ -*-===//
#ifndef LLAMAC_DIALECTS_LLAMA_IR_LLAMAOPS_H
#define LLAMAC_DIALECTS_LLAMA_IR_LLAMAOPS_H

#include "dialects/llama/IR/LlamaDialect.h"
#include "mlir/Bytecode/BytecodeOpInterface.h"
#include "mlir/IR/BuiltinOps.h"
#include "mlir/IR/BuiltinTypes.h"
#include "mlir/IR/OpDefinition.h"
#include "mlir/IR/SymbolTable.h"
#include "mlir/Interfaces/InferTypeOpInterface.h"
#include "mlir/Interfaces/SideEffectInterfaces.h"

#include "dialects/llama/IR/LlamaEnums.h.inc"

#define GET_OP_CLASSES
#include "dialects/llama/IR/LlamaOps.h.inc"

#endif // LLAMAC_DIALECTS_LLAMA_IR_LLAMAOPS_H
