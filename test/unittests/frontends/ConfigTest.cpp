//===- ConfigTest.cpp - config.json in both dialects, config-only specs ---===//

#include "TestSupport.h"

#include <functional>
#include <nlohmann/json.hpp>

using namespace llamac;
using namespace llamac::testing;
using nlohmann::json;

namespace {

/// A complete 4.x-dialect config that the tests below break one key at a time.
json validConfig() {
  return json::parse(R"({
    "architectures": ["LlamaForCausalLM"], "model_type": "llama",
    "vocab_size": 32, "hidden_size": 16, "intermediate_size": 24,
    "num_hidden_layers": 2, "num_attention_heads": 4,
    "num_key_value_heads": 2, "max_position_embeddings": 64,
    "rms_norm_eps": 1e-05, "rope_theta": 10000.0, "rope_scaling": null,
    "hidden_act": "silu", "tie_word_embeddings": false,
    "torch_dtype": "float16", "bos_token_id": 1, "eos_token_id": 2
  })");
}

class ConfigFileTest : public ::testing::Test {
protected:
  std::optional<LlamaConfig> load(const json &document) {
    path = dir.write("config.json", document.dump());
    return loadConfigFile(path, error);
  }
  std::optional<LlamaConfig> loadEdited(const std::function<void(json &)> &edit) {
    json document = validConfig();
    edit(document);
    return load(document);
  }
  /// Expects the edited config to be refused with a message naming the
  /// file and `problem`.
  void expectRefused(const std::function<void(json &)> &edit,
                     const std::string &problem) {
    EXPECT_FALSE(loadEdited(edit));
    EXPECT_TRUE(mentions(error, {path, problem}));
  }

  TempDir dir;
  std::string path;
  std::string error;
};

TEST_F(ConfigFileTest, ReadsTransformers4Dialect) {
  std::optional<LlamaConfig> config =
      loadConfigFile(sharedPath("configs/llama-2-7b/config.json"), error);
  ASSERT_TRUE(config) << error;
  EXPECT_EQ(config->architecture, Architecture::CausalLM);
  EXPECT_EQ(config->vocabSize, 32000);
  EXPECT_EQ(config->hiddenSize, 4096);
  EXPECT_EQ(config->intermediateSize, 11008);
  EXPECT_EQ(config->numLayers, 32);
  EXPECT_EQ(config->numHeads, 32);
  EXPECT_EQ(config->numKeyValueHeads, 32);
  EXPECT_EQ(config->headDim, 128);
  EXPECT_EQ(config->maxPositionEmbeddings, 4096);
  EXPECT_EQ(config->rmsNormEps, 1e-5);
  EXPECT_EQ(config->ropeTheta, 10000.0);
  EXPECT_EQ(config->ropeLinearFactor, 1.0);
  EXPECT_FALSE(config->tieWordEmbeddings);
  EXPECT_EQ(config->dtype, DType::F16);
  EXPECT_FALSE(config->padTokenId);
}

TEST_F(ConfigFileTest, ReadsTransformers5Dialect) {
  std::optional<LlamaConfig> config = loadConfigFile(
      sharedPath("fixtures/hf/tiny-llama-bf16-theta1e6/config.json"), error);
  ASSERT_TRUE(config) << error;
  EXPECT_EQ(config->ropeTheta, 1e6);
  EXPECT_EQ(config->rmsNormEps, 1e-6);
  EXPECT_EQ(config->headDim, 16);
  EXPECT_EQ(config->hiddenSize, 96);
  EXPECT_EQ(config->numHeads, 6);
  EXPECT_EQ(config->numKeyValueHeads, 3);
  EXPECT_EQ(config->dtype, DType::BF16);
}

TEST_F(ConfigFileTest, AppliesTransformersDefaults) {
  std::optional<LlamaConfig> config = load(json::object());
  ASSERT_TRUE(config) << error;
  EXPECT_EQ(config->architecture, Architecture::CausalLM);
  EXPECT_EQ(config->vocabSize, 32000);
  EXPECT_EQ(config->numKeyValueHeads, 32);
  EXPECT_EQ(config->headDim, 128);
  EXPECT_EQ(config->maxPositionEmbeddings, 2048);
  EXPECT_EQ(config->rmsNormEps, 1e-6);
  EXPECT_EQ(config->ropeTheta, 10000.0);
  EXPECT_FALSE(config->tieWordEmbeddings);
  EXPECT_EQ(config->dtype, DType::F32);
}

