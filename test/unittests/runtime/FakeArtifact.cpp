//===- FakeArtifact.cpp - Artifacts around the fake model for tests -------===//

#include "test/unittests/runtime/FakeArtifact.h"

#include "frontends/Synthesize.h"
#include "runtime/ModelABI.h"

#include <dlfcn.h>
#include <filesystem>
#include <fstream>
#include <gtest/gtest.h>
#include <stdlib.h>

namespace llamac::test {

namespace fs = std::filesystem;
using nlohmann::json;

TemporaryDirectory::TemporaryDirectory() {
  std::string pattern = (fs::temp_directory_path() / "llamac-runtime-XXXXXX");
  if (!mkdtemp(pattern.data()))
    ADD_FAILURE() << "mkdtemp failed";
  root = pattern;
}

TemporaryDirectory::~TemporaryDirectory() {
  std::error_code ignored;
  fs::remove_all(root, ignored);
}

std::string TemporaryDirectory::operator/(const std::string &name) const {
  return (fs::path(root) / name).string();
}

LlamaConfig tinyCausalConfig() {
  LlamaConfig config;
  config.vocabSize = 64;
  config.hiddenSize = 16;
  config.intermediateSize = 32;
  config.numLayers = 2;
  config.numHeads = 2;
  config.numKeyValueHeads = 1;
  config.headDim = 8;
  config.maxPositionEmbeddings = 256;
  return config;
}

LlamaConfig tinyClassifierConfig() {
  LlamaConfig config = tinyCausalConfig();
  config.architecture = Architecture::SequenceClassification;
  config.numLabels = 3;
  config.padTokenId = 0;
  return config;
}

static json weightTableJson(const ModelSpec &spec) {
  json table = json::array();
  for (const WeightInfo &weight : spec.weights)
    table.push_back({{"name", weight.name},
                     {"dtype", dtypeName(weight.dtype)},
                     {"shape", weight.shape}});
  return table;
}

static json fakeManifest(const ModelSpec &spec, int64_t maxBatch,
                         int64_t maxSeq) {
  const LlamaConfig &config = spec.config;
  bool causal = config.architecture == Architecture::CausalLM;
  return {
      {"format", "llamac-artifact"},
      {"format_version", kArtifactFormatVersion},
      {"producer", "RuntimeTests"},
      {"target", "cpu"},
      {"chip", "x86-64"},
      {"compute_dtype", "f32"},
      {"library", FAKE_MODEL_PATH},
      {"entry_points",
       {{"prefill", kPrefillSymbol}, {"decode", kDecodeSymbol}}},
      {"max_batch", maxBatch},
      {"max_seq", maxSeq},
      {"kv_cache",
       {{"dtype", "f32"},
        {"shape",
         {config.numLayers, 2, maxBatch, config.numKeyValueHeads, maxSeq,
          config.headDim}}}},
      {"output",
       {{"kind", causal ? "logits" : "scores"},
        {"size", causal ? config.vocabSize : config.numLabels}}},
      {"config", json::parse(configToJson(config))},
      {"weights",
       {{"source", spec.sourcePath},
        {"format", "huggingface"},
        {"table", weightTableJson(spec)}}},
      {"tokenizer", nullptr},
      {"generation_config", nullptr},
  };
}

FakeArtifact makeFakeArtifact(const TemporaryDirectory &root,
                              const LlamaConfig &config, int64_t maxBatch,
                              int64_t maxSeq) {
  FakeArtifact artifact;
  artifact.checkpointDir = root / "checkpoint";
  artifact.artifactDir = root / "artifact.lmc";
  std::string error;
  EXPECT_TRUE(synthesizeCheckpoint(config, config.dtype, /*seed=*/7,
                                   artifact.checkpointDir, error))
      << error;
  std::optional<ModelSpec> spec = loadModel(artifact.checkpointDir, error);
  EXPECT_TRUE(spec) << error;
  if (!spec)
    return artifact;
  artifact.manifest = fakeManifest(*spec, maxBatch, maxSeq);
  fs::create_directories(artifact.artifactDir);
  writeManifest(artifact.artifactDir, artifact.manifest);
  return artifact;
}

FakeArtifact makeFakeArtifactWithTokenizer(const TemporaryDirectory &root,
                                           const LlamaConfig &config,
                                           int64_t maxBatch, int64_t maxSeq) {
  FakeArtifact artifact = makeFakeArtifact(root, config, maxBatch, maxSeq);
  std::error_code error;
  fs::copy_file(fs::path(LLAMAC_SHARED_DIR) /
                    "models/stories260K/llama2c/tok512.model",
                fs::path(artifact.artifactDir) / "tokenizer.model", error);
  EXPECT_FALSE(error) << error.message();
  artifact.manifest["tokenizer"] = "tokenizer.model";
  writeManifest(artifact.artifactDir, artifact.manifest);
  return artifact;
}

void writeManifest(const std::string &artifactDir, const json &manifest) {
  std::ofstream(fs::path(artifactDir) / "manifest.json") << manifest.dump(2);
}

/// The fake model's function `name`, from the copy the runtime loaded.
template <typename Function> Function *fakeModelFunction(const char *name) {
  // The runtime loaded the same file, so this returns its handle.
  void *handle = dlopen(FAKE_MODEL_PATH, RTLD_NOW | RTLD_LOCAL);
  auto *function =
      reinterpret_cast<Function *>(handle ? dlsym(handle, name) : nullptr);
  EXPECT_TRUE(function) << "cannot load " << name << " from "
                        << FAKE_MODEL_PATH;
  return function;
}

int64_t fakeModelCallCount() {
  auto *count = fakeModelFunction<int64_t()>("fakeModelCallCount");
  return count ? count() : -1;
}

void fakeModelHold(bool hold) {
  if (auto *setHold = fakeModelFunction<void(bool)>("fakeModelHold"))
    setHold(hold);
}

} // namespace llamac::test
