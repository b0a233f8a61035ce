//===- ManifestTest.cpp - Manifest validation and weight binding ----------===//

#include "runtime/CompiledModel.h"
#include "runtime/Int4Weights.h"
#include "runtime/Manifest.h"
#include "runtime/ModelABI.h"
#include "runtime/WeightBinding.h"
#include "test/unittests/runtime/FakeArtifact.h"

#include <functional>
#include <gmock/gmock.h>
#include <gtest/gtest.h>

using namespace llamac;
using namespace llamac::test;
using nlohmann::json;
using ::testing::HasSubstr;

namespace {

class ManifestTest : public ::testing::Test {
protected:
  void SetUp() override {
    artifact = makeFakeArtifact(root, tinyCausalConfig(), 2, 32);
  }

  /// The error loading the artifact gives after `change` to its manifest.
  std::string loadError(const std::function<void(json &)> &change) {
    json manifest = artifact.manifest;
    change(manifest);
    writeManifest(artifact.artifactDir, manifest);
    std::string error;
    EXPECT_FALSE(CompiledModel::load(artifact.artifactDir, "", error));
    return error;
  }

  std::string bindError(const std::function<void(json &)> &changeTable) {
    json document = artifact.manifest;
    changeTable(document["weights"]["table"]);
    std::string error;
    std::optional<Manifest> manifest =
        parseManifest(document, artifact.artifactDir, error);
    EXPECT_TRUE(manifest) << error;
    std::optional<ModelSpec> spec = loadModel(artifact.checkpointDir, error);
    EXPECT_TRUE(spec) << error;
    if (!manifest || !spec)
      return error;
    EXPECT_FALSE(bindWeights(manifest->weightTable, *spec, error));
    return error;
  }

  TemporaryDirectory root;
  FakeArtifact artifact;
};

json int4(int64_t groupSize) {
  return {{"scheme", "int4"}, {"group_size", groupSize}};
}

} // namespace

TEST_F(ManifestTest, ReadsAValidManifest) {
  std::string error;
  std::optional<Manifest> manifest = loadManifest(artifact.artifactDir, error);
  ASSERT_TRUE(manifest) << error;
  EXPECT_EQ(manifest->maxBatch, 2);
  EXPECT_EQ(manifest->maxSeq, 32);
  EXPECT_EQ(manifest->outputKind, OutputKind::Logits);
  EXPECT_EQ(manifest->outputSize, 64);
  EXPECT_EQ(manifest->config.numKeyValueHeads, 1);
  EXPECT_EQ(manifest->kvCacheShape, (std::array<int64_t, 6>{2, 2, 2, 1, 32, 8}));
  EXPECT_EQ(manifest->weightSource, artifact.checkpointDir);
  EXPECT_EQ(manifest->weightTable.size(),
            canonicalWeightNames(tinyCausalConfig()).size());
}

TEST_F(ManifestTest, RefusesAnotherFormatVersion) {
  // Version 1 artifacts computed every prompt position's logits.
  std::string versions = std::to_string(kOldestArtifactFormatVersion) + " to " +
                         std::to_string(kArtifactFormatVersion);
  EXPECT_THAT(loadError([](json &m) { m["format_version"] = 1; }),
              HasSubstr("'format_version' is 1, this runtime reads versions " +
                        versions + " (compile the model again with this llamac)"));
  EXPECT_THAT(loadError([](json &m) { m["format_version"] = kArtifactFormatVersion + 1; }),
              HasSubstr("this runtime reads versions " + versions));
  EXPECT_THAT(loadError([](json &m) { m["format"] = "onnx"; }),
              HasSubstr("field 'format'"));
}

TEST_F(ManifestTest, ReadsAVersion2Artifact) {
  // Version 3 only added int4 table entries: version 2 artifacts still run.
  json document = artifact.manifest;
  document["format_version"] = 2;
  std::string error;
  std::optional<Manifest> manifest =
      parseManifest(document, artifact.artifactDir, error);
  ASSERT_TRUE(manifest) << error;
  EXPECT_EQ(manifest->weightTable.size(),
            artifact.manifest["weights"]["table"].size());
}

TEST_F(ManifestTest, NamesAMissingField) {
  EXPECT_THAT(loadError([](json &m) { m.erase("max_seq"); }),
              HasSubstr("missing field 'max_seq'"));
  EXPECT_THAT(loadError([](json &m) { m.erase("config"); }),
              HasSubstr("missing field 'config'"));
  EXPECT_THAT(
      loadError([](json &m) { m["weights"]["table"][3].erase("dtype"); }),
      HasSubstr("missing field 'weights.table[3].dtype'"));
}

