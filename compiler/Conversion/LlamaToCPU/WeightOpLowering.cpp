//===- WeightOpLowering.cpp - llama.weight to memrefs over table pointers -===//
//
// The compiled code receives the weights as an array of pointers, one per
// llama.weight_decl in declaration order. A llama.weight becomes a memref
// over the loaded pointer.
//
//===----------------------------------------------------------------------===//
#include "compiler/Conversion/DenseMemRef.h"
#include "compiler/Conversion/LlamaToCPU/Patterns.h"
#include "dialects/llama/IR/LlamaOps.h"

#include "mlir/Dialect/Func/IR/FuncOps.h"
#include "mlir/Dialect/LLVMIR/LLVMDialect.h"

using namespace mlir;

namespace llamac::cpu {
namespace {

/// The argument of the enclosing function marked `llama.weight_table`.
Value findWeightTable(Operation *op) {
  auto func = op->getParentOfType<func::FuncOp>();
  if (!func)
    return {};
  for (unsigned i = 0; i < func.getNumArguments(); ++i)
    if (func.getArgAttr(i, "llama.weight_table"))
      return func.getArgument(i);
  return {};
}

struct WeightOpLowering : LlamaLoweringPattern<llama::WeightOp> {
  using LlamaLoweringPattern::LlamaLoweringPattern;

  LogicalResult
  matchAndRewrite(llama::WeightOp op, OpAdaptor,
                  ConversionPatternRewriter &rewriter) const override {
    Value table = findWeightTable(op);
    if (!table)
      return op.emitOpError("is not inside a function with a "
                            "`llama.weight_table` argument");
    auto index = context.weightIndex.find(op.getName());
    if (index == context.weightIndex.end())
      return op.emitOpError() << "refers to an undeclared weight";
    Location loc = op.getLoc();
    MLIRContext *ctx = rewriter.getContext();
    auto ptrType = LLVM::LLVMPointerType::get(ctx);
    Value slot = LLVM::GEPOp::create(
        rewriter, loc, ptrType, ptrType, table,
        ArrayRef<LLVM::GEPArg>{static_cast<int32_t>(index->second)});
    Value pointer = LLVM::LoadOp::create(rewriter, loc, ptrType, slot);
    auto type = cast<MemRefType>(getTypeConverter()->convertType(op.getType()));
    rewriter.replaceOp(op, denseMemRefAt(rewriter, loc, pointer, type, type.getShape()));
    return success();
  }
};

struct WeightDeclOpLowering : LlamaLoweringPattern<llama::WeightDeclOp> {
  using LlamaLoweringPattern::LlamaLoweringPattern;

  LogicalResult
  matchAndRewrite(llama::WeightDeclOp op, OpAdaptor,
                  ConversionPatternRewriter &rewriter) const override {
    rewriter.eraseOp(op);
    return success();
  }
};

} // namespace

void populateWeightOpLoweringPatterns(RewritePatternSet &patterns,
                                      const TypeConverter &converter,
                                      const LoweringContext &context) {
  addLoweringPatterns<WeightOpLowering, WeightDeclOpLowering>(
      patterns, converter, context);
}

} // namespace llamac::cpu
