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

static json configJson(const LlamaConfig &config) {
  bool causal = config.architecture == Architecture::CausalLM;
  return {
      {"architecture",
       causal ? "LlamaForCausalLM" : "LlamaForSequenceClassification"},
      {"vocab_size", config.vocabSize},
      {"hidden_size", config.hiddenSize},
      {"intermediate_size", config.intermediateSize},
      {"num_hidden_layers", config.numLayers},
      {"num_attention_heads", config.numHeads},
      {"num_key_value_heads", config.numKeyValueHeads},
      {"head_dim", config.headDim},
      {"max_position_embeddings", config.maxPositionEmbeddings},
      {"rms_norm_eps", config.rmsNormEps},
      {"rope_theta", config.ropeTheta},
      {"rope_linear_factor", config.ropeLinearFactor},
      {"tie_word_embeddings", config.tieWordEmbeddings},
      {"num_labels", config.numLabels},
      {"bos_token_id", config.bosTokenId},
      {"eos_token_id", config.eosTokenId},
      {"pad_token_id",
       config.padTokenId ? json(*config.padTokenId) : json(nullptr)},
      {"dtype", dtypeName(config.dtype)},
  };
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
      {"config", configJson(config)},
      {"weights",
       {{"source", spec.sourcePath},
        {"format", "huggingface"},
        {"table", weightTableJson(spec)}}},
      {"tokenizer", nullptr},
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

void writeManifest(const std::string &artifactDir, const json &manifest) {
  std::ofstream(fs::path(artifactDir) / "manifest.json") << manifest.dump(2);
}

int64_t fakeModelCallCount() {
  // The runtime loaded the same file, so this returns its handle.
  void *handle = dlopen(FAKE_MODEL_PATH, RTLD_NOW | RTLD_LOCAL);
  using CountFn = int64_t (*)();
  auto count = reinterpret_cast<CountFn>(
      handle ? dlsym(handle, "fakeModelCallCount") : nullptr);
  EXPECT_TRUE(count) << "cannot load " << FAKE_MODEL_PATH;
  return count ? count() : -1;
}

} // namespace llamac::test