TEST_F(ConfigFileTest, NullMeansDefault) {
  std::optional<LlamaConfig> config = loadEdited([](json &c) {
    c["num_key_value_heads"] = nullptr;
    c["head_dim"] = nullptr;
  });
  ASSERT_TRUE(config) << error;
  EXPECT_EQ(config->numKeyValueHeads, 4);
  EXPECT_EQ(config->headDim, 4);
}

TEST_F(ConfigFileTest, AcceptsPretrainingTp) {
  ASSERT_TRUE(loadEdited([](json &c) { c["pretraining_tp"] = 2; })) << error;
}

TEST_F(ConfigFileTest, LinearRopeScalingIn4xDialect) {
  std::optional<LlamaConfig> config = loadEdited([](json &c) {
    c["rope_scaling"] = {{"type", "linear"}, {"factor", 2.0}};
  });
  ASSERT_TRUE(config) << error;
  EXPECT_EQ(config->ropeLinearFactor, 2.0);
}

TEST_F(ConfigFileTest, LinearRopeScalingIn5xDialect) {
  std::optional<LlamaConfig> config = loadEdited([](json &c) {
    c.erase("rope_theta");
    c["rope_parameters"] = {
        {"rope_type", "linear"}, {"factor", 4.0}, {"rope_theta", 5e5}};
  });
  ASSERT_TRUE(config) << error;
  EXPECT_EQ(config->ropeLinearFactor, 4.0);
  EXPECT_EQ(config->ropeTheta, 5e5);
}

TEST_F(ConfigFileTest, RefusesDynamicRopeScaling) {
  expectRefused(
      [](json &c) { c["rope_scaling"] = {{"type", "dynamic"}, {"factor", 2}}; },
      "rope scaling type 'dynamic' is not supported");
}

TEST_F(ConfigFileTest, RefusesLlama3RopeIn5xDialect) {
  expectRefused(
      [](json &c) {
        c["rope_parameters"] = {{"rope_type", "llama3"}, {"factor", 8}};
      },
      "'llama3' is not supported");
}

TEST_F(ConfigFileTest, RefusesLinearScalingWithoutFactor) {
  expectRefused([](json &c) { c["rope_scaling"] = {{"type", "linear"}}; },
                "'rope_scaling.factor' is required");
}

TEST_F(ConfigFileTest, NumLabelsFromId2Label) {
  std::optional<LlamaConfig> config = loadConfigFile(
      sharedPath("fixtures/hf/tiny-llama-seqcls/config.json"), error);
  ASSERT_TRUE(config) << error;
  EXPECT_EQ(config->architecture, Architecture::SequenceClassification);
  EXPECT_EQ(config->numLabels, 3);
  EXPECT_EQ(config->labels,
            (std::vector<std::string>{"LABEL_0", "LABEL_1", "LABEL_2"}));
  EXPECT_EQ(config->padTokenId, 0);
}

TEST_F(ConfigFileTest, Id2LabelNamesEachClassOnce) {
  auto classifier = [](json labels) {
    return [labels](json &c) {
      c["architectures"] = {"LlamaForSequenceClassification"};
      c["num_labels"] = 2;
      c["id2label"] = labels;
    };
  };
  std::optional<LlamaConfig> config =
      loadEdited(classifier({{"1", "positive"}, {"0", "negative"}}));
  ASSERT_TRUE(config) << error;
  EXPECT_EQ(config->labels, (std::vector<std::string>{"negative", "positive"}));
  expectRefused(classifier({{"0", "a"}, {"2", "b"}}),
                "'id2label' key '2' is not a class index from 0 to "
                "num_labels - 1, each once");
  expectRefused(classifier({{"0", "a"}, {"x", "b"}}), "key 'x'");
  expectRefused(classifier({{"0", "a"}, {"1", 1}}),
                "'id2label' value of '1' must be a string, got");
  expectRefused(classifier({{"0", "a"}}),
                "'id2label' names 1 classes, but num_labels is 2");
  expectRefused(classifier(json::array({"a", "b"})),
                "'id2label' must be an object");
}

