//===- CompiledModel.cpp - A loaded artifact, ready to run ----------------===//

#include "runtime/CompiledModel.h"

#include "runtime/WeightBinding.h"

#include <cassert>
#include <cstdio>
#include <cstdlib>

namespace llamac {

std::unique_ptr<CompiledModel>
CompiledModel::load(const std::string &artifactDir,
                    const std::string &weightsPath, std::string &error) {
  std::optional<Manifest> manifest = loadManifest(artifactDir, error);
  if (!manifest)
    return nullptr;
  std::optional<ModelSpec> spec = loadWeightSource(*manifest, weightsPath, error);
  if (!spec)
    return nullptr;
  std::optional<BoundWeights> weights =
      bindWeights(manifest->weightTable, *spec, error);
  if (!weights)
    return nullptr;
  return assemble(std::move(*manifest), std::move(*spec), std::move(*weights), error);
}

std::unique_ptr<CompiledModel>
CompiledModel::loadWithRandomWeights(const std::string &artifactDir, uint64_t seed,
                                     std::string &error) {
  std::optional<Manifest> manifest = loadManifest(artifactDir, error);
  if (!manifest)
    return nullptr;
  std::optional<BoundWeights> weights =
      bindRandomWeights(manifest->weightTable, seed, error);
  if (!weights)
    return nullptr;
  ModelSpec spec;
  spec.sourcePath = "random weights (seed " + std::to_string(seed) + ")";
  return assemble(std::move(*manifest), std::move(spec), std::move(*weights), error);
}

std::unique_ptr<CompiledModel> CompiledModel::assemble(Manifest manifest, ModelSpec spec,
                                                       BoundWeights weights,
                                                       std::string &error) {
  // The device comes first: model.so's constructor loads its cubin into the
  // context the executor makes current.
  std::unique_ptr<cuda::CudaExecutor> device;
  std::unique_ptr<KVCache> cache;
  if (manifest.target == Manifest::Target::CUDA) {
    device = cuda::CudaExecutor::create(manifest, weights.pointers, error);
    if (!device)
      return nullptr;
  } else {
    cache = KVCache::allocate(manifest.kvCacheShape, error);
    if (!cache)
      return nullptr;
  }
  std::unique_ptr<ModelLibrary> library =
      ModelLibrary::open(manifest.libraryPath, manifest.prefillSymbol,
                         manifest.decodeSymbol, error);
  if (!library || (device && !device->checkModelLoaded(error)))
    return nullptr;
  return std::unique_ptr<CompiledModel>(new CompiledModel(
      std::move(manifest), std::move(spec), std::move(weights),
      std::move(library), std::move(cache), std::move(device)));
}

void CompiledModel::run(EntryPoint entry, const TokenBatch &batch,
                        int64_t startSlot, float *output,
                        std::optional<int64_t> kept) {
  const int64_t outputPositions = kept.value_or(batch.length);
  assert(batch.batchSize >= 1 && batch.batchSize <= manifestData.maxBatch);
  assert(startSlot >= 0 && startSlot + batch.length <= manifestData.maxSeq);
  assert(entry == EntryPoint::Prefill || batch.length == 1);
  assert(outputPositions >= 1 && outputPositions <= batch.length);
  EntryPointFn function = entry == EntryPoint::Prefill
                              ? libraryHandle->prefill()
                              : libraryHandle->decode();
  if (device) {
    std::string error;
    if (!device->run(function, entry == EntryPoint::Decode, batch, startSlot,
                     output, outputPositions, error)) {
      std::fprintf(stderr, "llamac-run: error: CUDA: %s\n", error.c_str());
      std::exit(1);
    }
    return;
  }
  // The compiled code only reads the inputs and the weights; the ABI takes
  // them non-const because MLIR's C interface does.
  auto *tokens = const_cast<int32_t *>(batch.tokens.data());
  auto *positions = const_cast<int32_t *>(batch.positions.data());
  auto *firstSlot = const_cast<int32_t *>(batch.firstSlot.data());
  auto tokensRef = makeDenseMemRef(tokens, {batch.batchSize, batch.length});
  auto positionsRef =
      makeDenseMemRef(positions, {batch.batchSize, batch.length});
  auto firstSlotRef = makeDenseMemRef(firstSlot, {batch.batchSize});
  auto outputRef = makeDenseMemRef(
      output, {batch.batchSize, outputPositions, manifestData.outputSize});
  KVCacheRef cacheRef = cache->descriptor();
  function(const_cast<void **>(weights.pointers.data()), &cacheRef, &tokensRef,
           &positionsRef, &firstSlotRef, startSlot, &outputRef);
}

} // namespace llamac
