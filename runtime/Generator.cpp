//===- Generator.cpp - Prompt in, generated token ids out -----------------===//

#include "runtime/Generator.h"

#include "runtime/PromptIds.h"
#include "runtime/Stopwatch.h"

#include <algorithm>

namespace llamac {

namespace {

/// "" if `count` per-row settings suit `rows` rows (none do too), else what
/// is wrong.
std::string checkRowSettings(size_t count, const char *what, size_t rows) {
  if (count == 0 || count == rows)
    return "";
  return std::to_string(count) + " rows' " + what + " for " +
         std::to_string(rows) + " prompts";
}

} // namespace

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
  problem = validateSamplingOptions(options.sampling, manifest.outputSize);
  for (size_t row = 0; row < options.rowSampling.size() && problem.empty();
       ++row)
    problem =
        validateSamplingOptions(options.rowSampling[row], manifest.outputSize);
  if (!problem.empty())
    return problem;
  problem = validatePromptLookupOptions(options.promptLookup);
  if (!problem.empty())
    return problem;
  if (options.maxNewTokens < 0)
    return "--max-new-tokens must be >= 0";
  problem = checkRowSettings(options.rowSampling.size(), "sampling settings",
                             prompts.size());
  if (!problem.empty())
    return problem;
  problem = checkRowSettings(options.rowMaxNewTokens.size(), "token limits",
                             prompts.size());
  if (!problem.empty())
    return problem;
  for (int64_t limit : options.rowMaxNewTokens)
    if (limit < 0 || limit > options.maxNewTokens)
      return "a row's token limit of " + std::to_string(limit) +
             " is not between 0 and maxNewTokens, " +
             std::to_string(options.maxNewTokens);
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

std::string describeDrafts(const GenerationResult &result) {
  if (result.draftTokens == 0)
    return "";
  return "kept " + std::to_string(result.acceptedDraftTokens) + " of " +
         std::to_string(result.draftTokens) + " draft tokens";
}

int32_t endOfSequenceId(const Manifest &manifest,
                        const GenerationOptions &options) {
  // No token id is negative: then no token ends a row.
  return options.ignoreEos ? -1 : int32_t(manifest.config.eosTokenId);
}

namespace {

/// Each row's sampler, with its own settings if it has them.
std::vector<Sampler> rowSamplers(const GenerationOptions &options, size_t rows,
                                 int32_t eosId) {
  std::vector<Sampler> samplers;
  for (size_t row = 0; row < rows; ++row)
    samplers.emplace_back(options.samplingOf(row), eosId);
  return samplers;
}

/// The rows' progress through one generation.
class RowStates {
public:
  RowStates(const std::vector<std::vector<int32_t>> &histories,
            const GenerationOptions &options, const Manifest &manifest)
      : histories(histories), generated(histories.size()),
        logprobs(options.topLogprobs ? histories.size() : 0),
        finished(histories.size(), false),
        // min_new_tokens holds EOS back also where it ends no row, as Hugging
        // Face's logits processors do whatever stops generation.
        samplers(rowSamplers(options, histories.size(),
                             int32_t(manifest.config.eosTokenId))),
        onToken(options.onToken), topLogprobs(options.topLogprobs),
        eosId(endOfSequenceId(manifest, options)) {
    for (size_t row = 0; row < histories.size(); ++row) {
      limits.push_back(options.maxNewTokensOf(row));
      finished[row] = limits[row] == 0;
      constraints.push_back(options.makeConstraint ? options.makeConstraint(row)
                                                   : nullptr);
    }
  }

  /// Chooses each unfinished row's next token from its logits (row `row` at
  /// logits + row * rowStride, `vocab` floats) and returns the tokens to feed
  /// the next step.
  std::vector<int32_t> advance(const float *logits, int64_t rowStride,
                               int64_t vocab) {
    std::vector<int32_t> nextTokens;
    for (size_t row = 0; row < histories.size(); ++row) {
      if (!finished[row])
        advanceRow(row, logits + row * rowStride, vocab);
      nextTokens.push_back(histories[row].back());
    }
    return nextTokens;
  }

  /// Chooses unfinished row `row`'s next token from its `vocab` logits and
  /// returns it.
  int32_t advanceRow(size_t row, const float *rowLogits, int64_t vocab) {
    scratch.assign(rowLogits, rowLogits + vocab);
    if (constraints[row])
      constraints[row]->mask(scratch.data(), vocab);
    int32_t token = samplers[row].next(scratch.data(), vocab, histories[row],
                                       generated[row]);
    if (constraints[row])
      constraints[row]->accept(token);
    histories[row].push_back(token);
    generated[row].push_back(token);
    if (topLogprobs)
      logprobs[row].push_back(tokenLogprobs(rowLogits, vocab, token));
    bool keepGoing =
        !onToken ||
        onToken(row, token, topLogprobs ? &logprobs[row].back() : nullptr);
    finished[row] = token == eosId || !keepGoing ||
                    int64_t(generated[row].size()) == limits[row];
    return token;
  }

