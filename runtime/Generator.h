//===- Generator.h - Prompt in, generated token ids out ---------*- C++ -*-===//
//
// One prefill over the left-padded prompts, then one decode step per new
// token. A row stops after it produces EOS (which it reports, as Hugging
// Face does); it keeps being fed EOS while other rows continue, and what it
// computes then is discarded.
//
//===----------------------------------------------------------------------===//
#ifndef LLAMAC_RUNTIME_GENERATOR_H
#define LLAMAC_RUNTIME_GENERATOR_H

#include "runtime/CompiledModel.h"
#include "runtime/Sampler.h"

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

namespace llamac {

struct GenerationOptions {
  int64_t maxNewTokens = 0;
  SamplingOptions sampling;
  /// Keep prefill's logits in GenerationResult::promptLogits.
  bool keepPromptLogits = false;
};

struct GenerationResult {
  /// Per row, the ids after the prompt, ending with EOS if it was produced.
  std::vector<std::vector<int32_t>> generated;
  /// [rows, longest prompt, vocab] (left-padded rows) when asked for.
  std::vector<float> promptLogits;
  int64_t promptTokens = 0;  ///< Real (not padding) prompt tokens, all rows.
  int64_t decodeTokens = 0;  ///< Tokens the decode steps computed, all rows.
  double prefillSeconds = 0;
  double decodeSeconds = 0;
};

/// "" if `prompts` can be generated from with `options` on this artifact
/// (a logits artifact, ids in the vocabulary, within max_batch and max_seq),
/// else the first problem.
std::string checkGenerationRequest(const Manifest &manifest,
                                   const std::vector<std::vector<int32_t>> &prompts,
                                   const GenerationOptions &options);

/// Checks the request, then generates. On a refused request returns nullopt
/// and sets `error`; nothing has been computed then.
std::optional<GenerationResult>
generate(CompiledModel &model, const std::vector<std::vector<int32_t>> &prompts,
         const GenerationOptions &options, std::string &error);

} // namespace llamac

#endif // LLAMAC_RUNTIME_GENERATOR_H
