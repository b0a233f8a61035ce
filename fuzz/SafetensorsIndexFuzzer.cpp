//===- SafetensorsIndexFuzzer.cpp - Sharded checkpoints' index.json -------===//
//
// Input: a model.safetensors.index.json. It lands in a checkpoint directory
// that holds a tiny config.json and its tensors in two valid shards (made
// at start-up), and the whole directory is loaded with loadHuggingFace: the
// index's weight_map decides which files are opened and must agree with
// them. fuzz/seeds/safetensors_index/valid.json is the index that loads.
// An accepted directory gives the canonical table with every weight inside
// its shard's mapping; a refused one gets one line naming a path in it.
//
//===----------------------------------------------------------------------===//

#include "frontends/ModelSpec.h"
#include "frontends/SafetensorsWriter.h"
#include "fuzz/FuzzSupport.h"

#include <cstdlib>
#include <map>

using namespace llamac;
using namespace llamac::fuzz;

namespace {

constexpr const char *kShards[] = {"model-00001-of-00002.safetensors",
                                   "model-00002-of-00002.safetensors"};

LlamaConfig tinyConfig() {
  LlamaConfig config;
  config.vocabSize = 16;
  config.hiddenSize = 8;
  config.intermediateSize = 16;
  config.numLayers = 2;
  config.numHeads = 2;
  config.numKeyValueHeads = 1;
  config.headDim = 4;
  config.maxPositionEmbeddings = 32;
  return config;
}

/// Layer 1 goes to the second shard, everything else to the first.
const ScratchDir &checkpoint() {
  static ScratchDir *dir = [] {
    auto *dir = new ScratchDir();
    const LlamaConfig config = tinyConfig();
    dir->write("config.json", configToJson(config));
    std::vector<SafetensorsTensorData> shards[2];
    for (const WeightRequirement &weight : canonicalWeightNames(config)) {
      bool second = weight.name.find("model.layers.1.") == 0;
      shards[second].push_back(
          {weight.name, "F32", weight.shape,
           std::vector<uint8_t>(elementCount(weight.shape) * 4, 0x3c)});
    }
    for (int i = 0; i < 2; ++i) {
      std::string error;
      if (!writeSafetensors(dir->file(kShards[i]), shards[i], error)) {
        std::fprintf(stderr, "fuzz setup: %s\n", error.c_str());
        std::exit(2);
      }
    }
    return dir;
  }();
  return *dir;
}

void checkAccepted(const ModelSpec &spec) {
  std::vector<WeightRequirement> required = canonicalWeightNames(spec.config);
  FUZZ_CHECK(required.size() == spec.weights.size(),
             "weight table is not the canonical one");
  std::map<std::string, const MappedFile *> files;
  for (const auto &file : spec.files)
    files[file->path()] = file.get();
  for (size_t i = 0; i < required.size(); ++i) {
    const WeightInfo &weight = spec.weights[i];
    FUZZ_CHECK(weight.name == required[i].name && weight.shape == required[i].shape,
               "weight " + weight.name + " is not the canonical one");
    auto it = files.find(weight.file);
    FUZZ_CHECK(it != files.end(), weight.name + " points into an unmapped file");
    const MappedFile &file = *it->second;
    FUZZ_CHECK(weight.fileOffset + weight.byteSize <= file.size() &&
                   static_cast<const uint8_t *>(weight.data) ==
                       file.data() + weight.fileOffset,
               weight.name + " is not inside its file");
  }
}

} // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  const ScratchDir &dir = checkpoint();
  dir.write("model.safetensors.index.json", data, size);
  std::string error;
  std::optional<ModelSpec> spec = loadHuggingFace(dir.path(), error);
  if (spec)
    checkAccepted(*spec);
  else
    checkErrorMessage(error, dir.path());
  return 0;
}
