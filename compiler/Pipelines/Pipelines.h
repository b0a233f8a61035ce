//===- Pipelines.h - The pass pipelines llamac compile runs -----*- C++ -*-===//
//
// `llamac compile` and `llamac-opt --lmc-cpu-pipeline` build their pass
// managers from these functions, so the tool reproduces the driver exactly.
// The driver runs the stages separately to stop (--compile-to) or dump
// (--dump-ir-dir) between them.
//
//===----------------------------------------------------------------------===//
#ifndef LLAMAC_COMPILER_PIPELINES_PIPELINES_H
#define LLAMAC_COMPILER_PIPELINES_PIPELINES_H

#include "mlir/Pass/PassManager.h"

#include <cstdint>
#include <functional>
#include <string>
#include <vector>

namespace llamac {

struct CpuPipelineConfig {
  /// 0: no fusion; 1: norms and the MLP; 2: everything (default).
  int optLevel = 2;
  /// float32 lanes of the CPU kernels' vector loops.
  int64_t vectorWidth = 16;
  /// Linear layers' weights in int4 groups of this many input features
  /// (lmc-quantize-int4); 0 keeps the checkpoint's dtypes.
  int64_t int4GroupSize = 0;
};

struct CudaPipelineConfig {
  /// Must be 2: the CUDA lowering covers the fused ops only.
  int optLevel = 2;
  /// NVVM target chip of the cubin: sm_90 (Hopper), sm_90a (Hopper with its
  /// arch-specific wgmma, which runs on sm_90 only) or sm_80 (Ampere).
  std::string chip = "sm_90a";
  /// dtype of weights and KV cache on the device: f32, f16 or bf16.
  std::string computeDType = "f32";
  /// Output tile of a prefill tensor-core GEMM block ("ROWSxFEATURES", one
  /// of supportedGemmTiles()).
  std::string gemmTile = "128x128/4";
  /// The tile of the GEMMs whose outputs are no wider than their input
  /// (o_proj, down_proj); empty: gemmTile.
  std::string narrowGemmTile;
  /// Prefill kernels on the tensor cores (prefillTensorCoreChoices()).
  std::string prefillTensorCores = "all";
  /// Decode's matrix-vector kernels compute the RMSNorm of their input row
  /// where it fits their registers (no norm kernel launched before them).
  bool foldDecodeNorms = true;
  /// Prefill's q/k/v GEMM rotates queries and keys and writes the cache (no
  /// rope_qkv kernel a layer); off by default: slower on Hopper (NOTES v12).
  bool foldPrefillRope = false;
  /// Decode's matrix-vector kernels with fewer blocks share each weight row
  /// between warps (split-K); 0 never splits.
  int64_t matvecMinBlocks = 1024;
  /// int4 codes a matrix-vector kernel's lane loads at once (8, 16, 32).
  int64_t int4Lanes = 8;
  /// CUDA toolkit with ptxas and libdevice.
  std::string toolkitPath = "/usr/local/cuda";
  /// As CpuPipelineConfig's (a multiple of cudaInt4GroupMultiple()).
  int64_t int4GroupSize = 0;
};

/// Whether the kernels for `chip` carry griddepcontrol (sm_90 and later;
/// see lmc-gpu-dependent-launch), so that the runtime may launch them with
/// programmatic stream serialization.
bool usesDependentLaunch(const std::string &chip);

/// The prefill GEMM tile that measured fastest for `chip` and `computeDType`
/// (bench/RESULTS.md): 128x256/wgmma where wgmma builds (sm_90a, f16),
/// else 128x128/4.
std::string defaultGemmTile(const std::string &chip, const std::string &computeDType);

/// One named step of a pipeline: the driver can run the steps one by one to
/// dump the IR after each (`llamac compile --dump-ir-dir`).
struct PipelineStep {
  std::string name;
  std::function<void(mlir::OpPassManager &)> addTo;
};

/// lmc-quantize-int4 with `groupSize`, or nothing for 0.
std::vector<PipelineStep> getQuantizationSteps(int64_t groupSize);
std::vector<PipelineStep> getFusionSteps(int optLevel);
std::vector<PipelineStep> getCpuLoweringSteps(const CpuPipelineConfig &config);
std::vector<PipelineStep> getCpuToLLVMSteps();

std::vector<PipelineStep> getCudaLoweringSteps(const CudaPipelineConfig &config);
std::vector<PipelineStep> getCudaToLLVMSteps(const CudaPipelineConfig &config);
/// gpu-module-to-binary: `format` "bin" embeds a cubin, "isa" PTX text.
PipelineStep getCudaBinaryStep(const CudaPipelineConfig &config,
                               const std::string &format);

/// Graph level: the fusion passes the optimisation level asks for, followed
/// by canonicalize and cse.
void buildFusionPipeline(mlir::OpPassManager &pm, int optLevel);

/// llama dialect -> loops over memrefs (scf, vector, memref, arith, math).
void buildCpuLoweringPipeline(mlir::OpPassManager &pm,
                              const CpuPipelineConfig &config);

/// Loops -> LLVM dialect, parallel loops through OpenMP.
void buildCpuToLLVMPipeline(mlir::OpPassManager &pm);

/// Quantization and the three above, in order: what `llamac compile --target
/// cpu` runs.
void buildCpuPipeline(mlir::OpPassManager &pm, const CpuPipelineConfig &config);

/// Quantization, fusion, lowering to kernels and launches, NVVM/LLVM, and
/// the cubin: what `llamac compile --target cuda` runs.
void buildCudaPipeline(mlir::OpPassManager &pm, const CudaPipelineConfig &config);

/// Registers `lmc-cpu-pipeline`, `lmc-cuda-pipeline` (and its stages) for llamac-opt.
void registerPipelines();

} // namespace llamac

#endif // LLAMAC_COMPILER_PIPELINES_PIPELINES_H
