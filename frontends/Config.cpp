//===- Config.cpp - config.json in transformers' 4.x and 5.x dialects -----===//
//
// transformers 4.x writes top-level `rope_theta`, `rope_scaling` and
// `torch_dtype`; 5.x writes `rope_parameters: {rope_theta, rope_type, ...}`
// and `dtype`. Both are read; absent keys get transformers' defaults.
//
//===----------------------------------------------------------------------===//

#include "frontends/Errors.h"
#include "frontends/Json.h"
#include "frontends/ModelSpec.h"

#include <cmath>
#include <cstdlib>
#include <limits>

namespace llamac {

using nlohmann::json;

namespace {

/// Nothing reasonable comes close; the bounds keep every weight's byte size
/// (at most two of these multiplied, times 4) inside 64 bits.
constexpr int64_t kMaxDimension = (int64_t(1) << 31) - 1;
constexpr int64_t kMaxLayers = 1 << 16;
constexpr uint64_t kMaxConfigBytes = 16 << 20;

std::string describe(const json &value) {
  return std::string(value.type_name()) + " " + briefJson(value);
}

/// Typed access to the keys of one JSON object; messages name the key with
/// its enclosing object, e.g. 'rope_parameters.factor'.
class Fields {
public:
  Fields(const json &object, std::string prefix)
      : object(object), prefix(std::move(prefix)) {}

  /// The value of `key`, or nullptr when it is absent or null (transformers
  /// treats both as "use the default").
  const json *find(const char *key) const {
    auto it = object.find(key);
    return it == object.end() || it->is_null() ? nullptr : &*it;
  }

  std::string name(const char *key) const { return "'" + prefix + key + "'"; }

  int64_t integer(const char *key, int64_t fallback) const {
    const json *value = find(key);
    return value ? asInteger(*value, name(key)) : fallback;
  }

  double number(const char *key, double fallback) const {
    const json *value = find(key);
    if (!value)
      return fallback;
    if (!value->is_number())
      fail(name(key) + " must be a number, got " + describe(*value));
    return value->get<double>();
  }

  bool boolean(const char *key, bool fallback) const {
    const json *value = find(key);
    if (!value)
      return fallback;
    if (!value->is_boolean())
      fail(name(key) + " must be true or false, got " + describe(*value));
    return value->get<bool>();
  }

  std::string string(const char *key, const std::string &fallback) const {
    const json *value = find(key);
    if (!value)
      return fallback;
    if (!value->is_string())
      fail(name(key) + " must be a string, got " + describe(*value));
    return value->get<std::string>();
  }

  /// The object at `key`; nullopt when absent or null.
  std::optional<Fields> nested(const char *key) const {
    const json *value = find(key);
    if (!value)
      return std::nullopt;
    if (!value->is_object())
      fail(name(key) + " must be an object, got " + describe(*value));
    return Fields(*value, prefix + key + ".");
  }

