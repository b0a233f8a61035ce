//===- Sampler.h - Choosing the next token from logits ----------*- C++ -*-===//
//
// Hugging Face generate() semantics with OpenAI's additions: the logit bias
// added to the model's logits, Hugging Face's repetition penalty (also when
// greedy), OpenAI's presence and frequency penalties (over the tokens
// generated so far, as OpenAI and vLLM count them), Hugging Face's
// no_repeat_ngram_size, min_length and min_new_tokens (bans: -infinity),
// then temperature, top-k, top-p and min-p, then a draw. Each row owns a random
// stream derived from the seed alone, so a row's tokens depend on its prompt,
// the options and the seed, never on the batch around it: the same prompt gives
// the same text alone, in a batch, and in any row of it.
//
//===----------------------------------------------------------------------===//
#ifndef LLAMAC_RUNTIME_SAMPLER_H
#define LLAMAC_RUNTIME_SAMPLER_H

#include <cstdint>
#include <random>
#include <string>
#include <utility>
#include <vector>

namespace llamac {

struct SamplingOptions {
  float temperature = 0;       ///< 0 picks the most likely token (greedy).
  int64_t topK = 0;            ///< 0 keeps all tokens.
  float topP = 1;              ///< 1 keeps all tokens.
  float minP = 0;              ///< 0 keeps all tokens.
  float repetitionPenalty = 1; ///< 1 leaves logits unchanged.
  float presencePenalty = 0;   ///< In [-2, 2]; 0 leaves logits unchanged.
  float frequencyPenalty = 0;  ///< In [-2, 2]; 0 leaves logits unchanged.
  /// Hugging Face's no_repeat_ngram_size: no n-gram of this many tokens
  /// occurs twice in a row's sequence, prompt included; 0 allows repeats.
  int64_t noRepeatNgramSize = 0;
  /// Hugging Face's min_length (prompt included) and min_new_tokens (vLLM's
  /// min_tokens): EOS is banned while the row is shorter.
  int64_t minLength = 0;
  int64_t minNewTokens = 0;
  /// (token id, bias in [-100, 100]) added to that token's logit, as
  /// OpenAI's logit_bias: -100 all but bans a token, 100 all but forces it.
  std::vector<std::pair<int32_t, float>> logitBias;
  uint64_t seed = 0;

  bool isGreedy() const { return temperature == 0; }
};

/// How messages name the sampling settings: as llamac-run's flags
/// ("--top-p") or as the fields of an OpenAI-style request ("top_p").
enum class SettingNames { CommandLine, Json };

/// "" if the options make sense for a vocabulary of `vocabSize` tokens, else
/// what is wrong.
std::string
validateSamplingOptions(const SamplingOptions &options, int64_t vocabSize,
                        SettingNames names = SettingNames::CommandLine);

/// Index of the largest logit; the lowest index among equals.
int32_t argmax(const float *logits, int64_t size);

/// Hugging Face's RepetitionPenaltyLogitsProcessor: each distinct id of
/// `history` has its logit divided by `penalty` if positive, multiplied by it
/// if negative.
void applyRepetitionPenalty(float *logits, int64_t size,
                            const std::vector<int32_t> &history,
                            float penalty);

/// Hugging Face's NoRepeatNGramLogitsProcessor: bans every token that would
/// complete an n-gram of `history` a second time.
void banRepeatedNgrams(float *logits, int64_t size,
                       const std::vector<int32_t> &history, int64_t n);

/// OpenAI's presence and frequency penalties: each distinct id of
/// `generated` has its logit lowered by `presence` once and by `frequency`
/// per occurrence.
void applyPresenceAndFrequencyPenalties(float *logits, int64_t size,
                                        const std::vector<int32_t> &generated,
                                        float presence, float frequency);

/// log(sum(exp(logits))) in double precision: a token's log-probability is
/// its logit minus this.
double logSumExp(const float *logits, int64_t size);

struct TokenLogprob {
  int32_t token;
  float logprob;
};

/// The `count` most likely tokens (count <= size), most likely first (lowest
/// index among equals), with their log-probabilities; `logSumExp` is the
/// row's.
std::vector<TokenLogprob> mostLikelyTokens(const float *logits, int64_t size,
                                           int64_t count, double logSumExp);

struct TokenProbability {
  int32_t token;
  float probability;
};

/// The tokens that survive temperature, top-k, top-p and min-p, most likely
/// first (lowest index among equals), with probabilities renormalized over
/// them. Top-k keeps exactly k tokens. Requires a positive temperature.
std::vector<TokenProbability>
samplingCandidates(const float *logits, int64_t size,
                   const SamplingOptions &options);

/// Chooses the tokens of one row.
class Sampler {
public:
  /// `eosId` is the token min_length and min_new_tokens hold back (none if
  /// negative).
  explicit Sampler(const SamplingOptions &options, int32_t eosId = -1);

  /// Applies the penalties and bans to `logits` in place and returns the
  /// next token, given every earlier id of the row (`history`, prompt
  /// included: the repetition penalty's, no_repeat_ngram_size's and
  /// min_length's) and those generated so far (the presence and frequency
  /// penalties', min_new_tokens'). Greedy if every token is banned.
  int32_t next(float *logits, int64_t size, const std::vector<int32_t> &history,
               const std::vector<int32_t> &generated);

private:
  void applyPenaltiesAndBans(float *logits, int64_t size,
                             const std::vector<int32_t> &history,
                             const std::vector<int32_t> &generated) const;

  SamplingOptions options;
  int32_t eosId;
  std::mt19937_64 random;
};

} // namespace llamac

#endif // LLAMAC_RUNTIME_SAMPLER_H
