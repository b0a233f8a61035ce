//===- WeightBinding.cpp - Checkpoint tensors for the weight table --------===//

#include "runtime/WeightBinding.h"

#include "frontends/Parallel.h"
#include "frontends/Synthesize.h"
#include "runtime/Int4Weights.h"

#include <mutex>
#include <set>

namespace llamac {

static std::string shapeText(const std::vector<int64_t> &shape) {
  std::string text = "[";
  for (size_t i = 0; i < shape.size(); ++i)
    text += (i ? ", " : "") + std::to_string(shape[i]);
  return text + "]";
}

static std::string int4Text(int64_t groupSize) {
  return "int4 in groups of " + std::to_string(groupSize);
}

/// "" when `weight` is what `entry` promises, else the difference. A weight
/// the checkpoint stores as int4 is bound as it is stored, whatever dtype
/// it was quantized from.
static std::string describeMismatch(const WeightTableEntry &entry,
                                    const WeightInfo &weight) {
  if (weight.int4GroupSize && weight.int4GroupSize != entry.int4GroupSize)
    return "is stored as " + int4Text(weight.int4GroupSize) +
           ", the artifact expects " +
           (entry.int4GroupSize ? int4Text(entry.int4GroupSize)
                                : std::string(dtypeName(entry.dtype))) +
           " (compile an artifact from this checkpoint)";
  if (!weight.int4GroupSize && weight.dtype != entry.dtype)
    return std::string("dtype is ") + dtypeName(weight.dtype) +
           ", the artifact expects " + dtypeName(entry.dtype);
  if (weight.shape != entry.shape)
    return "shape is " + shapeText(weight.shape) + ", the artifact expects " +
           shapeText(entry.shape);
  if (!weight.data)
    return "has no data (the checkpoint is a config only)";
  return "";
}

/// Points the int4 entries of `bound` that the checkpoint stores as floats
/// (still at its tensors, `sources` in table order) at their quantized
/// copies, and lets go of each source tensor's pages once it is quantized: a
/// 7B model then peaks at its 3.7 GB of int4 buffers, not also its 13.5 GB
/// of f16. Only after every check: quantizing a 7B model takes seconds.
static bool quantizeInt4Entries(const std::vector<WeightTableEntry> &table,
                                const ModelSpec &spec,
                                const std::vector<const WeightInfo *> &sources,
                                BoundWeights &bound, std::string &error) {
  for (size_t i = 0; i < table.size(); ++i) {
    const WeightTableEntry &entry = table[i];
    if (!entry.int4GroupSize || sources[i]->int4GroupSize)
      continue;
    std::optional<std::vector<uint8_t>> quantized =
        quantizeInt4(bound.pointers[i], entry.dtype, entry.shape[0],
                     entry.shape[1], entry.int4GroupSize, entry.name, error);
    if (!quantized)
      return false;
    bound.owned.push_back(std::move(*quantized));
    bound.pointers[i] = bound.owned.back().data();
    spec.releaseWeightData(*sources[i]);
  }
  return true;
}

std::optional<ModelSpec> loadWeightSource(const Manifest &manifest,
                                          const std::string &weightsPath,
                                          std::string &error) {
  if (!weightsPath.empty())
    return loadModel(weightsPath, error);
  if (!manifest.weightSource) {
    error = "artifact was compiled from a config; pass --weights";
    return std::nullopt;
  }
  return loadModel(*manifest.weightSource, error);
}

std::optional<BoundWeights>
bindWeights(const std::vector<WeightTableEntry> &table, const ModelSpec &spec,
            std::string &error) {
  BoundWeights bound;
  std::vector<const WeightInfo *> sources;
  std::set<std::string> tableNames;
  for (const WeightTableEntry &entry : table) {
    tableNames.insert(entry.name);
    const WeightInfo *weight = spec.findWeight(entry.name);
    if (!weight) {
      error = spec.sourcePath + ": weight '" + entry.name +
              "' of the artifact's table is missing";
      return std::nullopt;
    }
    std::string mismatch = describeMismatch(entry, *weight);
    if (!mismatch.empty()) {
      error = spec.sourcePath + ": weight '" + entry.name + "' " + mismatch;
      return std::nullopt;
    }
    sources.push_back(weight);
    bound.pointers.push_back(weight->data);
  }
  for (const WeightInfo &weight : spec.weights) {
    if (!tableNames.count(weight.name)) {
      error = spec.sourcePath + ": weight '" + weight.name +
              "' is not in the artifact's table";
      return std::nullopt;
    }
  }
  if (!quantizeInt4Entries(table, spec, sources, bound, error)) {
    error = spec.sourcePath + ": " + error;
    return std::nullopt;
  }
  return bound;
}

std::optional<BoundWeights>
bindRandomWeights(const std::vector<WeightTableEntry> &table, uint64_t seed,
                  std::string &error) {
  BoundWeights bound;
  bound.owned.resize(table.size());
  std::mutex errorMutex;
  forEachInParallel(table.size(), [&](size_t i) {
    const WeightTableEntry &entry = table[i];
    std::vector<uint8_t> values(elementCount(entry.shape) * dtypeSize(entry.dtype));
    fillRandomWeight(entry.shape, entry.dtype, seed, i, values.data());
    if (!entry.int4GroupSize) {
      bound.owned[i] = std::move(values);
      return;
    }
    std::string quantizeError;
    std::optional<std::vector<uint8_t>> quantized =
        quantizeInt4(values.data(), entry.dtype, entry.shape[0], entry.shape[1],
                     entry.int4GroupSize, entry.name, quantizeError);
    if (quantized) {
      bound.owned[i] = std::move(*quantized);
      return;
    }
    std::lock_guard<std::mutex> lock(errorMutex);
    if (error.empty())
      error = "random weights: " + quantizeError;
  });
  if (!error.empty())
    return std::nullopt;
  for (const std::vector<uint8_t> &buffer : bound.owned)
    bound.pointers.push_back(buffer.data());
  return bound;
}

} // namespace llamac
