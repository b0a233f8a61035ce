//===- llamac-gpu-emulate.cpp - The CUDA lowering's kernels on the CPU ----===//
//
//   llamac-gpu-emulate LOWERED.mlir --weights MODEL --prompt-ids "1,2,3[;4,5]"
//                      [--new-tokens N] [--dump-logits FILE]
//                      [--dump-last-logits FILE] [--dump-decode-logits FILE]
//
// LOWERED.mlir is `llamac compile --target cuda --compile-to=lowered` of a
// model (the kernels before NVVM). lmc-convert-gpu-to-cpu-emulation turns
// kernels and launches into host code, the CPU pipeline lowers it, the JIT
// runs it, and SimtEmulator runs each launch's blocks thread by thread. The
// tool then does what `llamac-run generate --prompt-ids` does: a prefill of
// the rows (left-padded with id 0, as the runtime pads a batch) and greedy
// decode steps, printing each row's generated ids on a line. As the runtime,
// the prefill computes logits at every prompt position only for
// --dump-logits, else at each row's last. The logits go to the dump files
// as little-endian float32 ([rows, prompt length, vocab], each row's last
// [rows, vocab], and [steps - 1, rows, vocab]). Without a
// GPU, this checks the kernels' arithmetic and indexing (not their timing
// or memory model) against the CPU backend and Hugging Face.
//
//===----------------------------------------------------------------------===//
#include "SimtEmulator.h"

#include "compiler/Conversion/Passes.h"
#include "compiler/Pipelines/Pipelines.h"
#include "compiler/Registration.h"
#include "frontends/ModelSpec.h"
#include "dialects/llama/IR/LlamaDialect.h"
#include "runtime/ModelABI.h"
#include "runtime/PromptIds.h"
#include "runtime/TokenBatch.h"
#include "runtime/WeightBinding.h"
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
#include <cstdlib>
#include <fstream>
#include <map>

using namespace mlir;
using namespace llamac;

namespace {

struct Options {
  std::string lowered, weights, promptIds, dumpLogits, dumpLastLogits, dumpDecodeLogits;
  int64_t newTokens = 1;
};

[[noreturn]] void fail(const std::string &message) {
  std::fprintf(stderr, "error: %s\n", message.c_str());
  std::exit(1);
}

int64_t parseCount(const std::string &flag, const std::string &text) {
  char *end = nullptr;
  long long value = std::strtoll(text.c_str(), &end, 10);
  if (text.empty() || *end != '\0' || value < 1 || value > 1000000)
    fail(flag + " must be a count from 1, got '" + text + "'");
  return value;
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
    else if (flag == "--new-tokens")
      options.newTokens = parseCount(flag, value());
    else if (flag == "--dump-logits")
      options.dumpLogits = value();
    else if (flag == "--dump-last-logits")
      options.dumpLastLogits = value();
    else if (flag == "--dump-decode-logits")
      options.dumpDecodeLogits = value();
    else if (!flag.empty() && flag[0] != '-' && options.lowered.empty())
      options.lowered = flag;
    else
      fail("unknown argument " + flag);
  }
  if (options.lowered.empty() || options.weights.empty() || options.promptIds.empty())
    fail("usage: llamac-gpu-emulate LOWERED.mlir --weights MODEL --prompt-ids 1,2,3 "
         "[--new-tokens N] [--dump-logits FILE] [--dump-last-logits FILE] "
         "[--dump-decode-logits FILE]");
  return options;
}


