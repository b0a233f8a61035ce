//===- DenseMemRef.h - A memref over a raw pointer --------------*- C++ -*-===//
//
// Both backends receive buffers as raw pointers (the weight table, the KV
// cache) and need memref values over them. There is no memref op for that,
// so this builds the LLVM descriptor and casts it; finalize-memref-to-llvm
// later folds the cast away.
//
//===----------------------------------------------------------------------===//
#ifndef LLAMAC_COMPILER_CONVERSION_DENSEMEMREF_H
#define LLAMAC_COMPILER_CONVERSION_DENSEMEMREF_H

#include "mlir/IR/Builders.h"
#include "mlir/IR/BuiltinTypes.h"

namespace llamac {

/// A memref of `type` (identity layout) over the dense row-major data at
/// `pointer` (an !llvm.ptr), with sizes `sizes` (static, one per dimension;
/// they fill the type's dynamic dimensions).
mlir::Value denseMemRefAt(mlir::OpBuilder &b, mlir::Location loc,
                          mlir::Value pointer, mlir::MemRefType type,
                          llvm::ArrayRef<int64_t> sizes);

} // namespace llamac

#endif // LLAMAC_COMPILER_CONVERSION_DENSEMEMREF_H
