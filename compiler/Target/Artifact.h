//===- Artifact.h - Writing a compiled artifact directory -------*- C++ -*-===//
//
// `OUT.lmc/` = manifest.json + model.so (+ tokenizer.model, + the OpenMP
// runtime the CPU code links). See docs/ARTIFACT.md. The directory is built
// under a temporary name beside OUT.lmc and renamed into place only when
// complete, so a failed or interrupted compile never leaves an artifact the
// runtime would load.
//
//===----------------------------------------------------------------------===//
#ifndef LLAMAC_COMPILER_TARGET_ARTIFACT_H
#define LLAMAC_COMPILER_TARGET_ARTIFACT_H

#include "frontends/Import/Importer.h"
#include "compiler/Target/ModelSummary.h"
#include "frontends/ModelSpec.h"

#include "mlir/IR/BuiltinOps.h"
#include "llvm/IR/LLVMContext.h"
#include "llvm/IR/Module.h"

#include <memory>
#include <optional>
#include <string>

namespace llamac {

struct ArtifactOptions {
  std::string outputDir;
  bool force = false;      ///< Replace an existing artifact.
  int optLevel = 2;
  std::string target = "cpu";
  std::string cpu;         ///< LLVM CPU name; "" = this machine's.
  ModelSummary summary;    ///< Reported in the manifest's "functions".
  std::string chip;        ///< CUDA: the cubin's chip (sm_90); CPU: "" = cpu.
  std::string computeDType = "f32"; ///< Weights and KV cache when running.
  int64_t scratchBytes = 0; ///< CUDA: the device scratch arena per call.
  bool dependentLaunch = false; ///< CUDA: kernels start with griddepcontrol.
  std::string gemmTile; ///< CUDA: prefill's tensor-core GEMM tile ("128x128/4").
  std::string narrowGemmTile; ///< CUDA: that of o_proj and down_proj.
  std::string prefillTensorCores; ///< CUDA: "all", "gemm", "attention", "none".
  /// CUDA: decode's matrix-vector kernels compute their input's RMSNorm.
  std::optional<bool> foldDecodeNorms;
  /// CUDA: prefill's q/k/v GEMM rotates queries and keys (no rope_qkv).
  std::optional<bool> foldPrefillRope;
  /// CUDA: decode's matrix-vector kernels with fewer blocks split their rows.
  std::optional<int64_t> matvecMinBlocks;
  /// CUDA int4: the codes a matrix-vector kernel's lane loads at once.
  std::optional<int64_t> int4Lanes;
};

/// Translates an LLVM-dialect module to LLVM IR and optimises it for the CPU
/// the artifact targets. Returns null after emitting a diagnostic.
std::unique_ptr<llvm::Module> translateForCpu(mlir::ModuleOp module,
                                              llvm::LLVMContext &context,
                                              const ArtifactOptions &options);

/// Compiles `module` (LLVM IR) to model.so and writes the artifact. For the
/// CUDA target the module holds the host code with the cubin embedded, and
/// model.so links the bundled CUDA model runtime instead of OpenMP. Returns
/// "" or a one-line error.
std::string writeArtifact(llvm::Module &module, const ModelSpec &spec,
                             const ImportOptions &importOptions,
                             const ArtifactOptions &options);

} // namespace llamac

#endif // LLAMAC_COMPILER_TARGET_ARTIFACT_H
