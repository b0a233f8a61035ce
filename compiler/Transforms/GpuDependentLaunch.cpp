//===- GpuDependentLaunch.cpp - griddepcontrol at every kernel's entry ----===//
#include "compiler/Transforms/Passes.h"

namespace llamac {
#define GEN_PASS_DEF_GPUDEPENDENTLAUNCH
#include "compiler/Transforms/Passes.h.inc"
} // namespace llamac

using namespace mlir;

namespace {

struct GpuDependentLaunchPass
    : llamac::impl::GpuDependentLaunchBase<GpuDependentLaunchPass> {
  void runOnOperation() override {
    getOperation().walk([](gpu::GPUFuncOp kernel) {
      if (!kernel.isKernel())
        return;
      OpBuilder b = OpBuilder::atBlockBegin(&kernel.getBody().front());
      NVVM::GriddepcontrolOp::create(b, kernel.getLoc(),
                                     NVVM::GridDepActionKind::wait);
      NVVM::GriddepcontrolOp::create(b, kernel.getLoc(),
                                     NVVM::GridDepActionKind::launch_dependents);
    });
  }
};

} // namespace
