//===- Artifact.cpp - Writing a compiled artifact directory ---------------===//
#include "compiler/Target/Artifact.h"

#include "runtime/ModelABI.h"

#include "mlir/ExecutionEngine/OptUtils.h"
#include "mlir/Target/LLVMIR/Export.h"
#include "llvm/IR/LegacyPassManager.h"
#include "llvm/MC/MCSubtargetInfo.h"
#include "llvm/MC/TargetRegistry.h"
#include "llvm/Support/FileSystem.h"
#include "llvm/Support/JSON.h"
#include "llvm/Support/MemoryBuffer.h"
#include "llvm/Support/Path.h"
#include "llvm/Support/Program.h"
#include "llvm/Support/TargetSelect.h"
#include "llvm/Support/raw_ostream.h"
#include "llvm/Target/TargetMachine.h"
#include "llvm/TargetParser/Host.h"
#include "llvm/TargetParser/SubtargetFeature.h"

#include <fcntl.h>
#include <stdio.h> // renameat2, RENAME_EXCHANGE

using namespace llvm;

namespace llamac {
namespace {

std::unique_ptr<TargetMachine> createHostTargetMachine(const std::string &cpu,
                                                       std::string &error) {
  InitializeNativeTarget();
  InitializeNativeTargetAsmPrinter();
  Triple triple(sys::getDefaultTargetTriple());
  const Target *target = TargetRegistry::lookupTarget(triple, error);
  if (!target) {
    error = "no code generator for this machine: " + error;
    return nullptr;
  }
  std::string cpuName = cpu.empty() ? sys::getHostCPUName().str() : cpu;
  // LLVM only warns about an unknown CPU and then aborts in code generation
  // ("64-bit code requested on a subtarget that doesn't support it").
  std::unique_ptr<MCSubtargetInfo> subtarget(
      target->createMCSubtargetInfo(triple, "", ""));
  if (!cpu.empty() && subtarget && !subtarget->isCPUStringValid(cpu)) {
    error = "--cpu '" + cpu + "' is not a CPU of " + triple.str() +
            " (llc -mtriple=" + triple.str() + " -mcpu=help lists them)";
    return nullptr;
  }
  std::string features;
  if (cpu.empty()) {
    SubtargetFeatures featureSet;
    for (const auto &[name, enabled] : sys::getHostCPUFeatures())
      featureSet.AddFeature(name, enabled);
    features = featureSet.getString();
  }
  TargetOptions targetOptions;
  return std::unique_ptr<TargetMachine>(target->createTargetMachine(
      triple, cpuName, features, targetOptions, Reloc::PIC_));
}

std::string emitObject(Module &module, TargetMachine &machine,
                       const std::string &path) {
  std::error_code ec;
  raw_fd_ostream os(path, ec, sys::fs::OF_None);
  if (ec)
    return path + ": " + ec.message();
  legacy::PassManager pm;
  if (machine.addPassesToEmitFile(pm, os, nullptr, CodeGenFileType::ObjectFile))
    return "the target cannot emit object files";
  pm.run(module);
  return "";
}

/// The library model.so links and the artifact carries: OpenMP for the CPU
/// code, the mgpu* launch runtime (runtime/cuda) for the CUDA host code.
struct BundledLibrary {
  const char *path;
  const char *name;
};

BundledLibrary bundledLibrary(const ArtifactOptions &options) {
  if (options.target == "cuda")
    return {LLAMAC_CUDA_MODEL_RUNTIME_PATH, "libllamac_cuda_rt.so"};
  return {LLAMAC_LIBOMP_PATH, "libomp.so.5"};
}

/// Copies the bundled runtime library next to model.so so the artifact runs
/// on a machine without LLVM installed.
std::string bundleLibrary(const std::string &dir, BundledLibrary library) {
  SmallString<256> resolved;
  if (sys::fs::real_path(library.path, resolved))
    return std::string("cannot find the bundled runtime library at ") + library.path;
  SmallString<256> destination(dir);
  sys::path::append(destination, library.name);
  if (std::error_code ec = sys::fs::copy_file(resolved, destination))
    return "copying " + std::string(resolved) + ": " + ec.message();
  return "";
}

std::string linkSharedLibrary(const std::string &object,
                              const std::string &library, BundledLibrary bundled) {
  ErrorOr<std::string> linker = sys::findProgramByName("cc");
  if (!linker)
    linker = sys::findProgramByName("clang");
  if (!linker)
    return "no C compiler driver (cc) to link model.so";
  std::string libraryDir = sys::path::parent_path(library).str();
  std::vector<std::string> args = {*linker, "-shared", "-o", library, object,
                                   "-L" + libraryDir, std::string("-l:") + bundled.name, "-lm",
                                   "-Wl,-rpath,$ORIGIN", "-Wl,-z,now"};
  SmallVector<StringRef> refs(args.begin(), args.end());
  std::string message;
  int status = sys::ExecuteAndWait(*linker, refs, std::nullopt, {}, 0, 0, &message);
  if (status != 0)
    return "linking model.so failed" + (message.empty() ? "" : ": " + message);
  return "";
}

/// An option the compile did not set is null in the manifest.
json::Value stringOrNull(const std::string &text) {
  return text.empty() ? json::Value(nullptr) : json::Value(text);
}

json::Array shapeToJson(const std::vector<int64_t> &shape) {
  json::Array array;
  for (int64_t size : shape)
    array.push_back(size);
  return array;
}

/// The config as a Hugging Face config.json, which the runtime reads back
/// with the frontends' parser.
json::Value manifestConfig(const LlamaConfig &config) {
  Expected<json::Value> parsed = json::parse(configToJson(config));
  if (!parsed) {
    consumeError(parsed.takeError());
    return nullptr;
  }
  return std::move(*parsed);
}

const char *formatName(SourceFormat format) {
  switch (format) {
  case SourceFormat::HuggingFace:
    return "huggingface";
  case SourceFormat::Llama2c:
    return "llama2c";
  case SourceFormat::ConfigOnly:
    break;
  }
  return "none";
}

/// Whether `text` nests arrays and objects deeper than `limit`. LLVM's JSON
/// parser recurses once per level: a generation_config.json of a million
/// '[' overflowed the stack (and the crash handler then hung).
bool nestsDeeperThan(StringRef text, int limit) {
  int depth = 0;
  bool inString = false, escaped = false;
  for (char c : text) {
    if (inString) {
      if (escaped)
        escaped = false;
      else if (c == '\\')
        escaped = true;
      else if (c == '"')
        inString = false;
    } else if (c == '"') {
      inString = true;
    } else if (c == '[' || c == '{') {
      if (++depth > limit)
        return true;
    } else if (c == ']' || c == '}') {
      --depth;
    }
  }
  return false;
}

/// generation_config.json's contents, or null (also for a file that is not
/// JSON, larger than 1 MiB or nested deeper than 64 levels: real ones are a
/// few hundred bytes, two levels).
json::Value readGenerationConfig(const ModelSpec &spec) {
  constexpr uint64_t kMaxBytes = 1 << 20;
  constexpr int kMaxDepth = 64;
  if (spec.generationConfigPath.empty())
    return nullptr;
  uint64_t size = 0;
  if (sys::fs::file_size(spec.generationConfigPath, size) || size > kMaxBytes)
    return nullptr;
  auto buffer = MemoryBuffer::getFile(spec.generationConfigPath);
  if (!buffer || nestsDeeperThan((*buffer)->getBuffer(), kMaxDepth))
    return nullptr;
  Expected<json::Value> parsed = json::parse((*buffer)->getBuffer());
  if (!parsed) {
    consumeError(parsed.takeError());
    return nullptr;
  }
  return std::move(*parsed);
}

/// The largest scratch bound of the entry points (they never run at once).
int64_t scratchBytes(const ModelSummary &summary) {
  int64_t bytes = 0;
  for (const FunctionSummary &function : summary.functions)
    bytes = std::max(bytes, function.scratchBytes);
  return bytes;
}

json::Array functionsToJson(const ModelSummary &summary) {
  json::Array functions;
  for (const FunctionSummary &function : summary.functions) {
    json::Object layerOps;
    for (const auto &[name, count] : function.layerOps)
      layerOps[name] = count;
    functions.push_back(json::Object{{"name", function.name},
                                     {"kernels", function.kernels},
                                     {"kernels_per_layer", function.kernelsPerLayer},
                                     {"layer_ops", std::move(layerOps)},
                                     {"scratch_bytes", function.scratchBytes}});
  }
  return functions;
}

json::Object buildManifest(const ModelSpec &spec, const ImportOptions &importOptions,
                           const ArtifactOptions &options, const std::string &chip,
                           bool hasTokenizer) {
  const LlamaConfig &c = spec.config;
  json::Array table;
  uint64_t weightBytes = 0;
  for (const WeightInfo &w : spec.weights) {
    json::Object entry{{"name", w.name},
                       {"dtype", dtypeName(w.dtype)},
                       {"shape", shapeToJson(w.shape)}};
    auto int4 = options.summary.int4GroupSizes.find(w.name);
    if (int4 == options.summary.int4GroupSizes.end()) {
      weightBytes += w.byteSize;
    } else {
      entry["quantization"] =
          json::Object{{"scheme", "int4"}, {"group_size", int4->second}};
      weightBytes += int4BufferBytes(w.shape[0], w.shape[1], int4->second);
    }
    table.push_back(std::move(entry));
  }
  std::vector<int64_t> cacheShape = {c.numLayers, 2, importOptions.maxBatch,
                                     c.numKeyValueHeads, importOptions.maxSeq,
                                     c.headDim};
  DType cacheDType = kvCacheDType(*parseDType(options.computeDType));
  uint64_t cacheBytes = dtypeSize(cacheDType);
  for (int64_t size : cacheShape)
    cacheBytes *= size;
  bool classifier = c.architecture == Architecture::SequenceClassification;
  // Absolute, so the artifact finds its weights from any directory.
  SmallString<256> sourcePath;
  if (sys::fs::real_path(spec.sourcePath, sourcePath))
    sourcePath = spec.sourcePath;
  json::Value source = spec.format == SourceFormat::ConfigOnly
                           ? json::Value(nullptr)
                           : json::Value(std::string(sourcePath));
  return json::Object{
      {"format", "llamac-artifact"},
      {"format_version", kArtifactFormatVersion},
      {"producer", "llamac 0.1.0"},
      {"target", options.target},
      {"chip", chip},
      {"dependent_launch", options.dependentLaunch},
      {"gemm_tile", stringOrNull(options.gemmTile)},
      {"narrow_gemm_tile", stringOrNull(options.narrowGemmTile)},
      {"prefill_tensor_cores", stringOrNull(options.prefillTensorCores)},
      {"fold_decode_norms", options.foldDecodeNorms ? json::Value(*options.foldDecodeNorms)
                                                    : json::Value(nullptr)},
      {"fold_prefill_rope", options.foldPrefillRope ? json::Value(*options.foldPrefillRope)
                                                    : json::Value(nullptr)},
      {"matvec_min_blocks", options.matvecMinBlocks ? json::Value(*options.matvecMinBlocks)
                                                    : json::Value(nullptr)},
      {"int4_lanes", options.int4Lanes ? json::Value(*options.int4Lanes)
                                       : json::Value(nullptr)},
      {"opt_level", options.optLevel},
      {"compute_dtype", options.computeDType},
      {"library", "model.so"},
      {"entry_points",
       json::Object{{"prefill", kPrefillSymbol}, {"decode", kDecodeSymbol}}},
      {"max_batch", importOptions.maxBatch},
      {"max_seq", importOptions.maxSeq},
      {"kv_cache", json::Object{{"dtype", dtypeName(cacheDType)},
                                {"shape", shapeToJson(cacheShape)}}},
      {"output", json::Object{{"kind", classifier ? "scores" : "logits"},
                              {"size", classifier ? c.numLabels : c.vocabSize}}},
      {"config", manifestConfig(c)},
      {"weights", json::Object{{"source", std::move(source)},
                               {"format", formatName(spec.format)},
                               {"table", std::move(table)}}},
      {"tokenizer", hasTokenizer ? json::Value("tokenizer.model") : json::Value(nullptr)},
      {"generation_config", readGenerationConfig(spec)},
      {"memory_plan", json::Object{{"weight_bytes", static_cast<int64_t>(weightBytes)},
                                   {"kv_cache_bytes", static_cast<int64_t>(cacheBytes)},
                                   {"scratch_bytes", std::max(scratchBytes(options.summary),
                                                              options.scratchBytes)}}},
      {"functions", functionsToJson(options.summary)},
  };
}

std::string writeText(const std::string &path, StringRef text) {
  std::error_code ec;
  raw_fd_ostream os(path, ec, sys::fs::OF_Text);
  if (ec)
    return path + ": " + ec.message();
  os << text;
  return "";
}

std::string join(StringRef dir, StringRef name) {
  SmallString<256> path(dir);
  sys::path::append(path, name);
  return std::string(path);
}

/// Fills `dir` with everything the artifact holds.
std::string populate(const std::string &dir, Module &module, TargetMachine &machine,
                     const ModelSpec &spec, const ImportOptions &importOptions,
                     const ArtifactOptions &options) {
  std::string object = join(dir, "model.o");
  if (std::string error = emitObject(module, machine, object); !error.empty())
    return error;
  BundledLibrary bundled = bundledLibrary(options);
  if (std::string error = bundleLibrary(dir, bundled); !error.empty())
    return error;
  if (std::string error = linkSharedLibrary(object, join(dir, "model.so"), bundled);
      !error.empty())
    return error;
  sys::fs::remove(object);
  bool hasTokenizer = !spec.tokenizerPath.empty();
  if (hasTokenizer)
    if (std::error_code ec =
            sys::fs::copy_file(spec.tokenizerPath, join(dir, "tokenizer.model")))
      return spec.tokenizerPath + ": " + ec.message();
  std::string manifest;
  raw_string_ostream os(manifest);
  std::string chip =
      options.chip.empty() ? machine.getTargetCPU().str() : options.chip;
  os << formatv("{0:2}", json::Value(buildManifest(spec, importOptions, options,
                                                   chip, hasTokenizer)))
     << "\n";
  return writeText(join(dir, "manifest.json"), manifest);
}

/// "" when `--force` may replace `destination`: an artifact (a directory
/// with a manifest.json) or an empty directory. Anything else was named by
/// mistake, and removing it would lose data.
std::string checkReplaceable(const std::string &destination) {
  if (!sys::fs::is_directory(destination))
    return destination + " exists and is not a directory; refusing to replace it";
  if (sys::fs::exists(join(destination, "manifest.json")))
    return "";
  std::error_code ec;
  sys::fs::directory_iterator first(destination, ec);
  if (!ec && first == sys::fs::directory_iterator())
    return "";
  return destination + " is not a llamac artifact (no manifest.json); "
                       "refusing to replace it";
}

/// Moves the finished `staging` directory to `destination`. An existing
/// artifact there (with `force`) is swapped out in one step where the file
/// system allows it, else moved aside first: a reader never sees a mix of
/// the two, and a failure leaves the old artifact in place.
std::string publish(const std::string &staging, const std::string &destination,
                    bool force) {
  if (!sys::fs::exists(destination)) {
    if (std::error_code ec = sys::fs::rename(staging, destination))
      return "renaming " + staging + " to " + destination + ": " + ec.message();
    return "";
  }
  if (!force)
    return destination + " exists; pass --force to replace it";
  if (std::string error = checkReplaceable(destination); !error.empty())
    return error;
  if (::renameat2(AT_FDCWD, staging.c_str(), AT_FDCWD, destination.c_str(),
                  RENAME_EXCHANGE) == 0) {
    sys::fs::remove_directories(staging); // Now the old artifact.
    return "";
  }
  SmallString<256> aside;
  sys::fs::createUniquePath(destination + ".old-%%%%%%", aside, false);
  if (std::error_code ec = sys::fs::rename(destination, aside))
    return "moving " + destination + " aside: " + ec.message();
  if (std::error_code ec = sys::fs::rename(staging, destination)) {
    sys::fs::rename(aside, destination);
    return "renaming " + staging + " to " + destination + ": " + ec.message();
  }
  sys::fs::remove_directories(aside);
  return "";
}

} // namespace

std::unique_ptr<Module> translateForCpu(mlir::ModuleOp module, LLVMContext &context,
                                        const ArtifactOptions &options) {
  std::unique_ptr<Module> llvmModule = mlir::translateModuleToLLVMIR(module, context);
  if (!llvmModule)
    return nullptr;
  std::string error;
  std::unique_ptr<TargetMachine> machine = createHostTargetMachine(options.cpu, error);
  if (!machine) {
    module.emitError() << error;
    return nullptr;
  }
  llvmModule->setDataLayout(machine->createDataLayout());
  llvmModule->setTargetTriple(machine->getTargetTriple());
  auto optimize = mlir::makeOptimizingTransformer(3, 0, machine.get());
  if (Error err = optimize(llvmModule.get())) {
    module.emitError() << "LLVM optimisation failed: " << toString(std::move(err));
    return nullptr;
  }
  return llvmModule;
}

std::string writeArtifact(Module &module, const ModelSpec &spec,
                             const ImportOptions &importOptions,
                             const ArtifactOptions &options) {
  std::string destination = options.outputDir;
  while (destination.size() > 1 && destination.back() == '/')
    destination.pop_back();
  if (sys::fs::exists(destination)) {
    if (!options.force)
      return destination + " exists; pass --force to replace it";
    if (std::string error = checkReplaceable(destination); !error.empty())
      return error;
  }
  std::string error;
  std::unique_ptr<TargetMachine> machine = createHostTargetMachine(options.cpu, error);
  if (!machine)
    return error;
  // The staging directory must be beside the destination, for the rename
  // that publishes it; createUniqueDirectory puts a relative prefix in the
  // system's temporary directory, so the prefix is made absolute.
  SmallString<256> prefix(destination + ".partial");
  SmallString<256> staging;
  std::error_code ec = sys::fs::make_absolute(prefix);
  if (!ec)
    ec = sys::fs::createUniqueDirectory(prefix, staging);
  if (ec)
    return "cannot create a directory beside " + destination + ": " + ec.message();
  std::string stagingDir(staging);
  error = populate(stagingDir, module, *machine, spec, importOptions, options);
  if (error.empty())
    error = publish(stagingDir, destination, options.force);
  if (!error.empty())
    sys::fs::remove_directories(stagingDir);
  return error;
}

} // namespace llamac
