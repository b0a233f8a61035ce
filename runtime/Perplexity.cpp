//===- Perplexity.cpp - How well a model predicts a text ------------------===//

#include "runtime/Perplexity.h"

#include "runtime/PromptIds.h"
#include "runtime/Sampler.h"
#include "runtime/Stopwatch.h"

#include <algorithm>
#include <cmath>

namespace llamac {

std::vector<PerplexityWindow> planWindows(int64_t tokens, int64_t window,
                                          int64_t stride) {
  std::vector<PerplexityWindow> windows;
  int64_t previousEnd = 0;
  for (int64_t begin = 0;; begin += stride) {
    const int64_t end = std::min(begin + window, tokens);
    const int64_t firstScored = std::max(begin + 1, previousEnd);
    // With stride == window a last window of one token has nothing to score.
    if (firstScored < end)
      windows.push_back({begin, end, firstScored});
    if (end == tokens)
      return windows;
    previousEnd = end;
  }
}

double PerplexityResult::meanNegativeLogLikelihood() const {
  return scoredTokens ? negativeLogLikelihood / double(scoredTokens) : 0;
}

double PerplexityResult::perplexity() const {
  return std::exp(meanNegativeLogLikelihood());
}

std::string checkPerplexityRequest(const Manifest &manifest,
                                   const std::vector<int32_t> &tokens,
                                   const PerplexityOptions &options) {
  if (manifest.outputKind != OutputKind::Logits)
    return "the artifact computes classification scores, not logits; use "
           "classify";
  std::string problem = checkPrompts({tokens}, manifest.config.vocabSize);
  if (!problem.empty())
    return problem;
  if (tokens.size() < 2)
    return "the text is " + std::to_string(tokens.size()) +
           " token long; perplexity needs at least 2 (one to predict from)";
  if (options.window < 2)
    return "the window must be at least 2 tokens, got " +
           std::to_string(options.window);
  if (options.window > manifest.maxSeq)
    return "the window of " + std::to_string(options.window) +
           " tokens exceeds the artifact's max_seq of " +
           std::to_string(manifest.maxSeq);
  if (options.stride < 1)
    return "the stride must be at least 1 token, got " +
           std::to_string(options.stride);
  if (options.stride > options.window)
    return "the stride of " + std::to_string(options.stride) +
           " tokens exceeds the window of " + std::to_string(options.window) +
           ": the tokens between windows would go unscored";
  return "";
}

/// Runs `windows` as one left-padded batch and adds what they score to
/// `result`.
static void evaluateBatch(CompiledModel &model,
                          const std::vector<int32_t> &tokens,
                          const std::vector<PerplexityWindow> &windows,
                          PerplexityResult &result) {
  std::vector<std::vector<int32_t>> rows;
  int64_t kept = 0;
  for (const PerplexityWindow &window : windows) {
    rows.emplace_back(tokens.begin() + window.begin,
                      tokens.begin() + window.end);
    // Logits are kept counting back from the row's last token, whose own
    // are not needed: one more than the tokens scored.
    kept = std::max(kept, window.end - window.firstScored + 1);
  }
  const int64_t vocab = model.manifest().outputSize;
  TokenBatch batch = padLeft(rows, 0);
  std::vector<float> logits(batch.batchSize * kept * vocab);
  result.seconds += secondsSpentIn(
      [&] { model.run(EntryPoint::Prefill, batch, 0, logits.data(), kept); });
  for (int64_t row = 0; row < batch.batchSize; ++row) {
    const PerplexityWindow &window = windows[row];
    // Rows end together: the logits predicting token `end - 1` are the
    // row's second-to-last kept ones.
    const float *rowLogits = logits.data() + (row + 1) * kept * vocab;
    for (int64_t token = window.firstScored; token < window.end; ++token) {
      const float *before = rowLogits - (window.end - token + 1) * vocab;
      result.negativeLogLikelihood +=
          logSumExp(before, vocab) - double(before[tokens[token]]);
    }
    result.scoredTokens += window.end - window.firstScored;
    result.processedTokens += window.end - window.begin;
  }
  result.windows += batch.batchSize;
}

std::optional<PerplexityResult>
evaluatePerplexity(CompiledModel &model, const std::vector<int32_t> &tokens,
                   const PerplexityOptions &options, std::string &error) {
  error = checkPerplexityRequest(model.manifest(), tokens, options);
  if (!error.empty())
    return std::nullopt;
  const std::vector<PerplexityWindow> windows =
      planWindows(int64_t(tokens.size()), options.window, options.stride);
  const size_t maxBatch = size_t(model.manifest().maxBatch);
  PerplexityResult result;
  for (size_t begin = 0; begin < windows.size(); begin += maxBatch) {
    const size_t end = std::min(windows.size(), begin + maxBatch);
    evaluateBatch(model, tokens,
                  {windows.begin() + begin, windows.begin() + end}, result);
    if (options.onProgress)
      options.onProgress(result, int64_t(windows.size()));
  }
  return result;
}

} // namespace llamac
