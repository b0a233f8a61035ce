//===- llamac-gpu-emulate.cpp - The CUDA lowering's kernels on the CPU ----===//
//
//   llamac-gpu-emulate LOWERED.mlir --weights MODEL --prompt-ids 1,2,3
//                      [--dtype f32|f16|bf16] [--new-tokens N]
//                      [--dump-logits FILE] [--dump-decode-logits FILE]
//
// LOWERED.mlir is `llamac compile --target cuda --compile-to=lowered` of a
// model (the kernels before NVVM). lmc-convert-gpu-to-cpu-emulation turns
// kernels and launches into host code, the CPU pipeline lowers it, the JIT
// runs it, and SimtEmulator runs each launch's blocks thread by thread. The
// tool then does what `llamac-run generate --prompt-ids` does for one row:
// a prefill of the prompt and greedy decode steps, printing the generated
// ids; the logits go to the dump files as little-endian float32. Without a
// GPU, this checks the kernels' arithmetic and indexing (not their timing
// or memory model) against the CPU backend and Hugging Face.
//
//===----------------------------------------------------------------------===//
#include "SimtEmulator.h"

#include "compiler/Conversion/Passes.h"
#include "compiler/Pipelines/Pipelines.h"
#include "compiler/Registration.h"
#include "frontends/ModelSpec.h"
#include "runtime/ModelABI.h"
#include "runtime/cuda/DTypeConversion.h"

#include "mlir/ExecutionEngine/ExecutionEngine.h"
#include "mlir/ExecutionEngine/OptUtils.h"
#include "mlir/IR/MLIRContext.h"
#include "mlir/Parser/Parser.h"
#include "mlir/Pass/PassManager.h"
#include "llvm/ExecutionEngine/Orc/Mangling.h"
#include "llvm/Support/TargetSelect.h"

#include <algorithm>
#include <cstdio>
#include <fstream>
#include <sstream>

using namespace mlir;
using namespace llamac;

namespace {

struct Options {
  std::string lowered, weights, promptIds, dtype = "f32", dumpLogits, dumpDecodeLogits;
  int64_t newTokens = 0;
};

[[noreturn]] void fail(const std::string &message) {
  std::fprintf(stderr, "error: %s\n", message.c_str());
  std::exit(1);
}

Options parseOptions(int argc, char **argv) {
  Options options;
  for (int i = 1; i < argc; ++i) {
    std::string flag = argv[i];
    auto value = [&]() -> std::string {
      if (i + 1 >= argc)
        fail(flag + " needs a value");
      return argv[++i];
    };
    if (flag == "--weights")
      options.weights = value();
    else if (flag == "--prompt-ids")
      options.promptIds = value();
    else if (flag == "--dtype")
      options.dtype = value();
    else if (flag == "--new-tokens")
      options.newTokens = std::stoll(value());
    else if (flag == "--dump-logits")
      options.dumpLogits = value();
    else if (flag == "--dump-decode-logits")
      options.dumpDecodeLogits = value();
    else if (!flag.empty() && flag[0] != '-' && options.lowered.empty())
      options.lowered = flag;
    else
      fail("unknown argument " + flag);
  }
  if (options.lowered.empty() || options.weights.empty() || options.promptIds.empty())
    fail("usage: llamac-gpu-emulate LOWERED.mlir --weights MODEL --prompt-ids 1,2,3 "
         "[--dtype f32|f16|bf16] [--new-tokens N] [--dump-logits FILE] "
         "[--dump-decode-logits FILE]");
  return options;
}

std::vector<int32_t> parseIds(const std::string &text) {
  std::vector<int32_t> ids;
  std::stringstream stream(text);
  for (std::string item; std::getline(stream, item, ',');)
    ids.push_back(int32_t(std::stol(item)));
  if (ids.empty())
    fail("--prompt-ids is empty");
  return ids;
}

/// The weights in table order, converted to the compute dtype.
std::vector<std::vector<uint8_t>> loadWeights(const std::string &path, DType compute) {
  std::string error;
  std::optional<ModelSpec> spec = loadModel(path, error);
  if (!spec)
    fail(error);
  std::vector<std::vector<uint8_t>> weights;
  for (const WeightInfo &weight : spec->weights)
    weights.push_back(cuda::convertElements(weight.data, elementCount(weight.shape),
                                            weight.dtype, compute));
  return weights;
}

/// The JIT-compiled entry points and kernels of the lowered module.
struct Emulation {
  std::unique_ptr<ExecutionEngine> engine;
  EntryPointFn prefill = nullptr, decode = nullptr;
  std::vector<int64_t> cacheShape;
  int64_t cacheElementBytes = 0;
  int64_t vocab = 0;
};

Emulation compile(const std::string &path) {
  DialectRegistry registry;
  llamac::registerAllDialects(registry);
  MLIRContext context(registry);
  context.loadAllAvailableDialects();
  OwningOpRef<ModuleOp> module = parseSourceFile<ModuleOp>(path, &context);
  if (!module)
    fail("cannot parse " + path);
  Emulation emulation;
  auto prefill = module->lookupSymbol<func::FuncOp>("prefill");
  if (!prefill)
    fail(path + " has no @prefill");
  auto cacheType = cast<MemRefType>(prefill.getArgumentTypes()[1]);
  emulation.cacheShape.assign(cacheType.getShape().begin(), cacheType.getShape().end());
  emulation.cacheElementBytes = cacheType.getElementTypeBitWidth() / 8;
  emulation.vocab = cast<MemRefType>(prefill.getArgumentTypes()[6]).getShape().back();

  PassManager pm(&context);
  pm.addPass(llamac::createConvertGPUToCPUEmulation());
  for (const PipelineStep &step : getCpuToLLVMSteps())
    step.addTo(pm);
  if (failed(pm.run(*module)))
    fail("lowering the emulated module failed");
  auto names = (*module)->getAttrOfType<ArrayAttr>("lmc.emulated_kernels");

  ExecutionEngineOptions engineOptions;
  engineOptions.transformer = makeOptimizingTransformer(2, 0, nullptr);
  auto engine = ExecutionEngine::create(*module, engineOptions);
  if (!engine)
    fail("JIT: " + llvm::toString(engine.takeError()));
  emulation.engine = std::move(*engine);
  emulation.engine->registerSymbols([](llvm::orc::MangleAndInterner interner) {
    llvm::orc::SymbolMap symbols;
    for (auto &[name, address] : emu::runtimeSymbols())
      symbols[interner(name)] = {llvm::orc::ExecutorAddr::fromPtr(address),
                                 llvm::JITSymbolFlags::Exported};
    return symbols;
  });
  std::vector<emu::PackedKernel> kernels;
  for (Attribute name : names) {
    auto kernel = emulation.engine->lookupPacked(cast<StringAttr>(name).getValue());
    if (!kernel)
      fail("JIT: " + llvm::toString(kernel.takeError()));
    kernels.push_back(*kernel);
  }
  emu::setKernels(std::move(kernels));
  auto entry = [&](const char *name) {
    auto address = emulation.engine->lookup(name);
    if (!address)
      fail("JIT: " + llvm::toString(address.takeError()));
    return reinterpret_cast<EntryPointFn>(*address);
  };
  emulation.prefill = entry("_mlir_ciface_prefill");
  emulation.decode = entry("_mlir_ciface_decode");
  return emulation;
}

void writeFloats(const std::string &path, const std::vector<float> &values) {
  if (path.empty())
    return;
  std::ofstream out(path, std::ios::binary);
  out.write(reinterpret_cast<const char *>(values.data()),
            std::streamsize(values.size() * sizeof(float)));
  if (!out)
    fail("cannot write " + path);
}

int32_t argmax(const float *logits, int64_t count) {
  return int32_t(std::max_element(logits, logits + count) - logits);
}

/// One call of `entry` on a batch of one row: `tokens` at `positions`.
std::vector<float> step(EntryPointFn entry, void *const *weights, KVCacheRef *cache,
                        std::vector<int32_t> tokens, std::vector<int32_t> positions,
                        int64_t startSlot, int64_t vocab) {
  int64_t length = int64_t(tokens.size());
  std::vector<int32_t> firstSlot = {0};
  std::vector<float> logits(length * vocab);
  auto tokenRef = makeDenseMemRef<int32_t, 2>(tokens.data(), {1, length});
  auto positionRef = makeDenseMemRef<int32_t, 2>(positions.data(), {1, length});
  auto firstRef = makeDenseMemRef<int32_t, 1>(firstSlot.data(), {1});
  auto outRef = makeDenseMemRef<float, 3>(logits.data(), {1, length, vocab});
  entry(weights, cache, &tokenRef, &positionRef, &firstRef, startSlot, &outRef);
  return logits;
}

} // namespace

