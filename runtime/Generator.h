//===- Generator.h - Prompt in, generated token ids out ---------*- C++ -*-===//
//
// One prefill over the left-padded prompts, then one decode step per new
// token. A row stops after it produces EOS (which it reports, as Hugging
// Face does) or when the caller's observer says so; it keeps being fed its
// last token while other rows continue, and what it computes then is
// discarded.
//
// The token that ends a generation is chosen but never run through the
// model: the cache holds the prompt and every generated token but the last.
//
//===----------------------------------------------------------------------===//
#ifndef LLAMAC_RUNTIME_GENERATOR_H
#define LLAMAC_RUNTIME_GENERATOR_H

#include "runtime/CompiledModel.h"
#include "runtime/PromptLookup.h"
#include "runtime/Sampler.h"
#include "runtime/TokenConstraint.h"

#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <vector>

namespace llamac {

struct GeneratedTokenLogprobs {
  float logprob; ///< The generated token's.
  std::vector<TokenLogprob> top;
};

struct GenerationOptions {
  int64_t maxNewTokens = 0;
  SamplingOptions sampling;
  /// Per row, its settings in place of `sampling`: several samples of one
  /// prompt (OpenAI's n, each with its seed), or several clients' requests,
  /// as rows of one batch. Empty: every row's are `sampling`.
  std::vector<SamplingOptions> rowSampling;
  /// Per row, its limit in place of maxNewTokens, which must be the largest
  /// of them (the batch decodes that long). Empty: every row's is
  /// maxNewTokens.
  std::vector<int64_t> rowMaxNewTokens;
  /// Keep prefill's logits in GenerationResult::promptLogits.
  bool keepPromptLogits = false;
  /// Keep the logits each token after the first was chosen from in
  /// GenerationResult::decodeLogits.
  bool keepDecodeLogits = false;
  /// Keep each generated token's log-probability in GenerationResult::
  /// logprobs, with this many most likely tokens' beside it (0: none).
  /// They are the model's: of the raw logits, before the logit bias, the
  /// penalties and temperature reshape them for sampling.
  std::optional<int64_t> topLogprobs;
  /// Draft tokens from the context (see PromptLookup.h) for a single row; a
  /// batch's rows would keep different numbers of them, and share one cache
  /// slot per step, so a batch decodes one token per step.
  PromptLookupOptions promptLookup;
  /// Go on past EOS (benchmarks and long-context checks want a fixed length).
  bool ignoreEos = false;
  /// Per row, what limits its choices (JSON mode), or null for nothing;
  /// unset: nothing. The tokens it removes stay removed whatever the logit
  /// bias, penalties and temperature do; log-probabilities are the model's.
  std::function<std::unique_ptr<TokenConstraint>(size_t row)> makeConstraint;

  /// Row `row`'s sampling settings and limit on new tokens.
  const SamplingOptions &samplingOf(size_t row) const {
    return rowSampling.empty() ? sampling : rowSampling[row];
  }
  int64_t maxNewTokensOf(size_t row) const {
    return rowMaxNewTokens.empty() ? maxNewTokens : rowMaxNewTokens[row];
  }
  /// Sees every row's tokens as they are chosen, EOS included, with their
  /// log-probabilities when topLogprobs is set (else null). Returning false
  /// ends the row there as EOS would; the token stays in its output.
  std::function<bool(size_t row, int32_t token,
                     const GeneratedTokenLogprobs *logprobs)>
      onToken;
};

/// The token that ends a row: the config's EOS, or none (-1) with ignoreEos.
int32_t endOfSequenceId(const Manifest &manifest,
                        const GenerationOptions &options);

struct GenerationResult {
  /// Per row, the ids after the prompt, ending with EOS if it was produced.
  std::vector<std::vector<int32_t>> generated;
  /// [rows, prefilled length, vocab] (left-padded rows) when asked for.
  std::vector<float> promptLogits;
  /// [generated tokens - 1, rows, vocab] when asked for.
  std::vector<float> decodeLogits;
  /// Per row, one per generated token, when topLogprobs is set.
  std::vector<std::vector<GeneratedTokenLogprobs>> logprobs;
  int64_t promptTokens = 0; ///< Real (not padding) tokens prefilled.
  /// Tokens the decode steps produced, all rows (finished rows' included).
  int64_t decodeTokens = 0;
  /// Prompt lookup: the draft tokens scored, and those generation kept.
  int64_t draftTokens = 0;
  int64_t acceptedDraftTokens = 0;
  double prefillSeconds = 0;
  double decodeSeconds = 0;
};

/// "kept K of D draft tokens" when prompt lookup drafted any, else "": for
/// the lines that report a generation.
std::string describeDrafts(const GenerationResult &result);

/// "" if `prompts` can be generated from with `options` on this artifact
/// (a logits artifact, ids in the vocabulary, within max_batch and max_seq),
/// else the first problem.
std::string
checkGenerationRequest(const Manifest &manifest,
                       const std::vector<std::vector<int32_t>> &prompts,
                       const GenerationOptions &options);

/// Checks the request, then generates from cache slot 0. On a refused
/// request returns nullopt and sets `error`; nothing has been computed then.
std::optional<GenerationResult>
generate(CompiledModel &model, const std::vector<std::vector<int32_t>> &prompts,
         const GenerationOptions &options, std::string &error);

/// One row whose `cached` tokens already fill cache slots [0, cached.size())
/// of row 0 (an earlier call computed them): prefills only `added` after
/// them and generates, as generate() would from `cached` + `added` without
/// recomputing `cached`. The repetition penalty sees the whole sequence.
std::optional<GenerationResult>
generateContinuing(CompiledModel &model, const std::vector<int32_t> &cached,
                   const std::vector<int32_t> &added,
                   const GenerationOptions &options, std::string &error);

} // namespace llamac

#endif // LLAMAC_RUNTIME_GENERATOR_H
