//===- LLVMLoopAnnotations.cpp - loop annotations onto llvm.br ------------===//
#include "compiler/Transforms/Passes.h"

namespace llamac {
#define GEN_PASS_DEF_LLVMLOOPANNOTATIONS
#include "compiler/Transforms/Passes.h.inc"
} // namespace llamac

using namespace mlir;

namespace {

constexpr llvm::StringLiteral kDiscardableName = "llvm.loop_annotation";

struct LLVMLoopAnnotationsPass
    : llamac::impl::LLVMLoopAnnotationsBase<LLVMLoopAnnotationsPass> {
  void runOnOperation() override {
    getOperation()->walk([](LLVM::BrOp branch) {
      auto annotation =
          dyn_cast_or_null<LLVM::LoopAnnotationAttr>(branch->getDiscardableAttr(kDiscardableName));
      if (!annotation)
        return;
      branch.setLoopAnnotationAttr(annotation);
      branch->removeDiscardableAttr(kDiscardableName);
    });
  }
};

} // namespace
