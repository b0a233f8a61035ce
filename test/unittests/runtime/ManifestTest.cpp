//===- ManifestTest.cpp - Manifest validation and weight binding ----------===//

#include "runtime/CompiledModel.h"
#include "runtime/Manifest.h"
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
  EXPECT_THAT(loadError([](json &m) { m["format_version"] = 1; }),
              HasSubstr("'format_version' is 1, this runtime reads version 2 "
                        "(compile the model again with this llamac)"));
  EXPECT_THAT(loadError([](json &m) { m["format"] = "onnx"; }),
              HasSubstr("field 'format'"));
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
