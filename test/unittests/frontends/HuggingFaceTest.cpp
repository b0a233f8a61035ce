//===- HuggingFaceTest.cpp - Hugging Face checkpoint directories ----------===//

#include "TestSupport.h"

#include "frontends/Safetensors.h"
#include "frontends/Synthesize.h"

#include <algorithm>
#include <filesystem>
#include <fstream>
#include <nlohmann/json.hpp>

using namespace llamac;
using namespace llamac::testing;
namespace fs = std::filesystem;

namespace {

struct FixtureCase {
  const char *dir;
  int64_t layers, hidden, heads, kvHeads, headDim, vocab;
  DType dtype;
  const char *lastWeight;
  bool hasGenerationConfig, hasTokenizer;
};

const FixtureCase kFixtures[] = {
    {"fixtures/hf/tiny-llama2-mha-fp16", 2, 64, 4, 4, 16, 32000, DType::F16,
     "lm_head.weight", true, false},
    {"fixtures/hf/tiny-llama2-gqa", 3, 128, 8, 2, 16, 512, DType::F32,
     "lm_head.weight", true, false},
    {"fixtures/hf/tiny-llama-bf16-theta1e6", 2, 96, 6, 3, 16, 512, DType::BF16,
     "lm_head.weight", true, false},
    {"fixtures/hf/tiny-llama-seqcls", 2, 128, 4, 4, 32, 512, DType::F32,
     "score.weight", false, false},
    {"models/stories260K/hf", 5, 64, 8, 4, 8, 512, DType::F32,
     "model.norm.weight", false, true},
};

/// Every weight is the canonical one, with its shape, pointing into the
/// mapping of the file it names.
void expectCanonicalTable(const ModelSpec &spec) {
  std::vector<WeightRequirement> required = canonicalWeightNames(spec.config);
  ASSERT_EQ(spec.weights.size(), required.size());
  for (size_t i = 0; i < required.size(); ++i) {
    const WeightInfo &weight = spec.weights[i];
    EXPECT_EQ(weight.name, required[i].name);
    EXPECT_EQ(weight.shape, required[i].shape);
    EXPECT_EQ(weight.byteSize, elementCount(weight.shape) * dtypeSize(weight.dtype));
    const MappedFile *file = nullptr;
    for (const auto &mapping : spec.files)
      if (mapping->path() == weight.file)
        file = mapping.get();
    ASSERT_TRUE(file) << weight.name << " names an unmapped file";
    EXPECT_EQ(weight.data, file->data() + weight.fileOffset);
    EXPECT_LE(weight.fileOffset + weight.byteSize, file->size());
  }
}

TEST(HuggingFace, LoadsEveryFixture) {
  for (const FixtureCase &c : kFixtures) {
    SCOPED_TRACE(c.dir);
    std::string dir = sharedPath(c.dir);
    std::string error;
    std::optional<ModelSpec> spec = loadHuggingFace(dir, error);
    ASSERT_TRUE(spec) << error;
    EXPECT_EQ(spec->format, SourceFormat::HuggingFace);
    EXPECT_EQ(spec->sourcePath, dir);
    EXPECT_EQ(spec->config.numLayers, c.layers);
    EXPECT_EQ(spec->config.hiddenSize, c.hidden);
    EXPECT_EQ(spec->config.numHeads, c.heads);
    EXPECT_EQ(spec->config.numKeyValueHeads, c.kvHeads);
    EXPECT_EQ(spec->config.headDim, c.headDim);
    EXPECT_EQ(spec->config.vocabSize, c.vocab);
    EXPECT_EQ(spec->config.dtype, c.dtype);
    for (const WeightInfo &weight : spec->weights)
      EXPECT_EQ(weight.dtype, c.dtype) << weight.name;
    EXPECT_EQ(spec->weights.back().name, c.lastWeight);
    EXPECT_EQ(spec->generationConfigPath.empty(), !c.hasGenerationConfig);
    EXPECT_EQ(spec->tokenizerPath.empty(), !c.hasTokenizer);
    expectCanonicalTable(*spec);
  }
}

TEST(HuggingFace, SequenceClassificationHead) {
  std::string error;
  std::optional<ModelSpec> spec =
      loadHuggingFace(sharedPath("fixtures/hf/tiny-llama-seqcls"), error);
  ASSERT_TRUE(spec) << error;
  EXPECT_EQ(spec->config.numLabels, 3);
  const WeightInfo *score = spec->findWeight("score.weight");
  ASSERT_TRUE(score);
  EXPECT_EQ(score->shape, (std::vector<int64_t>{3, 128}));
  EXPECT_FALSE(spec->findWeight("lm_head.weight"));
}

TEST(HuggingFace, TiedEmbeddingsHaveNoHead) {
  std::string error;
  std::optional<ModelSpec> spec =
      loadHuggingFace(sharedPath("models/stories260K/hf"), error);
  ASSERT_TRUE(spec) << error;
  EXPECT_TRUE(spec->config.tieWordEmbeddings);
  EXPECT_FALSE(spec->findWeight("lm_head.weight"));
  EXPECT_EQ(spec->tokenizerPath,
            sharedPath("models/stories260K/hf/tokenizer.model"));
}

/// Checkpoints made from a synthesized one, rewritten with one defect each.
class HuggingFaceDefectTest : public ::testing::Test {
protected:
  void SetUp() override {
    ASSERT_TRUE(synthesizeCheckpoint(tinyConfig(), DType::F32, 1,
                                     dir.path("good"), error))
        << error;
    std::optional<ModelSpec> spec = loadHuggingFace(dir.path("good"), error);
    ASSERT_TRUE(spec) << error;
    tensors = tensorsOf(*spec);
  }

