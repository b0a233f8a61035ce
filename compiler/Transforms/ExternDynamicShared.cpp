//===- ExternDynamicShared.cpp - dynamic shared memory as extern ----------===//
#include "compiler/Transforms/Passes.h"

#include "mlir/Dialect/LLVMIR/NVVMDialect.h"

namespace llamac {
#define GEN_PASS_DEF_EXTERNDYNAMICSHARED
#include "compiler/Transforms/Passes.h.inc"
} // namespace llamac

using namespace mlir;

namespace {

constexpr uint64_t kDynamicSharedAlignment = 1024;

/// A zero-length array in the shared address space without an initializer:
/// how gpu.dynamic_shared_memory is lowered.
bool isDynamicShared(LLVM::GlobalOp global) {
  auto array = dyn_cast<LLVM::LLVMArrayType>(global.getGlobalType());
  return array && array.getNumElements() == 0 && !global.getValueOrNull() &&
         global.getAddrSpace() == static_cast<unsigned>(NVVM::NVVMMemorySpace::Shared);
}

struct ExternDynamicSharedPass
    : llamac::impl::ExternDynamicSharedBase<ExternDynamicSharedPass> {
  void runOnOperation() override {
    getOperation()->walk([](LLVM::GlobalOp global) {
      if (!isDynamicShared(global))
        return;
      global.setLinkage(LLVM::Linkage::External);
      global.setAlignment(kDynamicSharedAlignment);
    });
  }
};

} // namespace
