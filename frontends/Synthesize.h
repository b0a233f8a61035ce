//===- Synthesize.h - Checkpoints with random weights -----------*- C++ -*-===//
//
// For benchmarks and tests at sizes no fixture has (a 7B-shaped model
// without downloading one): a Hugging Face checkpoint directory whose
// weights are deterministic pseudo-random numbers of realistic scale.
//
//===----------------------------------------------------------------------===//
#ifndef LLAMAC_FRONTENDS_SYNTHESIZE_H
#define LLAMAC_FRONTENDS_SYNTHESIZE_H

#include "frontends/ModelSpec.h"

namespace llamac {

/// Hugging Face's default shard size for save_pretrained is 5 GB; 4 GiB
/// keeps every shard's offsets comfortably small.
inline constexpr uint64_t kDefaultMaxShardBytes = uint64_t(4) << 30;

/// Writes `outDir` (created if needed): config.json (transformers 5.x
/// dialect, `config` with dtype `dtype`) and model.safetensors, or, when the
/// weights exceed `maxShardBytes`, model-0000i-of-0000n.safetensors shards
/// and model.safetensors.index.json. Linear and embedding weights are about
/// N(0, 0.02), norm weights 1 + N(0, 0.02); the same seed gives the same
/// bytes. Tensors are generated and written in chunks, so memory use does not
/// grow with the model.
bool synthesizeCheckpoint(const LlamaConfig &config, DType dtype,
                          uint64_t seed, const std::string &outDir,
                          std::string &error,
                          uint64_t maxShardBytes = kDefaultMaxShardBytes);

/// Writes the values of one weight of `shape` into `out`
/// (elementCount(shape) * dtypeSize(dtype) bytes): those synthesizeCheckpoint
/// writes for the weight it draws from stream `streamIndex` of `seed`
/// (its index in canonicalWeightNames' order).
void fillRandomWeight(const std::vector<int64_t> &shape, DType dtype,
                      uint64_t seed, uint64_t streamIndex, uint8_t *out);

} // namespace llamac

#endif // LLAMAC_FRONTENDS_SYNTHESIZE_H
