//===- GpuDependentLaunch.cpp - griddepcontrol in every kernel ------------===//
#include "compiler/Transforms/Passes.h"

#include "mlir/Dialect/Arith/IR/Arith.h"
#include "mlir/Dialect/MemRef/IR/MemRef.h"
#include "mlir/Interfaces/SideEffectInterfaces.h"

namespace llamac {
#define GEN_PASS_DEF_GPUDEPENDENTLAUNCH
#include "compiler/Transforms/Passes.h.inc"
} // namespace llamac

using namespace mlir;

namespace {

/// Whether `value` is, through selects and views (an int4 weight's scales),
/// always a kernel argument marked llama.invariant.
bool isInvariantArgument(Value value, gpu::GPUFuncOp kernel) {
  if (auto select = value.getDefiningOp<arith::SelectOp>())
    return isInvariantArgument(select.getTrueValue(), kernel) &&
           isInvariantArgument(select.getFalseValue(), kernel);
  if (auto view = value.getDefiningOp<memref::ViewOp>())
    return isInvariantArgument(view.getSource(), kernel);
  auto argument = dyn_cast<BlockArgument>(value);
  return argument && argument.getOwner() == &kernel.getBody().front() &&
         argument.getArgNumber() < kernel.getNumArguments() &&
         kernel.getArgAttr(argument.getArgNumber(), llama::kInvariantArgAttr);
}

/// Whether `value` is in the block's shared memory (a workgroup buffer or a
/// view of its dynamic shared memory), which no other block, and no other
/// grid, sees.
bool isWorkgroupBuffer(Value value) {
  auto type = dyn_cast<MemRefType>(value.getType());
  return type && gpu::GPUDialect::hasWorkgroupMemoryAddressSpace(type);
}

/// Whether `op` and the ops inside it do nothing with memory but read
/// invariant arguments and write the block's shared memory (a GEMM's
/// cp.async of weights): what may run before the wait.
bool independentOfEarlierGrids(Operation *op, gpu::GPUFuncOp kernel) {
  WalkResult result = op->walk([&](Operation *nested) {
    if (isMemoryEffectFree(nested) ||
        nested->hasTrait<OpTrait::HasRecursiveMemoryEffects>())
      return WalkResult::advance();
    auto effects = dyn_cast<MemoryEffectOpInterface>(nested);
    if (!effects)
      return WalkResult::interrupt();
    SmallVector<MemoryEffects::EffectInstance> instances;
    effects.getEffects(instances);
    for (const MemoryEffects::EffectInstance &effect : instances) {
      Value value = effect.getValue();
      bool readsInvariant = isa<MemoryEffects::Read>(effect.getEffect()) && value &&
                            isInvariantArgument(value, kernel);
      bool writesShared = isa<MemoryEffects::Write>(effect.getEffect()) && value &&
                          isWorkgroupBuffer(value);
      if (!readsInvariant && !writesShared)
        return WalkResult::interrupt();
    }
    return WalkResult::advance();
  });
  return !result.wasInterrupted();
}

/// griddepcontrol.wait as inline assembly that clobbers memory, as CUTLASS
/// writes it: LLVM models nvvm.griddepcontrol as touching no memory and
/// moves loads across it, in both directions.
void createWait(OpBuilder &b, Location loc) {
  LLVM::InlineAsmOp::create(b, loc, TypeRange{}, ValueRange{},
                            "griddepcontrol.wait;", "~{memory}",
                            /*has_side_effects=*/true, /*is_align_stack=*/false,
                            LLVM::tailcallkind::TailCallKind::None,
                            LLVM::AsmDialectAttr(), ArrayAttr());
}

struct GpuDependentLaunchPass
    : llamac::impl::GpuDependentLaunchBase<GpuDependentLaunchPass> {
  void runOnOperation() override {
    getOperation().walk([](gpu::GPUFuncOp kernel) {
      if (!kernel.isKernel())
        return;
      Block &entry = kernel.getBody().front();
      OpBuilder b = OpBuilder::atBlockBegin(&entry);
      NVVM::GriddepcontrolOp::create(b, kernel.getLoc(),
                                     NVVM::GridDepActionKind::launch_dependents);
      Operation *first = &*b.getInsertionPoint();
      while (!first->hasTrait<OpTrait::IsTerminator>() &&
             independentOfEarlierGrids(first, kernel))
        first = first->getNextNode();
      b.setInsertionPoint(first);
      createWait(b, kernel.getLoc());
    });
  }
};

} // namespace