TEST_F(ConfigFileTest, NumLabelsKeyWins) {
  std::optional<LlamaConfig> config = loadEdited([](json &c) {
    c["architectures"] = {"LlamaForSequenceClassification"};
    c["num_labels"] = 5;
  });
  ASSERT_TRUE(config) << error;
  EXPECT_EQ(config->numLabels, 5);
}

TEST_F(ConfigFileTest, EosListTakesFirst) {
  std::optional<LlamaConfig> config =
      loadEdited([](json &c) { c["eos_token_id"] = {2, 3}; });
  ASSERT_TRUE(config) << error;
  EXPECT_EQ(config->eosTokenId, 2);
}

TEST_F(ConfigFileTest, RefusesOtherArchitectures) {
  expectRefused([](json &c) { c["architectures"] = {"MistralForCausalLM"}; },
                "architecture 'MistralForCausalLM' is not supported");
}

TEST_F(ConfigFileTest, RefusesOtherActivations) {
  expectRefused([](json &c) { c["hidden_act"] = "gelu"; },
                "hidden_act 'gelu' is not supported");
}

TEST_F(ConfigFileTest, RefusesBiases) {
  expectRefused([](json &c) { c["attention_bias"] = true; },
                "'attention_bias' is true");
  expectRefused([](json &c) { c["mlp_bias"] = true; }, "'mlp_bias' is true");
}

TEST_F(ConfigFileTest, RefusesHeadsNotDividingHidden) {
  expectRefused([](json &c) { c["num_attention_heads"] = 3; },
                "hidden_size 16 is not divisible by num_attention_heads 3");
}

TEST_F(ConfigFileTest, ExplicitHeadDimNeedsNoDivisibility) {
  std::optional<LlamaConfig> config = loadEdited([](json &c) {
    c["num_attention_heads"] = 3;
    c["num_key_value_heads"] = 3;
    c["head_dim"] = 8;
  });
  ASSERT_TRUE(config) << error;
  EXPECT_EQ(config->headDim, 8);
}

TEST_F(ConfigFileTest, RefusesKvHeadsNotDividingHeads) {
  expectRefused([](json &c) { c["num_key_value_heads"] = 3; },
                "num_key_value_heads 3 does not divide num_attention_heads 4");
}

TEST_F(ConfigFileTest, RefusesZeroAndNegativeSizes) {
  expectRefused([](json &c) { c["hidden_size"] = 0; },
                "hidden_size must be positive, got 0");
  expectRefused([](json &c) { c["num_hidden_layers"] = -1; },
                "num_hidden_layers must be positive, got -1");
  expectRefused([](json &c) { c["intermediate_size"] = -24; },
                "intermediate_size must be positive");
  expectRefused([](json &c) { c["max_position_embeddings"] = 0; },
                "max_position_embeddings must be positive");
}

TEST_F(ConfigFileTest, RefusesEmptyVocabulary) {
  expectRefused([](json &c) { c["vocab_size"] = 0; },
                "vocab_size must be positive, got 0");
}

TEST_F(ConfigFileTest, RefusesAbsurdSizes) {
  expectRefused([](json &c) { c["intermediate_size"] = int64_t(1) << 40; },
                "intermediate_size 1099511627776 is absurdly large");
  expectRefused([](json &c) { c["num_hidden_layers"] = 1 << 20; },
                "num_hidden_layers 1048576 is absurdly large");
  expectRefused([](json &c) { c["vocab_size"] = uint64_t(1) << 63; },
                "'vocab_size' is out of range");
}

