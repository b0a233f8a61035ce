//===- llamac.cpp - The llamac compiler driver ----------------------------===//
//
//   llamac compile MODEL -o OUT.lmc [--target cpu|cuda] [-O0|-O1|-O2]
//                  [--chip sm_90a|sm_90|sm_80] [--dtype f32|f16|bf16] [--cpu NAME]
//                  [--gemm-tile 128x256/wgmma|128x128/wgmma|128x128/4|128x128|
//                               64x128|64x256|128x256]
//                  [--narrow-gemm-tile TILE]
//                  [--prefill-tensor-cores all|gemm|attention|none]
//                  [--fold-decode-norms=true|false] [--fold-prefill-rope=true|false]
//                  [--matvec-min-blocks N]
//                  [--quantize none|int4] [--group-size N] [--int4-lanes 8|16|32]
//                  [--max-seq N] [--max-batch N]
//                  [--compile-to=import|fused|lowered|llvm|ptx] [--dump-ir-dir DIR]
//   llamac compile --config config.json ...   (shapes only, no weights)
//   llamac inspect OUT.lmc                     (the artifact in words)
//
// MODEL is a Hugging Face directory or a llama2.c .bin. The driver runs the
// stages of compiler/Pipelines one after another so it can stop after any
// (--compile-to) or write the IR after every step (--dump-ir-dir).
//
//===----------------------------------------------------------------------===//
#include "compiler/Conversion/Passes.h"
#include "compiler/Pipelines/Pipelines.h"
#include "compiler/Registration.h"
#include "compiler/Target/Artifact.h"
#include "dialects/llama/IR/LlamaOps.h"
#include "frontends/Import/Importer.h"
#include "frontends/ModelSpec.h"
#include "tools/llamac/Inspect.h"

#include "mlir/Dialect/Func/IR/FuncOps.h"
#include "mlir/Dialect/GPU/IR/GPUDialect.h"
#include "mlir/IR/AsmState.h"
#include "mlir/IR/MLIRContext.h"
#include "mlir/IR/Verifier.h"
#include "mlir/Pass/PassManager.h"
#include "mlir/Support/FileUtilities.h"
#include "mlir/Support/Timing.h"
#include "llvm/Support/CommandLine.h"
#include "llvm/Support/FileSystem.h"
#include "llvm/Support/FormatVariadic.h"
#include "llvm/ADT/Statistic.h"
#include "llvm/ADT/StringExtras.h"
#include "llvm/Support/InitLLVM.h"
#include "llvm/Support/Path.h"
#include "llvm/Support/ToolOutputFile.h"
#include "llvm/Support/raw_ostream.h"

using namespace mlir;
namespace cl = llvm::cl;

