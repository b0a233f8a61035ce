//===- HuggingFaceTest.cpp - Hugging Face checkpoint directories ----------===//

#include "TestSupport.h"

#include "frontends/Safetensors.h"
#include "frontends/Synthesize.h"

#include <algorithm>
#include <array>
#include <cstring>
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

/// Checkpoints that store weights as int4 (`llamac-run quantize`): each as
/// its codes, scales and minimums, which load as one int4 layout.
class HuggingFaceInt4Test : public HuggingFaceDefectTest {
protected:
  static constexpr const char *kQuery = "model.layers.0.self_attn.q_proj.weight";

  /// Replaces weight `name` [N, K] by int4 parts in groups of `groupSize`,
  /// `order` giving the parts' positions (0 codes, 1 scales, 2 mins); each
  /// part's bytes count up from a different start. Returns the layout.
  std::vector<uint8_t> storeAsInt4(const std::string &name, int64_t groupSize,
                                   std::vector<int> order = {0, 1, 2}) {
    auto it = std::find_if(tensors.begin(), tensors.end(),
                           [&](const auto &t) { return t.name == name; });
    const int64_t rows = it->shape[0], columns = it->shape[1];
    const std::array<std::string, 3> names = int4PartNames(name);
    std::vector<SafetensorsTensorData> parts = {
        {names[0], "U8", {rows, columns / 2}, {}},
        {names[1], "F16", {rows, columns / groupSize}, {}},
        {names[2], "F16", {rows, columns / groupSize}, {}}};
    std::vector<uint8_t> layout;
    for (size_t i = 0; i < parts.size(); ++i) {
      const size_t bytes = elementCount(parts[i].shape) * (i ? 2 : 1);
      for (size_t b = 0; b < bytes; ++b)
        parts[i].bytes.push_back(uint8_t(50 * i + b));
      layout.insert(layout.end(), parts[i].bytes.begin(), parts[i].bytes.end());
    }
    it = tensors.erase(it);
    for (int part : order)
      it = std::next(tensors.insert(it, parts[part]));
    return layout;
  }

  const WeightInfo *loadQuery(std::optional<ModelSpec> &spec) {
    writeBad();
    spec = loadHuggingFace(dir.path("bad"), error);
    EXPECT_TRUE(spec) << error;
    return spec ? spec->findWeight(kQuery) : nullptr;
  }
};

TEST_F(HuggingFaceInt4Test, ReadsInt4WeightsInPlace) {
  const std::vector<uint8_t> layout = storeAsInt4(kQuery, 4);
  std::optional<ModelSpec> spec;
  const WeightInfo *query = loadQuery(spec);
  ASSERT_TRUE(query);
  EXPECT_EQ(query->int4GroupSize, 4);
  EXPECT_EQ(query->dtype, DType::F32) << "the config's";
  EXPECT_EQ(query->shape, (std::vector<int64_t>{16, 16}));
  ASSERT_EQ(query->byteSize, layout.size());
  EXPECT_EQ(query->file, dir.path("bad/model.safetensors"));
  EXPECT_EQ(query->data, spec->files[0]->data() + query->fileOffset);
  EXPECT_EQ(std::memcmp(query->data, layout.data(), layout.size()), 0);
  EXPECT_EQ(spec->storedInt4GroupSize(), 4);
  EXPECT_EQ(spec->findWeight("model.layers.0.self_attn.k_proj.weight")->int4GroupSize, 0);
}

TEST_F(HuggingFaceInt4Test, CopiesPartsStoredApartIntoTheLayout) {
  const std::vector<uint8_t> layout = storeAsInt4(kQuery, 8, {2, 0, 1});
  std::optional<ModelSpec> spec;
  const WeightInfo *query = loadQuery(spec);
  ASSERT_TRUE(query);
  EXPECT_EQ(query->int4GroupSize, 8);
  EXPECT_EQ(query->file, "");
  ASSERT_EQ(query->byteSize, layout.size());
  EXPECT_EQ(std::memcmp(query->data, layout.data(), layout.size()), 0);
}

TEST_F(HuggingFaceInt4Test, RefusesAnIncompleteWeight) {
  storeAsInt4(kQuery, 4);
  tensors.erase(std::find_if(tensors.begin(), tensors.end(), [&](const auto &t) {
    return t.name == int4PartNames(kQuery)[2];
  }));
  expectRefused(writeBad(), "int4 weight '" + std::string(kQuery) + "' has no '" +
                                kQuery + ".int4_mins'");
}

TEST_F(HuggingFaceInt4Test, RefusesPartsOfTheWrongShapeOrDType) {
  storeAsInt4(kQuery, 4);
  SafetensorsTensorData &codes = tensor(int4PartNames(kQuery)[0]);
  codes.shape = {16, 4};
  codes.bytes.resize(64);
  expectRefused(writeBad(), "tensor '" + std::string(kQuery) +
                                ".int4_codes' is u8 [16, 4], the int4 layout of '" +
                                kQuery + "' [16, 16] needs u8 [16, 8]");
  codes.shape = {16, 8};
  codes.bytes.resize(128);
  tensor(int4PartNames(kQuery)[2]).dtype = "BF16";
  expectRefused(writeBad(), "int4_mins' is bf16 [16, 4], the int4 layout of '" +
                                std::string(kQuery) + "' [16, 16] needs f16 [16, 4]");
}

TEST_F(HuggingFaceInt4Test, RefusesAnOddGroupSize) {
  storeAsInt4(kQuery, 1);
  expectRefused(writeBad(), "int4_scales' has shape [16, 16]: int4 weight '" +
                                std::string(kQuery) + "' [16, 16] needs [rows, columns / G] "
                                "for an even group size G dividing its columns");
}

TEST_F(HuggingFaceInt4Test, RefusesAOneDimensionalWeight) {
  SafetensorsTensorData &norm = tensor("model.norm.weight");
  norm.shape = {1, 16};
  storeAsInt4("model.norm.weight", 4);
  expectRefused(writeBad(), "weight 'model.norm.weight' [16] is stored as int4, which "
                            "only 2-D weights with an even number of columns can be");
}

TEST_F(HuggingFaceInt4Test, RefusesTwoGroupSizes) {
  storeAsInt4(kQuery, 4);
  storeAsInt4("model.layers.1.mlp.up_proj.weight", 8);
  expectRefused(writeBad(), "int4 weights '" + std::string(kQuery) +
                                "' (groups of 4) and 'model.layers.1.mlp.up_proj.weight' "
                                "(groups of 8) differ; a checkpoint has one group size");
}

TEST_F(HuggingFaceInt4Test, RefusesAWeightStoredBothWays) {
  SafetensorsTensorData query = tensor(kQuery);
  storeAsInt4(kQuery, 4);
  tensors.push_back(query);
  expectRefused(writeBad(), "weight '" + std::string(kQuery) +
                                "' is stored both as a tensor and as int4");
}

TEST_F(HuggingFaceInt4Test, RefusesBytesAsAFloatWeight) {
  SafetensorsTensorData &norm = tensor("model.norm.weight");
  norm.dtype = "U8";
  norm.bytes.resize(16);
  expectRefused(writeBad(), "tensor 'model.norm.weight' is u8; a weight is F32, F16 or "
                            "BF16, or int4 stored as .int4_codes, .int4_scales and "
                            ".int4_mins");
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
