//===- Registration.cpp - Dialects and passes llamac tools know -----------===//
#include "compiler/Registration.h"

#include "compiler/Conversion/Passes.h"
#include "compiler/Pipelines/Pipelines.h"
#include "compiler/Transforms/Passes.h"
#include "dialects/llama/IR/LlamaDialect.h"

#include "mlir/InitAllDialects.h"
#include "mlir/InitAllExtensions.h"
#include "mlir/InitAllPasses.h"
#include "mlir/Target/LLVMIR/Dialect/All.h"

void llamac::registerAllDialects(mlir::DialectRegistry &registry) {
  registry.insert<mlir::llama::LlamaDialect>();
  mlir::registerAllDialects(registry);
  mlir::registerAllExtensions(registry);
  mlir::registerAllToLLVMIRTranslations(registry);
}

void llamac::registerAllPasses() {
  mlir::registerAllPasses();
  llamac::registerTransformsPasses();
  llamac::registerConversionPasses();
  llamac::registerPipelines();
}