  /// Writes `tensors` and `config` as checkpoint "bad"; returns its weights file.
  std::string writeBad(const LlamaConfig &config = tinyConfig()) {
    dir.write("bad/config.json", configToJson(config));
    std::string weights = dir.path("bad/model.safetensors");
    EXPECT_TRUE(writeSafetensors(weights, tensors, error)) << error;
    return weights;
  }

  SafetensorsTensorData &tensor(const std::string &name) {
    for (SafetensorsTensorData &t : tensors)
      if (t.name == name)
        return t;
    ADD_FAILURE() << "no tensor " << name;
    return tensors.front();
  }

  void expectRefused(const std::string &file, const std::string &problem) {
    EXPECT_FALSE(loadHuggingFace(dir.path("bad"), error));
    EXPECT_TRUE(mentions(error, {file, problem}));
  }

  TempDir dir;
  std::string error;
  std::vector<SafetensorsTensorData> tensors;
};

TEST_F(HuggingFaceDefectTest, RewrittenCheckpointLoads) {
  writeBad();
  ASSERT_TRUE(loadHuggingFace(dir.path("bad"), error)) << error;
}

TEST_F(HuggingFaceDefectTest, RefusesMissingTensor) {
  const std::string name = "model.layers.1.mlp.up_proj.weight";
  tensors.erase(std::find_if(tensors.begin(), tensors.end(),
                             [&](const auto &t) { return t.name == name; }));
  expectRefused(writeBad(), "missing tensor '" + name + "' (config.json implies [24, 16])");
}

TEST_F(HuggingFaceDefectTest, RefusesWrongShape) {
  SafetensorsTensorData &output = tensor("model.layers.1.self_attn.o_proj.weight");
  output.shape = {16, 8};
  output.bytes.resize(output.bytes.size() / 2);
  expectRefused(writeBad(), "tensor 'model.layers.1.self_attn.o_proj.weight' "
                            "has shape [16, 8], config.json implies [16, 16]");
}

TEST_F(HuggingFaceDefectTest, RefusesTransposedShape) {
  SafetensorsTensorData &down = tensor("model.layers.0.mlp.down_proj.weight");
  down.shape = {24, 16};
  expectRefused(writeBad(), "has shape [24, 16], config.json implies [16, 24]");
}

TEST_F(HuggingFaceDefectTest, RefusesExtraTensors) {
  tensors.push_back({"model.layers.2.mlp.up_proj.weight", "F32", {1}, {0, 0, 0, 0}});
  tensors.push_back({"lm_head.bias", "F32", {1}, {0, 0, 0, 0}});
  expectRefused(writeBad(), "unexpected tensor(s) that config.json does not "
                            "imply: 'lm_head.bias', "
                            "'model.layers.2.mlp.up_proj.weight'");
}

TEST_F(HuggingFaceDefectTest, IgnoresRotaryInverseFrequencies) {
  tensors.push_back({"model.layers.0.self_attn.rotary_emb.inv_freq", "F32", {2},
                     std::vector<uint8_t>(8)});
  writeBad();
  std::optional<ModelSpec> spec = loadHuggingFace(dir.path("bad"), error);
  ASSERT_TRUE(spec) << error;
  EXPECT_FALSE(spec->findWeight("model.layers.0.self_attn.rotary_emb.inv_freq"));
}

TEST_F(HuggingFaceDefectTest, TiedConfigIgnoresStoredHead) {
  LlamaConfig tied = tinyConfig();
  tied.tieWordEmbeddings = true;
  writeBad(tied);
  std::optional<ModelSpec> spec = loadHuggingFace(dir.path("bad"), error);
  ASSERT_TRUE(spec) << error;
  EXPECT_FALSE(spec->findWeight("lm_head.weight"));
  EXPECT_EQ(spec->weights.size(), canonicalWeightNames(tied).size());
}

TEST_F(HuggingFaceDefectTest, UntiedConfigNeedsHead) {
  tensors.pop_back();
  expectRefused(writeBad(), "missing tensor 'lm_head.weight'");
}

TEST_F(HuggingFaceDefectTest, AcceptsMixedDTypes) {
  SafetensorsTensorData &norm = tensor("model.norm.weight");
  norm.dtype = "BF16";
  norm.bytes.resize(norm.bytes.size() / 2);
  writeBad();
  std::optional<ModelSpec> spec = loadHuggingFace(dir.path("bad"), error);
  ASSERT_TRUE(spec) << error;
  EXPECT_EQ(spec->findWeight("model.norm.weight")->dtype, DType::BF16);
  EXPECT_EQ(spec->findWeight("model.embed_tokens.weight")->dtype, DType::F32);
}

TEST_F(HuggingFaceDefectTest, ReportsMalformedWeightsFile) {
  std::string weights = writeBad();
  dir.write("bad/model.safetensors", rawSafetensors("{", 0));
  expectRefused(weights, "invalid JSON");
}

TEST_F(HuggingFaceDefectTest, ReportsBadConfig) {
  writeBad();
  std::string config = dir.write("bad/config.json", R"({"num_attention_heads": 5})");
  expectRefused(config, "hidden_size 4096 is not divisible by num_attention_heads 5");
}

TEST_F(HuggingFaceDefectTest, RefusesDirectoryWithoutWeights) {
  dir.write("bad/config.json", configToJson(tinyConfig()));
  expectRefused(dir.path("bad"),
                "no model.safetensors or model.safetensors.index.json");
}

TEST_F(HuggingFaceDefectTest, RefusesPytorchCheckpoints) {
  dir.write("bad/config.json", configToJson(tinyConfig()));
  dir.write("bad/pytorch_model.bin", "not a zip");
  expectRefused(dir.path("bad"), "pytorch_model.bin checkpoints are not supported");
}

TEST(HuggingFaceErrors, RefusesDirectoryWithoutConfig) {
  TempDir dir;
  std::string error;
  EXPECT_FALSE(loadHuggingFace(dir.path(), error));
  EXPECT_EQ(error, dir.path() + ": no config.json");
}

TEST(HuggingFaceErrors, RefusesNonexistentDirectory) {
  TempDir dir;
  std::string error;
  EXPECT_FALSE(loadHuggingFace(dir.path("absent"), error));
  EXPECT_TRUE(mentions(error, {dir.path("absent"), "no such file or directory"}));
}

/// Shards made by the synthesizer, then an index edited to be wrong.
class ShardedTest : public ::testing::Test {
protected:
  void SetUp() override {
    ASSERT_TRUE(synthesizeCheckpoint(tinyConfig(), DType::F32, 1, dir.path(),
                                     error, /*maxShardBytes=*/4096))
        << error;
    indexPath = dir.path("model.safetensors.index.json");
    index = nlohmann::json::parse(std::ifstream(indexPath));
  }

