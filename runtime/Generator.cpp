//===- Generator.cpp - Prompt in, generated token ids out -----------------===//

#include "runtime/Generator.h"

#include "runtime/PromptIds.h"
#include "runtime/Stopwatch.h"

#include <algorithm>

namespace llamac {

std::string
checkGenerationRequest(const Manifest &manifest,
                       const std::vector<std::vector<int32_t>> &prompts,
                       const GenerationOptions &options) {
  if (manifest.outputKind != OutputKind::Logits)
    return "the artifact computes classification scores, not logits; use "
           "classify";
  std::string problem = checkPrompts(prompts, manifest.config.vocabSize);
  if (!problem.empty())
    return problem;
  problem = validateSamplingOptions(options.sampling);
  if (!problem.empty())
    return problem;
  if (options.maxNewTokens < 0)
    return "--max-new-tokens must be >= 0";
  if (options.topLogprobs &&
      (*options.topLogprobs < 0 || *options.topLogprobs > manifest.outputSize))
    return "--logprobs must be between 0 and the vocabulary size, " +
           std::to_string(manifest.outputSize);
  if (int64_t(prompts.size()) > manifest.maxBatch)
    return std::to_string(prompts.size()) +
           " prompts exceed the artifact's max_batch of " +
           std::to_string(manifest.maxBatch);
  size_t longest = 0;
  for (const std::vector<int32_t> &prompt : prompts)
    longest = std::max(longest, prompt.size());
  if (int64_t(longest) > manifest.maxSeq - options.maxNewTokens)
    return "a prompt of " + std::to_string(longest) + " tokens plus " +
           std::to_string(options.maxNewTokens) +
           " new tokens exceeds the artifact's max_seq of " +
           std::to_string(manifest.maxSeq);
  return "";
}

int32_t endOfSequenceId(const Manifest &manifest,
                        const GenerationOptions &options) {
  // No token id is negative: then no token ends a row.
  return options.ignoreEos ? -1 : int32_t(manifest.config.eosTokenId);
}

namespace {

/// The rows' progress through one generation.
class RowStates {
public:
  RowStates(const std::vector<std::vector<int32_t>> &histories,
            const GenerationOptions &options, int32_t eosId)
      : histories(histories), generated(histories.size()),
        logprobs(options.topLogprobs ? histories.size() : 0),
        finished(histories.size(), false),
        samplers(histories.size(), Sampler(options.sampling)),
        onToken(options.onToken), topLogprobs(options.topLogprobs),
        eosId(eosId) {}

  /// Chooses each unfinished row's next token from its logits (row `row` at
  /// logits + row * rowStride, `vocab` floats) and returns the tokens to feed
  /// the next step.
  std::vector<int32_t> advance(const float *logits, int64_t rowStride,
                               int64_t vocab) {
    std::vector<int32_t> nextTokens;
    std::vector<float> scratch(vocab);
    for (size_t row = 0; row < histories.size(); ++row) {
      if (!finished[row]) {
        const float *rowLogits = logits + row * rowStride;
        scratch.assign(rowLogits, rowLogits + vocab);
        int32_t token =
            samplers[row].next(scratch.data(), vocab, histories[row]);
        histories[row].push_back(token);
        generated[row].push_back(token);
        if (topLogprobs)
          logprobs[row].push_back(tokenLogprobs(rowLogits, vocab, token));
        bool keepGoing = !onToken || onToken(row, token);
        finished[row] = token == eosId || !keepGoing;
      }
      nextTokens.push_back(histories[row].back());
    }
    return nextTokens;
  }

  bool allFinished() const {
    return std::all_of(finished.begin(), finished.end(),
                       [](bool done) { return done; });
  }

  std::vector<std::vector<int32_t>> takeGenerated() {
    return std::move(generated);
  }
  std::vector<std::vector<GeneratedTokenLogprobs>> takeLogprobs() {
    return std::move(logprobs);
  }

private:
  GeneratedTokenLogprobs tokenLogprobs(const float *logits, int64_t vocab,
                                       int32_t token) const {
    const double normalizer = logSumExp(logits, vocab);
    return {float(logits[token] - normalizer),
            mostLikelyTokens(logits, vocab, *topLogprobs, normalizer)};
  }

