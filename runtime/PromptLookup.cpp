//===- PromptLookup.cpp - Draft tokens copied from the context ------------===//

#include "runtime/PromptLookup.h"

#include <algorithm>

namespace llamac {

std::string validatePromptLookupOptions(const PromptLookupOptions &options) {
  if (options.draftTokens < 0)
    return "--prompt-lookup must be >= 0";
  if (options.maxNgram < 1)
    return "--lookup-ngram must be >= 1";
  return "";
}

std::vector<int32_t> lookUpDraft(const std::vector<int32_t> &sequence,
                                 const PromptLookupOptions &options,
                                 int64_t limit, int32_t eos) {
  const int64_t length = int64_t(sequence.size());
  limit = std::min(limit, options.draftTokens);
  for (int64_t n = std::min(options.maxNgram, length - 1); n > 0 && limit > 0;
       --n) {
    auto ngram = sequence.end() - n;
    // A match at `start` is followed by sequence[start + n, length); the
    // last n-gram itself (start = length - n) is followed by nothing.
    for (int64_t start = 0; start + n < length; ++start) {
      if (!std::equal(ngram, sequence.end(), sequence.begin() + start))
        continue;
      auto first = sequence.begin() + start + n;
      auto last = first + std::min(limit, length - start - n);
      return std::vector<int32_t>(first, std::find(first, last, eos));
    }
  }
  return {};
}

} // namespace llamac
