//===- Llama2cTest.cpp - llama2.c's legacy .bin checkpoints ---------------===//

#include "TestSupport.h"

#include <array>
#include <cstring>
#include <filesystem>

using namespace llamac;
using namespace llamac::testing;

namespace {

using Header = std::array<int32_t, 7>; // dim, hidden, layers, heads, kv, vocab, seq

/// dim 8, hidden 12, 1 layer, 2 heads of 4, 1 kv head, shared 4-token vocab,
/// 4 positions.
constexpr Header kTinyHeader = {8, 12, 1, 2, 1, 4, 4};
/// embed 32, rms_att 8, wq 64, wk 32, wv 32, wo 64, rms_ffn 8, w1/w2/w3 96
/// each, rms_final 8, rotary tables 16.
constexpr size_t kTinyFloats = 552;

/// A .bin whose i-th float after the header is i.
std::string llama2cBytes(const Header &header, size_t floats) {
  std::string bytes(sizeof(Header) + floats * sizeof(float), '\0');
  std::memcpy(bytes.data(), header.data(), sizeof(Header));
  for (size_t i = 0; i < floats; ++i) {
    float value = static_cast<float>(i);
    std::memcpy(bytes.data() + sizeof(Header) + i * sizeof(float), &value,
                sizeof value);
  }
  return bytes;
}

class Llama2cTest : public ::testing::Test {
protected:
  std::optional<ModelSpec> load(const Header &header, size_t floats) {
    path = dir.write("model.bin", llama2cBytes(header, floats));
    return loadLlama2c(path, error);
  }
  void expectRefused(const Header &header, size_t floats,
                     const std::string &problem) {
    EXPECT_FALSE(load(header, floats));
    EXPECT_TRUE(mentions(error, {path, problem}));
  }
  /// The float at `row`, `column` of a weight.
  static float at(const WeightInfo &weight, int64_t row, int64_t column) {
    return static_cast<const float *>(weight.data)[row * weight.shape[1] + column];
  }

