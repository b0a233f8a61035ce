//===- GenerationConfig.h - A checkpoint's generation defaults --*- C++ -*-===//
//
// A checkpoint's generation_config.json says how its authors meant it to be
// sampled (Llama-2-chat: do_sample, temperature 0.6, top_p 0.9). The artifact
// carries that object and the runtime starts from it as Hugging Face's
// generate() does: every field the file leaves out takes GenerationConfig's
// own default, and without `do_sample: true` decoding is greedy.
//
//===----------------------------------------------------------------------===//
#ifndef LLAMAC_RUNTIME_GENERATIONCONFIG_H
#define LLAMAC_RUNTIME_GENERATIONCONFIG_H

#include "runtime/Sampler.h"

#include <cstdint>
#include <nlohmann/json_fwd.hpp>
#include <optional>
#include <string>

namespace llamac {

/// The fields of generation_config.json that choose tokens; a field that is
/// absent or null stays nullopt. Other fields are not read.
struct GenerationConfig {
  std::optional<bool> doSample;
  std::optional<float> temperature;
  std::optional<int64_t> topK;
  std::optional<float> topP;
  std::optional<float> minP;
  std::optional<float> repetitionPenalty;
  std::optional<int64_t> noRepeatNgramSize;
  std::optional<int64_t> minLength;
  std::optional<int64_t> minNewTokens;
};

/// Reads the manifest's `generation_config` object. On a field of the wrong
/// type returns nullopt and sets `error`, naming the field.
std::optional<GenerationConfig>
parseGenerationConfig(const nlohmann::json &object, std::string &error);

/// Hugging Face GenerationConfig's defaults (do_sample false, temperature 1,
/// top_k 50, top_p 1, no min_p, repetition_penalty 1, no_repeat_ngram_size
/// 0, min_length 0, no min_new_tokens) overridden by
/// `config`'s fields. Greedy (temperature 0) unless do_sample is true; the
/// repetition penalty applies either way, as in Hugging Face.
SamplingOptions defaultSampling(const std::optional<GenerationConfig> &config);

} // namespace llamac

#endif // LLAMAC_RUNTIME_GENERATIONCONFIG_H
