//===- HuggingFace.cpp - Hugging Face checkpoint directories --------------===//
//
// config.json plus model.safetensors, or shards listed by
// model.safetensors.index.json (transformers prefers the single file when
// both exist, and so do we). The tensors must be exactly those the config
// implies, with the implied shapes; a 2-D weight may be stored as int4
// (ModelSpec.h's int4PartNames), as `llamac-run quantize` writes it.
//
//===----------------------------------------------------------------------===//

#include "frontends/CompanionFiles.h"
#include "frontends/Errors.h"
#include "frontends/Json.h"
#include "frontends/Safetensors.h"

#include <algorithm>
#include <array>
#include <filesystem>
#include <map>
#include <set>

namespace llamac {

namespace fs = std::filesystem;
using nlohmann::json;

namespace {

constexpr uint64_t kMaxIndexBytes = 16 << 20;

struct TensorLocation {
  const SafetensorsFile *file;
  const SafetensorsTensor *tensor;
};

/// Every tensor of the checkpoint, from one file or several shards.
struct CheckpointTensors {
  /// The file that lists the tensors (model.safetensors or the index), which
  /// problems with the set of tensors are reported against.
  std::string listingPath;
  std::vector<std::unique_ptr<SafetensorsFile>> files;
  std::map<std::string, TensorLocation> byName;