namespace {

enum class Stage { Import, Fused, Lowered, LLVM, PTX, Artifact };

cl::OptionCategory category("llamac compile options");

cl::opt<std::string> modelPath(cl::Positional, cl::desc("<model>"),
                               cl::init(""), cl::cat(category));
cl::opt<std::string> configPath("config",
                                cl::desc("compile from a config.json alone"),
                                cl::value_desc("file"), cl::init(""),
                                cl::cat(category));
cl::opt<std::string> outputPath("o", cl::desc("output artifact or IR file"),
                                cl::value_desc("path"), cl::init("-"),
                                cl::cat(category));
cl::opt<std::string> targetName("target", cl::desc("cpu or cuda"),
                                cl::init("cpu"), cl::cat(category));
cl::opt<std::string> chipName("chip",
                              cl::desc("CUDA chip of the cubin: sm_90a (default: "
                                       "the H100/H200 with wgmma), sm_90 or sm_80"),
                              cl::init("sm_90a"), cl::cat(category));
cl::opt<std::string> gemmTile(
    "gemm-tile",
    cl::desc("CUDA: output tile (rows x features, /warps when not 8) of a "
             "block of prefill's tensor-core GEMM: 128x128/4, 128x128, 64x128, "
             "64x256, 128x256, or with Hopper's wgmma (f16, --chip sm_90a) "
             "128x128/wgmma or 128x256/wgmma (default: 128x256/wgmma where "
             "wgmma builds, else 128x128/4)"),
    cl::init(""), cl::cat(category));
cl::opt<std::string> narrowGemmTile(
    "narrow-gemm-tile",
    cl::desc("CUDA: the tile of the GEMMs whose outputs are no wider than their "
             "input (o_proj, down_proj, which have fewer blocks to fill the GPU "
             "with), one of --gemm-tile's (default: --gemm-tile)"),
    cl::init(""), cl::cat(category));
cl::opt<std::string> prefillTensorCores(
    "prefill-tensor-cores",
    cl::desc("CUDA: prefill kernels on the tensor cores where the dtype allows: "
             "all (default), gemm, attention or none (the others take the CUDA "
             "cores; for isolating one of them)"),
    cl::init("all"), cl::cat(category));
cl::opt<bool> foldDecodeNorms(
    "fold-decode-norms",
    cl::desc("CUDA: decode's matrix-vector kernels compute the RMSNorm of "
             "their input row (hidden <= 4096) instead of a norm kernel "
             "launched before them (default true; false for A/B timing)"),
    cl::init(true), cl::cat(category));
cl::opt<bool> foldPrefillRope(
    "fold-prefill-rope",
    cl::desc("CUDA: prefill's q/k/v GEMM rotates queries and keys and writes "
             "the KV cache in its epilogue instead of a rope_qkv kernel per "
             "layer (default false: measured slower, bench/NOTES.md v12)"),
    cl::init(false), cl::cat(category));
cl::opt<int64_t> matvecMinBlocks(
    "matvec-min-blocks",
    cl::desc("CUDA: decode's matrix-vector kernels with fewer blocks (of 8 "
             "features) than this share each weight row between 2, 4 or 8 warps "
             "until they have as many (default 1024: o_proj and down_proj of "
             "7B and 13B; 0: never; int4 kernels keep whole rows)"),
    cl::init(1024), cl::cat(category));
cl::opt<std::string> cudaToolkit("cuda-path",
                                 cl::desc("CUDA toolkit with ptxas and libdevice"),
                                 cl::init("/usr/local/cuda"), cl::cat(category));
cl::opt<unsigned> optLevel("O", cl::Prefix, cl::desc("optimisation level 0-2"),
                           cl::init(2), cl::cat(category));
cl::opt<int64_t> maxSeq("max-seq", cl::desc("context length of the KV cache"),
                        cl::init(0), cl::cat(category));
cl::opt<int64_t> maxBatch("max-batch", cl::desc("rows of the KV cache"),
                          cl::init(1), cl::cat(category));
cl::opt<std::string> dtypeName("dtype",
                               cl::desc("weight dtype of a config-only compile; "
                                        "with --target cuda also the dtype of "
                                        "weights and KV cache on the device"),
                               cl::init(""), cl::cat(category));
cl::opt<Stage> compileTo(
    "compile-to", cl::desc("stop after this stage and print its IR"),
    cl::values(clEnumValN(Stage::Import, "import", "graph-level llama IR"),
               clEnumValN(Stage::Fused, "fused", "after the fusion passes"),
               clEnumValN(Stage::Lowered, "lowered", "loops over buffers"),
               clEnumValN(Stage::LLVM, "llvm", "LLVM IR"),
               clEnumValN(Stage::PTX, "ptx", "the kernels' PTX (--target cuda)")),
    cl::init(Stage::Artifact), cl::cat(category));
cl::opt<std::string> dumpDir("dump-ir-dir",
                             cl::desc("write the IR after every step to DIR"),
                             cl::init(""), cl::cat(category));
cl::opt<bool> force("force", cl::desc("replace an existing artifact"),
                    cl::init(false), cl::cat(category));
// `--stats` is LLVM's own flag (llvm::AreStatisticsEnabled): with it we also
// print the op count of a decoder layer before and after fusion.
cl::opt<std::string> cpuName(
    "cpu", cl::desc("LLVM CPU the CPU code is tuned for (default: this machine's, "
                    "e.g. x86-64-v3 for any AVX2 machine)"),
    cl::init(""), cl::cat(category));
cl::opt<std::string> quantize(
    "quantize",
    cl::desc("int4 quantizes the linear layers' weights (not the "
             "embedding, the output head or the norms) when the runtime loads "
             "them, like torchao's int4_weight_only (default none; a checkpoint "
             "that stores int4 weights implies int4)"),
    cl::init("none"), cl::cat(category));
cl::opt<int64_t> groupSize(
    "group-size",
    cl::desc("--quantize int4: input features per scale and minimum (even, "
             "dividing every quantized layer's input features, a multiple of 8 "
             "for --target cuda; default 128)"),
    cl::init(128), cl::cat(category));
cl::opt<int64_t> int4Lanes(
    "int4-lanes",
    cl::desc("--quantize int4 --target cuda: codes a lane of a matrix-vector "
             "kernel loads at once, 8, 16 or 32 (a 4-, 8- or 16-byte load with "
             "one scale and minimum; fewer where the group is smaller; default 8: "
             "16 and 32 measured slower, bench/NOTES.md v18)"),
    cl::init(8), cl::cat(category));
cl::opt<int64_t> vectorWidth("vector-width",
                             cl::desc("float32 lanes of CPU vector loops"),
                             cl::init(16), cl::cat(category));

int fail(const std::string &message) {
  llvm::errs() << "llamac: error: " << message << "\n";
  return 1;
}

/// Why --group-size cannot quantize `config`'s linear layers, or an empty
/// string: a group lies in one row of every layer, the CPU kernels' vectors
/// read whole groups or lie in one, and the CUDA kernels' lie in one.
std::string checkInt4GroupSize(const llamac::LlamaConfig &config, bool cuda) {
  if (groupSize <= 0 || groupSize % 2 != 0)
    return "--group-size " + std::to_string(groupSize) + " must be positive and even";
  for (auto [name, features] :
       {std::pair<const char *, int64_t>{"hidden_size", config.hiddenSize},
        {"num_attention_heads * head_dim", config.numHeads * config.headDim},
        {"intermediate_size", config.intermediateSize}})
    if (features % groupSize != 0)
      return "--group-size " + std::to_string(groupSize) + " does not divide " +
             name + " " + std::to_string(features) +
             " (a linear layer's input features)";
  if (cuda && groupSize % llamac::cudaInt4GroupMultiple() != 0)
    return "--group-size " + std::to_string(groupSize) +
           " is not a multiple of " + std::to_string(llamac::cudaInt4GroupMultiple()) +
           ", the codes a CUDA kernel reads at a time";
  if (!cuda && groupSize % vectorWidth != 0 && vectorWidth % groupSize != 0)
    return "--group-size " + std::to_string(groupSize) + " and --vector-width " +
           std::to_string(vectorWidth) + ": one must divide the other";
  return "";
}

/// A checkpoint that stores its weights as int4 (`llamac-run quantize`)
/// compiles with --quantize int4 in the group size it stores, which it
/// implies: sets `int4` and --group-size from it. Returns why the options
/// given contradict it, or an empty string.
std::string adoptStoredInt4(const llamac::ModelSpec &spec, bool &int4) {
  const int64_t stored = spec.storedInt4GroupSize();
  if (!stored)
    return "";
  const std::string groups = "int4 in groups of " + std::to_string(stored);
  if (quantize.getNumOccurrences() && !int4)
    return spec.sourcePath + " stores its weights as " + groups +
           "; it compiles only with --quantize int4";
  if (groupSize.getNumOccurrences() && groupSize != stored)
    return "--group-size " + std::to_string(groupSize) + " differs from " +
           spec.sourcePath + ", which stores its weights as " + groups;
  int4 = true;
  groupSize = stored;
  return "";
}

/// Why the GEMM tile `tile` of option `flag` cannot be built for this chip
/// and dtype, or an empty string. wgmma multiplies operands of one type
/// straight from shared memory: the f16 rows of a bf16 model would meet
/// bf16 weights (see TensorCoreGemm).
std::string checkGemmTile(const std::string &flag, const std::string &tile, bool cuda,
                          const std::string &computeDType) {
  if (!llvm::is_contained(llamac::supportedGemmTiles(), tile))
    return flag + " " + tile + " is not supported (" +
           llvm::join(llamac::supportedGemmTiles(), ", ") + ")";
  if (cuda && StringRef(tile).ends_with("/wgmma") &&
      (chipName != "sm_90a" || computeDType != "f16"))
    return flag + " " + tile + " uses wgmma: it needs --chip sm_90a and --dtype f16, not " +
           chipName + " and " + computeDType;
  return "";
}

std::optional<llamac::ModelSpec> loadSpec(std::string &error) {
  if (!configPath.empty()) {
    if (!modelPath.empty()) {
      error = "give either MODEL or --config, not both";
      return std::nullopt;
    }
    std::optional<llamac::LlamaConfig> config =
        llamac::loadConfigFile(configPath, error);
    if (!config)
      return std::nullopt;
    llamac::DType dtype = config->dtype;
    if (!dtypeName.empty()) {
      std::optional<llamac::DType> parsed = llamac::parseDType(dtypeName);
      if (!parsed) {
        error = "--dtype must be f32, f16 or bf16, not '" + dtypeName + "'";
        return std::nullopt;
      }
      dtype = *parsed;
    }
    return llamac::loadConfigOnly(configPath, dtype, error);
  }
  if (modelPath.empty()) {
    error = "no model given (a Hugging Face directory, a llama2.c .bin, or "
            "--config FILE)";
    return std::nullopt;
  }
  return llamac::loadModel(modelPath, error);
}

void printIR(llvm::raw_ostream &os, ModuleOp module) {
  module.print(os);
  os << "\n";
}
void printIR(llvm::raw_ostream &os, llvm::Module &module) {
  module.print(os, nullptr);
}
void printIR(llvm::raw_ostream &os, llvm::StringRef text) { os << text; }

/// Numbered IR files: 00-import.mlir, 01-lmc-fuse-rmsnorm.mlir, ...
class IRDumper {
public:
  explicit IRDumper(std::string dir) : dir(std::move(dir)) {}
  bool enabled() const { return !dir.empty(); }