  void expectRefused(const std::string &file, const std::string &problem) {
    dir.write("model.safetensors.index.json", index.dump());
    EXPECT_FALSE(loadHuggingFace(dir.path(), error));
    EXPECT_TRUE(mentions(error, {file, problem}));
  }

  TempDir dir;
  std::string error;
  std::string indexPath;
  nlohmann::json index;
};

TEST_F(ShardedTest, Loads) {
  std::optional<ModelSpec> spec = loadHuggingFace(dir.path(), error);
  ASSERT_TRUE(spec) << error;
  EXPECT_GT(spec->files.size(), 2u);
  expectCanonicalTable(*spec);
}

TEST_F(ShardedTest, RefusesShardOutsideDirectory) {
  index["weight_map"]["model.norm.weight"] = "../model.safetensors";
  expectRefused(indexPath, "which is not a file name in the checkpoint directory");
}

TEST_F(ShardedTest, RefusesMissingShard) {
  index["weight_map"]["model.norm.weight"] = "model-absent.safetensors";
  expectRefused(dir.path("model-absent.safetensors"), "cannot open");
}

TEST_F(ShardedTest, RefusesIndexNamingTheWrongShard) {
  std::string other = index["weight_map"]["model.embed_tokens.weight"];
  index["weight_map"]["model.norm.weight"] = other;
  expectRefused(indexPath, "weight_map puts 'model.norm.weight' in " + other +
                               ", which does not hold it");
}

TEST_F(ShardedTest, RefusesTensorInTwoShards) {
  std::string first = index["weight_map"]["model.embed_tokens.weight"];
  std::string last = index["weight_map"]["lm_head.weight"];
  ASSERT_NE(first, last);
  ASSERT_TRUE(writeSafetensors(dir.path(last),
                               {{"model.embed_tokens.weight", "F32", {1}, {0, 0, 0, 0}}},
                               error));
  expectRefused(dir.path(), "tensor 'model.embed_tokens.weight' is in both");
}

TEST_F(ShardedTest, RefusesIndexWithoutWeightMap) {
  index.erase("weight_map");
  expectRefused(indexPath, "no weight_map object");
}

TEST(LoadModel, DispatchesOnPathKind) {
  std::string error;
  std::optional<ModelSpec> hf =
      loadModel(sharedPath("fixtures/hf/tiny-llama2-gqa"), error);
  ASSERT_TRUE(hf) << error;
  EXPECT_EQ(hf->format, SourceFormat::HuggingFace);
  std::optional<ModelSpec> bin =
      loadModel(sharedPath("models/stories260K/llama2c/stories260K.bin"), error);
  ASSERT_TRUE(bin) << error;
  EXPECT_EQ(bin->format, SourceFormat::Llama2c);
}

TEST(LoadModel, RefusesNonexistentPath) {
  TempDir dir;
  std::string error;
  EXPECT_FALSE(loadModel(dir.path("absent.bin"), error));
  EXPECT_TRUE(mentions(error, {dir.path("absent.bin"), "no such file or directory"}));
}

TEST(LoadModel, RefusesOtherFiles) {
  TempDir dir;
  std::string path = dir.write("model.gguf", "GGUF");
  std::string error;
  EXPECT_FALSE(loadModel(path, error));
  EXPECT_TRUE(mentions(error, {path, "not a checkpoint"}));
}

TEST(LoadModel, ReportsDirectoryWithoutConfig) {
  TempDir dir;
  std::string error;
  EXPECT_FALSE(loadModel(dir.path(), error));
  EXPECT_EQ(error, dir.path() + ": no config.json");
}

} // namespace
