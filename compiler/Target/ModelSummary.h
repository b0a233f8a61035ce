//===- ModelSummary.h - What the compiled code is made of -------*- C++ -*-===//
//
// Facts about the compiled functions that `llamac inspect` reports from the
// manifest: which ops a decoder layer was fused into, how many kernels
// (parallel loops) each entry point runs per layer and in all, and an upper
// bound of the scratch memory it allocates.
//
//===----------------------------------------------------------------------===//
#ifndef LLAMAC_COMPILER_TARGET_MODELSUMMARY_H
#define LLAMAC_COMPILER_TARGET_MODELSUMMARY_H

#include "mlir/IR/BuiltinOps.h"

#include <cstdint>
#include <map>
#include <string>
#include <vector>

namespace llamac {

struct FunctionSummary {
  std::string name;
  /// llama ops of the first decoder layer after fusion, by op name.
  std::map<std::string, int64_t> layerOps;
  int64_t kernels = 0;         ///< Parallel loops in the whole function.
  int64_t kernelsPerLayer = 0; ///< Parallel loops of the first layer.
  /// Peak bytes of live scratch buffers at the compiled batch and context.
  int64_t scratchBytes = 0;
};

struct ModelSummary {
  std::vector<FunctionSummary> functions;
  /// Group size of each weight declared as int4 (lmc-quantize-int4), by name.
  std::map<std::string, int64_t> int4GroupSizes;
};

/// Records the fused ops of each entry function's first layer and the int4
/// weights (`module` at the graph level, after fusion).
void summarizeFusedModule(mlir::ModuleOp module, ModelSummary &summary);

/// Records kernel counts and scratch bounds (`module` lowered to loops over
/// buffers). Dynamic sizes are bounded by `maxBatch` (the first dynamic
/// dimension of a buffer) and `maxSeq` (any other).
void summarizeLoweredModule(mlir::ModuleOp module, int64_t maxBatch,
                            int64_t maxSeq, ModelSummary &summary);

/// Records kernel counts (`module` lowered for CUDA: each entry function
/// launches its kernels with gpu.launch_func; its scratch lies in one arena
/// the module's `llama.scratch_bytes` sizes).
void summarizeLaunches(mlir::ModuleOp module, ModelSummary &summary);

} // namespace llamac

#endif // LLAMAC_COMPILER_TARGET_MODELSUMMARY_H
