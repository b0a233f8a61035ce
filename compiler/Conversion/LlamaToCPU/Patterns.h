//===- Patterns.h - llama to CPU loops conversion patterns ------*- C++ -*-===//
#ifndef LLAMAC_COMPILER_CONVERSION_LLAMATOCPU_PATTERNS_H
#define LLAMAC_COMPILER_CONVERSION_LLAMATOCPU_PATTERNS_H

#include "compiler/Conversion/LlamaToCPU/LoopBuilder.h"

#include "mlir/Transforms/DialectConversion.h"
#include "llvm/ADT/StringMap.h"

namespace llamac::cpu {

/// What every pattern of the conversion may need to know.
struct LoweringContext {
  KernelOptions options;
  /// Index of each declared weight in the runtime's weight table.
  llvm::StringMap<int64_t> weightIndex;
};

void populateWeightOpLoweringPatterns(mlir::RewritePatternSet &patterns,
                                      const mlir::TypeConverter &converter,
                                      const LoweringContext &context);
void populateElementwiseOpLoweringPatterns(mlir::RewritePatternSet &patterns,
                                           const mlir::TypeConverter &converter,
                                           const LoweringContext &context);
void populateReductionOpLoweringPatterns(mlir::RewritePatternSet &patterns,
                                         const mlir::TypeConverter &converter,
                                         const LoweringContext &context);
void populateLinearOpLoweringPatterns(mlir::RewritePatternSet &patterns,
                                      const mlir::TypeConverter &converter,
                                      const LoweringContext &context);
void populateShapeOpLoweringPatterns(mlir::RewritePatternSet &patterns,
                                     const mlir::TypeConverter &converter,
                                     const LoweringContext &context);
void populateAttentionOpLoweringPatterns(mlir::RewritePatternSet &patterns,
                                         const mlir::TypeConverter &converter,
                                         const LoweringContext &context);

/// Adds `Patterns...` (LlamaLoweringPattern subclasses) to `patterns`.
template <typename... Patterns>
void addLoweringPatterns(mlir::RewritePatternSet &patterns,
                         const mlir::TypeConverter &converter,
                         const LoweringContext &context) {
  (patterns.add<Patterns>(converter, patterns.getContext(), context), ...);
}

/// Base of the patterns: an OpConversionPattern that can reach the context.
template <typename OpTy>
class LlamaLoweringPattern : public mlir::OpConversionPattern<OpTy> {
public:
  LlamaLoweringPattern(const mlir::TypeConverter &converter,
                       mlir::MLIRContext *mlirContext,
                       const LoweringContext &context)
      : mlir::OpConversionPattern<OpTy>(converter, mlirContext),
        context(context) {}

protected:
  const LoweringContext &context;
};

} // namespace llamac::cpu

#endif // LLAMAC_COMPILER_CONVERSION_LLAMATOCPU_PATTERNS_H
