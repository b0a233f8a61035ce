//===- ModelSpec.cpp - The weight table a config implies, and dispatch ----===//

#include "frontends/Errors.h"
#include "frontends/ModelSpec.h"

#include <filesystem>

namespace llamac {

namespace fs = std::filesystem;

DType kvCacheDType(DType compute) {
  return compute == DType::BF16 ? DType::F16 : compute;
}

const char *dtypeName(DType dtype) {
  switch (dtype) {
  case DType::F32:
    return "f32";
  case DType::F16:
    return "f16";
  case DType::BF16:
    return "bf16";
  }
  return "?";
}

std::optional<DType> parseDType(const std::string &text) {
  if (text == "f32" || text == "F32" || text == "float32")
    return DType::F32;
  if (text == "f16" || text == "F16" || text == "float16")
    return DType::F16;
  if (text == "bf16" || text == "BF16" || text == "bfloat16")
    return DType::BF16;
  return std::nullopt;
}

size_t dtypeSize(DType dtype) { return dtype == DType::F32 ? 4 : 2; }

uint64_t elementCount(const std::vector<int64_t> &shape) {
  uint64_t count = 1;
  for (int64_t dimension : shape)
    count *= static_cast<uint64_t>(dimension);
  return count;
}

std::string formatShape(const std::vector<int64_t> &shape) {
  std::string text = "[";
  for (size_t i = 0; i < shape.size(); ++i)
    text += (i ? ", " : "") + std::to_string(shape[i]);
  return text + "]";
}

const WeightInfo *ModelSpec::findWeight(const std::string &name) const {
  for (const WeightInfo &weight : weights)
    if (weight.name == name)
      return &weight;
  return nullptr;
}

int64_t ModelSpec::storedInt4GroupSize() const {
  for (const WeightInfo &weight : weights)
    if (weight.int4GroupSize)
      return weight.int4GroupSize;
  return 0;
}

std::array<std::string, 3> int4PartNames(const std::string &name) {
  return {name + ".int4_codes", name + ".int4_scales", name + ".int4_mins"};
}

void ModelSpec::releaseWeightData(const WeightInfo &weight) const {
  for (const std::shared_ptr<MappedFile> &file : files)
    if (!weight.file.empty() && file->path() == weight.file)
      file->releasePages(weight.data, weight.byteSize);
}

std::vector<WeightRequirement>
canonicalWeightNames(const LlamaConfig &config) {
  const int64_t hidden = config.hiddenSize;
  const int64_t queryWidth = config.numHeads * config.headDim;
  const int64_t keyValueWidth = config.numKeyValueHeads * config.headDim;
  const int64_t inter = config.intermediateSize;

  std::vector<WeightRequirement> table;
  table.push_back({"model.embed_tokens.weight", {config.vocabSize, hidden}});
  for (int64_t layer = 0; layer < config.numLayers; ++layer) {
    const std::string prefix = "model.layers." + std::to_string(layer) + ".";
    table.push_back({prefix + "input_layernorm.weight", {hidden}});
    table.push_back({prefix + "self_attn.q_proj.weight", {queryWidth, hidden}});
    table.push_back({prefix + "self_attn.k_proj.weight", {keyValueWidth, hidden}});
    table.push_back({prefix + "self_attn.v_proj.weight", {keyValueWidth, hidden}});
    table.push_back({prefix + "self_attn.o_proj.weight", {hidden, queryWidth}});
    table.push_back({prefix + "post_attention_layernorm.weight", {hidden}});
    table.push_back({prefix + "mlp.gate_proj.weight", {inter, hidden}});
    table.push_back({prefix + "mlp.up_proj.weight", {inter, hidden}});
    table.push_back({prefix + "mlp.down_proj.weight", {hidden, inter}});
  }
  table.push_back({"model.norm.weight", {hidden}});
  if (config.architecture == Architecture::SequenceClassification)
    table.push_back({"score.weight", {config.numLabels, hidden}});
  else if (!config.tieWordEmbeddings)
    table.push_back({"lm_head.weight", {config.vocabSize, hidden}});
  return table;
}

std::optional<ModelSpec> loadModel(const std::string &path,
                                   std::string &error) {
  return reportFailures(path, error, [&]() -> std::optional<ModelSpec> {
    std::error_code ignored;
    fs::file_status status = fs::status(path, ignored);
    if (fs::is_directory(status))
      return loadHuggingFace(path, error);
    if (!fs::exists(status))
      fail("no such file or directory");
    if (fs::path(path).extension() == ".bin")
      return loadLlama2c(path, error);
    fail("not a checkpoint (expected a Hugging Face directory or a llama2.c "
         ".bin file)");
  });
}

} // namespace llamac