  TempDir dir;
  std::string path;
  std::string error;
};

TEST_F(Llama2cTest, LoadsStories260K) {
  std::string bin = sharedPath("models/stories260K/llama2c/stories260K.bin");
  std::optional<ModelSpec> spec = loadLlama2c(bin, error);
  ASSERT_TRUE(spec) << error;
  const LlamaConfig &config = spec->config;
  EXPECT_EQ(spec->format, SourceFormat::Llama2c);
  EXPECT_EQ(config.hiddenSize, 64);
  EXPECT_EQ(config.intermediateSize, 172);
  EXPECT_EQ(config.numLayers, 5);
  EXPECT_EQ(config.numHeads, 8);
  EXPECT_EQ(config.numKeyValueHeads, 4);
  EXPECT_EQ(config.headDim, 8);
  EXPECT_EQ(config.vocabSize, 512);
  EXPECT_EQ(config.maxPositionEmbeddings, 512);
  EXPECT_EQ(config.rmsNormEps, 1e-5);
  EXPECT_EQ(config.ropeTheta, 10000.0);
  EXPECT_TRUE(config.tieWordEmbeddings);
  EXPECT_FALSE(spec->findWeight("lm_head.weight"));
  EXPECT_EQ(spec->tokenizerPath,
            sharedPath("models/stories260K/llama2c/tok512.model"));
}

/// The Hugging Face conversion permuted wq / wk to the rotate-half layout;
/// byte-identical tables prove the import does the same.
TEST_F(Llama2cTest, Stories260KMatchesHuggingFaceConversion) {
  std::optional<ModelSpec> bin = loadLlama2c(
      sharedPath("models/stories260K/llama2c/stories260K.bin"), error);
  ASSERT_TRUE(bin) << error;
  std::optional<ModelSpec> hf =
      loadHuggingFace(sharedPath("models/stories260K/hf"), error);
  ASSERT_TRUE(hf) << error;
  EXPECT_TRUE(sameConfig(bin->config, hf->config));
  ASSERT_EQ(bin->weights.size(), hf->weights.size());
  for (size_t i = 0; i < bin->weights.size(); ++i) {
    const WeightInfo &a = bin->weights[i];
    const WeightInfo &b = hf->weights[i];
    SCOPED_TRACE(a.name);
    EXPECT_EQ(a.name, b.name);
    EXPECT_EQ(a.shape, b.shape);
    EXPECT_EQ(a.dtype, b.dtype);
    ASSERT_EQ(a.byteSize, b.byteSize);
    EXPECT_EQ(std::memcmp(a.data, b.data, a.byteSize), 0);
  }
}

TEST_F(Llama2cTest, PermutesQueryAndKeyRowsOnly) {
  std::optional<ModelSpec> spec = load(kTinyHeader, kTinyFloats);
  ASSERT_TRUE(spec) << error;
  const WeightInfo &query = *spec->findWeight("model.layers.0.self_attn.q_proj.weight");
  const WeightInfo &key = *spec->findWeight("model.layers.0.self_attn.k_proj.weight");
  const WeightInfo &value = *spec->findWeight("model.layers.0.self_attn.v_proj.weight");
  const float queryStart = 40, keyStart = 104, valueStart = 136;
  // Within a head of 4, rotate-half row (half, i) is interleaved row 2i + half.
  const int interleavedRow[8] = {0, 2, 1, 3, 4, 6, 5, 7};
  for (int row = 0; row < 8; ++row)
    EXPECT_EQ(at(query, row, 3), queryStart + interleavedRow[row] * 8 + 3);
  for (int row = 0; row < 4; ++row) {
    EXPECT_EQ(at(key, row, 0), keyStart + interleavedRow[row] * 8);
    EXPECT_EQ(at(value, row, 0), valueStart + row * 8);
  }
  EXPECT_EQ(query.file, "");
  EXPECT_EQ(value.file, path);
  EXPECT_EQ(value.fileOffset, 28 + valueStart * 4);
  EXPECT_EQ(spec->ownedBuffers.size(), 2u);
}

TEST_F(Llama2cTest, MapsFeedForwardNames) {
  std::optional<ModelSpec> spec = load(kTinyHeader, kTinyFloats);
  ASSERT_TRUE(spec) << error;
  // w1 (gate), w2 (down), w3 (up) follow rms_ffn at float 232.
  EXPECT_EQ(at(*spec->findWeight("model.layers.0.mlp.gate_proj.weight"), 0, 0), 240);
  EXPECT_EQ(at(*spec->findWeight("model.layers.0.mlp.down_proj.weight"), 0, 0), 336);
  EXPECT_EQ(at(*spec->findWeight("model.layers.0.mlp.up_proj.weight"), 0, 0), 432);
  EXPECT_EQ(static_cast<const float *>(
                spec->findWeight("model.norm.weight")->data)[0], 528);
}

TEST_F(Llama2cTest, NegativeVocabularyMeansUnsharedClassifier) {
  Header header = kTinyHeader;
  header[5] = -4;
  std::optional<ModelSpec> spec = load(header, kTinyFloats + 32);
  ASSERT_TRUE(spec) << error;
  EXPECT_FALSE(spec->config.tieWordEmbeddings);
  EXPECT_EQ(spec->config.vocabSize, 4);
  const WeightInfo *head = spec->findWeight("lm_head.weight");
  ASSERT_TRUE(head);
  EXPECT_EQ(at(*head, 0, 0), kTinyFloats);
}

TEST_F(Llama2cTest, RefusesNegativeSizes) {
  Header header = kTinyHeader;
  header[0] = -8;
  expectRefused(header, kTinyFloats, "header field dim is -8; it must be positive");
  header = kTinyHeader;
  header[3] = 0;
  expectRefused(header, kTinyFloats, "header field n_heads is 0");
  header = kTinyHeader;
  header[5] = 0;
  expectRefused(header, kTinyFloats, "header field vocab_size is 0; it must be non-zero");
}

TEST_F(Llama2cTest, RefusesInconsistentHeads) {
  Header header = kTinyHeader;
  header[3] = 3;
  expectRefused(header, kTinyFloats, "n_heads 3 does not divide dim 8");
  header = kTinyHeader;
  header[4] = 3;
  expectRefused(header, kTinyFloats,
                "num_key_value_heads 3 does not divide num_attention_heads 2");
}

TEST_F(Llama2cTest, RefusesAbsurdSizes) {
  Header header = kTinyHeader;
  header[2] = 1 << 20;
  expectRefused(header, kTinyFloats, "num_hidden_layers 1048576 is absurdly large");
  header = {1 << 30, 1 << 30, 1 << 16, 1, 1, 4, 4};
  expectRefused(header, kTinyFloats, "the file they imply is larger than 2^64 bytes");
  header = {1 << 30, 12, 1, 2, 1, 4, 4};
  expectRefused(header, kTinyFloats, "header implies");
}

TEST_F(Llama2cTest, RefusesFileShorterThanHeaderImplies) {
  expectRefused(kTinyHeader, kTinyFloats - 1,
                "file is 2232 bytes, header implies 2236");
}

TEST_F(Llama2cTest, RefusesFileLongerThanHeaderImplies) {
  expectRefused(kTinyHeader, kTinyFloats + 1,
                "file is 2240 bytes, header implies 2236");
}

TEST_F(Llama2cTest, RefusesFileShorterThanHeader) {
  path = dir.write("model.bin", std::string(10, '\1'));
  EXPECT_FALSE(loadLlama2c(path, error));
  EXPECT_TRUE(mentions(error, {path, "file is 10 bytes, shorter than the 28-byte"}));
}

TEST_F(Llama2cTest, RefusesMissingFile) {
  path = dir.path("absent.bin");
  EXPECT_FALSE(loadLlama2c(path, error));
  EXPECT_TRUE(mentions(error, {path, "cannot open"}));
}

TEST_F(Llama2cTest, FindsTokenizerByStemThenConventionalName) {
  dir.write("a.model", "x");
  dir.write("b.model", "x");
  std::optional<ModelSpec> spec = load(kTinyHeader, kTinyFloats);
  ASSERT_TRUE(spec) << error;
  EXPECT_EQ(spec->tokenizerPath, "") << "two candidates: neither is chosen";
  dir.write("tokenizer.model", "x");
  spec = load(kTinyHeader, kTinyFloats);
  ASSERT_TRUE(spec) << error;
  EXPECT_EQ(spec->tokenizerPath, dir.path("tokenizer.model"));
  dir.write("model.model", "x");
  spec = load(kTinyHeader, kTinyFloats);
  ASSERT_TRUE(spec) << error;
  EXPECT_EQ(spec->tokenizerPath, dir.path("model.model"));
}

} // namespace