  std::vector<std::vector<int32_t>> histories;
  std::vector<std::vector<int32_t>> generated;
  std::vector<std::vector<GeneratedTokenLogprobs>> logprobs;
  std::vector<bool> finished;
  std::vector<Sampler> samplers;
  const std::function<bool(size_t, int32_t)> &onToken;
  std::optional<int64_t> topLogprobs;
  int32_t eosId;
};

/// Prefills `step` at `startSlot` and decodes after it. `histories` are the
/// rows' whole sequences so far (for the repetition penalty), the request
/// already checked.
GenerationResult
runGeneration(CompiledModel &model, TokenBatch step, int64_t startSlot,
              const std::vector<std::vector<int32_t>> &histories,
              const GenerationOptions &options) {
  const int64_t vocab = model.manifest().outputSize;
  GenerationResult result;
  // Positions of the prompt whose logits come back: each row's last is the
  // one generation samples from.
  const int64_t kept = options.keepPromptLogits ? step.length : 1;
  std::vector<float> promptLogits(step.batchSize * kept * vocab);
  result.prefillSeconds = secondsSpentIn([&] {
    model.run(EntryPoint::Prefill, step, startSlot, promptLogits.data(), kept);
  });

  RowStates rows(histories, options,
                 endOfSequenceId(model.manifest(), options));
  if (options.maxNewTokens > 0) {
    // Each row's last prompt position predicts its first new token.
    std::vector<int32_t> nextTokens =
        rows.advance(promptLogits.data() + (kept - 1) * vocab, kept * vocab, vocab);
    std::vector<float> stepLogits(step.batchSize * vocab);
    int64_t slot = startSlot + step.length;
    for (int64_t produced = 1;
         produced < options.maxNewTokens && !rows.allFinished(); ++produced) {
      step = nextDecodeStep(step, nextTokens);
      result.decodeSeconds += secondsSpentIn([&] {
        model.run(EntryPoint::Decode, step, slot, stepLogits.data());
      });
      result.decodeTokens += step.batchSize;
      if (options.keepDecodeLogits)
        result.decodeLogits.insert(result.decodeLogits.end(), stepLogits.begin(),
                                   stepLogits.end());
      ++slot;
      nextTokens = rows.advance(stepLogits.data(), vocab, vocab);
    }
  }
  result.generated = rows.takeGenerated();
  result.logprobs = rows.takeLogprobs();
  if (options.keepPromptLogits)
    result.promptLogits = std::move(promptLogits);
  return result;
}

} // namespace

std::optional<GenerationResult>
generate(CompiledModel &model, const std::vector<std::vector<int32_t>> &prompts,
         const GenerationOptions &options, std::string &error) {
  const Manifest &manifest = model.manifest();
  error = checkGenerationRequest(manifest, prompts, options);
  if (!error.empty())
    return std::nullopt;
  TokenBatch step =
      padLeft(prompts, int32_t(manifest.config.padTokenId.value_or(0)));
  GenerationResult result =
      runGeneration(model, std::move(step), 0, prompts, options);
  for (const std::vector<int32_t> &prompt : prompts)
    result.promptTokens += int64_t(prompt.size());
  return result;
}

std::optional<GenerationResult>
generateContinuing(CompiledModel &model, const std::vector<int32_t> &cached,
                   const std::vector<int32_t> &added,
                   const GenerationOptions &options, std::string &error) {
  if (added.empty()) {
    error = "a continuation needs at least one new token";
    return std::nullopt;
  }
  std::vector<int32_t> sequence = cached;
  sequence.insert(sequence.end(), added.begin(), added.end());
  error = checkGenerationRequest(model.manifest(), {sequence}, options);
  if (!error.empty())
    return std::nullopt;
  GenerationResult result =
      runGeneration(model, continueRow(added, int64_t(cached.size())),
                    int64_t(cached.size()), {sequence}, options);
  result.promptTokens = int64_t(added.size());
  return result;
}

} // namespace llamac
