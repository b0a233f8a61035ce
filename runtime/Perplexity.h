//===- Perplexity.h - How well a model predicts a text ----------*- C++ -*-===//
//
// The strided sliding-window evaluation of Hugging Face's "Perplexity of
// fixed-length models": windows of at most `window` tokens start every
// `stride` tokens, and each scores the tokens no earlier window scored, so
// every token is predicted from at least window - stride tokens before it
// (once the text is that long). A window's first token has nothing before
// it and is never scored: with stride == window one token per window goes
// unscored. Unlike Hugging Face's loop, which weights each window's mean
// loss by its target count, the total is the exact sum of log-likelihoods.
//
//===----------------------------------------------------------------------===//
#ifndef LLAMAC_RUNTIME_PERPLEXITY_H
#define LLAMAC_RUNTIME_PERPLEXITY_H

#include "runtime/CompiledModel.h"

#include <cstdint>
#include <functional>
#include <optional>
#include <string>
#include <vector>

namespace llamac {

/// Tokens [begin, end) of the text run as one sequence from position 0;
/// tokens [firstScored, end) are scored.
struct PerplexityWindow {
  int64_t begin = 0;
  int64_t end = 0;
  int64_t firstScored = 0;
};

/// The windows over `tokens` tokens (2 <= window, 1 <= stride <= window,
/// 2 <= tokens): the last one ends at the text's end.
std::vector<PerplexityWindow> planWindows(int64_t tokens, int64_t window,
                                          int64_t stride);

struct PerplexityResult {
  int64_t windows = 0;
  int64_t scoredTokens = 0;
  /// Tokens run through the model: the windows' lengths, summed.
  int64_t processedTokens = 0;
  /// The sum of -log p(token | the tokens before it in its window).
  double negativeLogLikelihood = 0;
  double seconds = 0;

  double meanNegativeLogLikelihood() const;
  double perplexity() const;
};

struct PerplexityOptions {
  int64_t window = 0;
  int64_t stride = 0;
  /// Called after each batch of windows with the totals so far and the
  /// number of windows in all.
  std::function<void(const PerplexityResult &, int64_t windows)> onProgress;
};

/// "" if `tokens` can be evaluated with `options` on this artifact (a
/// logits artifact, ids in the vocabulary, a window within max_seq), else
/// the first problem.
std::string checkPerplexityRequest(const Manifest &manifest,
                                   const std::vector<int32_t> &tokens,
                                   const PerplexityOptions &options);

/// Runs the windows in batches of up to max_batch rows. On a refused
/// request returns nullopt and sets `error`; nothing has been computed then.
std::optional<PerplexityResult>
evaluatePerplexity(CompiledModel &model, const std::vector<int32_t> &tokens,
                   const PerplexityOptions &options, std::string &error);

} // namespace llamac

#endif // LLAMAC_RUNTIME_PERPLEXITY_H
