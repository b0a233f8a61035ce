//===- WeightOpLowering.cpp - llama.weight to memrefs over table pointers -===//
//
// The compiled code receives the weights as an array of pointers, one per
// llama.weight_decl in declaration order. A llama.weight becomes a memref
// descriptor built around the loaded pointer; finalize-memref-to-llvm later
// folds the descriptor casts away.
//
//===----------------------------------------------------------------------===//
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

/// A memref descriptor struct {allocated, aligned, offset, sizes, strides}
/// for a dense row-major buffer at `pointer`.
Value buildDescriptor(OpBuilder &b, Location loc, Value pointer,
                      MemRefType type) {
  MLIRContext *ctx = b.getContext();
  auto i64 = IntegerType::get(ctx, 64);
  auto ptrType = LLVM::LLVMPointerType::get(ctx);
  int64_t rank = type.getRank();
  auto arrayType = LLVM::LLVMArrayType::get(i64, rank);
  auto structType = LLVM::LLVMStructType::getLiteral(
      ctx, {ptrType, ptrType, i64, arrayType, arrayType});
  auto constant = [&](int64_t value) -> Value {
    return LLVM::ConstantOp::create(b, loc, i64, b.getI64IntegerAttr(value));
  };
  Value desc = LLVM::PoisonOp::create(b, loc, structType);
  desc = LLVM::InsertValueOp::create(b, loc, desc, pointer, ArrayRef<int64_t>{0});
  desc = LLVM::InsertValueOp::create(b, loc, desc, pointer, ArrayRef<int64_t>{1});
  desc = LLVM::InsertValueOp::create(b, loc, desc, constant(0), ArrayRef<int64_t>{2});
  int64_t stride = 1;
  for (int64_t dim = rank - 1; dim >= 0; --dim) {
    desc = LLVM::InsertValueOp::create(b, loc, desc,
                                       constant(type.getDimSize(dim)),
                                       ArrayRef<int64_t>{3, dim});
    desc = LLVM::InsertValueOp::create(b, loc, desc, constant(stride),
                                       ArrayRef<int64_t>{4, dim});
    stride *= type.getDimSize(dim);
  }
  return desc;
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
    Value desc = buildDescriptor(rewriter, loc, pointer, type);
    rewriter.replaceOpWithNewOp<UnrealizedConversionCastOp>(op, type, desc);
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