  LogicalResult prepare() {
    if (std::error_code ec = llvm::sys::fs::create_directories(dir))
      return emitError(UnknownLoc(), dir + ": " + ec.message());
    return success();
  }

  template <typename Printable>
  LogicalResult dump(llvm::StringRef step, llvm::StringRef extension,
                     Printable &&ir) {
    llvm::SmallString<256> path(dir);
    llvm::sys::path::append(path, llvm::formatv("{0:2}-{1}.{2}", counter++, step,
                                                extension)
                                      .str());
    std::error_code ec;
    llvm::raw_fd_ostream os(path, ec, llvm::sys::fs::OF_Text);
    if (ec)
      return emitError(UnknownLoc(), std::string(path) + ": " + ec.message());
    printIR(os, ir);
    return success();
  }

private:
  std::string dir;
  int counter = 0;
};

/// Prints `ir` to the -o file (or stdout).
template <typename Printable> int emitText(Printable &&ir) {
  std::string error;
  auto output = openOutputFile(outputPath, &error);
  if (!output)
    return fail(error);
  printIR(output->os(), ir);
  output->keep();
  return 0;
}

/// Runs `steps` on `module`; pass timings (--mlir-timing) nest in `timing`.
LogicalResult runSteps(ModuleOp module,
                       const std::vector<llamac::PipelineStep> &steps,
                       IRDumper &dumper, TimingScope &timing) {
  if (!dumper.enabled()) {
    PassManager pm(module.getContext());
    if (failed(applyPassManagerCLOptions(pm)))
      return failure();
    pm.enableTiming(timing);
    for (const llamac::PipelineStep &step : steps)
      step.addTo(pm);
    return pm.run(module);
  }
  for (const llamac::PipelineStep &step : steps) {
    PassManager pm(module.getContext());
    if (failed(applyPassManagerCLOptions(pm)))
      return failure();
    // One timer per step: pass managers nested in one scope would share
    // their adaptors' timers and lose the passes of all but the first.
    TimingScope stepTiming = timing.nest(step.name);
    pm.enableTiming(stepTiming);
    step.addTo(pm);
    if (failed(pm.run(module)) || failed(dumper.dump(step.name, "mlir", module)))
      return failure();
  }
  return success();
}

/// Computing ops of the first decoder layer in @prefill, found by the layer name the
/// importer puts in their locations.
int64_t countLayerOps(ModuleOp module) {
  int64_t count = 0;
  auto prefill = module.lookupSymbol<func::FuncOp>("prefill");
  if (!prefill)
    return 0;
  prefill.walk([&](Operation *op) {
    bool inLayer = false;
    op->getLoc()->walk([&](Location loc) {
      if (auto name = dyn_cast<NameLoc>(loc))
        inLayer |= name.getName() == "model.layers.0";
      return WalkResult::advance();
    });
    // Weight reads are symbol references, not computations.
    if (inLayer && isa<llama::LlamaDialect>(op->getDialect()) &&
        !isa<llama::WeightOp>(op))
      ++count;
  });
  return count;
}

/// The PTX of the module's kernels (gpu-module-to-binary{format=isa} on a
/// copy), or "" after emitting a diagnostic.
std::string kernelPTX(ModuleOp module, const llamac::CudaPipelineConfig &config) {
  OwningOpRef<ModuleOp> copy(module.clone());
  PassManager pm(module.getContext());
  llamac::getCudaBinaryStep(config, "isa").addTo(pm);
  if (failed(pm.run(*copy)))
    return "";
  std::string ptx;
  copy->walk([&](gpu::BinaryOp binary) {
    for (Attribute object : binary.getObjects())
      ptx += cast<gpu::ObjectAttr>(object).getObject().getValue().str();
  });
  return ptx;
}

/// --target cuda after fusion: kernels and launches, NVVM and LLVM, the PTX
/// when asked for, then the cubin.
LogicalResult lowerForCuda(ModuleOp module, const llamac::CudaPipelineConfig &config,
                           IRDumper &dumper, TimingScope &timing, std::string &ptx,
                           llamac::ModelSummary &summary) {
  if (failed(runSteps(module, llamac::getCudaLoweringSteps(config), dumper, timing)))
    return failure();
  llamac::summarizeLaunches(module, summary);
  if (compileTo == Stage::Lowered)
    return success();
  if (failed(runSteps(module, llamac::getCudaToLLVMSteps(config), dumper, timing)))
    return failure();
  if (dumper.enabled() || compileTo == Stage::PTX) {
    ptx = kernelPTX(module, config);
    if (ptx.empty() || (dumper.enabled() && failed(dumper.dump("kernels", "ptx", ptx))))
      return failure();
    if (compileTo == Stage::PTX)
      return success();
  }
  return runSteps(module, {llamac::getCudaBinaryStep(config, "bin")}, dumper, timing);
}

int compile(MLIRContext &context) {
  bool cuda = targetName == "cuda";
  if (targetName != "cpu" && !cuda)
    return fail("--target " + targetName + " is not a target (cpu or cuda)");
  if (optLevel > 2)
    return fail("-O" + std::to_string(optLevel) + " is not an optimisation "
                "level (0, 1 or 2)");
  // Refuse an artifact we could not write before compiling it (a large
  // model takes minutes); the writer checks again when it publishes.
  if (compileTo == Stage::Artifact && outputPath == "-")
    return fail("an artifact needs an output directory: -o OUT.lmc");
  if (compileTo == Stage::Artifact && !force &&
      llvm::sys::fs::exists(outputPath))
    return fail(outputPath + " exists; pass --force to replace it");
  if (maxBatch < 1)
    return fail("--max-batch " + std::to_string(maxBatch) + " must be positive");
  if (matvecMinBlocks < 0)
    return fail("--matvec-min-blocks " + std::to_string(matvecMinBlocks) +
                " must be 0 or more");
  // 0 once crashed the CPU lowering and a negative width never finished.
  if (vectorWidth < 1 || vectorWidth > 64)
    return fail("--vector-width " + std::to_string(vectorWidth) +
                " must be between 1 and 64");
  if (maxSeq < 0)
    return fail("--max-seq " + std::to_string(maxSeq) +
                " must be positive (or 0: the model's context, at most 2048)");
  if (cuda && optLevel != 2)
    return fail("--target cuda needs -O2: the CUDA backend lowers the fused "
                "ops (rms_norm, swiglu, attention), not the primitive ops of -O" +
                std::to_string(optLevel));
  if (cuda && chipName != "sm_90" && chipName != "sm_90a" && chipName != "sm_80")
    return fail("--chip " + chipName + " is not supported (sm_90, sm_90a or sm_80)");
  if (!cuda && compileTo == Stage::PTX)
    return fail("--compile-to=ptx needs --target cuda");
  if (quantize != "none" && quantize != "int4")
    return fail("--quantize must be none or int4, not '" + quantize + "'");
  bool int4 = quantize == "int4";
  if (!llvm::is_contained({8, 16, 32}, int4Lanes))
    return fail("--int4-lanes " + std::to_string(int4Lanes) + " must be 8, 16 or 32");
  if (!llvm::is_contained(llamac::prefillTensorCoreChoices(), prefillTensorCores))
    return fail("--prefill-tensor-cores " + prefillTensorCores + " is not supported (" +
                llvm::join(llamac::prefillTensorCoreChoices(), ", ") + ")");
  std::string error;
  std::optional<llamac::ModelSpec> spec = loadSpec(error);
  if (!spec)
    return fail(error);
  if (std::string why = adoptStoredInt4(*spec, int4); !why.empty())
    return fail(why);
  if (int4)
    if (std::string why = checkInt4GroupSize(spec->config, cuda); !why.empty())
      return fail(why);
  std::string computeDType =
      dtypeName.empty() ? llamac::dtypeName(spec->config.dtype) : std::string(dtypeName);
  if (cuda && !llamac::parseDType(computeDType))
    return fail("--dtype must be f32, f16 or bf16, not '" + computeDType + "'");
  std::string wideTile =
      gemmTile.empty() ? llamac::defaultGemmTile(chipName, computeDType) : std::string(gemmTile);
  std::string narrowTile = narrowGemmTile.empty() ? wideTile : std::string(narrowGemmTile);
  for (auto [flag, tile] : {std::pair<std::string, std::string>{"--gemm-tile", wideTile},
                            {"--narrow-gemm-tile", narrowTile}})
    if (std::string why = checkGemmTile(flag, tile, cuda, computeDType); !why.empty())
      return fail(why);

  llamac::ImportOptions importOptions;
  importOptions.maxBatch = maxBatch;
  importOptions.maxSeq = maxSeq;
  importOptions = llamac::resolveImportOptions(*spec, importOptions);
  OwningOpRef<ModuleOp> module = llamac::importModel(context, *spec, importOptions);
  if (!module || failed(verify(*module)))
    return 1;

  // --mlir-timing: one report for all the pass managers below, printed when
  // `timingManager` goes out of scope.
  DefaultTimingManager timingManager;
  applyDefaultTimingManagerCLOptions(timingManager);
  TimingScope timing = timingManager.getRootScope();

  IRDumper dumper(dumpDir);
  if (dumper.enabled() &&
      (failed(dumper.prepare()) || failed(dumper.dump("import", "mlir", *module))))
    return 1;
  if (compileTo == Stage::Import)
    return emitText(*module);

  int64_t opsBefore = countLayerOps(*module);
  if (failed(runSteps(*module, llamac::getQuantizationSteps(int4 ? groupSize : 0),
                      dumper, timing)) ||
      failed(runSteps(*module, llamac::getFusionSteps(optLevel), dumper, timing)))
    return 1;
  if (llvm::AreStatisticsEnabled())
    llvm::errs() << "layer ops: " << opsBefore << " -> " << countLayerOps(*module)
                 << "\n";
  if (compileTo == Stage::Fused)
    return emitText(*module);
  llamac::ModelSummary summary;
  llamac::summarizeFusedModule(*module, summary);

  llamac::ArtifactOptions artifactOptions;
  artifactOptions.outputDir = outputPath;
  artifactOptions.force = force;
  artifactOptions.optLevel = optLevel;
  artifactOptions.target = targetName;
  artifactOptions.cpu = cpuName;
  if (cuda) {
    llamac::CudaPipelineConfig pipeline;
    pipeline.optLevel = static_cast<int>(optLevel);
    pipeline.chip = chipName;
    pipeline.computeDType = computeDType;
    pipeline.gemmTile = wideTile;
    pipeline.narrowGemmTile = narrowTile;
    pipeline.prefillTensorCores = prefillTensorCores;
    pipeline.foldDecodeNorms = foldDecodeNorms;
    pipeline.foldPrefillRope = foldPrefillRope;
    pipeline.matvecMinBlocks = matvecMinBlocks;
    pipeline.int4Lanes = int4Lanes;
    pipeline.toolkitPath = cudaToolkit;
    std::string ptx;
    if (failed(lowerForCuda(*module, pipeline, dumper, timing, ptx, summary)))
      return 1;
    if (compileTo == Stage::Lowered)
      return emitText(*module);
    if (compileTo == Stage::PTX)
      return emitText(llvm::StringRef(ptx));
    artifactOptions.chip = chipName;
    artifactOptions.dependentLaunch = llamac::usesDependentLaunch(chipName);
    artifactOptions.computeDType = computeDType;
    artifactOptions.gemmTile = wideTile;
    artifactOptions.narrowGemmTile = narrowTile;
    artifactOptions.prefillTensorCores = prefillTensorCores;
    artifactOptions.foldDecodeNorms = foldDecodeNorms;
    artifactOptions.foldPrefillRope = foldPrefillRope;
    artifactOptions.matvecMinBlocks = matvecMinBlocks;
    if (int4)
      artifactOptions.int4Lanes = int4Lanes;
    if (auto scratch = (*module)->getAttrOfType<IntegerAttr>("llama.scratch_bytes"))
      artifactOptions.scratchBytes = scratch.getInt();
    // The host code only launches kernels: build it for any x86-64.
    if (artifactOptions.cpu.empty())
      artifactOptions.cpu = "x86-64";
  } else {
    llamac::CpuPipelineConfig pipeline{static_cast<int>(optLevel), vectorWidth};
    if (failed(runSteps(*module, llamac::getCpuLoweringSteps(pipeline), dumper, timing)))
      return 1;
    if (compileTo == Stage::Lowered)
      return emitText(*module);
    llamac::summarizeLoweredModule(*module, importOptions.maxBatch,
                                   importOptions.maxSeq, summary);
    if (failed(runSteps(*module, llamac::getCpuToLLVMSteps(), dumper, timing)))
      return 1;
  }
  artifactOptions.summary = std::move(summary);
  llvm::LLVMContext llvmContext;
  std::unique_ptr<llvm::Module> llvmModule =
      llamac::translateForCpu(*module, llvmContext, artifactOptions);
  if (!llvmModule)
    return 1;
  if (dumper.enabled() && failed(dumper.dump("llvm", "ll", *llvmModule)))
    return 1;
  if (compileTo == Stage::LLVM)
    return emitText(*llvmModule);
  if (outputPath == "-")
    return fail("an artifact needs an output directory: -o OUT.lmc");
  error = llamac::writeArtifact(*llvmModule, *spec, importOptions,
                                   artifactOptions);
  if (!error.empty())
    return fail(error);
  return 0;
}

int usage() {
  llvm::errs() << "usage: llamac compile MODEL -o OUT.lmc [options]\n"
                  "       llamac compile --help\n"
                  "       llamac inspect OUT.lmc\n";
  return 2;
}

} // namespace

int main(int argc, char **argv) {
  llvm::InitLLVM init(argc, argv);
  if (argc < 2)
    return usage();
  std::string command = argv[1];
  if (command == "inspect")
    return llamac::runInspect(argc, argv);
  if (command != "compile")
    return usage();

  registerMLIRContextCLOptions();
  registerPassManagerCLOptions();
  registerAsmPrinterCLOptions();
  registerDefaultTimingManagerCLOptions();
  // "llamac compile" reads as one program name in --help and errors.
  std::string program = std::string(argv[0]) + " compile";
  std::vector<char *> args = {program.data()};
  args.insert(args.end(), argv + 2, argv + argc);
  if (!cl::ParseCommandLineOptions(static_cast<int>(args.size()), args.data(),
                                   "llamac: compile a Llama model\n", &llvm::errs()))
    return 2;

  DialectRegistry registry;
  llamac::registerAllDialects(registry);
  MLIRContext context(registry);
  return compile(context);
}
