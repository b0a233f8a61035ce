//===- Sampler.cpp - Choosing the next token from logits ------------------===//

#include "runtime/Sampler.h"

#include <algorithm>
#include <cassert>
#include <cmath>
#include <limits>

namespace llamac {

std::string validateSamplingOptions(const SamplingOptions &options,
                                    int64_t vocabSize, SettingNames names) {
  auto name = [&](const char *flag, const char *field) {
    return std::string(names == SettingNames::CommandLine ? flag : field);
  };
  if (!(options.temperature >= 0) || !std::isfinite(options.temperature))
    return name("--temperature", "temperature") +
           " must be a finite number >= 0";
  if (options.topK < 0)
    return name("--top-k", "top_k") + " must be >= 0";
  if (!(options.topP > 0 && options.topP <= 1))
    return name("--top-p", "top_p") + " must be in (0, 1]";
  if (!(options.minP >= 0 && options.minP <= 1))
    return name("--min-p", "min_p") + " must be in [0, 1]";
  if (!(options.repetitionPenalty > 0) ||
      !std::isfinite(options.repetitionPenalty))
    return name("--repetition-penalty", "repetition_penalty") +
           " must be a finite number > 0";
  if (!(std::fabs(options.presencePenalty) <= 2))
    return name("--presence-penalty", "presence_penalty") +
           " must be between -2 and 2";
  if (!(std::fabs(options.frequencyPenalty) <= 2))
    return name("--frequency-penalty", "frequency_penalty") +
           " must be between -2 and 2";
  if (options.noRepeatNgramSize < 0)
    return name("--no-repeat-ngram-size", "no_repeat_ngram_size") +
           " must be >= 0";
  if (options.minNewTokens < 0)
    return name("--min-new-tokens", "min_tokens") + " must be >= 0";
  if (options.minLength < 0)
    return "min_length must be >= 0";
  for (const auto &[token, bias] : options.logitBias) {
    if (token < 0 || token >= vocabSize)
      return name("--logit-bias", "logit_bias") + " names token id " +
             std::to_string(token) + ", outside the vocabulary of " +
             std::to_string(vocabSize);
    if (!(std::fabs(bias) <= 100))
      return name("--logit-bias", "logit_bias") +
             " values must be between -100 and 100";
  }
  return "";
}

int32_t argmax(const float *logits, int64_t size) {
  assert(size > 0);
  int64_t best = 0;
  for (int64_t i = 1; i < size; ++i)
    if (logits[i] > logits[best])
      best = i;
  return int32_t(best);
}

double logSumExp(const float *logits, int64_t size) {
  const double largest = *std::max_element(logits, logits + size);
  double sum = 0;
  for (int64_t i = 0; i < size; ++i)
    sum += std::exp(double(logits[i]) - largest);
  return largest + std::log(sum);
}

std::vector<TokenLogprob> mostLikelyTokens(const float *logits, int64_t size,
                                           int64_t count, double logSumExp) {
  std::vector<int32_t> order(size);
  for (int32_t i = 0; i < int32_t(size); ++i)
    order[i] = i;
  std::partial_sort(order.begin(), order.begin() + count, order.end(),
                    [&](int32_t a, int32_t b) {
                      return logits[a] > logits[b] ||
                             (logits[a] == logits[b] && a < b);
                    });
  std::vector<TokenLogprob> top;
  for (int64_t i = 0; i < count; ++i)
    top.push_back({order[i], float(logits[order[i]] - logSumExp)});
  return top;
}

void applyRepetitionPenalty(float *logits, int64_t size,
                            const std::vector<int32_t> &history,
                            float penalty) {
  std::vector<int32_t> distinct = history;
  std::sort(distinct.begin(), distinct.end());
  distinct.erase(std::unique(distinct.begin(), distinct.end()), distinct.end());
  for (int32_t token : distinct) {
    assert(token >= 0 && token < size);
    float &logit = logits[token];
    logit = logit < 0 ? logit * penalty : logit / penalty;
  }
}

void banRepeatedNgrams(float *logits, int64_t size,
                       const std::vector<int32_t> &history, int64_t n) {
  const int64_t length = int64_t(history.size());
  if (n <= 0 || length + 1 < n)
    return;
  // The last n - 1 tokens, against every earlier n-gram's first n - 1.
  const auto tail = history.end() - (n - 1);
  for (int64_t start = 0; start + n <= length; ++start) {
    const auto ngram = history.begin() + start;
    if (std::equal(tail, history.end(), ngram)) {
      assert(ngram[n - 1] >= 0 && ngram[n - 1] < size);
      logits[ngram[n - 1]] = -std::numeric_limits<float>::infinity();
    }
  }
}

void applyPresenceAndFrequencyPenalties(float *logits, int64_t size,
                                        const std::vector<int32_t> &generated,
                                        float presence, float frequency) {
  std::vector<int32_t> sorted = generated;
  std::sort(sorted.begin(), sorted.end());
  for (auto run = sorted.begin(); run != sorted.end();) {
    auto end = std::upper_bound(run, sorted.end(), *run);
    assert(*run >= 0 && *run < size);
    logits[*run] -= presence + frequency * float(end - run);
    run = end;
  }
}

/// Scales the probabilities of what was kept to sum to 1.
static void renormalize(std::vector<TokenProbability> &candidates) {
  double sum = 0;
  for (const TokenProbability &candidate : candidates)
    sum += candidate.probability;
  for (TokenProbability &candidate : candidates)
    candidate.probability = float(candidate.probability / sum);
}

/// Replaces the scores of `candidates` (sorted, so the first is the largest)
/// by their softmax.
static void applySoftmax(std::vector<TokenProbability> &candidates) {
  float maxScore = candidates.front().probability;
  for (TokenProbability &candidate : candidates)
    candidate.probability = std::exp(candidate.probability - maxScore);
  renormalize(candidates);
}

/// Keeps the shortest prefix whose probability reaches `topP`.
static void keepTopP(std::vector<TokenProbability> &candidates, float topP) {
  double before = 0;
  size_t kept = 0;
  while (kept < candidates.size() && before < topP)
    before += candidates[kept++].probability;
  candidates.resize(kept);
}

/// Keeps the tokens at least `minP` times as likely as the most likely one.
static void keepMinP(std::vector<TokenProbability> &candidates, float minP) {
  float threshold = minP * candidates.front().probability;
  size_t kept = 1;
  while (kept < candidates.size() &&
         candidates[kept].probability >= threshold)
    ++kept;
  candidates.resize(kept);
}

std::vector<TokenProbability>
samplingCandidates(const float *logits, int64_t size,
                   const SamplingOptions &options) {
  assert(size > 0 && options.temperature > 0);
  // `probability` holds the scaled logit until applySoftmax() replaces it.
  std::vector<TokenProbability> candidates(size);
  for (int64_t i = 0; i < size; ++i)
    candidates[i] = {int32_t(i), logits[i] / options.temperature};
  auto moreLikely = [](const TokenProbability &a, const TokenProbability &b) {
    return a.probability > b.probability ||
           (a.probability == b.probability && a.token < b.token);
  };
  if (options.topK > 0 && options.topK < size) {
    std::partial_sort(candidates.begin(), candidates.begin() + options.topK,
                      candidates.end(), moreLikely);
    candidates.resize(options.topK);
  } else {
    std::sort(candidates.begin(), candidates.end(), moreLikely);
  }
  applySoftmax(candidates);
  if (options.topP < 1)
    keepTopP(candidates, options.topP);
  // Min-p compares probabilities to the largest: a ratio that renormalizing
  // after top-p would not change.
  if (options.minP > 0)
    keepMinP(candidates, options.minP);
  renormalize(candidates);
  return candidates;
}

/// splitmix64: spreads nearby seeds (seed, seed + 1, ...) over the state space.
static uint64_t mixSeed(uint64_t value) {
  value += 0x9e3779b97f4a7c15ull;
  value = (value ^ (value >> 30)) * 0xbf58476d1ce4e5b9ull;
  value = (value ^ (value >> 27)) * 0x94d049bb133111ebull;
  return value ^ (value >> 31);
}

Sampler::Sampler(const SamplingOptions &options, int32_t eosId)
    : options(options), eosId(eosId), random(mixSeed(options.seed)) {}

void Sampler::applyPenaltiesAndBans(
    float *logits, int64_t size, const std::vector<int32_t> &history,
    const std::vector<int32_t> &generated) const {
  for (const auto &[token, bias] : options.logitBias) {
    assert(token >= 0 && token < size);
    logits[token] += bias;
  }
  if (options.repetitionPenalty != 1)
    applyRepetitionPenalty(logits, size, history, options.repetitionPenalty);
  if (options.presencePenalty != 0 || options.frequencyPenalty != 0)
    applyPresenceAndFrequencyPenalties(logits, size, generated,
                                       options.presencePenalty,
                                       options.frequencyPenalty);
  banRepeatedNgrams(logits, size, history, options.noRepeatNgramSize);
  const bool tooShort = int64_t(history.size()) < options.minLength ||
                        int64_t(generated.size()) < options.minNewTokens;
  if (tooShort && eosId >= 0 && eosId < size)
    logits[eosId] = -std::numeric_limits<float>::infinity();
}

int32_t Sampler::next(float *logits, int64_t size,
                      const std::vector<int32_t> &history,
                      const std::vector<int32_t> &generated) {
  applyPenaltiesAndBans(logits, size, history, generated);
  // With every token banned nothing can be drawn; Hugging Face's greedy
  // search then takes the first.
  const int32_t likeliest = argmax(logits, size);
  if (options.isGreedy() ||
      logits[likeliest] == -std::numeric_limits<float>::infinity())
    return likeliest;
  std::vector<TokenProbability> candidates =
      samplingCandidates(logits, size, options);
  // 53 random bits: a uniform double in [0, 1), the same on every platform
  // (std::uniform_real_distribution is not specified bit for bit).
  double draw = double(random() >> 11) * 0x1p-53;
  double cumulative = 0;
  int32_t lastPossible = candidates.front().token;
  for (const TokenProbability &candidate : candidates) {
    cumulative += candidate.probability;
    if (draw < cumulative)
      return candidate.token;
    if (candidate.probability > 0)
      lastPossible = candidate.token;
  }
  // Rounding can leave the probabilities' sum just below the draw; a token
  // of no probability (one a constraint removed) is never the answer.
  return lastPossible;
}

} // namespace llamac
