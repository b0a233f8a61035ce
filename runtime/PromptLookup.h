//===- PromptLookup.h - Draft tokens copied from the context ----*- C++ -*-===//
//
// Prompt lookup decoding (Hugging Face's prompt_lookup_num_tokens): when the
// sequence's last n-gram occurred earlier in it, the tokens that followed it
// then are a guess at what follows now. One prefill step over the last
// token and the guesses scores them all, and generation keeps the guesses
// the model would have chosen itself, plus the model's own next token: up to
// 1 + guesses tokens for one pass over the weights. What is generated is
// exactly what one token per step generates; only the number of steps
// changes. It pays off where the output copies its input: summaries,
// extraction, code edits, chat that quotes.
//
//===----------------------------------------------------------------------===//
#ifndef LLAMAC_RUNTIME_PROMPTLOOKUP_H
#define LLAMAC_RUNTIME_PROMPTLOOKUP_H

#include <cstdint>
#include <string>
#include <vector>

namespace llamac {

struct PromptLookupOptions {
  /// Guesses per step at most; 0 turns prompt lookup off.
  int64_t draftTokens = 0;
  /// The longest n-gram matched (Hugging Face's max_matching_ngram_size).
  int64_t maxNgram = 2;

  bool enabled() const { return draftTokens > 0; }
};

/// "" if the options make sense, else what is wrong, naming the flags.
std::string validatePromptLookupOptions(const PromptLookupOptions &options);

/// Hugging Face's PromptLookupCandidateGenerator: for n from maxNgram down to
/// 1, the earliest earlier occurrence of `sequence`'s last n tokens that is
/// followed by anything gives up to `limit` (<= draftTokens) of the tokens
/// after it, cut before the first `eos`. Empty when nothing matches.
std::vector<int32_t> lookUpDraft(const std::vector<int32_t> &sequence,
                                 const PromptLookupOptions &options,
                                 int64_t limit, int32_t eos);

} // namespace llamac

#endif // LLAMAC_RUNTIME_PROMPTLOOKUP_H