  /// The row's whole sequence: prompt (or cached context) and generated.
  const std::vector<int32_t> &history(size_t row) const {
    return histories[row];
  }
  /// The new tokens the row may still have.
  int64_t remaining(size_t row) const {
    return limits[row] - int64_t(generated[row].size());
  }
  bool isFinished(size_t row) const { return finished[row]; }

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
  std::vector<int64_t> limits;
  std::vector<std::unique_ptr<TokenConstraint>> constraints;
  std::vector<float> scratch;
  const decltype(GenerationOptions::onToken) &onToken;
  std::optional<int64_t> topLogprobs;
  int32_t eosId;
};

void appendLogits(std::vector<float> &all, const float *logits, int64_t count) {
  all.insert(all.end(), logits, logits + count);
}

/// After `step` (at cache slot `slot`) and its tokens `nextTokens`: one
/// decode step per token until every row finishes or has maxNewTokens.
void decodeStepByStep(CompiledModel &model, RowStates &rows, TokenBatch step,
                      std::vector<int32_t> nextTokens, int64_t slot,
                      const GenerationOptions &options,
                      GenerationResult &result) {
  const int64_t vocab = model.manifest().outputSize;
  std::vector<float> stepLogits(step.batchSize * vocab);
  for (int64_t produced = 1;
       produced < options.maxNewTokens && !rows.allFinished(); ++produced) {
    step = nextDecodeStep(step, nextTokens);
    result.decodeSeconds += secondsSpentIn(
        [&] { model.run(EntryPoint::Decode, step, slot, stepLogits.data()); });
    result.decodeTokens += step.batchSize;
    if (options.keepDecodeLogits)
      appendLogits(result.decodeLogits, stepLogits.data(), stepLogits.size());
    ++slot;
    nextTokens = rows.advance(stepLogits.data(), vocab, vocab);
  }
}

/// Decodes the one row of `rows`, whose last token goes to cache slot `slot`
/// (its slots and positions coincide), with drafts from prompt lookup: each
/// step scores the last token and a draft, and keeps the draft's tokens up
/// to the first the row does not choose itself, which it replaces.
void decodeWithPromptLookup(CompiledModel &model, RowStates &rows, int64_t slot,
                            const GenerationOptions &options,
                            GenerationResult &result) {
  const int64_t vocab = model.manifest().outputSize;
  const int32_t eos = endOfSequenceId(model.manifest(), options);
  std::vector<float> logits;
  while (!rows.isFinished(0)) {
    const std::vector<int32_t> &sequence = rows.history(0);
    // A step yields at most 1 + draft.size() tokens.
    std::vector<int32_t> draft =
        lookUpDraft(sequence, options.promptLookup,
                    rows.remaining(0) - 1, eos);
    std::vector<int32_t> scored = {sequence.back()};
    scored.insert(scored.end(), draft.begin(), draft.end());
    logits.resize(scored.size() * vocab);
    result.decodeSeconds += secondsSpentIn([&] {
      model.run(draft.empty() ? EntryPoint::Decode : EntryPoint::Prefill,
                continueRow(scored, slot), slot, logits.data());
    });
    size_t accepted = 0;
    for (size_t i = 0; i < scored.size(); ++i) {
      const float *tokenLogits = logits.data() + i * vocab;
      int32_t token = rows.advanceRow(0, tokenLogits, vocab);
      if (options.keepDecodeLogits)
        appendLogits(result.decodeLogits, tokenLogits, vocab);
      if (rows.isFinished(0) || i == draft.size() || token != draft[i])
        break;
      ++accepted;
    }
    result.draftTokens += int64_t(draft.size());
    result.acceptedDraftTokens += int64_t(accepted);
    result.decodeTokens += int64_t(1 + accepted);
    slot += int64_t(1 + accepted);
  }
}

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

  RowStates rows(histories, options, model.manifest());
  if (options.maxNewTokens > 0) {
    // Each row's last prompt position predicts its first new token.
    std::vector<int32_t> nextTokens = rows.advance(
        promptLogits.data() + (kept - 1) * vocab, kept * vocab, vocab);
    const int64_t slot = startSlot + step.length;
    if (options.promptLookup.enabled() && step.batchSize == 1)
      decodeWithPromptLookup(model, rows, slot, options, result);
    else
      decodeStepByStep(model, rows, std::move(step), std::move(nextTokens),
                       slot, options, result);
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
