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

namespace {

/// The rows' progress through one generate() call.
class RowStates {
public:
  RowStates(const std::vector<std::vector<int32_t>> &prompts,
            const SamplingOptions &sampling, int32_t eosId)
      : histories(prompts), generated(prompts.size()),
        finished(prompts.size(), false), eosId(eosId) {
    for (size_t row = 0; row < prompts.size(); ++row)
      samplers.emplace_back(sampling, row);
  }

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
        finished[row] = token == eosId;
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

private:
  std::vector<std::vector<int32_t>> histories;
  std::vector<std::vector<int32_t>> generated;
  std::vector<bool> finished;
  std::vector<Sampler> samplers;
  int32_t eosId;
};

} // namespace

std::optional<GenerationResult>
generate(CompiledModel &model, const std::vector<std::vector<int32_t>> &prompts,
         const GenerationOptions &options, std::string &error) {
  const Manifest &manifest = model.manifest();
  error = checkGenerationRequest(manifest, prompts, options);
  if (!error.empty())
    return std::nullopt;
  const int64_t vocab = manifest.outputSize;
  const LlamaConfig &config = manifest.config;

  GenerationResult result;
  TokenBatch step = padLeft(prompts, int32_t(config.padTokenId.value_or(0)));
  for (const std::vector<int32_t> &prompt : prompts)
    result.promptTokens += int64_t(prompt.size());
  std::vector<float> promptLogits(step.batchSize * step.length * vocab);
  result.prefillSeconds = secondsSpentIn(
      [&] { model.run(EntryPoint::Prefill, step, 0, promptLogits.data()); });

  RowStates rows(prompts, options.sampling, int32_t(config.eosTokenId));
  if (options.maxNewTokens > 0) {
    // Each row's last prompt position predicts its first new token.
    std::vector<int32_t> nextTokens =
        rows.advance(promptLogits.data() + (step.length - 1) * vocab,
                     step.length * vocab, vocab);
    std::vector<float> stepLogits(step.batchSize * vocab);
    int64_t slot = step.length;
    for (int64_t produced = 1;
         produced < options.maxNewTokens && !rows.allFinished(); ++produced) {
      step = nextDecodeStep(step, nextTokens);
      result.decodeSeconds += secondsSpentIn(
          [&] { model.run(EntryPoint::Decode, step, slot, stepLogits.data()); });
      result.decodeTokens += step.batchSize;
      ++slot;
      nextTokens = rows.advance(stepLogits.data(), vocab, vocab);
    }
  }
  result.generated = rows.takeGenerated();
  if (options.keepPromptLogits)
    result.promptLogits = std::move(promptLogits);
  return result;
}

} // namespace llamac