/// The model's weights in table order, converted to the compute dtype or
/// int4 as the runtime binds them (`int4GroupSizes`, by name: quantized, or
/// as the checkpoint stores them), after checking they are the shape the
/// lowered module was compiled for.
std::vector<std::vector<uint8_t>>
loadWeights(const std::string &path, DType compute,
            const std::map<std::string, int64_t> &shape,
            const std::map<std::string, int64_t> &int4GroupSizes) {
  std::string error;
  std::optional<ModelSpec> spec = loadModel(path, error);
  if (!spec)
    fail(error);
  const LlamaConfig &c = spec->config;
  for (auto [name, value] : std::map<std::string, int64_t>{
           {"hidden_size", c.hiddenSize},
           {"intermediate_size", c.intermediateSize},
           {"num_layers", c.numLayers},
           {"num_heads", c.numHeads},
           {"num_kv_heads", c.numKeyValueHeads},
           {"vocab_size", c.vocabSize}})
    if (shape.count(name) && shape.at(name) != value)
      fail(path + " has " + name + " " + std::to_string(value) +
           ", the lowered model was compiled for " + std::to_string(shape.at(name)));
  std::vector<WeightTableEntry> table;
  for (const WeightInfo &weight : spec->weights) {
    auto int4 = int4GroupSizes.find(weight.name);
    table.push_back({weight.name, weight.dtype, weight.shape,
                     int4 == int4GroupSizes.end() ? 0 : int4->second});
  }
  std::optional<BoundWeights> bound = bindWeights(table, *spec, error);
  if (!bound)
    fail(error);
  std::vector<std::vector<uint8_t>> weights;
  for (size_t i = 0; i < table.size(); ++i) {
    const auto *data = static_cast<const uint8_t *>(bound->pointers[i]);
    weights.push_back(table[i].int4GroupSize
                          ? std::vector<uint8_t>(data, data + table[i].boundBytes(compute))
                          : cuda::convertElements(data, elementCount(table[i].shape),
                                                  table[i].dtype, compute));
  }
  return weights;
}

/// The JIT-compiled entry points and kernels of the lowered module.
struct Emulation {
  std::unique_ptr<ExecutionEngine> engine;
  EntryPointFn prefill = nullptr, decode = nullptr;
  std::vector<int64_t> cacheShape;
  int64_t cacheElementBytes = 0;
  int64_t vocab = 0;
  DType compute = DType::F32;
  std::map<std::string, int64_t> modelShape; ///< The llama.model attribute.
  /// The int4 weights' group sizes (llama.int4_weights).
  std::map<std::string, int64_t> int4GroupSizes;
};

/// The dtype the kernels read weights in: the element type of the flat
/// weight buffers the host code builds (the KV cache is f16 for bf16).
DType computeDTypeOf(func::FuncOp prefill) {
  DType compute = DType::F32;
  prefill.walk([&](UnrealizedConversionCastOp cast) {
    auto type = dyn_cast<MemRefType>(cast.getResult(0).getType());
    if (!type || type.getRank() != 1)
      return;
    if (type.getElementType().isBF16())
      compute = DType::BF16;
    else if (type.getElementType().isF16() && compute == DType::F32)
      compute = DType::F16;
  });
  return compute;
}

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
  emulation.compute = computeDTypeOf(prefill);
  if (auto model = (*module)->getAttrOfType<DictionaryAttr>("llama.model"))
    for (NamedAttribute entry : model)
      if (auto value = dyn_cast<IntegerAttr>(entry.getValue()))
        emulation.modelShape[entry.getName().str()] = value.getInt();
  if (auto int4 = (*module)->getAttrOfType<DictionaryAttr>(llama::kInt4WeightsAttr))
    for (NamedAttribute entry : int4)
      emulation.int4GroupSizes[entry.getName().str()] =
          cast<IntegerAttr>(entry.getValue()).getInt();

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

/// The logits of each row's last position of `logits` ([rows, kept, vocab]).
std::vector<float> lastPositions(const std::vector<float> &logits, int64_t rows,
                                 int64_t vocab) {
  int64_t kept = int64_t(logits.size()) / (rows * vocab);
  std::vector<float> last;
  for (int64_t row = 0; row < rows; ++row) {
    auto begin = logits.begin() + ((row + 1) * kept - 1) * vocab;
    last.insert(last.end(), begin, begin + vocab);
  }
  return last;
}

