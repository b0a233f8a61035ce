//===- GenerationConfig.cpp - A checkpoint's generation defaults ----------===//

#include "runtime/GenerationConfig.h"

#include <nlohmann/json.hpp>

namespace llamac {

using nlohmann::json;

namespace {

/// Reads optional members of generation_config; the first wrong type wins.
class FieldReader {
public:
  explicit FieldReader(const json &object) : object(object) {}

  template <typename T> void read(const char *key, std::optional<T> &field) {
    auto it = object.find(key);
    if (!error.empty() || it == object.end() || it->is_null())
      return;
    if (!hasType<T>(*it)) {
      error = std::string("field 'generation_config.") + key + "' must be " +
              typeName<T>();
      return;
    }
    field = it->get<T>();
  }

  std::string error;

private:
  template <typename T> static bool hasType(const json &value) {
    if constexpr (std::is_same_v<T, bool>)
      return value.is_boolean();
    else if constexpr (std::is_integral_v<T>)
      return value.is_number_integer();
    else
      return value.is_number();
  }

  template <typename T> static const char *typeName() {
    if constexpr (std::is_same_v<T, bool>)
      return "true or false";
    else if constexpr (std::is_integral_v<T>)
      return "an integer";
    else
      return "a number";
  }

  const json &object;
};

} // namespace

std::optional<GenerationConfig> parseGenerationConfig(const json &object,
                                                      std::string &error) {
  if (!object.is_object()) {
    error = "field 'generation_config' must be an object or null";
    return std::nullopt;
  }
  GenerationConfig config;
  FieldReader reader(object);
  reader.read("do_sample", config.doSample);
  reader.read("temperature", config.temperature);
  reader.read("top_k", config.topK);
  reader.read("top_p", config.topP);
  reader.read("min_p", config.minP);
  reader.read("repetition_penalty", config.repetitionPenalty);
  reader.read("no_repeat_ngram_size", config.noRepeatNgramSize);
  reader.read("min_length", config.minLength);
  reader.read("min_new_tokens", config.minNewTokens);
  if (!reader.error.empty()) {
    error = reader.error;
    return std::nullopt;
  }
  return config;
}

SamplingOptions defaultSampling(const std::optional<GenerationConfig> &config) {
  GenerationConfig fields = config.value_or(GenerationConfig());
  SamplingOptions options;
  options.temperature =
      fields.doSample.value_or(false) ? fields.temperature.value_or(1.0f) : 0;
  options.topK = fields.topK.value_or(50);
  options.topP = fields.topP.value_or(1.0f);
  options.minP = fields.minP.value_or(0.0f);
  options.repetitionPenalty = fields.repetitionPenalty.value_or(1.0f);
  options.noRepeatNgramSize = fields.noRepeatNgramSize.value_or(0);
  options.minLength = fields.minLength.value_or(0);
  options.minNewTokens = fields.minNewTokens.value_or(0);
  return options;
}

} // namespace llamac
