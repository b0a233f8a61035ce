//===- ModelSummary.cpp - What the compiled code is made of ---------------===//
#include "compiler/Target/ModelSummary.h"

#include "dialects/llama/IR/LlamaOps.h"

#include "mlir/Dialect/Func/IR/FuncOps.h"
#include "mlir/Dialect/GPU/IR/GPUDialect.h"
#include "mlir/Dialect/MemRef/IR/MemRef.h"
#include "mlir/Dialect/SCF/IR/SCF.h"

using namespace mlir;

namespace llamac {
namespace {

/// Whether the importer named `op` as part of the first decoder layer.
bool inFirstLayer(Operation *op) {
  bool found = false;
  op->getLoc()->walk([&](Location loc) {
    if (auto name = dyn_cast<NameLoc>(loc))
      found |= name.getName() == "model.layers.0";
    return WalkResult::advance();
  });
  return found;
}

FunctionSummary &summaryFor(ModelSummary &summary, StringRef name) {
  for (FunctionSummary &function : summary.functions)
    if (function.name == name)
      return function;
  summary.functions.push_back(FunctionSummary{name.str(), {}, 0, 0, 0});
  return summary.functions.back();
}

/// Bytes of `type` with dynamic sizes bounded as summarizeLoweredModule says.
int64_t boundedBytes(MemRefType type, int64_t maxBatch, int64_t maxSeq) {
  int64_t bytes = type.getElementTypeBitWidth() / 8;
  bool firstDynamic = true;
  for (int64_t size : type.getShape()) {
    if (ShapedType::isDynamic(size)) {
      size = firstDynamic ? maxBatch : maxSeq;
      firstDynamic = false;
    }
    bytes *= size;
  }
  return bytes;
}

int64_t peakScratch(func::FuncOp function, int64_t maxBatch, int64_t maxSeq) {
  int64_t live = 0, peak = 0;
  DenseMap<Value, int64_t> sizes;
  for (Operation &op : function.getBody().getOps()) {
    if (auto alloc = dyn_cast<memref::AllocOp>(op)) {
      int64_t bytes = boundedBytes(alloc.getType(), maxBatch, maxSeq);
      sizes[alloc.getResult()] = bytes;
      live += bytes;
      peak = std::max(peak, live);
    } else if (auto dealloc = dyn_cast<memref::DeallocOp>(op)) {
      live -= sizes.lookup(dealloc.getMemref());
    }
  }
  return peak;
}

/// Counts `function`'s kernels, each a `KernelOp`.
template <typename KernelOp>
void countKernels(func::FuncOp function, FunctionSummary &entry) {
  function.walk([&](KernelOp kernel) {
    ++entry.kernels;
    if (inFirstLayer(kernel))
      ++entry.kernelsPerLayer;
  });
}

} // namespace

void summarizeFusedModule(ModuleOp module, ModelSummary &summary) {
  for (auto decl : module.getOps<llama::WeightDeclOp>())
    if (llama::Int4Attr int4 = llama::getInt4Encoding(decl.getType()))
      summary.int4GroupSizes[decl.getSymName().str()] = int4.getGroupSize();
  for (auto function : module.getOps<func::FuncOp>()) {
    FunctionSummary &entry = summaryFor(summary, function.getName());
    function.walk([&](Operation *op) {
      if (isa<llama::LlamaDialect>(op->getDialect()) && !isa<llama::WeightOp>(op) &&
          inFirstLayer(op))
        ++entry.layerOps[op->getName().getStringRef().str()];
    });
  }
}

void summarizeLoweredModule(ModuleOp module, int64_t maxBatch, int64_t maxSeq,
                            ModelSummary &summary) {
  for (auto function : module.getOps<func::FuncOp>()) {
    FunctionSummary &entry = summaryFor(summary, function.getName());
    countKernels<scf::ParallelOp>(function, entry);
    entry.scratchBytes = peakScratch(function, maxBatch, maxSeq);
  }
}

void summarizeLaunches(ModuleOp module, ModelSummary &summary) {
  for (auto function : module.getOps<func::FuncOp>())
    countKernels<gpu::LaunchFuncOp>(function, summaryFor(summary, function.getName()));
}

} // namespace llamac