/// Each row's greedy next token from `last` ([rows, vocab]).
std::vector<int32_t> greedy(const std::vector<float> &last, int64_t vocab) {
  std::vector<int32_t> next;
  for (auto row = last.begin(); row != last.end(); row += vocab)
    next.push_back(int32_t(std::max_element(row, row + vocab) - row));
  return next;
}

/// One call of `entry` on `batch`, its first tokens at cache slot
/// `startSlot`: the logits of each row's last `kept` positions.
std::vector<float> step(EntryPointFn entry, void *const *weights, KVCacheRef *cache,
                        TokenBatch batch, int64_t startSlot, int64_t kept, int64_t vocab) {
  int64_t rows = batch.batchSize, length = batch.length;
  std::vector<float> logits(rows * kept * vocab);
  auto tokenRef = makeDenseMemRef<int32_t, 2>(batch.tokens.data(), {rows, length});
  auto positionRef = makeDenseMemRef<int32_t, 2>(batch.positions.data(), {rows, length});
  auto firstRef = makeDenseMemRef<int32_t, 1>(batch.firstSlot.data(), {rows});
  auto outRef = makeDenseMemRef<float, 3>(logits.data(), {rows, kept, vocab});
  entry(weights, cache, &tokenRef, &positionRef, &firstRef, startSlot, &outRef);
  return logits;
}

} // namespace

int main(int argc, char **argv) {
  Options options = parseOptions(argc, argv);
  std::string error;
  std::optional<std::vector<std::vector<int32_t>>> prompts =
      parsePromptIds(options.promptIds, error);
  if (!prompts)
    fail("--prompt-ids: " + error);
  llvm::InitializeNativeTarget();
  llvm::InitializeNativeTargetAsmPrinter();
  Emulation emulation = compile(options.lowered);

  std::vector<std::vector<uint8_t>> weights =
      loadWeights(options.weights, emulation.compute, emulation.modelShape,
                  emulation.int4GroupSizes);
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

  if (std::string problem = checkPrompts(*prompts, emulation.vocab); !problem.empty())
    fail("--prompt-ids: " + problem);
  if (int64_t(prompts->size()) > shape[2])
    fail("the batch has " + std::to_string(prompts->size()) +
         " rows, the lowered model at most " + std::to_string(shape[2]));
  TokenBatch batch = padLeft(*prompts, /*padId=*/0);
  if (batch.length + options.newTokens > shape[4])
    fail("the prompt and the new tokens need more than the cache's " +
         std::to_string(shape[4]) + " slots");
  const int64_t promptLength = batch.length, vocab = emulation.vocab;
  std::vector<float> logits =
      step(emulation.prefill, weightTable.data(), &cacheRef, batch, 0,
           options.dumpLogits.empty() ? 1 : promptLength, vocab);
  writeFloats(options.dumpLogits, logits);
  std::vector<float> last = lastPositions(logits, batch.batchSize, vocab);
  writeFloats(options.dumpLastLogits, last);
  std::vector<std::vector<int32_t>> generated(batch.batchSize);
  std::vector<float> decodeLogits;
  std::vector<int32_t> next = greedy(last, vocab);
  for (int64_t i = 0; i < options.newTokens; ++i) {
    for (int64_t row = 0; row < batch.batchSize; ++row)
      generated[row].push_back(next[row]);
    if (i + 1 == options.newTokens)
      break;
    batch = nextDecodeStep(batch, next);
    std::vector<float> stepLogits = step(emulation.decode, weightTable.data(), &cacheRef,
                                         batch, promptLength + i, 1, vocab);
    decodeLogits.insert(decodeLogits.end(), stepLogits.begin(), stepLogits.end());
    next = greedy(stepLogits, vocab);
  }
  for (const std::vector<int32_t> &row : generated) {
    for (size_t i = 0; i < row.size(); ++i)
      std::printf(i ? ",%d" : "%d", row[i]);
    std::printf("\n");
  }
  writeFloats(options.dumpDecodeLogits, decodeLogits);
  return 0;
}
