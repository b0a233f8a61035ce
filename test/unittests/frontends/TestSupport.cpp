//===- TestSupport.cpp - Helpers for the frontend tests -------------------===//

#include "TestSupport.h"

#include "frontends/Safetensors.h"

#include <cstdlib>
#include <filesystem>
#include <fstream>

namespace llamac::testing {

namespace fs = std::filesystem;

TempDir::TempDir() {
  std::string pattern =
      (fs::temp_directory_path() / "llamac-frontends-XXXXXX").string();
  if (!::mkdtemp(pattern.data()))
    ADD_FAILURE() << "cannot create a temporary directory";
  root = pattern;
}

TempDir::~TempDir() {
  std::error_code ignored;
  fs::remove_all(root, ignored);
}

std::string TempDir::path(const std::string &name) const {
  return name.empty() ? root : (fs::path(root) / name).string();
}

std::string TempDir::write(const std::string &name,
                           const std::string &bytes) const {
  std::string file = path(name);
  fs::create_directories(fs::path(file).parent_path());
  std::ofstream(file, std::ios::binary) << bytes;
  return file;
}

std::string sharedPath(const std::string &relative) {
  fs::path path = fs::path(LLAMAC_SHARED_DIR) / relative;
  EXPECT_TRUE(fs::exists(path)) << "missing shared reference file " << path;
  return path.string();
}

::testing::AssertionResult mentions(const std::string &error,
                                    std::initializer_list<std::string> parts) {
  if (error.find('\n') != std::string::npos)
    return ::testing::AssertionFailure()
           << "error is not one line: " << error;
  for (const std::string &part : parts)
    if (error.find(part) == std::string::npos)
      return ::testing::AssertionFailure()
             << "error \"" << error << "\" does not mention \"" << part << "\"";
  return ::testing::AssertionSuccess() << error;
}

std::string rawSafetensors(const std::string &header, size_t dataBytes) {
  std::string bytes(8, '\0');
  for (int i = 0; i < 8; ++i)
    bytes[i] = static_cast<char>(uint64_t(header.size()) >> (8 * i));
  return bytes + header + std::string(dataBytes, '\0');
}

LlamaConfig tinyConfig() {
  LlamaConfig config;
  config.vocabSize = 32;
  config.hiddenSize = 16;
  config.intermediateSize = 24;
  config.numLayers = 2;
  config.numHeads = 4;
  config.numKeyValueHeads = 2;
  config.headDim = 4;
  config.maxPositionEmbeddings = 64;
  config.rmsNormEps = 1e-5;
  return config;
}

std::vector<SafetensorsTensorData> tensorsOf(const ModelSpec &spec) {
  std::vector<SafetensorsTensorData> tensors;
  for (const WeightInfo &weight : spec.weights) {
    const auto *data = static_cast<const uint8_t *>(weight.data);
    tensors.push_back({weight.name, safetensorsDTypeName(weight.dtype),
                       weight.shape,
                       std::vector<uint8_t>(data, data + weight.byteSize)});
  }
  return tensors;
}

::testing::AssertionResult sameConfig(const LlamaConfig &actual,
                                      const LlamaConfig &expected) {
#define LLAMAC_COMPARE_FIELD(field)                                            \
  if (!(actual.field == expected.field))                                       \
    return ::testing::AssertionFailure() << #field " differs";
  LLAMAC_COMPARE_FIELD(architecture)
  LLAMAC_COMPARE_FIELD(vocabSize)
  LLAMAC_COMPARE_FIELD(hiddenSize)
  LLAMAC_COMPARE_FIELD(intermediateSize)
  LLAMAC_COMPARE_FIELD(numLayers)
  LLAMAC_COMPARE_FIELD(numHeads)
  LLAMAC_COMPARE_FIELD(numKeyValueHeads)
  LLAMAC_COMPARE_FIELD(headDim)
  LLAMAC_COMPARE_FIELD(maxPositionEmbeddings)
  LLAMAC_COMPARE_FIELD(rmsNormEps)
  LLAMAC_COMPARE_FIELD(ropeTheta)
  LLAMAC_COMPARE_FIELD(ropeLinearFactor)
  LLAMAC_COMPARE_FIELD(tieWordEmbeddings)
  LLAMAC_COMPARE_FIELD(numLabels)
  LLAMAC_COMPARE_FIELD(labels)
  LLAMAC_COMPARE_FIELD(bosTokenId)
  LLAMAC_COMPARE_FIELD(eosTokenId)
  LLAMAC_COMPARE_FIELD(padTokenId)
  LLAMAC_COMPARE_FIELD(dtype)
#undef LLAMAC_COMPARE_FIELD
  return ::testing::AssertionSuccess();
}

} // namespace llamac::testing
