//===- HuggingFace.cpp - Hugging Face checkpoint directories --------------===//
//
// config.json plus model.safetensors, or shards listed by
// model.safetensors.index.json (transformers prefers the single file when
// both exist, and so do we). The tensors must be exactly those the config
// implies, with the implied shapes.
//
//===----------------------------------------------------------------------===//

#include "frontends/CompanionFiles.h"
#include "frontends/Errors.h"
#include "frontends/Json.h"
#include "frontends/Safetensors.h"

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
                             const std::vector<WeightRequirement> &required,
                             const LlamaConfig &config) {
  std::set<std::string> requiredNames;
  for (const WeightRequirement &requirement : required)
    requiredNames.insert(requirement.name);
  std::vector<std::string> unexpected;
  for (const auto &[name, location] : tensors.byName)
    if (!requiredNames.count(name) && !isIgnorable(name, config))
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

std::vector<WeightInfo> buildWeightTable(const CheckpointTensors &tensors,
                                         const LlamaConfig &config) {
  const std::vector<WeightRequirement> required = canonicalWeightNames(config);
  std::vector<WeightInfo> table;
  for (const WeightRequirement &requirement : required) {
    auto it = tensors.byName.find(requirement.name);
    if (it == tensors.byName.end())
      fail("missing tensor '" + requirement.name + "' (config.json implies " +
           formatShape(requirement.shape) + ")");
    const auto &[file, tensor] = it->second;
    if (tensor->shape != requirement.shape)
      fail("tensor '" + requirement.name + "' has shape " +
           formatShape(tensor->shape) + ", config.json implies " +
           formatShape(requirement.shape));
    table.push_back({requirement.name, tensor->dtype, tensor->shape,
                     file->data(*tensor), tensor->byteSize,
                     file->mapping->path(), tensor->fileOffset});
  }
  rejectUnexpectedTensors(tensors, required, config);
  return table;
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
  spec.weights = attributeTo(tensors.listingPath,
                             [&] { return buildWeightTable(tensors, *config); });
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
