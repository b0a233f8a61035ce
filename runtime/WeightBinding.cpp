//===- WeightBinding.cpp - Checkpoint tensors for the weight table --------===//

#include "runtime/WeightBinding.h"

#include <set>

namespace llamac {

static std::string shapeText(const std::vector<int64_t> &shape) {
  std::string text = "[";
  for (size_t i = 0; i < shape.size(); ++i)
    text += (i ? ", " : "") + std::to_string(shape[i]);
  return text + "]";
}

/// "" when `weight` is what `entry` promises, else the difference.
static std::string describeMismatch(const WeightTableEntry &entry,
                                    const WeightInfo &weight) {
  if (weight.dtype != entry.dtype)
    return std::string("dtype is ") + dtypeName(weight.dtype) +
           ", the artifact expects " + dtypeName(entry.dtype);
  if (weight.shape != entry.shape)
    return "shape is " + shapeText(weight.shape) + ", the artifact expects " +
           shapeText(entry.shape);
  if (!weight.data)
    return "has no data (the checkpoint is a config only)";
  return "";
}

std::optional<std::vector<const void *>>
bindWeights(const std::vector<WeightTableEntry> &table, const ModelSpec &spec,
            std::string &error) {
  std::vector<const void *> pointers;
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
    pointers.push_back(weight->data);
  }
  for (const WeightInfo &weight : spec.weights) {
    if (!tableNames.count(weight.name)) {
      error = spec.sourcePath + ": weight '" + weight.name +
              "' is not in the artifact's table";
      return std::nullopt;
    }
  }
  return pointers;
}

} // namespace llamac