int main(int argc, char **argv) {
  Options options = parseOptions(argc, argv);
  std::optional<DType> compute = parseDType(options.dtype);
  if (!compute)
    fail("--dtype must be f32, f16 or bf16");
  std::vector<int32_t> prompt = parseIds(options.promptIds);
  llvm::InitializeNativeTarget();
  llvm::InitializeNativeTargetAsmPrinter();
  Emulation emulation = compile(options.lowered);

  std::vector<std::vector<uint8_t>> weights = loadWeights(options.weights, *compute);
  std::vector<void *> weightTable;
  for (std::vector<uint8_t> &weight : weights)
    weightTable.push_back(weight.data());
  const std::vector<int64_t> &shape = emulation.cacheShape;
  if (shape.size() != 6)
    fail("the KV cache argument is not 6-dimensional");
  int64_t cacheElements = 1;
  for (int64_t size : shape)
    cacheElements *= size;
  std::vector<uint8_t> cache(cacheElements * emulation.cacheElementBytes);
  int64_t sizes[6];
  std::copy(shape.begin(), shape.end(), sizes);
  auto cacheRef = makeDenseMemRef<float, 6>(reinterpret_cast<float *>(cache.data()), sizes);

  int64_t length = int64_t(prompt.size());
  std::vector<int32_t> positions(length);
  for (int64_t i = 0; i < length; ++i)
    positions[i] = int32_t(i);
  std::vector<float> logits = step(emulation.prefill, weightTable.data(), &cacheRef,
                                   prompt, positions, 0, emulation.vocab);
  writeFloats(options.dumpLogits, logits);
  std::vector<float> decodeLogits;
  int32_t next = argmax(&logits[(length - 1) * emulation.vocab], emulation.vocab);
  std::printf("%d", next);
  for (int64_t i = 0; i < options.newTokens - 1; ++i) {
    int64_t position = length + i;
    std::vector<float> stepLogits =
        step(emulation.decode, weightTable.data(), &cacheRef, {next},
             {int32_t(position)}, position, emulation.vocab);
    decodeLogits.insert(decodeLogits.end(), stepLogits.begin(), stepLogits.end());
    next = argmax(stepLogits.data(), emulation.vocab);
    std::printf(",%d", next);
  }
  std::printf("\n");
  writeFloats(options.dumpDecodeLogits, decodeLogits);
  return 0;
}