  static int64_t asInteger(const json &value, const std::string &name) {
    if (value.is_number_unsigned() &&
        value.get<uint64_t>() > uint64_t(std::numeric_limits<int64_t>::max()))
      fail(name + " is out of range: " + briefJson(value));
    if (!value.is_number_integer())
      fail(name + " must be an integer, got " + describe(value));
    return value.get<int64_t>();
  }

private:
  const json &object;
  std::string prefix;
};

Architecture readArchitecture(const Fields &top) {
  std::string modelType = top.string("model_type", "llama");
  if (modelType != "llama")
    fail("model_type '" + printable(modelType) + "' is not supported (only llama)");
  const json *architectures = top.find("architectures");
  if (!architectures)
    return Architecture::CausalLM;
  if (!architectures->is_array() || architectures->empty() ||
      !(*architectures)[0].is_string())
    fail("'architectures' must be a non-empty list of strings, got " +
         describe(*architectures));
  std::string name = (*architectures)[0].get<std::string>();
  if (name == "LlamaForCausalLM")
    return Architecture::CausalLM;
  if (name == "LlamaForSequenceClassification")
    return Architecture::SequenceClassification;
  fail("architecture '" + printable(name) +
       "' is not supported (supported: LlamaForCausalLM, "
       "LlamaForSequenceClassification)");
}

/// transformers derives num_labels from id2label when it is not given, and
/// defaults to 2.
int64_t readNumLabels(const Fields &top) {
  if (top.find("num_labels"))
    return top.integer("num_labels", 0);
  const json *id2label = top.find("id2label");
  if (!id2label)
    return 2;
  if (!id2label->is_object())
    fail("'id2label' must be an object, got " + describe(*id2label));
  return static_cast<int64_t>(id2label->size());
}

/// id2label ({"0": "NEGATIVE", "1": "POSITIVE"}) as names by index: one for
/// each of the `numLabels` classes, or none when it is absent.
std::vector<std::string> readLabels(const Fields &top, int64_t numLabels) {
  const json *id2label = top.find("id2label");
  if (!id2label)
    return {};
  if (!id2label->is_object())
    fail("'id2label' must be an object, got " + describe(*id2label));
  if (int64_t(id2label->size()) != numLabels)
    fail("'id2label' names " + std::to_string(id2label->size()) +
         " classes, but num_labels is " + std::to_string(numLabels));
  std::vector<std::string> labels(id2label->size());
  std::vector<bool> named(id2label->size(), false);
  for (const auto &[key, value] : id2label->items()) {
    char *end = nullptr;
    const long long index = std::strtoll(key.c_str(), &end, 10);
    if (key.empty() || *end != '\0' || index < 0 || index >= numLabels ||
        named[size_t(index)])
      fail("'id2label' key '" + printable(key) +
           "' is not a class index from 0 to num_labels - 1, each once");
    if (!value.is_string())
      fail("'id2label' value of '" + printable(key) +
           "' must be a string, got " + describe(value));
    labels[size_t(index)] = value.get<std::string>();
    named[size_t(index)] = true;
  }
  return labels;
}

/// Llama 3 style configs list several end tokens; the first is the one
/// generation stops on by default.
int64_t readEosTokenId(const Fields &top, int64_t fallback) {
  const json *eos = top.find("eos_token_id");
  if (!eos || !eos->is_array())
    return top.integer("eos_token_id", fallback);
  if (eos->empty())
    fail("'eos_token_id' must not be an empty list");
  return Fields::asInteger((*eos)[0], "'eos_token_id[0]'");
}

/// `scaling` is 4.x's rope_scaling or 5.x's rope_parameters; both name the
/// type `rope_type` (4.x also `type`).
void readRopeScaling(const Fields &scaling, LlamaConfig &config) {
  std::string type =
      scaling.string("rope_type", scaling.string("type", "default"));
  if (type == "default")
    return;
  if (type != "linear")
    fail("rope scaling type '" + printable(type) +
         "' is not supported (supported: default, linear)");
  if (!scaling.find("factor"))
    fail(scaling.name("factor") + " is required for linear rope scaling");
  config.ropeLinearFactor = scaling.number("factor", 1.0);
}

void readRope(const Fields &top, LlamaConfig &config) {
  config.ropeTheta = top.number("rope_theta", 10000.0);
  if (std::optional<Fields> parameters = top.nested("rope_parameters")) {
    config.ropeTheta = parameters->number("rope_theta", config.ropeTheta);
    readRopeScaling(*parameters, config);
  } else if (std::optional<Fields> scaling = top.nested("rope_scaling")) {
    readRopeScaling(*scaling, config);
  }
}

DType readDType(const Fields &top) {
  const char *key = top.find("dtype") ? "dtype" : "torch_dtype";
  std::string name = top.string(key, "float32");
  std::optional<DType> dtype = parseDType(name);
  if (!dtype)
    fail(top.name(key) + " '" + printable(name) +
         "' is not supported (supported: float32, float16, bfloat16)");
  return *dtype;
}

/// What the math does not support at all (as opposed to inconsistent sizes,
/// which validateConfig reports).
void rejectUnsupportedFeatures(const Fields &top) {
  std::string activation = top.string("hidden_act", "silu");
  if (activation != "silu")
    fail("hidden_act '" + printable(activation) + "' is not supported (only silu)");
  for (const char *bias : {"attention_bias", "mlp_bias"})
    if (top.boolean(bias, false))
      fail("'" + std::string(bias) + "' is true; biases are not supported");
}

LlamaConfig parseConfig(const json &root) {
  Fields top(root, "");
  rejectUnsupportedFeatures(top);
  LlamaConfig config;
  config.architecture = readArchitecture(top);
  config.vocabSize = top.integer("vocab_size", 32000);
  config.hiddenSize = top.integer("hidden_size", 4096);
  config.intermediateSize = top.integer("intermediate_size", 11008);
  config.numLayers = top.integer("num_hidden_layers", 32);
  config.numHeads = top.integer("num_attention_heads", 32);
  config.numKeyValueHeads =
      top.integer("num_key_value_heads", config.numHeads);
  if (top.find("head_dim")) {
    config.headDim = top.integer("head_dim", 0);
  } else if (config.numHeads > 0) {
    if (config.hiddenSize % config.numHeads != 0)
      fail("hidden_size " + std::to_string(config.hiddenSize) +
           " is not divisible by num_attention_heads " +
           std::to_string(config.numHeads) + " (and head_dim is not given)");
    config.headDim = config.hiddenSize / config.numHeads;
  }
  config.maxPositionEmbeddings = top.integer("max_position_embeddings", 2048);
  config.rmsNormEps = top.number("rms_norm_eps", 1e-6);
  readRope(top, config);
  config.tieWordEmbeddings = top.boolean("tie_word_embeddings", false);
  if (config.architecture == Architecture::SequenceClassification) {
    config.numLabels = readNumLabels(top);
    config.labels = readLabels(top, config.numLabels);
  }
  config.bosTokenId = top.integer("bos_token_id", 1);
  config.eosTokenId = readEosTokenId(top, 2);
  if (top.find("pad_token_id"))
    config.padTokenId = top.integer("pad_token_id", 0);
  config.dtype = readDType(top);
  // pretraining_tp only splits the matmuls into slices; the result is the same.
  if (std::string problem = validateConfig(config); !problem.empty())
    fail(problem);
  return config;
}

const char *torchDTypeName(DType dtype) {
  switch (dtype) {
  case DType::F32:
    return "float32";
  case DType::F16:
    return "float16";
  case DType::BF16:
    return "bfloat16";
  }
  return "?";
}

std::string checkSize(const char *key, int64_t value, int64_t limit) {
  if (value <= 0)
    return std::string(key) + " must be positive, got " +
           std::to_string(value);
  if (value > limit)
    return std::string(key) + " " + std::to_string(value) +
           " is absurdly large (limit " + std::to_string(limit) + ")";
  return "";
}

std::string checkTokenId(const char *key, int64_t id, int64_t vocabSize) {
  if (id < 0 || id >= vocabSize)
    return std::string(key) + " " + std::to_string(id) +
           " is outside the vocabulary [0, " + std::to_string(vocabSize) + ")";
  return "";
}

std::string checkPositiveFinite(const char *key, double value) {
  if (!(value > 0) || !std::isfinite(value))
    return std::string(key) + " must be a positive finite number, got " +
           json(value).dump();
  return "";
}

} // namespace

std::string validateConfig(const LlamaConfig &config) {
  const std::pair<const char *, int64_t> dimensions[] = {
      {"vocab_size", config.vocabSize},
      {"hidden_size", config.hiddenSize},
      {"intermediate_size", config.intermediateSize},
      {"num_attention_heads", config.numHeads},
      {"num_key_value_heads", config.numKeyValueHeads},
      {"head_dim", config.headDim},
      {"max_position_embeddings", config.maxPositionEmbeddings}};
  for (const auto &[key, value] : dimensions)
    if (std::string problem = checkSize(key, value, kMaxDimension);
        !problem.empty())
      return problem;
  if (std::string problem =
          checkSize("num_hidden_layers", config.numLayers, kMaxLayers);
      !problem.empty())
    return problem;
  if (config.numHeads * config.headDim > kMaxDimension)
    return "num_attention_heads * head_dim is absurdly large";
  if (config.numHeads % config.numKeyValueHeads != 0)
    return "num_key_value_heads " + std::to_string(config.numKeyValueHeads) +
           " does not divide num_attention_heads " +
           std::to_string(config.numHeads);
  if (config.headDim % 2 != 0)
    return "head_dim " + std::to_string(config.headDim) +
           " must be even (rotary embeddings rotate pairs)";
  if (config.architecture == Architecture::SequenceClassification)
    if (std::string problem =
            checkSize("num_labels", config.numLabels, kMaxDimension);
        !problem.empty())
      return problem;
  for (const auto &[key, value] :
       {std::pair<const char *, double>{"rms_norm_eps", config.rmsNormEps},
        {"rope_theta", config.ropeTheta},
        {"rope scaling factor", config.ropeLinearFactor}})
    if (std::string problem = checkPositiveFinite(key, value); !problem.empty())
      return problem;
  if (std::string problem =
          checkTokenId("bos_token_id", config.bosTokenId, config.vocabSize);
      !problem.empty())
    return problem;
  if (std::string problem =
          checkTokenId("eos_token_id", config.eosTokenId, config.vocabSize);
      !problem.empty())
    return problem;
  if (config.padTokenId)
    return checkTokenId("pad_token_id", *config.padTokenId, config.vocabSize);
  return "";
}

std::optional<LlamaConfig> loadConfigFile(const std::string &path,
                                          std::string &error) {
  return reportFailures(path, error, [&]() -> std::optional<LlamaConfig> {
    return parseConfig(readJsonObjectFile(path, kMaxConfigBytes));
  });
}

std::optional<LlamaConfig> parseConfigText(const std::string &text,
                                           const std::string &origin,
                                           std::string &error) {
  return reportFailures(origin, error, [&]() -> std::optional<LlamaConfig> {
    if (text.size() > kMaxConfigBytes)
      throw FormatError("config is larger than " +
                        std::to_string(kMaxConfigBytes) + " bytes");
    const auto *begin = reinterpret_cast<const uint8_t *>(text.data());
    json document = parseJson(begin, begin + text.size(), false);
    if (!document.is_object())
      throw FormatError("expected a JSON object, got " +
                        std::string(document.type_name()));
    return parseConfig(document);
  });
}

std::string configToJson(const LlamaConfig &config) {
  const bool classifier =
      config.architecture == Architecture::SequenceClassification;
  json rope = {{"rope_theta", config.ropeTheta}, {"rope_type", "default"}};
  if (config.ropeLinearFactor != 1.0) {
    rope["rope_type"] = "linear";
    rope["factor"] = config.ropeLinearFactor;
  }
  json document = {
      {"architectures",
       json::array({classifier ? "LlamaForSequenceClassification"
                               : "LlamaForCausalLM"})},
      {"model_type", "llama"},
      {"vocab_size", config.vocabSize},
      {"hidden_size", config.hiddenSize},
      {"intermediate_size", config.intermediateSize},
      {"num_hidden_layers", config.numLayers},
      {"num_attention_heads", config.numHeads},
      {"num_key_value_heads", config.numKeyValueHeads},
      {"head_dim", config.headDim},
      {"max_position_embeddings", config.maxPositionEmbeddings},
      {"rms_norm_eps", config.rmsNormEps},
      {"rope_parameters", rope},
      {"hidden_act", "silu"},
      {"attention_bias", false},
      {"mlp_bias", false},
      {"tie_word_embeddings", config.tieWordEmbeddings},
      {"bos_token_id", config.bosTokenId},
      {"eos_token_id", config.eosTokenId},
      {"pad_token_id", config.padTokenId ? json(*config.padTokenId) : json()},
      {"dtype", torchDTypeName(config.dtype)}};
  if (classifier)
    document["num_labels"] = config.numLabels;
  for (size_t index = 0; index < config.labels.size(); ++index)
    document["id2label"][std::to_string(index)] = config.labels[index];
  return document.dump(2) + "\n";
}

} // namespace llamac
