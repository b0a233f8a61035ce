//===- Pipelines.cpp - The pass pipelines llamac compile runs -------------===//
#include "compiler/Pipelines/Pipelines.h"

#include "compiler/Conversion/Passes.h"
#include "compiler/Transforms/Passes.h"

#include "mlir/Conversion/Passes.h"
#include "mlir/Dialect/Func/IR/FuncOps.h"
#include "mlir/Dialect/GPU/IR/GPUDialect.h"
#include "mlir/Dialect/GPU/Transforms/Passes.h"
#include "mlir/Dialect/MemRef/Transforms/Passes.h"
#include "mlir/Pass/PassOptions.h"
#include "mlir/Pass/PassRegistry.h"
#include "mlir/Transforms/Passes.h"

using namespace mlir;

namespace llamac {

namespace {

template <typename CreatePass>
PipelineStep funcStep(std::string name, CreatePass create) {
  return {std::move(name), [create](OpPassManager &pm) {
            pm.addNestedPass<func::FuncOp>(create());
          }};
}

template <typename CreatePass>
PipelineStep moduleStep(std::string name, CreatePass create) {
  return {std::move(name),
          [create](OpPassManager &pm) { pm.addPass(create()); }};
}

PipelineStep cleanupStep(std::string name) {
  return {std::move(name), [](OpPassManager &pm) {
            pm.addPass(createCanonicalizerPass());
            pm.addPass(createCSEPass());
          }};
}

void addSteps(OpPassManager &pm, const std::vector<PipelineStep> &steps) {
  for (const PipelineStep &step : steps)
    step.addTo(pm);
}

} // namespace

std::vector<PipelineStep> getQuantizationSteps(int64_t groupSize) {
  if (groupSize == 0)
    return {};
  QuantizeInt4Options options;
  options.groupSize = groupSize;
  return {moduleStep("lmc-quantize-int4",
                     [options] { return createQuantizeInt4(options); })};
}

std::vector<PipelineStep> getFusionSteps(int optLevel) {
  std::vector<PipelineStep> steps;
  if (optLevel >= 1) {
    steps.push_back(funcStep("lmc-fuse-rmsnorm", [] { return createFuseRMSNorm(); }));
    steps.push_back(
        funcStep("lmc-fuse-residual-norm", [] { return createFuseResidualNorm(); }));
    steps.push_back(funcStep("lmc-fuse-swiglu", [] { return createFuseSwiGLU(); }));
  }
  if (optLevel >= 2) {
    steps.push_back(funcStep("lmc-fuse-qkv", [] { return createFuseQKV(); }));
    steps.push_back(funcStep("lmc-fuse-attention", [] { return createFuseAttention(); }));
  }
  steps.push_back(cleanupStep("canonicalize-cse"));
  return steps;
}

std::vector<PipelineStep> getCpuLoweringSteps(const CpuPipelineConfig &config) {
  ConvertLlamaToCPUOptions options;
  options.vectorWidth = config.vectorWidth;
  return {moduleStep("lmc-convert-llama-to-cpu",
                     [options] { return createConvertLlamaToCPU(options); }),
          cleanupStep("canonicalize-cse")};
}

std::vector<PipelineStep> getCpuToLLVMSteps() {
  return {
      moduleStep("convert-scf-to-openmp", [] { return createConvertSCFToOpenMPPass(); }),
      // Inlines the alloca scopes scf-to-openmp wraps loop bodies in (ours
      // allocate nothing), before scf-to-cf splits those bodies into blocks.
      moduleStep("canonicalize", [] { return createCanonicalizerPass(); }),
      moduleStep("convert-scf-to-cf", [] { return createSCFToControlFlowPass(); }),
      moduleStep("convert-vector-to-llvm", [] { return createConvertVectorToLLVMPass(); }),
      moduleStep("convert-math-to-llvm", [] { return createConvertMathToLLVMPass(); }),
      moduleStep("expand-strided-metadata",
                 [] { return memref::createExpandStridedMetadataPass(); }),
      moduleStep("lower-affine", [] { return createLowerAffinePass(); }),
      moduleStep("finalize-memref-to-llvm",
                 [] { return createFinalizeMemRefToLLVMConversionPass(); }),
      moduleStep("convert-arith-to-llvm", [] { return createArithToLLVMConversionPass(); }),
      moduleStep("convert-func-to-llvm", [] { return createConvertFuncToLLVMPass(); }),
      moduleStep("convert-openmp-to-llvm", [] { return createConvertOpenMPToLLVMPass(); }),
      moduleStep("convert-cf-to-llvm", [] { return createConvertControlFlowToLLVMPass(); }),
      moduleStep("reconcile-unrealized-casts",
                 [] { return createReconcileUnrealizedCastsPass(); }),
      moduleStep("canonicalize", [] { return createCanonicalizerPass(); }),
  };
}

bool usesDependentLaunch(const std::string &chip) {
  return chip == "sm_90" || chip == "sm_90a";
}

std::string defaultGemmTile(const std::string &chip, const std::string &computeDType) {
  return chip == "sm_90a" && computeDType == "f16" ? "128x256/wgmma" : "128x128/4";
}

std::vector<PipelineStep> getCudaLoweringSteps(const CudaPipelineConfig &config) {
  ConvertLlamaToGPUOptions options;
  options.computeDType = config.computeDType;
  options.gemmTile = config.gemmTile;
  options.narrowGemmTile = config.narrowGemmTile;
  options.prefillTensorCores = config.prefillTensorCores;
  options.foldDecodeNorms = config.foldDecodeNorms;
  options.foldPrefillRope = config.foldPrefillRope;
  options.matvecMinBlocks = config.matvecMinBlocks;
  options.int4Lanes = config.int4Lanes;
  std::vector<PipelineStep> steps = {moduleStep(
      "lmc-convert-llama-to-gpu", [options] { return createConvertLlamaToGPU(options); })};
  if (usesDependentLaunch(config.chip))
    steps.push_back({"lmc-gpu-dependent-launch", [](OpPassManager &pm) {
                       pm.nest<gpu::GPUModuleOp>().addPass(createGpuDependentLaunch());
                     }});
  steps.push_back(cleanupStep("canonicalize-cse"));
  return steps;
}

std::vector<PipelineStep> getCudaToLLVMSteps(const CudaPipelineConfig &config) {
  GpuNVVMAttachTargetOptions target;
  target.chip = config.chip;
  target.optLevel = 3;
  return {
      moduleStep("nvvm-attach-target",
                 [target] { return createGpuNVVMAttachTarget(target); }),
      {"convert-gpu-to-nvvm",
       [](OpPassManager &pm) {
         OpPassManager &kernels = pm.nest<gpu::GPUModuleOp>();
         kernels.addPass(createConvertNVGPUToNVVMPass());
         kernels.addPass(createSCFToControlFlowPass());
         kernels.addPass(createConvertGpuOpsToNVVMOps());
         // wgmma and the proxy fence have no intrinsics: inline PTX.
         kernels.addPass(createConvertNVVMToLLVMPass());
         kernels.addPass(createExternDynamicShared());
         kernels.addPass(createLLVMLoopAnnotations());
         kernels.addPass(createCanonicalizerPass());
         kernels.addPass(createCSEPass());
         kernels.addPass(createReconcileUnrealizedCastsPass());
       }},
      moduleStep("expand-strided-metadata",
                 [] { return memref::createExpandStridedMetadataPass(); }),
      moduleStep("lower-affine", [] { return createLowerAffinePass(); }),
      moduleStep("gpu-to-llvm", [] { return createGpuToLLVMConversionPass(); }),
      moduleStep("finalize-memref-to-llvm",
                 [] { return createFinalizeMemRefToLLVMConversionPass(); }),
      moduleStep("convert-arith-to-llvm", [] { return createArithToLLVMConversionPass(); }),
      moduleStep("convert-func-to-llvm", [] { return createConvertFuncToLLVMPass(); }),
      moduleStep("reconcile-unrealized-casts",
                 [] { return createReconcileUnrealizedCastsPass(); }),
      moduleStep("canonicalize", [] { return createCanonicalizerPass(); }),
  };
}

PipelineStep getCudaBinaryStep(const CudaPipelineConfig &config,
                               const std::string &format) {
  GpuModuleToBinaryPassOptions options;
  options.toolkitPath = config.toolkitPath;
  options.compilationTarget = format;
  return moduleStep("gpu-module-to-binary-" + format,
                    [options] { return createGpuModuleToBinaryPass(options); });
}

void buildCudaPipeline(OpPassManager &pm, const CudaPipelineConfig &config) {
  addSteps(pm, getQuantizationSteps(config.int4GroupSize));
  buildFusionPipeline(pm, config.optLevel);
  addSteps(pm, getCudaLoweringSteps(config));
  addSteps(pm, getCudaToLLVMSteps(config));
  getCudaBinaryStep(config, "bin").addTo(pm);
}

void buildFusionPipeline(OpPassManager &pm, int optLevel) {
  addSteps(pm, getFusionSteps(optLevel));
}

void buildCpuLoweringPipeline(OpPassManager &pm,
                              const CpuPipelineConfig &config) {
  addSteps(pm, getCpuLoweringSteps(config));
}

void buildCpuToLLVMPipeline(OpPassManager &pm) {
  addSteps(pm, getCpuToLLVMSteps());
}

void buildCpuPipeline(OpPassManager &pm, const CpuPipelineConfig &config) {
  addSteps(pm, getQuantizationSteps(config.int4GroupSize));
  buildFusionPipeline(pm, config.optLevel);
  buildCpuLoweringPipeline(pm, config);
  buildCpuToLLVMPipeline(pm);
}

namespace {

struct CpuPipelineOptions : PassPipelineOptions<CpuPipelineOptions> {
  Option<int> optLevel{*this, "opt-level",
                       llvm::cl::desc("0: no fusion, 1: norms and MLP, 2: all"),
                       llvm::cl::init(2)};
  Option<int64_t> vectorWidth{*this, "vector-width",
                              llvm::cl::desc("float32 lanes of vector loops"),
                              llvm::cl::init(16)};
  Option<int64_t> int4GroupSize{
      *this, "int4-group-size",
      llvm::cl::desc("quantize linear layers' weights to int4 in groups of N "
                     "input features (0: keep their dtypes)"),
      llvm::cl::init(0)};