  void addFile(const std::string &path) {
    std::string error;
    std::optional<SafetensorsFile> file = readSafetensors(path, error);
    if (!file)
      failReported(error);
    files.push_back(std::make_unique<SafetensorsFile>(std::move(*file)));
    const SafetensorsFile *added = files.back().get();
    for (const SafetensorsTensor &tensor : added->tensors) {
      auto [it, inserted] = byName.insert({tensor.name, {added, &tensor}});
      if (!inserted)
        fail("tensor '" + printable(tensor.name) + "' is in both " +
             it->second.file->mapping->path() + " and " + path);
    }
  }
};

/// A shard named by the index must be a file in the checkpoint directory,
/// not a path that leads elsewhere.
std::string shardFileName(const std::string &tensor, const json &value) {
  if (!value.is_string())
    fail("weight_map entry for '" + printable(tensor) +
         "' is not a file name");
  std::string name = value.get<std::string>();
  if (name.empty() || name == "." || name == ".." ||
      name.find('/') != std::string::npos)
    fail("weight_map puts '" + printable(tensor) + "' in '" + printable(name) +
         "', which is not a file name in the checkpoint directory");
  return name;
}

void readShards(const fs::path &dir, CheckpointTensors &tensors) {
  json index = readJsonObjectFile(tensors.listingPath, kMaxIndexBytes);
  auto weightMap = index.find("weight_map");
  if (weightMap == index.end() || !weightMap->is_object())
    fail("no weight_map object");
  std::map<std::string, std::string> shardOf;
  std::set<std::string> shardNames;
  for (const auto &[tensor, value] : weightMap->items()) {
    shardOf[tensor] = shardFileName(tensor, value);
    shardNames.insert(shardOf[tensor]);
  }
  for (const std::string &name : shardNames)
    tensors.addFile((dir / name).string());
  for (const auto &[tensor, shard] : shardOf) {
    auto it = tensors.byName.find(tensor);
    if (it == tensors.byName.end() ||
        fs::path(it->second.file->mapping->path()).filename() != shard)
      fail("weight_map puts '" + printable(tensor) + "' in " + printable(shard) +
           ", which does not hold it");
  }
}

CheckpointTensors readCheckpointTensors(const fs::path &dir) {
  CheckpointTensors tensors;
  if (std::string single = regularFileIn(dir, "model.safetensors");
      !single.empty()) {
    tensors.listingPath = single;
    tensors.addFile(single);
    return tensors;
  }
  tensors.listingPath = regularFileIn(dir, "model.safetensors.index.json");
  if (tensors.listingPath.empty())
    fail(regularFileIn(dir, "pytorch_model.bin").empty()
             ? "no model.safetensors or model.safetensors.index.json"
             : "pytorch_model.bin checkpoints are not supported (convert to "
               "safetensors)");
  attributeTo(tensors.listingPath, [&] { readShards(dir, tensors); });
  return tensors;
}

/// Tensors a checkpoint may carry that the computation does not use:
/// old checkpoints saved the rotary inverse frequencies as buffers, and a
/// tied lm_head is replaced by the embedding when transformers ties them.
bool isIgnorable(const std::string &name, const LlamaConfig &config) {
  const std::string invFreq = "rotary_emb.inv_freq";
  if (name.size() >= invFreq.size() &&
      name.compare(name.size() - invFreq.size(), invFreq.size(), invFreq) == 0)
    return true;
  return config.tieWordEmbeddings &&
         config.architecture == Architecture::CausalLM &&
         name == "lm_head.weight";
}

void rejectUnexpectedTensors(const CheckpointTensors &tensors,
                             const std::set<std::string> &used,
                             const LlamaConfig &config) {
  std::vector<std::string> unexpected;
  for (const auto &[name, location] : tensors.byName)
    if (!used.count(name) && !isIgnorable(name, config))
      unexpected.push_back(name);
  if (unexpected.empty())
    return;
  constexpr size_t kNamesShown = 5;
  std::string names;
  for (size_t i = 0; i < std::min(unexpected.size(), kNamesShown); ++i)
    names += (i ? ", '" : "'") + printable(unexpected[i]) + "'";
  if (unexpected.size() > kNamesShown)
    names += " and " + std::to_string(unexpected.size() - kNamesShown) +
             " more";
  fail("unexpected tensor(s) that config.json does not imply: " + names);
}

std::string typeAndShape(const std::optional<DType> &dtype,
                         const std::vector<int64_t> &shape) {
  return std::string(storedTypeName(dtype)) + " " + formatShape(shape);
}

void checkInt4Part(const SafetensorsTensor &part, const std::optional<DType> &dtype,
                   const std::vector<int64_t> &shape, const WeightRequirement &weight) {
  if (part.dtype != dtype || part.shape != shape)
    fail("tensor '" + part.name + "' is " + typeAndShape(part.dtype, part.shape) +
         ", the int4 layout of '" + weight.name + "' " + formatShape(weight.shape) +
         " needs " + typeAndShape(dtype, shape));
}

/// The int4 layout is the three parts back to back; `llamac-run quantize`
/// stores them so, and then the weight is read in place.
bool storedBackToBack(const std::array<TensorLocation, 3> &parts) {
  for (size_t i = 1; i < parts.size(); ++i)
    if (parts[i].file != parts[0].file ||
        parts[i].tensor->fileOffset !=
            parts[i - 1].tensor->fileOffset + parts[i - 1].tensor->byteSize)
      return false;
  return true;
}

/// `requirement`'s weight from the int4 parts the checkpoint stores it as
/// (int4PartNames), or nullopt when it stores no NAME.int4_codes. Parts
/// stored elsewhere than back to back are copied into a buffer of `spec`.
std::optional<WeightInfo> readInt4Weight(const CheckpointTensors &tensors,
                                         const WeightRequirement &requirement,
                                         ModelSpec &spec) {
  const std::array<std::string, 3> names = int4PartNames(requirement.name);
  if (!tensors.byName.count(names[0]))
    return std::nullopt;
  if (tensors.byName.count(requirement.name))
    fail("weight '" + requirement.name + "' is stored both as a tensor and as int4");
  std::array<TensorLocation, 3> parts{};
  for (size_t i = 0; i < parts.size(); ++i) {
    auto it = tensors.byName.find(names[i]);
    if (it == tensors.byName.end())
      fail("int4 weight '" + requirement.name + "' has no '" + names[i] +
           "' (it is stored as .int4_codes, .int4_scales and .int4_mins)");
    parts[i] = it->second;
  }
  if (requirement.shape.size() != 2 || requirement.shape[1] % 2 != 0)
    fail("weight '" + requirement.name + "' " + formatShape(requirement.shape) +
         " is stored as int4, which only 2-D weights with an even number of "
         "columns can be");
  const int64_t rows = requirement.shape[0], columns = requirement.shape[1];
  const SafetensorsTensor &scales = *parts[1].tensor;
  const int64_t groups = scales.shape.size() == 2 ? scales.shape[1] : 0;
  if (groups <= 0 || columns % groups != 0 || (columns / groups) % 2 != 0)
    fail("tensor '" + scales.name + "' has shape " + formatShape(scales.shape) +
         ": int4 weight '" + requirement.name + "' " + formatShape(requirement.shape) +
         " needs [rows, columns / G] for an even group size G dividing its columns");
  checkInt4Part(*parts[0].tensor, std::nullopt, {rows, columns / 2}, requirement);
  checkInt4Part(scales, DType::F16, {rows, groups}, requirement);
  checkInt4Part(*parts[2].tensor, DType::F16, {rows, groups}, requirement);

  WeightInfo weight{requirement.name, spec.config.dtype, requirement.shape};
  weight.int4GroupSize = columns / groups;
  for (const TensorLocation &part : parts)
    weight.byteSize += part.tensor->byteSize;
  if (storedBackToBack(parts)) {
    weight.data = parts[0].file->data(*parts[0].tensor);
    weight.file = parts[0].file->mapping->path();
    weight.fileOffset = parts[0].tensor->fileOffset;
    return weight;
  }
  auto layout = std::make_shared<std::vector<uint8_t>>(weight.byteSize);
  uint8_t *next = layout->data();
  for (const TensorLocation &part : parts)
    next = std::copy_n(part.file->data(*part.tensor), part.tensor->byteSize, next);
  spec.ownedBuffers.push_back(layout);
  weight.data = layout->data();
  return weight;
}

WeightInfo readFloatWeight(const CheckpointTensors &tensors,
                           const WeightRequirement &requirement) {
  auto it = tensors.byName.find(requirement.name);
  if (it == tensors.byName.end())
    fail("missing tensor '" + requirement.name + "' (config.json implies " +
         formatShape(requirement.shape) + ")");
  const auto &[file, tensor] = it->second;
  if (tensor->shape != requirement.shape)
    fail("tensor '" + requirement.name + "' has shape " +
         formatShape(tensor->shape) + ", config.json implies " +
         formatShape(requirement.shape));
  if (!tensor->dtype)
    fail("tensor '" + requirement.name +
         "' is u8; a weight is F32, F16 or BF16, or int4 stored as "
         ".int4_codes, .int4_scales and .int4_mins");
  return {requirement.name, *tensor->dtype, tensor->shape, file->data(*tensor),
          tensor->byteSize, file->mapping->path(), tensor->fileOffset};
}

void rejectMixedGroupSizes(const std::vector<WeightInfo> &weights) {
  const WeightInfo *first = nullptr;
  for (const WeightInfo &weight : weights) {
    if (!weight.int4GroupSize)
      continue;
    if (first && weight.int4GroupSize != first->int4GroupSize)
      fail("int4 weights '" + first->name + "' (groups of " +
           std::to_string(first->int4GroupSize) + ") and '" + weight.name +
           "' (groups of " + std::to_string(weight.int4GroupSize) +
           ") differ; a checkpoint has one group size");
    first = first ? first : &weight;
  }
}

/// Fills `spec.weights` with the weights `spec.config` implies, each read as
/// stored: in a float dtype, or as int4.
void buildWeightTable(const CheckpointTensors &tensors, ModelSpec &spec) {
  std::set<std::string> used;
  for (const WeightRequirement &requirement : canonicalWeightNames(spec.config)) {
    std::optional<WeightInfo> weight = readInt4Weight(tensors, requirement, spec);
    if (weight) {
      for (const std::string &part : int4PartNames(requirement.name))
        used.insert(part);
    } else {
      weight = readFloatWeight(tensors, requirement);
      used.insert(requirement.name);
    }
    spec.weights.push_back(std::move(*weight));
  }
  rejectUnexpectedTensors(tensors, used, spec.config);
  rejectMixedGroupSizes(spec.weights);
}

ModelSpec loadDirectory(const std::string &dir) {
  std::error_code ignored;
  if (!fs::is_directory(dir, ignored))
    fail(fs::exists(dir, ignored) ? "not a directory"
                                  : "no such file or directory");
  const std::string configPath = regularFileIn(dir, "config.json");
  if (configPath.empty())
    fail("no config.json");
  std::string error;
  std::optional<LlamaConfig> config = loadConfigFile(configPath, error);
  if (!config)
    failReported(error);

  CheckpointTensors tensors = readCheckpointTensors(dir);
  ModelSpec spec;
  spec.config = *config;
  spec.format = SourceFormat::HuggingFace;
  spec.sourcePath = dir;
  attributeTo(tensors.listingPath, [&] { buildWeightTable(tensors, spec); });
  for (const auto &file : tensors.files)
    spec.files.push_back(file->mapping);
  recordCompanionFiles(spec, dir);
  return spec;
}

} // namespace

std::optional<ModelSpec> loadHuggingFace(const std::string &dir,
                                         std::string &error) {
  return reportFailures(dir, error, [&]() -> std::optional<ModelSpec> {
    return loadDirectory(dir);
  });
}

} // namespace llamac