TEST_F(ConfigFileTest, RefusesNonNumericValues) {
  expectRefused([](json &c) { c["hidden_size"] = "4096"; },
                "'hidden_size' must be an integer, got string");
  expectRefused([](json &c) { c["num_hidden_layers"] = 2.5; },
                "'num_hidden_layers' must be an integer");
  expectRefused([](json &c) { c["rms_norm_eps"] = "small"; },
                "'rms_norm_eps' must be a number");
  expectRefused([](json &c) { c["rope_scaling"] = {{"type", "linear"},
                                                   {"factor", "2"}}; },
                "'rope_scaling.factor' must be a number");
  expectRefused([](json &c) { c["tie_word_embeddings"] = 1; },
                "'tie_word_embeddings' must be true or false");
}

TEST_F(ConfigFileTest, RefusesDeeplyNestedValues) {
  path = dir.write("config.json", "{\"hidden_size\": " +
                                      std::string(1 << 20, '[') +
                                      std::string(1 << 20, ']') + "}");
  EXPECT_FALSE(loadConfigFile(path, error));
  // Refused while parsing: deep nesting multiplies the parsed size.
  EXPECT_TRUE(mentions(error, {path, "nested more than 64 levels deep"}));
}

TEST_F(ConfigFileTest, RefusesNonPositiveEpsilon) {
  expectRefused([](json &c) { c["rms_norm_eps"] = -1e-7; },
                "rms_norm_eps must be a positive finite number, got -1e-07");
}

TEST_F(ConfigFileTest, RefusesTokenIdsOutsideVocabulary) {
  expectRefused([](json &c) { c["eos_token_id"] = 32; },
                "eos_token_id 32 is outside the vocabulary");
}

TEST_F(ConfigFileTest, RefusesUnknownDType) {
  expectRefused([](json &c) { c["torch_dtype"] = "float8"; },
                "'torch_dtype' 'float8' is not supported");
}

TEST_F(ConfigFileTest, RefusesInvalidJson) {
  path = dir.write("config.json", "{\"hidden_size\": 16,");
  EXPECT_FALSE(loadConfigFile(path, error));
  EXPECT_TRUE(mentions(error, {path, "invalid JSON"}));
}

TEST_F(ConfigFileTest, RefusesNonObject) {
  path = dir.write("config.json", "[1, 2]");
  EXPECT_FALSE(loadConfigFile(path, error));
  EXPECT_TRUE(mentions(error, {path, "expected a JSON object, got array"}));
}

TEST_F(ConfigFileTest, RefusesHugeFileBeforeParsing) {
  // Valid JSON, so only the size check can refuse it.
  path = dir.write("config.json",
                   "{" + std::string((16 << 20) + 1, ' ') + "}");
  EXPECT_FALSE(loadConfigFile(path, error));
  EXPECT_TRUE(mentions(error, {path, "16 MiB"}));
}

TEST_F(ConfigFileTest, RefusesMissingFile) {
  path = dir.path("config.json");
  EXPECT_FALSE(loadConfigFile(path, error));
  EXPECT_TRUE(mentions(error, {path, "cannot open"}));
}

TEST(ValidateConfig, AcceptsConsistentConfig) {
  EXPECT_EQ(validateConfig(tinyConfig()), "");
}

TEST(ValidateConfig, RefusesOddHeadDim) {
  LlamaConfig config = tinyConfig();
  config.headDim = 5;
  EXPECT_TRUE(mentions(validateConfig(config), {"head_dim 5 must be even"}));
}

TEST(ValidateConfig, RefusesClassifierWithoutLabels) {
  LlamaConfig config = tinyConfig();
  config.architecture = Architecture::SequenceClassification;
  config.numLabels = 0;
  EXPECT_TRUE(mentions(validateConfig(config), {"num_labels"}));
}

TEST(ConfigToJson, RoundTrips) {
  TempDir dir;
  LlamaConfig classifier = tinyConfig();
  classifier.architecture = Architecture::SequenceClassification;
  classifier.numLabels = 3;
  classifier.labels = {"negative", "neutral", "positive"};
  classifier.padTokenId = 0;
  classifier.dtype = DType::BF16;
  LlamaConfig scaled = tinyConfig();
  scaled.ropeLinearFactor = 2.5;
  scaled.ropeTheta = 5e5;
  scaled.tieWordEmbeddings = true;
  scaled.rmsNormEps = 1.2345678901234567e-6;
  scaled.dtype = DType::F16;
  for (const LlamaConfig &config : {tinyConfig(), classifier, scaled}) {
    std::string path = dir.write("config.json", configToJson(config));
    std::string error;
    std::optional<LlamaConfig> read = loadConfigFile(path, error);
    ASSERT_TRUE(read) << error;
    EXPECT_TRUE(sameConfig(*read, config));
  }
}