  CpuPipelineConfig config() const { return {optLevel, vectorWidth, int4GroupSize}; }
};

struct CudaPipelineOptions : PassPipelineOptions<CudaPipelineOptions> {
  Option<std::string> chip{*this, "chip", llvm::cl::desc("sm_90, sm_90a or sm_80"),
                           llvm::cl::init("sm_90")};
  Option<std::string> computeDType{
      *this, "compute-dtype",
      llvm::cl::desc("weights and KV cache on the device: f32, f16, bf16"),
      llvm::cl::init("f32")};
  Option<std::string> toolkitPath{*this, "toolkit",
                                  llvm::cl::desc("CUDA toolkit (ptxas, libdevice)"),
                                  llvm::cl::init("/usr/local/cuda")};
  Option<int64_t> int4GroupSize{
      *this, "int4-group-size",
      llvm::cl::desc("quantize linear layers' weights to int4 in groups of N "
                     "input features (0: keep their dtypes)"),
      llvm::cl::init(0)};

  CudaPipelineConfig config() const {
    CudaPipelineConfig config;
    config.chip = chip;
    config.computeDType = computeDType;
    config.toolkitPath = toolkitPath;
    config.int4GroupSize = int4GroupSize;
    return config;
  }
};

} // namespace

void registerPipelines() {
  PassPipelineRegistration<CudaPipelineOptions>(
      "lmc-cuda-pipeline", "the whole CUDA pipeline of `llamac compile`",
      [](OpPassManager &pm, const CudaPipelineOptions &options) {
        buildCudaPipeline(pm, options.config());
      });
  PassPipelineRegistration<CudaPipelineOptions>(
      "lmc-cuda-lowering-pipeline", "fused llama dialect to GPU kernels and launches",
      [](OpPassManager &pm, const CudaPipelineOptions &options) {
        addSteps(pm, getCudaLoweringSteps(options.config()));
      });
  PassPipelineRegistration<CpuPipelineOptions>(
      "lmc-cpu-pipeline", "the whole CPU pipeline of `llamac compile`",
      [](OpPassManager &pm, const CpuPipelineOptions &options) {
        buildCpuPipeline(pm, options.config());
      });
  PassPipelineRegistration<CpuPipelineOptions>(
      "lmc-fusion-pipeline", "the graph-level fusion stage",
      [](OpPassManager &pm, const CpuPipelineOptions &options) {
        buildFusionPipeline(pm, options.optLevel);
      });
  PassPipelineRegistration<CpuPipelineOptions>(
      "lmc-cpu-lowering-pipeline", "llama dialect to CPU loops",
      [](OpPassManager &pm, const CpuPipelineOptions &options) {
        buildCpuLoweringPipeline(pm, options.config());
      });
  PassPipelineRegistration<>("lmc-cpu-to-llvm-pipeline",
                             "CPU loops to the LLVM dialect",
                             buildCpuToLLVMPipeline);
}

} // namespace llamac