TEST_F(ManifestTest, ReadsTheConfigWithTheCheckpointRules) {
  EXPECT_THAT(
      loadError([](json &m) { m["config"]["num_attention_heads"] = "eight"; }),
      AllOf(HasSubstr("field 'config'"), HasSubstr("num_attention_heads")));
  EXPECT_THAT(
      loadError([](json &m) { m["config"]["num_key_value_heads"] = 3; }),
      AllOf(HasSubstr("field 'config'"), HasSubstr("num_key_value_heads")));
}

TEST_F(ManifestTest, NamesAFieldOfTheWrongType) {
  EXPECT_THAT(loadError([](json &m) { m["max_batch"] = "two"; }),
              HasSubstr("field 'max_batch' must be an integer"));
  EXPECT_THAT(loadError([](json &m) { m["max_seq"] = 0; }),
              HasSubstr("field 'max_seq' must be positive"));
}

TEST_F(ManifestTest, RefusesAnInconsistentCacheOrOutput) {
  EXPECT_THAT(loadError([](json &m) { m["kv_cache"]["shape"][4] = 64; }),
              HasSubstr("kv_cache.shape"));
  EXPECT_THAT(loadError([](json &m) { m["output"]["size"] = 3; }),
              HasSubstr("field 'output'"));
}

TEST_F(ManifestTest, ReadsTheInt4GroupSize) {
  json &table = artifact.manifest["weights"]["table"];
  table[2]["quantization"] = int4(8);
  table[3]["quantization"] = nullptr;
  std::string error;
  std::optional<Manifest> manifest =
      parseManifest(artifact.manifest, artifact.artifactDir, error);
  ASSERT_TRUE(manifest) << error;
  for (size_t i = 0; i < manifest->weightTable.size(); ++i)
    EXPECT_EQ(manifest->weightTable[i].int4GroupSize, i == 2 ? 8 : 0) << i;
}

TEST_F(ManifestTest, RefusesAnInt4WeightItCannotLayOut) {
  auto quantizationError = [&](size_t entry, const json &quantization) {
    return loadError([&](json &m) {
      m["weights"]["table"][entry]["quantization"] = quantization;
    });
  };
  EXPECT_THAT(quantizationError(2, {{"scheme", "int8"}, {"group_size", 8}}),
              HasSubstr("field 'weights.table[2].quantization.scheme' is "
                        "'int8', expected 'int4'"));
  for (int64_t groupSize : {0, -2, 3})
    EXPECT_THAT(quantizationError(2, int4(groupSize)),
                HasSubstr("field 'weights.table[2].quantization.group_size' "
                          "must be a positive even number, got " +
                          std::to_string(groupSize)));
  // input_layernorm.weight: [16].
  EXPECT_THAT(quantizationError(1, int4(8)),
              HasSubstr("field 'weights.table[1].shape' of an int4 weight "
                        "must have 2 dimensions, got 1"));
  EXPECT_THAT(quantizationError(2, int4(32)),
              HasSubstr("field 'weights.table[2].quantization.group_size' "
                        "(32) does not divide the weight's 16 columns"));
  EXPECT_THAT(quantizationError(2, "int4"),
              HasSubstr("field 'weights.table[2].quantization' must be an "
                        "object"));
}

TEST_F(ManifestTest, NamesAMissingEntryPoint) {
  EXPECT_THAT(
      loadError([](json &m) { m["entry_points"]["decode"] = "nowhere"; }),
      HasSubstr("entry point 'nowhere' not found"));
}

TEST_F(ManifestTest, AConfigOnlyArtifactNeedsWeights) {
  EXPECT_EQ(loadError([](json &m) { m["weights"]["source"] = nullptr; }),
            "artifact was compiled from a config; pass --weights");
  std::string error;
  EXPECT_TRUE(CompiledModel::load(artifact.artifactDir, artifact.checkpointDir,
                                  error))
      << error;
}

TEST_F(ManifestTest, ReportsAMissingManifest) {
  std::string error;
  EXPECT_FALSE(loadManifest(root / "nothing.lmc", error));
  EXPECT_THAT(error, HasSubstr("nothing.lmc/manifest.json"));
}