TEST(ConfigToJson, WritesTransformers5Dialect) {
  json document = json::parse(configToJson(tinyConfig()));
  EXPECT_EQ(document["rope_parameters"]["rope_type"], "default");
  EXPECT_EQ(document["dtype"], "float32");
  EXPECT_FALSE(document.contains("torch_dtype"));
  EXPECT_FALSE(document.contains("rope_theta"));
}

struct ConfigOnlyCase {
  const char *dir;
  int64_t layers, heads, kvHeads, hidden, inter;
};

TEST(ConfigOnly, LoadsLlama2Configs) {
  for (ConfigOnlyCase c : {ConfigOnlyCase{"llama-2-7b", 32, 32, 32, 4096, 11008},
                           ConfigOnlyCase{"llama-2-13b", 40, 40, 40, 5120, 13824},
                           ConfigOnlyCase{"llama-2-70b", 80, 64, 8, 8192, 28672}}) {
    SCOPED_TRACE(c.dir);
    std::string error;
    std::optional<ModelSpec> spec =
        loadConfigOnly(sharedPath(std::string("configs/") + c.dir), error);
    ASSERT_TRUE(spec) << error;
    EXPECT_EQ(spec->format, SourceFormat::ConfigOnly);
    EXPECT_EQ(spec->config.numLayers, c.layers);
    EXPECT_EQ(spec->config.numHeads, c.heads);
    EXPECT_EQ(spec->config.numKeyValueHeads, c.kvHeads);
    EXPECT_EQ(spec->config.hiddenSize, c.hidden);
    EXPECT_EQ(spec->config.intermediateSize, c.inter);
    EXPECT_EQ(spec->config.dtype, DType::F16);
    ASSERT_EQ(spec->weights.size(), size_t(9 * c.layers + 3));
    for (const WeightInfo &weight : spec->weights) {
      EXPECT_EQ(weight.data, nullptr);
      EXPECT_EQ(weight.dtype, DType::F16);
      EXPECT_EQ(weight.byteSize, elementCount(weight.shape) * 2);
    }
    EXPECT_EQ(spec->weights.back().name, "lm_head.weight");
  }
}

TEST(ConfigOnly, GroupedQueryShapes) {
  std::string error;
  std::optional<ModelSpec> spec = loadConfigOnly(
      sharedPath("configs/llama-2-70b/config.json"), DType::BF16, error);
  ASSERT_TRUE(spec) << error;
  EXPECT_EQ(spec->config.dtype, DType::BF16);
  const WeightInfo *key = spec->findWeight("model.layers.79.self_attn.k_proj.weight");
  ASSERT_TRUE(key);
  EXPECT_EQ(key->shape, (std::vector<int64_t>{1024, 8192}));
  EXPECT_EQ(key->dtype, DType::BF16);
  const WeightInfo *down = spec->findWeight("model.layers.0.mlp.down_proj.weight");
  ASSERT_TRUE(down);
  EXPECT_EQ(down->shape, (std::vector<int64_t>{8192, 28672}));
}

TEST(ConfigOnly, RecordsGenerationConfig) {
  std::string error;
  std::optional<ModelSpec> spec =
      loadConfigOnly(sharedPath("configs/llama-2-7b-chat"), error);
  ASSERT_TRUE(spec) << error;
  EXPECT_EQ(spec->generationConfigPath,
            sharedPath("configs/llama-2-7b-chat/generation_config.json"));
}

TEST(ConfigOnly, ReportsTheConfigFile) {
  TempDir dir;
  std::string error;
  EXPECT_FALSE(loadConfigOnly(dir.path(), error));
  EXPECT_TRUE(mentions(error, {dir.path("config.json"), "cannot open"}));
}

} // namespace
