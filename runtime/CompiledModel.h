//===- CompiledModel.h - A loaded artifact, ready to run --------*- C++ -*-===//
//
// Everything one prefill/decode call needs: the manifest, model.so's entry
// points, the checkpoint's weights bound to the weight table (the int4 ones
// quantized, or as the checkpoint stores them), and the KV cache. Callers
// validate batch and sequence limits before calling run().
//
//===----------------------------------------------------------------------===//
#ifndef LLAMAC_RUNTIME_COMPILEDMODEL_H
#define LLAMAC_RUNTIME_COMPILEDMODEL_H

#include "frontends/ModelSpec.h"
#include "runtime/KVCache.h"
#include "runtime/Manifest.h"
#include "runtime/ModelLibrary.h"
#include "runtime/TokenBatch.h"
#include "runtime/WeightBinding.h"
#include "runtime/cuda/CudaExecutor.h"

#include <memory>
#include <optional>
#include <string>
#include <vector>

namespace llamac {

enum class EntryPoint { Prefill, Decode };

class CompiledModel {
public:
  /// Loads the artifact in `artifactDir` with the weights of `weightsPath`,
  /// or of the manifest's weights.source when `weightsPath` is empty. On
  /// failure returns null and sets `error` to one line.
  static std::unique_ptr<CompiledModel> load(const std::string &artifactDir,
                                             const std::string &weightsPath,
                                             std::string &error);
  /// Loads the artifact in `artifactDir` with deterministic random weights
  /// (bindRandomWeights) instead of a checkpoint: for timing it.
  static std::unique_ptr<CompiledModel>
  loadWithRandomWeights(const std::string &artifactDir, uint64_t seed,
                        std::string &error);

  const Manifest &manifest() const { return manifestData; }
  const ModelSpec &checkpoint() const { return spec; }
  /// The weight table the compiled code reads, in table order.
  const std::vector<const void *> &weightPointers() const {
    return weights.pointers;
  }
  const ModelLibrary &library() const { return *libraryHandle; }

  /// Runs one step: the rows of `batch` write cache slots
  /// [startSlot, startSlot + batch.length) and `output` receives
  /// [batch.batchSize, kept, manifest().outputSize] floats: the logits of
  /// each row's last `kept` positions (1 <= kept <= batch.length; all of
  /// them when unset), the only ones the compiled code computes. Generation
  /// reads each row's last (the logits of all 512 positions of a Llama-2-7B
  /// prefill are 65 MB and 2 % of its work). A CUDA error ends the process
  /// with one line (the device state is unknown).
  void run(EntryPoint entry, const TokenBatch &batch, int64_t startSlot,
           float *output, std::optional<int64_t> kept = std::nullopt);

  /// CUDA artifacts: replay decode steps from a CUDA graph (the default) or
  /// launch their kernels one by one. No effect on CPU artifacts.
  void useCudaGraphs(bool enabled) {
    if (device)
      device->useGraphs(enabled);
  }

  /// CUDA artifacts: launch kernels with programmatic stream serialization
  /// where the artifact and driver allow it (the default), or plainly.
  /// Returns whether dependent launch is on; false for CPU artifacts.
  bool useDependentLaunch(bool enabled) {
    return device && device->useDependentLaunch(enabled);
  }

  /// CUDA artifacts: the device they run on, for what the benchmark measures
  /// there (bandwidth, kernels, GPU time). Null for CPU artifacts.
  cuda::CudaExecutor *cudaExecutor() { return device.get(); }

private:
  /// The artifact's device (CUDA) or host cache (CPU) and library, around
  /// `weights`, which point into `spec` or into their own buffers.
  static std::unique_ptr<CompiledModel> assemble(Manifest manifest, ModelSpec spec,
                                                 BoundWeights weights,
                                                 std::string &error);

  CompiledModel(Manifest manifest, ModelSpec spec, BoundWeights weights,
                std::unique_ptr<ModelLibrary> library,
                std::unique_ptr<KVCache> cache,
                std::unique_ptr<cuda::CudaExecutor> device)
      : manifestData(std::move(manifest)), spec(std::move(spec)),
        weights(std::move(weights)), libraryHandle(std::move(library)),
        cache(std::move(cache)), device(std::move(device)) {}

  Manifest manifestData;
  ModelSpec spec;
  /// Points into `spec`'s mappings and holds the int4 (or random) weights.
  BoundWeights weights;
  std::unique_ptr<ModelLibrary> libraryHandle;
  /// CPU: the host cache; CUDA: null, the device holds the cache.
  std::unique_ptr<KVCache> cache;
  /// CUDA artifacts only.
  std::unique_ptr<cuda::CudaExecutor> device;
};

} // namespace llamac

#endif // LLAMAC_RUNTIME_COMPILEDMODEL_H