TEST_F(ManifestTest, BindingNamesATensorOfAnotherDType) {
  EXPECT_THAT(bindError([](json &table) { table[2]["dtype"] = "f16"; }),
              HasSubstr("weight 'model.layers.0.self_attn.q_proj.weight' "
                        "dtype is f32, the artifact expects f16"));
}

TEST_F(ManifestTest, BindingNamesATensorOfAnotherShape) {
  EXPECT_THAT(bindError([](json &table) { table[0]["shape"] = {64, 32}; }),
              HasSubstr("weight 'model.embed_tokens.weight' shape is [64, 16], "
                        "the artifact expects [64, 32]"));
}

TEST_F(ManifestTest, BindingNamesAMissingTensor) {
  EXPECT_THAT(bindError([](json &table) { table[1]["name"] = "extra.weight"; }),
              HasSubstr("weight 'extra.weight' of the artifact's table is "
                        "missing"));
}

TEST_F(ManifestTest, BindingNamesATensorTheTableLacks) {
  EXPECT_THAT(bindError([](json &table) { table.erase(table.size() - 1); }),
              HasSubstr("weight 'lm_head.weight' is not in the artifact's "
                        "table"));
}

TEST_F(ManifestTest, WeightPointersFollowTheTableOrder) {
  json &table = artifact.manifest["weights"]["table"];
  std::reverse(table.begin(), table.end());
  writeManifest(artifact.artifactDir, artifact.manifest);
  std::string error;
  std::unique_ptr<CompiledModel> model =
      CompiledModel::load(artifact.artifactDir, "", error);
  ASSERT_TRUE(model) << error;
  const std::vector<WeightTableEntry> &entries =
      model->manifest().weightTable;
  ASSERT_EQ(model->weightPointers().size(), entries.size());
  for (size_t i = 0; i < entries.size(); ++i)
    EXPECT_EQ(model->weightPointers()[i],
              model->checkpoint().findWeight(entries[i].name)->data)
        << entries[i].name;
  EXPECT_EQ(entries.front().name, "lm_head.weight");
}

TEST_F(ManifestTest, Int4EntriesPointAtTheirQuantizedCopies) {
  json &table = artifact.manifest["weights"]["table"];
  table[2]["quantization"] = int4(8);             // q_proj [16, 16]
  table[table.size() - 1]["quantization"] = int4(16); // lm_head [64, 16]
  writeManifest(artifact.artifactDir, artifact.manifest);
  std::string error;
  std::unique_ptr<CompiledModel> model =
      CompiledModel::load(artifact.artifactDir, "", error);
  ASSERT_TRUE(model) << error;
  const std::vector<WeightTableEntry> &entries = model->manifest().weightTable;
  int quantized = 0;
  for (size_t i = 0; i < entries.size(); ++i) {
    const WeightTableEntry &entry = entries[i];
    const WeightInfo *weight = model->checkpoint().findWeight(entry.name);
    const auto *bound = static_cast<const uint8_t *>(model->weightPointers()[i]);
    if (!entry.int4GroupSize) {
      EXPECT_EQ(bound, weight->data) << entry.name;
      continue;
    }
    ++quantized;
    std::optional<std::vector<uint8_t>> expected =
        quantizeInt4(weight->data, weight->dtype, entry.shape[0],
                     entry.shape[1], entry.int4GroupSize, entry.name, error);
    ASSERT_TRUE(expected) << error;
    ASSERT_EQ(int64_t(expected->size()),
              int4BufferBytes(entry.shape[0], entry.shape[1], entry.int4GroupSize));
    EXPECT_EQ(std::vector<uint8_t>(bound, bound + expected->size()), *expected)
        << entry.name;
  }
  EXPECT_EQ(quantized, 2);
}

TEST(WeightBindingTest, NamesAWeightInt4CannotHold) {
  std::vector<float> values = {0, 1, std::nanf(""), 3};
  ModelSpec spec;
  spec.sourcePath = "checkpoint";
  spec.weights.push_back(
      {"w", DType::F32, {1, 4}, values.data(), values.size() * sizeof(float)});
  WeightTableEntry entry{"w", DType::F32, {1, 4}, /*int4GroupSize=*/4};
  std::string error;
  EXPECT_FALSE(bindWeights({entry}, spec, error));
  EXPECT_EQ(error, "checkpoint: weight 'w' holds NaN at [0, 2]; int4 "
                   "quantization needs finite values");
}
