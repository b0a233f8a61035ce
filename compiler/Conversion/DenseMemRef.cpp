//===- DenseMemRef.cpp - A memref over a raw pointer ----------------------===//
#include "compiler/Conversion/DenseMemRef.h"

#include "mlir/Dialect/LLVMIR/LLVMDialect.h"

using namespace mlir;

namespace llamac {

Value denseMemRefAt(OpBuilder &b, Location loc, Value pointer, MemRefType type,
                    ArrayRef<int64_t> sizes) {
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
    desc = LLVM::InsertValueOp::create(b, loc, desc, constant(sizes[dim]),
                                       ArrayRef<int64_t>{3, dim});
    desc = LLVM::InsertValueOp::create(b, loc, desc, constant(stride),
                                       ArrayRef<int64_t>{4, dim});
    stride *= sizes[dim];
  }
  return UnrealizedConversionCastOp::create(b, loc, type, desc).getResult(0);
}

} // namespace llamac
